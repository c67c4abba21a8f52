"""Start-up time of the quick commands against a bare `import torch`, measured in the same run.

Each command runs in a fresh process (cold interpreter) with a warm catalogue snapshot in a
throw-away ARCHVIZ_HOME; the median of N runs (default 5) is printed with its ratio to the torch
import. Goal: every quick command at most 0.3x that import.

    python benchmarks/bench_start.py [N]"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

GOAL = 0.3
ARCHVIZ = str(Path(sys.executable).parent / "archviz")


@dataclass(frozen=True)
class Case:
    label: str
    argv: list[str]
    expect_rc: int


CASES = [
    Case("archviz list", [ARCHVIZ, "list"], 0),
    Case("archviz list --all", [ARCHVIZ, "list", "--all"], 0),
    Case("archviz profile resnet51", [ARCHVIZ, "profile", "resnet51"], 2),
]
TORCH = Case('python -c "import torch"', [sys.executable, "-c", "import torch"], 0)


def timed(case: Case, env: dict[str, str]) -> float:
    start = time.perf_counter()
    r = subprocess.run(case.argv, env=env, capture_output=True, text=True, timeout=300)
    elapsed = time.perf_counter() - start
    if r.returncode != case.expect_rc:
        raise SystemExit(f"{case.label}: rc {r.returncode}, expected {case.expect_rc}: {r.stderr.strip()}")
    return elapsed


def median_of(case: Case, env: dict[str, str], runs: int) -> float:
    return statistics.median(timed(case, env) for _ in range(runs))


def main(runs: int) -> int:
    with tempfile.TemporaryDirectory(prefix="archviz-bench-start-") as home:
        env = {**os.environ, "ARCHVIZ_HOME": home}
        cold = timed(CASES[0], env)  # builds the snapshot (imports torchvision once)
        print(f"first 'archviz list' (builds the catalogue snapshot): {cold:.2f} s")
        torch_s = median_of(TORCH, env, runs)
        print(f"{TORCH.label:<28} {torch_s:6.3f} s  (median of {runs})")
        worst = 0.0
        for case in CASES:
            t = median_of(case, env, runs)
            worst = max(worst, t / torch_s)
            print(f"{case.label:<28} {t:6.3f} s  {t / torch_s:5.2f}x the torch import")
    verdict = "met" if worst <= GOAL else "NOT met"
    print(f"goal: each at most {GOAL}x the torch import: {verdict} (worst {worst:.2f}x)")
    return 0 if worst <= GOAL else 1


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else 5))
