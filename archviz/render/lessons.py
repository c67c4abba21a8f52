"""`archviz lessons` as JSON, Markdown or a terminal table fitted to a width.

All three take the plain data of `lessons_data()` (lessons.lesson_dict and lessons.gradient_dict):
the same functions, defaults and numbers the dashboard's Lessons page shows."""

from __future__ import annotations

import json
from typing import Any

from .numbers import grouped, human, pair
from .table import (PIPE_WIDTH, Column, Trimmed, fit_columns, fitted_table, hidden_note,
                    shorten_end)

LESSON_ORDER = ("kernel", "bottleneck", "merge", "first_kernel")


def lessons_data(progress: Any = None) -> dict[str, Any]:
    """Every lesson measured on real torch.nn modules, as plain data (the JSON contract):

    {"defaults": {channels, kernel, width, growth, layers}, "input_side": 16,
     "lessons": {key: {title, explanation, input_shape, saving, variants: [{label, params, macs,
                 receptive_field, out_channels}]}} for kernel, bottleneck, merge, first_kernel,
     "gradient_flow": {title, explanation: [paragraphs], setup, variants: [{key, label, group, setting,
                       first, last, ratio, layers, grad_norms}] (layers and norms output to input),
                       orderings: {key: {claim, holds, measured}}}}"""
    from .. import lessons

    report = progress or (lambda stage: None)
    report("measuring the lessons on torch.nn modules")
    measured = {**lessons.field_lessons(**lessons.DEFAULTS), "first_kernel": lessons.large_first_kernel()}
    report("gradient flow at initialisation")
    flow = lessons.gradient_flow()
    return {"defaults": dict(lessons.DEFAULTS), "input_side": lessons.SIZE,
            "lessons": {key: lessons.lesson_dict(measured[key]) for key in LESSON_ORDER},
            "gradient_flow": lessons.gradient_dict(flow)}


def verdict(lesson: dict[str, Any]) -> str:
    """What the second variant saves against the first, or how many times the parameters it needs."""
    first, last = lesson["variants"][0]["params"], lesson["variants"][-1]["params"]
    if lesson["saving"] >= 0:
        text = f"Parameter saving of the second: {100 * lesson['saving']:.1f}%"
    else:
        text = f"The second needs {last / first:.1f}x the parameters of the first"
    shape = "x".join(str(d) for d in lesson["input_shape"][1:])
    return f"{text}; MACs on a {shape} input."


def sci(x: float) -> str:
    return f"{x:.3g}"


def gradient_rows(flow: dict[str, Any]) -> list[dict[str, str]]:
    return [{"net": v["label"], "setting": v["setting"], "first layer": sci(v["first"]),
             "last layer": sci(v["last"]), "first / last": sci(v["ratio"])} for v in flow["variants"]]


def ordering_lines(flow: dict[str, Any]) -> list[str]:
    return [f"{'holds' if o['holds'] else 'DOES NOT HOLD'}: {o['claim']}; measured {o['measured']}"
            for o in flow["orderings"].values()]


# ---- JSON and Markdown -------------------------------------------------------------------------
def to_json(data: dict[str, Any]) -> str:
    return json.dumps(data, indent=2) + "\n"


def lesson_text(text: str) -> str:
    """archviz's own lesson text as Markdown: no user text here, so only a column break is escaped
    ("128->32" stays readable; markdown_text's entities are for names that come from users)."""
    return str(text).replace("|", "\\|")


def _md_row(cells: list[str]) -> str:
    return "| " + " | ".join(lesson_text(c) for c in cells) + " |"


def to_markdown(data: dict[str, Any]) -> str:
    lines = ["# Design lessons, measured on torch.nn modules", ""]
    for key in LESSON_ORDER:
        lesson = data["lessons"][key]
        lines += [f"## {lesson_text(lesson['title'])}", "", lesson_text(lesson["explanation"]), "",
                  _md_row(["variant", "params", "MACs", "receptive field", "out channels"]),
                  "|---|---:|---:|---:|---:|"]
        lines += [_md_row([v["label"], grouped(v["params"]), grouped(v["macs"]), pair(v["receptive_field"]),
                           v["out_channels"]]) for v in lesson["variants"]]
        lines += ["", verdict(lesson), ""]
    flow = data["gradient_flow"]
    rows = gradient_rows(flow)
    lines += [f"## {flow['title']}", ""]
    for paragraph in flow["explanation"]:
        lines += [lesson_text(paragraph), ""]
    lines += [_md_row(list(rows[0])), "|---|---|---:|---:|---:|", *[_md_row(list(r.values())) for r in rows], ""]
    lines += [f"- {lesson_text(line)}" for line in ordering_lines(flow)]
    return "\n".join(lines) + "\n"


# ---- terminal ----------------------------------------------------------------------------------
LESSON_COLUMNS = {"label": "Variant", "params": "Params", "macs": "MACs", "rf": "RF", "out": "Out ch."}
LESSON_PRIORITY = ("label", "params", "macs", "rf", "out")
GRADIENT_COLUMNS = {"net": "Net", "setting": "Setting", "first layer": "First layer",
                    "last layer": "Last layer", "first / last": "First / last"}
GRADIENT_PRIORITY = ("net", "first / last", "first layer", "last layer", "setting")
LABEL_MIN = 16


def _lesson_columns(lesson: dict[str, Any]) -> list[Column]:
    vs = lesson["variants"]
    return [
        Column("label", LESSON_COLUMNS["label"], (tuple(v["label"] for v in vs),), shorten=shorten_end,
               min_width=LABEL_MIN),
        Column("params", LESSON_COLUMNS["params"], (tuple(grouped(v["params"]) for v in vs),
                                                    tuple(human(v["params"]) for v in vs)), "right"),
        Column("macs", LESSON_COLUMNS["macs"], (tuple(grouped(v["macs"]) for v in vs),
                                                tuple(human(v["macs"]) for v in vs)), "right"),
        Column("rf", LESSON_COLUMNS["rf"], (tuple(pair(v["receptive_field"]) for v in vs),), "right"),
        Column("out", LESSON_COLUMNS["out"], (tuple(str(v["out_channels"]) for v in vs),), "right"),
    ]


def _gradient_columns(rows: list[dict[str, str]]) -> list[Column]:
    out = []
    for key, header in GRADIENT_COLUMNS.items():
        cells = tuple(r[key] for r in rows)
        text = key in ("net", "setting")
        out.append(Column(key, header, (cells,), "left" if text else "right",
                          shorten_end if text else None, 8))
    return out


def rich_lessons(data: dict[str, Any], width: int = PIPE_WIDTH):
    """Every lesson as a title, its explanation, a fitted table and its verdict; then gradient flow."""
    from rich.console import Group
    from rich.text import Text

    parts: list[Any] = []
    for key in LESSON_ORDER:
        lesson = data["lessons"][key]
        cols = _lesson_columns(lesson)
        fit = fit_columns(cols, width, LESSON_PRIORITY)
        parts += [Text(lesson["title"], style="bold"), Text(lesson["explanation"], style="dim"),
                  fitted_table(cols, fit), *hidden_note([LESSON_COLUMNS[k] for k in fit.hidden], width,
                                                        "widen the terminal"),
                  Text(verdict(lesson)), Text("")]
    flow = data["gradient_flow"]
    rows = gradient_rows(flow)
    cols = _gradient_columns(rows)
    fit = fit_columns(cols, width, GRADIENT_PRIORITY)
    parts += [Text(flow["title"], style="bold"), *[Text(p, style="dim") for p in flow["explanation"]],
              fitted_table(cols, fit),
              *hidden_note([GRADIENT_COLUMNS[k] for k in fit.hidden], width, "widen the terminal"),
              *[Text(line, style=None if o["holds"] else "bold red")
                for line, o in zip(ordering_lines(flow), flow["orderings"].values())]]
    return Trimmed(Group(*parts))


FORMATS = {"json": to_json, "markdown": to_markdown}
