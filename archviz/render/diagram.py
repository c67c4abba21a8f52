"""Static diagrams of the graph view (graphviz): `archviz diagram`, `Profile.diagram()`, and the
SVG the dashboard and report fall back to. Reads a Profile; never traces.

What is drawn is one expansion state of the graph room's tree (render/graph): the same folding rule,
labels and DOT as the interactive view, so a file exported here looks like the view on screen.
Levels: 'blocks' is the stage view the interactive graph opens at (containers open, recognised
blocks closed, runs of one block type folded into xN); 'layers' opens every group. `expand` opens
more (each named module and every group above it), `colour` picks the overlay, `fold=False`
opens every folded run into its blocks (each drawn with its own merge and shortcut)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, TYPE_CHECKING

from ..errors import ArchvizError
from ..files import write_atomic
from .graph import OVERLAYS, Graph
from .graph.labels import RAMP, dot_text  # noqa: F401  (dot_text: the one escaper, re-exported)

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

FORMATS = {".svg", ".png", ".pdf", ".dot"}
LEVELS = ("blocks", "layers")


def check_colour(colour: str) -> bool:
    """An overlay name checked before any work; True when it needs a measured profile."""
    from .graph.labels import MEASURED_OVERLAYS

    usable = ", ".join(k for k in OVERLAYS if k != "change")
    if colour == "change":
        raise ArchvizError(f"colour 'change' needs two models (archviz diff A B, a report or the dashboard's "
                           f"Compare with two); here use {usable}", 2)
    if colour not in OVERLAYS:
        raise ArchvizError(f"unknown colour {colour!r}: use {usable}", 2)
    return colour in MEASURED_OVERLAYS


def digraph_source(profile: Profile, level: str = "blocks", rankdir: str = "TB", fold: bool = True,
                   expand: Iterable[str] = (), colour: str = "macs", shapes: bool = False) -> str:
    """The DOT text of the diagram (see the module docstring)."""
    if level not in LEVELS:
        raise ArchvizError(f"unknown level {level!r}: use blocks or layers", 2)
    if rankdir not in ("TB", "LR"):
        raise ArchvizError(f"unknown rankdir {rankdir!r}: use TB or LR", 2)
    check_colour(colour)
    graph = Graph(profile)
    state = graph.expanded("initial" if level == "blocks" else "all", expand)
    if not fold:
        for n in graph.tree.nodes:
            if n.run:
                state |= {n.id, *graph.tree.ancestors(n.id)}
    text = graph.dot(state, colour, rankdir=rankdir, shapes=shapes)
    return text[:text.rindex("}")] + _legend(colour, graph) + "}"


def build_digraph(profile: Profile, level: str = "blocks", rankdir: str = "TB", fold: bool = True, **options: Any):
    """The diagram of `profile` as a graphviz.Source (nothing rendered yet)."""
    import graphviz

    return graphviz.Source(digraph_source(profile, level, rankdir, fold, **options))


def _legend(colour: str, graph: Graph) -> str:
    """A legend node: the overlay's ramp with its range, and the merge glyphs."""
    from .graph import page_domains
    from .numbers import human

    title, _, scale = OVERLAYS[colour]
    dom = page_domains([graph]).get(colour)
    if scale == "category":
        from .graph.labels import BOUND_COLOURS

        cells = "".join(f'<TD BGCOLOR="{c}"><FONT POINT-SIZE="8" COLOR="white">{k}</FONT></TD>'
                        for k, c in BOUND_COLOURS.items())
        span, low, high = len(BOUND_COLOURS), "", ""
    else:
        cells = "".join(f'<TD BGCOLOR="{c}" WIDTH="18"> </TD>' for c in RAMP)
        span = len(RAMP)
        low, high = (human(dom[0]), human(dom[1])) if dom else ("no data", "")
    scale_note = " (log scale)" if scale == "log" else ""
    return (f'legend [id="legend" class="legend" shape=plaintext style="" label=<<TABLE BORDER="0" CELLBORDER="0" '
            f'CELLSPACING="1"><TR><TD COLSPAN="{span}"><FONT POINT-SIZE="9">fill = {dot_text(title)}{scale_note}</FONT>'
            f'</TD></TR><TR>{cells}</TR><TR><TD COLSPAN="{span}"><FONT POINT-SIZE="8">{dot_text(low)} … '
            f'{dot_text(high)}</FONT></TD></TR><TR><TD COLSPAN="{span}"><FONT POINT-SIZE="9" COLOR="#1f77b4">'
            f'+ residual add</FONT>  <FONT POINT-SIZE="9" COLOR="#9467bd">C concat</FONT>  <FONT POINT-SIZE="9" '
            f'COLOR="#2ca02c">× gate</FONT>  <FONT POINT-SIZE="9">dashed = shortcut · double border = '
            f'folded run</FONT></TD></TR></TABLE>>];\n')


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
    """A profile's diagram as notebooks want it: shown inline (`_repr_svg_`), `.svg` for the
    text, `.save(path)` by suffix, `.digraph` for graphviz itself (a graphviz.Source)."""

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
