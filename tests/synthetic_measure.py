"""SYNTHETIC measurements for tests: fill a real Profile with the schema `archviz profile --measure`
writes (profile.measurement and the per-layer latency_ms, bytes, intensity, achieved_flops, bound),
with plausible made-up numbers from a simple roofline model. Nothing here is measured."""

from __future__ import annotations

import copy
import math

PEAKS = {"flops": 1.0e11, "bytes_per_s": 2.0e10, "source": "microbenchmark"}  # 100 GFLOP/s, 20 GB/s


def synthetic_measure(profile, batch: int = 1, threads: int = 2, peaks: dict | None = None,
                      efficiency: float = 0.5, overhead_ms: float = 0.004):
    """A copy of `profile` with synthetic measured fields: each leaf's time is the larger of its
    FLOPs at `efficiency` × peak and its bytes at 0.7 × bandwidth, plus a fixed per-layer overhead."""
    peaks = dict(peaks or PEAKS)
    p = copy.deepcopy(profile)
    layer_sum = 0.0
    for r in p.layers:
        if not r["leaf"]:
            r.update(latency_ms=None, bytes=None, intensity=None, achieved_flops=None, bound=None, roof=None)
            continue
        flops = r["flops"] * batch
        out = math.prod(r["output_shape"]) if isinstance(r.get("output_shape"), list) else 0
        nbytes = 4 * (r["params"] + 2 * out * batch)  # weights, plus an input and an output as big
        compute_ms = 1000 * flops / (efficiency * peaks["flops"])
        memory_ms = 1000 * nbytes / (0.7 * peaks["bytes_per_s"])
        ms = max(compute_ms, memory_ms) + overhead_ms
        bound = "overhead" if overhead_ms > max(compute_ms, memory_ms) else (
            "compute" if compute_ms >= memory_ms else "memory")
        r.update(latency_ms=ms, bytes=nbytes, intensity=flops / nbytes if nbytes else None,
                 achieved_flops=flops / (ms / 1000), bound=bound, roof="DRAM")
        layer_sum += ms
    eager = layer_sum * 1.08
    p.measurement = {
        "device": "cpu (synthetic)", "dtype": "float32", "batch": batch, "threads": threads, "repeat": 20,
        "warmup": 3, "peaks": peaks, "min_repeat": 10,
        "quality": {"grade": "good", "reasons": [], "environment": {}, "layer_sum": None},
        "total": {"eager_ms": eager, "eager_spread_ms": [eager * 0.97, eager * 1.06], "graph_ms": eager * 0.9,
                  "launch_gap_ms": eager * 0.1, "layer_sum_ms": layer_sum,
                  "gap_pct": 100 * (eager - layer_sum) / eager}}
    return p
