"""Cold vs warm `archviz report vgg16`, as a user runs it (a fresh process each time).

Cold: empty store (build, trace, analyse, render). Warm: the profile comes from the store, so torch is
never imported. Prints both times and the ratio."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ARCHVIZ = str(Path(sys.executable).parent / "archviz")


def run(env: dict[str, str], cwd: str) -> float:
    t0 = time.perf_counter()
    subprocess.run([ARCHVIZ, "report", "vgg16"], env=env, cwd=cwd, check=True, capture_output=True)
    return time.perf_counter() - t0


def main(repeats: int = 3) -> None:
    cold, warm = [], []
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as home:
            env = {**os.environ, "ARCHVIZ_HOME": home}
            cold.append(run(env, home))
            warm.append(run(env, home))
    c, w = min(cold), min(warm)
    print(f"archviz report vgg16: cold {c:.2f} s, warm {w:.2f} s (best of {repeats}); warm/cold = {w / c:.2f}")


if __name__ == "__main__":
    main()
