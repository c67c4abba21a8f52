"""The Atlas's figures as plotly dicts (no plotly import): every stored model by paper year, and
published accuracy against MACs. Bulk points are WebGL (`scattergl`), one trace per family; the
2012-2016 lecture models are drawn on top, larger, outlined and labelled (SVG: a dozen points).

Shared by the dashboard's Atlas page and `archviz report --atlas`."""

from __future__ import annotations

import math
import zlib
from functools import lru_cache
from pathlib import Path
from typing import Any

from ..atlas import AtlasRow, counts, families
from . import labels, render_page
from .charts import TOP, base_layout, placeholder_figure
from .numbers import chart_text, grouped, human, printable

# metric -> (axis title, AtlasRow attribute)
METRICS = {
    "depth": ("depth (weighted layers on the longest path)", "depth"),
    "params": ("parameters", "params"),
    "macs": ("MACs (multiply-adds; FLOPs = 2 × MACs)", "macs"),
}
HISTORY_OUTLINE = "#111827"
CROWDED_STRIP = 100  # more models without a year than this get a wider strip
STRIP_FILL = "#eef0f4"
EMPTY_STORE = ("No profiles in the store yet. Run `archviz sweep --torchvision` (or `archviz profile MODEL`), "
               "then reload.")
NOTHING_MATCHES = "No model matches the filter: clear the search box or pick other families."


def jitter(name: str) -> float:
    """A fixed offset in [-0.3, 0.3] of a year per model, so points of one year do not stack and a
    model keeps its place whatever the filter."""
    return (zlib.crc32(name.encode()) % 1001) / 1000 * 0.6 - 0.3


@lru_cache(maxsize=8192)
def hover(row: AtlasRow) -> str:
    """The hover text of a point: what it is, where it comes from, its figures and conventions."""
    esc = _esc  # the model's name and the catalogue's text may hold anything
    title = f"<b>{esc(row.label)}</b>" + (f" ({esc(row.name)})" if row.label != row.name else "")
    year = str(row.year) if row.year is not None else "no paper year"
    lines = [title, f"{esc(row.family)} · {year}" + (f" · arXiv {esc(row.arxiv)}" if row.arxiv else ""),
             f"params {human(row.params)} ({grouped(row.params)})",
             f"MACs {human(row.macs)} · FLOPs {human(row.flops)} (2 × MACs)",
             f"depth {row.depth if row.depth is not None else '-'}"]
    if row.acc1 is not None:
        lines.append(f"top-1 {row.acc1:.2f}% ({esc(row.weights or 'published weights')})")
    lines.append(f"input {row.input}" + ("" if row.default_input else " (not its default input)"))
    if row.meta_note:
        lines.append(esc(row.meta_note[:120]))
    return "<br>".join(lines)


_esc = chart_text  # user text inside plotly's HTML: no tags, control characters shown escaped


# The Atlas's charts are laid out for the narrowest plot they get (the dashboard or the report at
# 800 px: about 690 px of figure): margins and axis ranges are fixed, so the lecture models' labels,
# placed in pixels for that plot (render/labels.py), stay apart on wider ones. The legend sits in
# the fixed right margin.
FRAME = {"width": 690, "height": 560, "margin": {"l": 70, "r": 190, "t": TOP, "b": 60}}


def log_scale(values: list[float], pad: float = 1.6) -> tuple[labels.Scale, dict[str, Any]]:
    """A fixed log axis around the values with 1, 2, 5, 10, 20, 50 ... ticks (decades only over a
    wide span), labelled '2M', '5G'."""
    lo, hi = min(values) / pad, max(values) * pad
    ticks = labels.log_ticks(lo, hi)
    if len(ticks) > 12:
        ticks = labels.log_ticks(lo, hi, (1,))
    scale = labels.Scale(lo, hi, True)
    return scale, {"type": "log", "range": scale.plotly_range(), "tickvals": ticks,
                   "ticktext": [labels.tick_text(t) for t in ticks], "automargin": False}


def year_axis(rows: list[AtlasRow]) -> dict[str, Any]:
    """The year axis: the paper years present, then a strip for models without a year."""
    years = [r.year for r in rows if r.year is not None]
    first, last = (min(years), max(years)) if years else (2012, 2016)
    step = 1 if last - first <= 8 else 2
    vals: list[float] = list(range(first - (first % step), last + 1, step))
    text = [str(v) for v in vals]
    unplaced = sum(r.year is None for r in rows)
    half = 0.45 if unplaced <= CROWDED_STRIP else 1.2  # a wider strip for a crowd
    strip = last + 0.7 + half + 0.45 if unplaced else None
    if strip is not None:
        vals.append(strip)
        text.append("no year")
    scale = labels.Scale(first - 0.7, (strip + half if strip is not None else last + 0.45) + 0.25)
    return {"strip": strip, "half": half, "scale": scale,
            "axis": {"title": {"text": "paper year (arXiv id or publication)"}, "tickvals": vals,
                     "ticktext": text, "range": scale.plotly_range(), "zeroline": False, "showgrid": False,
                     "automargin": False}}


def _x(row: AtlasRow, strip: float | None, half: float = 0.45) -> float:
    """The year plus the model's fixed offset; models without a year spread across the strip."""
    if row.year is not None:
        return round(row.year + jitter(row.name), 3)
    return round((strip or 0.0) + jitter(row.name) * (half - 0.1) / 0.3, 3)


def _bulk_traces(rows: list[AtlasRow], xs: dict[str, float], ys: dict[str, float]) -> list[dict[str, Any]]:
    """One WebGL trace per family: small, semi-transparent points."""
    data = []
    for fam in families(rows):
        fr = [r for r in rows if r.family == fam and r.name in ys]
        if not fr:
            continue
        data.append({"type": "scattergl", "mode": "markers", "name": _esc(fam), "legendgroup": fam,
                     "x": [xs[r.name] for r in fr], "y": [ys[r.name] for r in fr],
                     "customdata": [r.name for r in fr], "hovertext": [hover(r) for r in fr],
                     "hovertemplate": "%{hovertext}<extra></extra>",
                     "marker": {"color": fr[0].colour, "size": 7, "opacity": 0.6, "line": {"width": 0}}})
    return data


LECTURE = "2012-2016 lecture set"
HISTORY_SIZE = 12


def _history(rows: list[AtlasRow], xs: dict[str, float], ys: dict[str, float], xscale: labels.Scale,
             yscale: labels.Scale) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The 2012-2016 lecture models (SVG, above the WebGL layer): large, outlined, labelled where
    no label collides; and a legend entry drawn like them."""
    hr = [r for r in rows if r.history and r.name in ys]
    if not hr:
        return [], []
    marker = {"size": HISTORY_SIZE, "opacity": 1, "line": {"width": 2, "color": HISTORY_OUTLINE}}
    traces = [{"type": "scatter", "mode": "markers", "name": LECTURE, "legendgroup": LECTURE, "showlegend": False,
               "x": [xs[r.name] for r in hr], "y": [ys[r.name] for r in hr], "customdata": [r.name for r in hr],
               "hovertext": [hover(r) for r in hr], "hovertemplate": "%{hovertext}<extra></extra>",
               "marker": {**marker, "color": [r.colour for r in hr]}},
              {"type": "scatter", "mode": "markers", "name": LECTURE, "legendgroup": LECTURE, "legendrank": 1,
               "x": [None], "y": [None], "hoverinfo": "skip", "marker": {**marker, "color": "#ffffff"}}]
    frame = labels.Frame(FRAME["width"], FRAME["height"], FRAME["margin"])
    marks = [labels.Label(xs[r.name], ys[r.name], r.label, 10, HISTORY_SIZE / 2 + 1, HISTORY_OUTLINE) for r in hr]
    return traces, labels.label_annotations(marks, frame, xscale, yscale)


def _legend() -> dict[str, Any]:
    return {"orientation": "v", "x": 1.02, "y": 1, "xanchor": "left", "yanchor": "top", "font": {"size": 10},
            "itemsizing": "constant", "title": {"text": "family"}, "tracegroupgap": 0}


def _value(row: AtlasRow, attr: str) -> float | None:
    v = getattr(row, attr)
    return float(v) if v is not None and v > 0 else None


def _figure(heading: str, data: list[dict[str, Any]], xaxis: dict[str, Any], yaxis: dict[str, Any],
            **extra: Any) -> dict[str, Any]:
    layout = base_layout(heading, legend=_legend(), height=FRAME["height"], xaxis=xaxis, yaxis=yaxis, **extra)
    layout["margin"] = dict(FRAME["margin"])
    return {"data": data, "layout": layout}


def by_year(rows: list[AtlasRow], metric: str = "params", empty: str = EMPTY_STORE) -> dict[str, Any]:
    """Depth, parameters or MACs of every model against its paper year (log y, 1-2-5 ticks), with
    the models without a year in a grey strip at the right."""
    if not rows:
        return placeholder_figure(empty)
    title, attr = METRICS[metric]
    ys = {r.name: v for r in rows if (v := _value(r, attr)) is not None}
    if not ys:
        return placeholder_figure(f"None of these {len(rows)} models has a {attr} figure.")
    axis = year_axis(rows)
    xs = {r.name: _x(r, axis["strip"], axis["half"]) for r in rows}
    yscale, yaxis = log_scale(list(ys.values()))
    what = title.split(" (")[0]
    heading = f"{what[0].upper()}{what[1:]} by paper year ({grouped(len(ys))} models)"
    if len(ys) < len(rows):
        heading += f"; {len(rows) - len(ys)} without a figure"
    shapes, notes = [], []
    unplaced = counts(rows)["unplaced"]
    if axis["strip"] is not None:
        s = axis["strip"]
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": s - axis["half"], "x1": s + axis["half"],
                       "y0": 0, "y1": 1, "fillcolor": STRIP_FILL, "line": {"width": 0}, "layer": "below"})
        notes.append({"x": s, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                      "text": f"{grouped(unplaced)} without a year", "font": {"size": 10, "color": "#5d6677"}})
    lecture, placed = _history(rows, xs, ys, axis["scale"], yscale)
    return _figure(heading, _bulk_traces(rows, xs, ys) + lecture, axis["axis"],
                   {**yaxis, "title": {"text": title}}, shapes=shapes, annotations=notes + placed)


def accuracy_vs_macs(rows: list[AtlasRow], empty: str = EMPTY_STORE, weights: str = "v1") -> dict[str, Any]:
    """Published top-1 accuracy against counted MACs (log x): models without a published accuracy
    are counted in the title, not drawn."""
    if not rows:
        return placeholder_figure(empty)
    shown = [r for r in rows if r.acc1 is not None and _value(r, "macs") is not None]
    if not shown:
        return placeholder_figure(f"None of these {len(rows)} models has a published accuracy "
                                  "(torchvision's weights or timm's configs give them).")
    xs = {r.name: float(r.macs) for r in shown}  # type: ignore[arg-type]
    ys = {r.name: float(r.acc1) for r in shown}  # type: ignore[arg-type]
    xscale, xaxis = log_scale(list(xs.values()))
    yscale = labels.Scale(math.floor(min(ys.values())) - 2.5, math.ceil(max(ys.values())) + 2.5)
    heading = f"Top-1 accuracy vs MACs ({grouped(len(shown))} of {grouped(len(rows))} models have a published top-1)"
    lecture, placed = _history(shown, xs, ys, xscale, yscale)
    return _figure(heading, _bulk_traces(shown, xs, ys) + lecture,
                   {**xaxis, "title": {"text": "MACs per image (multiply-adds; FLOPs = 2 × MACs)"}},
                   {"title": {"text": "ImageNet top-1, % (" + ("original V1 weights where published" if weights == "v1"
                                                             else "torchvision's best weights") + ")"}, "range": yscale.plotly_range(),
                    "automargin": False}, annotations=placed)


def table_rows(rows: list[AtlasRow]) -> list[dict[str, Any]]:
    """The models as table cells: text to show and a value to sort by."""
    def cell(text: Any, sort: Any) -> dict[str, Any]:
        return {"text": printable(text), "sort": "" if sort is None else sort}
    return [{"history": r.history, "cells": [
        cell(r.label if r.label == r.name else f"{r.label} ({r.name})", r.name.lower()),
        cell(r.family, r.family.lower()),
        cell(r.year if r.year is not None else "no year", r.year if r.year is not None else 9999),
        cell(grouped(r.params), r.params), cell(human(r.macs), r.macs),
        cell(r.depth if r.depth is not None else "-", r.depth),
        cell(f"{r.acc1:.2f}" if r.acc1 is not None else "-", r.acc1),
        cell(r.input + ("" if r.default_input else " *"), r.input)]} for r in rows]


TABLE_COLUMNS = [("Model", "str"), ("Family", "str"), ("Year", "num"), ("Params", "num"),
                 ("MACs", "num"), ("Depth", "num"), ("Top-1 %", "num"), ("Input", "str")]


def models(n: int) -> str:
    """'1 model', '1,500 models'."""
    return f"{grouped(n)} model{'' if n == 1 else 's'}"


def intro(rows: list[AtlasRow], interactive: bool = False) -> str:
    """What the page shows, in a few sentences with the counts and the conventions."""
    c = counts(rows)
    if not c["models"]:
        return EMPTY_STORE
    text = (f"{models(c['models'])} profiled in the store, {grouped(c['with_accuracy'])} with a published "
            f"top-1; the {c['history']} outlined and labelled are the 2012-2016 lecture set. ")
    if c["unplaced"]:
        text += f"{models(c['unplaced'])} without a paper year: in the grey strip at the right. "
    text += ("Each model at its default input (the hover names the input; "
             f"{models(c['other_input'])} stored only at another one). " if c["other_input"] else
             "Each model at its default input. ")
    text += "MACs are multiply-adds (fvcore's count); FLOPs = 2 × MACs."
    return text + (" Click a point to open it in the Explorer." if interactive else "")


def render_html(rows: list[AtlasRow], command: str | None = None) -> str:
    """The Atlas as one self-contained page: the three by-year charts, accuracy vs MACs and a
    sortable table of every model (plotly.js and the CSS inlined, as in the model report)."""
    from .. import __version__

    figs = {f"atlas-{m}": by_year(rows, m) for m in METRICS} if rows else {}
    if rows:
        figs["atlas-accuracy"] = accuracy_vs_macs(rows)
    return render_page(
        "atlas.html.j2", figs, command, version=__version__, total=grouped(len(rows)) if rows else 0, intro=intro(rows) if rows else "",
        empty=EMPTY_STORE.replace("then reload", "then run `archviz report --atlas` again"),
        year_ids=[f"atlas-{m}" for m in METRICS], rows=table_rows(rows), columns=TABLE_COLUMNS)


DEFAULT_PATH = Path("reports") / "atlas.html"


def write_atlas(rows: list[AtlasRow], path: Path | None = None, command: str | None = None) -> Path:
    """Write the Atlas report atomically (a temp file, then rename); returns its path."""
    from ..files import write_atomic

    path = path or DEFAULT_PATH
    write_atomic(path, render_html(rows, command).encode())
    return path
