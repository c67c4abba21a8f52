"""One script a maintainer runs on a GPU machine (CI has none): archviz's CUDA measurements against
independent timers and peaks, and the meta-device training peak against the allocator's.

For each model at each dtype it prints and writes (JSON, to $OUT or the folder given) :
- whole model: archviz's eager median and CUDA-graph replay against torch.cuda.Event timing of the
  same forward (median of 50), and the per-layer sum (kineto device time) against the graph time;
- roofs: archviz's compute roof for the dtype against a cuBLAS GEMM (8192^3, torch.matmul timed
  with events), and its HBM roof against a 1 GiB device copy timed with events;
- the roofline rule: layers above the roof that applies to them (after archviz measured the peaks
  again or raised a roof with a note: any raise is listed);
- memory: archviz's meta-device peak of one training step against torch.cuda.max_memory_allocated
  of a real one (archviz.training.cuda_check).

Run: python benchmarks/gpu_check.py [OUTDIR]   (about 3 minutes on an H100)"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from pathlib import Path

MODELS = (("resnet50", 32), ("vit_b_16", 32), ("densenet121", 32))
DTYPES = ("float32", "bfloat16")


def event_ms(fn, repeat: int = 50) -> float:
    """Median ms of `fn` between two CUDA events, after 5 warm-up calls."""
    import torch

    for _ in range(5):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(repeat):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b))
    return statistics.median(times)


def gemm_peak(dtype: str, n: int = 8192) -> float:
    import torch

    dt = getattr(torch, dtype)
    x, y = torch.randn(n, n, device="cuda", dtype=dt), torch.randn(n, n, device="cuda", dtype=dt)
    return 2 * n ** 3 / (event_ms(lambda: torch.matmul(x, y), 20) / 1e3)


def copy_peak(nbytes: int = 2 ** 30) -> float:
    import torch

    src = torch.empty(nbytes // 4, device="cuda")
    dst = torch.empty_like(src)
    return 2 * nbytes / (event_ms(lambda: dst.copy_(src), 20) / 1e3)


def check_model(name: str, batch: int, dtype: str) -> dict:
    import torch

    import archviz.measure as measure
    from archviz.measure import Options, roofline
    from archviz.profiler import profile_module

    opts = Options(device="cuda", dtype=dtype, batch=batch, repeat=20, max_seconds=5)
    built = measure.prepare(name, "default", batch)
    prof = profile_module(built.model, built.shape, built.spec.spec, built.info, layout=built.layout)
    p = measure.measure_profile(prof, built.model, opts)
    m = p.measurement
    model = built.model.to("cuda", getattr(torch, dtype)).eval()
    x = torch.randn(*built.shape, device="cuda", dtype=getattr(torch, dtype))
    with torch.no_grad():
        independent = event_ms(lambda: model(x))
    above = roofline.above_roof(p.layers, m["peaks"])
    t = m["total"]
    return {"model": name, "batch": batch, "dtype": dtype, "grade": m["quality"]["grade"],
            "eager_ms": t["eager_ms"], "event_ms": independent, "eager_vs_event": t["eager_ms"] / independent,
            "graph_ms": t["graph_ms"], "layer_sum_ms": t["layer_sum_ms"],
            "layer_sum_vs_graph": None if not t["graph_ms"] else t["layer_sum_ms"] / t["graph_ms"],
            "compute_roof": m["peaks"]["flops"], "hbm_roof": m["peaks"]["bytes_per_s"],
            "roofs": [(r["level"], r["bytes_per_s"]) for r in m["peaks"]["roofs"]],
            "compute_roofs": [(c["name"], c["flops"]) for c in m["peaks"].get("compute", [])],
            "raised": m["peaks"].get("raised", []), "layers_above_roof": above}


def main() -> None:
    import torch

    if not torch.cuda.is_available():
        print("gpu_check: no CUDA device here; run it on a GPU machine", file=sys.stderr)
        sys.exit(2)
    out_dir = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("OUT", "."))
    started = time.time()
    report: dict = {"device": torch.cuda.get_device_name(0), "torch": torch.__version__, "models": []}
    for dtype in DTYPES:
        report[f"cublas_gemm_{dtype}"] = gemm_peak(dtype)
    report["copy_1GiB"] = copy_peak()
    for name, batch in MODELS:
        for dtype in DTYPES:
            row = check_model(name, batch, dtype)
            row["compute_roof_vs_cublas"] = row["compute_roof"] / report[f"cublas_gemm_{dtype}"]
            row["hbm_roof_vs_copy"] = row["hbm_roof"] / report["copy_1GiB"]
            report["models"].append(row)
            print(f"{name:12s} {dtype:9s} b{batch}: eager {row['eager_ms']:.2f} ms vs events {row['event_ms']:.2f} "
                  f"({row['eager_vs_event']:.2f}x) | layer sum / graph {row['layer_sum_vs_graph'] or float('nan'):.2f} | "
                  f"compute roof / cuBLAS {row['compute_roof_vs_cublas']:.2f} | HBM roof / copy "
                  f"{row['hbm_roof_vs_copy']:.2f} | above roof {len(row['layers_above_roof'])} | "
                  f"raised {len(row['raised'])} | {row['grade']}", flush=True)
    try:
        from archviz.training import cuda_check

        report["memory"] = [{"model": n, **cuda_check(n, 8)} for n in ("resnet18", "densenet121")]
        for r in report["memory"]:
            print("memory", r, flush=True)
    except Exception as exc:  # reported, not hidden
        report["memory_error"] = f"{type(exc).__name__}: {exc}"
        print("memory check failed:", report["memory_error"], flush=True)
    report["seconds"] = time.time() - started
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "gpu_check.json").write_text(json.dumps(report, indent=1, default=str))
    print(f"wrote {out_dir / 'gpu_check.json'} in {report['seconds']:.0f} s")


if __name__ == "__main__":
    main()
