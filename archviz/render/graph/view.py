"""What is drawn for one expansion state of a Tree: the visible nodes, the clusters of the open
groups, and the edges between visible nodes. `archviz-graph.js` does the same projection in the
browser (function `project`), and a browser test checks that the two agree.

- A node is visible when every group above it is open; a closed group stands for all below it.
- An edge between two atoms is drawn between their visible stand-ins, unless both are the same.
- A closed block with exactly one residual add shows that add as its own small node after it
  (a "satellite"), with its shortcut drawn dashed from the block's input to the add: every
  residual block, folded run or not, is drawn with its own skip."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .tree import Tree

INITIAL_LIMIT = 24  # the first view opens containers while it shows at most this many nodes
INPUT, OUTPUT = -1, -2


@dataclass
class View:
    expanded: set[int]
    nodes: list[int]                       # visible nodes (closed groups and atoms), in dataflow order
    satellites: list[int]                  # visible blocks drawn with their own add after them
    edges: list[tuple[Any, Any, str]]      # (source, target, style): "" or "skip"; ids or "s<id>"


def is_container(tree: Tree, nid: int) -> bool:
    """A group opened by the first view: a plain container of other groups, not a block, run or
    stage, nor a small unit of leaves (GoogLeNet's BasicConv2d: conv, norm, ReLU)."""
    n = tree.nodes[nid]
    return (n.kind == "group" and not n.block and not n.run and n.stage is None
            and any(tree.nodes[c].kind == "group" for c in n.children))


def initial_expanded(tree: Tree, limit: int = INITIAL_LIMIT) -> set[int]:
    """The stage-level first view: the root open, then plain containers opened breadth first while
    the view stays within `limit` nodes (ResNet-50 shows its stem, four folded stages and the head)."""
    expanded = {0}
    shown = len(tree.nodes[0].children)
    queue = list(tree.nodes[0].children)
    while queue:
        nid = queue.pop(0)
        kids = tree.nodes[nid].children
        if is_container(tree, nid) and shown - 1 + len(kids) <= limit:
            expanded.add(nid)
            shown += len(kids) - 1
            queue.extend(kids)
    return expanded


def level_expanded(tree: Tree, level: int) -> set[int]:
    """Every group less than `level` steps below the root open (level 1: the root only)."""
    out = set()
    for n in tree.nodes:
        if n.kind == "group" and len(tree.ancestors(n.id)) < level:
            out.add(n.id)
    return out


def all_expanded(tree: Tree) -> set[int]:
    return {n.id for n in tree.nodes if n.kind == "group"}


def expand_to(tree: Tree, expanded: set[int], nid: int) -> set[int]:
    """`expanded` with every group above `nid` opened, so that `nid` is visible."""
    return set(expanded) | set(tree.ancestors(nid))


def stand_in(tree: Tree, nid: int, expanded: set[int]) -> int:
    """The visible node that shows `nid`: its outermost closed ancestor, or itself."""
    chain = [nid, *tree.ancestors(nid)]
    for a in reversed(chain[1:]):
        if a not in expanded:
            return a
    return nid


def has_satellite(tree: Tree, nid: int, expanded: set[int]) -> bool:
    n = tree.nodes[nid]
    return (n.kind == "group" and nid not in expanded and not n.run and bool(n.block)
            and n.block.get("merge") == "add" and n.block.get("merges") == 1)


def project(tree: Tree, expanded: set[int]) -> View:
    """The drawing of `tree` with the groups in `expanded` open (the root always is)."""
    expanded = set(expanded) | {0}
    visible: dict[int, None] = {}
    for n in tree.nodes:
        if n.kind == "atom":
            visible[stand_in(tree, n.id, expanded)] = None
    sats = [v for v in visible if has_satellite(tree, v, expanded)]
    sat_set = set(sats)
    edges: dict[tuple[Any, Any, str], None] = {}
    for a, b in tree.edges:
        ra = a if a < 0 else stand_in(tree, a, expanded)
        rb = b if b < 0 else stand_in(tree, b, expanded)
        if ra == rb:
            continue
        src = f"s{ra}" if ra in sat_set else ra
        edges[(src, rb, "")] = None
        if rb in sat_set:
            edges[(src, f"s{rb}", "skip")] = None
    for s in sats:
        edges[(s, f"s{s}", "")] = None
    order = sorted(visible, key=lambda v: tree.nodes[v].first_op)
    return View(expanded, order, sats, list(edges))
