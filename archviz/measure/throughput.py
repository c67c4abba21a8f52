"""Throughput against batch size: one model built once (at the largest batch, so the memory budget
is checked where it is tightest), then each batch timed whole with the noise-aware repeats of
timing.whole_times, and graded like any measurement. Also the rows of `archviz bench`, in the
columns of timm's benchmark.py inference results, so they join timm's published tables:

- infer_samples_per_sec: batch / the median step time (timm divides the samples by the elapsed
  time of its timed loop; the median is the same figure without the loop's outliers);
- infer_step_time: the median step time in ms; infer_batch_size; infer_img_size: the input's last
  dimension (timm's input_size[-1]);
- param_count: parameters in millions, rounded to 2 places (timm's round(n / 1e6, 2));
- infer_gmacs and infer_macts: fvcore's MACs and activations for ONE sample, in 1e9 and 1e6,
  rounded to 2 places (timm's profile_fvcore runs batch 1).

archviz adds its own columns after timm's: the interval, the grade and the setting."""

from __future__ import annotations

from typing import Any, Callable

from ..errors import ArchvizError
from . import noise

MAX_BATCHES = 12
MAX_BATCH = 65536
TIMM_COLUMNS = ("model", "infer_img_size", "infer_samples_per_sec", "infer_step_time", "infer_batch_size",
                "param_count", "infer_gmacs", "infer_macts")
OWN_COLUMNS = ("infer_step_time_ci_pct", "quality", "device", "dtype", "threads")


def parse_batches(text: str, flag: str = "--batch") -> list[int]:
    """'1,8,32,64' -> [1, 8, 32, 64] (sorted, each once); one clear line for anything else."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts or not all(p.isdigit() for p in parts):
        raise ArchvizError(f"{flag} {text!r}: expected batch sizes such as 1,8,32,64", 2)
    batches = sorted({int(p) for p in parts})
    if batches[0] < 1 or batches[-1] > MAX_BATCH:
        raise ArchvizError(f"{flag} {text!r}: each batch from 1 to {MAX_BATCH}", 2)
    if len(batches) > MAX_BATCHES:
        raise ArchvizError(f"{flag} {text!r}: at most {MAX_BATCHES} batch sizes", 2)
    return batches


def time_batches(name: str, input_text: str, batches: list[int], options: Any,
                 progress: Callable[[str], None] | None = None) -> tuple[list[int], list[dict[str, Any]]]:
    """(the input shape at batch 1, [{'batch', 'latency_ms', 'samples_per_s', 'eager' (noise.Stats),
    'grade', 'reasons'}]) for each batch, smallest first."""
    import torch

    from ..build import flush_denormals
    from . import num_threads, prepare
    from .timing import whole_times

    report = progress or (lambda stage: None)
    opts = options.check()
    built = prepare(name, input_text, max(batches), progress)
    dtype = getattr(torch, opts.dtype)
    model = built.model.to(device=opts.device, dtype=dtype).eval()
    points = []
    with num_threads(opts.threads), flush_denormals():
        threads = opts.resolved_threads()
        for b in batches:
            report(f"timing batch {b}")
            x = torch.randn(b, *built.shape[1:]).to(device=opts.device, dtype=dtype)
            watch = noise.Watch(threads).start()
            total = whole_times(model, x, opts.repeat, opts.warmup, opts.device, opts.max_seconds)
            grade, reasons = noise.grade(noise.Stats(**total["eager"]), None, watch.stop())
            ms = total["eager_ms"]
            points.append({"batch": b, "latency_ms": ms, "samples_per_s": b / (ms / 1e3) if ms > 0 else None,
                           "eager": total["eager"], "grade": grade, "reasons": reasons})
            del x
    return [1, *built.shape[1:]], points


def bench_row(model: str, profile: Any, point: dict[str, Any], setting: dict[str, Any]) -> dict[str, Any]:
    """One `archviz bench` row: timm's columns (see the module docstring), then archviz's own.
    `profile` is the model counted at batch 1."""
    t = profile.totals
    return {"model": model, "infer_img_size": profile.input_shape[-1],
            "infer_samples_per_sec": round(point["samples_per_s"], 2) if point["samples_per_s"] else None,
            "infer_step_time": round(point["latency_ms"], 3), "infer_batch_size": point["batch"],
            "param_count": round(t["params"] / 1e6, 2), "infer_gmacs": round(t["macs"] / 1e9, 2),
            "infer_macts": round(t["activations"] / 1e6, 2),
            "infer_step_time_ci_pct": None if point["eager"].get("ci_pct") is None
            else round(point["eager"]["ci_pct"], 2),
            "quality": point["grade"], **setting}
