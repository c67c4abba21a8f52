"""Block diagrams of the traced dataflow graph (graphviz). Reads a Profile; never traces.

Levels: 'layers' shows every conv/pool/linear/merge node; 'blocks' contracts each recognised block
(residual, inception, dense block, transition, ...) into one node, optionally folding consecutive
blocks of the same type in the same stage into one 'xN' node. Merges are drawn as their own small
nodes: '+' for residual add (blue), 'C' for concatenation (purple), 'x' for gating multiply.

Module names are user text: node ids are indexes, and every name reaches dot escaped twice over, for
HTML-like labels (entities) and for graphviz's escString (backslashes, so "\\N" or "\\G" in a name
is never expanded); control characters are shown as escapes (`printable`)."""

from __future__ import annotations

import functools
import html
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import ArchvizError
from ..files import write_atomic
from ..record import Profile
from .numbers import grouped, human, pair, printable, shape

SHOWN = {"conv", "linear", "pool", "merge"}
MERGE_STYLE = {"add": ("+", "#1f77b4"), "concat": ("C", "#9467bd"), "mul": ("×", "#2ca02c")}
FORMATS = {".svg", ".png", ".pdf", ".dot"}
BIG_GRAPH = 250  # units above which layout effort is bounded
# Fill ramp for the share of the model's MACs (light -> dark).
RAMP = ["#fff7ec", "#fee8c8", "#fdd49e", "#fdbb84", "#fc8d59", "#ef6548", "#d7301f", "#990000"]


@dataclass
class Unit:
    """One drawn node: a layer, a block, or a folded run of blocks."""

    key: str                   # graphviz node id: "blk3", "op12" (never user text)
    label: str
    kind: str
    type: str
    macs: float = 0.0
    params: int = 0
    shape: Any = None
    rf: Any = None
    stride: Any = None
    merge: str | None = None
    skip: str | None = None
    depth: int = 0
    count: int = 1
    members: list[str] = field(default_factory=list)
    module: str | None = None  # the module drawn (a layer row's name), None for a root-level op
    parent: str | None = None  # that module's parent row (from the `parent` column)


def ramp_colour(share: float, top: float) -> tuple[str, str]:
    t = 0.0 if top <= 0 else min(share / top, 1.0)
    fill = RAMP[min(int(t * (len(RAMP) - 1) + 0.5), len(RAMP) - 1)]
    return fill, ("white" if t > 0.62 else "#1a1a1a")


def _units(profile: Profile, level: str) -> tuple[dict[int, str], dict[str, Unit]]:
    """Map each graph node to the unit drawing it (hidden nodes map to nothing)."""
    owner: dict[int, str] = {}
    units: dict[str, Unit] = {}
    blocks = {b["name"]: b for b in profile.top_blocks()} if level == "blocks" else {}
    block_ids = {name: i for i, name in enumerate(blocks)}
    parents = {r["name"]: r.get("parent") for r in profile.layers}
    for n in profile.graph:
        blk = n.get("block") if level == "blocks" else None
        if blk in blocks:
            key = f"blk{block_ids[blk]}"
            if key not in units:
                b = blocks[blk]
                units[key] = Unit(key, blk, b["kind"], b["type"], b["macs"], b["params"], b["out_shape"],
                                  b["rf_out"], b["effective_stride"], b["merge"], b["skip"],
                                  b.get("depth_out") or 0, members=[blk], module=blk,
                                  parent=parents.get(blk))
            owner[n["i"]] = key
        elif n["cat"] in SHOWN:
            key = f"op{n['i']}"
            module = n["scope"] or None
            kind = "merge" if n["cat"] == "merge" else n["cat"]
            units[key] = Unit(key, module or n["op"], kind, n["op"], n["macs"], 0, n["shape"],
                              n["receptive_field"], n["effective_stride"], n.get("merge"), None,
                              n.get("depth") or 0, module=module, parent=parents.get(module or ""))
            owner[n["i"]] = key
    _attach_layer_params(profile, units)
    return owner, units


def _attach_layer_params(profile: Profile, units: dict[str, Unit]) -> None:
    """Layer units take their module's class name and (for weighted layers) its parameters."""
    rows = {r["name"]: r for r in profile.layers}
    for u in units.values():
        row = rows.get(u.module) if u.module else None
        if u.key.startswith("op") and row is not None:
            u.type = row["type"] if u.kind != "merge" else u.type
            if u.kind in ("conv", "linear"):
                u.params = row["params"]


def dense_bus(graph: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Draw dense concatenation as a bus: a concat whose inputs include all of an earlier concat's
    inputs takes that concat as one input instead (concat of a concat is the same tensor). This keeps
    DenseNet's edges linear in depth instead of quadratic, without changing what flows where."""
    out, cats = [], []
    for n in graph:
        if n.get("merge") == "concat":
            ins = list(n["in"])
            for prev_i, prev_ins in reversed(cats):
                if set(prev_ins) < set(ins):
                    ins = [prev_i] + [i for i in ins if i not in prev_ins]
                    break
            cats.append((n["i"], list(n["in"])))
            n = {**n, "in": ins}
        out.append(n)
    return out


def _edges(profile: Profile, owner: dict[int, str]) -> list[tuple[str, str, int]]:
    """Edges between units, looking through hidden nodes; the int is the source node's depth."""
    reps: dict[int, set[str]] = {-1: {"input"}}
    depth = {n["i"]: n.get("depth") or 0 for n in profile.graph}
    edges: dict[tuple[str, str], int] = {}
    for n in dense_bus(profile.graph):
        mine = owner.get(n["i"])
        srcs: set[str] = set()
        for p in n["in"]:
            srcs |= reps.get(p, {"input"})
        for s in srcs:
            if mine and s != mine:
                edges.setdefault((s, mine), depth.get(n["in"][0], 0))
        reps[n["i"]] = {mine} if mine else srcs
    outs = reps.get(profile.graph[-1]["i"], set()) if profile.graph else set()
    for s in outs:
        edges[(s, "output")] = 0
    return [(a, b, d) for (a, b), d in edges.items()]


def _own_name(name: str, parent: str | None) -> str:
    """A module's own part of its row name: the name past its parent's ("layer1.2" -> "2")."""
    if parent and name.startswith(parent + ".") and len(name) > len(parent) + 1:
        return name[len(parent) + 1:]
    return name


def _fold(units: dict[str, Unit], edges: list[tuple[str, str, int]]) -> tuple[dict[str, Unit], list]:
    """Fold runs of consecutive blocks of one type inside one parent module into 'xN' units
    (the parent read from the layer rows' `parent` column, never from the names)."""
    order = [k for k in units]
    group: dict[str, str] = {}
    prev: Unit | None = None
    for key in order:
        u = units[key]
        if (prev and u.key.startswith("blk") and prev.key.startswith("blk") and u.type == prev.type
                and prev.parent == u.parent):
            g = units[group[prev.key]]
            g.count += 1
            g.macs += u.macs
            g.params += u.params
            g.shape, g.rf, g.stride = u.shape, u.rf, u.stride
            g.merge, g.skip = g.merge or u.merge, g.skip or u.skip  # the run merges if any member does
            g.members.append(u.label)
            group[key] = g.key
        else:
            group[key] = key
        prev = u
    folded = {k: u for k, u in units.items() if group[k] == k}
    for u in folded.values():
        if u.count > 1:
            u.label = f"{u.members[0]} … {_own_name(u.members[-1], u.parent)}"
    new_edges = {}
    for a, b, d in edges:
        a2, b2 = group.get(a, a), group.get(b, b)
        if a2 != b2:
            new_edges.setdefault((a2, b2), d)
    return folded, [(a, b, d) for (a, b), d in new_edges.items()]


def dot_text(text: Any, backslashes: int = 2) -> str:
    """User text for a quoted dot attribute or an HTML-like label: control characters shown as
    escapes, then entity-escaped (dot decodes entities in labels and tooltips) and each backslash
    repeated `backslashes` times (dot reads escString escapes such as \\N, \\G, \\L and \\\\)."""
    return html.escape(printable(text)).replace("\\", "\\" * backslashes)


def _label(u: Unit, total_macs: float) -> str:
    e = dot_text
    title = e(u.label) + (f" ×{u.count}" if u.count > 1 else "")
    lines = [f'<B>{title}</B>', f'<FONT POINT-SIZE="9">{e(u.type)} · {e(u.kind)}</FONT>']
    stats = f"out {shape(u.shape)}"
    if u.params:
        stats += f" · {human(u.params)} params"
    lines.append(f'<FONT POINT-SIZE="9">{e(stats)}</FONT>')
    share = 100 * u.macs / total_macs if total_macs else 0
    lines.append(f'<FONT POINT-SIZE="9">{e(human(u.macs))} MACs ({share:.1f}%) · RF {e(pair(u.rf))}</FONT>')
    return "<" + "<BR/>".join(lines) + ">"


def _tooltip(u: Unit, total_macs: float, backslashes: int) -> str:
    share = 100 * u.macs / total_macs if total_macs else 0
    e = lambda text: dot_text(text, backslashes)  # noqa: E731
    parts = [e(u.label) + (f" (x{u.count}: {e(', '.join(u.members))})" if u.count > 1 else ""),
             f"type {e(u.type)} ({e(u.kind)})", f"output {shape(u.shape)}", f"params {grouped(u.params)}",
             f"MACs {grouped(u.macs)} ({share:.2f}% of model); FLOPs {grouped(2 * u.macs)}",
             f"receptive field {pair(u.rf)}, effective stride {pair(u.stride)}"]
    if u.merge:
        parts.append(f"merges by {u.merge}" + (f", {u.skip} shortcut" if u.skip else ""))
    return "\n".join(parts)


def build_digraph(profile: Profile, level: str = "blocks", rankdir: str = "TB", fold: bool = True):
    """The diagram of `profile` as a graphviz.Digraph (nothing rendered yet)."""
    import graphviz

    if level not in ("blocks", "layers"):
        raise ArchvizError(f"unknown level {level!r}: use blocks or layers", 2)
    if rankdir not in ("TB", "LR"):
        raise ArchvizError(f"unknown rankdir {rankdir!r}: use TB or LR", 2)
    owner, units = _units(profile, level)
    edges = _edges(profile, owner)
    if level == "blocks" and fold:
        units, edges = _fold(units, edges)
    total = float(profile.totals["macs"]) or 1.0
    top = max((u.macs / total for u in units.values() if u.kind != "merge"), default=0.0)
    tip = tooltip_backslashes()

    # The graph's name is a dot ID, where dot decodes entities but reads no escString: entities
    # only, backslashes included, so none can escape the closing quote.
    g = graphviz.Digraph(html.escape(printable(profile.model)).replace("\\", "&#92;"), graph_attr={
        "rankdir": rankdir, "bgcolor": "white", "fontname": "DejaVu Sans", "nodesep": "0.25",
        "ranksep": "0.3", "label": dot_text(f"{profile.model} · input {shape(profile.input_shape)} · "
                                            f"{level} level"), "labelloc": "t", "fontsize": "16"},
        node_attr={"fontname": "DejaVu Sans", "fontsize": "10", "shape": "box", "style": "rounded,filled",
                   "penwidth": "0.8", "color": "#555555"},
        edge_attr={"color": "#666666", "arrowsize": "0.6"})
    g.node("input", f"input {shape(profile.input_shape)}", shape="oval", fillcolor="#e8f1fb",
           tooltip=f"input {shape(profile.input_shape)}", id="node-input", **{"class": "io"})
    g.node("output", f"output {shape(profile.layers[0]['output_shape'])}", shape="oval",
           fillcolor="#e8f1fb", tooltip="model output", id="node-output", **{"class": "io"})
    after: dict[str, str] = {}
    for u in units.values():
        if u.kind == "merge":
            sym, col = MERGE_STYLE.get(u.merge or "", ("?", "#7f7f7f"))
            g.node(u.key, sym, shape="circle", width="0.35", fixedsize="true", fillcolor="white",
                   color=col, fontcolor=col, penwidth="1.6", fontsize="14", tooltip=_tooltip(u, total, tip),
                   id=f"node-{u.key}", **{"class": f"merge merge-{u.merge}"})
            continue
        fill, ink = ramp_colour(u.macs / total, top)
        kind_class = u.kind.replace(" ", "-")
        g.node(u.key, _label(u, total), fillcolor=fill, fontcolor=ink, tooltip=_tooltip(u, total, tip),
               id=f"node-{u.key}",
               **{"class": f"{'block' if u.key.startswith('blk') else 'layer'} {kind_class}"
                           + (" folded" if u.count > 1 else "")})
        if level == "blocks" and u.merge:  # the block's own merge, drawn after it
            sym, col = MERGE_STYLE.get(u.merge.split("+")[0], ("?", "#7f7f7f"))
            m = f"{u.key}_merge"
            g.node(m, sym, shape="circle", width="0.3", fixedsize="true", fillcolor="white", color=col,
                   fontcolor=col, penwidth="1.6", fontsize="13",
                   tooltip=f"{dot_text(u.label, tip)}: {dot_text(u.merge, tip)}",
                   id=f"merge-{u.key}", **{"class": f"merge merge-{u.merge}"})
            g.edge(u.key, m, color=col)
            after[u.key] = m
    preds: dict[str, list[str]] = {}
    for a, b, _ in edges:
        preds.setdefault(b, []).append(a)
    for a, b, _ in edges:
        src = after.get(a, a)
        dst = units.get(b)
        style: dict[str, str] = {}
        if dst is not None and dst.kind == "merge":
            _, col = MERGE_STYLE.get(dst.merge or "", ("?", "#7f7f7f"))
            srcs = preds[b]
            shallow = min(srcs, key=lambda s: _depth_of(units.get(s)))
            style = {"color": col, "penwidth": "1.3"}
            if dst.merge == "add" and len(srcs) > 1 and a == shallow:
                style["style"] = "dashed"
        g.edge(src, b, **style)
        if dst is not None and level == "blocks" and dst.merge and dst.skip and b in after:
            _, col = MERGE_STYLE.get(dst.merge.split("+")[0], ("?", "#7f7f7f"))
            g.edge(src, after[b], style="dashed", color=col, constraint="false",
                   tooltip=f"{dst.skip} shortcut")
    _legend(g, top)
    if len(units) > BIG_GRAPH:  # bound dot's network-simplex passes: DenseNet-201 layers took >15 min
        g.graph_attr.update(nslimit="0.5", nslimit1="0.5", mclimit="0.5", splines="line")
    return g


@functools.lru_cache(maxsize=1)
def tooltip_backslashes() -> int:
    """How many backslashes a tooltip needs per literal one. escString says 2 (as labels do), and
    newer graphviz agrees; graphviz 2.43 unescapes tooltips once more before expanding \\N and
    \\G, so it needs 4. Asked of the installed `dot` once; 2 where there is none."""
    import shutil
    import subprocess

    dot = shutil.which("dot")
    if dot is None:
        return 2
    probe = 'digraph probe { a [tooltip="\\\\N"] }'  # one escaped backslash, then N
    try:
        svg = subprocess.run([dot, "-Tsvg"], input=probe.encode(), capture_output=True,
                             timeout=30).stdout.decode(errors="replace")
    except (OSError, subprocess.SubprocessError):
        return 2
    return 2 if 'xlink:title="\\N"' in svg else 4


def _depth_of(u: Unit | None) -> int:
    """Weighted layers before a unit: the shallower input of an add is its shortcut."""
    return 0 if u is None else u.depth


def _legend(g, top: float) -> None:
    cells = "".join(f'<TD BGCOLOR="{c}" WIDTH="18"> </TD>' for c in RAMP)
    label = (f'<<TABLE BORDER="0" CELLBORDER="0" CELLSPACING="1">'
             f'<TR><TD COLSPAN="{len(RAMP)}"><FONT POINT-SIZE="9">fill = share of model MACs</FONT></TD></TR>'
             f'<TR>{cells}</TR><TR><TD COLSPAN="2" ALIGN="LEFT"><FONT POINT-SIZE="8">0%</FONT></TD>'
             f'<TD COLSPAN="{len(RAMP) - 4}"></TD><TD COLSPAN="2" ALIGN="RIGHT"><FONT POINT-SIZE="8">'
             f'{100 * top:.1f}%</FONT></TD></TR>'
             f'<TR><TD COLSPAN="{len(RAMP)}"><FONT POINT-SIZE="9" COLOR="#1f77b4">+ residual add</FONT>  '
             f'<FONT POINT-SIZE="9" COLOR="#9467bd">C concat</FONT>  '
             f'<FONT POINT-SIZE="9" COLOR="#2ca02c">× gate</FONT>  '
             f'<FONT POINT-SIZE="9">dashed = shortcut</FONT></TD></TR></TABLE>>')
    g.node("legend", label, shape="plaintext", style="", id="legend", **{"class": "legend"})


NO_DOT = ("graphviz's 'dot' program was not found: install it (Debian/Ubuntu: sudo apt-get install "
          "graphviz; macOS: brew install graphviz)")


def check_output(path: Path) -> str:
    """The format FILE's suffix asks for, checked before any work; 'dot' output needs no binary."""
    import shutil

    suffix = path.suffix.lower()
    if suffix not in FORMATS:
        raise ArchvizError(f"unsupported diagram format {suffix or '(none)'!r}: use .svg, .png, .pdf or .dot", 2)
    if suffix != ".dot" and shutil.which("dot") is None:
        raise ArchvizError(NO_DOT, 3)
    return suffix[1:]


def render_bytes(digraph, fmt: str) -> bytes:
    import graphviz

    if fmt == "dot":
        return digraph.source.encode()
    try:
        return digraph.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise ArchvizError(NO_DOT, 3) from None


def svg_of(digraph) -> str:
    """A digraph rendered as inline SVG text (the XML prologue dropped)."""
    svg = render_bytes(digraph, "svg").decode()
    return svg[svg.find("<svg"):]


def svg_text(profile: Profile, level: str = "blocks", **options: Any) -> str:
    """The diagram as SVG text (what the report and the dashboard embed)."""
    return svg_of(build_digraph(profile, level, **options))


class Diagram:
    """A profile's block diagram as notebooks want it: shown inline (`_repr_svg_`), `.svg` for the
    text, `.save(path)` by suffix, `.digraph` for graphviz itself."""

    def __init__(self, profile: Profile, level: str = "blocks", **options: Any) -> None:
        self.profile, self.level = profile, level
        self.digraph = build_digraph(profile, level, **options)
        self._svg: str | None = None

    @property
    def svg(self) -> str:
        if self._svg is None:
            self._svg = svg_of(self.digraph)
        return self._svg

    def _repr_svg_(self) -> str:
        return self.svg

    def save(self, path: str | Path) -> Path:
        """Write .svg, .png, .pdf or .dot (atomically) and return the path."""
        target = Path(path)
        write_atomic(target, render_bytes(self.digraph, check_output(target)))
        return target

    def __repr__(self) -> str:
        return f"<archviz Diagram of {self.profile.model} at {self.level} level>"


def write_diagram(profile: Profile, path: Path, level: str = "blocks", **options: Any) -> Path:
    check_output(path)  # a bad suffix or a missing 'dot' fails before the graph is built
    return Diagram(profile, level, **options).save(path)
