"""Dashboard latency with a warm store: callback p50/p95 over loopback HTTP, and first page load
(navigation start to charts drawn) in headless Chromium. Not a test: prints numbers."""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from browser import make_driver  # noqa: E402
from dash_client import EXPLORER_OUTPUT, HISTORY_OUTPUT, DashServer, call, history_inputs  # noqa: E402



def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def main(n: int = 40) -> None:
    server = DashServer(env=dict(os.environ))
    try:
        call(server.url, HISTORY_OUTPUT, history_inputs())  # warm
        for label, output, inputs in (
            ("history", HISTORY_OUTPUT, history_inputs()),
            ("explorer resnet50", EXPLORER_OUTPUT, {"ex-model.value": "resnet50", "ex-size.value": None}),
        ):
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                call(server.url, output, inputs)
                times.append(time.perf_counter() - t0)
            print(f"callback {label:<18} p50 {1e3 * statistics.median(times):7.1f} ms   "
                  f"p95 {1e3 * percentile(times, 0.95):7.1f} ms   (n={n})")
        driver = make_driver()
        try:
            t0 = time.perf_counter()
            driver.get(server.url + "/")
            while driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") < 3:
                time.sleep(0.02)
            print(f"first page load (History, charts drawn): {1e3 * (time.perf_counter() - t0):.0f} ms")
        finally:
            driver.quit()
    finally:
        server.stop()


if __name__ == "__main__":
    main()
