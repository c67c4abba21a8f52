"""Plotly figures as plain dicts, built from Profiles (no plotly import, no torch).

The report embeds them with plotly.js; the dashboard hands them to dcc.Graph. One colour per model on
a page (render/colours.py: the family's hue, shades within a family); text labels on points are placed
by render/labels.py so they never collide."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from ..catalog import FAMILIES, ILSVRC_WINNERS, family_colour, published, weights_tag
from ..measure.roofline import memory_roofs, roof
from .colours import PALETTE, base_colour, page_colours
from .labels import Frame, Label, Scale, label_annotations, log_ticks, tick_text
from .numbers import chart_text, si

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

WEIGHTED = {"Conv2d", "Linear", "Conv1d", "Conv3d"}
LOG_TICKS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
TOP = 78  # top margin: the modebar's row (about 30 px), then the title under it, then the plot
TITLE = {"x": 0, "xref": "paper", "xanchor": "left", "y": 1, "yref": "container", "yanchor": "top",
         "pad": {"t": 34}, "font": {"size": 15}}


def colour_of(profile: Profile, i: int = 0) -> str:
    """A model's colour on its own (its family's hue); on a page of several, use page_colours."""
    return base_colour(profile, i)


def label_of(profile: Profile) -> str:
    hist = (profile.catalog or {}).get("history") if profile.catalog else None
    return hist["label"] if hist else profile.model


shown = chart_text  # customdata keeps the raw name (clicks match it to a table row); it is never shown


def chart_label(profile: Profile) -> str:
    return shown(label_of(profile))


def base_layout(title: str, **extra: Any) -> dict[str, Any]:
    """The common layout: the title left-aligned under the modebar's row, so the modebar (top
    right) never covers it."""
    base = {"title": {**TITLE, "text": title}, "margin": {"l": 70, "r": 70, "t": TOP, "b": 50},
            "template": "plotly_white", "font": {"family": "DejaVu Sans, Arial, sans-serif", "size": 12},
            "legend": {"orientation": "h", "y": -0.2}, "hovermode": "closest"}
    base.update(extra)
    for axis in ("xaxis", "xaxis2", "yaxis", "yaxis2"):
        if axis in base:
            base[axis].setdefault("automargin", True)
    return base


def _panel_titles(*titles: tuple[str, float]) -> list[dict[str, Any]]:
    """Small titles above the panels of a two-panel figure (x: the panel's centre, paper units)."""
    return [{"text": text, "x": x, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "center",
             "yanchor": "bottom", "showarrow": False, "font": {"size": 12, "color": "#374151"}}
            for text, x in titles]


def _log_axis(lo: float, hi: float, steps: tuple[int, ...] | None = None) -> dict[str, Any]:
    """A log axis over [lo, hi] with ticks 1, 2, 5, 10, 20, 50... (no unlabelled minor digits);
    1, 3, 10, 30... over more than 2.5 decades, powers of ten over more than 4."""

    span = math.log10(hi / lo)
    steps = steps or ((1, 2, 5) if span <= 2.5 else (1, 3) if span <= 4 else (1,))
    ticks = log_ticks(lo, hi, steps)
    if len(ticks) < 2:  # a narrow range (one value): its ends, rounded
        ticks = sorted({float(f"{lo * 1.3:.2g}"), float(f"{hi / 1.3:.2g}")})
    return {"type": "log", "range": [math.log10(lo), math.log10(hi)], "tickvals": ticks,
            "ticktext": [tick_text(t) for t in ticks]}


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


def _running_sum(items: list[tuple[int, float, str]]) -> dict[str, list[Any]]:
    """(depth, amount, name) -> one point per depth: the running total up to that depth and the
    layer that brought the most at that depth (a monotone curve, however the layers branch)."""
    by_depth: dict[int, list[Any]] = {}
    for depth, amount, name in items:
        cur = by_depth.setdefault(depth, [0.0, name, -1.0])
        cur[0] += amount
        if amount > cur[2]:
            cur[1], cur[2] = name, amount
    xs, ys, names, total = [], [], [], 0.0
    for depth in sorted(by_depth):
        total += by_depth[depth][0]
        xs.append(depth)
        ys.append(total)
        names.append(by_depth[depth][1])
    return {"x": xs, "y": ys, "names": names}


def cumulative_macs(profile: Profile) -> dict[str, list[Any]]:
    """MACs of every traced operator (convolutions, pooling, additions...) summed up to each depth;
    the last point is totals['macs']. An operator before the first weighted layer counts at depth 0."""
    return _running_sum([(n.get("depth") or 0, n.get("macs") or 0, n["scope"]) for n in profile.graph])


def cumulative_params(profile: Profile) -> dict[str, list[Any]]:
    """Parameters summed up to each depth: every module's own parameters (so the last point is
    totals['params']), at its row's depth, or the depth of the row before it when the row has none
    (a fused attention's out_proj)."""
    items, depth = [], 0
    for r in profile.layers:
        depth = r["depth"] if r.get("depth") is not None else depth
        if r.get("own_params"):
            items.append((depth, r["own_params"], r["name"]))
    return _running_sum(items)


def macs_params_along_depth(profiles: list[Profile]) -> dict[str, Any]:
    """Cumulative MACs (left) and parameters (right) against depth, one line per model: where the
    work and the weights sit along the network (VGG's weights arrive in the classifier at the end,
    its MACs in the early convolutions). Readable with four 100+-layer models, where per-layer lines
    zig-zag on top of each other."""
    data = []
    colours = page_colours(profiles)
    # the biggest model drawn first, so a smaller one whose curve it shares (DenseNet-121 inside
    # DenseNet-201) stays visible on top; the legend keeps the page's order
    order = sorted(range(len(profiles)), key=lambda i: -(profiles[i].totals or {}).get("depth", 0))
    for rank, p, c in ((i, profiles[i], colours[i]) for i in order):
        label = chart_label(p)
        for key, curve, axes in (("MACs", cumulative_macs(p), {}), ("params", cumulative_params(p),
                                                                   {"xaxis": "x2", "yaxis": "y2"})):
            total = curve["y"][-1] if curve["y"] else 0
            data.append({"type": "scatter", "mode": "lines", "x": curve["x"], "y": curve["y"], "name": label,
                         "legendgroup": p.model, "legendrank": 1000 + rank, "showlegend": key == "MACs",
                         "customdata": curve["names"], "hovertext": [shown(n) for n in curve["names"]],
                         "text": [f"{100 * y / total:.1f}%" if total else "" for y in curve["y"]],
                         "line": {"color": c, "width": 2.2, "shape": "hv"}, **axes,
                         "hovertemplate": f"depth %{{x}}: %{{y:,.4s}} {key} so far (%{{text}})<br>"
                                          f"largest here: %{{hovertext}}<extra>{label}</extra>"})
    depth = {"title": {"text": "depth (weighted layers)"}, "rangemode": "tozero"}
    layout = base_layout(
        "Cumulative MACs and parameters along depth",
        xaxis={**depth, "domain": [0, 0.45]}, xaxis2={**depth, "domain": [0.55, 1], "anchor": "y2"},
        yaxis={"tickformat": "~s", "rangemode": "tozero"},
        yaxis2={"tickformat": "~s", "rangemode": "tozero", "anchor": "x2"},
        annotations=_panel_titles(("MACs so far (multiply-adds)", 0.225), ("parameters so far", 0.775)),
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"}, height=440)
    layout["margin"] = {**layout["margin"], "t": TOP + 16, "b": 100, "r": 30}
    return {"data": data, "layout": layout}


def _rf_size(rf: Any) -> int | None:
    return max(rf) if isinstance(rf, list) and rf else None


def receptive_field_curve(profile: Profile) -> dict[str, Any]:
    """The receptive field along the longest path: per depth the largest field reached so far
    (a running maximum, so a residual branch never steps it back), the feature map's height at
    each depth, and where the field became global (depth and operator), if it did."""
    best: dict[int, tuple[int, str]] = {}
    height: dict[int, tuple[int, str]] = {}  # per depth: the smallest map
    entry: dict[int, tuple[int, str]] = {}   # per depth: the first map (the stem conv's, before its pool)
    first_global: tuple[int, str] | None = None
    for n in sorted(profile.graph, key=lambda n: n["i"]):
        d = n.get("depth")
        if d is None:
            continue
        size = _rf_size(n.get("receptive_field"))
        if size is not None and (d not in best or size > best[d][0]):
            best[d] = (size, n["scope"])
        if n.get("receptive_field") == "global" and (first_global is None or d < first_global[0]):
            first_global = (d, n["scope"] or n.get("op") or "?")
        shape = n.get("shape")
        if isinstance(shape, list) and len(shape) == 4 and size is not None:
            entry.setdefault(d, (shape[2], n["scope"]))
            if d not in height or shape[2] < height[d][0]:
                height[d] = (shape[2], n["scope"])
    xs, ys, names, top = [], [], [], 0
    for d in sorted(best):
        if best[d][0] > top:
            top = best[d][0]
            xs.append(d)
            ys.append(top)
            names.append(best[d][1])
    hx, hy, hnames = [], [], []
    for d in sorted(height):  # a depth whose first map is larger (a stem conv, then its pool): both
        for h, name in ([entry[d], height[d]] if entry[d][0] != height[d][0] else [height[d]]):
            hx.append(d)
            hy.append(h)
            hnames.append(name)
    return {"x": xs, "y": ys, "names": names, "global": first_global, "hx": hx, "hy": hy, "hnames": hnames}


def receptive_field_along_depth(profiles: list[Profile]) -> dict[str, Any]:
    """Receptive field (left) and feature-map height (right) along depth, one line per model. The
    field is the running maximum along depth; a model whose field is global almost at once (a vision
    transformer after its patch embedding) gets a sentence instead of a lonely dot."""
    data, notes, sizes, heights, depths = [], [], [], [], []
    for p, c in zip(profiles, page_colours(profiles)):
        label, cur = chart_label(p), receptive_field_curve(p)
        depths += cur["hx"]
        glob = cur["global"]
        if len(cur["x"]) >= 3:
            data.append({"type": "scatter", "mode": "lines", "x": cur["x"], "y": cur["y"], "name": label,
                         "legendgroup": p.model, "customdata": cur["names"], "line": {"color": c, "width": 2.2},
                         "hovertext": [shown(n) for n in cur["names"]],
                         "hovertemplate": "%{hovertext}<br>depth %{x}: field %{y} px<extra>" + label + "</extra>"})
            sizes += cur["y"]
            if glob:
                notes.append((f"{label}: global from layer {glob[0]}", c))
        else:  # a transformer: a sentence, not a lonely dot
            at = f"{cur['y'][-1]} px at {shown(cur['names'][-1])}, " if cur["y"] else ""
            when = f"global from layer {glob[0]} ({shown(glob[1])})" if glob else "unknown beyond the first layers"
            notes.append((f"{label}: {at}{when}", c))
        if cur["hx"]:
            data.append({"type": "scatter", "mode": "lines" if len(cur["hx"]) > 1 else "markers",
                         "x": cur["hx"], "y": cur["hy"], "name": label, "marker": {"color": c, "size": 8},
                         "legendgroup": p.model, "showlegend": len(cur["x"]) < 3, "customdata": cur["hnames"],
                         "hovertext": [shown(n) for n in cur["hnames"]],
                         "line": {"color": c, "width": 2.2, "shape": "hv"}, "xaxis": "x2", "yaxis": "y2",
                         "hovertemplate": "%{hovertext}<br>depth %{x}: %{y} px high<extra>" + label + "</extra>"})
            heights += cur["hy"]
    # the input's size, marked: a field of 2,071 px on a 224 px input is wider than the image
    inputs = sorted({max(p.input_shape[2:]) for p in profiles if len(p.input_shape) >= 3})
    if sizes:
        sizes += inputs
    # headroom above the curves for the notes: about 0.055 of the plot's height a line
    lo, hi = min(sizes, default=1) / 1.3, max(sizes, default=1000) * 1.3
    room = min(0.03 + 0.055 * len(notes), 0.5) if notes else 0.0
    rf_axis = _log_axis(lo, hi * (hi / lo) ** (room / (1 - room)))
    h_axis = _log_axis(min(heights, default=1) / 1.3, max(heights, default=224) * 1.3)
    depth = {"title": {"text": "depth (weighted layers)"}, "rangemode": "tozero"}
    annotations = _panel_titles(("receptive field, px (largest so far)", 0.225),
                                ("feature-map height, px", 0.775))
    if notes:  # top left of the field panel, where a rising curve leaves room; alone, its middle
        alone = not sizes
        lines = [text.replace(", global", ",<br>global") if alone else text for text, _ in notes]
        annotations.append({"text": "<br>".join(f"<span style='color:{c}'>{text}</span>"
                                                for text, (_, c) in zip(lines, notes)),
                            "x": 0.225 if alone else 0.005, "y": 0.5 if alone else 0.99, "xref": "paper",
                            "yref": "paper", "xanchor": "center" if alone else "left",
                            "yanchor": "middle" if alone else "top", "showarrow": False, "align": "left",
                            "font": {"size": 12 if alone else 10}, "bgcolor": "rgba(255,255,255,0.85)"})
    input_lines = [{"type": "line", "xref": "x domain", "x0": 0, "x1": 1, "yref": "y", "y0": n, "y1": n,
                    "line": {"color": "#9ca3af", "width": 1, "dash": "dot"}} for n in inputs] if sizes else []
    annotations += [{"text": f"input {n} px", "xref": "x domain", "x": 1, "xanchor": "right", "yref": "y",
                     "y": math.log10(n), "yanchor": "bottom", "showarrow": False,
                     "font": {"size": 10, "color": "#6b7280"}} for n in inputs] if sizes else []
    layout = base_layout("Receptive field and feature-map size along depth", shapes=input_lines,
                     xaxis={**depth, "domain": [0, 0.45]},
                     xaxis2={**depth, "domain": [0.55, 1], "anchor": "y2", "range": [0, max(depths, default=1) + 1]},
                     yaxis=rf_axis, yaxis2={**h_axis, "anchor": "x2"}, annotations=annotations,
                     legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"}, height=440)
    layout["margin"] = {**layout["margin"], "t": TOP + 16, "b": 100, "r": 30}
    return {"data": data, "layout": layout}


def type_shares(profile: Profile) -> dict[str, tuple[float, float]]:
    """Layer type -> (% of the leaf layers' MACs, % of their parameters)."""
    by: dict[str, list[float]] = {}
    for r in profile.layers:
        if r["leaf"]:
            cur = by.setdefault(r["type"], [0.0, 0.0])
            cur[0] += r["macs"]
            cur[1] += r["params"]
    tot_m = sum(v[0] for v in by.values()) or 1
    tot_p = sum(v[1] for v in by.values()) or 1
    return {t: (100 * m / tot_m, 100 * p / tot_p) for t, (m, p) in by.items()}


def share_by_type(profiles: list[Profile]) -> dict[str, Any]:
    """Share of MACs (left) and of parameters (right) by leaf layer type, one bar per model in the
    page's colours: two small panels instead of MACs and params bars interleaved."""
    shares = [type_shares(p) for p in profiles]
    types = sorted({t for s in shares for t in s}, key=lambda t: -max(s.get(t, (0, 0))[0] for s in shares))
    data = []
    for p, c, sh in zip(profiles, page_colours(profiles), shares):
        label = chart_label(p)
        for k, what, axes in ((0, "MACs", {}), (1, "params", {"xaxis": "x2", "yaxis": "y2"})):
            data.append({"type": "bar", "orientation": "h", "y": [shown(t) for t in types],
                         "x": [sh.get(t, (0, 0))[k] for t in types],
                         "name": label, "legendgroup": p.model, "showlegend": k == 0, "marker": {"color": c}, **axes,
                         "hovertemplate": "%{y}: %{x:.1f}% of " + what + "<extra>" + label + "</extra>"})
    height = 440  # the dashboard's graph box
    pct = {"title": {"text": "% of model total"}, "range": [0, 100], "dtick": 25}
    layout = base_layout("Share of MACs and parameters by layer type", barmode="group", height=height,
                     xaxis={**pct, "domain": [0, 0.47]}, xaxis2={**pct, "domain": [0.53, 1], "anchor": "y2"},
                     yaxis={"autorange": "reversed"},
                     yaxis2={"autorange": "reversed", "anchor": "x2", "matches": "y", "showticklabels": False},
                     annotations=_panel_titles(("% of MACs", 0.235), ("% of parameters", 0.765)),
                     legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"})
    layout["margin"] = {**layout["margin"], "t": TOP + 16, "b": 100, "r": 30}
    return {"data": data, "layout": layout}


# ---- channel width along depth --------------------------------------------------------------
CHANNEL_CATS = {"conv", "linear"}
POW2_TICKS = [2 ** k for k in range(0, 17)]


def _width(shape: Any, last: bool = False) -> int | None:
    """Channels of a traced tensor: dimension 1 of (N, C, ...) or (N, features); with `last`, the
    last dimension (what a linear layer reads and writes: N x L x C tokens)."""
    if not (isinstance(shape, list) and len(shape) >= 2):
        return None
    value = shape[-1] if last else shape[1]
    return value if isinstance(value, int) else None


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
        features = n["cat"] == "linear"  # a linear layer's features are the last dimension (N x L x C)
        width_in = first if src == -1 else _width(by_i.get(src, {}).get("shape"), features)
        kernel = (n.get("attrs") or {}).get("kernel")
        rows.append({"name": n["scope"], "op": n["cat"], "depth": n["depth"], "in": width_in,
                     "out": _width(n["shape"], features), "block": n.get("block"),
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
            width = _width(n["shape"], n["cat"] == "linear")
            points.append((n["depth"], n["i"], width, f"{shown(n['scope'])} output", n["scope"]))
    for name, b in tops.items():
        idx = members.get(name)
        if not idx or b.get("depth_in") is None or b.get("depth_out") is None:
            continue
        if b.get("in_channels"):
            points.append((b["depth_in"], min(idx) - 0.5, b["in_channels"], f"{name} ({b['kind']}) input", name))
        out_shape = b.get("out_shape") or []
        last = len(out_shape) == 3 and b.get("out_channels") == out_shape[-1] != out_shape[1]  # N x L x C tokens
        for i in idx:
            n = by_i[i]
            if n.get("merge") and _width(n.get("shape"), last) and n.get("depth") is not None:
                parts = [_width(by_i[j]["shape"], last) if j in by_i else _width(profile.input_shape) for j in n["in"]]
                how = n["merge"]
                text = (f"{shown(n['scope'])}: {how} {_parts(parts)}" if how == "concat" and all(parts)
                        else f"{shown(n['scope'])}: {how} of {len(parts)} inputs")
                points.append((n["depth"], i, _width(n["shape"], last), text, n["scope"]))
        if b.get("out_channels"):
            points.append((b["depth_out"], max(idx) + 0.5, b["out_channels"], f"{shown(name)} ({b['kind']}) output",
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
    """The page's colours (kept for callers of the old name)."""
    return page_colours(profiles)


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
        short = shown(g["key"].rpartition(".")[2])
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

    many = len(profiles) > 1
    data: list[dict[str, Any]] = []
    widths: list[int] = []
    x_max = 1
    for p, c in zip(profiles, _distinct_colours(profiles)):
        rows, trunk = channel_layers(p), channel_trunk(p)
        xs = _side_by_side(rows)
        label = chart_label(p)
        ends = ("out",) if many else ("in", "out")  # a comparison draws no input strokes
        widths += [r[k] for r in rows for k in ends if r[k]] + [t["channels"] for t in trunk]
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
                     "customdata": [r["name"] for r in rows], "hovertext": [shown(r["name"]) for r in rows],
                     "text": [f"{r['in'] if r['in'] is not None else '?'} → {r['out']} channels"
                              f"{' · ' + r['kernel'] + ' conv' if r['kernel'] else ' · linear'}"
                              f"<br>block: {shown(r['block'] or '-')}" for r in rows],
                     "name": f"{label}: conv / linear output" if many
                     else "each conv / linear: dot = channels out, stroke from channels in",
                     "showlegend": not many, **(group if many else {"legendgroup": "layers"}),
                     "marker": {"color": c, "size": 4 if many else 6, "opacity": 0.6 if many else 0.9,
                                "line": {"width": 0}},
                     "hovertemplate": "%{hovertext}<br>%{text}<br>depth %{x:.0f}<extra></extra>"})
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
    layout = base_layout(
        "Channel width along depth" + ("" if many else f": {chart_label(profiles[0])}"),
        xaxis={"title": {"text": "depth (weighted layers from the input, longest path)"}, "range": [0, x_max + 1],
               "zeroline": False},
        yaxis={"title": {"text": "channels (log scale)"}, "type": "log", "tickvals": ticks,
               "ticktext": [str(t) for t in ticks], "range": [math.log10(lo / 1.6), math.log10(hi * 1.6)]},
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"}, height=480)
    if not many and profiles:
        shapes, notes = _band_shapes(profiles[0], x_max)
        layout.update(shapes=shapes, annotations=notes)
        layout["margin"] = {**layout["margin"], "t": TOP + 14}
    layout["margin"] = {**layout["margin"], "b": 130}  # tick labels, axis title, then the legend
    return {"data": data, "layout": layout}


# ---- history charts (dashboard) ------------------------------------------------------------
def history_points(profiles: list[Profile]) -> list[dict[str, Any]]:
    """One point per history model. Accuracy comes from torchvision's V1 weights (the original
    recipes, closest to the papers): the best weights mix 2021 recipes into the 2012-2016 story."""
    pts = []
    for p in profiles:
        hist = (p.catalog or {}).get("history")
        if not hist:
            continue
        pub = published(p.model, "v1") or (p.catalog or {}).get("published") or {}
        pts.append({"name": p.model, "label": hist["label"], "family": hist["family"], "year": hist["year"],
                    "depth": p.totals["depth"], "params": p.totals["params"], "macs": p.totals["macs"],
                    "conv_linear_macs": p.totals["conv_linear_macs"], "flops": p.totals["flops"],
                    "acc1": pub.get("acc@1"), "acc5": pub.get("acc@5"), "key_idea": hist["key_idea"],
                    "colour": hist["colour"], "weights": weights_tag(pub)})
    return pts


# History charts are laid out for the narrowest plot they get (the dashboard at 800 px): margins and
# axis ranges are fixed, so labels placed for that plot (render/labels.py) stay apart on wider ones.
HISTORY_FRAME = {"width": 660, "margin": {"l": 62, "r": 24, "t": TOP + 18, "b": 96}}
BUBBLE_FRAME = {"width": 540, "margin": {"l": 62, "r": 24, "t": TOP, "b": 96}}
YEARS = Scale(2011.4, 2017.3)


def _fixed(axis: dict[str, Any]) -> dict[str, Any]:
    """An axis that keeps its margins: the plot's pixel box is what the label placer assumed."""
    return {**axis, "automargin": False}


def _point_radius(size: float) -> float:
    return size / 2


def _member_labels(labels: list[str]) -> list[str]:
    """A family's labels, the first in full and the others by their number: 'ResNet-18', '34', '50'
    (the colour and the first label name the family; the year columns are narrow)."""
    return [t if k == 0 or "-" not in t else t.rsplit("-", 1)[1] for k, t in enumerate(labels)]


def depth_params_by_year(profiles: list[Profile], log: bool = True) -> dict[str, Any]:
    """Two panels sharing the year axis: depth (left) and parameters (right), one colour per family;
    every point labelled (render/labels.py: no two labels overlap, leader lines where one had to move):
    a family's first model in full, the others by their number."""
    pts = history_points(profiles)
    height = 480
    data, labels_depth, labels_params = [], [], []
    for fam in FAMILIES:
        fp = [q for q in pts if q["family"] == fam]
        if not fp:
            continue
        c = FAMILIES[fam].colour
        common = {"type": "scatter", "mode": "markers", "x": [q["year"] for q in fp],
                  "text": [q["label"] for q in fp], "legendgroup": fam, "customdata": [q["key_idea"] for q in fp]}
        data.append({**common, "y": [q["depth"] for q in fp], "name": fam, "marker": {"color": c, "size": 10},
                     "hovertemplate": "%{text}: depth %{y}<br>%{customdata}<extra></extra>"})
        data.append({**common, "y": [q["params"] / 1e6 for q in fp], "name": fam, "showlegend": False,
                     "xaxis": "x2", "yaxis": "y2", "marker": {"color": c, "size": 10, "symbol": "diamond"},
                     "hovertemplate": "%{text}: %{y:.1f} M parameters<extra></extra>"})
        short = _member_labels([q["label"] for q in fp])
        labels_depth += [Label(q["year"], q["depth"], t, 10, 5, c) for q, t in zip(fp, short)]
        labels_params += [Label(q["year"], q["params"] / 1e6, t, 10, 5, c) for q, t in zip(fp, short)]
    depths = [q["depth"] for q in pts] or [8, 201]
    params = [q["params"] / 1e6 for q in pts] or [5, 140]
    if log:
        ys_d, ys_p = Scale(min(depths) / 1.35, max(depths) * 1.35, True), Scale(min(params) / 1.5, max(params) * 1.5, True)
    else:
        ys_d, ys_p = Scale(0, max(depths) * 1.12), Scale(0, max(params) * 1.12)
    frame = HISTORY_FRAME
    left = Frame(frame["width"], height, frame["margin"], (0, 0.46))
    right = Frame(frame["width"], height, frame["margin"], (0.54, 1))
    annotations = _panel_titles(("depth (weighted layers)", 0.23), ("parameters (millions)", 0.77))
    taken: list[tuple[float, float, float, float]] = []
    annotations += label_annotations(labels_depth, left, YEARS, ys_d, "x", "y", taken)
    annotations += label_annotations(labels_params, right, YEARS, ys_p, "x2", "y2", taken)
    years = {"dtick": 1, "range": YEARS.plotly_range(), "title": {"text": "year"}}

    def yaxis(scale: Scale, steps: tuple[int, ...]) -> dict[str, Any]:
        return _fixed(_log_axis(scale.lo, scale.hi, steps) if log else {"range": scale.plotly_range()})

    layout = base_layout("Depth rose while parameters fell (2012-2016)", annotations=annotations, height=height,
                     xaxis=_fixed({**years, "domain": [0, 0.46]}),
                     xaxis2=_fixed({**years, "domain": [0.54, 1], "anchor": "y2"}),
                     yaxis=yaxis(ys_d, (1, 2, 5)), yaxis2={**yaxis(ys_p, (1, 2, 5)), "anchor": "x2"},
                     legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"})
    layout["margin"] = dict(frame["margin"])
    return {"data": data, "layout": layout}


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
            "layout": base_layout("ILSVRC classification winners: top-5 error (%)", uniformtext={"minsize": 10},
                              xaxis={"tickfont": {"size": 10}},
                              yaxis={"title": {"text": "top-5 error, %"}, "range": [0, 32]})}


def accuracy_vs_compute(profiles: list[Profile], metric: str = "macs", log: bool = True) -> dict[str, Any]:
    """Canziani et al. (2016) style: top-1 accuracy against G-ops, bubble area ~ parameters; each
    bubble labelled where its label collides with nothing (render/labels.py)."""

    pts = [q for q in history_points(profiles) if q["acc1"] is not None]
    sizeref = 2.0 * 144e6 / (44 ** 2)  # 144 M parameters: a 44 px bubble
    height = 440
    data, labels = [], []
    for fam in FAMILIES:
        fp = [q for q in pts if q["family"] == fam]
        if not fp:
            continue
        data.append({"type": "scatter", "mode": "markers", "name": fam,
                     "x": [q[metric] / 1e9 for q in fp], "y": [q["acc1"] for q in fp],
                     "text": [q["label"] for q in fp],
                     "marker": {"size": [q["params"] for q in fp], "sizemode": "area",
                                "sizeref": sizeref, "sizemin": 4,
                                "color": FAMILIES[fam].colour, "opacity": 0.6, "line": {"width": 1}},
                     "customdata": [[q["params"] / 1e6, q["weights"] or "-"] for q in fp],
                     "hovertemplate": "%{text}<br>%{x:.2f} G" + metric.upper() +
                                      "<br>top-1 %{y:.1f}% (%{customdata[1]})<br>%{customdata[0]:.1f} M params"
                                      "<extra></extra>"})
        # the drawn diameter of an area-sized marker is sqrt(size / sizeref) px
        labels += [Label(q[metric] / 1e9, q["acc1"], q["label"], 10,
                         max(2.0, _point_radius(math.sqrt(q["params"] / sizeref))), FAMILIES[fam].colour)
                   for q in fp]
    xs_ = [q[metric] / 1e9 for q in pts] or [0.5, 40]
    ys_ = [q["acc1"] for q in pts] or [55, 80]
    xs = Scale(min(xs_) / 1.6, max(xs_) * 1.6, True) if log else Scale(0, max(xs_) * 1.15)
    ys = Scale(math.floor(min(ys_)) - 2.5, math.ceil(max(ys_)) + 2.5)
    frame = Frame(BUBBLE_FRAME["width"], height, BUBBLE_FRAME["margin"])
    unit = "GFLOPs (2 x MACs)" if metric == "flops" else "GMACs (multiply-adds)"
    xaxis = {"title": {"text": unit}, **(_log_axis(xs.lo, xs.hi) if log else {"range": xs.plotly_range()})}
    layout = base_layout("Accuracy vs compute (bubble area = parameters)", height=height,
                     annotations=label_annotations(labels, frame, xs, ys),
                     xaxis=_fixed(xaxis),
                     yaxis=_fixed({"title": {"text": "ImageNet top-1 (torchvision V1 weights), %"},
                                   "range": ys.plotly_range()}),
                     legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"})
    layout["margin"] = dict(BUBBLE_FRAME["margin"])
    return {"data": data, "layout": layout}


# ---- measured speed (issue 13: `archviz profile MODEL --measure`) ---------------------------
# A measured Profile carries `measurement` (device, dtype, batch, threads, peaks, totals) and each
# layer row `latency_ms`, `bytes`, `intensity` (FLOP/byte), `achieved_flops` (FLOP/s) and `bound`.
NOT_MEASURED = "not measured: run archviz profile {model} --measure"
PEAK_SOURCES = {"microbenchmark": "peaks measured by a microbenchmark (best of 5 runs)",
                "flag": "peaks given on the command line",
                "microbenchmark, raised to the fastest layer":  # stored by archviz before measure method 2
                    "peaks measured by a microbenchmark, compute peak raised to the fastest layer"}


def peak_source(peaks: dict[str, Any]) -> str:
    """Where the peaks came from, as a phrase for titles and captions."""
    source = peaks.get("source")
    return PEAK_SOURCES.get(source, f"peaks: {source}" if source else "peaks of unknown source")


def quality_phrase(m: dict[str, Any]) -> str:
    """'good, median ±4.4%' or '<b>NOISY</b> (not stored)': the measurement's grade for a title."""
    q = m.get("quality") if isinstance(m.get("quality"), dict) else None
    if q is None:
        return "not graded"
    if q.get("grade") == "noisy":
        return "<b style='color:#b45309'>NOISY: graded noisy, not stored</b>"
    ci = ((m.get("total") or {}).get("eager") or {}).get("ci_pct")
    return f"{shown(str(q.get('grade')))}{'' if ci is None else f', median ±{ci:.1f}%'}"


def measurement_of(profile: Profile) -> dict[str, Any] | None:
    """The profile's measurement, or None (also for profiles stored before measurements existed)."""
    m = getattr(profile, "measurement", None)
    return m if isinstance(m, dict) and m.get("total") and m.get("peaks") else None


def measured_setting(m: dict[str, Any]) -> str:
    """'cpu, float32, batch 1, 2 threads': what the numbers were measured on."""
    threads = m.get("threads")
    return (f"{m.get('device', '?')}, {m.get('dtype', '?')}, batch {m.get('batch', '?')}, "
            f"{threads} thread{'' if threads == 1 else 's'}")


def placeholder_figure(text: str, height: int = 200) -> dict[str, Any]:
    """A figure that says why it has nothing to draw (no bare axes); a long sentence broken into
    lines of 70 characters, so it fits a narrow screen."""
    import textwrap

    text = "<br>".join(textwrap.wrap(text, 70)) if len(text) > 80 and "<br>" not in text else text
    return {"data": [], "layout": {
        "template": "plotly_white", "height": height, "xaxis": {"visible": False}, "yaxis": {"visible": False},
        "margin": {"l": 20, "r": 20, "t": 20, "b": 20},
        "annotations": [{"text": text, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                         "font": {"size": 14, "color": "#6b7280"}}]}}


def roof_at(intensity: float, peaks: dict[str, Any], bandwidth: float | None = None) -> float:
    """The roofline's attainable FLOP/s at an intensity (measure.roofline.roof), with main
    memory's bandwidth unless a level's is given."""
    return roof(intensity, peaks["flops"], bandwidth or peaks["bytes_per_s"])


def ridge_of(peaks: dict[str, Any], bandwidth: float | None = None) -> float:
    """The intensity where a memory roof meets the compute roof: peak FLOP/s / bandwidth."""
    return peaks["flops"] / (bandwidth or peaks["bytes_per_s"])


def row_bandwidth(row: dict[str, Any], peaks: dict[str, Any]) -> float:
    """The bandwidth of the level whose roof applies to a measured row (its `roof` column)."""
    roofs = memory_roofs(peaks)
    return next((r["bytes_per_s"] for r in roofs if r["level"] == row.get("roof")), roofs[-1]["bytes_per_s"])


def merged_roofs(roofs: list[dict[str, Any]]) -> list[tuple[list[str], float]]:
    """Levels with the same bandwidth roof drawn as one line: [(['L1', 'L2'], 3.1e11), ...]."""
    out: list[tuple[list[str], float]] = []
    for r in roofs:
        if out and math.isclose(out[-1][1], r["bytes_per_s"], rel_tol=1e-9):
            out[-1][0].append(r["level"])
        else:
            out.append(([r["level"]], r["bytes_per_s"]))
    return out


CLOSE_ROOFS = 1.6  # roofs nearer than this factor are labelled together (their lines run close)


def roof_labels(merged: list[tuple[list[str], float]]) -> list[str]:
    """One label per group of close roofs, on the highest of the group ('L1/L2 309 GB/s · L3 243
    GB/s', the unit once when the group shares it), so labels never sit on a neighbouring line; ''
    for the others."""
    out = [""] * len(merged)
    head = 0
    for i in range(1, len(merged) + 1):
        if i == len(merged) or merged[head][1] / merged[i][1] > CLOSE_ROOFS:
            out[head] = _group_label(merged[head:i])
            head = i
    return out


def _group_label(group: list[tuple[list[str], float]]) -> str:
    """'L1/L2 309 · L3 243 GB/s': each level and its bandwidth, a shared unit written once."""
    unit = si(group[-1][1], "B/s").split()[-1]
    parts = []
    for k, (levels, bw) in enumerate(group):
        text = si(bw, "B/s")
        if k < len(group) - 1 and text.endswith(" " + unit):
            text = text[:-len(unit) - 1]
        parts.append(f"{shown('/'.join(levels))} {text}")
    return " · ".join(parts)


ROOF_GREYS = ("#9ca3af", "#6b7280", "#4b5563", "#374151", "#1f2937", "#111827")


def roof_traces(peaks: dict[str, Any], lo: float, hi: float) -> list[dict[str, Any]]:
    """Every roof as a line: one slanted memory roof per level, up to its ridge (lightest for the
    smallest level), the compute roof of the measured dtype from the lowest ridge on, and on a GPU
    the other compute roofs (tensor-core or FP32) dotted."""
    top = peaks["flops"]
    roofs = memory_roofs(peaks)
    out = []
    greys = ROOF_GREYS[-len(roofs):] if len(roofs) <= len(ROOF_GREYS) else ROOF_GREYS
    merged = merged_roofs(roofs)
    labels = roof_labels(merged)
    for i, (levels, bw) in enumerate(merged):
        ridge = top / bw
        last = i == len(merged) - 1
        at = lo * (ridge / lo) ** 0.75  # a label, where it has one, ends above this point
        out.append({"type": "scatter", "mode": "lines+text", "x": [lo, at, ridge], "y": [bw * lo, bw * at, top],
                    "hoverinfo": "skip", "name": f"{shown(', '.join(levels))} roof: {si(bw, 'B/s')}",
                    "text": ["", labels[i], ""], "textposition": "top left",
                    "textfont": {"size": 10, "color": "#374151"},
                    "line": {"color": greys[min(i, len(greys) - 1)], "width": 2 if last else 1.5,
                             "dash": "dash" if last else "dot"}})
    first_ridge = min(top / r["bytes_per_s"] for r in roofs)
    out.append({"type": "scatter", "mode": "lines", "x": [first_ridge, hi], "y": [top, top], "hoverinfo": "skip",
                "name": f"compute roof: {si(top, 'FLOP/s')}", "line": {"color": "#374151", "width": 2}})
    for c in peaks.get("compute") or []:
        if c.get("applies", True):
            continue
        out.append({"type": "scatter", "mode": "lines", "x": [c["flops"] / roofs[-1]["bytes_per_s"], hi],
                    "y": [c["flops"], c["flops"]], "hoverinfo": "skip",
                    "name": f"{shown(c['name'])}: {si(c['flops'], 'FLOP/s')}",
                    "line": {"color": "#9ca3af", "width": 1.5, "dash": "dashdot"}})
    return out


def measured_leaves(profile: Profile) -> list[dict[str, Any]]:
    """Leaf rows with a measured latency, in table order."""
    return [r for r in profile.layers if r.get("leaf") and r.get("latency_ms") is not None]


def layer_group(profile: Profile, row: dict[str, Any]) -> str:
    """The colour group of a layer: its outermost block's kind, or its own type outside blocks."""
    kinds = {b["name"]: b.get("kind") for b in profile.blocks}
    return (kinds.get(row.get("block")) or row["type"]) if row.get("block") else row["type"]


def roofline(profiles: list[Profile]) -> dict[str, Any]:
    """The hierarchical roofline of one measured model, log-log: x = arithmetic intensity (FLOP per
    byte moved), y = achieved FLOP/s; a memory roof per level (bandwidth × intensity, up to its
    ridge; L1, L2, L3 and DRAM, or a GPU's L2 and HBM) and the compute roof (peak FLOP/s); each
    layer belongs under the roof of the level its bytes fit (its `roof` column); one point per measured leaf layer, coloured by its block's kind (its type outside
    blocks), area ~ its share of the layers' latency; customdata = the layer name (click-to-highlight).
    Layers with no counted FLOPs or bytes have no place on log axes: a note counts them.
    Only the first profile is drawn; an unmeasured one gives a figure that says so."""

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
            "type": "scatter", "mode": "markers", "name": shown(g), "x": [r["intensity"] for r in rs],
            "y": [r["achieved_flops"] for r in rs], "customdata": [r["name"] for r in rs],
            "hovertext": [shown(r["name"]) for r in rs],
            "text": [f"{shown(r['type'])} · {r['latency_ms']:.3g} ms ({100 * r['latency_ms'] / total_ms:.1f}% of layer time)"
                     f"<br>intensity {r['intensity']:.3g} FLOP/B · {si(r['achieved_flops'], 'FLOP/s')}"
                     f"<br>{100 * r['achieved_flops'] / roof_at(r['intensity'], peaks, row_bandwidth(r, peaks)):.1f}% "
                     f"of the {shown(str(r.get('roof') or 'DRAM'))} roof"
                     f"{' · ' + r['bound'] + '-bound' if r.get('bound') else ''}" for r in rs],
            "marker": {"color": PALETTE[i % len(PALETTE)], "opacity": 0.75, "line": {"width": 0.5, "color": "#fff"},
                       "size": [round(5 + 45 * math.sqrt(r["latency_ms"] / total_ms), 2) for r in rs]},
            "hovertemplate": "<b>%{hovertext}</b><br>%{text}<extra>%{fullData.name}</extra>"})
    roofs = memory_roofs(peaks)
    ridges = [ridge_of(peaks, r["bytes_per_s"]) for r in roofs]
    xs = [r["intensity"] for r in drawn] or ridges
    lo, hi = min(min(xs), *ridges) / 3, max(max(xs), *ridges) * 3
    bw, top = roofs[-1]["bytes_per_s"], peaks["flops"]
    ridge = ridges[-1]
    data += roof_traces(peaks, lo, hi)
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
    for note in peaks.get("raised") or []:
        notes.append({"x": 1, "y": 1.0, "xref": "paper", "yref": "paper", "xanchor": "right", "yanchor": "bottom",
                      "showarrow": False, "font": {"size": 10, "color": "#b45309"},
                      "text": f"{shown(str(note['roof']))} roof raised to layer {shown(str(note['layer']))} "
                              "after the peaks were measured twice"})
    layout = base_layout(
        f"Roofline: {chart_label(p)} · {shown(measured_setting(m))}<br><span style='font-size:11px;color:#6b7280'>"
        f"{quality_phrase(m)} · {peak_source(peaks)}<br>each layer under the roof of the smallest memory level "
        "its bytes fit · colour: block kind · dot area: share of latency</span>",
        xaxis={"title": {"text": "arithmetic intensity, FLOP per byte moved"}, "type": "log",
               "range": [math.log10(lo), math.log10(hi)], "dtick": 1, "tickformat": "~g"},
        yaxis={"title": {"text": "achieved FLOP/s"}, "type": "log", "dtick": 1, "tickformat": "~s",
               "range": [math.log10(min(ys) / 2), math.log10(top * 2.5)]},
        annotations=notes, height=560,
        legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "itemsizing": "constant"})
    layout["margin"] = {**layout["margin"], "t": 95, "b": 130}
    return {"data": data, "layout": layout}


def throughput(profile: Profile) -> dict[str, Any]:
    """Latency and samples/s against batch size (`measurement['throughput']`), two panels sharing a
    log2 batch axis: the median step time with its 95% interval as error bars, and the samples per
    second it gives (batch / median). A point graded noisy is drawn hollow, and a note says so."""
    m = measurement_of(profile) or {}
    points = [p for p in m.get("throughput") or [] if p.get("latency_ms")]
    if not points:
        return placeholder_figure("no throughput measured: run archviz report MODEL --measure --batch 1,8,32,64")
    batches = [p["batch"] for p in points]
    lat = [p["latency_ms"] for p in points]
    ci = [p["eager"].get("ci") or [x, x] for p, x in zip(points, lat)]
    noisy = [p["grade"] == "noisy" for p in points]
    colour = PALETTE[0]
    symbols = ["circle-open" if n else "circle" for n in noisy]
    grades = [p["grade"] for p in points]
    data = [
        {"type": "scatter", "mode": "lines+markers", "x": batches, "y": lat, "name": "step time",
         "marker": {"symbol": symbols, "size": 9, "color": colour}, "line": {"color": colour},
         "error_y": {"type": "data", "symmetric": False, "array": [hi - x for (_, hi), x in zip(ci, lat)],
                     "arrayminus": [x - lo for (lo, _), x in zip(ci, lat)], "color": "#6b7280"},
         "customdata": grades,
         "hovertemplate": "batch %{x}: %{y:.3g} ms per step (median; bars: 95% interval) · %{customdata}<extra></extra>"},
        {"type": "scatter", "mode": "lines+markers", "x": batches, "y": [p["samples_per_s"] for p in points],
         "name": "samples/s", "xaxis": "x2", "yaxis": "y2", "customdata": grades,
         "marker": {"symbol": symbols, "size": 9, "color": PALETTE[1]}, "line": {"color": PALETTE[1]},
         "hovertemplate": "batch %{x}: %{y:.4g} samples/s · %{customdata}<extra></extra>"},
    ]
    axis = {"type": "log", "tickvals": batches, "ticktext": [str(b) for b in batches],
            "title": {"text": "batch size"}}
    threads = m.get("threads")
    setting = f"{m.get('device', '?')}, {m.get('dtype', '?')}, {threads} thread{'' if threads == 1 else 's'}"
    note = (f"<br><span style='font-size:11px;color:#b45309'>hollow: graded noisy (a wide interval or spread, "
            f"or a busy machine), {sum(noisy)} of {len(points)} batches</span>") if any(noisy) else ""
    layout = base_layout(f"Throughput against batch size: {chart_label(profile)} · {shown(setting)}{note}",
                         xaxis={**axis, "domain": [0, 0.45]}, xaxis2={**axis, "domain": [0.55, 1], "anchor": "y2"},
                         yaxis={"title": {"text": "ms per step"}, "rangemode": "tozero", "automargin": True},
                         yaxis2={"title": {"text": "samples per second"}, "anchor": "x2", "rangemode": "tozero",
                                 "automargin": True},
                         height=400, showlegend=False)
    if note:
        layout["margin"] = {**layout["margin"], "t": 90}
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
    labels = [chart_label(p) for p in measured]
    colours = page_colours(measured)
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
    layout = base_layout(
        f"Counted vs measured: {'; '.join(shown(x) for x in settings)}",
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


# ---- memory along execution (issue 23: archviz.training) ------------------------------------------
# Every profile carries `memory` (inference on the meta device: weights, peak activations and a
# timeline of the activation bytes live after each leaf layer, in execution order); a --train profile
# also `training` with the same timeline for the training forward (activations kept for backward).
MIB = 2**20


def memory_bands(profile: Profile, names: list[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Shaded bands over the runs of consecutive leaves in one top-level block (transitions tinted
    orange), labelled above the plot where the label fits: memory that grows inside a band is what
    that block keeps alive (DenseNet's concatenated features)."""
    rows = {r["name"]: r for r in profile.layers}
    kinds = {b["name"]: b.get("kind") for b in profile.blocks}
    runs: list[list[Any]] = []  # [block, first index, last index]
    for i, name in enumerate(names):
        block = (rows.get(name) or {}).get("block")
        if runs and runs[-1][0] == block:
            runs[-1][2] = i
        else:
            runs.append([block, i, i])
    shapes, notes, right, k = [], [], -1e9, 0
    px = 560 / max(len(names), 1)  # a narrow plot: labels that fit here fit everywhere
    for block, first, last in runs:
        if block is None:
            continue
        transition = kinds.get(block) == "transition"
        fill = "rgba(255,152,0,0.16)" if transition else ("rgba(31,58,96,0.07)" if k % 2 == 0 else "rgba(31,58,96,0.02)")
        k += 0 if transition else 1
        x0, x1 = first + 0.5, last + 1.5
        shapes.append({"type": "rect", "xref": "x", "yref": "paper", "x0": x0, "x1": x1, "y0": 0, "y1": 1,
                       "fillcolor": fill, "line": {"width": 0}, "layer": "below"})
        label = shown(block.rsplit(".", 1)[-1] if not block.rsplit(".", 1)[-1].isdigit() else block)
        half = (len(label) * 6.0 / 2 + 4) / px
        mid = (x0 + x1) / 2
        if mid - half >= right:
            right = mid + half
            notes.append({"x": mid, "y": 1.0, "xref": "x", "yref": "paper", "text": label, "showarrow": False,
                          "yanchor": "bottom", "font": {"size": 10, "color": "#b45309" if transition else "#4b5563"}})
    return shapes, notes


def memory_along_execution(profile: Profile) -> dict[str, Any]:
    """Live activation bytes after each leaf layer in execution order (MiB): inference (no_grad: a
    layer's input is freed once nothing needs it) and, with --train, the training forward (what
    backward needs stays). Weights are constant and not drawn (the cards give them). Bands: the
    top-level blocks."""
    mem = profile.memory if isinstance(profile.memory, dict) else None
    if not mem or not mem.get("timeline"):
        return placeholder_figure("No memory timeline: the model did not run on the meta device "
                                  "(see the notes), or the profile was stored before archviz metered memory")
    names = [n for n, _ in mem["timeline"]]
    tr = profile.training if isinstance(profile.training, dict) else None
    two = bool(tr and tr.get("timeline") and [n for n, _ in tr["timeline"]] == names)
    series = [(f"inference, no_grad (batch {mem.get('batch')}, {mem.get('dtype')})", mem["timeline"], "#1f3a60", "y")]
    if two:
        series.append((f"training forward (batch {tr.get('batch')}, {tr.get('optimizer')}): what backward needs stays",
                       tr["timeline"], "#c2410c", "y2"))
    data = []
    for label, points, colour, axis in series:
        data.append({"type": "scatter", "mode": "lines", "name": label, "x": list(range(1, len(points) + 1)),
                     "y": [b / MIB for _, b in points], "customdata": [n for n, _ in points],
                     "hovertext": [shown(n) for n, _ in points], "yaxis": axis,
                     "line": {"color": colour, "width": 2, "shape": "hv"},
                     "hovertemplate": "<b>%{hovertext}</b><br>%{y:.2f} MiB live after it<extra>%{fullData.name}</extra>"})
    shapes, notes = memory_bands(profile, names)
    peak = mem.get("activation_peak_bytes") or 0
    title = (f"Live memory along execution: {chart_label(profile)}<br><span style='font-size:11px;color:#6b7280'>"
             f"inference peak {peak / MIB:.1f} MiB · weights {mem.get('weights_bytes', 0) / MIB:.1f} MiB "
             "not drawn · bands: blocks</span>")
    axis = {"rangemode": "tozero", "automargin": True}
    layout = base_layout(title, xaxis={"title": {"text": "leaf layers in execution order"}, "rangemode": "tozero",
                                       "anchor": "y2" if two else "y"},
                         yaxis={**axis, "title": {"text": "inference, MiB" if two else "live activations, MiB"},
                                "domain": [0.56, 1] if two else [0, 1]},
                         shapes=shapes, annotations=notes, height=560 if two else 420,
                         legend={"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom"})
    if two:
        layout["yaxis2"] = {**axis, "title": {"text": "training, MiB"}, "domain": [0, 0.44]}
    layout["margin"] = {**layout["margin"], "t": 96, "b": 100}
    return {"data": data, "layout": layout}


def memory_cards(profile: Profile) -> list[tuple[str, str, str]]:
    """(label, value, note) cards: weights, peak activations, and with --train the step's peak and
    its split, trainable and frozen parameters."""
    def mib(n: Any) -> str:
        return "-" if n is None else (f"{n / 2**30:.2f} GiB" if n >= 2**30 else f"{n / MIB:.1f} MiB")

    mem = profile.memory if isinstance(profile.memory, dict) else None
    cards = []
    if mem:
        cards += [("Weights", mib(mem.get("weights_bytes")), f"parameters + buffers, {mem.get('dtype')}"),
                  ("Peak activations", mib(mem.get("activation_peak_bytes")),
                   f"inference, batch {mem.get('batch')} (input included)"),
                  ("Inference peak", mib(mem.get("peak_bytes")), "weights + peak activations")]
    tr = profile.training if isinstance(profile.training, dict) else None
    if tr:
        split = tr.get("at_peak") or {}
        dtype = f"amp {tr.get('compute_dtype')}" if tr.get("amp") else tr.get("dtype")
        cards += [("Training-step peak", mib(tr.get("peak_bytes")),
                   f"{tr.get('optimizer')}, {dtype}, batch {tr.get('batch')}, in {tr.get('peak_phase')}"),
                  ("Activations at the peak", mib(split.get("activations")),
                   f"+ weights {mib(split.get('weights'))} + grads {mib(split.get('grads'))} + "
                   f"optimizer {mib(split.get('optimizer'))}"),
                  ("Saved for backward", mib(tr.get("saved_bytes")), "each storage once, weights excluded"),
                  ("Trainable / frozen", f"{tr.get('trainable_params', 0):,}", f"frozen {tr.get('frozen_params', 0):,}"),
                  ("Training FLOPs", f"{(tr.get('fwd_flops', 0) + tr.get('bwd_flops', 0)) / 1e9:.3g} G",
                   f"forward {tr.get('fwd_flops', 0) / 1e9:.3g} G + backward {tr.get('bwd_flops', 0) / 1e9:.3g} G")]
    return cards
