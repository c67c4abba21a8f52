"""Profiles through the store: the one function every face (CLI, report, dashboard) calls.

A hit costs a SQLite read and no torch import; a miss profiles (importing torch) and stores the
result under the requested key and under its explicit input shape."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Any, Callable, ContextManager, Iterator

from .build import check_layout, input_key, resolve_input, shape_text
from .catalog import TIMM_PREFIX, is_timm_spec
from .record import Profile
from .store import Store, make_key


def _versions() -> dict[str, str]:
    from .profiler import versions  # importlib.metadata only; torch stays unimported

    return versions()


def normalise(model: str, input_shape: Any, layout: str | None = None) -> tuple[str, str]:
    """(model key, input text): 'default' when no input shape was given. The input text is the
    shape as traced, plus the layout where the shape alone would be read otherwise ('1x8x100 NLC';
    build.resolve_input: 3 numbers are CxHxW for catalogue models, NxCxL for factories)."""
    name = model.strip()
    if is_timm_spec(name):  # 'timm:NAME' is a catalogue name, as resolve() writes it
        name = TIMM_PREFIX + name[len(TIMM_PREFIX):].strip().lower()
    elif ":" not in name:
        name = name.lower()
    image = catalogue_model(name)
    chosen = check_layout(layout)
    if input_shape is None or input_shape == "":
        return name, "default" if chosen in (None, "NCHW") else f"default {chosen}"
    given = input_shape if isinstance(input_shape, str) else list(input_shape)
    shape, read_as = resolve_input(given, chosen, image)
    return name, input_key(shape, read_as, image)


def catalogue_model(name: str) -> bool:
    """Catalogue models (torchvision, archviz's papers, timm) are image models: 3 numbers are CxHxW."""
    return ":" not in name or is_timm_spec(name)


def cacheable(model: str) -> bool:
    """Catalogue models are stored; user factories are traced every time: their code can change
    under the same name (timm models are kept: the store key holds timm's version)."""
    return catalogue_model(model)


def get_profile(model: str, input_shape: Any = None, use_cache: bool = True,
                store: Store | None = None,
                on_miss: Callable[[str], None] | None = None,
                lock: ContextManager[Any] | None = None,
                progress: Callable[[str], None] | None = None,
                layout: str | None = None) -> Profile:
    """The profile of `model` at `input_shape` read with `layout` (NCHW, NCL, NLC, CHW; default
    from the count of numbers), from the store or profiled (and then stored).
    `progress` is told each stage of a miss ("building", "tracing", "analysing"); a hit has none.

    The store never costs the answer: its trouble is a warning line. `lock` (a context manager) is
    held around a miss only, and the store is checked again inside it, so callers that share a lock
    per key profile each key once; a hit never takes it."""
    name, input_text = normalise(model, input_shape, layout)
    if not (use_cache and cacheable(name)):
        return _profile(name, input_text, on_miss, progress)
    versions = _versions()
    key = make_key(name, input_text, versions)
    with _opened(store) as st:
        hit = st.get(key)
        if hit is not None:
            return hit
        with lock if lock is not None else nullcontext():
            hit = st.get(key) if lock is not None else None  # stored while we waited?
            if hit is not None:
                return hit
            prof = _profile(name, input_text, on_miss, progress)
            put_profile(st, name, key, prof, versions)
            return prof


def put_profile(store: Store, name: str, key: str, prof: Profile, versions: dict[str, str]) -> None:
    """Store a fresh profile under the key it was asked by and under its explicit shape's key, so
    `profile vgg16` and `profile vgg16 --input 1x3x224x224` both hit it."""
    explicit = make_key(name, input_key(prof.input_shape, prof.layout, catalogue_model(name)), versions)
    store.put(sorted({key, explicit}), prof, shape_text(prof.input_shape))


def input_parts(input_text: str) -> tuple[str | None, str | None]:
    """A store input text split back into shape and layout: '1x8x100 NLC' -> ('1x8x100', 'NLC');
    'default' -> (None, None). normalise() maps them to the same text again."""
    text, _, layout = input_text.partition(" ")
    return (None if text == "default" else text), (layout or None)


def _profile(name: str, input_text: str, on_miss: Callable[[str], None] | None,
             progress: Callable[[str], None] | None = None) -> Profile:
    """Trace the model (this imports torch)."""
    if on_miss:
        on_miss(name)
    from .profiler import profile

    text, layout = input_parts(input_text)
    shape = None if text is None else resolve_input(text, layout, catalogue_model(name))[0]
    extra = {"layout": layout} if layout else {}  # only when the shape alone would be read otherwise
    if progress is None:  # the plain call, as before (stand-ins for the profiler take no progress)
        return profile(name, shape, **extra)
    return profile(name, shape, progress=progress, **extra)


@contextmanager
def _opened(store: Store | None) -> Iterator[Store]:
    """The caller's store, or one opened (and closed) for this call."""
    if store is not None:
        yield store
        return
    own = Store()
    try:
        yield own
    finally:
        own.close()


def get_profiles(models: list[str], input_shape: Any = None, use_cache: bool = True,
                 progress: Callable[[str], None] | None = None,
                 layout: str | None = None) -> list[Profile]:
    """Several profiles through one store; with more than one model, stages name the model."""
    several = len(models) > 1
    with (_opened(None) if use_cache else nullcontext(None)) as store:
        return [get_profile(m, input_shape, use_cache, store, progress=_naming(progress, m, several),
                            layout=layout) for m in models]


def _naming(progress: Callable[[str], None] | None, model: str,
            several: bool) -> Callable[[str], None] | None:
    """`progress` with the model's name after each stage, so a comparison says which one is slow."""
    if progress is None or not several:
        return progress
    return lambda stage: progress(f"{stage} {model}")


MEASURE_METHOD = "2"  # 2: noise-aware repeats, graded quality, per-level roofs (1's are not served)


def measured_key(name: str, input_text: str, opts: Any) -> str:
    """The store key of a measured profile: the plain key's versions plus where and how it ran."""
    from .measure.peaks import device_name

    measured_on = {"measure.device": device_name(opts.device), "measure.dtype": opts.dtype,
                   "measure.batch": str(opts.batch or "input"),
                   "measure.threads": str(opts.resolved_threads()),
                   "measure.method": MEASURE_METHOD}
    return make_key(name, input_text, {**_versions(), **measured_on})


def get_measured_profile(model: str, input_shape: Any = None, options: Any = None,
                         use_cache: bool = True, store: Store | None = None,
                         progress: Callable[[str], None] | None = None,
                         layout: str | None = None, lookup_only: bool = False) -> Profile | None:
    """The profile of `model` with measured speed (archviz.measure; `options` a measure.Options).
    Stored under its own key: the plain key's versions plus the device's name, dtype, batch and
    threads, so a second identical measurement is a store hit and plain profiles are untouched.
    A hit with fewer timed runs than `--repeat` asks for is measured again (and replaced). A run
    graded noisy is returned, marked, and never stored. Peaks given as flags on a hit recompute
    the roofline columns from the stored times, and are checked against them like new peaks (a
    layer above its roof: the peaks measured again, or the flags' layers listed).
    `lookup_only`: a store read and nothing else (None on a miss), for the dashboard."""
    from .measure import Options, checked_against_roofs, profile_and_measure, with_peaks

    opts = (options or Options()).check()
    name, input_text = normalise(model, input_shape, layout)
    if not (use_cache and cacheable(name)):
        return None if lookup_only else profile_and_measure(name, input_text, opts, progress)
    key = measured_key(name, input_text, opts)
    with _opened(store) as st:
        hit = st.get(key)
        if hit is not None and servable(hit, opts.repeat, lookup_only):
            if lookup_only:
                return hit
            if opts.peak_flops is None and opts.peak_bw is None \
                    and hit.measurement["peaks"].get("source") == "flag":  # stored with flags: not now
                from .measure.peaks import device_name, device_peaks

                peaks = device_peaks(opts.device, device_name(opts.device), opts.dtype,
                                     opts.resolved_threads())
                hit = with_peaks(hit, None, None, peaks)
            else:
                hit = with_peaks(hit, opts.peak_flops, opts.peak_bw)
            return checked_against_roofs(hit, opts, opts.resolved_threads(), progress or (lambda stage: None))
        if lookup_only:
            return None
        prof = profile_and_measure(name, input_text, opts, progress)
        if measured_grade(prof) != "noisy":
            st.put([key], prof, shape_text(prof.input_shape))
        return prof


def measured_grade(prof: Profile) -> str | None:
    """The stored grade of a measured profile: good, fair or noisy (None for none)."""
    m = prof.measurement or {}
    q = m.get("quality")
    return q.get("grade") if isinstance(q, dict) else None


def servable(hit: Profile, repeat: int, lookup_only: bool = False) -> bool:
    """A stored measurement that may be served: graded, not noisy, and (unless only looked up)
    timed at least `repeat` times."""
    m = hit.measurement
    if not m or measured_grade(hit) not in ("good", "fair"):
        return False
    return lookup_only or (isinstance(m.get("repeat"), int) and m["repeat"] >= repeat)




TRAIN_METHOD = "1"  # archviz.training's meta step: bump when what it meters changes


def trained_key(name: str, input_text: str, opts: Any) -> str:
    """The store key of a training profile (archviz profile --train): the plain key's versions plus
    the step's optimizer, dtype, autocast and optimizer path."""
    train_on = {"train.optimizer": opts.optimizer, "train.dtype": opts.dtype, "train.amp": str(opts.amp),
                "train.foreach": str(opts.foreach), "train.method": TRAIN_METHOD}
    return make_key(name, input_text, {**_versions(), **train_on})


def with_batch(name: str, input_text: str, batch: int | None) -> str:
    """The store input text with dimension 0 (the batch) set to `batch` (the model's usual input
    when none was given)."""
    if batch is None:
        return input_text
    text, layout = input_parts(input_text)
    image = catalogue_model(name)
    if text is None:
        from .build import default_input_shape
        from .catalog import catalog_info, resolve

        spec = resolve(name)
        shape = default_input_shape(spec, (catalog_info(spec) or {}).get("published"))
        layout = layout or "NCHW"
    else:
        shape, layout = resolve_input(text, layout, image)
    return input_key([batch, *shape[1:]], layout, image)


def get_trained_profile(model: str, input_shape: Any = None, options: Any = None, batch: int | None = None,
                        use_cache: bool = True, progress: Callable[[str], None] | None = None,
                        layout: str | None = None) -> Profile:
    """The profile of `model` with one training step metered (archviz.training; `options` a
    training.StepOptions with train=True), at `batch` (dimension 0 of the input) when given.
    Stored under its own key (trained_key): plain profiles are untouched."""
    from .profiler import profile
    from .training import StepOptions

    opts = (options or StepOptions(train=True)).check()
    name, input_text = normalise(model, input_shape, layout)
    input_text = with_batch(name, input_text, batch)
    text, read_as = input_parts(input_text)
    shape = None if text is None else resolve_input(text, read_as, catalogue_model(name))[0]
    extra = {"layout": read_as} if read_as else {}
    if not (use_cache and cacheable(name)):
        return profile(name, shape, progress=progress, train=opts, **extra)
    key = trained_key(name, input_text, opts)
    with _opened(None) as st:
        hit = st.get(key)
        if hit is not None and hit.training:
            return hit
        prof = profile(name, shape, progress=progress, train=opts, **extra)
        st.put([key], prof, shape_text(prof.input_shape))
        return prof


def bench(models: list[str], input_shape: Any, batches: list[int], options: Any,
          progress: Callable[[str], None] | None = None) -> list[dict[str, Any]]:
    """`archviz bench`: for each model and batch, a row in timm's benchmark.py columns
    (measure.throughput.bench_row), the counts from the stored profile at batch 1."""
    from .measure.peaks import device_name
    from .measure.throughput import bench_row, time_batches

    opts = options.check()
    rows = []
    with _opened(None) as store:
        for model in models:
            name, input_text = normalise(model, input_shape)
            say = _naming(progress, name, len(models) > 1)
            one, points = time_batches(name, input_text, batches, opts, say)
            counted = get_profile(name, shape_text(one), store=store, progress=say)
            setting = {"device": device_name(opts.device), "dtype": opts.dtype, "threads": opts.resolved_threads()}
            rows += [bench_row(name, counted, p, setting) for p in points]
    return rows


def throughput_of(profile: Profile, input_shape: Any, batches: list[int], options: Any,
                  progress: Callable[[str], None] | None = None,
                  layout: str | None = None) -> Profile:
    """A measured profile with `measurement['throughput']`: latency and samples/s at each batch
    (measured now, not stored: each point carries its own grade)."""
    import dataclasses

    from .measure.throughput import time_batches

    name, input_text = normalise(profile.model, input_shape, layout)
    _, points = time_batches(name, input_text, batches, options, progress)
    return dataclasses.replace(profile, measurement={**(profile.measurement or {}), "throughput": points})
