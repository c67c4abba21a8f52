"""The architecture as a map you can open: one hierarchical graph of a Profile, drawn statically by
`archviz diagram` (graphviz) and interactively in the report, the notebook and the dashboard
(graphviz compiled to WebAssembly, vendored under assets/graph/). Both faces share the tree and
its folding rule (tree.py), the labels (labels.py), the projection of an expansion state
(view.py) and the DOT they lay out (dot.py).

Reads a Profile; never traces."""

from __future__ import annotations

from typing import Any, Iterable, TYPE_CHECKING

from ...errors import ArchvizError
from ..numbers import printable
from .dot import BIG_ATTRS, BIG_GRAPH, head_lines, to_dot
from .labels import (CATEGORIES, MEASURED_OVERLAYS, MERGE_STYLE, NO_DATA, OVERLAYS, RAMP, cluster_label, detail,
                     domain, label, metric, title)
from .tree import Tree, build_tree
from .view import View, all_expanded, expand_to, initial_expanded, level_expanded, project

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ...record import Profile

__all__ = ["Graph", "page_domains", "OVERLAYS"]


class Graph:
    """A profile's tree with its labels, ready to project and draw."""

    def __init__(self, profile: Profile, changes: dict[str, str] | None = None) -> None:
        """`changes`: row name -> "added", "removed" or "changed" (archviz diff), for the change overlay."""
        self.profile = profile
        self.tree: Tree = build_tree(profile)
        self.changes = dict(changes or {})
        if self.changes:
            self._mark_changes()
        total = float(profile.totals.get("macs") or 0)
        self.labels = [label(self.tree, n, total) for n in self.tree.nodes]
        self.cluster_labels = {n.id: cluster_label(self.tree, n) for n in self.tree.nodes if n.kind == "group"}
        spatial = profile.input_shape[2:] or profile.input_shape[-1:] or [1]
        self.input_size = float(max(spatial))

    def _mark_changes(self) -> None:
        """Each node's change: its row's, or for a group "changed" when anything below it changed."""
        for n in self.tree.nodes:
            kind = self.changes.get(n.row or "")
            if kind:
                n.figures["change"] = kind
                for a in self.tree.ancestors(n.id):
                    self.tree.nodes[a].figures.setdefault("change", "changed")

    # -- expansion states ----------------------------------------------------------------------
    def find(self, name: str) -> int:
        """The node that shows module `name` (a row name, or a synthetic group's label)."""
        for n in self.tree.nodes:
            if n.row == name or n.name == name:
                return n.id
        if name in self.tree.absorbed:
            return self.tree.absorbed[name]
        raise ArchvizError(f"no module named {name!r} in {self.profile.model}", 2)

    def expanded(self, level: str | int = "initial", expand: Iterable[str] = ()) -> set[int]:
        """The open groups for a level ("initial": the stage view, "all", or a tree depth) with
        the modules named in `expand` opened too (and every group above them)."""
        if level == "initial":
            state = initial_expanded(self.tree)
        elif level == "all":
            state = all_expanded(self.tree)
        else:
            state = level_expanded(self.tree, int(level))
        for name in expand:
            nid = self.find(name)
            state = expand_to(self.tree, state, nid)
            if self.tree.nodes[nid].kind == "group":
                state.add(nid)
        return state

    def view(self, expanded: set[int]) -> View:
        return project(self.tree, expanded)

    def dot(self, expanded: set[int], colour: str = "macs", doms: dict | None = None, **options: Any) -> str:
        if colour not in OVERLAYS:
            raise ArchvizError(f"unknown colour {colour!r}: use {', '.join(OVERLAYS)}", 2)
        return to_dot(self.tree, self.view(expanded), self.labels, self.cluster_labels, model=self.profile.model,
                      input_shape=self.profile.input_shape, output_shape=self.profile.layers[0].get("output_shape"),
                      colour=colour, doms=doms if doms is not None else page_domains([self]), **options)

    # -- the browser's data --------------------------------------------------------------------
    def data(self) -> dict[str, Any]:
        """Everything archviz-graph.js needs, as JSON-able data (names travel as data only: shown
        names have controls and bidi marks escaped; `row` keeps the raw name, to find table rows)."""
        t, p = self.tree, self.profile
        nodes = []
        for n in t.nodes:
            nodes.append({
                "id": n.id, "name": printable(n.name), "title": printable(title(t, n)),
                "detail": printable(detail(n)), "kind": n.kind,
                "type": n.type, "parent": n.parent, "children": n.children, "row": n.row, "cat": n.cat,
                "merge": n.merge, "block": n.block, "run": n.run, "stage": n.stage, "first": n.first_op,
                "figures": n.figures, "attrs": n.attrs, "inputs": n.inputs,
                "metrics": {k: metric(n, k, self.input_size) for k in OVERLAYS},
                "label": self.labels[n.id], "cluster": self.cluster_labels.get(n.id),
            })
        return {"model": p.model, "input_shape": p.input_shape, "output_shape": p.layers[0].get("output_shape"),
                "total_macs": p.totals.get("macs"), "measured": p.measurement is not None,
                "changes": bool(self.changes),
                "nodes": nodes, "edges": t.edges, "absorbed": t.absorbed,
                "absorbed_shown": {printable(k): v for k, v in t.absorbed.items()},
                "initial": sorted(initial_expanded(t)), "levels": max(len(t.ancestors(n.id)) for n in t.nodes),
                "domains": page_domains([self]),
                "dot": {"head": head_lines(p.model, p.input_shape, p.layers[0].get("output_shape")),
                        "big": BIG_GRAPH, "big_attrs": BIG_ATTRS},
                "style": {"ramp": RAMP, "no_data": NO_DATA, "categories": CATEGORIES,
                          "merge": {k: list(v) for k, v in MERGE_STYLE.items()},
                          "overlays": {k: list(v) for k, v in OVERLAYS.items()},
                          "measured_overlays": list(MEASURED_OVERLAYS)}}


def page_domains(graphs: list[Graph]) -> dict[str, list[float] | None]:
    """Each overlay's scale over every node of every graph on a page: one scale for a comparison."""
    return {key: domain([metric(n, key, g.input_size) for g in graphs for n in g.tree.nodes], scale)
            for key, (_, _, scale) in OVERLAYS.items() if scale != "category"}
