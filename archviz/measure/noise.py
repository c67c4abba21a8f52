"""How much a set of timings can be trusted: the median with its 95% confidence interval, the IQR, a
grade, and what on the machine is likely to have disturbed it. Pure statistics plus reads of
/proc and /sys; no torch.

The confidence interval of the median is distribution-free: with n sorted samples, the order
statistics x[j] and x[k] bracket the true median with probability P(j <= B < k), B ~ Binomial(n, 1/2),
so (j, k) are the narrowest symmetric pair reaching 95% (exact binomial sums, no normal
approximation). Fewer than 6 samples cannot reach 95% at all: the interval is then unknown (None).

Grades (README, "Measured speed"): "good" when the interval is within +-TARGET (5%) of the median;
"fair" when within +-FAIR (10%) once the time cap ran out; "noisy" otherwise, or when the layer sum
and the whole-model time disagree beyond GAP_BOUNDS, or when other processes took CPU time the run
needed. A noisy run is reported, marked, and never stored."""

from __future__ import annotations

import functools
import math
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

CONFIDENCE = 0.95
TARGET = 0.05      # the interval's half-width, as a share of the median, that stops the repeats
FAIR = 0.10        # the widest half-width still stored (graded "fair")
IQR_BOUND = 0.25   # an IQR wider than this share of the median is out of bounds
GAP_BOUNDS = (-50.0, 50.0)  # whole-model time minus the layer sum, % of the whole (README: the gap)
CONTENDED_CORES = 0.25  # other processes' CPU use, in cores beyond what the run left free, that counts
MIN_SAMPLES = 6
MAX_SAMPLES = 2000


@dataclass
class Stats:
    """Summary of one set of timings in ms."""

    samples: int
    median: float
    iqr: list[float]            # [q1, q3]
    ci: list[float] | None      # 95% interval of the median; None below MIN_SAMPLES
    ci_pct: float | None        # its half-width (the wider side) as % of the median

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile, q in [0, 100]."""
    s = sorted(values)
    if len(s) == 1:
        return s[0]
    pos = (len(s) - 1) * q / 100
    lo = int(pos)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (pos - lo)


@functools.lru_cache(maxsize=256)
def median_ci_ranks(n: int, confidence: float = CONFIDENCE) -> tuple[int, int] | None:
    """0-based ranks (j, k) of sorted samples with P(x[j] <= median <= x[k]) >= confidence, the
    narrowest symmetric pair (k = n - 1 - j); None when even (0, n - 1) falls short.
    x[j] <= m <= x[k] holds when B, the samples below the median, is in j + 1 .. k."""
    if n < 1:
        return None
    below = [0.0]  # below[i] = P(B < i)
    for i in range(n + 1):
        below.append(below[-1] + math.comb(n, i) / 2 ** n)
    best = None
    for j in range(n // 2 + 1):
        k = n - 1 - j
        if k < j or below[k + 1] - below[j + 1] < confidence:
            break
        best = (j, k)
    return best


def summarise(times_ms: list[float]) -> Stats:
    """Median, IQR and the median's 95% interval of `times_ms` (at least one value)."""
    s = sorted(times_ms)
    med = percentile(s, 50)
    ranks = median_ci_ranks(len(s))
    ci = None if ranks is None else [s[ranks[0]], s[ranks[1]]]
    ci_pct = None if ci is None or med <= 0 else 100 * max(med - ci[0], ci[1] - med) / med
    return Stats(len(s), med, [percentile(s, 25), percentile(s, 75)], ci, ci_pct)


def settled(times_ms: list[float], min_samples: int, target: float = TARGET) -> bool:
    """Enough samples, and the median's interval within +-target of it."""
    if len(times_ms) < max(min_samples, MIN_SAMPLES):
        return False
    st = summarise(times_ms)
    return st.ci_pct is not None and st.ci_pct <= 100 * target


def repeat_until_settled(run: Callable[[], float], min_samples: int, cap_seconds: float,
                         clock: Callable[[], float] = time.perf_counter,
                         target: float = TARGET) -> list[float]:
    """Call `run` (it returns one timing in ms) at least `min_samples` times, then until the median's
    interval is within +-target or `cap_seconds` have passed (or MAX_SAMPLES); never fewer than
    MIN_SAMPLES. The check is made every few samples, as sorting is not free."""
    times: list[float] = []
    start = clock()
    while len(times) < MAX_SAMPLES:
        times.append(run())
        n = len(times)
        if n >= min_samples and (n < 32 or n % 4 == 0) and settled(times, min_samples, target):
            break
        if n >= max(min_samples, MIN_SAMPLES) and clock() - start >= cap_seconds:
            break  # never before MIN_SAMPLES: fewer cannot give an interval at all
    return times


# -- what on the machine disturbs a run --------------------------------------------------------------

def _cpu_count() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def _read(path: str) -> str | None:
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return None


def _busy_jiffies() -> int | None:
    """All CPUs' busy time since boot, in clock ticks (user + nice + system + irq + softirq + steal)."""
    text = _read("/proc/stat")
    if not text or not text.startswith("cpu "):
        return None
    parts = [int(v) for v in text.splitlines()[0].split()[1:]]
    idle = parts[3] + (parts[4] if len(parts) > 4 else 0)
    return sum(parts[:8]) - idle


def _own_jiffies() -> int | None:
    """This process's CPU time (all threads, user + system), in clock ticks."""
    text = _read("/proc/self/stat")
    if not text:
        return None
    fields_ = text.rsplit(")", 1)[-1].split()
    return int(fields_[11]) + int(fields_[12])  # utime, stime (fields 14 and 15 of proc(5))


def _frequencies_mhz() -> list[float]:
    """The current frequency of each CPU this process may run on (empty where cpufreq is absent)."""
    try:
        cpus = sorted(os.sched_getaffinity(0))[:256]
    except (AttributeError, OSError):
        cpus = list(range(min(os.cpu_count() or 1, 256)))
    out = []
    for cpu in cpus:
        text = _read(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq")
        if text and text.strip().isdigit():
            out.append(int(text.strip()) / 1000)
    return out


def _busy_processes(limit: int = 3) -> list[str]:
    """Names of the processes other than this one that are running right now (state R), busiest
    first by their accumulated CPU time: a hint, not a measurement."""
    me = os.getpid()
    found = []
    for d in Path("/proc").iterdir():
        if not d.name.isdigit() or int(d.name) == me:
            continue
        text = _read(f"{d}/stat")
        if not text or ")" not in text:
            continue
        name = "".join(c for c in text[text.find("(") + 1:text.rfind(")")][:40] if c.isprintable())
        rest = text.rsplit(")", 1)[-1].split()
        if rest and rest[0] == "R":
            found.append((int(rest[11]) + int(rest[12]), f"{name} (pid {d.name})"))
    return [text for _, text in sorted(found, reverse=True)[:limit]]


@dataclass
class Watch:
    """The machine around one timed stretch: taken before it (`start`) and after it (`stop`)."""

    threads: int
    cpus: int = field(default_factory=_cpu_count)
    t0: float = 0.0
    busy0: int | None = None
    own0: int | None = None
    freq0: list[float] = field(default_factory=list)
    result: dict[str, Any] = field(default_factory=dict)

    def start(self) -> "Watch":
        self.t0, self.busy0, self.own0 = time.monotonic(), _busy_jiffies(), _own_jiffies()
        self.freq0 = _frequencies_mhz()
        return self

    def stop(self) -> dict[str, Any]:
        """{'cpus', 'load1', 'others_cores', 'busy', 'freq_mhz'}: what else ran meanwhile."""
        elapsed = time.monotonic() - self.t0
        busy1, own1 = _busy_jiffies(), _own_jiffies()
        tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
        others = None
        if None not in (self.busy0, busy1, self.own0, own1) and elapsed > 0:
            others = max(0.0, ((busy1 - self.busy0) - (own1 - self.own0)) / tick / elapsed)
        load = _read("/proc/loadavg")
        freq1 = _frequencies_mhz()
        self.result = {
            "cpus": self.cpus, "threads": self.threads,
            "load1": float(load.split()[0]) if load else None,
            "others_cores": None if others is None else round(others, 3),
            "busy": _busy_processes() if others and others > CONTENDED_CORES else [],
            # the fastest of the run's CPUs (a busy one) at the start and at the end: an idle core
            # clocked down beside a busy one is not a change
            "freq_mhz": [round(max(self.freq0), 0), round(max(freq1), 0)] if self.freq0 and freq1 else None,
        }
        return self.result


def disturbances(env: dict[str, Any]) -> list[str]:
    """Likely causes of noise in a `Watch.stop()` record, as phrases (empty when the run had the
    machine to itself)."""
    causes = []
    free = max(env.get("cpus", 1) - env.get("threads", 1), 0)
    others = env.get("others_cores")
    if others is not None and others > free + CONTENDED_CORES:
        who = f": {', '.join(env['busy'])}" if env.get("busy") else ""
        causes.append(f"other processes used {others:.2f} CPU cores while {env.get('threads')} of "
                      f"{env.get('cpus')} were needed{who}")
    load = env.get("load1")
    if load is not None and load > env.get("cpus", 1) + 0.5:
        causes.append(f"load average {load:.2f} on {env.get('cpus')} CPUs")
    freq = env.get("freq_mhz")
    if freq and min(freq) > 0 and max(freq) / min(freq) > 1.10:
        causes.append(f"the fastest CPU's frequency moved from {freq[0]:.0f} to {freq[1]:.0f} MHz")
    return causes


def grade(stats: Stats, gap_pct: float | None, env: dict[str, Any] | None) -> tuple[str, list[str]]:
    """('good' | 'fair' | 'noisy', reasons) by the rule in this module's docstring."""
    reasons = []
    if stats.ci_pct is None:
        reasons.append(f"{stats.samples} runs cannot give a 95% interval (at least {MIN_SAMPLES})")
    elif stats.ci_pct > 100 * FAIR:
        reasons.append(f"the median's 95% interval is +-{stats.ci_pct:.1f}%, over +-{100 * FAIR:.0f}%")
    iqr_share = (stats.iqr[1] - stats.iqr[0]) / stats.median if stats.median > 0 else math.inf
    if iqr_share > IQR_BOUND:
        reasons.append(f"the IQR is {100 * iqr_share:.0f}% of the median, over {100 * IQR_BOUND:.0f}%")
    if gap_pct is not None and not GAP_BOUNDS[0] <= gap_pct <= GAP_BOUNDS[1]:
        reasons.append(f"the layer times add up to {'more' if gap_pct < 0 else 'less'} than the whole run "
                       f"(gap {gap_pct:+.0f}%, bounds {GAP_BOUNDS[0]:+.0f}% to {GAP_BOUNDS[1]:+.0f}%)")
    if env:
        reasons.extend(disturbances(env))
    if reasons:
        return "noisy", reasons
    return ("good" if stats.ci_pct <= 100 * TARGET else "fair"), []
