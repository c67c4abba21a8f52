"""The Dash app: layout and wiring only; the work is in logic.py."""

from __future__ import annotations

from typing import Any, Callable

from dash import Dash, Input, Output, State, dash_table, dcc, html, no_update
from dash.dash_table.Format import Format, Group

from ..catalog import HISTORY
from ..render import assets_folder
from . import atlas, logic
from .widgets import GRAPH_CONFIG, field, field_message, guarded, message, placeholder  # noqa: F401
from ..lessons import DEFAULTS
from .validate import LESSON_BOUNDS, query_values, url_list, url_number, url_search

PAGES = [("/", "History"), ("/explorer", "Explorer"), ("/compare", "Compare"), ("/lessons", "Lessons"),
         ("/atlas", "Atlas")]
GRAPH_STYLE = {"height": "440px"}  # a fixed box: graphs drawn while a loading overlay hides them keep their size
CHANNELS_STYLE = {"height": "480px"}  # block labels above, the legend below
ROOFLINE_STYLE = {"height": "560px"}
MEMORY_STYLE = {"height": "440px"}  # the Explorer's profiles are inference-only: one panel
NOT_MEASURED_STYLE = {"height": "200px"}  # the roofline's box while it only says how to measure
PAGE_SIZE = 25
GRAPH_HOST_STYLE = {"minHeight": "480px"}  # the graph view (archviz-graph.js) mounts here
HIDDEN = {"display": "none"}
SHOWN: dict[str, str] = {}
TEXT_LEFT = ("name", "type", "output_shape", "block")  # text columns read left to right
NAME_INDENT_PX, MAX_LEVEL = 16, 16
# The module tree's nesting: each level's names pad further right (`level` is a data key, not a column).
INDENT_STYLES = [{"if": {"filter_query": f"{{level}} = {n}", "column_id": "name"},
                  "paddingLeft": f"{4 + NAME_INDENT_PX * (n - 1)}px"} for n in range(2, MAX_LEVEL + 1)]


# Short titles, so the table fits a 1400 px page (the CSV export keeps the ids: the CLI's CSV names).
COLUMN_TITLES = {"output_shape": "output", "receptive_field": "field (px)", "effective_stride": "stride"}


def layer_columns() -> list[dict[str, Any]]:
    """The layer table's columns: counts stay numbers, shown with thousands separators (as the
    report shows them), so they sort as numbers and the CSV export has them raw."""
    grouped = Format(group=Group.yes)
    return [{"name": COLUMN_TITLES.get(c, c.replace("_", " ")), "id": c,
             **({"type": "numeric", "format": grouped} if c in logic.NUMERIC_COLUMNS else {"type": "text"})}
            for c in logic.TABLE_COLUMNS]


def nav(path: str) -> html.Div:
    return html.Div([dcc.Link(label, href=href, className="active" if href == path else "", id=f"nav-{label.lower()}")
                     for href, label in PAGES], className="nav")


def cards(items: list[tuple[str, str, str]], colour: str = "#1f6feb") -> html.Div:
    return html.Div([html.Div([html.Div(k, className="k"), html.Div(v, className="v long" if len(v) > 9 else "v"),
                               html.Div(n, className="n")],
                              className="card", style={"borderLeftColor": colour}) for k, v, n in items],
                    className="cards")


def history_page(query: dict[str, str] | None = None) -> html.Div:
    """The History page; `query` (from the URL: metric, scale, variants) sets the controls, and the
    callback checks those values like clicked ones."""
    q = query or {}
    variants = url_list(q.get("variants"))
    return html.Main([
        dcc.Location(id="hist-url", refresh=False),
        html.Section([
            html.H2("2012 → 2016: depth rose while parameters fell"),
            html.P("Every figure is computed by archviz on torchvision's model definitions; accuracy is "
                   "torchvision's published top-1 for its weights.", className="muted"),
            html.Div([
                html.Div([html.Label("compute"), dcc.RadioItems(
                    id="hist-metric", value=q.get("metric", "macs"), inline=True,
                    options=[{"label": " GMACs", "value": "macs"}, {"label": " GFLOPs (2×MACs)", "value": "flops"}])]),
                html.Div([html.Label("axes"), dcc.RadioItems(
                    id="hist-scale", value=q.get("scale", "log"), inline=True,
                    options=[{"label": " log", "value": "log"}, {"label": " linear", "value": "linear"}])]),
                html.Div([html.Label("variants"), dcc.Checklist(
                    id="hist-variants", value=list(HISTORY) if variants is None else variants, inline=True,
                    options=[{"label": f" {h.label}", "value": n} for n, h in HISTORY.items()])]),
            ], className="controls"),
            html.Div(id="hist-message"),
            dcc.Graph(id="hist-depth", config=GRAPH_CONFIG, style={"height": "480px"}),
            html.Div([dcc.Graph(id="hist-ilsvrc", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                      dcc.Graph(id="hist-bubble", config=GRAPH_CONFIG, style=GRAPH_STYLE)], className="grid2"),
        ]),
        html.Section([
            html.H2("Counted vs measured on this machine"),
            html.P("Counted MACs beside measured latency, and each model's achieved FLOP/s (counted FLOPs of a "
                   "run / its eager time) as a share of this machine's measured peak. Measurements come from the "
                   "store: press the button (one run at a time, in the background, at most "
                   f"{logic.MEASURE_BUDGET_S / 60:.0f} minutes) or run archviz profile MODEL --measure.",
                   className="muted"),
            html.Button("Measure the history set on this machine", id="hist-measure", n_clicks=0),
            html.Div(id="hist-measure-status", className="muted", role="status"),
            dcc.Interval(id="hist-measure-poll", interval=3000, disabled=True),
            dcc.Graph(id="hist-measured", config=GRAPH_CONFIG, style={"height": "460px"}),
        ])])


def explorer_page(names: list[str], query: dict[str, str] | None = None) -> html.Div:
    """The Explorer; `query` (from the URL: model, size) fills the fields, checked like typed values."""
    q = query or {}
    size_field = html.Div([
        html.Label("input size in pixels (empty = the model's default)", htmlFor="ex-size"),
        html.Div([dcc.Input(id="ex-size", type="number", debounce=True, placeholder="default",
                            value=url_number(q.get("size")), style={"width": "150px"}),
                  html.Span(id="ex-size-hint", className="hint")], className="inline"),
        html.Div(id="ex-size-msg")])
    downloads = html.Div([
        html.Label("download"),
        html.Div([html.Button("Report (HTML)", id="ex-dl-report", n_clicks=0, className="download"),
                  html.Button("Layers (CSV)", id="ex-dl-csv", n_clicks=0, className="download"),
                  html.Button("Diagram (SVG)", id="ex-dl-svg", n_clicks=0, className="download")],
                 className="inline"),
        html.Div(id="ex-download-msg"), dcc.Download(id="ex-download")])
    return html.Main([
        dcc.Location(id="ex-url", refresh=False),
        # The link's raw values: the widgets drop what they cannot show (a name outside the options, text
        # in a number box), so the first draw checks these instead and names what was wrong.
        dcc.Store(id="ex-url-state", data={**({"model": q["model"]} if "model" in q else {}),
                                           **({"size": url_number(q["size"])} if "size" in q else {})}),
        html.Section([
            html.H2("Explorer"),
            html.Div([
                field("model", dcc.Dropdown(id="ex-model", options=logic.linked_options(names, q.get("model")),
                                            value=q.get("model", "resnet50"),
                                            searchable=True, clearable=False, style={"width": "300px"}), "ex-model"),
                size_field, downloads,
            ], className="controls"),
            dcc.Loading(id="ex-loading", type="circle", children=[
                html.Div(id="ex-message"), html.Div(id="ex-headline"), html.Div(id="ex-placeholder")]),
        ]),
        html.Div(id="ex-results", children=explorer_results()),
    ])


def explorer_results() -> list[html.Section]:
    """The Explorer's diagram, charts, speed and layer table (hidden together when there is no profile)."""
    return [
        html.Section([html.H2("Architecture graph"),
                      html.P("Click a group to open it in place (a double border is a folded run of ×N blocks, each "
                             "with its own merge); click an open group's frame to close it. Search opens the graph "
                             "down to a module; a node's figures show beside it, and a selected node highlights its "
                             "row in the layer table (a clicked row, its node).", className="muted"),
                      dcc.Store(id="ex-graph-data"), dcc.Store(id="ex-graph-selected"),
                      dcc.Store(id="ex-graph-mounted"), dcc.Store(id="ex-graph-row"),
                      html.Div(id="ex-graph", className="graph-host", style=GRAPH_HOST_STYLE)]),
        html.Section([html.H2("Charts"), html.P("Click a point to highlight its layer in the table.", className="muted"),
                      dcc.Loading([dcc.Graph(id="ex-depth", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-rf", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-channels", config=GRAPH_CONFIG, style=CHANNELS_STYLE),
                                   dcc.Graph(id="ex-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])]),
        html.Section(id="ex-memory", children=[html.H2("Memory"),
                      html.P("Metered on the meta device (no allocation): weights, the peak of live activations, and "
                             "the activation bytes live after each leaf layer in execution order (bands: blocks). The "
                             "largest batch that fits a memory size is found by exponential search and bisection over "
                             "meta-device steps (a training step in float32: SGD with momentum keeps one buffer per "
                             "parameter, Adam and AdamW two).", className="muted"),
                      html.Div(id="ex-memory-cards"),
                      dcc.Loading(dcc.Graph(id="ex-memory-chart", config=GRAPH_CONFIG, style=MEMORY_STYLE)),
                      html.Div([html.Label("largest batch that fits", htmlFor="ex-fit-memory"),
                                dcc.Input(id="ex-fit-memory", type="text", value="24GiB", maxLength=32,
                                          debounce=True, style={"width": "110px"}),
                                dcc.RadioItems(id="ex-fit-mode", options=list(logic.FIT_MODES), value="training, SGD",
                                               inline=True, inputStyle={"marginRight": "4px"},
                                               labelStyle={"marginRight": "12px"}),
                                html.Button("Find the batch", id="ex-fit-go", n_clicks=0, className="download")],
                               className="fit-form", id="ex-fit-form",
                               style={"display": "flex", "flexWrap": "wrap", "gap": "12px", "alignItems": "center"}),
                      html.Div(id="ex-fit-msg"),
                      dcc.Loading(html.Div(id="ex-fit-answer", className="fit-answer"))]),
        html.Section([html.H2("Measured speed"),
                      html.P("Roofline of the stored measurement (cpu, float32, the input's batch, torch's threads); "
                             "the Explorer never starts one. Click a point to highlight its layer.", className="muted"),
                      dcc.Loading(dcc.Graph(id="ex-roofline", config=GRAPH_CONFIG, style=ROOFLINE_STYLE))]),
        html.Section([html.H2("Layers"),
                      html.P("Names are indented by their depth in the module tree; counts have all their digits "
                             "(MACs = multiply-adds, FLOPs = 2 × MACs). The Layers (CSV) button above downloads every row, "
                             "one type per column.", className="muted"),
                      html.Div(id="ex-selected", className="muted"),
                      dash_table.DataTable(
                          id="ex-table", columns=layer_columns(),
                          sort_action="native", filter_action="native", page_size=PAGE_SIZE,
                          style_table={"overflowX": "auto"},
                          style_cell={"fontFamily": "DejaVu Sans, Arial", "fontSize": "12px", "padding": "4px 8px"},
                          style_cell_conditional=[{"if": {"column_id": c}, "textAlign": "left"} for c in TEXT_LEFT],
                          style_header_conditional=[{"if": {"column_id": c}, "textAlign": "left"} for c in TEXT_LEFT],
                          style_filter_conditional=[{"if": {"column_id": c}, "textAlign": "left"} for c in TEXT_LEFT],
                          style_data_conditional=INDENT_STYLES,
                          style_header={"backgroundColor": "#eef2f8", "fontWeight": "600"})]),
    ]


COMPARE_DEFAULT = ["vgg16", "googlenet", "resnet50", "densenet121"]


def compare_page(names: list[str], query: dict[str, str] | None = None) -> html.Div:
    """Compare; `query` (from the URL: models=a,b) picks the models, checked like picked ones."""
    linked = url_list((query or {}).get("models"))
    chosen = COMPARE_DEFAULT if linked is None else linked
    return html.Main([
        dcc.Location(id="cmp-url", refresh=False),
        dcc.Store(id="cmp-url-state", data={} if linked is None else {"models": linked}),  # as ex-url-state
        html.Section([html.H2(f"Compare 2 to {logic.MAX_COMPARE} models"),
                      html.Label(f"models (two to {logic.MAX_COMPARE}; once {logic.MAX_COMPARE} are picked, remove "
                                 "one to pick another)", htmlFor="cmp-models", className="field-label"),
                      dcc.Dropdown(id="cmp-models", options=logic.compare_options(names, chosen), multi=True,
                                   value=chosen),
                      dcc.Loading([html.Div(id="cmp-message"), html.Div(id="cmp-placeholder"),
                                   html.Div(dash_table.DataTable(
                                       id="cmp-table", style_cell={"fontSize": "13px", "padding": "4px 10px",
                                                                   "fontFamily": "DejaVu Sans, Arial"},
                                       style_cell_conditional=[{"if": {"column_id": "model"}, "textAlign": "left"}],
                                       style_header={"fontWeight": "600", "backgroundColor": "#eef2f8"},
                                       style_table={"overflowX": "auto"}), id="cmp-table-box")])]),
        html.Section([html.H2("What changed"), html.Div(id="cmp-diff")], id="cmp-diff-box", style=HIDDEN),
        html.Section([html.H2("Architecture graphs"),
                      html.P("One graph view per model, all on one colour scale; with two models, coloured by "
                             "what changed from the first to the second.", className="muted"),
                      dcc.Store(id="cmp-graph-data"), dcc.Store(id="cmp-graph-mounted"),
                      html.Div(id="cmp-graph", className="graph-host"),
                      dcc.Loading([dcc.Graph(id="cmp-depth", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="cmp-rf", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="cmp-channels", config=GRAPH_CONFIG, style=CHANNELS_STYLE),
                                   dcc.Graph(id="cmp-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])],
                     id="cmp-results"),
    ])


def lessons_page() -> html.Div:
    def number(key: str, value: int) -> html.Div:
        b = LESSON_BOUNDS[key]
        return field(f"{b.label} ({b.low}-{b.high})",
                     dcc.Input(id=f"ls-{key}", type="number", value=value, debounce=True,
                               style={"width": "170px"}), f"ls-{key}")
    return html.Main([html.Section([
        html.H2("Design lessons, computed on real torch.nn modules"),
        html.P("Change a number: archviz builds the modules and counts their parameters, MACs and "
               "receptive fields.", className="muted"),
        html.Div([number(key, value) for key, value in DEFAULTS.items()], className="controls"),
        dcc.Loading([html.Div(id="ls-message"), html.Div(id="ls-cards"), dcc.Graph(id="ls-figure", config=GRAPH_CONFIG, style=GRAPH_STYLE)]),
    ]),
        # The lessons below take no field: measured once per process, then served from memory.
        dcc.Store(id="ls-fixed", data=0),
        html.Section([html.H2("At the input"),
                      dcc.Loading([html.Div(id="ls-fixed-message"), html.Div(id="ls-first")])]),
        html.Section([html.H2("Gradient flow at initialisation"),
                      dcc.Loading([html.Div(id="ls-grad-text"),
                                   html.Div([dcc.Graph(id="ls-grad-cifar", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                             dcc.Graph(id="ls-grad-stack", config=GRAPH_CONFIG, style=GRAPH_STYLE)],
                                            className="grid2"),
                                   html.Div(id="ls-grad-table")])]),
    ])


def lesson_cards(result: dict[str, Any]) -> list[html.Div]:
    return [lesson_card(key, result[key]) for key in ("kernel", "bottleneck", "merge")]


def lesson_card(key: str, r: dict[str, Any]) -> html.Div:
    """One lesson: title, explanation, its variants' figures and what the second saves (or costs)."""
    rows = [html.Tr([html.Th(h) for h in ("", "params", "MACs", "receptive field", "out channels")])]
    rows += [html.Tr([html.Td(v["label"]), html.Td(f"{v['params']:,}"), html.Td(f"{v['macs']:,}"),
                      html.Td(v["receptive_field"]), html.Td(v["out_channels"])]) for v in r["variants"]]
    from ..render.lessons import verdict

    return html.Div([html.H3(r["title"]), html.P(r["explanation"], className="muted"),
                     html.Table(rows, className="compare"), html.P(verdict(r), className="muted")],
                    className="lesson", id=f"lesson-{key}")


def gradient_table(rows: list[dict[str, str]]) -> html.Table:
    left = {"textAlign": "left"}  # the setting is text: left, like the net's name
    head = html.Tr([html.Th(h, style=left if h == "setting" else None) for h in rows[0]])
    return html.Table([head, *[html.Tr([html.Td(v, style=left if k == "setting" else None) for k, v in row.items()])
                               for row in rows]], className="compare", id="ls-grad-rows")


def empty_figure(text: str = "Nothing to show: see the message above.") -> dict[str, Any]:
    """A blank chart that says why it is blank and what to do (no bare axes)."""
    return logic.placeholder_figure(text)


EMPTY = empty_figure()


def diff_section(changed: dict[str, Any]) -> list[Any]:
    """Compare with two models: archviz diff's summary, its blocks and its layers, as tables."""
    def table(id_: str, rows: list[dict[str, str]]) -> Any:
        if not rows:
            return None
        return dash_table.DataTable(id=id_, data=rows, columns=[{"name": k, "id": k} for k in rows[0]],
                                    page_size=15, sort_action="native", style_table={"overflowX": "auto"},
                                    style_cell={"fontSize": "12px", "padding": "3px 8px", "textAlign": "left",
                                                "fontFamily": "DejaVu Sans, Arial"},
                                    style_header={"backgroundColor": "#eef2f8", "fontWeight": "600"})
    return [*[html.P(line, className="diff-summary") for line in changed["summary"]],
            html.H3("By block"), table("cmp-diff-blocks", changed["blocks"]),
            html.H3("Layers added, removed or changed"), table("cmp-diff-layers", changed["layers"])]


def create_app(names: list[str] | None = None) -> Dash:
    names = names or logic.model_names()
    app = Dash(__name__, assets_folder=assets_folder(), suppress_callback_exceptions=True,
               title="archviz dashboard", update_title=None)
    app.layout = html.Div([
        dcc.Location(id="url"),
        html.Header([html.H1("archviz"), html.Div("Why convolutional networks are built the way they are · "
                                                  "MACs = multiply-adds, FLOPs = 2 × MACs", className="sub")],
                    className="top"),
        html.Div(id="nav"), html.Div(id="page")])
    pages = {"/": history_page, "/explorer": lambda: explorer_page(names),
             "/compare": lambda: compare_page(names), "/lessons": lessons_page, "/atlas": atlas.page}
    # Pages whose state lives in the URL's query string (a link reproduces the view).
    stateful = {"/": history_page, "/explorer": lambda q: explorer_page(names, q),
                "/compare": lambda q: compare_page(names, q)}

    @app.callback(Output("nav", "children"), Output("page", "children"), Input("url", "pathname"),
                  State("url", "search"))
    def route(path, search):
        path = path if path in pages else "/"
        if path in stateful:
            return nav(path), stateful[path](query_values(search))
        return nav(path), pages[path]()

    @app.callback(Output("hist-message", "children"), Output("hist-depth", "figure"),
                  Output("hist-ilsvrc", "figure"), Output("hist-bubble", "figure"), Output("hist-url", "search"),
                  Input("hist-metric", "value"), Input("hist-scale", "value"), Input("hist-variants", "value"),
                  State("url", "search"))
    @guarded(5)
    def history(metric, scale, variants, search):
        figs = logic.history_figures(metric, scale, variants)
        everything = isinstance(variants, list) and sorted(map(str, variants)) == sorted(HISTORY)
        url = url_search({"metric": metric, "scale": scale, "variants": None if everything else variants})
        return (message(" ".join(figs["errors"].values())), figs["depth"], figs["ilsvrc"], figs["bubble"],
                same_or(url, search))

    @app.callback(Output("hist-measure-status", "children"), Output("hist-measured", "figure"),
                  Output("hist-measure-poll", "disabled"),
                  Input("hist-measure", "n_clicks"), Input("hist-measure-poll", "n_intervals"),
                  Input("hist-variants", "value"))
    @guarded(3)
    def history_measured(_clicks, _ticks, variants):
        """Only a press of the button starts a run (its value is not read; a press while one runs is
        ignored); the poll re-reads the store while a run goes on, and stops with it."""
        from dash import ctx

        job = logic.history_job
        repeat = ctx.triggered_id == "hist-measure" and not job.start()
        status = f"{job.status} (already measuring: that press was ignored)" if repeat else job.status
        return status or None, logic.history_measured(variants), not job.running

    @app.callback(Output("ex-message", "children"), Output("ex-model-msg", "children"),
                  Output("ex-size-msg", "children"), Output("ex-headline", "children"),
                  Output("ex-graph-data", "data"), Output("ex-graph", "style"),
                  Output("ex-depth", "figure"), Output("ex-rf", "figure"), Output("ex-channels", "figure"),
                  Output("ex-share", "figure"), Output("ex-table", "data"), Output("ex-roofline", "figure"),
                  Output("ex-size-hint", "children"), Output("ex-results", "style"),
                  Output("ex-placeholder", "children"), Output("ex-url", "search"), Output("ex-roofline", "style"),
                  Output("ex-memory-cards", "children"), Output("ex-memory-chart", "figure"),
                  Input("ex-model", "value"), Input("ex-size", "value"), State("url", "search"),
                  State("ex-url-state", "data"))
    @guarded(19)
    def explorer(model, size, search, linked):
        """Everything the Explorer draws from one profile, memory included: one callback, so one
        request for the profile (two would race, and the second would be told 'being computed')."""
        model, size = first_draw(linked, model=model, size=size)
        r = logic.explore(model, size)
        errors = r["errors"]
        fields = (field_message(errors, "model"), field_message(errors, "size"))
        state = (logic.size_hint(model), same_or(url_search({"model": model, "size": size}), search))
        if "profile" not in r:
            todo = ("Fix the marked field above: the block diagram, charts and layer table appear here."
                    if errors else "No profile to show: see the message above, then pick a model or size again.")
            return (None if errors else message(r["error"]), *fields, None, None, HIDDEN,
                    EMPTY, EMPTY, EMPTY, EMPTY, [], EMPTY, state[0], HIDDEN, placeholder(todo), state[1],
                    NOT_MEASURED_STYLE, None, EMPTY)
        colour = (r["history"] or {}).get("colour", "#1f6feb")
        return (None, *fields, cards(r["headline"], colour), r["graph"], GRAPH_HOST_STYLE, r["depth_fig"],
                r["rf_fig"], r["channels_fig"], r["share_fig"], r["rows"], r["roofline_fig"], state[0], SHOWN,
                None, state[1], ROOFLINE_STYLE if r["measured"] else NOT_MEASURED_STYLE,
                cards(r["memory_cards"], "#c2410c"), r["memory_fig"])

    @app.callback(Output("ex-fit-msg", "children"), Output("ex-fit-answer", "children"),
                  Input("ex-fit-go", "n_clicks"), Input("ex-fit-memory", "value"),
                  State("ex-fit-mode", "value"), State("ex-model", "value"), State("ex-size", "value"),
                  prevent_initial_call=True)
    @guarded(2)
    def fit_batch(_go, memory, mode, model, size):
        """The largest batch that fits the memory typed (button or Enter)."""
        r = logic.fit_answer(model, size, memory, mode)
        errors = r["errors"]
        if errors:
            text = next(iter(errors.values()))
            return field_message({"fit": text}, "fit"), None
        if "error" in r:
            return message(r["error"]), None
        return None, [html.P(line) for line in r["lines"]]

    @app.callback(Output("ex-download-msg", "children"), Output("ex-download", "data"),
                  Input("ex-dl-report", "n_clicks"), Input("ex-dl-csv", "n_clicks"), Input("ex-dl-svg", "n_clicks"),
                  State("ex-model", "value"), State("ex-size", "value"), prevent_initial_call=True)
    @guarded(2)
    def download(_report, _csv, _svg, model, size):
        """The Explorer's model as a file: the button pressed picks the kind."""
        from dash import ctx

        kind = {"ex-dl-report": "report", "ex-dl-csv": "csv", "ex-dl-svg": "svg"}.get(ctx.triggered_id)
        r = logic.download(kind, model, size)
        if "error" in r:
            return field_message({"download": r["error"]}, "download"), no_update
        return None, r

    @app.callback(Output("ex-table", "style_data_conditional"), Output("ex-selected", "children"),
                  Output("ex-table", "page_current"),
                  Input("ex-depth", "clickData"), Input("ex-rf", "clickData"), Input("ex-channels", "clickData"),
                  Input("ex-roofline", "clickData"), Input("ex-graph-selected", "data"), State("ex-table", "data"))
    @guarded(3, message_slot=False)
    def highlight(click_depth, click_rf, click_channels, click_roofline, click_graph, rows):
        """A chart point or a graph node (sent as a chart click would be) -> its table row."""
        from dash import ctx

        click = {"ex-rf": click_rf, "ex-channels": click_channels, "ex-roofline": click_roofline,
                 "ex-graph-selected": click_graph}.get(ctx.triggered_id, click_depth)
        style, name = logic.highlight_style(click)
        page = logic.page_of(rows, name, PAGE_SIZE)
        return INDENT_STYLES + style, (f"Highlighted: {name}" if name else ""), page

    # The graph view runs in the browser (assets/graph): mounted from the data, linked to the table.
    app.clientside_callback("function (page) { return window.archvizMount('ex-graph', page, 'ex-graph-selected'); }",
                            Output("ex-graph-mounted", "data"), Input("ex-graph-data", "data"))
    app.clientside_callback("function (cell, rows) { return window.archvizSelectRow('ex-graph', cell, rows); }",
                            Output("ex-graph-row", "data"), Input("ex-table", "active_cell"),
                            State("ex-table", "derived_viewport_data"))
    app.clientside_callback("function (page) { return window.archvizMount('cmp-graph', page, null); }",
                            Output("cmp-graph-mounted", "data"), Input("cmp-graph-data", "data"))

    @app.callback(Output("cmp-message", "children"), Output("cmp-table", "data"), Output("cmp-table", "columns"),
                  Output("cmp-depth", "figure"), Output("cmp-rf", "figure"), Output("cmp-channels", "figure"),
                  Output("cmp-share", "figure"), Output("cmp-results", "style"), Output("cmp-table-box", "style"),
                  Output("cmp-placeholder", "children"), Output("cmp-url", "search"), Output("cmp-graph-data", "data"),
                  Output("cmp-diff", "children"), Output("cmp-diff-box", "style"),
                  Input("cmp-models", "value"), State("url", "search"), State("cmp-url-state", "data"))
    @guarded(14)
    def compare(models, search, linked):
        (models,) = first_draw(linked, models=models)
        r = logic.compare(models)
        url = same_or(url_search({"models": models if isinstance(models, list) else None}), search)
        if "error" in r:
            todo = placeholder("The comparison table and charts appear here once two to four models are picked.")
            return (message(r["error"]), [], [], EMPTY, EMPTY, EMPTY, EMPTY, HIDDEN, HIDDEN, todo, url, None,
                    None, HIDDEN)
        cols = [{"name": k, "id": k} for k in r["rows"][0]]
        changed = r.get("changed")
        return (None, r["rows"], cols, r["depth_fig"], r["rf_fig"], r["channels_fig"], r["share_fig"], SHOWN,
                SHOWN, None, url, r["graph"], diff_section(changed) if changed else None,
                SHOWN if changed else HIDDEN)

    @app.callback(Output("cmp-models", "options"), Input("cmp-models", "value"))
    @guarded(1, message_slot=False)
    def compare_options(models):
        """Once four models are picked the others are disabled: a fifth cannot be added."""
        return logic.compare_options(names, models)

    lesson_outputs = [Output(f"ls-{f}-msg", "children") for f in logic.LESSON_FIELDS]

    @app.callback(Output("ls-message", "children"), *lesson_outputs, Output("ls-cards", "children"),
                  Output("ls-figure", "figure"), Output("ls-figure", "style"),
                  *[Input(f"ls-{f}", "value") for f in logic.LESSON_FIELDS])
    @guarded(4 + len(lesson_outputs))
    def lessons(channels, kernel, width, growth, layers):
        r = logic.lesson_results(channels, kernel, width, growth, layers)
        fields = [field_message(r["errors"], f) for f in logic.LESSON_FIELDS]
        if r["errors"]:
            return (message(logic.lesson_fix_message(r["errors"])), *fields, None, EMPTY, HIDDEN)
        if "error" in r:  # valid fields, but the server is busy
            return (message(r["error"]), *fields, None, EMPTY, HIDDEN)
        return (None, *fields, lesson_cards(r), logic.lesson_figure(r), GRAPH_STYLE)

    @app.callback(Output("ls-fixed-message", "children"), Output("ls-first", "children"),
                  Output("ls-grad-text", "children"), Output("ls-grad-cifar", "figure"),
                  Output("ls-grad-stack", "figure"), Output("ls-grad-table", "children"),
                  Input("ls-fixed", "data"))
    @guarded(6)
    def fixed_lessons(_):
        r = logic.fixed_lessons()
        g = r["gradient"]
        text = [html.P(p, className="muted") for p in g["explanation"]]
        return (None, lesson_card("first", r["first_kernel"]), text, logic.gradient_figure(g, "cifar"),
                logic.gradient_figure(g, "stack"), gradient_table(logic.gradient_rows(g)))

    atlas.register(app)
    return app


def first_draw(linked: Any, **values: Any) -> tuple[Any, ...]:
    """The widgets' values, or on a page's first draw the link's raw values (`linked`, a page's
    url-state Store), which the callback then checks like typed ones."""
    from dash import ctx

    if ctx.triggered_id is None and isinstance(linked, dict):
        return tuple(linked.get(k, v) for k, v in values.items())
    return tuple(values.values())


def same_or(url: str, search: Any) -> Any:
    """`url` for a page's Location, or no_update when the address bar already says it (no extra
    history entry on a page's first draw)."""
    return no_update if url == (search or "") else url


def warm_history(progress: Any = None) -> None:
    """Profile the history set into the store (a miss imports torch; hits do not)."""
    for name in HISTORY:
        logic.load(name)
        if progress:
            progress(name)
