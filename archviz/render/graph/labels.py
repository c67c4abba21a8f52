"""What each node of the graph says: its title, its label lines, and the figures a colour overlay
reads. Made once here, in Python, for both faces: the static diagram and the browser view put the
same label on the same node. Labels are graphviz HTML-like labels with every piece of user text
escaped (`dot_text`); the browser inserts them into DOT as they are and never into its own DOM."""

from __future__ import annotations

import html
import math
from typing import Any

from ..numbers import human, pair, printable, shape
from .tree import Node, Tree

MERGE_STYLE = {"add": ("+", "#1f77b4"), "concat": ("C", "#9467bd"), "mul": ("×", "#2ca02c")}
# Fill ramp (light -> dark), shared with the legend of both faces.
RAMP = ["#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"]
NO_DATA = "#eceff3"
BOUND_COLOURS = {"compute": "#d62728", "memory": "#1f77b4", "overhead": "#7f7f7f"}
CHANGE_COLOURS = {"added": "#2ca02c", "removed": "#d62728", "changed": "#e6a100"}  # archviz diff
CATEGORIES = {"bound": BOUND_COLOURS, "change": CHANGE_COLOURS}
# Overlays: key -> (title, figure key, scale). Log scales for counts (a stage and a ReLU differ by
# 10^4), linear for field and depth.
OVERLAYS = {
    "macs": ("MACs", "macs", "log"), "params": ("parameters", "params", "log"),
    "activations": ("activations", "activations", "log"), "rf": ("receptive field (px)", "rf", "linear"),
    "depth": ("depth (weighted layers)", "depth", "linear"), "latency": ("latency (ms)", "latency_ms", "log"),
    "achieved": ("achieved FLOP/s", "achieved_flops", "log"), "bound": ("roofline bound", "bound", "category"),
    "change": ("change from the other model (archviz diff)", "change", "category"),
}
MEASURED_OVERLAYS = ("latency", "achieved", "bound")


def dot_text(text: Any, backslashes: int = 2) -> str:
    """User text for a quoted dot attribute or an HTML-like label: control characters shown as
    escapes, then entity-escaped (dot decodes entities in labels and tooltips) and each backslash
    repeated `backslashes` times (dot reads escString escapes such as \\N, \\G, \\L and \\\\)."""
    return html.escape(printable(text)).replace("\\", "\\" * backslashes)


def nearest_row(tree: Tree, node: Node) -> str | None:
    p = node.parent
    while p is not None and not tree.nodes[p].row:
        p = tree.nodes[p].parent
    return tree.nodes[p].row if p is not None else None


def title(tree: Tree, node: Node) -> str:
    """A node's short name: its part past its enclosing module's name ("layer1.0.conv1" in
    "layer1.0" -> "conv1"); a bare index keeps its parent's last part ("features.0")."""
    if node.row is None:
        return node.name if node.kind == "group" else node.type
    parent = nearest_row(tree, node)
    name = node.name
    own = name[len(parent) + 1:] if parent and parent != "(model)" and name.startswith(parent + ".") else name
    if own.isdigit() and parent and parent != "(model)":
        own = name  # a bare index says nothing alone: "features.1.0", not "0"
    return own + (f" #{node.call}" if node.call > 1 else "")


def detail(node: Node) -> str:
    """The second line: what the node is (type, kernel and stride, block kind)."""
    if node.run:
        return f"{node.run['type']} ×{node.run['count']}"
    if node.stage is not None:
        return f"stage {node.stage}"
    text = node.type
    k, s = node.attrs.get("kernel"), node.attrs.get("stride")
    if k:
        text += f" {pair(k)}×{pair(k)}" if len(set(k)) == 1 and len(k) == 2 else f" k{pair(k)}"
        if s and any(v != 1 for v in s):
            text += f" /{pair(s)}"
    if node.block:
        text += f" · {node.block['kind']}"
    return text


def merge_line(node: Node) -> str | None:
    """The merge a block or run does, said in its label (never drawn as one shared skip)."""
    if node.run:
        r = node.run
        if not r.get("merge"):
            return None
        sym = MERGE_STYLE.get(r["merge"], ("?", ""))[0]
        word = {"add": "add", "concat": "concat", "mul": "gate"}.get(r["merge"], r["merge"])
        line = f"{sym} {r['merges']} {word}{'s' if r['merges'] != 1 else ''}, each block its own"
        if r["skips"] and r["skips"][0] == "projection":
            line += " · block 1: projection shortcut"
        return line
    b = node.block
    if b and b.get("merge"):
        sym = MERGE_STYLE.get(b["merge"], ("?", ""))[0]
        line = f"{sym} {b['merge']}"
        if b.get("merges", 0) > 1:
            line += f" ×{b['merges']}"
        if b.get("skip") and b["merge"] == "add":
            line += f" · {b['skip']} shortcut"
        if b["merge"] == "concat" and b.get("merge_inputs", 0) > 1:
            line += f" of {b['merge_inputs']} inputs"
        return line
    return None


def label(tree: Tree, node: Node, total_macs: float) -> str:
    """The node's graphviz HTML-like label (escaped)."""
    f = node.figures
    head = dot_text(title(tree, node)) + (f" ×{node.run['count']}" if node.run else "")
    lines = [f"<B>{head}</B>", f'<FONT POINT-SIZE="9">{dot_text(detail(node))}</FONT>']
    stats = f"out {shape(f.get('output_shape'))}"
    if f.get("params"):
        stats += f" · {human(f['params'])} params"
    lines.append(f'<FONT POINT-SIZE="9">{dot_text(stats)}</FONT>')
    macs = f.get("macs")
    share = f" ({100 * macs / total_macs:.1f}%)" if macs is not None and total_macs else ""
    lines.append(f'<FONT POINT-SIZE="9">{dot_text(human(macs))} MACs{share} · RF '
                 f'{dot_text(pair(f.get("receptive_field")))}</FONT>')
    extra = merge_line(node)
    if extra:
        lines.append(f'<FONT POINT-SIZE="9"><I>{dot_text(extra)}</I></FONT>')
    return "<BR/>".join(lines)


def cluster_label(tree: Tree, node: Node) -> str:
    head = dot_text(title(tree, node))
    kind = node.run and f"{node.run['type']} ×{node.run['count']}" or (node.block or {}).get("kind") or node.type
    return f'<B>▾ {head}</B> <FONT POINT-SIZE="9">{dot_text(kind)}</FONT>'


def metric(node: Node, key: str, input_size: float) -> Any:
    """The value an overlay colours by: the field's larger side ("global" is the whole input)."""
    f = node.figures
    if key == "rf":
        rf = f.get("receptive_field")
        if isinstance(rf, list) and rf:
            return max(rf)
        return input_size if rf == "global" else None
    value = f.get(OVERLAYS[key][1])
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def domain(values: list[Any], scale: str) -> list[float] | None:
    """[low, high] of an overlay's scale over every node of every model on the page."""
    nums = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    if scale == "log":
        nums = [v for v in nums if v > 0]
    if not nums:
        return None
    return [min(nums), max(nums)]


def fill(value: Any, dom: list[float] | None, scale: str, key: str = "bound") -> tuple[str, str]:
    """(fill, ink) of a value on a scale; the same arithmetic as `fill` in archviz-graph.js."""
    if scale == "category":
        colours = CATEGORIES.get(key, {})
        return (colours.get(value, NO_DATA), "white" if value in colours else "#1a1a1a")
    if value is None or dom is None:
        return NO_DATA, "#1a1a1a"
    lo, hi = dom
    v = float(value)
    if scale == "log":
        t = 0.0 if v <= 0 or hi <= lo else (math.log(max(v, lo)) - math.log(lo)) / (math.log(hi) - math.log(lo))
    else:
        t = 0.0 if hi <= lo else (v - lo) / (hi - lo)
    t = min(max(t, 0.0), 1.0)
    return RAMP[min(int(t * (len(RAMP) - 1) + 0.5), len(RAMP) - 1)], ("white" if t > 0.62 else "#1a1a1a")
