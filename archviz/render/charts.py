"""Plotly figures as plain dicts, built from Profiles (no plotly import, no torch).

The report embeds them with plotly.js; the dashboard hands them to dcc.Graph. One colour per family
everywhere, from the catalogue."""

from __future__ import annotations

from typing import Any

from ..catalog import FAMILIES, ILSVRC_WINNERS, family_colour
from ..record import Profile

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
WEIGHTED = {"Conv2d", "Linear", "Conv1d", "Conv3d"}
LOG_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]


def colour_of(profile: Profile, i: int = 0) -> str:
    hist = (profile.catalog or {}).get("history") if profile.catalog else None
    return family_colour(hist["family"]) if hist else PALETTE[i % len(PALETTE)]


def label_of(profile: Profile) -> str:
    hist = (profile.catalog or {}).get("history") if profile.catalog else None
    return hist["label"] if hist else profile.model


def _layout(title: str, **extra: Any) -> dict[str, Any]:
    base = {"title": {"text": title, "font": {"size": 15}}, "margin": {"l": 70, "r": 70, "t": 50, "b": 50},
            "template": "plotly_white", "font": {"family": "DejaVu Sans, Arial, sans-serif", "size": 12},
            "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest"}
    base.update(extra)
    for axis in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        if axis in base:
            base[axis].setdefault("automargin", True)
    return base


def weighted_layers(profile: Profile) -> list[dict[str, Any]]:
    """Leaf layers that carry weights, in execution order (conv and linear)."""
    order = {n["scope"]: n["i"] for n in reversed(profile.graph)}
    rows = [r for r in profile.layers if r["leaf"] and r["type"] in WEIGHTED and r["name"] in order]
    return sorted(rows, key=lambda r: order[r["name"]])


def spatial_layers(profile: Profile) -> list[dict[str, Any]]:
    order = {n["scope"]: n["i"] for n in reversed(profile.graph)}
    rows = [r for r in profile.layers if r["leaf"] and r["name"] in order and r["output_shape"]
            and len(r["output_shape"]) == 4]
    return sorted(rows, key=lambda r: order[r["name"]])


def macs_params_along_depth(profiles: list[Profile]) -> dict[str, Any]:
    data = []
    many = len(profiles) > 1
    for i, p in enumerate(profiles):
        rows = weighted_layers(p)
        x = list(range(1, len(rows) + 1))
        names = [r["name"] for r in rows]
        c = colour_of(p, i)
        data.append({"type": "bar" if not many else "scatter", "mode": "lines", "x": x,
                     "y": [r["macs"] for r in rows], "name": f"{label_of(p)} MACs", "customdata": names,
                     "marker": {"color": c, "opacity": 0.45}, "line": {"color": c},
                     "hovertemplate": "%{customdata}<br>MACs %{y:,}<extra>%{fullData.name}</extra>"})
        data.append({"type": "scatter", "mode": "lines+markers", "x": x, "y": [r["params"] for r in rows],
                     "name": f"{label_of(p)} params", "yaxis": "y2", "customdata": names,
                     "line": {"color": "#222222" if not many else c, "dash": "dot", "width": 2},
                     "marker": {"size": 5, "color": "#222222" if not many else c},
                     "hovertemplate": "%{customdata}<br>params %{y:,}<extra>%{fullData.name}</extra>"})
    return {"data": data, "layout": _layout(
        "MACs and parameters per weighted layer, along depth",
        xaxis={"title": {"text": "weighted layer (conv / linear), input to output"}},
        yaxis={"title": {"text": "MACs"}, "type": "log", "tickformat": "~s", "dtick": "D2"},
        yaxis2={"title": {"text": "parameters"}, "overlaying": "y", "side": "right", "type": "log",
                "tickformat": "~s", "showgrid": False, "dtick": "D2"})}


def receptive_field_along_depth(profiles: list[Profile]) -> dict[str, Any]:
    data = []
    for i, p in enumerate(profiles):
        rows = [r for r in spatial_layers(p) if isinstance(r["receptive_field"], list)]
        c = colour_of(p, i)
        names = [r["name"] for r in rows]
        x = [r["depth"] for r in rows]
        data.append({"type": "scatter", "mode": "lines+markers", "x": x,
                     "y": [r["receptive_field"][0] for r in rows], "name": f"{label_of(p)} receptive field",
                     "customdata": names, "line": {"color": c, "shape": "hv"}, "marker": {"size": 4},
                     "hovertemplate": "%{customdata}<br>RF %{y} px<extra>%{fullData.name}</extra>"})
        data.append({"type": "scatter", "mode": "lines", "x": x, "y": [r["output_shape"][2] for r in rows],
                     "name": f"{label_of(p)} spatial size (H)", "customdata": names,
                     "line": {"color": c, "dash": "dash", "shape": "hv"},
                     "hovertemplate": "%{customdata}<br>H = %{y}<extra>%{fullData.name}</extra>"})
    return {"data": data, "layout": _layout(
        "Receptive field and feature-map size along depth",
        xaxis={"title": {"text": "depth (weighted layers on the longest path)"}},
        yaxis={"title": {"text": "pixels (solid: receptive field, dashed: feature map)"}, "type": "log",
               "tickvals": LOG_TICKS, "ticktext": [str(v) for v in LOG_TICKS]})}


def share_by_type(profiles: list[Profile]) -> dict[str, Any]:
    data = []
    for i, p in enumerate(profiles):
        by: dict[str, list[float]] = {}
        for r in p.layers:
            if r["leaf"]:
                cur = by.setdefault(r["type"], [0.0, 0.0])
                cur[0] += r["params"]
                cur[1] += r["macs"]
        tot_p = sum(v[0] for v in by.values()) or 1
        tot_m = sum(v[1] for v in by.values()) or 1
        types = sorted(by, key=lambda t: -by[t][1])
        c = colour_of(p, i)
        prefix = f"{label_of(p)} " if len(profiles) > 1 else ""
        data.append({"type": "bar", "orientation": "h", "y": types, "x": [100 * by[t][1] / tot_m for t in types],
                     "name": f"{prefix}% of MACs", "marker": {"color": c},
                     "hovertemplate": "%{y}: %{x:.1f}% of MACs<extra></extra>"})
        data.append({"type": "bar", "orientation": "h", "y": types, "x": [100 * by[t][0] / tot_p for t in types],
                     "name": f"{prefix}% of params",
                     "marker": {"color": c, "opacity": 0.5, "pattern": {"shape": "/"}},
                     "hovertemplate": "%{y}: %{x:.1f}% of params<extra></extra>"})
    return {"data": data, "layout": _layout("Share of parameters and MACs by layer type", barmode="group",
                                            xaxis={"title": {"text": "% of model total"}},
                                            yaxis={"autorange": "reversed"})}


# ---- history charts (dashboard) ------------------------------------------------------------
def history_points(profiles: list[Profile]) -> list[dict[str, Any]]:
    pts = []
    for p in profiles:
        hist = (p.catalog or {}).get("history")
        if not hist:
            continue
        pub = (p.catalog or {}).get("published") or {}
        pts.append({"name": p.model, "label": hist["label"], "family": hist["family"], "year": hist["year"],
                    "depth": p.totals["depth"], "params": p.totals["params"], "macs": p.totals["macs"],
                    "conv_linear_macs": p.totals["conv_linear_macs"], "flops": p.totals["flops"],
                    "acc1": pub.get("acc@1"), "acc5": pub.get("acc@5"), "key_idea": hist["key_idea"],
                    "colour": hist["colour"]})
    return pts


def depth_params_by_year(profiles: list[Profile], log: bool = True) -> dict[str, Any]:
    """Two panels sharing the year axis: depth (left) and parameters (right), one colour per family."""
    import math

    pts = history_points(profiles)
    data = []
    for fam in FAMILIES:
        fp = [q for q in pts if q["family"] == fam]
        if not fp:
            continue
        c = FAMILIES[fam].colour
        common = {"type": "scatter", "mode": "markers+text", "x": [q["year"] for q in fp],
                  "text": [q["label"] for q in fp], "textposition": "middle right", "legendgroup": fam,
                  "customdata": [q["key_idea"] for q in fp], "textfont": {"size": 10, "color": c}}
        data.append({**common, "y": [q["depth"] for q in fp], "name": fam,
                     "marker": {"color": c, "size": 10},
                     "hovertemplate": "%{text}: depth %{y}<br>%{customdata}<extra></extra>"})
        spots = ["middle right", "middle left", "bottom right", "top left"]  # VGG's four sit close
        data.append({**common, "y": [q["params"] / 1e6 for q in fp], "name": fam, "showlegend": False,
                     "textposition": [spots[i % len(spots)] if fam == "VGG" else "middle right"
                                      for i in range(len(fp))],
                     "xaxis": "x2", "yaxis": "y2", "marker": {"color": c, "size": 10, "symbol": "diamond"},
                     "hovertemplate": "%{text}: %{y:.1f} M parameters<extra></extra>"})
    annotations = []
    shift = {"VGG": -70, "GoogLeNet": 40}
    for fam, f in FAMILIES.items():
        depths = [q["depth"] for q in pts if q["family"] == fam]
        if depths:
            y = max(depths)
            annotations.append({"x": f.year, "y": math.log10(y) if log else y, "xref": "x", "yref": "y",
                                "text": f.key_idea.split(":")[0].split(";")[0].split("(")[0].strip(),
                                "showarrow": True, "arrowhead": 0, "ax": shift.get(fam, 0), "ay": -34,
                                "font": {"size": 10, "color": f.colour}, "bgcolor": "rgba(255,255,255,0.85)"})
    axis_type = "log" if log else "linear"
    years = {"dtick": 1, "range": [2011.5, 2016.95], "title": {"text": "year"}}
    return {"data": data, "layout": _layout(
        "Depth rose while parameters fell (2012-2016)", annotations=annotations,
        xaxis={**years, "domain": [0, 0.47]}, xaxis2={**years, "domain": [0.53, 1], "anchor": "y2"},
        yaxis={"title": {"text": "depth (weighted layers)"}, "type": axis_type,
               "tickvals": [8, 11, 16, 22, 34, 50, 101, 152, 201] if log else None},
        yaxis2={"title": {"text": "parameters (millions)"}, "type": axis_type, "anchor": "x2",
                "tickvals": [5, 8, 10, 20, 25, 40, 60, 100, 140] if log else None})}


def ilsvrc_by_year() -> dict[str, Any]:
    years = [y for y, _, _ in ILSVRC_WINNERS]
    err = [e for _, _, e in ILSVRC_WINNERS]
    names = [n for _, n, _ in ILSVRC_WINNERS]
    colours = []
    for _, n, _ in ILSVRC_WINNERS:
        fam = next((f for f in FAMILIES if n.startswith(f)), None)
        colours.append(family_colour(fam))
    ticks = [f"{y}<br>{n.split(' (')[0]}" for y, n in zip(years, names)]
    return {"data": [{"type": "bar", "x": ticks, "y": err, "text": [f"{e}%" for e in err],
                      "marker": {"color": colours}, "textposition": "outside", "cliponaxis": False,
                      "customdata": names, "hovertemplate": "%{customdata}: %{y}% top-5 error<extra></extra>"}],
            "layout": _layout("ILSVRC classification winners: top-5 error (%)", uniformtext={"minsize": 10},
                              xaxis={"tickfont": {"size": 10}},
                              yaxis={"title": {"text": "top-5 error, %"}, "range": [0, 32]})}


def accuracy_vs_compute(profiles: list[Profile], metric: str = "macs", log: bool = True) -> dict[str, Any]:
    """Canziani et al. (2016) style: top-1 accuracy against G-ops, bubble area ~ parameters."""
    pts = [q for q in history_points(profiles) if q["acc1"] is not None]
    data = []
    for fam in FAMILIES:
        fp = [q for q in pts if q["family"] == fam]
        if not fp:
            continue
        data.append({"type": "scatter", "mode": "markers+text", "name": fam,
                     "x": [q[metric] / 1e9 for q in fp], "y": [q["acc1"] for q in fp],
                     "text": [q["label"] for q in fp], "textposition": "top center",
                     "marker": {"size": [q["params"] for q in fp], "sizemode": "area",
                                "sizeref": 2.0 * 144e6 / (44 ** 2), "sizemin": 4,
                                "color": FAMILIES[fam].colour, "opacity": 0.6, "line": {"width": 1}},
                     "customdata": [q["params"] / 1e6 for q in fp],
                     "hovertemplate": "%{text}<br>%{x:.2f} G" + metric.upper() +
                                      "<br>top-1 %{y:.1f}%<br>%{customdata:.1f} M params<extra></extra>"})
    unit = "GFLOPs (2 x MACs)" if metric == "flops" else "GMACs (multiply-adds)"
    return {"data": data, "layout": _layout(
        "Accuracy vs compute (bubble area = parameters)",
        xaxis={"title": {"text": unit}, "type": "log" if log else "linear"},
        yaxis={"title": {"text": "ImageNet top-1 (torchvision weights), %"}})}

