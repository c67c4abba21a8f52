"""archviz sweep: local 1 worker vs local 2 workers vs a Dask LocalCluster of 2 workers, in one run.

Each configuration profiles the same models (default: every torchvision classifier; --subset: a
fixed set of 16 from every family; or the models named) into a fresh temporary store, from cold:
worker start-up (each worker process imports torch, about 4 s) is on the clock, as a user pays it.
Prints the wall time, models per minute, the speedup against local-1 (goal >= 1.7x with 2 workers
on 2 cores), and the steady-state speedup (results per second between the first and the last
result: start-up left out), the workers' profiling seconds summed and the load average around each
run, since other processes on the machine skew the ratios. With --repeat N (default 2) the
configurations run N times in alternating order and the best run of each is kept. Checks that every
run stored the same totals for every model.

    python benchmarks/bench_sweep.py                        # all torchvision classifiers, 2 passes
    python benchmarks/bench_sweep.py --subset --repeat 3    # the 16-model set
    python benchmarks/bench_sweep.py resnet18 vgg16         # these"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from archviz.store import Store
from archviz.sweep import DONE, Outcome, Watcher, sweep
from archviz.sweep.executors import DaskExecutor, LocalExecutor

SUBSET = [
    "alexnet", "vgg16", "googlenet", "inception_v3", "resnet50", "resnet152", "densenet121",
    "densenet201", "mobilenet_v2", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_1_6gf",
    "convnext_tiny", "shufflenet_v2_x1_0", "vit_b_16", "swin_t",
]
CONFIGS = [
    ("local-1", lambda: LocalExecutor(workers=1, timeout=600, retries=0)),
    ("local-2", lambda: LocalExecutor(workers=2, timeout=600, retries=0)),
    ("dask-2", lambda: DaskExecutor(workers=2, timeout=600, retries=0)),
]


class Clock(Watcher):
    """When each result came back."""

    def __init__(self) -> None:
        self.times: list[float] = []
        self.busy = 0.0  # seconds the workers spent profiling, summed over models

    def finished(self, outcome: Outcome) -> None:
        self.times.append(time.monotonic())
        self.busy += outcome.seconds

    def steady_rate(self) -> float | None:
        """Results per second from the first result to the last: worker start-up left out."""
        if len(self.times) < 3:
            return None
        return (len(self.times) - 1) / (self.times[-1] - self.times[0])


def run(name: str, make, models: list[str], folder: Path) -> tuple[float, float | None, float, dict]:
    folder.mkdir(exist_ok=True)
    store = Store(folder / f"{name}.sqlite")
    clock = Clock()
    began = time.monotonic()
    result = sweep(models, executor=make(), store=store, watcher=clock)
    wall = time.monotonic() - began
    bad = [o for o in result.outcomes if o.status != DONE]
    if bad:
        sys.exit(f"{name}: not every model was profiled: {bad}")
    totals = {}
    for model, _ in store.models():
        key = next(k for k in store.keys() if k.startswith(f"{model}|default|"))
        prof = store.get(key)
        totals[model] = (prof.totals["params"], prof.totals["macs"], prof.totals["depth"])
    store.close()
    return wall, clock.steady_rate(), clock.busy, totals


@dataclass
class Row:
    name: str
    wall: float
    rate: float | None
    busy: float
    load: tuple[float, float]  # 1-minute load average before and after


def parse(argv: list[str]) -> tuple[list[str], int]:
    """[--subset | MODELS...] [--repeat N]; default: every torchvision classifier, 2 passes."""
    repeat = 2
    if "--repeat" in argv:
        at = argv.index("--repeat")
        repeat = max(1, int(argv[at + 1]))
        argv = argv[:at] + argv[at + 2:]
    if argv == ["--subset"]:
        return list(SUBSET), repeat
    if argv:
        return argv, repeat
    from archviz.catalog import torchvision_models

    return list(torchvision_models()), repeat


def main(argv: list[str]) -> None:
    models, repeat = parse(argv)
    print(f"{len(models)} models, {os.cpu_count()} CPU cores, load {os.getloadavg()[0]:.1f}; each "
          f"run into a fresh store, worker start-up included; {repeat} pass(es), order alternating, "
          "best run per configuration kept")
    best: dict[str, Row] = {}
    reference: dict | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for n in range(repeat):
            order = CONFIGS if n % 2 == 0 else CONFIGS[::-1]  # neither side always runs last
            for name, make in order:
                before = os.getloadavg()[0]
                wall, rate, busy, totals = run(name, make, models, Path(tmp) / f"{n}")
                print(f"  pass {n + 1} {name:<8} {wall:7.1f} s", flush=True)
                reference = reference if reference is not None else totals
                if totals != reference:
                    sys.exit(f"{name} stored other totals than the first run")
                if name not in best or wall < best[name].wall:
                    best[name] = Row(name, wall, rate, busy, (before, os.getloadavg()[0]))
    base = best[CONFIGS[0][0]]
    print(f"\n{'config':<9}{'wall s':>8}{'models/min':>12}{'speedup':>9}{'steady speedup':>16}"
          f"{'profiling s':>13}{'load before/after':>19}")
    for name, _ in CONFIGS:
        r = best[name]
        steady = f"{r.rate / base.rate:.2f}x" if r.rate and base.rate else "-"
        print(f"{name:<9}{r.wall:>8.1f}{len(models) / r.wall * 60:>12.1f}{base.wall / r.wall:>8.2f}x"
              f"{steady:>16}{r.busy:>13.1f}{r.load[0]:>11.1f} /{r.load[1]:>5.1f}")
    print("goal: >= 1.70x for local-2 and dask-2 on 2 cores (same totals stored by every run).\n"
          "profiling s: the workers' seconds summed over models; it grows when other processes "
          "share the cores (load: the 1-minute load average, other work included).")


if __name__ == "__main__":
    main(sys.argv[1:])
