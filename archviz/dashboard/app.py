"""The Dash app: layout and wiring only; the work is in logic.py."""

from __future__ import annotations

from typing import Any

from dash import Dash, Input, Output, State, dash_table, dcc, html

from ..catalog import HISTORY
from ..render import ASSETS
from . import logic

PAGES = [("/", "History"), ("/explorer", "Explorer"), ("/compare", "Compare"), ("/lessons", "Lessons")]
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
GRAPH_STYLE = {"height": "440px"}  # a fixed box: graphs drawn while a loading overlay hides them keep their size
PAGE_SIZE = 25


def nav(path: str) -> html.Div:
    return html.Div([dcc.Link(label, href=href, className="active" if href == path else "", id=f"nav-{label.lower()}")
                     for href, label in PAGES], className="nav")


def cards(items: list[tuple[str, str, str]], colour: str = "#1f6feb") -> html.Div:
    return html.Div([html.Div([html.Div(k, className="k"), html.Div(v, className="v"), html.Div(n, className="n")],
                              className="card", style={"borderLeftColor": colour}) for k, v, n in items],
                    className="cards")


def message(text: str | None) -> Any:
    return html.Div(text, className="error", role="alert") if text else None


def history_page() -> html.Div:
    return html.Main([
        html.Section([
            html.H2("2012 → 2016: depth rose while parameters fell"),
            html.P("Every figure is computed by archviz on torchvision's model definitions; accuracy is "
                   "torchvision's published top-1 for its weights.", className="muted"),
            html.Div([
                html.Div([html.Label("compute"), dcc.RadioItems(
                    id="hist-metric", value="macs", inline=True,
                    options=[{"label": " GMACs", "value": "macs"}, {"label": " GFLOPs (2×MACs)", "value": "flops"}])]),
                html.Div([html.Label("axes"), dcc.RadioItems(
                    id="hist-scale", value="log", inline=True,
                    options=[{"label": " log", "value": "log"}, {"label": " linear", "value": "linear"}])]),
                html.Div([html.Label("variants"), dcc.Checklist(
                    id="hist-variants", value=list(HISTORY), inline=True,
                    options=[{"label": f" {h.label}", "value": n} for n, h in HISTORY.items()])]),
            ], className="controls"),
            dcc.Graph(id="hist-depth", config=GRAPH_CONFIG, style={"height": "480px"}),
            html.Div([dcc.Graph(id="hist-ilsvrc", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                      dcc.Graph(id="hist-bubble", config=GRAPH_CONFIG, style=GRAPH_STYLE)], className="grid2"),
        ])])


def explorer_page(names: list[str]) -> html.Div:
    return html.Main([
        html.Section([
            html.H2("Explorer"),
            html.Div([
                html.Div([html.Label("model"), dcc.Dropdown(id="ex-model", options=names, value="resnet50",
                                                           searchable=True, clearable=False, style={"width": "320px"})]),
                html.Div([html.Label("input size (pixels, empty = model default)"),
                          dcc.Input(id="ex-size", type="number", debounce=True, placeholder="default",
                                    style={"width": "160px"})]),
            ], className="controls"),
            dcc.Loading(id="ex-loading", type="circle", children=[
                html.Div(id="ex-message"), html.Div(id="ex-headline")]),
        ]),
        html.Section([html.H2("Block diagram"),
                      dcc.Loading(html.Iframe(id="ex-diagram", style={"width": "100%", "height": "760px",
                                                                     "border": "0"}))]),
        html.Section([html.H2("Charts"), html.P("Click a point to highlight its layer in the table.", className="muted"),
                      dcc.Loading([dcc.Graph(id="ex-depth", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-rf", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])]),
        html.Section([html.H2("Layers"), html.Div(id="ex-selected", className="muted"),
                      dash_table.DataTable(
                          id="ex-table", columns=[{"name": c.replace("_", " "), "id": c} for c in logic.TABLE_COLUMNS],
                          sort_action="native", filter_action="native", page_size=PAGE_SIZE,
                          style_table={"overflowX": "auto"},
                          style_cell={"fontFamily": "DejaVu Sans, Arial", "fontSize": "12px", "padding": "4px"},
                          style_header={"backgroundColor": "#eef2f8", "fontWeight": "600"})]),
    ])


def compare_page(names: list[str]) -> html.Div:
    return html.Main([
        html.Section([html.H2("Compare 2 to 4 models"),
                      dcc.Dropdown(id="cmp-models", options=names, multi=True,
                                   value=["vgg16", "googlenet", "resnet50", "densenet121"]),
                      dcc.Loading([html.Div(id="cmp-message"),
                                   dash_table.DataTable(id="cmp-table", style_cell={"fontSize": "13px"},
                                                        style_header={"fontWeight": "600"})])]),
        html.Section([dcc.Loading([dcc.Graph(id="cmp-depth", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="cmp-rf", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="cmp-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])]),
    ])


def lessons_page() -> html.Div:
    def field(id_: str, label: str, value: int) -> html.Div:
        return html.Div([html.Label(label), dcc.Input(id=id_, type="number", value=value, debounce=True,
                                                      style={"width": "110px"})])
    return html.Main([html.Section([
        html.H2("Design lessons, computed on real torch.nn modules"),
        html.P("Change a number: archviz builds the modules and counts their parameters, MACs and "
               "receptive fields.", className="muted"),
        html.Div([field("ls-channels", "channels", 128), field("ls-kernel", "large kernel", 5),
                  field("ls-width", "bottleneck width", 32), field("ls-growth", "dense growth", 32),
                  field("ls-layers", "layers (add vs concat)", 4)], className="controls"),
        dcc.Loading([html.Div(id="ls-message"), html.Div(id="ls-cards"), dcc.Graph(id="ls-figure", config=GRAPH_CONFIG, style=GRAPH_STYLE)]),
    ])])


def lesson_cards(result: dict[str, Any]) -> list[html.Div]:
    out = []
    for key in ("kernel", "bottleneck", "merge"):
        r = result[key]
        rows = [html.Tr([html.Th(h) for h in ("", "params", "MACs", "receptive field", "out channels")])]
        rows += [html.Tr([html.Td(v["label"]), html.Td(f"{v['params']:,}"), html.Td(f"{v['macs']:,}"),
                          html.Td(v["receptive_field"]), html.Td(v["out_channels"])]) for v in r["variants"]]
        out.append(html.Div([html.H3(r["title"]), html.P(r["explanation"], className="muted"),
                             html.Table(rows, className="compare"),
                             html.P(f"Parameter saving of the second: {100 * r['saving']:.1f}%", className="muted")],
                            className="lesson", id=f"lesson-{key}"))
    return out


def create_app(names: list[str] | None = None) -> Dash:
    names = names or logic.model_names()
    app = Dash(__name__, assets_folder=str(ASSETS), suppress_callback_exceptions=True,
               title="archviz dashboard", update_title=None)
    app.layout = html.Div([
        dcc.Location(id="url"),
        html.Header([html.H1("archviz"), html.Div("Why convolutional networks are built the way they are · "
                                                  "MACs = multiply-adds, FLOPs = 2 × MACs", className="sub")],
                    className="top"),
        html.Div(id="nav"), html.Div(id="page")])
    pages = {"/": history_page, "/explorer": lambda: explorer_page(names),
             "/compare": lambda: compare_page(names), "/lessons": lessons_page}

    @app.callback(Output("nav", "children"), Output("page", "children"), Input("url", "pathname"))
    def route(path):
        path = path if path in pages else "/"
        return nav(path), pages[path]()

    @app.callback(Output("hist-depth", "figure"), Output("hist-ilsvrc", "figure"), Output("hist-bubble", "figure"),
                  Input("hist-metric", "value"), Input("hist-scale", "value"), Input("hist-variants", "value"))
    def history(metric, scale, variants):
        figs = logic.history_figures(metric, scale, variants)
        return figs["depth"], figs["ilsvrc"], figs["bubble"]

    @app.callback(Output("ex-message", "children"), Output("ex-headline", "children"),
                  Output("ex-diagram", "srcDoc"), Output("ex-depth", "figure"), Output("ex-rf", "figure"),
                  Output("ex-share", "figure"), Output("ex-table", "data"),
                  Input("ex-model", "value"), Input("ex-size", "value"))
    def explorer(model, size):
        r = logic.explore(model, size)
        empty = {"data": [], "layout": {"template": "plotly_white"}}
        if "error" in r:
            return message(r["error"]), None, "", empty, empty, empty, []
        colour = (r["history"] or {}).get("colour", "#1f6feb")
        return (None, cards(r["headline"], colour), r["svg"], r["depth_fig"], r["rf_fig"], r["share_fig"], r["rows"])

    @app.callback(Output("ex-table", "style_data_conditional"), Output("ex-selected", "children"),
                  Output("ex-table", "page_current"),
                  Input("ex-depth", "clickData"), Input("ex-rf", "clickData"), State("ex-table", "data"))
    def highlight(click_depth, click_rf, rows):
        from dash import ctx

        click = click_rf if ctx.triggered_id == "ex-rf" else click_depth
        style, name = logic.highlight_style(click)
        page = logic.page_of(rows or [], name, PAGE_SIZE)
        return style, (f"Highlighted: {name}" if name else ""), page

    @app.callback(Output("cmp-message", "children"), Output("cmp-table", "data"), Output("cmp-table", "columns"),
                  Output("cmp-depth", "figure"), Output("cmp-rf", "figure"), Output("cmp-share", "figure"),
                  Input("cmp-models", "value"))
    def compare(models):
        r = logic.compare(models)
        empty = {"data": [], "layout": {"template": "plotly_white"}}
        if "error" in r:
            return message(r["error"]), [], [], empty, empty, empty
        cols = [{"name": k, "id": k} for k in r["rows"][0]]
        return None, r["rows"], cols, r["depth_fig"], r["rf_fig"], r["share_fig"]

    @app.callback(Output("ls-message", "children"), Output("ls-cards", "children"), Output("ls-figure", "figure"),
                  Input("ls-channels", "value"), Input("ls-kernel", "value"), Input("ls-width", "value"),
                  Input("ls-growth", "value"), Input("ls-layers", "value"))
    def lessons(channels, kernel, width, growth, layers):
        r = logic.lesson_results(channels, kernel, width, growth, layers)
        if "error" in r:
            return message(r["error"]), None, {"data": [], "layout": {}}
        return None, lesson_cards(r), logic.lesson_figure(r)

    return app


def warm_history(progress: Any = None) -> None:
    """Profile the history set into the store (a miss imports torch; hits do not)."""
    for name in HISTORY:
        logic.load(name)
        if progress:
            progress(name)
