"""The memory levels a roofline draws a roof for: the CPU's data caches read from
/sys/devices/system/cpu/cpu0/cache (level, size, which CPUs share each), or a GPU's L2 from
torch, then main memory. Pure reads; no timing here (peaks.py measures each level).

A level's capacity is what the run can use: a private cache (L1, L2) times the instances the run's
threads occupy, a shared one (L3) once per instance its threads reach. The working set a roof is
measured at is half that capacity (a copy's source and destination together), so it stays
resident; main memory is measured at four times the last cache level, and at least 64 MiB."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CPU_CACHE = Path("/sys/devices/system/cpu/cpu0/cache")
MIN_DRAM_SET = 64 * 2**20
MAX_LEVELS = 6
LEVEL_NAMES = ("L1", "L2", "L3", "L4", "DRAM", "HBM")


@dataclass(frozen=True)
class Level:
    """One memory level: its name, the bytes the run can keep there (math.inf for main memory)
    and the working set its roof is measured at."""

    name: str
    capacity: float
    working_set: int


def _size(text: str) -> int | None:
    """'48K' -> 49152, '32768K', '1M' (the sysfs format)."""
    text = text.strip().upper()
    scale = {"K": 2**10, "M": 2**20, "G": 2**30}.get(text[-1:], 1)
    digits = text.rstrip("KMG")
    return int(digits) * scale if digits.isdigit() else None


def _cpu_list_count(text: str) -> int:
    """'0-1,4' -> 3."""
    count = 0
    for part in text.strip().split(","):
        lo, _, hi = part.partition("-")
        if lo.isdigit():
            count += (int(hi) - int(lo) + 1) if hi.isdigit() else 1
    return max(count, 1)


def cpu_caches(root: Path = CPU_CACHE) -> list[dict[str, Any]]:
    """[{'level': 1, 'size': bytes, 'shared': CPUs per instance}] for cpu0's data and unified
    caches, smallest level first; empty where sysfs does not say."""
    found = {}
    for d in sorted(root.glob("index[0-9]*"))[:16]:
        try:
            kind = (d / "type").read_text().strip()
            level = int((d / "level").read_text().strip())
            size = _size((d / "size").read_text())
            shared = _cpu_list_count((d / "shared_cpu_list").read_text())
        except (OSError, ValueError):
            continue
        if kind in ("Data", "Unified") and size and 1 <= level <= 4:
            found[level] = {"level": level, "size": size, "shared": shared}
    return [found[k] for k in sorted(found)]


def cpu_levels(threads: int, cpus: int, caches: list[dict[str, Any]] | None = None) -> list[Level]:
    """The CPU's levels for a run on `threads` of `cpus` logical CPUs, then DRAM."""
    caches = cpu_caches() if caches is None else caches
    levels = []
    for c in caches:  # threads spread over instances first (one per core), as the scheduler does
        capacity = c["size"] * max(1, min(threads, cpus // c["shared"]))
        levels.append(Level(f"L{c['level']}", capacity, max(capacity // 2, 4096)))
    last = levels[-1].capacity if levels else 0
    levels.append(Level("DRAM", math.inf, int(max(4 * last, MIN_DRAM_SET))))
    return levels


def cuda_levels(l2_bytes: int | None) -> list[Level]:
    """A GPU's L2 (when torch reports its size) and its HBM (measured at 256 MiB)."""
    levels = [Level("L2", float(l2_bytes), l2_bytes // 2)] if l2_bytes else []
    return levels + [Level("HBM", math.inf, 256 * 2**20)]

