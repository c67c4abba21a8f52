"""The architecture as a tree you can open: the module hierarchy of a Profile, with the traced ops
as its leaves ("atoms") and the dataflow between atoms as edges. Reads a Profile; never traces.

This is the one folding rule behind every picture of a network (the static `archviz diagram` and
the interactive graph view of the report, notebook and dashboard):
- a group is a module that holds other modules (a row with `leaf` false);
- an atom is one call of a leaf module (a module called three times, as ResNet's shared ReLU is,
  gives three atoms), or one op the forward of a group runs itself (the residual add, a concat);
  shape-only ops (flatten, reshape, ...) are looked through;
- a run of two or more consecutive sibling blocks of one type is one group marked xN: the parent
  itself where the run is all its children (ResNet's `layer1`), otherwise a group of its own;
  each member keeps its own merge and its own shortcut, so a run expands into N blocks, each with
  its own skip;
- a long flat container of leaves with pooling in it (VGG's `features`) is split into stages
  that end at each pooling layer.

Node names are user text: a node is known by its index, and its name only travels as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TYPE_CHECKING

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ...record import Profile


# Ops that only move or relabel data; edges look through them.
SHAPE_OPS = {"flatten", "reshape", "view", "permute", "size", "select", "slice", "transpose", "contiguous",
             "unsqueeze", "squeeze", "expand", "chunk", "split", "t", "numel", "to", "type_as", "clone",
             "detach", "unbind", "expand_as", "view_as", "flatten_", "unflatten", "narrow", "repeat",
             "getitem", "__getitem__", "Int", "ImplicitTensorToNum", "ScalarImplicit", "zeros", "ones",
             "arange", "full", "new_zeros", "new_ones", "zeros_like", "ones_like", "copy_", "dropout"}
STAGE_MIN_CHILDREN = 8  # a flat container longer than this, with pooling inside, is split into stages
MERGES = ("add", "concat", "mul")
ROOT = "(model)"


@dataclass
class Node:
    """One node of the tree: a group (a module with children, a run, a stage) or an atom."""

    id: int
    name: str                     # full name: a layer row's name, or a synthetic group's label
    kind: str                     # "group" or "atom"
    type: str                     # class name (Conv2d, Bottleneck), op name (add_) or "run"/"stage"
    parent: int | None
    children: list[int] = field(default_factory=list)
    row: str | None = None        # the layer row this node is (for the table), None if synthetic/op
    cat: str = ""                 # atoms: the op category (conv, pool, merge, ...)
    merge: str | None = None      # atoms: add/concat/mul when the op merges tensors
    block: dict[str, Any] | None = None  # recognised block: kind, merge, skip, own merges
    run: dict[str, Any] | None = None    # a run of blocks: count, type, merges, skips
    stage: int | None = None      # a synthetic stage's number
    call: int = 1                 # atoms of a leaf module called several times: which call
    ops: list[int] = field(default_factory=list)  # graph node indexes this atom stands for
    first_op: int = 1 << 30       # dataflow order (the first op inside)
    figures: dict[str, Any] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    inputs: list[list[int]] = field(default_factory=list)  # input shapes


@dataclass
class Tree:
    """The whole tree: nodes by id (0 is the root), atom-level edges in dataflow order (source,
    target; -1 is the model's input, -2 its output), and modules with no op of their own."""

    nodes: list[Node]
    edges: list[tuple[int, int]]
    absorbed: dict[str, int]      # module row name -> the node that shows it (e.g. a fused op's)

    def ancestors(self, nid: int) -> list[int]:
        out = []
        p = self.nodes[nid].parent
        while p is not None:
            out.append(p)
            p = self.nodes[p].parent
        return out


def dense_bus(graph: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Draw dense concatenation as a bus: a concat whose inputs include all of an earlier concat's
    inputs takes that concat as one input instead (concat of a concat is the same tensor). This keeps
    DenseNet's edges linear in depth instead of quadratic, without changing what flows where."""
    out, cats = [], []
    for n in graph:
        if n.get("merge") == "concat" or n.get("op") == "cat":
            ins = list(n["in"])
            for prev_i, prev_ins in reversed(cats):
                if set(prev_ins) < set(ins):
                    ins = [prev_i] + [i for i in ins if i not in prev_ins]
                    break
            cats.append((n["i"], list(n["in"])))
            n = {**n, "in": ins}
        out.append(n)
    return out


def build_tree(profile: Profile) -> Tree:
    """The tree of `profile` (see the module docstring for the rule)."""
    rows = {r["name"]: r for r in profile.layers}
    nodes: list[Node] = []
    by_row: dict[str, int] = {}

    def add(node_kwargs: dict[str, Any]) -> Node:
        node = Node(id=len(nodes), **node_kwargs)
        nodes.append(node)
        if node.parent is not None:
            nodes[node.parent].children.append(node.id)
        return node

    # 1. groups: every non-leaf row, in row order (a parent's row comes before its children's)
    for r in profile.layers:
        if r["leaf"] and r["name"] != ROOT:
            continue
        parent = by_row.get(r.get("parent") or "") if r["name"] != ROOT else None
        by_row[r["name"]] = add(dict(name=r["name"], kind="group", type=r["type"], parent=parent,
                                     row=r["name"])).id
    blocks = {b["name"]: b for b in profile.blocks}

    # 2. atoms: calls of leaf modules, and the ops groups run themselves
    atom_of: dict[int, int] = {}
    open_call: dict[str, Node] = {}
    calls: dict[str, int] = {}
    for n in profile.graph:
        scope = n.get("scope") or ROOT
        row = rows.get(scope)
        if row is None:
            scope, row = ROOT, rows[ROOT]
        if row["leaf"] and scope != ROOT:
            current = open_call.get(scope)
            if current is not None and any(atom_of.get(i) == current.id for i in n["in"]):
                atom = current  # the same call goes on (a leaf module running several ops)
            else:
                calls[scope] = calls.get(scope, 0) + 1
                atom = add(dict(name=scope, kind="atom", type=row["type"], parent=by_row.get(row.get("parent")),
                                row=scope, cat=n["cat"], call=calls[scope]))
                open_call[scope] = atom
        elif n["cat"] == "other" and n["op"] in SHAPE_OPS:
            continue  # looked through
        else:
            atom = add(dict(name=f"{scope}:{n['op']}" if scope != ROOT else n["op"], kind="atom", type=n["op"],
                            parent=by_row[scope], cat=n["cat"]))
        atom.ops.append(n["i"])
        atom.first_op = min(atom.first_op, n["i"])
        if n.get("merge") or n["op"] in ("cat", "concat"):
            atom.merge = n.get("merge") or "concat"
        atom_of[n["i"]] = atom.id

    edges = _atom_edges(profile, atom_of)
    dead = _in_place_sinks(nodes, edges, profile)
    for nid in dead:  # not drawn: their work is still counted in their group's figures
        nodes[nid].kind = "hidden"
    edges = [(a, b) for a, b in edges if a not in dead and b not in dead]
    nodes, new_id, absorbed = _drop_empty_groups(nodes, rows)
    tree = Tree(nodes, [(new_id[a] if a >= 0 else a, new_id[b] if b >= 0 else b) for a, b in edges], absorbed)
    for node in nodes:
        _order_children(tree, node)
    _figures(profile, tree, rows, blocks)
    for node in list(tree.nodes):
        if node.kind == "group":
            _split_stages(tree, node)
            _mark_runs(tree, node)
    return tree


def _in_place_sinks(nodes: list[Node], edges: list[tuple[int, int]], profile: Profile) -> set[int]:
    """Atoms that only write in place into a tensor nothing reads afterwards (Swin's attention
    mask, built with fill_): dead ends in the picture, so not drawn."""
    graph = {n["i"]: n for n in profile.graph}
    has_out = {a for a, _ in edges}
    return {n.id for n in nodes if n.kind == "atom" and n.id not in has_out and n.ops
            and all(graph[i]["op"].endswith("_") and graph[i]["op"] != "relu_" for i in n.ops)}


def _atom_edges(profile: Profile, atom_of: dict[int, int]) -> list[tuple[int, int]]:
    """Edges between atoms, looking through shape-only ops (-1: input, -2: output)."""
    reps: dict[int, set[int]] = {-1: {-1}}
    edges: dict[tuple[int, int], None] = {}
    for n in dense_bus(profile.graph):
        mine = atom_of.get(n["i"])
        srcs: set[int] = set()
        for p in n["in"]:
            srcs |= reps.get(p, {-1})
        if mine is not None:
            for s in sorted(srcs):
                if s != mine:
                    edges[(s, mine)] = None
        reps[n["i"]] = {mine} if mine is not None else srcs
    if profile.graph:
        for s in sorted(reps.get(profile.graph[-1]["i"], set())):
            edges[(s, -2)] = None
    return list(edges)


def _drop_empty_groups(nodes: list[Node], rows: dict[str, dict]) -> tuple[list[Node], dict[int, int], dict[str, int]]:
    """Groups with no atom below them ran no op (a fused op did their work, or they were never
    called): they are dropped, and their rows point at the nearest kept ancestor, so search still
    lands somewhere. Returns the kept nodes renumbered, old id -> new id, and row name -> node."""
    kept: set[int] = set()
    for n in nodes:
        if n.kind == "atom":
            p: int | None = n.id
            while p is not None and p not in kept:
                kept.add(p)
                p = nodes[p].parent
    new_id = {old: new for new, old in enumerate(sorted(kept))}
    out = [n for n in nodes if n.id in kept]
    for n in out:
        n.id = new_id[n.id]
        n.parent = None if n.parent is None else new_id[n.parent]
        n.children = [new_id[c] for c in n.children if c in kept]
    group_of = {n.row: n.id for n in out if n.kind == "group" and n.row}
    shown = {n.row for n in out if n.row}
    absorbed: dict[str, int] = {}
    for name, r in rows.items():
        parent = r.get("parent")
        while name not in shown and parent is not None and parent not in group_of:
            parent = rows.get(parent, {}).get("parent")
        if name not in shown:
            absorbed[name] = group_of.get(parent, 0)
    return out, new_id, absorbed


def _order_children(tree: Tree, node: Node) -> None:
    """Children in dataflow order (by the first op below each), so runs and stages read as they run."""
    def first(nid: int) -> int:
        n = tree.nodes[nid]
        if n.kind == "atom":
            return n.first_op
        n.first_op = min((first(c) for c in n.children), default=1 << 30)
        return n.first_op

    if node.kind == "group":
        first(node.id)
        node.children.sort(key=lambda c: tree.nodes[c].first_op)


# ---- figures ---------------------------------------------------------------------------------
ROW_FIGURES = ("params", "own_params", "macs", "flops", "activations", "output_shape", "receptive_field",
               "effective_stride", "effective_padding", "depth", "latency_ms", "bytes", "intensity",
               "achieved_flops", "bound", "roof")


def _figures(profile: Profile, tree: Tree, rows: dict[str, dict], blocks: dict[str, dict]) -> None:
    graph = {n["i"]: n for n in profile.graph}
    for node in tree.nodes:
        row = rows.get(node.row or "")
        if node.kind == "group" or (row is not None and not _shared_call(tree, node)):
            node.figures = {k: row.get(k) for k in ROW_FIGURES} if row else {}
        else:
            node.figures = _op_figures([graph[i] for i in node.ops], row)
        if node.kind == "atom":
            last = graph[node.ops[-1]]
            node.attrs = {k: v for k, v in (last.get("attrs") or {}).items() if v is not None}
            node.inputs = [graph[i]["shape"] if i in graph else profile.input_shape
                           for i in graph[node.ops[0]]["in"] if i in graph or i == -1]
        if node.row in blocks:
            b = blocks[node.row]
            merges = [tree.nodes[c] for c in node.children if tree.nodes[c].kind == "atom" and tree.nodes[c].merge]
            node.block = {"kind": b["kind"], "merge": b.get("merge"), "skip": b.get("skip"), "merges": len(merges),
                          # tensors its own merge joins, as traced (a dense layer: every earlier map)
                          "merge_inputs": max((len(graph[i]["in"]) for m in merges for i in m.ops), default=0)}
    _group_inputs(tree)


def _shared_call(tree: Tree, node: Node) -> bool:
    """An atom that is one of several calls of its module: its figures are its own ops'."""
    return node.call > 1 or any(n.row == node.row and n.call > 1 for n in tree.nodes[node.parent or 0].children
                                for n in [tree.nodes[n]])


def _op_figures(ops: list[dict[str, Any]], row: dict[str, Any] | None) -> dict[str, Any]:
    """An op atom's figures from its graph nodes: MACs summed, the last op's shape and field. Its
    activations are not counted per op (null, not zero); a module's weights are its row's."""
    last = ops[-1]
    macs = sum(o.get("macs") or 0 for o in ops)
    return {"params": row.get("own_params") if row else 0, "macs": macs, "flops": 2 * macs,
            "activations": None, "output_shape": last.get("shape"), "receptive_field": last.get("receptive_field"),
            "effective_stride": last.get("effective_stride"), "effective_padding": last.get("effective_padding"),
            "depth": last.get("depth")}


def _group_inputs(tree: Tree) -> None:
    """A group's input shapes: those of the edges that enter it from outside."""
    shapes = {n.id: n.figures.get("output_shape") for n in tree.nodes}
    anc = {n.id: set(tree.ancestors(n.id)) for n in tree.nodes if n.kind == "atom"}
    seen: dict[int, list] = {}
    for a, b in tree.edges:
        if b < 0:
            continue
        inner = anc[b] - (anc.get(a, set()) if a >= 0 else set())
        shp = shapes.get(a) if a >= 0 else None
        for g in inner:
            lst = seen.setdefault(g, [])
            if shp not in lst:
                lst.append(shp)
    for g, lst in seen.items():
        tree.nodes[g].inputs = [s for s in lst if s]


# ---- stages and runs ---------------------------------------------------------------------------
def _insert_group(tree: Tree, parent: Node, members: list[int], **kwargs: Any) -> Node:
    """A synthetic group between `parent` and `members` (consecutive children of parent)."""
    node = Node(id=len(tree.nodes), parent=parent.id, kind="group", children=list(members), **kwargs)
    tree.nodes.append(node)
    at = parent.children.index(members[0])
    parent.children[at:at + len(members)] = [node.id]
    for m in members:
        tree.nodes[m].parent = node.id
    node.first_op = tree.nodes[members[0]].first_op
    node.figures = _sum_figures([tree.nodes[m] for m in members])
    node.inputs = tree.nodes[members[0]].inputs
    return node


SUMMED = ("params", "macs", "flops", "activations", "latency_ms", "bytes")
LAST = ("output_shape", "receptive_field", "effective_stride", "effective_padding", "depth")


def _sum_figures(members: list[Node]) -> dict[str, Any]:
    """A synthetic group's figures: counts summed (null if any member's is unknown), the field,
    stride, depth and shape of its last member."""
    out: dict[str, Any] = {}
    for k in SUMMED:
        vals = [m.figures.get(k) for m in members]
        out[k] = None if any(v is None for v in vals) else sum(vals)
    for k in LAST:
        out[k] = members[-1].figures.get(k)
    return out


def _own(name: str, parent: str | None) -> str:
    if parent and name.startswith(parent + ".") and len(name) > len(parent) + 1:
        return name[len(parent) + 1:]
    return name


def _split_stages(tree: Tree, node: Node) -> None:
    """VGG's and AlexNet's `features`: a long container of leaves, split after each pooling layer."""
    kids = [tree.nodes[c] for c in node.children]
    if len(kids) <= STAGE_MIN_CHILDREN or any(k.kind != "atom" for k in kids):
        return
    pools = [i for i, k in enumerate(kids) if k.cat == "pool"]
    if len(pools) < 2:
        return
    cuts, start = [], 0
    for p in pools:
        cuts.append(kids[start:p + 1])
        start = p + 1
    if start < len(kids):
        cuts.append(kids[start:])
    for number, chunk in enumerate(cuts, 1):
        first, last = _own(chunk[0].name, node.name), _own(chunk[-1].name, node.name)
        _insert_group(tree, node, [k.id for k in chunk], name=f"{node.name}[{first}–{last}]",
                      type=f"stage {number}", stage=number)


def _mark_runs(tree: Tree, node: Node) -> None:
    """Consecutive sibling blocks of one type fold into one xN group (see the module docstring)."""
    kids = [tree.nodes[c] for c in node.children]
    runs: list[list[Node]] = []
    for k in kids:
        if k.kind == "group" and k.block and runs and runs[-1][-1].type == k.type and runs[-1][-1].block:
            runs[-1].append(k)
        else:
            runs.append([k])
    for members in runs:
        if len(members) < 2:
            continue
        info = {"count": len(members), "type": members[0].type,
                "merge": next((m.block["merge"] for m in members if m.block and m.block.get("merge")), None),
                "merges": sum(m.block.get("merges", 0) for m in members if m.block),
                "skips": [m.block.get("skip") if m.block else None for m in members]}
        rest = [k for k in kids if k not in members]
        if node.parent is not None and all(k.kind == "atom" and k.merge for k in rest):
            # the run is all the parent holds, but for its own merge (a dense block's final concat)
            node.run = info
        else:
            first, last = members[0].name, _own(members[-1].name, node.name if node.row else None)
            _insert_group(tree, node, [m.id for m in members], name=f"{first} … {_own(last, node.name)}",
                          type=members[0].type, run=info)
