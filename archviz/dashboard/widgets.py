"""The dashboard's small shared pieces: the chart mode bar, message slots, labelled fields and the
callback guard. The pages (app.py, atlas.py) import them from here, never from each other."""

from __future__ import annotations

import functools
import logging
from typing import Any, Callable

from dash import html

# The mode bar keeps only what a reader uses (save as PNG, zoom, pan, reset): a short bar in the top-right
# corner, clear of the titles, which the charts put at the top left (charts.base_layout).
GRAPH_CONFIG = {"displaylogo": False, "responsive": True,
                "modeBarButtonsToRemove": ["select2d", "lasso2d", "autoScale2d", "zoomIn2d", "zoomOut2d",
                                           "toggleSpikelines", "hoverClosestCartesian", "hoverCompareCartesian",
                                           "toggleHover", "resetViews", "hoverClosest3d", "orbitRotation",
                                           "tableRotation", "resetCameraDefault3d", "resetCameraLastSave3d"]}


def placeholder(text: str) -> html.Div:
    """What an empty area says instead of blank space: what to do to fill it."""
    return html.Div(text, className="placeholder", role="status")


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
