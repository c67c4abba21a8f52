"""archviz profile --measure over the history set: the sum of per-layer latencies (torch.profiler,
attributed to leaf modules) vs the whole model's eager latency, on the CPU in the same run.

    python benchmarks/bench_measure.py [MODEL ...] [--repeat N] [--threads N]

Default: every history model (archviz.catalog.HISTORY), 5 timed runs, torch's thread count. The
goal is a sum within 10% of the whole (|gap| <= 10%). The store is bypassed: every model is timed."""

from __future__ import annotations

import sys
import time
import warnings

warnings.simplefilter("ignore")

from archviz.catalog import HISTORY  # noqa: E402
from archviz.measure import Options, profile_and_measure  # noqa: E402
from archviz.service import normalise  # noqa: E402

GOAL_PCT = 10.0


def main(argv: list[str]) -> int:
    repeat, threads, names = 5, None, []
    args = iter(argv)
    for a in args:
        if a == "--repeat":
            repeat = int(next(args))
        elif a == "--threads":
            threads = int(next(args))
        else:
            names.append(a)
    names = names or list(HISTORY)
    print(f"{'model':<20} {'whole ms':>10} {'p10-p90 ms':>17} {'layer sum':>10} {'sum/whole':>9} "
          f"{'gap':>7}  goal |gap|<={GOAL_PCT:g}%  (s)")
    met = 0
    for name in names:
        t0 = time.perf_counter()
        p = profile_and_measure(*normalise(name, None), Options(repeat=repeat, threads=threads))
        t = p.measurement["total"]
        ok = abs(t["gap_pct"]) <= GOAL_PCT
        met += ok
        lo, hi = t["eager_spread_ms"]
        print(f"{name:<20} {t['eager_ms']:>10.2f} {f'{lo:.2f}-{hi:.2f}':>17} {t['layer_sum_ms']:>10.2f} "
              f"{t['layer_sum_ms'] / t['eager_ms']:>9.3f} {t['gap_pct']:>+6.1f}%  "
              f"{'met' if ok else 'MISSED':<17} ({time.perf_counter() - t0:.0f})", flush=True)
    m = p.measurement
    print(f"{met}/{len(names)} within {GOAL_PCT:g}% | {m['device']} | {m['threads']} threads | "
          f"{m['dtype']} batch {m['batch']} | median of {m['repeat']} after {m['warmup']} warm-up runs")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
