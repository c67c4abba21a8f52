"""Device peaks for the roofline, measured by short microbenchmarks or given by flags.

- Compute: the best of a square matmul and a 3x3 convolution at the measured dtype (on CUDA also
  the FP32 roof without tensor cores, and for float32 the TF32 tensor-core roof cuDNN convs use).
- Bandwidth, one roof per memory level (caches.py), the better of two kernels at a working set of
  half the level: a copy (bytes read + bytes written per second) and a re-read, each row of a
  stride-0 expansion of one resident buffer summed along its length (bytes read per second; one
  call streams the whole buffer many times, so the call's overhead, which swamps a single copy of
  an L1-sized buffer, is amortised). A roof is an upper bound, so each level's roof is at least the next larger
  level's (`monotone`); the raw reading is kept beside it.
- Each peak is the best of RUNS short runs; their spread (max - min) / max is kept, and a spread
  over SPREAD_FLAG (10%), or a change of more than 10% from the last measurement kept for this
  device, is written into `unstable` so every output can say so.

Kept per device + dtype + threads in $ARCHVIZ_HOME/peaks.json with the date and the last few
measurements (written atomically; a file that fails its checks is measured again, with a warning)."""

from __future__ import annotations

import json
import math
import time
from pathlib import Path
from typing import Any, Callable

from ..files import CacheProblem, home, is_number, read_checked, short_text, write_quietly
from .caches import LEVEL_NAMES, Level, cpu_levels, cuda_levels
from .roofline import memory_roofs

CACHE_NAME = "peaks.json"
SECONDS = 0.05     # per benchmark and run, at most about (one warm-up call comes first)
RUNS = 5
SPREAD_FLAG = 10.0  # % spread (or % change from the last kept measurement) that flags a peak
HISTORY = 8


def device_name(device: str) -> str:
    """'cpu: <model name from /proc/cpuinfo>' or the CUDA device's name."""
    if device == "cuda":
        import torch

        return torch.cuda.get_device_name(torch.cuda.current_device())
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
            if line.lower().startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    if not model:
        import platform

        model = platform.processor() or platform.machine() or "unknown"
    return f"cpu: {model}"


def cache_key(name: str, dtype: str, threads: int) -> str:
    return f"{name}|{dtype}|threads={threads}"


def _cache_path() -> Path:
    return home() / CACHE_NAME


# -- the kept file: untrusted data, checked on read ------------------------------------------------

def read_cache() -> dict[str, Any]:
    """The kept peaks, each checked (finite, positive rates in range, bounded lists); a file that
    fails is made again, with one warning."""
    return read_checked(_cache_path(), _checked_peaks, {})


def _rate(v: Any) -> bool:
    return is_number(v, 1.0, 1e20)


def _roof_ok(r: Any) -> bool:
    return (isinstance(r, dict) and r.get("level") in LEVEL_NAMES and _rate(r.get("bytes_per_s"))
            and (r.get("capacity") is None or is_number(r.get("capacity"), 1, 1e15))
            and all(r.get(k) is None or is_number(r.get(k), 0, 1e20) for k in ("working_set", "measured"))
            and is_number(r.get("spread_pct", 0), 0, 100))


def _compute_ok(c: Any) -> bool:
    return (isinstance(c, dict) and short_text(c.get("name"), 60) and isinstance(c.get("applies", True), bool)
            and _rate(c.get("flops")) and is_number(c.get("spread_pct", 0), 0, 100))


def entry_problem(entry: Any) -> str | None:
    """Why one kept (or stored) peaks record is not one archviz writes; None when it is."""
    if not (isinstance(entry, dict) and _rate(entry.get("flops")) and _rate(entry.get("bytes_per_s"))):
        return "rates not finite positive numbers"
    if not is_number(entry.get("when", 0), 0, 1e11):
        return "a date that is not a time"
    for key, ok in (("roofs", _roof_ok), ("compute", _compute_ok)):
        items = entry.get(key, [])
        if not (isinstance(items, list) and len(items) <= 8 and all(ok(x) for x in items)):
            return f"{key} that are not roofs"
    history = entry.get("history", [])
    if not (isinstance(history, list) and len(history) <= HISTORY and all(
            isinstance(h, dict) and _rate(h.get("flops")) and _rate(h.get("bytes_per_s"))
            and is_number(h.get("when", 0), 0, 1e11) for h in history)):
        return "a history that is not a list of measurements"
    notes = entry.get("unstable", [])
    if not (isinstance(notes, list) and len(notes) <= 16 and all(short_text(n) for n in notes)):
        return "notes that are not short text"
    if not (entry.get("runs") is None or is_number(entry.get("runs"), 1, 1000, whole=True)) \
            or not is_number(entry.get("spread_pct", 0), 0, 100):
        return "a run count or spread that is not a number"
    return None


def _checked_peaks(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or len(data) > 1000:
        raise CacheProblem("not a JSON object of peaks")
    for key, entry in data.items():
        why = entry_problem(entry)
        if why:
            raise CacheProblem(f"{str(key)[:60]!r}: {why}")
    return data


def write_cache(key: str, value: dict[str, Any]) -> None:
    """Add one entry, atomically (a temporary file renamed over the old one); trouble is ignored."""
    write_quietly(_cache_path(), json.dumps({**read_cache(), key: value}, indent=1))


# -- microbenchmarks ------------------------------------------------------------------------------

def _best_rate(fn, work: float, sync, seconds: float) -> float:
    """work / the fastest of a few timed calls (after one warm-up), within about `seconds`."""
    fn()
    sync()
    best, spent, calls = float("inf"), 0.0, 0
    while calls < 3 or (spent < seconds and calls < 200):
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return work / best


def _matmul(n: int, dt: Any, device: str) -> tuple[Callable[[], Any], float]:
    """An n x n matmul and its FLOPs."""
    import torch

    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)
    out = torch.empty(n, n, device=device, dtype=dt)
    return (lambda: torch.mm(a, b, out=out)), 2.0 * n ** 3


def _conv(channels: int, size: int, dt: Any, device: str, batch: int = 1) -> tuple[Callable[[], Any], float]:
    """A 3x3 convolution, C -> C channels on `batch` size x size maps (padding 1), and its FLOPs."""
    import torch

    x = torch.randn(batch, channels, size, size, device=device).to(dt)
    w = torch.randn(channels, channels, 3, 3, device=device).to(dt)
    conv = torch.nn.functional.conv2d
    return (lambda: conv(x, w, padding=1)), 2.0 * batch * channels * channels * 9 * size * size


def _copy(working_set: int, dt: Any, device: str) -> tuple[Callable[[], Any], float]:
    """A copy whose source and destination together are `working_set` bytes, and the bytes moved."""
    import torch

    itemsize = torch.empty(0, dtype=dt).element_size()
    src = torch.ones(max(working_set // (2 * itemsize), 1024), device=device, dtype=dt)
    dst = torch.zeros_like(src)  # touched once here, so no page faults are timed
    return (lambda: dst.copy_(src)), 2.0 * src.numel() * itemsize


REREAD_BYTES = 64 * 2**20  # what one re-read call reads in all


def _reread(working_set: int, dt: Any, device: str) -> tuple[Callable[[], Any], float]:
    """A buffer of `working_set` bytes read R times in one call, and the bytes read (R x the
    buffer): each row of a stride-0 expansion of it summed along its contiguous length, so every
    row streams the whole buffer from the level that holds it (summing across the rows instead
    would let the kernel keep each chunk in registers while it adds the rows)."""
    import torch

    itemsize = torch.empty(0, dtype=dt).element_size()
    n = max(working_set // itemsize, 1024)
    times = max(REREAD_BYTES // (n * itemsize), 1)
    src = torch.ones(n, device=device, dtype=dt)
    out = torch.zeros(times, device=device, dtype=dt)
    rows = src.expand(times, n)
    return (lambda: torch.sum(rows, dim=1, out=out)), float(times * n * itemsize)


def _compute_kernels(device: str, dtype: str) -> list[tuple[str, Callable[[], tuple[Callable, float]], bool]]:
    """(name, make the kernel, whether it bounds the measured dtype) for each compute roof."""
    import torch

    dt = getattr(torch, dtype)
    if device != "cuda":
        n = 1024 if dtype == "float32" else 512
        return [(f"{dtype} matmul {n}", lambda: _matmul(n, dt, device), True),
                (f"{dtype} 3x3 conv 128ch 56px", lambda: _conv(128, 56, dt, device), True)]
    kernels = [(f"{dtype} tensor-core matmul" if dtype != "float32" else "float32 matmul (no TF32)",
                lambda: _matmul(8192, dt, device), True)]
    if dtype == "float32":  # cuDNN convs use TF32 by default: that roof bounds fp32 convs too
        kernels.append(("TF32 tensor-core conv", lambda: _conv(256, 56, dt, device, batch=32),
                        bool(torch.backends.cudnn.allow_tf32)))
    else:
        kernels.append(("float32 CUDA-core matmul (no TF32)", lambda: _matmul(4096, torch.float32, device), False))
    return kernels


def _levels(device: str, threads: int) -> list[Level]:
    import os

    if device == "cuda":
        import torch

        props = torch.cuda.get_device_properties(torch.cuda.current_device())
        return cuda_levels(getattr(props, "L2_cache_size", None))
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return cpu_levels(threads, cpus)


def _spread(rates: list[float]) -> float:
    return 100 * (max(rates) - min(rates)) / max(rates)


def _runs(make: Callable[[], tuple[Callable, float]], sync, runs: int, seconds: float,
          tf32_off: bool = False) -> list[float]:
    """The best rate of each of `runs` short runs of one kernel (made once, freed after), after one
    run that is not kept."""
    import torch

    before = torch.backends.cuda.matmul.allow_tf32
    torch.backends.cuda.matmul.allow_tf32 = False if tf32_off else before
    try:
        fn, work = make()
        _best_rate(fn, work, sync, seconds)  # a run discarded: first touches, thread pool and clock ramp-up
        return [_best_rate(fn, work, sync, seconds) for _ in range(runs)]
    finally:
        torch.backends.cuda.matmul.allow_tf32 = before


def microbenchmark(device: str, dtype: str, threads: int = 1, runs: int = RUNS,
                   seconds: float = SECONDS) -> dict[str, Any]:
    """Every roof of this device at `dtype`: {'flops': the roof that bounds the dtype,
    'bytes_per_s': main memory's, 'compute': [...], 'roofs': [...] (smallest level first),
    'spread_pct', 'runs', 'unstable': [notes]} by the method in this module's docstring."""
    import torch

    from .noise import Watch, disturbances

    sync = torch.cuda.synchronize if device == "cuda" else (lambda: None)
    watch = Watch(threads).start()
    compute = []
    for name, make, applies in _compute_kernels(device, dtype):
        rates = _runs(make, sync, runs, seconds, tf32_off="no TF32" in name)
        compute.append({"name": name, "flops": max(rates), "spread_pct": _spread(rates), "applies": applies})
    roofs = []
    for level in _levels(device, threads):
        dt = getattr(torch, dtype)
        copies = _runs(lambda: _copy(level.working_set, dt, device), sync, runs, seconds)
        rereads = _runs(lambda: _reread(level.working_set, dt, device), sync, runs, seconds)
        rates = [max(c, r) for c, r in zip(copies, rereads)]
        roofs.append({"level": level.name, "capacity": None if math.isinf(level.capacity) else int(level.capacity),
                      "working_set": level.working_set, "measured": max(rates), "bytes_per_s": max(rates),
                      "spread_pct": _spread(rates)})
    record = summarised(compute, roofs, runs)
    busy = [f"measured while {d}" for d in disturbances(watch.stop())] if device != "cuda" else []
    return {**record, "unstable": [*record["unstable"], *busy]}


def monotone(roofs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each level's roof at least the next larger level's (anything that fits a small level fits
    the larger ones too); the raw reading stays in 'measured'."""
    out = [dict(r) for r in roofs]
    for i in range(len(out) - 2, -1, -1):
        out[i]["bytes_per_s"] = max(out[i]["bytes_per_s"], out[i + 1]["bytes_per_s"])
    return out


def summarised(compute: list[dict[str, Any]], roofs: list[dict[str, Any]], runs: int) -> dict[str, Any]:
    """The peaks record from its compute and bandwidth roofs (see `microbenchmark`)."""
    roofs = monotone(roofs)
    unstable = [f"{c['name']}: runs spread {c['spread_pct']:.0f}%" for c in compute if c["spread_pct"] > SPREAD_FLAG]
    unstable += [f"{r['level']} bandwidth: runs spread {r['spread_pct']:.0f}%" for r in roofs
                 if r["spread_pct"] > SPREAD_FLAG]
    applies = [c["flops"] for c in compute if c.get("applies", True)] or [c["flops"] for c in compute]
    return {"flops": max(applies), "bytes_per_s": roofs[-1]["bytes_per_s"], "compute": compute, "roofs": roofs,
            "spread_pct": max([c["spread_pct"] for c in compute] + [r["spread_pct"] for r in roofs]),
            "runs": runs, "unstable": unstable}


def compared_with_last(fresh: dict[str, Any], last: dict[str, Any] | None) -> dict[str, Any]:
    """`fresh` with the kept history appended to, and a note in `unstable` for each peak that
    moved more than SPREAD_FLAG % from the last kept measurement."""
    if not last:
        return {**fresh, "history": [{"when": fresh["when"], "flops": fresh["flops"],
                                      "bytes_per_s": fresh["bytes_per_s"]}]}
    notes = list(fresh.get("unstable", []))
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(last.get("when", 0)))
    pairs = [("compute peak", fresh["flops"], last["flops"]),
             ("main-memory bandwidth", fresh["bytes_per_s"], last["bytes_per_s"])]
    before = {r["level"]: r["bytes_per_s"] for r in last.get("roofs") or []}
    pairs += [(f"{r['level']} bandwidth", r["bytes_per_s"], before[r["level"]])
              for r in fresh.get("roofs") or [] if r["level"] in before and r["capacity"] is not None]
    for label, now, then in pairs:
        change = 100 * (now - then) / then
        if abs(change) > SPREAD_FLAG:
            notes.append(f"{label} {change:+.0f}% from the measurement of {when}")
    history = [*last.get("history", []), {"when": fresh["when"], "flops": fresh["flops"],
                                           "bytes_per_s": fresh["bytes_per_s"]}][-HISTORY:]
    return {**fresh, "unstable": notes[:16], "history": history}


def measure_and_keep(device: str, name: str, dtype: str, threads: int, runs: int = RUNS) -> dict[str, Any]:
    """Measure every roof now, compare with what was kept, keep the new record, return it."""
    key = cache_key(name, dtype, threads)
    fresh = {**microbenchmark(device, dtype, threads, runs), "when": time.time()}
    kept = compared_with_last(fresh, read_cache().get(key))
    write_cache(key, kept)
    return kept


def device_peaks(device: str, name: str, dtype: str, threads: int, peak_flops: float | None = None,
                 peak_bw: float | None = None) -> dict[str, Any]:
    """The peaks record for a measurement: the kept one for this device (measured now when none is
    kept, the kept one predates per-level roofs, or it was flagged unstable), with flags replacing the compute roof
    (--peak-flops) or the main-memory roof (--peak-bandwidth). `source` is 'flag' when any value
    came from a flag, else 'microbenchmark'."""
    measured: dict[str, Any] = {}
    if peak_flops is None or peak_bw is None:
        kept = read_cache().get(cache_key(name, dtype, threads))
        usable = isinstance(kept, dict) and kept.get("roofs") and not kept.get("unstable")
        measured = kept if usable else measure_and_keep(device, name, dtype, threads)  # unstable: again
    return with_flags(measured, peak_flops, peak_bw)


def with_flags(measured: dict[str, Any], peak_flops: float | None, peak_bw: float | None) -> dict[str, Any]:
    """A peaks record with flags in place of the measured compute or main-memory roof. With both
    flags, or nothing measured, there is one memory level: main memory."""
    flops = float(peak_flops if peak_flops is not None else measured["flops"])
    bw = float(peak_bw if peak_bw is not None else measured["bytes_per_s"])
    roofs = [dict(r) for r in memory_roofs({"roofs": measured.get("roofs"), "bytes_per_s": bw})]
    roofs[-1] = {**roofs[-1], "bytes_per_s": bw}
    out = {k: v for k, v in measured.items() if k not in ("history",)}
    return {**out, "flops": flops, "bytes_per_s": bw, "roofs": monotone(roofs) if peak_bw is not None else roofs,
            "source": "flag" if (peak_flops is not None or peak_bw is not None) else "microbenchmark"}
