"""The dashboard's Atlas page: every profiled model in the store, by year and by accuracy vs MACs.

Filtering happens on the server, over rows cached in memory (archviz.atlas.AtlasCache): a warm
request filters and draws, it never reads a profile. Every client value is checked here first
(families must be names the store holds, the search is bounded plain text, clicks must name a
stored model). A click on a catalogue model opens it in the Explorer (/explorer?model=NAME)."""

from __future__ import annotations

from typing import Any

from dash import Input, Output, dcc, html

from .. import atlas as data
from ..render import atlas as figures
from ..render.numbers import grouped
from . import validate
from .validate import BadField

CACHE = data.AtlasCache()
MAX_UNPLACED_LISTED = 300  # names in the "without a paper year" list; the count is always exact
ATLAS_STYLE = {"height": "560px"}


def rows() -> list[data.AtlasRow]:
    """The store's rows, rebuilt only when the store file changed."""
    from .logic import shared_store

    return CACHE.rows(shared_store())


# -- client values ---------------------------------------------------------------------------------
def search_text(field: str, value: Any) -> str:
    """The search box: plain text up to data.MAX_SEARCH characters (never a pattern)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise BadField(field, f"search is text, not {type(value).__name__}")
    if len(value) > data.MAX_SEARCH:
        raise BadField(field, f"search is at most {data.MAX_SEARCH} characters (got {len(value)})")
    return value.strip()


def with_weights(rows_: list[data.AtlasRow], weights: str) -> list[data.AtlasRow]:
    """The rows with torchvision's top-1 from `weights` ("v1", the default everywhere, or "best"):
    the switch the one accuracy rule keeps visible."""
    import dataclasses

    from ..catalog import accuracy

    if weights == "v1":
        return rows_
    out = []
    for r in rows_:
        pub = accuracy(r.name, weights) if r.source == "torchvision" else None
        out.append(dataclasses.replace(r, acc1=pub.get("acc@1"), acc5=pub.get("acc@5"), weights=pub.get("weights"))
                   if pub else r)
    return out


WEIGHTS = ("v1", "best")


def view(chosen: Any, search: Any, metric: Any, weights: Any = "v1") -> dict[str, Any]:
    """The page's figures and messages for one filter; bad fields are named and ignored."""
    from .logic import field_errors

    all_rows = rows()
    (chosen, search, metric, weights), errors = field_errors(
        (validate.subset, "family", chosen, data.families(all_rows)),
        (search_text, "search", search), (validate.choice, "metric", metric, list(figures.METRICS)),
        (validate.choice, "weights", weights, list(WEIGHTS)))
    shown = data.filter_rows(with_weights(all_rows, weights or "v1"), chosen or (), search or "")
    empty = figures.EMPTY_STORE if not all_rows else figures.NOTHING_MATCHES
    return {"errors": errors, "rows": shown, "total": len(all_rows),
            "year": figures.by_year(shown, metric or "params", empty),
            "accuracy": figures.accuracy_vs_macs(shown, empty, weights or "v1")}


def click_target(click: Any) -> tuple[str | None, str | None]:
    """(Explorer URL, message) for a click on a point: only a stored model's name is accepted."""
    from .logic import catalogue

    name = validate.clicked_name(click)
    row = next((r for r in rows() if r.name == name), None) if name else None
    if row is None:
        return None, None
    href = row.explorer_href(catalogue())
    if href:
        return href, f"Opening {row.name} in the Explorer…"
    return None, (f"{row.name} is not a catalogue model, so the Explorer cannot open it: "
                  f"run `archviz report {row.name}` for its report.")


# -- layout ----------------------------------------------------------------------------------------
def _family_option(fam: str, n: int, colour: str) -> dict[str, Any]:
    return {"label": html.Span([html.Span("●", style={"color": colour}), f" {fam} ({n})"]),
            "value": fam, "search": fam}


def family_options(all_rows: list[data.AtlasRow]) -> list[dict[str, Any]]:
    """Every family in the store, earliest first, with its colour (the dropdown is the legend too)."""
    out = []
    for fam in data.families(all_rows):
        members = [r for r in all_rows if r.family == fam]
        out.append(_family_option(fam, len(members), members[0].colour))
    return out


def unplaced_list(all_rows: list[data.AtlasRow]) -> Any:
    names = [r.name for r in all_rows if not r.placed]
    if not names:
        return None
    listed = ", ".join(names[:MAX_UNPLACED_LISTED])
    more = f" … and {len(names) - MAX_UNPLACED_LISTED} more" if len(names) > MAX_UNPLACED_LISTED else ""
    return html.Details([html.Summary(f"{figures.models(len(names))} without a paper year"),
                         html.P(listed + more, className="muted")], id="atlas-unplaced")


def page() -> html.Main:
    from .widgets import GRAPH_CONFIG, field

    all_rows = rows()
    return html.Main([html.Section([
        html.H2("Atlas: every profiled model, 2012 to today"),
        html.P(figures.intro(all_rows, interactive=True), className="muted", id="atlas-intro"),
        html.Div([
            field("families (none = all)", dcc.Dropdown(
                id="atlas-family", options=family_options(all_rows), value=[], multi=True,
                placeholder="all families", style={"width": "340px"}), "atlas-family"),
            field(f"search names (plain text, up to {data.MAX_SEARCH} characters)", dcc.Input(
                id="atlas-search", type="text", value="", debounce=0.4, maxLength=data.MAX_SEARCH,
                placeholder="e.g. resnet", style={"width": "240px"}), "atlas-search"),
            field("by year", dcc.RadioItems(
                id="atlas-metric", value="params", inline=True,
                options=[{"label": " depth", "value": "depth"}, {"label": " params", "value": "params"},
                         {"label": " MACs", "value": "macs"}]), "atlas-metric"),
            field("top-1 from", dcc.RadioItems(
                id="atlas-weights", value="v1", inline=True,
                options=[{"label": " original weights (V1)", "value": "v1"},
                         {"label": " torchvision's best", "value": "best"}]), "atlas-weights"),
        ], className="controls"),
        html.Div(id="atlas-message"),
        html.Div(id="atlas-shown", className="muted", role="status"),
        html.Div(id="atlas-click", role="status"),
        dcc.Location(id="atlas-go", refresh="callback-nav"),
        dcc.Graph(id="atlas-year", config=GRAPH_CONFIG, style=ATLAS_STYLE),
        dcc.Graph(id="atlas-accuracy", config=GRAPH_CONFIG, style=ATLAS_STYLE),
        unplaced_list(all_rows),
    ])])


def register(app: Any) -> None:
    """The Atlas's callbacks: filter (server side) and click (to the Explorer)."""
    from dash import no_update

    from .widgets import field_message, guarded, message

    @app.callback(Output("atlas-message", "children"), Output("atlas-family-msg", "children"),
                  Output("atlas-search-msg", "children"), Output("atlas-metric-msg", "children"),
                  Output("atlas-weights-msg", "children"),
                  Output("atlas-shown", "children"), Output("atlas-year", "figure"),
                  Output("atlas-accuracy", "figure"),
                  Input("atlas-family", "value"), Input("atlas-search", "value"), Input("atlas-metric", "value"),
                  Input("atlas-weights", "value"))
    @guarded(8)
    def atlas_filter(chosen, search, metric, weights):
        v = view(chosen, search, metric, weights)
        errors = v["errors"]
        shown = f"Showing {grouped(len(v['rows']))} of {grouped(v['total'])} models." if v["total"] else None
        return (message("Fix the marked field; it is ignored meanwhile.") if errors else None,
                *(field_message(errors, f) for f in ("family", "search", "metric", "weights")),
                shown, v["year"], v["accuracy"])

    @app.callback(Output("atlas-click", "children"), Output("atlas-go", "href"),
                  Input("atlas-year", "clickData"), Input("atlas-accuracy", "clickData"),
                  prevent_initial_call=True)
    @guarded(2)
    def atlas_click(click_year, click_accuracy):
        from dash import ctx

        click = click_accuracy if ctx.triggered_id == "atlas-accuracy" else click_year
        href, text = click_target(click)
        return (html.Div(text, className="muted") if text else None), (href or no_update)
