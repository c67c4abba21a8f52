"""DOT text for one view of a Tree: what `archviz diagram` renders with graphviz's `dot`, and what
`archviz-graph.js` builds in the browser (function `toDot`) for graphviz compiled to WebAssembly.
The two write the same statements in the same order; a browser test compares them.

Ids are indexes ("n12", "s12" for a block's own add, "c12" for an open group's cluster), never
user text; every label is made by labels.py with user text escaped."""

from __future__ import annotations

import html
from typing import Any

from ..numbers import printable, shape
from .labels import MERGE_STYLE, OVERLAYS, fill, metric
from .tree import Tree
from .view import View

BIG_GRAPH = 250  # visible nodes above which dot's layout effort is bounded (DenseNet-201: >15 min)
GRAPH_ATTRS = ('rankdir={rankdir}; bgcolor="white"; fontname="DejaVu Sans"; nodesep=0.25; ranksep=0.3; '
               'newrank=true; compound=true;')
NODE_ATTRS = 'node [fontname="DejaVu Sans" fontsize=10 shape=box style="rounded,filled" penwidth=0.8 color="#555555"];'
EDGE_ATTRS = 'edge [color="#666666" arrowsize=0.6 fontname="DejaVu Sans" fontsize=8 fontcolor="#555555"];'
BIG_ATTRS = 'nslimit=0.5; nslimit1=0.5; mclimit=0.5; splines=line;'


def quoted(text: str) -> str:
    """A quoted DOT string of user text: controls shown as escapes, entities escaped (dot decodes
    them in labels), backslashes doubled (no \\N or \\G expands) and quotes escaped."""
    return '"' + html.escape(printable(text), quote=False).replace("\\", "\\\\").replace('"', '\\"') + '"'


def node_statement(tree: Tree, nid: int, labels: list[str], colour: str, doms: dict, input_size: float,
                   selected: int | None = None) -> str:
    n = tree.nodes[nid]
    if n.kind == "atom" and n.merge:
        sym, col = MERGE_STYLE.get(n.merge, ("?", "#7f7f7f"))
        return (f'n{nid} [id="n{nid}" class="merge merge-{n.merge}" label="{sym}" shape=circle width=0.35 '
                f'fixedsize=true fillcolor="white" color="{col}" fontcolor="{col}" penwidth=1.6 fontsize=14];')
    title, key, scale = OVERLAYS[colour]
    bg, ink = fill(metric(n, colour, input_size), doms.get(colour), scale, colour)
    classes = ["group" if n.kind == "group" else "atom", (n.cat or "").replace(" ", "-")]
    if n.block:
        classes += ["block", n.block["kind"].replace(" ", "-")]
    if n.run:
        classes.append("folded")
    pen = ' penwidth=2.4 color="#111111"' if nid == selected else ""
    peri = " peripheries=2" if n.run else ""
    return (f'n{nid} [id="n{nid}" class="{" ".join(c for c in classes if c)}" label=<{labels[nid]}> '
            f'fillcolor="{bg}" fontcolor="{ink}"{peri}{pen}];')


def satellite_statement(tree: Tree, nid: int) -> str:
    n = tree.nodes[nid]
    sym, col = MERGE_STYLE["add"]
    return (f's{nid} [id="s{nid}" class="merge merge-add satellite" label="{sym}" shape=circle width=0.3 '
            f'fixedsize=true fillcolor="white" color="{col}" fontcolor="{col}" penwidth=1.6 fontsize=13];')


def edge_statement(tree: Tree, src: Any, dst: Any, style: str, shapes: bool) -> str:
    a = "in" if src == -1 else str(src) if isinstance(src, str) else f"n{src}"
    b = "out" if dst == -2 else str(dst) if isinstance(dst, str) else f"n{dst}"
    attrs = []
    if style == "skip":
        target = tree.nodes[int(str(dst)[1:])]
        kind = (target.block or {}).get("skip") or "shortcut"
        attrs += ['style=dashed', f'color="{MERGE_STYLE["add"][1]}"', "constraint=false",
                  f'class="skip skip-{kind}"']
        if kind == "projection":
            attrs.append('label="projection" fontcolor="#1f77b4"')
    elif isinstance(dst, int) and dst >= 0 and tree.nodes[dst].merge:
        attrs.append(f'color="{MERGE_STYLE.get(tree.nodes[dst].merge, ("", "#666666"))[1]}"')
    if shapes and style != "skip":
        source = tree.nodes[int(str(src).lstrip("s"))] if src != -1 else None
        out = source.figures.get("output_shape") if source else None
        if out:
            attrs.append(f"label={quoted(shape(out))}")
    return f'{a} -> {b}' + (f' [{" ".join(attrs)}]' if attrs else "") + ";"


def head_lines(model: str, input_shape: list[int], output_shape: Any, rankdir: str = "TB") -> list[str]:
    """The statements every view starts with: graph, node and edge defaults, title, input, output."""
    return ["digraph archviz {", GRAPH_ATTRS.format(rankdir=rankdir), NODE_ATTRS, EDGE_ATTRS,
            f"label={quoted(model + ' · input ' + shape(input_shape))}; labelloc=t; fontsize=16;",
            f'in [id="in" class="io" label={quoted("input " + shape(input_shape))} shape=oval fillcolor="#e8f1fb"];',
            f'out [id="out" class="io" label={quoted("output " + shape(output_shape))} shape=oval fillcolor="#e8f1fb"];']


def cluster_open(gid: int, cluster_label: str) -> str:
    return (f'subgraph cluster_{gid} {{ id="c{gid}"; class="cluster"; label=<{cluster_label}>; labeljust=l; '
            f'style="rounded,dashed"; color="#9aa5b1"; fontsize=11; fontcolor="#334155";')


def to_dot(tree: Tree, view: View, labels: list[str], cluster_labels: dict[int, str], *, model: str,
           input_shape: list[int], output_shape: Any, colour: str = "macs", doms: dict | None = None,
           rankdir: str = "TB", shapes: bool = False, selected: int | None = None) -> str:
    """The DOT text of `view` (see the module docstring)."""
    doms = doms or {}
    input_size = float(max(input_shape[2:] or input_shape[-1:] or [1]))
    visible = set(view.nodes)
    sats = set(view.satellites)
    out = head_lines(model, input_shape, output_shape, rankdir)
    if len(visible) > BIG_GRAPH:
        out.append(BIG_ATTRS)

    def emit(gid: int, indent: str) -> None:
        for c in tree.nodes[gid].children:
            if c in view.expanded and tree.nodes[c].kind == "group":
                out.append(indent + cluster_open(c, cluster_labels[c]))
                emit(c, indent + "  ")
                out.append(indent + "}")
            elif c in visible:
                out.append(indent + node_statement(tree, c, labels, colour, doms, input_size, selected))
                if c in sats:
                    out.append(indent + satellite_statement(tree, c))

    emit(0, "")
    for src, dst, style in view.edges:
        out.append(edge_statement(tree, src, dst, style, shapes))
    out.append("}")
    return "\n".join(out)
