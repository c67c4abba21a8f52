"""The dashboard's callbacks as plain functions of plain inputs (unit-tested without a browser).

Each returns data for the page: plotly figure dicts, table rows, message strings."""

from __future__ import annotations

import json
import threading
from typing import Any

from ..catalog import HISTORY, history_info
from ..errors import ArchvizError
from ..record import Profile
from ..render import charts
from ..render.numbers import grouped, human, pair, shape
from ..render.table import TEXT_COLUMNS, cell
from ..store import home

_lock = threading.Lock()
TABLE_COLUMNS = TEXT_COLUMNS


# ---- data access ---------------------------------------------------------------------------
def model_names() -> list[str]:
    """Every catalogue name, cached in ARCHVIZ_HOME so a warm start needs no torchvision import."""
    from importlib import metadata

    try:
        tv = metadata.version("torchvision")
    except metadata.PackageNotFoundError:
        tv = "none"
    cache = home() / f"models-torchvision-{tv}.json"
    try:
        return json.loads(cache.read_text())
    except (OSError, ValueError):
        pass
    from ..catalog import torchvision_models

    names = list(torchvision_models())
    cache.parent.mkdir(parents=True, exist_ok=True)
    tmp = cache.with_suffix(".tmp")
    tmp.write_text(json.dumps(names))
    tmp.replace(cache)
    return names


def load(model: str, size: int | None = None) -> Profile:
    """A profile through the store; one profiling at a time (torch tracing is not re-entrant)."""
    from ..service import get_profile

    shape_arg = None if not size else [1, 3, int(size), int(size)]
    with _lock:
        return get_profile(model, shape_arg)


def history_profiles(names: list[str] | None = None) -> list[Profile]:
    return [load(n) for n in (list(HISTORY) if names is None else names)]


# ---- History page --------------------------------------------------------------------------
def history_figures(metric: str = "macs", scale: str = "log", variants: list[str] | None = None) -> dict[str, Any]:
    """The History page's three charts for the chosen variants (torchvision names; None = all)."""
    chosen = [n for n in HISTORY if variants is None or n in variants]
    profiles = history_profiles(chosen) if chosen else []
    log = scale == "log"
    return {"depth": charts.depth_params_by_year(profiles, log=log), "ilsvrc": charts.ilsvrc_by_year(),
            "bubble": charts.accuracy_vs_compute(profiles, metric=metric, log=log)}


# ---- Explorer ------------------------------------------------------------------------------
def headline(p: Profile) -> list[tuple[str, str, str]]:
    t = p.totals
    return [("Parameters", human(t["params"]), grouped(t["params"])),
            ("MACs", human(t["macs"]), "multiply-adds"), ("FLOPs", human(t["flops"]), "= 2 × MACs"),
            ("Conv+linear MACs", human(t["conv_linear_macs"]), "torchvision's GFLOPS"),
            ("Depth", str(t["depth"]), "weighted layers"),
            ("Receptive field", f"{pair(t['receptive_field'])} px", f"stride {pair(t['effective_stride'])}"),
            ("Activations", human(t["activations"]), "conv/linear outputs"),
            ("Input", shape(p.input_shape), "N×C×H×W")]


def table_rows(p: Profile) -> list[dict[str, Any]]:
    """Layer rows for the DataTable: counts stay numbers (they sort), the rest as the CLI writes it."""
    numeric = {"params", "macs", "flops", "activations", "depth"}
    return [{c: r[c] if c in numeric else cell(c, r[c]) for c in TABLE_COLUMNS} for r in p.layers]


def explore(model: str | None, size: Any) -> dict[str, Any]:
    """Everything the Explorer shows for one model, or an error message (never an exception)."""
    if not model:
        return {"error": "Pick a model."}
    try:
        size_int = int(size) if size not in (None, "") else None
        if size_int is not None and not 16 <= size_int <= 1024:
            return {"error": f"Input size {size_int} is out of range: use 16 to 1024 pixels."}
        p = load(model, size_int)
    except (ValueError, TypeError):
        return {"error": f"Input size {size!r} is not a whole number."}
    except ArchvizError as exc:
        return {"error": str(exc)}
    from ..render.diagram import svg_text

    try:
        svg = svg_text(p)
    except ArchvizError as exc:
        svg = f"<p>{exc}</p>"
    return {"profile": p, "headline": headline(p), "svg": svg, "rows": table_rows(p),
            "depth_fig": charts.macs_params_along_depth([p]), "rf_fig": charts.receptive_field_along_depth([p]),
            "share_fig": charts.share_by_type([p]), "history": history_info(p.model)}


def highlight_style(click: dict[str, Any] | None) -> tuple[list[dict[str, Any]], str | None]:
    """A chart click (customdata = layer name) -> DataTable conditional style for that row."""
    if not click or not click.get("points"):
        return [], None
    name = click["points"][0].get("customdata")
    if not isinstance(name, str):
        return [], None
    safe = name.replace('"', '\\"')
    return [{"if": {"filter_query": f'{{name}} = "{safe}"'}, "backgroundColor": "#fff3c4",
             "fontWeight": "600"}], name


def page_of(rows: list[dict[str, Any]], name: str | None, page_size: int) -> int:
    """The table page holding layer `name` (0 when absent), so a chart click shows its row."""
    for i, row in enumerate(rows):
        if row.get("name") == name:
            return i // page_size
    return 0


# ---- Compare -------------------------------------------------------------------------------
def compare(models: list[str] | None) -> dict[str, Any]:
    models = list(models or [])
    if not 2 <= len(models) <= 4:
        return {"error": "Pick 2 to 4 models to compare."}
    try:
        profiles = [load(m) for m in models]
    except ArchvizError as exc:
        return {"error": str(exc)}
    rows = []
    for p in profiles:
        t = p.totals
        rows.append({"model": charts.label_of(p), "params": grouped(t["params"]), "MACs": human(t["macs"]),
                     "FLOPs": human(t["flops"]), "depth": t["depth"],
                     "receptive field": pair(t["receptive_field"]), "stride": pair(t["effective_stride"]),
                     "blocks": len(p.top_blocks()),
                     "top-1": ((p.catalog or {}).get("published") or {}).get("acc@1", "-")})
    return {"rows": rows, "depth_fig": charts.macs_params_along_depth(profiles),
            "rf_fig": charts.receptive_field_along_depth(profiles), "share_fig": charts.share_by_type(profiles)}


# ---- Lessons -------------------------------------------------------------------------------
def lesson_results(channels: Any, kernel: Any, width: Any, growth: Any, layers: Any) -> dict[str, Any]:
    """Each lesson computed on real torch.nn modules built from the inputs."""
    from .. import lessons

    try:
        c, k, w, g, n = (int(v) for v in (channels, kernel, width, growth, layers))
    except (TypeError, ValueError):
        return {"error": "Every field needs a whole number."}
    if not (1 <= c <= 1024 and 3 <= k <= 11 and k % 2 == 1 and 1 <= w <= c and 1 <= g <= 256 and 1 <= n <= 12):
        return {"error": "Out of range: channels 1-1024, odd kernel 3-11, bottleneck width 1-channels, "
                         "growth 1-256, layers 1-12."}
    with _lock:
        out = {"kernel": lessons.kernel_vs_stack(c, k, size=16), "bottleneck": lessons.bottleneck(c, w, size=16),
               "merge": lessons.add_vs_concat(c, n, g, size=16)}
    return {name: {"title": l.title, "explanation": l.explanation, "saving": l.saving(),
                   "variants": [{"label": v.label, "params": v.params, "macs": v.macs,
                                 "receptive_field": pair(v.receptive_field), "out_channels": v.out_channels}
                                for v in l.variants]} for name, l in out.items()}


def lesson_figure(result: dict[str, Any]) -> dict[str, Any]:
    labels, params, colours = [], [], []
    palette = ["#ff7f0e", "#2ca02c", "#1f77b4"]
    for i, key in enumerate(("kernel", "bottleneck", "merge")):
        for v in result[key]["variants"]:
            labels.append(f"{result[key]['title']}<br>{v['label']}")
            params.append(v["params"])
            colours.append(palette[i])
    return {"data": [{"type": "bar", "x": params, "y": labels, "orientation": "h", "marker": {"color": colours},
                      "text": [f"{p:,}" for p in params], "textposition": "auto",
                      "hovertemplate": "%{y}<br>%{x:,} parameters<extra></extra>"}],
            "layout": {"title": {"text": "Parameters, computed on real torch.nn modules"}, "template": "plotly_white",
                       "margin": {"l": 330, "r": 30, "t": 50, "b": 40}, "height": 420,
                       "yaxis": {"autorange": "reversed", "automargin": True},
                       "xaxis": {"title": {"text": "parameters"}}}}

