"""The graph view as HTML: the vendored scripts and the data a page mounts (report, notebook), and
`GraphWidget`, what `Profile.graph()` returns. The view needs no server: graphviz runs in the page
as WebAssembly, so a report opened from disk reflows as a reader opens groups."""

from __future__ import annotations

import functools
import html
import itertools
from pathlib import Path
from typing import Any, Iterable, TYPE_CHECKING

from .. import ASSETS, script_json
from ...errors import ArchvizError
from . import Graph, page_domains

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ...record import Profile

_ids = itertools.count()


@functools.lru_cache(maxsize=1)
def scripts() -> str:
    """graphviz (WebAssembly) and the view's own script, to inline in a page's <script>."""
    folder = ASSETS / "graph"
    return (folder / "viz-global.js").read_text(encoding="utf-8") + "\n" + \
        (folder / "archviz-graph.js").read_text(encoding="utf-8")


@functools.lru_cache(maxsize=1)
def css() -> str:
    return (ASSETS / "graph" / "graph.css").read_text(encoding="utf-8")


def page_data(graphs: list[Graph]) -> dict[str, Any]:
    """What a page mounts: each graph's data and one colour scale for all of them."""
    return {"domains": page_domains(graphs), "graphs": [g.data() for g in graphs]}


def static_svg(graph: Graph, expanded: set[int], doms: dict | None = None) -> str:
    """The first view drawn by the local `dot`, shown until the script takes over (and where
    scripts do not run); '' when graphviz is not installed."""
    from ..diagram import render_bytes

    try:
        svg = render_bytes(_source(graph.dot(expanded, doms=doms)), "svg").decode()
    except ArchvizError:
        return ""
    return svg[svg.find("<svg"):]


def _source(text: str):
    import graphviz

    return graphviz.Source(text)


def notebook_html(profile: Profile) -> str:
    """A self-contained block for a notebook output: the static first view, replaced by the live
    view where scripts run (Jupyter, exported HTML)."""
    g = Graph(profile)
    element = f"archviz-graph-{next(_ids)}"
    fallback = static_svg(g, g.expanded())
    return (f'<style>{css()}</style><div id="{element}" class="avg-host">'
            f'<div style="overflow:auto">{fallback}</div></div>'
            f"<script>{scripts()}</script>"
            f"<script>(function(){{const d={script_json(page_data([g]))};"
            f"ArchvizGraph.mount(document.getElementById({script_json(element)}), d.graphs[0], "
            f"{{domains: d.domains}});}})();</script>")


class GraphWidget:
    """`Profile.graph()`: the interactive view inline in a notebook, and the same view drawn to a
    file (`save`) for a chosen expansion and overlay."""

    def __init__(self, profile: Profile) -> None:
        self.profile = profile
        self.graph = Graph(profile)

    def _repr_html_(self) -> str:
        return notebook_html(self.profile)

    def dot(self, level: str = "blocks", expand: Iterable[str] = (), colour: str = "macs", **options: Any) -> str:
        """The DOT of a state: `level` blocks (the stage view) or layers (all open), plus `expand`."""
        from ..diagram import digraph_source

        return digraph_source(self.profile, level, expand=expand, colour=colour, **options)

    def save(self, path: str | Path, level: str = "blocks", expand: Iterable[str] = (),
             colour: str = "macs", **options: Any) -> Path:
        """That state drawn to .svg, .png, .pdf or .dot (atomically), as `archviz diagram` does."""
        from ..diagram import write_diagram

        return write_diagram(self.profile, Path(path), level, expand=expand, colour=colour, **options)

    def __repr__(self) -> str:
        return f"<archviz GraphWidget of {html.escape(self.profile.model)}>"
