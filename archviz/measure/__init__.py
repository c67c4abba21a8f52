"""Measured speed: per-layer latency from torch.profiler, bytes, intensity and roofline bound, and
the whole model's time, added to a Profile (`measurement` and the layer keys in
roofline.MEASURED_KEYS). README, "Measured speed", states the method and the rules."""

from __future__ import annotations

import contextlib
import dataclasses
from typing import Any, Callable, Iterator

from ..errors import ArchvizError
from ..record import Profile
from . import roofline
from .peaks import device_name, device_peaks

DEVICES = ("cpu", "cuda")
DTYPES = ("float32", "bfloat16", "float16")
DEFAULT_REPEAT = 10
DEFAULT_WARMUP = 3


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

    def check(self) -> "Options":
        """Refuse what cannot be measured here, in one line (exit 2)."""
        if self.device not in DEVICES:
            raise ArchvizError(f"--device {self.device!r}: expected cpu or cuda", 2)
        if self.dtype not in DTYPES:
            raise ArchvizError(f"--dtype {self.dtype!r}: expected one of {', '.join(DTYPES)}", 2)
        for flag, v in (("--batch", self.batch), ("--repeat", self.repeat), ("--threads", self.threads)):
            if v is not None and v < 1:
                raise ArchvizError(f"{flag} must be at least 1, not {v}", 2)
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
    `measurement`. `model` is the built model with real weights, in eval mode, on the CPU."""
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
        report("timing layers")
        latency, elems = layer_times(model, x, leaves, opts.repeat, opts.warmup, opts.device)
        report("timing the whole model")
        total = whole_times(model, x, opts.repeat, opts.warmup, opts.device)
    peaks = raised_to_observed(peaks, profile, latency)
    nbytes = {n: roofline.layer_bytes(_weight_elems(leaves[n]), *elems.get(n, (0, 0)), itemsize)
              for n in leaves}
    layer_sum = sum(latency.values())
    eager = total["eager_ms"]
    measurement = {
        "device": name, "dtype": opts.dtype, "batch": profile.input_shape[0], "threads": threads,
        "repeat": opts.repeat, "warmup": opts.warmup, "peaks": peaks,
        "total": {**total, "layer_sum_ms": layer_sum,
                  "gap_pct": 100 * (eager - layer_sum) / eager if eager > 0 else None},
    }
    return with_measurement(profile, latency, nbytes, measurement)


def raised_to_observed(peaks: dict[str, Any], profile: Profile, latency: dict[str, float]) -> dict[str, Any]:
    """A microbenchmark run while the machine is busy can read below what the model's own layers
    then reach; a compute roof under its points would be wrong, so the measured peak is raised to
    the fastest layer, and the source says so. Peaks given as flags are kept as given."""
    if peaks.get("source") != "microbenchmark":
        return peaks
    flops = {r["name"]: r["flops"] for r in profile.layers}
    fastest = max((flops[n] / (ms / 1e3) for n, ms in latency.items() if ms > 0 and flops.get(n)),
                  default=0.0)
    if fastest <= peaks["flops"]:
        return peaks
    return {**peaks, "flops": fastest, "source": "microbenchmark, raised to the fastest layer"}


def with_measurement(profile: Profile, latency: dict[str, float], nbytes: dict[str, int],
                     measurement: dict[str, Any]) -> Profile:
    """A new Profile: leaf rows take their latency and bytes, every container the sum over the
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
    layers = [roofline.apply(r, lat_sum.get(r["name"]), byte_sum.get(r["name"]), peaks)
              if r["name"] in lat_sum else {**r, **dict.fromkeys(roofline.MEASURED_KEYS)}
              for r in profile.layers]
    return dataclasses.replace(profile, layers=layers, measurement=measurement)


def with_peaks(profile: Profile, peak_flops: float | None, peak_bw: float | None,
               source: str = "flag") -> Profile:
    """A stored measured profile with other peaks (given by flags, or measured where the stored
    ones were flags): the roofline columns recomputed (the times and bytes stay as measured)."""
    m = profile.measurement
    if not m or (peak_flops is None and peak_bw is None):
        return profile
    peaks = {"flops": peak_flops if peak_flops is not None else m["peaks"]["flops"],
             "bytes_per_s": peak_bw if peak_bw is not None else m["peaks"]["bytes_per_s"],
             "source": source}
    layers = [roofline.apply(r, r.get("latency_ms"), r.get("bytes"), peaks)
              if r.get("latency_ms") is not None else r for r in profile.layers]
    return dataclasses.replace(profile, layers=layers, measurement={**m, "peaks": peaks})


def profile_and_measure(name: str, input_text: str, options: Options,
                        progress: Callable[[str], None] | None = None) -> Profile:
    """Build `name` once with real weights (refused in one line when weights plus peak activations
    at the batch exceed the memory budget), count it with fvcore at the measured input shape, then
    time it."""
    from ..build import build_model, default_input_shape, resolve_input
    from ..catalog import catalog_info, resolve
    from ..profiler import profile_module

    options.check()
    report = progress or (lambda stage: None)
    report("building")
    spec = resolve(name)
    info = catalog_info(spec)
    text, _, layout = input_text.partition(" ")
    image = spec.kind != "factory"
    if text == "default":
        shape = default_input_shape(spec, (info or {}).get("published"))
        shape, layout = resolve_input(shape, layout or None, image)
    else:
        shape, layout = resolve_input(text, layout or None, image)
    if options.batch:
        shape = [options.batch, *shape[1:]]
    model = build_model(spec, shape)  # memory.check_model: weights + peak activations at the batch
    real_weights(model)
    prof = profile_module(model, shape, spec.spec, info, progress=progress, layout=layout)
    return measure_profile(prof, model, options, progress)
