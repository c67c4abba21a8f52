"""Timing under a competing load (issue 22): resnet18 measured twice on the machine as it is, then
twice with one busy process per CPU. Prints each run's median, interval, grade and reasons, and the
ratio of the loaded medians to the quiet ones: the rule is that two runs agree within 10% or say
"noisy", and a noisy run is never stored.

Run: .venv/bin/python benchmarks/bench_noise.py [MODEL] [--input 1x3x112x112]"""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

warnings.simplefilter("ignore")

from archviz.measure import Options  # noqa: E402
from archviz.service import get_measured_profile, measured_grade  # noqa: E402


def run(model: str, shape: str) -> tuple[float, str, str, list[str]]:
    p = get_measured_profile(model, shape, Options(threads=2, max_seconds=5), use_cache=False)
    m = p.measurement
    e = m["total"]["eager"]
    ci = "-" if e["ci_pct"] is None else f"±{e['ci_pct']:.1f}%"
    return m["total"]["eager_ms"], ci, measured_grade(p), m["quality"]["reasons"]


def main() -> None:
    model = sys.argv[1] if len(sys.argv) > 1 and not sys.argv[1].startswith("-") else "resnet18"
    shape = sys.argv[sys.argv.index("--input") + 1] if "--input" in sys.argv else "1x3x112x112"
    results = {}
    for label in ("as it is", "loaded"):
        procs = []
        if label == "loaded":
            n = min(len(os.sched_getaffinity(0)), 16)
            procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
        try:
            results[label] = [run(model, shape) for _ in range(2)]
        finally:
            for p in procs:
                p.kill()
                p.wait()
        for ms, ci, grade, why in results[label]:
            print(f"{label:9s} {model} {shape}: {ms:8.2f} ms (median's 95% CI {ci}) {grade:6s} {'; '.join(why)[:160]}")
        (a, *_), (b, *_) = results[label]
        grades = [r[2] for r in results[label]]
        agree = abs(a - b) / min(a, b) <= 0.10
        print(f"{label:9s} two runs differ by {100 * abs(a - b) / min(a, b):.1f}%: "
              f"{'agree within 10%' if agree else 'disagree'}; grades {grades}; rule "
              f"{'held' if agree or 'noisy' in grades else 'BROKEN'}")
    quiet = sorted(r[0] for r in results["as it is"])[0]
    loaded = sorted(r[0] for r in results["loaded"])[0]
    print(f"loaded / as-it-is median: {loaded / quiet:.2f}x")


if __name__ == "__main__":
    main()
