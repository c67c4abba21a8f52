"""Atlas responsiveness at 1,500 points: a temporary store filled with 1,500 synthetic profiles
(tests/synthetic_atlas.py: chains of convolutions under real catalogue names, for their years and
families), then the Atlas's filter callback timed over loopback HTTP on the real dashboard.

Prints, all measured in this run: the baseline a cache-less callback would pay (decoding every
stored profile), the cold build of the Atlas's rows, and the warm filter callback's p50/p95 (goal:
p95 <= 300 ms) with its ratio to the baseline. Not a test: prints numbers.

    .venv/bin/python benchmarks/bench_atlas.py [N_REQUESTS]"""

from __future__ import annotations

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

POINTS = 1500
GOAL_P95_S = 0.300


def percentile(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q * (len(xs) - 1))))]


def names(n: int) -> list[str]:
    """Catalogue names first (torchvision, papers, timm), then factory-style names (no family, no
    year) to reach n."""
    from archviz import catalog

    out = [*catalog.catalogue_names()]
    try:
        out += [f"timm:{t}" for t in catalog.timm_models()]
    except Exception:  # timm not installed: fewer real names
        pass
    out = out[:n]
    out += [f"bench_nets.py:net_{i:04d}" for i in range(n - len(out))]
    return out


def fill(home: Path) -> None:
    from archviz.profiler import versions
    from archviz.store import Store
    from synthetic_atlas import fill_store

    store = Store(home / "profiles.sqlite")
    t0 = time.perf_counter()
    fill_store(store, names(POINTS), versions())
    print(f"filled a store with {POINTS} synthetic profiles in {time.perf_counter() - t0:.1f} s")
    store.close()


def baseline(home: Path) -> float:
    """What a callback without the cache would pay: every stored profile read and decoded."""
    from archviz.store import Store

    store = Store(home / "profiles.sqlite")
    conn = store._conn
    keys = [k for (k,) in conn.execute("SELECT key FROM profiles WHERE key LIKE '%|default|%'")]
    t0 = time.perf_counter()
    for k in keys:
        store.get(k)
    store.close()
    return time.perf_counter() - t0


def cold_build(home: Path) -> float:
    from archviz.atlas import AtlasCache
    from archviz.store import Store

    store = Store(home / "profiles.sqlite")
    t0 = time.perf_counter()
    rows = AtlasCache().rows(store)
    took = time.perf_counter() - t0
    store.close()
    assert len(rows) == POINTS, len(rows)
    return took


FILTERS = [([], ""), (["ResNet"], ""), ([], "vit"), (["ResNet", "VGG", "DenseNet"], ""), ([], "net"),
           ([], "zzz-nothing"), (["ConvNeXt"], "tiny")]


def timed_calls(url: str, n: int) -> dict[str, list[float]]:
    """Time n filter callbacks, cycling through FILTERS and the three metrics; per filter."""
    import json

    from dash_client import ATLAS_OUTPUT, callback_payload, post

    metrics = ["params", "depth", "macs"]
    times: dict[str, list[float]] = {}
    for i in range(n):
        fams, search = FILTERS[i % len(FILTERS)]
        inputs = {"atlas-family.value": fams, "atlas-search.value": search,
                  "atlas-metric.value": metrics[i % len(metrics)]}
        body = json.dumps(callback_payload(ATLAS_OUTPUT, inputs)).encode()
        t0 = time.perf_counter()
        status, answer = post(url, body)
        took = time.perf_counter() - t0
        shown = json.loads(answer)["response"]["atlas-shown"]["children"] if status == 200 else None
        label = f"{'+'.join(fams) or 'all'} / {search!r}: {shown} ({len(answer) / 1024:.0f} KiB)"
        label = next((k for k in times if k.split(":")[0] == label.split(":")[0]), label)  # one row a filter
        assert status == 200 and shown, (status, answer[:200])
        times.setdefault(label, []).append(took)
    return times


def main(n: int = 60) -> None:
    from dash_client import ATLAS_OUTPUT, DashServer, call

    with tempfile.TemporaryDirectory(prefix="archviz-bench-atlas-") as tmp:
        home = Path(tmp)
        os.environ["ARCHVIZ_HOME"] = str(home)
        fill(home)
        base = baseline(home)
        print(f"baseline: decode all {POINTS} stored profiles        {1e3 * base:8.1f} ms (a cache-less callback)")
        print(f"cold: build the Atlas rows (heads + catalogue) {1e3 * cold_build(home):8.1f} ms (once per store change)")
        server = DashServer(env=dict(os.environ))
        try:
            t0 = time.perf_counter()
            call(server.url, ATLAS_OUTPUT, {"atlas-family.value": [], "atlas-search.value": "",
                                            "atlas-metric.value": "params"}, timeout=300)
            print(f"first Atlas callback in a fresh server           {1e3 * (time.perf_counter() - t0):8.1f} ms")
            per_filter = timed_calls(server.url, n)
        finally:
            server.stop()
    for label, ts in per_filter.items():
        print(f"  {label:<70} median {1e3 * statistics.median(ts):7.1f} ms")
    times = [t for ts in per_filter.values() for t in ts]
    p50, p95 = statistics.median(times), percentile(times, 0.95)
    print(f"warm filter callback over HTTP: p50 {1e3 * p50:.1f} ms, p95 {1e3 * p95:.1f} ms (n={n}, "
          f"{len(FILTERS)} filters x 3 metrics)")
    print(f"p95 / baseline = {p95 / base:.3f};  p95 / goal (300 ms) = {p95 / GOAL_P95_S:.2f} "
          f"-> {'met' if p95 <= GOAL_P95_S else 'NOT met'}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 60)
