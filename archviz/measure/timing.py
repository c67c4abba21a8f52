"""Per-layer latency from torch.profiler, and the whole model's eager (and CUDA-graph) time.

How layers are timed: each leaf module's `forward` is replaced, on the instance, by a wrapper that
runs the original inside `torch.profiler.record_function("archviz::<row name>")` (a patched
forward, not a forward hook: hooks go through the module call's hook machinery on every call and
distort the very times they would measure; the wrapper adds one profiler range). The model then
runs `repeat` times under `torch.profiler.profile(activities=[CPU] (+CUDA), record_shapes=False)`,
each run inside an "archviz::iteration" range. Every leaf range is given to the iteration whose
range contains it (time containment); a leaf's latency is the median over iterations of the summed
durations of its ranges in that iteration (a module called twice counts twice). On the CPU a
range's duration is its wall time, which covers every aten operator run inside it and the
dispatch between them; on CUDA it is the device time of the kernels launched inside it.

The whole-model time is measured separately, without the profiler and with the original forwards:
`warmup` runs, then at least `repeat` timed runs, more until the median's 95% interval is within
+-5% or the time cap runs out (noise.repeat_until_settled), so it is the time a user of the model
sees, with the median, IQR and interval that say how far to trust it. On CUDA a CUDA graph of the forward is also captured and replayed: eager
minus graph is the launch gap. The difference between the whole-model time and the sum of the leaf
times (gap) is reported: Python glue in container forwards, functional ops outside any leaf, and
the profiler's own overhead inside the ranges."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import time
from bisect import bisect_right
from typing import Any, Iterator

from .noise import percentile, repeat_until_settled, summarise

PREFIX = "archviz::"
ITERATION = "archviz::iteration"


def _tensor_elems(obj: Any) -> int:
    import torch
    from torch.utils._pytree import tree_flatten

    return sum(t.numel() for t in tree_flatten(obj)[0] if isinstance(t, torch.Tensor))


class PatchedLeaves:
    """Leaf forwards wrapped in record_function ranges (restored on exit). While `capture` is on,
    each call also adds its input and output element counts to `elems[name]` ([inputs, outputs,
    the largest one call's inputs + outputs]: a module called twice moves the sum, but works on one
    call's data at a time)."""

    def __init__(self, leaves: dict[str, Any]) -> None:
        self.leaves = leaves
        self.capture = False
        self.elems: dict[str, list[int]] = {}
        self._saved: list[tuple[Any, bool, Any]] = []

    def _wrap(self, name: str, forward):
        from torch.profiler import record_function

        label = PREFIX + name

        def patched(*args, **kwargs):
            with record_function(label):
                out = forward(*args, **kwargs)
            if self.capture:
                acc = self.elems.setdefault(name, [0, 0, 0])
                ins, outs = _tensor_elems((args, kwargs)), _tensor_elems(out)
                acc[0] += ins
                acc[1] += outs
                acc[2] = max(acc[2], ins + outs)  # the largest single call: the working set
            return out
        return patched

    def __enter__(self) -> "PatchedLeaves":
        for name, mod in self.leaves.items():
            own = "forward" in mod.__dict__
            self._saved.append((mod, own, mod.__dict__.get("forward")))
            mod.forward = self._wrap(name, mod.forward)
        return self

    def __exit__(self, *exc: Any) -> None:
        for mod, own, fwd in self._saved:
            if own:
                mod.forward = fwd
            else:
                del mod.forward
        self._saved.clear()


@contextlib.contextmanager
def native_stderr_silenced() -> Iterator[None]:
    """File descriptor 2 sent to /dev/null for the duration: the profiler's native library (kineto)
    logs its start and stop there, ignoring KINETO_LOG_LEVEL. Python exceptions still propagate."""
    sys.stderr.flush()
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _sync(device: str):
    import torch

    return torch.cuda.synchronize if device == "cuda" else (lambda: None)


def layer_times(model: Any, x: Any, leaves: dict[str, Any], repeat: int, warmup: int,
                device: str) -> tuple[dict[str, float], dict[str, list[int]], list[float]]:
    """({leaf name: median ms}, {leaf name: [input elems, output elems, largest call]}, [the leaves' summed ms in
    each iteration]) by the attribution in this module's docstring. Leaves never called get 0.0 ms."""
    import torch

    sync = _sync(device)
    acts = [torch.profiler.ProfilerActivity.CPU]
    if device == "cuda":
        acts.append(torch.profiler.ProfilerActivity.CUDA)
    with PatchedLeaves(leaves) as patched, torch.no_grad():
        patched.capture = True
        model(x)  # the first warm-up run also counts each leaf's input and output elements
        patched.capture = False
        sync()
        for _ in range(max(warmup - 1, 0)):
            model(x)
        sync()
        with native_stderr_silenced(), \
                torch.profiler.profile(activities=acts, record_shapes=False) as prof:
            for _ in range(repeat + 1):  # the first profiled run is dropped (profiler start-up)
                with torch.profiler.record_function(ITERATION):
                    model(x)
                    sync()
    per_iter = per_iteration(list(prof.events()), list(leaves), device)
    return medians(per_iter), patched.elems, iteration_sums(per_iter)


def attribute(events: list[Any], leaves: list[str], device: str) -> dict[str, float]:
    """{leaf name: median ms} from profiler events (see `per_iteration`)."""
    return medians(per_iteration(events, leaves, device))


def medians(per_iter: dict[str, list[float]]) -> dict[str, float]:
    return {n: statistics.median(v) if v else 0.0 for n, v in per_iter.items()}


def iteration_sums(per_iter: dict[str, list[float]]) -> list[float]:
    """The leaves' total ms in each iteration: the samples the layer sum's spread is read from."""
    columns = list(per_iter.values())
    return [sum(col[k] for col in columns) for k in range(len(columns[0]))] if columns else []


def host_range(event: Any) -> bool:
    """A profiler event that happened on the host (CPU), or one with no device type at all."""
    kind = getattr(event, "device_type", None)
    return kind is None or getattr(kind, "name", str(kind)).upper().endswith("CPU")


def per_iteration(events: list[Any], leaves: list[str], device: str) -> dict[str, list[float]]:
    """{leaf name: [ms in each iteration]} from profiler events (anything with `name` and
    `time_range.start/end` in microseconds; on CUDA `device_time_total` or `cuda_time_total`): the attribution of this
    module's docstring, apart from any device so that a test can hand it made-up events. The
    first iteration is dropped (profiler start-up); a range that ends after its iteration does is
    not counted; leaves never called get 0.0 ms. Only the host's copy of each range counts: with
    CUDA activity on, kineto also reports every record_function range as a GPU user annotation of
    the same name (pytorch/pytorch#144613), which would split iterations in two; the device time of
    the kernels a range launched is on its host event."""
    events = [e for e in events if host_range(e)]
    iters = sorted((e.time_range.start, e.time_range.end) for e in events if e.name == ITERATION)[1:]
    starts = [s for s, _ in iters]
    per_iter: dict[str, list[float]] = {name: [0.0] * len(iters) for name in leaves}
    for e in events:
        if not e.name.startswith(PREFIX) or e.name == ITERATION:
            continue
        name = e.name[len(PREFIX):]
        k = bisect_right(starts, e.time_range.start) - 1
        if name not in per_iter or k < 0 or e.time_range.end > iters[k][1]:
            continue
        if device == "cuda":
            us = getattr(e, "device_time_total", None)
            us = e.cuda_time_total if us is None else us
        else:
            us = e.time_range.end - e.time_range.start
        per_iter[name][k] += us / 1e3
    return per_iter


def whole_times(model: Any, x: Any, repeat: int, warmup: int, device: str,
                cap_seconds: float = 10.0) -> dict[str, Any]:
    """Eager median, [p10, p90] and the noise summary (noise.Stats) in ms, without the profiler,
    from at least `repeat` runs and more until settled or `cap_seconds`; on CUDA the CUDA-graph
    replay median too (None where capture fails or on the CPU)."""
    import torch

    sync = _sync(device)

    def one() -> float:
        t0 = time.perf_counter()
        model(x)
        sync()
        return (time.perf_counter() - t0) * 1e3

    with torch.no_grad():
        for _ in range(warmup):
            model(x)
        sync()
        times = repeat_until_settled(one, repeat, cap_seconds)
    stats = summarise(times)
    graph = cuda_graph_ms(model, x, repeat) if device == "cuda" else None
    return {"eager_ms": stats.median, "eager_spread_ms": [percentile(times, 10), percentile(times, 90)],
            "eager": stats.to_dict(), "graph_ms": graph,
            "launch_gap_ms": None if graph is None else stats.median - graph}


def cuda_graph_ms(model: Any, x: Any, repeat: int) -> float | None:
    """Median replay time of a CUDA graph of one forward, or None when it cannot be captured."""
    import torch

    try:
        with torch.no_grad():
            side = torch.cuda.Stream()
            side.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(side):
                for _ in range(3):
                    model(x)
            torch.cuda.current_stream().wait_stream(side)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                model(x)
            graph.replay()
            torch.cuda.synchronize()
            times = []
            for _ in range(repeat):
                start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
                start.record()
                graph.replay()
                end.record()
                end.synchronize()
                times.append(start.elapsed_time(end))
        return statistics.median(times)
    except Exception:  # models with data-dependent control flow or host syncs: eager only
        return None
