"""Roofline arithmetic for measured layers: bytes moved, arithmetic intensity, achieved FLOP/s and
what bounds a layer. Pure functions of numbers: no torch.

Bound rule (README, "Measured speed"): the roof at intensity I is min(peak_flops, I x peak_bw) and
the ridge is peak_flops / peak_bw. A layer is "overhead" when it reaches less than
OVERHEAD_FRACTION (10%) of the roof at its intensity AND its work is tiny: the roof would do it in
under TINY_SECONDS (20 us), so fixed per-call costs (Python, dispatch, kernel launch) dominate.
Otherwise it is "compute" when its intensity is at or above the ridge, else "memory"."""

from __future__ import annotations

import re
from typing import Any

from ..columns import MEASURED_COLUMNS as MEASURED_KEYS  # noqa: F401 (the keys this module sets)
from ..errors import ArchvizError

OVERHEAD_FRACTION = 0.10
TINY_SECONDS = 20e-6
ABOVE_TOLERANCE = 0.02  # a layer more than 2% above its roof is above it (timer resolution)
ITEMSIZE = {"float32": 4, "bfloat16": 2, "float16": 2}
_RATE = re.compile(r"^\s*([0-9]*\.?[0-9]+(?:e[+-]?\d+)?)\s*([kmgtp]?)\s*(?:flop/?s|flops|b/s|bps|b)?\s*$",
                   re.IGNORECASE)
_SCALE = {"": 1.0, "k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "p": 1e15}


def parse_rate(text: str, flag: str = "--peak-flops") -> float:
    """'1.5T' -> 1.5e12, '200G' -> 2e11, '200GB/s', '2e11' (decimal units: rates, not sizes)."""
    m = _RATE.match(str(text))
    value = float(m.group(1)) * _SCALE[m.group(2).lower()] if m else 0.0
    if not value > 0:
        raise ArchvizError(f"{flag} {text!r}: expected a positive rate such as 1.5T or 200G", 2)
    return value


def layer_bytes(weight_elems: int, input_elems: int, output_elems: int, itemsize: int) -> int:
    """Bytes a layer moves at least once: its weights, its inputs and its outputs at the dtype."""
    return int((weight_elems + input_elems + output_elems) * itemsize)


def intensity(flops: float, nbytes: float | None) -> float | None:
    """FLOPs per byte (FLOPs = 2 x MACs); None without bytes."""
    return None if not nbytes else flops / nbytes


def achieved_flops(flops: float, latency_ms: float | None) -> float | None:
    """FLOP/s reached; None when no time was measured."""
    return None if not latency_ms or latency_ms <= 0 else flops / (latency_ms / 1e3)


def roof(intensity_: float, peak_flops: float, peak_bw: float) -> float:
    """The attainable FLOP/s at this intensity."""
    return min(peak_flops, intensity_ * peak_bw)


def bound(flops: float, nbytes: float | None, latency_ms: float | None,
          peak_flops: float, peak_bw: float) -> str | None:
    """'compute', 'memory' or 'overhead' by the rule in this module's docstring; None when the
    layer has no time or moves no bytes."""
    if not latency_ms or latency_ms <= 0 or not nbytes:
        return None
    seconds = latency_ms / 1e3
    roof_seconds = max(flops / peak_flops, nbytes / peak_bw)  # what the roof needs for this work
    if roof_seconds < TINY_SECONDS and roof_seconds < OVERHEAD_FRACTION * seconds:
        return "overhead"
    return "compute" if flops / nbytes >= peak_flops / peak_bw else "memory"


def memory_roofs(peaks: dict[str, Any]) -> list[dict[str, Any]]:
    """The bandwidth roofs, smallest level first; peaks without levels (given by flags, or stored
    before levels existed) have one, main memory's."""
    return peaks.get("roofs") or [{"level": "DRAM", "capacity": None, "bytes_per_s": peaks["bytes_per_s"]}]


def level_roof(nbytes: float | None, peaks: dict[str, Any]) -> dict[str, Any]:
    """The memory level whose roof applies to a layer moving `nbytes` (the smallest that holds it)."""
    roofs = memory_roofs(peaks)
    for r in roofs:
        if r.get("capacity") is None or (nbytes or 0) <= r["capacity"]:
            return r
    return roofs[-1]


def working_set(row: dict[str, Any]) -> float | None:
    """The bytes that pick a measured row's roof: its working set, or its bytes in profiles
    measured before working sets were kept."""
    return row.get("working_set") if row.get("working_set") is not None else row.get("bytes")


def attainable(row: dict[str, Any], peaks: dict[str, Any]) -> float | None:
    """The FLOP/s the roof that applies to this measured row allows at its intensity."""
    if not row.get("intensity"):
        return None
    return roof(row["intensity"], peaks["flops"], level_roof(working_set(row), peaks)["bytes_per_s"])


def apply(row: dict[str, Any], latency_ms: float | None, nbytes: int | None,
          peaks: dict[str, Any], working: int | None = None) -> dict[str, Any]:
    """The row with the measured keys set (a new dict); `working` (default: `nbytes`) is the bytes
    one call works on, which pick the memory level."""
    flops = float(row.get("flops") or 0)
    working = nbytes if working is None else working
    level = level_roof(working, peaks)
    return {**row, "latency_ms": latency_ms, "bytes": nbytes, "working_set": working,
            "intensity": intensity(flops, nbytes),
            "achieved_flops": achieved_flops(flops, latency_ms),
            "bound": bound(flops, nbytes, latency_ms, peaks["flops"], level["bytes_per_s"]),
            "roof": level["level"] if nbytes else None}


def above_roof(rows: list[dict[str, Any]], peaks: dict[str, Any],
               tolerance: float = ABOVE_TOLERANCE) -> list[dict[str, Any]]:
    """Leaf rows that reach more than their roof allows: [{'layer', 'roof' (the level, or
    'compute'), 'achieved', 'attainable', 'intensity'}], worst first."""
    found = []
    for r in rows:
        if not r.get("leaf") or not r.get("achieved_flops"):
            continue
        top = attainable(r, peaks)
        if top and r["achieved_flops"] > top * (1 + tolerance):
            level = level_roof(working_set(r), peaks)
            which = "compute" if r["intensity"] * level["bytes_per_s"] >= peaks["flops"] else level["level"]
            found.append({"layer": r["name"], "roof": which, "achieved": r["achieved_flops"],
                          "attainable": top, "intensity": r["intensity"]})
    return sorted(found, key=lambda a: -a["achieved"] / a["attainable"])


def raised(peaks: dict[str, Any], above: list[dict[str, Any]]) -> dict[str, Any]:
    """Peaks with each roof still under a layer raised to that layer, and a note per raise in
    `raised` ('L3 bandwidth raised from 206 to 231 GB/s by layer1.0.relu'). The caller has already
    measured the peaks again."""
    out = {**peaks, "roofs": [dict(r) for r in memory_roofs(peaks)], "raised": list(peaks.get("raised", []))}
    for a in above:
        if a["roof"] == "compute":
            if a["achieved"] > out["flops"]:
                out["raised"].append({"roof": "compute", "from": out["flops"], "to": a["achieved"], "layer": a["layer"]})
                out["flops"] = a["achieved"]
            continue
        need = a["achieved"] / a["intensity"]
        for i, r in enumerate(out["roofs"]):
            if r["level"] == a["roof"] and need > r["bytes_per_s"]:
                out["raised"].append({"roof": r["level"], "from": r["bytes_per_s"], "to": need, "layer": a["layer"]})
                for smaller in out["roofs"][:i + 1]:  # the levels below stay at least as high
                    smaller["bytes_per_s"] = max(smaller["bytes_per_s"], need)
    out["bytes_per_s"] = out["roofs"][-1]["bytes_per_s"]
    out["raised"] = out["raised"][-16:]
    return out

