"""The Dash app: layout and wiring only; the work is in logic.py."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from dash import Dash, Input, Output, State, dash_table, dcc, html

from ..catalog import HISTORY
from ..render import assets_folder
from . import logic
from ..lessons import DEFAULTS
from .validate import EXPLORER_SIZE, LESSON_BOUNDS

PAGES = [("/", "History"), ("/explorer", "Explorer"), ("/compare", "Compare"), ("/lessons", "Lessons")]
GRAPH_CONFIG = {"displaylogo": False, "responsive": True}
GRAPH_STYLE = {"height": "440px"}  # a fixed box: graphs drawn while a loading overlay hides them keep their size
CHANNELS_STYLE = {"height": "480px"}  # block labels above, the legend below
PAGE_SIZE = 25
DIAGRAM_STYLE = {"width": "100%", "height": "760px", "border": "0"}
NO_DIAGRAM_STYLE = {**DIAGRAM_STYLE, "height": "60px"}
NO_DIAGRAM = ('<p style="font: 14px DejaVu Sans, Arial, sans-serif; color: #6b7280">'
              "No diagram: see the message above.</p>")


def nav(path: str) -> html.Div:
    return html.Div([dcc.Link(label, href=href, className="active" if href == path else "", id=f"nav-{label.lower()}")
                     for href, label in PAGES], className="nav")


def cards(items: list[tuple[str, str, str]], colour: str = "#1f6feb") -> html.Div:
    return html.Div([html.Div([html.Div(k, className="k"), html.Div(v, className="v"), html.Div(n, className="n")],
                              className="card", style={"borderLeftColor": colour}) for k, v, n in items],
                    className="cards")


def message(text: str | None) -> Any:
    return html.Div(text, className="error", role="alert") if text else None


def field_message(errors: dict[str, str], field: str) -> Any:
    """The message under one input field (None clears it once the field is fixed)."""
    text = errors.get(field)
    return html.Div(text, className="field-error", role="alert") if text else None


def field(label: str, control: Any, id_: str) -> html.Div:
    """A labelled control with its own message slot below it. Number inputs carry no min/max: the
    browser would send None for a value outside them, and the page could not say what is wrong."""
    return html.Div([html.Label(label), control, html.Div(id=f"{id_}-msg")])


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


def explorer_page(names: list[str]) -> html.Div:
    return html.Main([
        html.Section([
            html.H2("Explorer"),
            html.Div([
                field("model", dcc.Dropdown(id="ex-model", options=names, value="resnet50",
                                            searchable=True, clearable=False, style={"width": "320px"}), "ex-model"),
                field(f"input size (pixels {EXPLORER_SIZE.low}-{EXPLORER_SIZE.high}, empty = model default)",
                      dcc.Input(id="ex-size", type="number", debounce=True, placeholder="default",
                                style={"width": "160px"}), "ex-size"),
            ], className="controls"),
            dcc.Loading(id="ex-loading", type="circle", children=[
                html.Div(id="ex-message"), html.Div(id="ex-headline")]),
        ]),
        html.Section([html.H2("Block diagram"),
                      dcc.Loading(html.Iframe(id="ex-diagram", style=DIAGRAM_STYLE))]),
        html.Section([html.H2("Charts"), html.P("Click a point to highlight its layer in the table.", className="muted"),
                      dcc.Loading([dcc.Graph(id="ex-depth", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-rf", config=GRAPH_CONFIG, style=GRAPH_STYLE),
                                   dcc.Graph(id="ex-channels", config=GRAPH_CONFIG, style=CHANNELS_STYLE),
                                   dcc.Graph(id="ex-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])]),
        html.Section([html.H2("Measured speed"),
                      html.P("Roofline of the stored measurement (cpu, float32, the input's batch, torch's threads); "
                             "the Explorer never starts one. Click a point to highlight its layer.", className="muted"),
                      dcc.Loading(dcc.Graph(id="ex-roofline", config=GRAPH_CONFIG, style={"height": "560px"}))]),
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
                                   dcc.Graph(id="cmp-channels", config=GRAPH_CONFIG, style=CHANNELS_STYLE),
                                   dcc.Graph(id="cmp-share", config=GRAPH_CONFIG, style=GRAPH_STYLE)])]),
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
    """A blank chart that says why it is blank (no bare axes)."""
    return {"data": [], "layout": {"template": "plotly_white", "xaxis": {"visible": False},
                                   "yaxis": {"visible": False}, "height": 160,
                                   "annotations": [{"text": text, "showarrow": False, "font": {"size": 14,
                                                    "color": "#6b7280"}, "xref": "paper", "yref": "paper",
                                                    "x": 0.5, "y": 0.5}]}}


EMPTY = empty_figure()


def guarded(n_outputs: int, message_slot: bool = True) -> Callable[[Callable], Callable]:
    """A callback that cannot answer 500: an unexpected failure becomes a message in the page's
    first output when that is a message slot (else nothing changes), logged on the server in one
    line. Dash itself can fail inside a callback on a malformed request (ctx.triggered_id)."""
    from dash import no_update

    def wrap(fn: Callable) -> Callable:
        @functools.wraps(fn)
        def inner(*args):
            try:
                return fn(*args)
            except Exception as exc:  # a bug, not bad input: bad input is validated in logic
                logging.getLogger("archviz.dashboard").error("callback %s failed: %s: %s", fn.__name__,
                                                             type(exc).__name__, str(exc)[:200])
                if not message_slot:
                    return (no_update,) * n_outputs
                return (message(f"Internal error ({type(exc).__name__}); the server log has the details."),
                        *[no_update] * (n_outputs - 1))
        return inner
    return wrap


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
             "/compare": lambda: compare_page(names), "/lessons": lessons_page}

    @app.callback(Output("nav", "children"), Output("page", "children"), Input("url", "pathname"))
    def route(path):
        path = path if path in pages else "/"
        return nav(path), pages[path]()

    @app.callback(Output("hist-message", "children"), Output("hist-depth", "figure"),
                  Output("hist-ilsvrc", "figure"), Output("hist-bubble", "figure"),
                  Input("hist-metric", "value"), Input("hist-scale", "value"), Input("hist-variants", "value"))
    @guarded(4)
    def history(metric, scale, variants):
        figs = logic.history_figures(metric, scale, variants)
        return message(" ".join(figs["errors"].values())), figs["depth"], figs["ilsvrc"], figs["bubble"]

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
                  Output("ex-diagram", "srcDoc"), Output("ex-diagram", "style"),
                  Output("ex-depth", "figure"), Output("ex-rf", "figure"), Output("ex-channels", "figure"),
                  Output("ex-share", "figure"), Output("ex-table", "data"), Output("ex-roofline", "figure"),
                  Input("ex-model", "value"), Input("ex-size", "value"))
    @guarded(12)
    def explorer(model, size):
        r = logic.explore(model, size)
        errors = r["errors"]
        fields = (field_message(errors, "model"), field_message(errors, "size"))
        if "profile" not in r:
            return (None if errors else message(r["error"]), *fields, None, NO_DIAGRAM, NO_DIAGRAM_STYLE,
                    EMPTY, EMPTY, EMPTY, EMPTY, [], EMPTY)
        colour = (r["history"] or {}).get("colour", "#1f6feb")
        return (None, *fields, cards(r["headline"], colour), r["svg"], DIAGRAM_STYLE, r["depth_fig"],
                r["rf_fig"], r["channels_fig"], r["share_fig"], r["rows"], r["roofline_fig"])

    @app.callback(Output("ex-table", "style_data_conditional"), Output("ex-selected", "children"),
                  Output("ex-table", "page_current"),
                  Input("ex-depth", "clickData"), Input("ex-rf", "clickData"), Input("ex-channels", "clickData"),
                  Input("ex-roofline", "clickData"), State("ex-table", "data"))
    @guarded(3, message_slot=False)
    def highlight(click_depth, click_rf, click_channels, click_roofline, rows):
        from dash import ctx

        click = {"ex-rf": click_rf, "ex-channels": click_channels,
                 "ex-roofline": click_roofline}.get(ctx.triggered_id, click_depth)
        style, name = logic.highlight_style(click)
        page = logic.page_of(rows, name, PAGE_SIZE)
        return style, (f"Highlighted: {name}" if name else ""), page

    @app.callback(Output("cmp-message", "children"), Output("cmp-table", "data"), Output("cmp-table", "columns"),
                  Output("cmp-depth", "figure"), Output("cmp-rf", "figure"), Output("cmp-channels", "figure"),
                  Output("cmp-share", "figure"), Input("cmp-models", "value"))
    @guarded(7)
    def compare(models):
        r = logic.compare(models)
        if "error" in r:
            return message(r["error"]), [], [], EMPTY, EMPTY, EMPTY, EMPTY
        cols = [{"name": k, "id": k} for k in r["rows"][0]]
        return None, r["rows"], cols, r["depth_fig"], r["rf_fig"], r["channels_fig"], r["share_fig"]

    lesson_outputs = [Output(f"ls-{f}-msg", "children") for f in logic.LESSON_FIELDS]

    @app.callback(Output("ls-message", "children"), *lesson_outputs, Output("ls-cards", "children"),
                  Output("ls-figure", "figure"),
                  *[Input(f"ls-{f}", "value") for f in logic.LESSON_FIELDS])
    @guarded(3 + len(lesson_outputs))
    def lessons(channels, kernel, width, growth, layers):
        r = logic.lesson_results(channels, kernel, width, growth, layers)
        fields = [field_message(r["errors"], f) for f in logic.LESSON_FIELDS]
        if r["errors"]:
            return (message("Fix the marked field to recompute the lessons."), *fields, None, EMPTY)
        if "error" in r:  # valid fields, but the server is busy
            return (message(r["error"]), *fields, None, EMPTY)
        return (None, *fields, lesson_cards(r), logic.lesson_figure(r))

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

    return app


def warm_history(progress: Any = None) -> None:
    """Profile the history set into the store (a miss imports torch; hits do not)."""
    for name in HISTORY:
        logic.load(name)
        if progress:
            progress(name)
