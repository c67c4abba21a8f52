"""The dashboard's callbacks as plain functions of plain inputs (unit-tested without a browser).

Each returns data for the page: plotly figure dicts, table rows, message strings."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from functools import lru_cache
from typing import Any, Iterator

from ..catalog import HISTORY, accuracy, history_info, top1_text
from ..errors import ArchvizError
from ..record import Profile
from ..render import charts
from ..render.numbers import grouped, human, pair
from ..render.summary import field_brief, headline
from ..render.table import TEXT_COLUMNS, cell
from . import validate
from .validate import BadField

TABLE_COLUMNS = TEXT_COLUMNS
MAX_COMPARE = 4


# ---- locks ---------------------------------------------------------------------------------
class KeyLocks:
    """One lock per profile key: two requests for one missing profile trace it once, and requests
    for different keys never queue behind each other's store reads."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Any, threading.Lock] = {}

    def get(self, key: Any) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())


_key_locks = KeyLocks()
# Tracing changes process-wide torch state (torch.nn.init patched while building on the meta device,
# flush-denormal while tracing), so traces and Lessons run one at a time. Store hits never take it.
_torch_lock = threading.Lock()


# At most this many requests trace, measure or run lessons at once (holding or waiting for the
# torch lock); others are told the server is busy at once, so the WSGI threads stay free for
# requests that read the store (a warm Explorer request never queues behind a burst of lessons).
HEAVY_SLOTS = 2
_heavy_slots = threading.BoundedSemaphore(HEAVY_SLOTS)
BUSY = ("The server is busy with other computations ({n} at a time); try again in a few seconds. "
        "Stored profiles are still served.")
COMPUTING = ("{what} is being computed for another request; try again in a few seconds (it is then "
             "served from the store).")


@contextmanager
def heavy_slot(blocking: bool = False) -> Iterator[None]:
    """One of the HEAVY_SLOTS; without a free one, ArchvizError (busy) at once unless `blocking`.
    Rendering a download takes one (no torch needed): a burst of downloads cannot take every
    server thread."""
    if not _heavy_slots.acquire(blocking=blocking):
        raise ArchvizError(BUSY.format(n=HEAVY_SLOTS), 1)
    try:
        yield
    finally:
        _heavy_slots.release()


@contextmanager
def heavy(blocking: bool = False, wait_for_torch: bool = True) -> Iterator[None]:
    """One of the HEAVY_SLOTS, then the torch lock; without a free slot, ArchvizError at once
    (background work passes blocking=True and waits its turn). wait_for_torch=False: busy too when
    the torch lock is held (a size lookup never waits behind a trace)."""
    with heavy_slot(blocking):
        if not _torch_lock.acquire(blocking=wait_for_torch):
            raise ArchvizError(BUSY.format(n=HEAVY_SLOTS), 1)
        try:
            yield
        finally:
            _torch_lock.release()


# The most a request may trace on demand (torchvision's published GMACs, scaled to the size): the
# largest catalogue models take tens of seconds; the dashboard serves them once stored.
TRACE_BUDGET_GMACS = 25.0


def check_trace_budget(model: str, size: int | None) -> None:
    """Refuse an on-demand trace estimated above TRACE_BUDGET_GMACS, saying how to store it."""
    from ..catalog import published

    pub = published(model) or {}
    gmacs, crop = pub.get("gflops"), pub.get("crop_size") or 224
    if not gmacs:
        return
    estimate = float(gmacs) * ((size or crop) / crop) ** 2
    if estimate > TRACE_BUDGET_GMACS:
        at = f" at {size} px" if size else ""
        cmd = f"archviz profile {model}" + (f" --input {size}" if size else "")
        raise ArchvizError(f"{model}{at} is about {estimate:.0f} GMACs, more than the dashboard traces on "
                           f"demand ({TRACE_BUDGET_GMACS:.0f}); run '{cmd}' once and it is served from "
                           "the store.", 2)


@contextmanager
def _miss_lock(key: Any) -> Iterator[None]:
    """Held by a store miss: the trace budget, its key's lock, then a heavy slot and the torch lock.
    A request for a key another request is computing is told so at once, never left waiting on
    the key's lock: ten requests for one missing profile hold one thread, not ten."""
    check_trace_budget(*key)
    lock = _key_locks.get(key)
    if not lock.acquire(blocking=False):
        model, size = key
        raise ArchvizError(COMPUTING.format(what=f"{model}" + (f" at {size} px" if size else "")), 1)
    try:
        with heavy():
            yield
    finally:
        lock.release()


# ---- data access ---------------------------------------------------------------------------
def model_names() -> list[str]:
    """Every catalogue name, from the catalogue snapshot (a warm start needs no torchvision import)."""
    from ..catalog import catalogue_names

    return catalogue_names()


@lru_cache(maxsize=1)
def catalogue() -> frozenset[str]:
    """The names a client may ask for: the catalogue, never a factory spec."""
    return frozenset(model_names())


def load(model: str, size: int | None = None) -> Profile:
    """A catalogue profile through the store. A hit takes no lock; a miss takes its key's lock (and
    the torch lock) so concurrent requests for one key trace it once."""
    from ..service import get_profile

    if model not in catalogue():  # the callbacks validate first; this keeps code out regardless
        raise ArchvizError(f"unknown model {model!r}", 2)
    shape_arg = None if not size else [1, 3, int(size), int(size)]
    return get_profile(model, shape_arg, store=shared_store(), lock=_miss_lock((model, size)))


@lru_cache(maxsize=1)
def shared_store():
    """One store for the server's threads: opened once, and a store problem is warned about once."""
    from ..store import Store

    return Store()


def history_profiles(names: list[str] | None = None) -> list[Profile]:
    return [load(n) for n in (list(HISTORY) if names is None else names)]


def field_errors(*checks: Any) -> tuple[list[Any], dict[str, str]]:
    """Run (checker, args...) tuples; return the clean values and {field: message} for bad ones."""
    values, errors = [], {}
    for fn, *args in checks:
        try:
            values.append(fn(*args))
        except BadField as exc:
            values.append(None)
            errors[exc.field] = exc.message
    return values, errors


# ---- History page --------------------------------------------------------------------------
METRICS = ("macs", "flops")
SCALES = ("log", "linear")


def history_figures(metric: Any = "macs", scale: Any = "log", variants: Any = None) -> dict[str, Any]:
    """The History page's three charts for the chosen variants (torchvision names; None = all).
    A bad field falls back to its default and is named in `errors`."""
    (metric, scale, chosen), errors = field_errors(
        (validate.choice, "metric", metric, METRICS), (validate.choice, "scale", scale, SCALES),
        (validate.subset, "variants", list(HISTORY) if variants is None else variants, HISTORY))
    metric, scale = metric or METRICS[0], scale or SCALES[0]
    chosen = list(HISTORY) if chosen is None else chosen
    profiles = history_profiles(chosen) if chosen else []
    log = scale == "log"
    if not profiles:
        none = placeholder_figure("No variant is ticked: tick one or more above to draw this chart.")
        return {"depth": none, "ilsvrc": charts.ilsvrc_by_year(), "bubble": none, "errors": errors}
    return {"depth": charts.depth_params_by_year(profiles, log=log), "ilsvrc": charts.ilsvrc_by_year(),
            "bubble": charts.accuracy_vs_compute(profiles, metric=metric, log=log), "errors": errors}


# ---- Explorer ------------------------------------------------------------------------------
NUMERIC_COLUMNS = ("params", "macs", "flops", "activations", "depth")


def table_rows(p: Profile) -> list[dict[str, Any]]:
    """Layer rows for the DataTable: counts stay numbers (they sort, and the CSV export has them
    raw; the table formats them), the rest as the CLI writes it; `level` (not a column) is the
    module-tree depth the name is indented by."""
    return [{**{c: r[c] if c in NUMERIC_COLUMNS else cell(c, r[c]) for c in TABLE_COLUMNS},
             "level": int(r.get("level") or 0)} for r in p.layers]


# ---- the input sizes a model accepts ---------------------------------------------------------
def size_limits(model: str) -> Any:
    """The model's smallest input (min_size.MinSize), found once on the meta device and kept; None
    while the server is busy (the lookup never waits) or for a name outside the catalogue."""
    from .. import min_size

    if model not in catalogue():
        return None
    try:
        return min_size.min_input_size(model, lock=heavy(wait_for_torch=False))
    except ArchvizError:
        return None


def size_hint(model: Any) -> str | None:
    """What the size box accepts for this model, e.g. 'vgg16 accepts 32 to 512 px here'."""
    if not isinstance(model, str) or model not in catalogue():
        return None
    found = size_limits(model)
    low, high = validate.EXPLORER_SIZE.low, validate.EXPLORER_SIZE.high
    if found is None:
        return f"{low} to {high} px (this model's smallest input is found on first use)"
    if found.pixels is None:
        return f"{low} to {high} px; {found.describe()}"
    if not found.every_size:
        return f"{found.describe()}; the box takes {low} to {high} px"
    floor = max(low, found.pixels)
    why = (f" (the model itself takes any size from {found.pixels} px; {low} px is the dashboard's "
           "smallest)" if found.pixels < low else "")
    return f"{model} accepts {floor} to {high} px here{why}"


def check_model_size(model: str, size: int | None) -> None:
    """BadField('size') when `model` cannot run at `size` px: below its smallest input, or a size
    its layers refuse (checked with one meta-device forward)."""
    from .. import min_size

    if size is None:
        return
    found = size_limits(model)
    if found is None or found.pixels is None:
        return  # unknown (or busy): the trace says why it fails, if it does
    if found.every_size and size < found.pixels:
        raise BadField("size", f"{found.describe()}: use {max(found.pixels, validate.EXPLORER_SIZE.low)} "
                               f"to {validate.EXPLORER_SIZE.high}")
    if not found.every_size:
        try:
            with heavy(wait_for_torch=False):
                runs = min_size.runs_at(model, size)
        except ArchvizError:
            return
        if not runs:
            raise BadField("size", f"{model} does not run at {size} px: its layers fix the input size "
                                   f"or its steps (it runs at {found.pixels} px)")


def model_and_size(model: Any, size: Any, other_errors: bool = False) -> tuple[list[Any], dict[str, str]]:
    """The Explorer's model and size as checked values, or per-field messages: a catalogue name, a
    bounded whole size, and (when no field is bad, `other_errors` counting the caller's) one the
    model can run at (check_model_size)."""
    values, errors = field_errors((validate.model_name, "model", model, catalogue()),
                                  (validate.optional_whole, "size", size, validate.EXPLORER_SIZE))
    if not errors and not other_errors:
        _, errors = field_errors((check_model_size, *values))
    return values, errors


def explore(model: Any, size: Any) -> dict[str, Any]:
    """Everything the Explorer shows for one model, or messages (never an exception): `errors`
    names each bad field, `error` says why a valid request still failed."""
    (model, size), errors = model_and_size(model, size)
    if errors:
        return {"errors": errors, "error": " ".join(errors.values())}
    try:
        p = load(model, size)
    except ArchvizError as exc:
        return {"errors": {}, "error": str(exc)}
    measured = measured_profile(model, size)
    return {"profile": p, "headline": headline(p), "graph": graph_page([measured or p]), "rows": table_rows(p),
            "errors": {},
            "depth_fig": charts.macs_params_along_depth([p]), "rf_fig": charts.receptive_field_along_depth([p]),
            "channels_fig": charts.channels_along_depth([p]), "share_fig": charts.share_by_type([p]),
            "roofline_fig": charts.roofline([measured or p]), "measured": measured is not None,
            "memory_cards": charts.memory_cards(p), "memory_fig": charts.memory_along_execution(p),
            "history": history_info(p.model)}


def graph_page(profiles: list[Profile], changes: list[dict[str, str]] | None = None) -> dict[str, Any]:
    """The graph view's data for the browser: each model's tree, one colour scale for all, and
    with `changes` (one map per model: row -> added/removed/changed) the change overlay."""
    from ..render.graph import Graph
    from ..render.graph.widget import page_data

    return page_data([Graph(p, c) for p, c in zip(profiles, changes or [None] * len(profiles))])


def what_changed(pa: Profile, pb: Profile) -> dict[str, Any]:
    """archviz diff of two Compare models: summary lines, block and layer rows (text cells), and
    each model's changed rows for the graph view's change overlay."""
    from ..diff import diff
    from ..render.diff import block_rows, change_rows, summary

    d = diff(pa, pb)
    a_map = {c.a.name: ("removed" if c.kind == "removed" else "changed") for c in d.changes if c.a}
    b_map = {c.b.name: ("added" if c.kind == "added" else "changed") for c in d.changes if c.b}
    return {"summary": summary(d), "blocks": block_rows(d), "layers": change_rows(d), "maps": [a_map, b_map]}


# ---- measured speed (issue 13) -------------------------------------------------------------
def measured_profile(model: str, size: int | None = None) -> Profile | None:
    """The stored measured profile of a catalogue model for the default measurement settings (cpu,
    float32, the input's batch, torch's thread count), or None: a store read only, never a
    measurement (that would block the server; `archviz profile MODEL --measure` or the History
    page's button store them)."""
    if model not in catalogue():
        return None
    from ..service import get_measured_profile

    try:
        hit = get_measured_profile(model, None if not size else [1, 3, int(size), int(size)],
                                   store=shared_store(), lookup_only=True)
    except Exception:  # no measure package, an old store: simply not measured
        return None
    return hit if hit is not None and charts.measurement_of(hit) is not None else None


def history_measured(variants: Any = None) -> dict[str, Any]:
    """The History page's counted-vs-measured figure for the chosen variants: stored measured
    profiles only (a placeholder says how to make them when there are none)."""
    try:
        chosen = validate.subset("variants", list(HISTORY) if variants is None else variants, HISTORY)
    except BadField:
        chosen = list(HISTORY)
    measured = [p for p in (measured_profile(n) for n in chosen) if p is not None]
    return charts.counted_vs_measured(measured)


MEASURE_BUDGET_S = 900.0  # the whole history set, at most; a model is not started past it


class MeasureJob:
    """Measures the history set in one background thread: one run at a time (a press while it runs
    is ignored), bounded by MEASURE_BUDGET_S, each model under the torch lock, with a status line."""

    def __init__(self, names: list[str], budget_s: float = MEASURE_BUDGET_S) -> None:
        self.names, self.budget_s = list(names), budget_s
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.status = ""

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, measure: Any = None) -> bool:
        """Start a run unless one is running; True when this call started it."""
        with self._lock:
            if self.running:
                return False
            self.status = "starting…"
            self._thread = threading.Thread(target=self._run, args=(measure or _measure_one,), daemon=True,
                                            name="archviz-measure-history")
            self._thread.start()
            return True

    def _run(self, measure: Any) -> None:
        import time

        start, done, noisy = time.monotonic(), 0, []
        try:
            for i, name in enumerate(self.names):
                if time.monotonic() - start > self.budget_s:
                    self.status = (f"Stopped at the {self.budget_s:.0f} s limit after {done} of "
                                   f"{len(self.names)} models; press again to measure the rest.")
                    return
                self.status = f"Measuring {name} ({i + 1} of {len(self.names)})…"
                if measure(name) == "noisy":
                    noisy.append(name)
                done += 1
            self.status = f"Measured {done} models in {time.monotonic() - start:.0f} s." + (
                f" {len(noisy)} graded noisy (a wide interval or spread, or a busy machine) were not stored "
                f"({', '.join(noisy[:6])}{' …' if len(noisy) > 6 else ''}): press again when it is quiet."
                if noisy else "")
        except Exception as exc:  # shown on the page; the server goes on
            self.status = f"Measurement stopped after {done} models: {type(exc).__name__}: {str(exc)[:200]}"


def _measure_one(name: str) -> str | None:
    """Measure one history model with the default settings into the shared store (a hit is free);
    its grade (a noisy run is not stored)."""
    from ..service import get_measured_profile, measured_grade

    with heavy(blocking=True):
        return measured_grade(get_measured_profile(name, store=shared_store()))


history_job = MeasureJob(list(HISTORY))


def highlight_style(click: Any) -> tuple[list[dict[str, Any]], str | None]:
    """A chart click (customdata = layer name) -> DataTable conditional style for that row."""
    name = validate.clicked_name(click)
    if name is None:
        return [], None
    safe = name.replace("\\", "\\\\").replace('"', '\\"')
    return [{"if": {"filter_query": f'{{name}} = "{safe}"'}, "backgroundColor": "#fff3c4",
             "fontWeight": "600"}], name


def page_of(rows: Any, name: str | None, page_size: int) -> int:
    """The table page holding layer `name` (0 when absent), so a chart click shows its row."""
    for i, row in enumerate(validate.table_rows(rows)):
        if row.get("name") == name:
            return i // page_size
    return 0


# ---- Compare -------------------------------------------------------------------------------
def count_message(models: Any) -> str | None:
    """What the Compare selection lacks or has too much of, in words (None when 2 to 4)."""
    n = len(models) if isinstance(models, list) else 0
    if n == 0:
        return "Pick two to four models to compare."
    if n == 1:
        return f"Pick at least two models: add one to compare with {models[0]!s:.{validate.MAX_TEXT}}."
    if n > MAX_COMPARE:
        return f"At most {MAX_COMPARE} models can be compared: remove {n - MAX_COMPARE}."
    return None


def linked_options(names: list[str], values: Any) -> list[dict[str, Any]]:
    """The catalogue as dropdown options, plus any value a link put in the widget that is not a
    catalogue name (labelled so): a dropdown silently drops a value outside its options, and the
    page must instead say what is wrong with it. Bounded: a few short strings at most."""
    values = values if isinstance(values, list) else [values]
    known = set(names)
    extra = [v for v in values[:validate.MAX_LIST + 1]
             if isinstance(v, str) and v and v not in known and len(v) <= validate.MAX_TEXT]
    return ([{"label": n, "value": n} for n in names]
            + [{"label": f"{v} (not in the catalogue)", "value": v} for v in dict.fromkeys(extra)])


def compare_options(names: list[str], chosen: Any) -> list[dict[str, Any]]:
    """The Compare dropdown's options: once MAX_COMPARE models are picked, the others are disabled,
    so a fifth cannot be added (the page says why)."""
    picked = set(chosen) if isinstance(chosen, list) and all(isinstance(c, str) for c in chosen) else set()
    full = len(picked) >= MAX_COMPARE
    return [{**o, "disabled": full and o["value"] not in picked} for o in linked_options(names, chosen)]


def compare(models: Any) -> dict[str, Any]:
    if isinstance(models, list) and (text := count_message(models)):
        return {"error": text}
    try:
        models = validate.model_list("models", models, catalogue(), 2, MAX_COMPARE)
        profiles = [load(m) for m in models]
    except BadField as exc:
        return {"error": exc.message}
    except ArchvizError as exc:
        return {"error": str(exc)}
    rows = []
    for p in profiles:
        t = p.totals
        rows.append({"model": charts.label_of(p), "params": grouped(t["params"]), "MACs": human(t["macs"]),
                     "FLOPs": human(t["flops"]), "depth": t["depth"],
                     "receptive field": field_brief(t)[0], "stride": field_brief(t)[1],
                     "blocks": len(p.top_blocks()),
                     "top-1 (V1 weights)": top1_text(accuracy(p.model) if (p.catalog or {}).get("published")
                                                     else None)})
    changed = what_changed(*profiles) if len(profiles) == 2 else None
    return {"rows": rows, "changed": changed, "graph": graph_page(profiles, changed["maps"] if changed else None),
            "depth_fig": charts.macs_params_along_depth(profiles),
            "rf_fig": charts.receptive_field_along_depth(profiles),
            "channels_fig": charts.channels_along_depth(profiles), "share_fig": charts.share_by_type(profiles)}


# ---- downloads -----------------------------------------------------------------------------
DOWNLOADS = ("report", "csv", "svg")


def download(kind: Any, model: Any, size: Any) -> dict[str, Any]:
    """The Explorer model's report HTML, layer CSV or diagram SVG as dcc.Download data
    ({content, filename, type}), or {"error": ...}: the same checks as the Explorer, then the
    stored profile through load (no other tracing path)."""
    (kind,), errors = field_errors((validate.choice, "download", kind, DOWNLOADS))
    (model, size), model_errors = model_and_size(model, size, other_errors=bool(errors))
    errors.update(model_errors)
    if errors:
        return {"error": " ".join(errors.values())}
    try:
        return dict(_rendered(kind, model, size))
    except ArchvizError as exc:
        return {"error": str(exc)}


DOWNLOAD_CACHE = 8  # rendered downloads kept (a report is a few MB): a burst renders each once


@lru_cache(maxsize=DOWNLOAD_CACHE)
def _rendered(kind: str, model: str, size: int | None) -> tuple[tuple[str, str], ...]:
    """A download rendered from the stored profile, in a heavy slot, kept per (kind, model, size)
    (a failure is raised, and not kept)."""
    p = load(model, size)
    stem = model + (f"-{size}px" if size else "")
    with heavy_slot():
        if kind == "report":
            from ..render.report import render_html

            out = {"content": render_html([p], command=f"archviz dashboard ({model})"),
                   "filename": f"{stem}.html", "type": "text/html"}
        elif kind == "csv":
            from ..render.table import to_csv

            out = {"content": to_csv(p, None), "filename": f"{stem}-layers.csv", "type": "text/csv"}
        else:
            from ..render.diagram import svg_text

            out = {"content": svg_text(p), "filename": f"{stem}.svg", "type": "image/svg+xml"}
    return tuple(out.items())


# ---- Lessons -------------------------------------------------------------------------------
LESSON_FIELDS = ("channels", "kernel", "width", "growth", "layers")


def lesson_results(channels: Any, kernel: Any, width: Any, growth: Any, layers: Any) -> dict[str, Any]:
    """Each lesson computed on real torch.nn modules built from the inputs; `errors` names each
    bad field (the bottleneck width may not exceed the channels)."""
    raw = dict(zip(LESSON_FIELDS, (channels, kernel, width, growth, layers)))
    (c, k, w, g, n), errors = field_errors(
        *[(validate.whole, f, raw[f], validate.LESSON_BOUNDS[f]) for f in LESSON_FIELDS])
    if c is not None and w is not None and w > c:
        errors["width"] = f"bottleneck width {w} is more than the {c} channels: use 1 to {c}"
    if errors:
        return {"errors": errors, "error": " ".join(errors.values())}
    try:
        return {"errors": {}, **computed_lessons(c, k, w, g, n)}
    except ArchvizError as exc:  # busy
        return {"errors": {}, "error": str(exc)}


def lesson_fix_message(errors: dict[str, str]) -> str:
    """The page's line over the marked fields: which ones to fix, by their labels."""
    labels = [validate.LESSON_BOUNDS[f].label for f in LESSON_FIELDS if f in errors]
    named = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " and " + labels[-1]
    where = "marked below it" if len(labels) == 1 else "each marked below its box"
    return f"Fix {named} ({where}) to recompute the lessons; the tables and chart return then."


@lru_cache(maxsize=64)
def computed_lessons(c: int, k: int, w: int, g: int, n: int) -> dict[str, Any]:
    """The field lessons for clean values, once per set of values (a repeat is free)."""
    from .. import lessons

    with heavy():
        out = lessons.field_lessons(c, k, w, g, n)
    return {name: lesson_view(l) for name, l in out.items()}


def lesson_view(lesson: Any) -> dict[str, Any]:
    """A lesson as the page shows it: lessons.lesson_dict with the receptive field written '5x5'."""
    from .. import lessons

    d = lessons.lesson_dict(lesson)
    return {**d, "variants": [{**v, "receptive_field": pair(v["receptive_field"])} for v in d["variants"]]}


@lru_cache(maxsize=1)
def fixed_lessons() -> dict[str, Any]:
    """The lessons no field changes: AlexNet's first layer and gradient flow at initialisation.
    Computed once per process under the torch lock (about 2 s on two cores), then from memory."""
    from .. import lessons

    with heavy(blocking=True):  # once per process
        first = lessons.large_first_kernel()
        flow = lessons.gradient_flow()
    return {"first_kernel": lesson_view(first), "gradient": lessons.gradient_dict(flow)}


GRADIENT_GROUPS = {
    "cifar": "CIFAR nets of He et al., 56 layers",
    "stack": "Plain stack of 30 Linear layers, no batch norm",
}
# Titles start at the figure's left edge: the mode bar sits at the top right and would cover them.
LEFT_TITLE = {"xref": "container", "x": 0.01, "xanchor": "left"}
GRADIENT_STYLE = {  # colour, dash: one colour per net, dashed without batch norm / with He init
    "plain56": ("#d62728", "solid"), "resnet56": ("#1f77b4", "solid"),
    "plain56_nobn": ("#d62728", "dot"), "resnet56_nobn": ("#1f77b4", "dot"),
    "sigmoid": ("#9467bd", "solid"), "tanh": ("#ff7f0e", "solid"), "relu": ("#2ca02c", "solid"),
    "relu_he": ("#2ca02c", "dash"),
}


def gradient_figure(gradient: dict[str, Any], group: str) -> dict[str, Any]:
    """Weight-gradient norm per layer, from the input to the output as the network reads, one line
    per net, log y."""
    data = []
    for v in gradient["variants"]:
        if v["group"] != group:
            continue
        colour, dash = GRADIENT_STYLE.get(v["key"], ("#6b7280", "solid"))
        n = len(v["grad_norms"])  # listed from the output back: drawn from the input (layer 1) on
        data.append({"type": "scatter", "mode": "lines+markers", "name": v["label"],
                     "x": list(range(1, n + 1)), "y": list(reversed(v["grad_norms"])),
                     "customdata": list(reversed(v["layers"])),
                     "line": {"color": colour, "dash": dash, "width": 2}, "marker": {"size": 4},
                     "hovertemplate": f"{v['label']}<br>%{{customdata}}<br>gradient norm %{{y:.3g}}<extra></extra>"})
    return {"data": data, "layout": {
        "title": {"text": GRADIENT_GROUPS[group], "font": {"size": 14}, **LEFT_TITLE}, "template": "plotly_white",
        "margin": {"l": 70, "r": 20, "t": 50, "b": 50}, "height": 420,
        "legend": {"orientation": "h", "y": -0.2},
        "xaxis": {"title": {"text": "weighted layer, from the input (1 = first) to the output"}},
        "yaxis": {"type": "log", "exponentformat": "power", "title": {"text": "weight-gradient norm"}}}}


def gradient_rows(gradient: dict[str, Any]) -> list[dict[str, str]]:
    """One row per net: its first and last layers' gradient norms and the first as a fraction of the last
    (three significant figures, as `archviz lessons` prints them)."""
    from ..render.lessons import gradient_rows as rows

    return rows(gradient)


def lesson_figure(result: dict[str, Any]) -> dict[str, Any]:
    labels, params, colours = [], [], []
    palette = ["#ff7f0e", "#2ca02c", "#1f77b4"]
    for i, key in enumerate(("kernel", "bottleneck", "merge")):
        for v in result[key]["variants"]:
            labels.append(f"{result[key]['title']}<br>{v['label']}")
            params.append(v["params"])
            colours.append(palette[i])
    return {"data": [{"type": "bar", "x": params, "y": labels, "orientation": "h", "marker": {"color": colours},
                      "text": [f"{p:,}" for p in params], "textposition": "outside", "cliponaxis": False,
                      "hovertemplate": "%{y}<br>%{x:,} parameters<extra></extra>"}],
            "layout": {"title": {"text": "Parameters, computed on real torch.nn modules", **LEFT_TITLE},
                       "template": "plotly_white",
                       "margin": {"l": 330, "r": 70, "t": 50, "b": 40}, "height": 420,
                       "yaxis": {"autorange": "reversed", "automargin": True},
                       "xaxis": {"title": {"text": "parameters"}}}}



def placeholder_figure(text: str) -> dict[str, Any]:
    """charts.placeholder_figure filling its graph's box (no height of its own): no blank band."""
    fig = charts.placeholder_figure(text)
    fig["layout"].pop("height", None)
    return fig


# ---- memory (issue 23): the profile's memory cards and live-memory chart, and the largest batch ----
FIT_MEMORY_MAX = 2**50  # 1 PiB: a size past any device is refused, not searched
FIT_MODES = {"inference": None, "training, SGD": "sgd", "training, Adam": "adam", "training, AdamW": "adamw"}
# the Explorer's choices: an inference forward, or a float32 training step with this optimizer


def fit_answer(model: Any, size: Any, memory: Any, mode: Any) -> dict[str, Any]:
    """The largest batch of an Explorer model that fits a memory size (inference, or a float32
    training step with SGD, Adam or AdamW), as lines of text; `errors` names a bad field. Inputs are untrusted:
    the model must be a catalogue name, the size a bounded whole number, the memory a size such as
    24GiB at most 1 PiB, the mode one of FIT_MODES. One fit runs at a time per (model, size, memory,
    mode) and its answer is kept."""
    from ..render.fit import fit_lines
    from ..training import parse_memory

    (model, size), errors = model_and_size(model, size)
    if not isinstance(mode, str) or mode not in FIT_MODES:
        errors["fit-mode"] = f"choose {', '.join(FIT_MODES)}"
    text = memory.strip() if isinstance(memory, str) else ""
    if not text or len(text) > 32:
        errors["fit-memory"] = "give a memory size such as 24GiB, 16G or 512MiB"
    else:
        try:
            budget = parse_memory(text)
            if budget > FIT_MEMORY_MAX:
                errors["fit-memory"] = "at most 1 PiB"
        except ArchvizError as exc:
            errors["fit-memory"] = str(exc).replace("--memory ", "memory ")
    if errors:
        return {"errors": errors}
    try:
        result = _fit_cached(model, size, budget, mode)
    except ArchvizError as exc:
        return {"errors": {}, "error": str(exc)}
    return {"errors": {}, "lines": fit_lines(model, result), "batch": result.batch}


@lru_cache(maxsize=256)
def _fit_cached(model: str, size: int | None, budget: int, mode: str) -> Any:
    from ..training import StepOptions, fit

    shape = None if not size else [1, 3, int(size), int(size)]
    with _fit_lock(model, size):
        optimizer = FIT_MODES[mode]
        return fit(model, budget, shape, StepOptions(train=optimizer is not None, optimizer=optimizer or "sgd"))


@contextmanager
def _fit_lock(model: str, size: int | None) -> Iterator[None]:
    """As _miss_lock: the trace budget, one fit per model and size at a time (another request is
    told so at once), then a heavy slot and the torch lock."""
    check_trace_budget(model, size)
    lock = _key_locks.get(("fit", model, size))
    if not lock.acquire(blocking=False):
        raise ArchvizError(COMPUTING.format(what=f"the largest batch of {model}"), 1)
    try:
        with heavy():
            yield
    finally:
        lock.release()
