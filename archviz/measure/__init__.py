"""Measured speed: per-layer latency from torch.profiler, bytes, intensity and roofline bound, and
the whole model's time, added to a Profile (`measurement` and the layer keys in
roofline.MEASURED_KEYS). README, "Measured speed", states the method and the rules."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterator

from ..errors import ArchvizError
from ..record import Profile
from . import noise, roofline
from .peaks import device_name, device_peaks, measure_and_keep

DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_REPEAT = 10
DEFAULT_WARMUP = 3
DEFAULT_MAX_SECONDS = 10.0
LAYER_ITERATIONS = (30, 100)  # profiled iterations: at least (a median's interval needs some), at most
# (the profiler keeps every event in memory)


@dataclasses.dataclass(frozen=True)
class Options:
    """What a measurement is asked for (the CLI's flags)."""

    device: str = "cpu"
    dtype: str = "float32"
    batch: int | None = None  # None: the input's own batch
    repeat: int = DEFAULT_REPEAT
    warmup: int = DEFAULT_WARMUP
    threads: int | None = None  # None: torch's current setting
    peak_flops: float | None = None
    peak_bw: float | None = None
    max_seconds: float = DEFAULT_MAX_SECONDS  # the time cap on repeats once `repeat` are done

    def check(self) -> "Options":
        """Refuse what cannot be measured here, in one line (exit 2)."""
        if self.device not in DEVICES:
            raise ArchvizError(f"--device {self.device!r}: expected cpu or cuda", 2)
        if self.dtype not in DTYPES:
            raise ArchvizError(f"--dtype {self.dtype!r}: expected one of {', '.join(DTYPES)}", 2)
        for flag, v in (("--batch", self.batch), ("--repeat", self.repeat), ("--threads", self.threads)):
            if v is not None and v < 1:
                raise ArchvizError(f"{flag} must be at least 1, not {v}", 2)
        if self.repeat > noise.MAX_SAMPLES:
            raise ArchvizError(f"--repeat {self.repeat}: at most {noise.MAX_SAMPLES}", 2)
        if not 0 < self.max_seconds <= 3600:
            raise ArchvizError(f"--max-time {self.max_seconds:g}: expected seconds from 0 to 3600", 2)
        if self.device == "cuda":
            import torch

            if not torch.cuda.is_available():
                raise ArchvizError(f"--device cuda: CUDA is not available to torch {torch.__version__} "
                                   "on this machine (use --device cpu)", 2)
        return self

    def resolved_threads(self) -> int:
        import torch

        return self.threads or torch.get_num_threads()


@contextlib.contextmanager
def num_threads(n: int | None) -> Iterator[None]:
    """torch.set_num_threads(n) for the duration (restored after)."""
    import torch

    before = torch.get_num_threads()
    if n:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def real_weights(model: Any) -> None:
    """Initialised, finite weights: `build.zero_storage` leaves conv/linear weights unzeroed (any
    bytes, maybe NaN or denormal) and zeroes the rest. Modules are re-initialised by their own
    `reset_parameters`; whatever is still not finite is zeroed."""
    import torch

    with torch.no_grad():
        for mod in model.modules():
            reset = getattr(mod, "reset_parameters", None)
            if callable(reset):
                try:
                    reset()
                except Exception:  # a custom module's own init may not run outside its build
                    pass
        for t in (*model.parameters(), *model.buffers()):
            if t.is_floating_point() and not torch.isfinite(t).all():
                t.zero_()


def _leaf_modules(profile: Profile, model: Any) -> dict[str, Any]:
    from ..profiler.trace import module_tree

    leaves = {r["name"] for r in profile.layers if r.get("leaf")}
    return {key: mod for mod, key, _parent, _path in module_tree(model) if key in leaves}


def _weight_elems(mod: Any) -> int:
    return sum(t.numel() for t in (*mod.parameters(), *mod.buffers()) if t.is_floating_point())


def measure_profile(profile: Profile, model: Any, options: Options,
                    progress: Callable[[str], None] | None = None) -> Profile:
    """`profile` (counted by fvcore at the measured batch) with measured columns and
    `measurement`. `model` is the built model with real weights, in eval mode, on the CPU.
    The measurement carries its own trust: `quality` (grade, reasons, what else ran) and peaks
    measured again, or raised with a note, when a layer ran above its roof."""
    import torch

    from ..build import flush_denormals
    from .timing import layer_times, whole_times

    report = progress or (lambda stage: None)
    opts = options.check()
    threads = opts.resolved_threads()
    name = device_name(opts.device)
    dtype = getattr(torch, opts.dtype)
    itemsize = roofline.ITEMSIZE[opts.dtype]
    model = model.to(device=opts.device, dtype=dtype).eval()
    x = torch.randn(*profile.input_shape).to(device=opts.device, dtype=dtype)
    leaves = _leaf_modules(profile, model)
    with num_threads(opts.threads), flush_denormals():
        report("measuring device peaks")
        peaks = device_peaks(opts.device, name, opts.dtype, threads, opts.peak_flops, opts.peak_bw)
        watch = noise.Watch(threads).start()
        report("timing the whole model")
        total = whole_times(model, x, opts.repeat, opts.warmup, opts.device, opts.max_seconds)
        report("timing layers")
        iterations = layer_iterations(opts, total)
        latency, elems, sums = layer_times(model, x, leaves, iterations, opts.warmup, opts.device)
        env = watch.stop()
    nbytes = {n: roofline.layer_bytes(_weight_elems(leaves[n]), *elems.get(n, (0, 0, 0))[:2], itemsize)
              for n in leaves}
    working = {n: roofline.layer_bytes(_weight_elems(leaves[n]), elems.get(n, (0, 0, 0))[2], 0, itemsize)
               for n in leaves}
    layer_sum = sum(latency.values())
    eager = total["eager_ms"]
    gap = 100 * (eager - layer_sum) / eager if eager > 0 else None
    measurement = {
        "device": name, "dtype": opts.dtype, "batch": profile.input_shape[0], "threads": threads,
        "repeat": total["eager"]["samples"], "min_repeat": opts.repeat, "layer_iterations": iterations,
        "warmup": opts.warmup, "peaks": peaks,
        "total": {**total, "layer_sum_ms": layer_sum, "gap_pct": gap},
        "quality": quality(total["eager"], sums, gap, env),
    }
    measured = with_measurement(profile, latency, nbytes, measurement, working)
    return checked_against_roofs(measured, opts, threads, report)


def layer_iterations(opts: Options, total: dict[str, Any]) -> int:
    """How many profiled iterations time the layers: as many as the whole model took (at least
    `repeat`), at least 30 where `max_seconds` allows that many, at most 100."""
    runs_in_cap = int(opts.max_seconds * 1000 / total["eager_ms"]) if total["eager_ms"] > 0 else LAYER_ITERATIONS[1]
    wanted = max(opts.repeat, total["eager"]["samples"], min(LAYER_ITERATIONS[0], runs_in_cap), noise.MIN_SAMPLES)
    return min(wanted, LAYER_ITERATIONS[1])


def quality(eager: dict[str, Any], sums: list[float], gap: float | None, env: dict[str, Any]) -> dict[str, Any]:
    """{'grade', 'reasons', 'environment', 'layer_sum'}: how far the run can be trusted
    (noise.grade on the whole-model times, the gap and what else ran; the layer times' own
    interval counts too)."""
    grade, reasons = noise.grade(noise.Stats(**eager), gap, env)
    layer_stats = noise.summarise(sums) if sums else None
    if layer_stats and layer_stats.ci_pct is not None and layer_stats.ci_pct > 100 * noise.FAIR:
        grade, reasons = "noisy", [*reasons, f"the layer times' 95% interval is +-{layer_stats.ci_pct:.0f}%"]
    return {"grade": grade, "reasons": reasons, "environment": env,
            "layer_sum": layer_stats.to_dict() if layer_stats else None}


def checked_against_roofs(profile: Profile, opts: Options, threads: int,
                          report: Callable[[str], None]) -> Profile:
    """A layer above the roof that applies to it means the roof was measured low: measure the
    peaks again (keeping the better of the two readings of each roof); a roof still under a layer
    is raised to it, with a note in `peaks['raised']`. Peaks given by flags are the user's: layers
    above them are listed in `peaks['above']`, and nothing is raised."""
    m = profile.measurement
    peaks = {k: v for k, v in m["peaks"].items() if k != "above"}
    above = roofline.above_roof(profile.layers, peaks)
    if not above:
        return with_peaks_record(profile, peaks) if "above" in m["peaks"] else profile
    if peaks.get("source") == "flag":
        return with_peaks_record(profile, {**peaks, "above": above[:16]})
    report("a layer ran above its roof: measuring the peaks again")
    with num_threads(opts.threads):
        again = measure_and_keep(opts.device, m["device"], opts.dtype, threads)
    better = best_of(peaks, again)
    profile = with_peaks_record(profile, better)
    above = roofline.above_roof(profile.layers, better)
    return with_peaks_record(profile, roofline.raised(better, above)) if above else profile


def best_of(first: dict[str, Any], second: dict[str, Any]) -> dict[str, Any]:
    """Two readings of the same roofs: the higher of each (a roof is what the device can reach),
    with both readings' instability notes."""
    roofs = [{**a, "bytes_per_s": max(a["bytes_per_s"], b["bytes_per_s"])}
             for a, b in zip(first.get("roofs", []), second.get("roofs", []))] or first.get("roofs", [])
    return {**second, "flops": max(first["flops"], second["flops"]),
            "bytes_per_s": max(first["bytes_per_s"], second["bytes_per_s"]), "roofs": roofs,
            "remeasured": True, "source": first.get("source", "microbenchmark"),
            "unstable": [*first.get("unstable", []), *second.get("unstable", [])][:16]}


def with_peaks_record(profile: Profile, peaks: dict[str, Any]) -> Profile:
    """The profile with another peaks record: every measured row's roofline columns recomputed
    from its stored time and bytes."""
    layers = [roofline.apply(r, r.get("latency_ms"), r.get("bytes"), peaks, r.get("working_set"))
              if r.get("latency_ms") is not None else r for r in profile.layers]
    return dataclasses.replace(profile, layers=layers, measurement={**profile.measurement, "peaks": peaks})


def with_measurement(profile: Profile, latency: dict[str, float], nbytes: dict[str, int],
                     measurement: dict[str, Any], working: dict[str, int] | None = None) -> Profile:
    """A new Profile: leaf rows take their latency, bytes and working set (`working`: weights plus
    one call's inputs and outputs; their bytes where not given), every container the sums over the
    leaves below it, and the roofline columns follow (with `measurement['peaks']`)."""
    parent = {r["name"]: r.get("parent") for r in profile.layers}
    lat_sum: dict[str, float] = {}
    byte_sum: dict[str, int] = {}
    for leaf, ms in latency.items():
        node: str | None = leaf
        while node is not None:
            lat_sum[node] = lat_sum.get(node, 0.0) + ms
            byte_sum[node] = byte_sum.get(node, 0) + nbytes.get(leaf, 0)
            node = parent.get(node)
    peaks = measurement["peaks"]
    working = working or {}
    layers = [roofline.apply(r, lat_sum.get(r["name"]), byte_sum.get(r["name"]), peaks,
                             working.get(r["name"], byte_sum.get(r["name"])))
              if r["name"] in lat_sum else {**r, **dict.fromkeys(roofline.MEASURED_KEYS)}
              for r in profile.layers]
    return dataclasses.replace(profile, layers=layers, measurement=measurement)


def with_peaks(profile: Profile, peak_flops: float | None, peak_bw: float | None,
               measured: dict[str, Any] | None = None) -> Profile:
    """A stored measured profile with other peaks: flags in place of the compute or main-memory
    roof, or `measured` (the kept microbenchmark record) where the stored ones were flags; the
    roofline columns recomputed (the times and bytes stay as measured)."""
    from .peaks import with_flags

    m = profile.measurement
    if not m or (peak_flops is None and peak_bw is None and measured is None):
        return profile
    base = measured if measured is not None else m["peaks"]
    return with_peaks_record(profile, with_flags(base, peak_flops, peak_bw))


@dataclasses.dataclass
class Prepared:
    """A model built once with real weights for timing, and how its input is read."""

    model: Any
    shape: list[int]
    spec: Any
    info: dict[str, Any] | None
    layout: str


def prepare(name: str, input_text: str, batch: int | None,
            progress: Callable[[str], None] | None = None) -> Prepared:
    """Build `name` with real weights at `batch` (the input's own when None), refused in one line
    when weights plus peak activations at that batch exceed the memory budget."""
    from ..build import build_model, default_input_shape, resolve_input
    from ..catalog import catalog_info, resolve

    (progress or (lambda stage: None))("building")
    spec = resolve(name)
    info = catalog_info(spec)
    text, _, layout = input_text.partition(" ")
    image = spec.kind != "factory"
    if text == "default":
        shape = default_input_shape(spec, (info or {}).get("published"))
        shape, layout = resolve_input(shape, layout or None, image)
    else:
        shape, layout = resolve_input(text, layout or None, image)
    if batch:
        shape = [batch, *shape[1:]]
    model = build_model(spec, shape)  # memory.check_model: weights + peak activations at the batch
    real_weights(model)
    return Prepared(model, shape, spec, info, layout)


def profile_and_measure(name: str, input_text: str, options: Options,
                        progress: Callable[[str], None] | None = None) -> Profile:
    """Build `name` once with real weights, count it with fvcore at the measured input shape, then
    time it."""
    from ..profiler import profile_module

    options.check()
    built = prepare(name, input_text, options.batch, progress)
    prof = profile_module(built.model, built.shape, built.spec.spec, built.info, progress=progress,
                          layout=built.layout)
    return measure_profile(prof, built.model, options, progress)
