"""Terminal and text faces of a Profile: rich table, CSV, Markdown, JSON.

Every user-derived string (module names and types, block names, the model name) goes through
`printable` in the table, CSV and Markdown, and into rich only as `Text` (never parsed as markup);
JSON keeps the raw data (json.dumps escapes control characters itself)."""

from __future__ import annotations

import csv
import html
import io
import json
from typing import Any

from ..record import Profile
from .numbers import grouped, human, pair, printable, shape

TEXT_COLUMNS = ["name", "type", "output_shape", "params", "macs", "flops", "activations",
                "receptive_field", "effective_stride", "depth", "block"]


def rows_at_depth(profile: Profile, depth: int | None) -> list[dict[str, Any]]:
    return [r for r in profile.layers if depth is None or r["level"] <= depth]


def cell(col: str, v: Any) -> str:
    if col in ("receptive_field", "effective_stride"):
        return pair(v)
    if col == "output_shape":
        return shape(v)
    if v is None:
        return ""
    return printable(v)


def to_csv(profile: Profile, depth: int | None) -> str:
    buf = io.StringIO()
    buf.write("# " + summary_lines(profile)[2] + "\n")  # the convention, as a comment line
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(TEXT_COLUMNS)
    for r in rows_at_depth(profile, depth):
        w.writerow([cell(c, r[c]) for c in TEXT_COLUMNS])
    return buf.getvalue()


def markdown_text(text: str) -> str:
    """A table cell as Markdown text: no column break, no raw HTML for a Markdown renderer."""
    return html.escape(text, quote=False).replace("|", "\\|")


def to_markdown(profile: Profile, depth: int | None) -> str:
    lines = [f"# {markdown_text(printable(profile.model))} ({shape(profile.input_shape)})", "",
             "| " + " | ".join(TEXT_COLUMNS) + " |", "|" + "---|" * len(TEXT_COLUMNS)]
    for r in rows_at_depth(profile, depth):
        vals = [markdown_text(cell(c, r[c])) for c in TEXT_COLUMNS]
        lines.append("| " + " | ".join(vals) + " |")
    lines += ["", *summary_lines(profile)]
    return "\n".join(lines) + "\n"


def to_json(profile: Profile, depth: int | None) -> str:
    data = profile.contract()
    keys = (*TEXT_COLUMNS, "level", "parent", "effective_padding", "conv_linear_macs")
    data["layers"] = [{k: r[k] for k in keys} for r in rows_at_depth(profile, depth)]
    return json.dumps(data, indent=2)


def summary_lines(profile: Profile) -> list[str]:
    t = profile.totals
    out = [
        f"Params {grouped(t['params'])} | MACs {human(t['macs'])} | FLOPs {human(t['flops'])} "
        f"(= 2 x MACs) | conv+linear MACs {human(t['conv_linear_macs'])} | activations {human(t['activations'])}",
        f"Depth {t['depth']} weighted layers | receptive field {pair(t['receptive_field'])} px, "
        f"effective stride {pair(t['effective_stride'])} (at {printable(t.get('receptive_field_at') or 'model')})",
        "MACs: one multiply-add = 1 (fvcore); FLOPs = 2 x MACs; pooling/elementwise conventions in --format json 'conventions'.",
    ]
    if profile.uncounted_ops:
        out.append("Uncounted ops: " + ", ".join(f"{printable(k)} x{v}" for k, v in profile.uncounted_ops.items()))
    return out


def rich_table(profile: Profile, depth: int | None):
    from rich.table import Table
    from rich.text import Text

    t = Table(title=Text(f"{printable(profile.model)} · input {shape(profile.input_shape)}"),
              title_style="bold", caption=Text("\n".join(summary_lines(profile))), caption_justify="left",
              header_style="bold cyan", show_lines=False, pad_edge=False)
    for col, just in (("Layer", "left"), ("Type", "left"), ("Output", "right"), ("Params", "right"),
                      ("MACs", "right"), ("FLOPs", "right"), ("Act.", "right"), ("RF", "right"),
                      ("Stride", "right"), ("Depth", "right"), ("Block", "left")):
        t.add_column(col, justify=just, no_wrap=True)
    for r in rows_at_depth(profile, depth):
        indent = "  " * max(r["level"] - 1, 0)
        style = "bold" if r["level"] == 0 else ("dim" if r["macs"] == 0 and r["params"] == 0 else None)
        cells = [indent + printable(r["name"]), printable(r["type"]), shape(r["output_shape"]),
                 human(r["params"]), human(r["macs"]), human(r["flops"]), human(r["activations"]),
                 pair(r["receptive_field"]), pair(r["effective_stride"]),
                 "" if r["depth"] is None else str(r["depth"]), printable(r["block"] or "")]
        t.add_row(*(Text(c) for c in cells), style=style)
    return t


FORMATS = {"csv": to_csv, "markdown": to_markdown, "json": to_json}
