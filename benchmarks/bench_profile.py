"""archviz profile against plain fvcore and the peers, over issue 14's 8-model set, in one run
(imports excluded everywhere).

Each cell is the time a user waits for one model's count, building the model included:
- plain fvcore as a user runs it today: torchvision's default build (with its weight
  initialisation), FlopCountAnalysis(model, x).total() and parameter_count(model);
- archviz: `profile(name)` with the store bypassed, so it really builds and traces (on the meta
  device where shapes_only allows, else for real), and analyses the whole graph;
- peers, each on torchvision's default build: torch's FlopCounterMode on CPU tensors, thop.profile,
  ptflops.get_model_complexity_info (its default, module-hook backend), torchinfo.summary;
- the floor: FlopCounterMode on a model built on the meta device (no arithmetic at all, no
  per-layer table, no graph analysis).
The peers come from .venv-bench (`make bench-peers`), which only this script puts on sys.path; a
peer that is not installed is left out. The machine may be shared: each cell is the minimum of
--repeat runs (default 3), gc collected before each. On a busy machine the tools that compute
(fvcore, the peers) stall on their worker threads; --threads 1 gives every tool one thread.

    .venv/bin/python benchmarks/bench_profile.py [--repeat N] [--threads N] [model ...]"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import warnings
from pathlib import Path
from typing import Callable

warnings.simplefilter("ignore")
PEERS_DIR = Path(__file__).resolve().parent.parent / ".venv-bench"
if PEERS_DIR.is_dir():
    sys.path.append(str(PEERS_DIR))

import torch  # noqa: E402  (imports happen before any timing)
import torchvision  # noqa: E402
from fvcore.nn import FlopCountAnalysis, parameter_count  # noqa: E402
from torch.utils.flop_counter import FlopCounterMode  # noqa: E402

from archviz.catalog import BUILD_KWARGS  # noqa: E402
from archviz.profiler import profile  # noqa: E402

try:
    import thop  # noqa: E402
except ImportError:
    thop = None
try:
    from ptflops import get_model_complexity_info  # noqa: E402
except ImportError:
    get_model_complexity_info = None
try:
    from torchinfo import summary  # noqa: E402
except ImportError:
    summary = None


def torchvision_model(name: str, device: str = "cpu"):
    """torchvision's default build, as a user makes it (weight initialisation included)."""
    kwargs = {k: v for k, v in BUILD_KWARGS.get(name, {}).items() if k != "init_weights"}
    with torch.device(device):
        return torchvision.models.get_model(name, weights=None, **kwargs).eval()


def image(device: str = "cpu"):
    return torch.zeros(1, 3, 224, 224, device=device)


def plain_fvcore(name: str) -> float:
    model = torchvision_model(name)
    flops = FlopCountAnalysis(model, image())
    flops.unsupported_ops_warnings(False)
    flops.uncalled_modules_warnings(False)
    total = flops.total()
    parameter_count(model)
    return total


def archviz(name: str) -> float:
    return profile(name).totals["fvcore_macs"]  # profiler.profile never reads the store


def flop_counter(device: str) -> Callable[[str], float]:
    def count(name: str) -> float:
        model = torchvision_model(name, device)
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            model(image(device))
        return counter.get_total_flops() / 2
    return count


def thop_count(name: str) -> float:
    return thop.profile(torchvision_model(name), inputs=(image(),), verbose=False)[0]


def ptflops_count(name: str) -> float:
    with torch.no_grad():
        macs, _ = get_model_complexity_info(torchvision_model(name), (3, 224, 224), as_strings=False,
                                            print_per_layer_stat=False, verbose=False)
    return macs


def torchinfo_count(name: str) -> float:
    return summary(torchvision_model(name), input_size=(1, 3, 224, 224), verbose=0).total_mult_adds


def tools() -> dict[str, Callable[[str], float]]:
    """Column name -> the count it times; peers only where installed."""
    out = {"fvcore": plain_fvcore, "archviz": archviz, "FCM cpu": flop_counter("cpu")}
    if thop is not None:
        out["thop"] = thop_count
    if get_model_complexity_info is not None:
        out["ptflops"] = ptflops_count
    if summary is not None:
        out["torchinfo"] = torchinfo_count
    out["FCM meta"] = flop_counter("meta")
    return out


MODELS = ["alexnet", "vgg16", "googlenet", "resnet18", "resnet50", "resnet152", "densenet121",
          "densenet201"]  # issue 14's set
PEERS = ("FCM cpu", "thop", "ptflops", "torchinfo")  # FCM meta is the floor, not a peer


def best_of(fn: Callable[[str], float], name: str, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()  # no tool pays for another's garbage
        t0 = time.perf_counter()
        fn(name)
        times.append(time.perf_counter() - t0)
    return min(times)


def main(models: list[str], repeat: int) -> None:
    columns = tools()
    for fn in columns.values():  # warm-up: first-call costs (oneDNN, lazy imports) on no clock
        fn("resnet18")
    assert archviz(models[0]) == plain_fvcore(models[0])  # the same fvcore count
    seconds = {name: {tool: best_of(fn, name, repeat) for tool, fn in columns.items()} for name in models}
    peers = [p for p in PEERS if p in columns]
    head = f"{'model':<13}" + "".join(f"{t:>10}" for t in columns) + f"{'fastest peer':>14}{'archviz wins':>14}"
    print(f"seconds per model (minimum of {repeat} runs), torch threads={torch.get_num_threads()}")
    print(head)
    for name in models:
        row = seconds[name]
        fastest = min(peers, key=row.__getitem__)
        wins = "yes" if row["archviz"] <= row[fastest] else "NO"
        print(f"{name:<13}" + "".join(f"{row[t]:>10.3f}" for t in columns)
              + f"{fastest:>14}{wins:>14}")
    sums = {t: sum(seconds[n][t] for n in models) for t in columns}
    print(f"{'SUM':<13}" + "".join(f"{sums[t]:>10.3f}" for t in columns))
    print(f"{'x fvcore':<13}" + "".join(f"{sums[t] / sums['fvcore']:>10.2f}" for t in columns))
    print(f"archviz takes {sums['archviz'] / sums['fvcore']:.2f}x plain fvcore's time over the set "
          f"(goal <= 0.40); it beats the fastest peer on "
          f"{sum(seconds[n]['archviz'] <= min(seconds[n][p] for p in peers) for n in models)}"
          f"/{len(models)} models; missing peers: {', '.join(set(PEERS) - set(peers)) or 'none'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for every tool (default: torch's); 1 keeps a shared "
                             "machine's other work from stalling the tools that compute")
    parser.add_argument("models", nargs="*", default=MODELS)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    main(args.models, args.repeat)
