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


# ---- channel width along depth --------------------------------------------------------------
CHANNEL_CATS = {"conv", "linear"}
POW2_TICKS = [2 ** k for k in range(0, 17)]


def _width(shape: Any) -> int | None:
    """Channels of a traced tensor: dimension 1 of (N, C, ...) or (N, features)."""
    return shape[1] if isinstance(shape, list) and len(shape) >= 2 and isinstance(shape[1], int) else None


def channel_layers(profile: Profile) -> list[dict[str, Any]]:
    """Every conv / linear node of the traced graph, in execution order: its depth (weighted layers
    from the input on the longest path), the channels entering it (its input tensor's dimension 1:
    for a DenseNet layer's first conv, the concatenated width) and leaving it, its top-level block."""
    by_i = {n["i"]: n for n in profile.graph}
    first = _width(profile.input_shape)
    rows = []
    for n in profile.graph:
        if n.get("cat") not in CHANNEL_CATS or n.get("depth") is None or _width(n.get("shape")) is None:
            continue
        src = (n.get("in") or [None])[0]
        width_in = first if src == -1 else _width(by_i.get(src, {}).get("shape"))
        kernel = (n.get("attrs") or {}).get("kernel")
        rows.append({"name": n["scope"], "op": n["cat"], "depth": n["depth"], "in": width_in,
                     "out": _width(n["shape"]), "block": n.get("block"),
                     "kernel": "x".join(str(k) for k in kernel) if isinstance(kernel, list) else None})
    return rows


def _parts(widths: list[int]) -> str:
    """64, 32, 32, 32 -> '64 + 3 × 32' (a concatenation's inputs, runs folded)."""
    runs: list[list[int]] = []
    for w in widths:
        if runs and runs[-1][0] == w:
            runs[-1][1] += 1
        else:
            runs.append([w, 1])
    return " + ".join(f"{n} × {w}" if n > 1 else str(w) for w, n in runs)


def channel_trunk(profile: Profile) -> list[dict[str, Any]]:
    """The width of the feature map between blocks, in depth order: each top-level block's input and
    output width (from its block row), each concatenation or addition inside it, and each conv /
    linear outside any block. A DenseNet dense block climbs by the growth rate at each concat."""
    by_i = {n["i"]: n for n in profile.graph}
    points: list[tuple[float, float, int, str, str]] = []  # (depth, order, channels, text, module)
    tops = {b["name"]: b for b in profile.top_blocks()}
    members: dict[str, list[int]] = {}
    for n in profile.graph:
        if n.get("block") in tops:
            members.setdefault(n["block"], []).append(n["i"])
        elif n.get("cat") in CHANNEL_CATS and n.get("depth") is not None and _width(n.get("shape")):
            points.append((n["depth"], n["i"], _width(n["shape"]), f"{n['scope']} output", n["scope"]))
    for name, b in tops.items():
        idx = members.get(name)
        if not idx or b.get("depth_in") is None or b.get("depth_out") is None:
            continue
        if b.get("in_channels"):
            points.append((b["depth_in"], min(idx) - 0.5, b["in_channels"], f"{name} ({b['kind']}) input", name))
        for i in idx:
            n = by_i[i]
            if n.get("merge") and _width(n.get("shape")) and n.get("depth") is not None:
                parts = [_width(by_i[j]["shape"]) if j in by_i else _width(profile.input_shape) for j in n["in"]]
                how = n["merge"]
                text = (f"{n['scope']}: {how} {_parts(parts)}" if how == "concat" and all(parts)
                        else f"{n['scope']}: {how} of {len(parts)} inputs")
                points.append((n["depth"], i, _width(n["shape"]), text, n["scope"]))
        if b.get("out_channels"):
            points.append((b["depth_out"], max(idx) + 0.5, b["out_channels"], f"{name} ({b['kind']}) output",
                           name))
    points.sort(key=lambda t: (t[0], t[1]))
    out: list[dict[str, Any]] = []
    for depth, _, width, text, module in points:
        if out and out[-1]["depth"] == depth and out[-1]["channels"] == width:
            out[-1]["text"] += "<br>" + text  # one tensor: a block's output is the next one's input
        else:
            out.append({"depth": depth, "channels": width, "text": text, "name": module})
    return out


def _side_by_side(rows: list[dict[str, Any]]) -> list[float]:
    """x for each row: its depth, spread a little when several layers share a depth (Inception's
    branches, a ResNet shortcut conv) so each marker stands beside the others."""
    count: dict[int, int] = {}
    for r in rows:
        count[r["depth"]] = count.get(r["depth"], 0) + 1
    seen: dict[int, int] = {}
    xs = []
    for r in rows:
        n, k = count[r["depth"]], seen.get(r["depth"], 0)
        seen[r["depth"]] = k + 1
        step = min(0.6 / n, 0.2)
        xs.append(round(r["depth"] + (k - (n - 1) / 2) * step, 3))
    return xs


def _distinct_colours(profiles: list[Profile]) -> list[str]:
    """The family colours, with a palette colour for a second model of one family."""
    out: list[str] = []
    for i, p in enumerate(profiles):
        c = colour_of(p, i)
        if c in out:
            c = next((x for x in PALETTE[i:] + PALETTE if x not in out), c)
        out.append(c)
    return out


def _block_groups(profile: Profile) -> list[dict[str, Any]]:
    """Top-level blocks as bands: consecutive blocks of one stage (layer1.0, layer1.1, ...) fold."""
    groups: list[dict[str, Any]] = []
    for b in profile.top_blocks():
        if b.get("depth_in") is None or b.get("depth_out") is None:
            continue
        head, _, last = b["name"].rpartition(".")
        key = head if head and last.isdigit() else b["name"]
        g = groups[-1] if groups else None
        if g and g["key"] == key and g["kind"] == b["kind"]:
            g.update(x1=b["depth_out"], n=g["n"] + 1, out=b.get("out_channels"))
        else:
            groups.append({"key": key, "kind": b["kind"], "x0": b["depth_in"], "x1": b["depth_out"], "n": 1,
                           "in": b.get("in_channels"), "out": b.get("out_channels")})
    for g in groups:
        short = g["key"].rpartition(".")[2]
        g["label"] = f"{short} ×{g['n']}" if g["n"] > 1 else short
    return groups


def _band_shapes(profile: Profile, x_max: float) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaded bands for the top-level blocks (stages folded), labelled above the plot when the
    label fits; transitions tinted and labelled upright inside the plot's empty bottom."""
    shapes, notes = [], []
    groups = _block_groups(profile)
    px_per_depth = 560 / max(x_max + 1, 1)  # a narrow plot: labels that fit here fit everywhere
    k, right, prev = 0, -1.0, ""
    for g in groups:
        x0, x1 = g["x0"] + 0.5, g["x1"] + 0.5
        transition = g["kind"] == "transition"
        fill = "rgba(255,152,0,0.16)" if transition else ("rgba(31,58,96,0.06)" if k % 2 == 0 else "rgba(0,0,0,0)")
        k += 0 if transition else 1
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                       "fillcolor": fill, "line": {"width": 0}, "layer": "below"})
        if not transition:
            shapes.append({"type": "line", "xref": "x", "yref": "paper", "x0": x0, "x1": x0, "y0": 0, "y1": 1,
                           "line": {"width": 1, "color": "rgba(31,58,96,0.18)"}, "layer": "below"})
        if transition:
            notes.append({"x": (x0 + x1) / 2, "y": 0.02, "xref": "x", "yref": "paper", "text": g["label"],
                          "textangle": -90, "showarrow": False, "xanchor": "center", "yanchor": "bottom",
                          "font": {"size": 10, "color": "#b45309"}})
        else:  # centred over its band, shortened or left out rather than run into the label before it
            mid = (x0 + x1) / 2
            for text in (g["label"], _short_label(g["label"], prev)):
                half = (len(text) * 6.0 / 2 + 4) / px_per_depth
                if mid - half >= right:
                    right = mid + half
                    notes.append({"x": mid, "y": 1.0, "xref": "x", "yref": "paper", "text": text, "showarrow": False,
                                  "yanchor": "bottom", "font": {"size": 10, "color": "#4b5563"}})
                    break
            prev = g["label"]
    return shapes, notes


def _short_label(label: str, prev: str) -> str:
    """'inception3b' after 'inception3a' -> '3b': the letters both start with are dropped."""
    common = 0
    while common < min(len(label), len(prev)) and label[common] == prev[common] and label[common].isalpha():
        common += 1
    return label[common:] or label


def channels_along_depth(profiles: list[Profile]) -> dict[str, Any]:
    """Channel width along depth: each conv / linear drawn from the width entering it to the width
    it makes (dot), and the feature-map width between blocks as a line (block in / out, each concat
    or add); one model adds shaded block bands. DenseNet climbs by the growth rate inside a dense
    block and halves at each transition; a ResNet bottleneck dips 256 -> 64 -> 256."""
    import math

    many = len(profiles) > 1
    data: list[dict[str, Any]] = []
    widths: list[int] = []
    x_max = 1
    for p, c in zip(profiles, _distinct_colours(profiles)):
        rows, trunk = channel_layers(p), channel_trunk(p)
        xs = _side_by_side(rows)
        label = label_of(p)
        shown = ("out",) if many else ("in", "out")  # a comparison draws no input strokes
        widths += [r[k] for r in rows for k in shown if r[k]] + [t["channels"] for t in trunk]
        x_max = max([x_max, *[r["depth"] for r in rows]])
        group = {"legendgroup": p.model}
        if not many:
            seg_x: list[Any] = []
            seg_y: list[Any] = []
            for r, x in zip(rows, xs):
                if r["in"]:
                    seg_x += [x, x, None]
                    seg_y += [r["in"], r["out"], None]
            data.append({"type": "scatter", "mode": "lines", "x": seg_x, "y": seg_y, "hoverinfo": "skip",
                         "name": "conv / linear", "legendgroup": "layers", "showlegend": False,
                         "line": {"color": c, "width": 1.2}, "opacity": 0.45})
        data.append({"type": "scatter", "mode": "markers", "x": xs, "y": [r["out"] for r in rows],
                     "customdata": [r["name"] for r in rows],
                     "text": [f"{r['in'] if r['in'] is not None else '?'} → {r['out']} channels"
                              f"{' · ' + r['kernel'] + ' conv' if r['kernel'] else ' · linear'}"
                              f"<br>block: {r['block'] or '-'}" for r in rows],
                     "name": f"{label}: conv / linear output" if many
                     else "each conv / linear: dot = channels out, stroke from channels in",
                     "showlegend": not many, **(group if many else {"legendgroup": "layers"}),
                     "marker": {"color": c, "size": 4 if many else 6, "opacity": 0.6 if many else 0.9,
                                "line": {"width": 0}},
                     "hovertemplate": "%{customdata}<br>%{text}<br>depth %{x:.0f}<extra></extra>"})
        data.append({"type": "scatter", "mode": "lines+markers", "x": [t["depth"] for t in trunk],
                     "y": [t["channels"] for t in trunk], "customdata": [t["name"] for t in trunk],
                     "text": [t["text"] for t in trunk],
                     "name": label if many else "between blocks: block in / out, after each concat or add",
                     **group, "line": {"color": c, "width": 2.5}, "marker": {"size": 6, "color": c},
                     "hovertemplate": "%{text}<br>%{y} channels at depth %{x}"
                                      f"<extra>{label}</extra>"})
    lo, hi = (min(widths), max(widths)) if widths else (1, 1024)
    ticks = [t for t in POW2_TICKS if lo / 2 <= t <= hi * 2]
    if len(ticks) > 16:  # a very wide range: every other power of 2
        ticks = [t for t in ticks if t.bit_length() % 2 == 1]
    layout = _layout(
        "Channel width along depth" + ("" if many else f": {label_of(profiles[0])}"),
        xaxis={"title": {"text": "depth (weighted layers from the input, longest path)"}, "range": [0, x_max + 1],
               "zeroline": False},
        yaxis={"title": {"text": "channels (log scale)"}, "type": "log", "tickvals": ticks,
               "ticktext": [str(t) for t in ticks], "range": [math.log10(lo / 1.6), math.log10(hi * 1.6)]},
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"}, height=480)
    if not many and profiles:
        shapes, notes = _band_shapes(profiles[0], x_max)
        layout.update(shapes=shapes, annotations=notes)
        layout["margin"] = {**layout["margin"], "t": 70}
    layout["margin"] = {**layout["margin"], "b": 130}  # tick labels, axis title, then the legend
    return {"data": data, "layout": layout}


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



# ---- measured speed (issue 13: `archviz profile MODEL --measure`) ---------------------------
# A measured Profile carries `measurement` (device, dtype, batch, threads, peaks, totals) and each
# layer row `latency_ms`, `bytes`, `intensity` (FLOP/byte), `achieved_flops` (FLOP/s) and `bound`.
NOT_MEASURED = "not measured: run archviz profile {model} --measure"
PEAK_SOURCES = {"microbenchmark": "peaks measured by a microbenchmark", "flag": "peaks given on the command line",
                "microbenchmark, raised to the fastest layer":
                    "peaks measured by a microbenchmark, compute peak raised to the fastest layer"}


def peak_source(peaks: dict[str, Any]) -> str:
    """Where the peaks came from, as a phrase for titles and captions."""
    source = peaks.get("source")
    return PEAK_SOURCES.get(source, f"peaks: {source}" if source else "peaks of unknown source")


def measurement_of(profile: Profile) -> dict[str, Any] | None:
    """The profile's measurement, or None (also for profiles stored before measurements existed)."""
    m = getattr(profile, "measurement", None)
    return m if isinstance(m, dict) and m.get("total") and m.get("peaks") else None


def measured_setting(m: dict[str, Any]) -> str:
    """'cpu, float32, batch 1, 2 threads': what the numbers were measured on."""
    threads = m.get("threads")
    return (f"{m.get('device', '?')}, {m.get('dtype', '?')}, batch {m.get('batch', '?')}, "
            f"{threads} thread{'' if threads == 1 else 's'}")


def si(value: float | None, unit: str) -> str:
    """1.23e11, 'FLOP/s' -> '123 GFLOP/s' (three significant figures)."""
    if value is None:
        return "-"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"


def placeholder_figure(text: str, height: int = 200) -> dict[str, Any]:
    """A figure that says why it has nothing to draw (no bare axes)."""
    return {"data": [], "layout": {
        "template": "plotly_white", "height": height, "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        "annotations": [{"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "font": {"size": 14, "color": "#6b7280"}}]}}


def roof_at(intensity: float, peaks: dict[str, Any]) -> float:
    """The roofline's attainable FLOP/s at an intensity: min(peak FLOP/s, bandwidth × intensity)."""
    return min(peaks["flops"], peaks["bytes_per_s"] * intensity)


def ridge_of(peaks: dict[str, Any]) -> float:
    """The intensity where the memory roof meets the compute roof: peak FLOP/s / bandwidth."""
    return peaks["flops"] / peaks["bytes_per_s"]


def measured_leaves(profile: Profile) -> list[dict[str, Any]]:
    """Leaf rows with a measured latency, in table order."""
    return [r for r in profile.layers if r.get("leaf") and r.get("latency_ms") is not None]


def layer_group(profile: Profile, row: dict[str, Any]) -> str:
    """The colour group of a layer: its outermost block's kind, or its own type outside blocks."""
    kinds = {b["name"]: b.get("kind") for b in profile.blocks}
    return (kinds.get(row.get("block")) or row["type"]) if row.get("block") else row["type"]


def roofline(profiles: list[Profile]) -> dict[str, Any]:
    """The roofline of one measured model, log-log: x = arithmetic intensity (FLOP per byte moved),
    y = achieved FLOP/s; the memory roof (bandwidth × intensity, up to the ridge) and the compute roof
    (peak FLOP/s); one point per measured leaf layer, coloured by its block's kind (its type outside
    blocks), area ~ its share of the layers' latency; customdata = the layer name (click-to-highlight).
    Layers with no counted FLOPs or bytes have no place on log axes: a note counts them.
    Only the first profile is drawn; an unmeasured one gives a figure that says so."""
    import math

    p = profiles[0]
    m = measurement_of(p)
    if m is None:
        return placeholder_figure(NOT_MEASURED.format(model=p.model))
    peaks = m["peaks"]
    rows = measured_leaves(p)
    total_ms = sum(r["latency_ms"] for r in rows) or 1.0
    drawn = [r for r in rows if (r.get("intensity") or 0) > 0 and (r.get("achieved_flops") or 0) > 0]
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in drawn:
        groups.setdefault(layer_group(p, r), []).append(r)
    order = sorted(groups, key=lambda g: -sum(r["latency_ms"] for r in groups[g]))
    data: list[dict[str, Any]] = []
    for i, g in enumerate(order):
        rs = groups[g]
        data.append({
            "type": "scatter", "mode": "markers", "name": g, "x": [r["intensity"] for r in rs],
            "y": [r["achieved_flops"] for r in rs], "customdata": [r["name"] for r in rs],
            "text": [f"{r['type']} · {r['latency_ms']:.3g} ms ({100 * r['latency_ms'] / total_ms:.1f}% of layer time)"
                     f"<br>intensity {r['intensity']:.3g} FLOP/B · {si(r['achieved_flops'], 'FLOP/s')}"
                     f"<br>{100 * r['achieved_flops'] / roof_at(r['intensity'], peaks):.1f}% of roof"
                     f"{' · ' + r['bound'] + '-bound' if r.get('bound') else ''}" for r in rs],
            "marker": {"color": PALETTE[i % len(PALETTE)], "opacity": 0.75, "line": {"width": 0.5, "color": "#fff"},
                       "size": [round(5 + 45 * math.sqrt(r["latency_ms"] / total_ms), 2) for r in rs]},
            "hovertemplate": "<b>%{customdata}</b><br>%{text}<extra>%{fullData.name}</extra>"})
    ridge = ridge_of(peaks)
    xs = [r["intensity"] for r in drawn] or [ridge]
    lo, hi = min(min(xs), ridge) / 3, max(max(xs), ridge) * 3
    bw, top = peaks["bytes_per_s"], peaks["flops"]
    data.append({"type": "scatter", "mode": "lines", "x": [lo, ridge], "y": [bw * lo, top], "hoverinfo": "skip",
                 "name": f"memory roof: {si(bw, 'B/s')}", "line": {"color": "#374151", "width": 2, "dash": "dash"}})
    data.append({"type": "scatter", "mode": "lines", "x": [ridge, hi], "y": [top, top], "hoverinfo": "skip",
                 "name": f"compute roof: {si(top, 'FLOP/s')}", "line": {"color": "#374151", "width": 2}})
    left_out = [r for r in rows if r not in drawn]
    notes = [{"x": math.log10(ridge), "y": math.log10(top), "xref": "x", "yref": "y",  # log axes: log10
              "text": f"ridge {ridge:.3g} FLOP/B",
              "showarrow": True, "arrowhead": 0, "ax": 0, "ay": -22, "font": {"size": 10, "color": "#374151"}}]
    if left_out:
        ms = sum(r["latency_ms"] for r in left_out)
        notes.append({"x": 0, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "left", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 10, "color": "#6b7280"},
                      "text": f"not drawn: {len(left_out)} layer{'s' if len(left_out) > 1 else ''} with no counted FLOPs or bytes "
                              f"({ms:.3g} ms, {100 * ms / total_ms:.1f}% of layer time)"})
    ys = [r["achieved_flops"] for r in drawn] + [bw * lo]
    layout = _layout(
        f"Roofline: {label_of(p)} · {measured_setting(m)}<br><span style='font-size:11px;color:#6b7280'>"
        f"{peak_source(peaks)} · colour: block kind (layer type "
        "outside blocks) · dot area: share of latency</span>",
        xaxis={"title": {"text": "arithmetic intensity, FLOP per byte moved"}, "type": "log",
               "range": [math.log10(lo), math.log10(hi)], "dtick": 1, "tickformat": "~g"},
        yaxis={"title": {"text": "achieved FLOP/s"}, "type": "log", "dtick": 1, "tickformat": "~s",
               "range": [math.log10(min(ys) / 2), math.log10(top * 2.5)]},
        annotations=notes, height=560,
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "itemsizing": "constant"})
    layout["margin"] = {**layout["margin"], "t": 80, "b": 130}
    return {"data": data, "layout": layout}


def counted_flops(profile: Profile, m: dict[str, Any]) -> float:
    """FLOPs of one measured run: the counted FLOPs (2 × MACs) per sample × the measured batch
    (the profile counts its input's batch, dimension 0 of an N... layout)."""
    counted_batch = profile.input_shape[0] if profile.layout.startswith("N") and profile.input_shape else 1
    return profile.totals["flops"] / (counted_batch or 1) * m["batch"]


def achieved_share(profile: Profile, peak: float | None = None) -> dict[str, float] | None:
    """Whole-model speed: achieved = counted FLOPs of the run / eager time; share = achieved / peak
    (the profile's own measured peak unless a common one is given)."""
    m = measurement_of(profile)
    if m is None or not m["total"].get("eager_ms"):
        return None
    achieved = counted_flops(profile, m) / (m["total"]["eager_ms"] / 1000)
    return {"achieved": achieved, "share": achieved / (peak or m["peaks"]["flops"])}


def counted_vs_measured(profiles: list[Profile]) -> dict[str, Any]:
    """Counted MACs beside measured latency for the history set, in the order given, and each model's
    achieved FLOP/s as a share of the measured peak: three panels sharing the model axis. Profiles
    without a measurement are left out; none measured gives a figure that says how to measure."""
    measured = [p for p in profiles if measurement_of(p) is not None]
    if not measured:
        return placeholder_figure("History not measured on this machine: press “Measure the history set” "
                                  "or run archviz profile MODEL --measure for each model", height=220)
    labels = [label_of(p) for p in measured]
    colours = [colour_of(p, i) for i, p in enumerate(measured)]
    ms = [measurement_of(p) for p in measured]
    eager = [m["total"]["eager_ms"] for m in ms]
    # one roof for every bar: the highest peak measured (peaks measured at different times differ)
    peak_flops = max(m["peaks"]["flops"] for m in ms)
    shares = [achieved_share(p, peak_flops) for p in measured]
    spread = [m["total"].get("eager_spread_ms") or [e, e] for m, e in zip(ms, eager)]
    settings = sorted({measured_setting(m) for m in ms})
    common = {"type": "bar", "x": labels, "marker": {"color": colours}, "showlegend": False,
              "textposition": "outside", "cliponaxis": False}
    data = [
        {**common, "y": [p.totals["macs"] / 1e9 for p in measured], "name": "GMACs",
         "text": [f"{p.totals['macs'] / 1e9:.2f}" for p in measured],
         "hovertemplate": "%{x}: %{y:.2f} GMACs (counted, per sample)<extra></extra>"},
        {**common, "y": eager, "name": "latency", "xaxis": "x2", "yaxis": "y2",
         "text": [f"{e:.3g}" for e in eager],
         "error_y": {"type": "data", "symmetric": False, "array": [hi - e for (_, hi), e in zip(spread, eager)],
                     "arrayminus": [e - lo for (lo, _), e in zip(spread, eager)], "color": "#6b7280"},
         "hovertemplate": "%{x}: %{y:.3g} ms per run (eager)<extra></extra>"},
        {**common, "y": [100 * s["share"] for s in shares], "name": "share of peak", "xaxis": "x3", "yaxis": "y3",
         "text": [f"{100 * s['share']:.0f}%" for s in shares],
         "customdata": [si(s["achieved"], "FLOP/s") for s in shares],
         "hovertemplate": "%{x}: %{customdata} achieved, %{y:.1f}% of the highest measured peak"
                          "<extra></extra>"},
    ]
    peak = si(peak_flops, "FLOP/s")
    axis = {"tickangle": -45, "tickfont": {"size": 10}}
    layout = _layout(
        f"Counted vs measured: {'; '.join(settings)}",
        xaxis={**axis, "domain": [0, 0.29]}, xaxis2={**axis, "domain": [0.355, 0.645], "anchor": "y2"},
        xaxis3={**axis, "domain": [0.71, 1], "anchor": "y3"},
        yaxis={"automargin": True}, yaxis2={"anchor": "x2", "automargin": True},
        yaxis3={"anchor": "x3", "automargin": True}, height=480)
    # panel titles above each panel: y-axis titles would run into the neighbouring panel at 800 px
    layout["annotations"] = [*layout.get("annotations", []), *[
        {"text": text, "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
         "yanchor": "bottom", "showarrow": False, "font": {"size": 12}}
        for text, x in (("GMACs per sample (counted)", 0.145), ("ms per run (measured)", 0.5),
                        (f"% of the {peak} peak", 0.855))]]
    layout["margin"] = {**layout["margin"], "b": 110, "t": max(layout["margin"].get("t", 60), 90)}
    return {"data": data, "layout": layout}
