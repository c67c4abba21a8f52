"""Timing that knows its own noise (issue 22): the median's interval by hand, the repeat rule with a
fake clock, the grade, the machine watch, and two real measurements of resnet18 under a synthetic
competing load. No test asserts a duration."""

from __future__ import annotations

import math
import os
import subprocess
import sys

import pytest

from archviz.measure import noise


def test_median_interval_ranks_by_hand():
    """n = 10: ranks 1 and 8 (0-based) cover B in 2..8, P = 1 - 2 (1 + 10) / 1024 = 0.9785 >= 0.95;
    ranks 2 and 7 cover 3..7, P = 1 - 2 (1 + 10 + 45) / 1024 = 0.8906, too little. n = 6: only the
    extremes, P = 1 - 2 / 64 = 0.969. n = 5: 1 - 2 / 32 = 0.9375 < 0.95, no interval."""
    assert noise.median_ci_ranks(10) == (1, 8)
    assert noise.median_ci_ranks(6) == (0, 5)
    assert noise.median_ci_ranks(5) is None
    n = 100  # against the binomial sums written out here
    j, k = noise.median_ci_ranks(n)
    cover = sum(math.comb(n, i) for i in range(j + 1, k + 1)) / 2 ** n
    tighter = sum(math.comb(n, i) for i in range(j + 2, k)) / 2 ** n
    assert cover >= 0.95 > tighter and j + k == n - 1


def test_summary_by_hand():
    st = noise.summarise([10.0, 11, 12, 13, 14, 15, 16, 17, 18, 19])
    assert st.median == 14.5 and st.samples == 10
    assert st.ci == [11, 18] and st.ci_pct == pytest.approx(100 * 3.5 / 14.5)
    assert st.iqr == [12.25, 16.75]


class Clock:
    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now


def test_repeats_stop_when_settled_or_at_the_cap():
    clock = Clock()

    def steady():
        clock.now += 0.01
        return 5.0

    times = noise.repeat_until_settled(steady, 3, cap_seconds=10, clock=clock)
    assert len(times) == noise.MIN_SAMPLES  # identical runs settle as soon as an interval exists
    wild = iter([1.0, 9.0] * 10_000)

    def noisy():
        clock.now += 0.5
        return next(wild)

    clock.now = 0.0
    times = noise.repeat_until_settled(noisy, 3, cap_seconds=10, clock=clock)
    assert len(times) == 20  # 20 runs of 0.5 s reach the 10 s cap; the interval never settles
    assert len(noise.repeat_until_settled(steady, 40, cap_seconds=0, clock=clock)) == 40  # a minimum
    # a slow model asked for 3 runs still gets the 6 an interval needs, past the cap
    assert len(noise.repeat_until_settled(noisy, 3, cap_seconds=0, clock=clock)) == noise.MIN_SAMPLES


def test_grades():
    good = noise.Stats(20, 10.0, [9.8, 10.2], [9.7, 10.3], 3.0)
    assert noise.grade(good, -3.0, None) == ("good", [])
    assert noise.grade(noise.Stats(20, 10.0, [9.5, 10.5], [9.2, 10.8], 8.0), 0, None) == ("fair", [])
    grade, why = noise.grade(noise.Stats(20, 10.0, [6.0, 14.0], [8.0, 12.5], 25.0), 0, None)
    assert grade == "noisy" and "over +-10%" in why[0] and "IQR is 80%" in why[1]
    grade, why = noise.grade(good, -2076.0, None)  # the bfloat16 run: layer sum 20x the whole
    assert grade == "noisy" and "gap -2076%" in why[0]
    env = {"cpus": 2, "threads": 2, "others_cores": 1.2, "busy": ["python (pid 7)"], "load1": 3.1,
           "freq_mhz": [1800.0, 3200.0]}
    grade, why = noise.grade(good, 0, env)
    assert grade == "noisy" and len(why) == 3
    assert "1.20 CPU cores" in why[0] and "python (pid 7)" in why[0]
    assert why[1] == "load average 3.10 on 2 CPUs" and "moved from 1800 to 3200 MHz" in why[2]
    quiet = {"cpus": 16, "threads": 2, "others_cores": 3.0, "load1": 4.0, "freq_mhz": [3000.0, 3000.0]}
    assert noise.disturbances(quiet) == []  # 3 busy cores of the 14 the run left free: no contention
    assert noise.grade(noise.Stats(5, 10.0, [10, 10], None, None), 0, None)[0] == "noisy"  # no interval


def test_watch_sees_a_busy_process():
    """Another process spinning while we wait: the watch counts its CPU time, not ours."""
    w = noise.Watch(threads=1).start()
    spin = subprocess.Popen([sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 1.5: pass"])
    spin.wait()
    env = w.stop()
    assert env["others_cores"] is not None and env["others_cores"] > 0.3
    assert env["cpus"] >= 1 and env["threads"] == 1


@pytest.fixture
def competing_load():
    """One busy process per CPU (at most 16) for the length of a test."""
    n = min(len(os.sched_getaffinity(0)), 16)
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(n)]
    yield n
    for p in procs:
        p.kill()
        p.wait()


def test_two_runs_under_load_agree_or_say_noisy(competing_load, tmp_path, monkeypatch):
    """The issue's rule: under a synthetic competing load, two consecutive `--measure` runs of
    resnet18 either agree within 10% or say "noisy"; a noisy run is never served later as good."""
    from archviz.measure import Options
    from archviz.service import get_measured_profile, measured_grade
    from archviz.store import Store

    monkeypatch.setenv("ARCHVIZ_HOME", str(tmp_path))
    store = Store(tmp_path / "p.sqlite")
    opts = Options(threads=2, max_seconds=3, peak_flops=1e11, peak_bw=1e10)
    runs = [get_measured_profile("resnet18", "1x3x112x112", opts, use_cache=False) for _ in range(2)]
    grades = [measured_grade(p) for p in runs]
    eager = [p.measurement["total"]["eager_ms"] for p in runs]
    agree = abs(eager[0] - eager[1]) / min(eager) <= 0.10
    assert agree or "noisy" in grades, (grades, eager)
    for p in runs:
        q = p.measurement["quality"]
        assert q["grade"] in ("good", "fair", "noisy")
        assert (q["grade"] == "noisy") == bool(q["reasons"])
    # through the store: a noisy run is not kept; what is served is never noisy
    served = get_measured_profile("resnet18", "1x3x112x112", opts, store=store)
    hit = get_measured_profile("resnet18", "1x3x112x112", opts, store=store, lookup_only=True)
    if measured_grade(served) == "noisy":
        assert hit is None
    else:
        assert hit is not None and measured_grade(hit) in ("good", "fair")


def test_cache_levels_from_a_sysfs_tree(tmp_path):
    """cpu0's caches read as sysfs writes them: instruction caches left out, a private L2 counted
    once per thread of the run, a shared L3 once; DRAM measured at 4 x the last level."""
    from archviz.measure.caches import cpu_caches, cpu_levels, cuda_levels

    for i, (level, kind, size, shared) in enumerate([(1, "Data", "48K", "0"), (1, "Instruction", "32K", "0"),
                                                     (2, "Unified", "1024K", "0"), (3, "Unified", "32M", "0-7")]):
        d = tmp_path / f"index{i}"
        d.mkdir()
        for name, value in (("level", level), ("type", kind), ("size", size), ("shared_cpu_list", shared)):
            (d / name).write_text(f"{value}\n")
    caches = cpu_caches(tmp_path)
    assert caches == [{"level": 1, "size": 48 * 1024, "shared": 1}, {"level": 2, "size": 2**20, "shared": 1},
                      {"level": 3, "size": 32 * 2**20, "shared": 8}]
    levels = cpu_levels(threads=4, cpus=8, caches=caches)
    assert [(lv.name, lv.capacity, lv.working_set) for lv in levels[:3]] == [
        ("L1", 4 * 48 * 1024, 2 * 48 * 1024), ("L2", 4 * 2**20, 2 * 2**20), ("L3", 32 * 2**20, 16 * 2**20)]
    assert levels[3].name == "DRAM" and math.isinf(levels[3].capacity) and levels[3].working_set == 128 * 2**20
    assert [lv.name for lv in cpu_levels(1, 1, [])] == ["DRAM"]  # no sysfs: main memory alone
    gpu = cuda_levels(50 * 2**20)
    assert [(lv.name, lv.working_set) for lv in gpu] == [("L2", 25 * 2**20), ("HBM", 256 * 2**20)]
