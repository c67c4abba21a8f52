"""Device peaks for the roofline: a short microbenchmark (a large matmul for FLOP/s, a large copy
for bytes/s) at the measured dtype, cached per device + dtype + threads in $ARCHVIZ_HOME/peaks.json
(written atomically; a cache that cannot be read or written is just not used), or given by flags."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any, Callable

from ..files import CacheProblem, home, is_number, read_checked, write_quietly

CACHE_NAME = "peaks.json"
SECONDS = 0.25  # per benchmark, at most about (one warm-up call comes on top)


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


def read_cache() -> dict[str, Any]:
    """The kept peaks, each checked (finite, positive rates in range); a file that fails is made
    again, with one warning."""
    return read_checked(_cache_path(), _checked_peaks, {})


def _checked_peaks(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise CacheProblem("not a JSON object")
    for key, entry in data.items():
        if not (isinstance(entry, dict) and all(is_number(entry.get(k), 1.0, 1e20) for k in ("flops", "bytes_per_s"))
                and is_number(entry.get("when", 0), 0, 1e11)):
            raise CacheProblem(f"{str(key)[:60]!r}: rates not finite positive numbers")
    return data


def write_cache(key: str, value: dict[str, Any]) -> None:
    """Add one entry, atomically (a temporary file renamed over the old one); trouble is ignored."""
    write_quietly(_cache_path(), json.dumps({**read_cache(), key: value}, indent=1))


def _best_rate(fn, work: float, sync, seconds: float) -> float:
    """work / the fastest of a few timed calls (after one warm-up), within about `seconds`."""
    fn()
    sync()
    best, spent, calls = float("inf"), 0.0, 0
    while calls < 3 or (spent < seconds and calls < 50):
        t0 = time.perf_counter()
        fn()
        sync()
        dt = time.perf_counter() - t0
        best, spent, calls = min(best, dt), spent + dt, calls + 1
    return work / best


def _matmul_rate(n: int, dt: Any, device: str, sync: Callable[[], Any], seconds: float) -> float:
    """FLOP/s of an n x n matmul (its operands freed on return)."""
    import torch

    a = torch.randn(n, n, device=device).to(dt)
    b = torch.randn(n, n, device=device).to(dt)
    out = torch.empty(n, n, device=device, dtype=dt)
    return _best_rate(lambda: torch.mm(a, b, out=out), 2.0 * n ** 3, sync, seconds)


def microbenchmark(device: str, dtype: str, seconds: float = SECONDS) -> dict[str, float]:
    """{'flops': FLOP/s of an n x n matmul, 'bytes_per_s': read + write bytes/s of a large copy}."""
    import torch

    dt = getattr(torch, dtype)
    cuda = device == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    n = 8192 if cuda else (1024 if dtype == "float32" else 512)
    flops = _matmul_rate(n, dt, device, sync, seconds)
    elems = (1 << 28 if cuda else 1 << 25) // torch.empty(0, dtype=dt).element_size()  # 256/32 MiB
    src = torch.ones(elems, device=device, dtype=dt)
    dst = torch.empty_like(src)
    bw = _best_rate(lambda: dst.copy_(src), 2.0 * src.numel() * src.element_size(), sync, seconds)
    return {"flops": flops, "bytes_per_s": bw}


def device_peaks(device: str, name: str, dtype: str, threads: int, peak_flops: float | None = None,
                 peak_bw: float | None = None) -> dict[str, Any]:
    """{'flops', 'bytes_per_s', 'source'}: flags where given, the rest from the cache or a fresh
    microbenchmark. `source` is 'flag' when any value came from a flag, else 'microbenchmark'."""
    measured: dict[str, Any] = {}
    if peak_flops is None or peak_bw is None:
        key = cache_key(name, dtype, threads)
        cached = read_cache().get(key)
        if isinstance(cached, dict) and all(isinstance(cached.get(k), (int, float)) and cached[k] > 0
                                            for k in ("flops", "bytes_per_s")):
            measured = cached
        else:
            measured = microbenchmark(device, dtype)
            write_cache(key, {**measured, "when": time.time()})
    return {"flops": float(peak_flops if peak_flops is not None else measured["flops"]),
            "bytes_per_s": float(peak_bw if peak_bw is not None else measured["bytes_per_s"]),
            "source": "flag" if (peak_flops is not None or peak_bw is not None) else "microbenchmark"}
