"""archviz profile vs plain fvcore over the history set, in one run (imports excluded on both sides).

Plain fvcore as a user runs it today: torchvision's default build (with its weight initialisation),
then FlopCountAnalysis(model, x).total() and parameter_count(model). archviz: build on the meta
device with zeroed storage, one trace, full graph analysis (receptive fields, depth, blocks, per-layer
table). The store is bypassed so archviz really traces. Prints seconds per model and the ratio."""

from __future__ import annotations

import gc
import sys
import time
import warnings

warnings.simplefilter("ignore")

import torch  # noqa: E402  (imports happen before any timing)
import torchvision  # noqa: E402
from fvcore.nn import FlopCountAnalysis, parameter_count  # noqa: E402

from archviz.catalog import BUILD_KWARGS, HISTORY  # noqa: E402
from archviz.profiler import profile  # noqa: E402


def plain_fvcore(name: str) -> float:
    kwargs = BUILD_KWARGS.get(name, {})
    model = torchvision.models.get_model(name, weights=None, **{k: v for k, v in kwargs.items() if k != "init_weights"}).eval()
    x = torch.zeros(1, 3, 224, 224)
    flops = FlopCountAnalysis(model, x)
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    total = flops.total()
    parameter_count(model)
    return total


def main(models: list[str]) -> None:
    profile("resnet18")  # warm-up: first-call costs (oneDNN, lazy imports) on neither side's clock
    plain_fvcore("resnet18")
    rows, t_fv, t_av = [], 0.0, 0.0
    for name in models:
        gc.collect()  # neither side pays for the other's garbage
        t0 = time.perf_counter()
        fv = plain_fvcore(name)
        t1 = time.perf_counter()
        gc.collect()
        t2 = time.perf_counter()
        p = profile(name)
        t3 = time.perf_counter()
        assert p.totals["fvcore_macs"] == fv, (name, p.totals["fvcore_macs"], fv)
        rows.append((name, t1 - t0, t3 - t2))
        t_fv += t1 - t0
        t_av += t3 - t2
    print(f"{'model':<14}{'plain fvcore s':>16}{'archviz s':>12}{'ratio':>8}")
    for name, a, b in rows:
        print(f"{name:<14}{a:>16.3f}{b:>12.3f}{b / a:>8.2f}")
    print(f"{'TOTAL':<14}{t_fv:>16.3f}{t_av:>12.3f}{t_av / t_fv:>8.2f}")
    print(f"archviz takes {t_av / t_fv:.2f}x plain fvcore's time (goal <= 0.50, stretch <= 0.20), "
          f"torch threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main(sys.argv[1:] or list(HISTORY))
