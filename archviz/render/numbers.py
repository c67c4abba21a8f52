"""Number formatting shared by every face."""

from __future__ import annotations

from typing import Any


def human(n: float | int | None, digits: int = 2) -> str:
    """15470264320 -> '15.47 G'; 61100840 -> '61.10 M'."""
    if n is None:
        return "-"
    n = float(n)
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(n) >= scale:
            return f"{n / scale:.{digits}f} {unit}"
    return f"{n:.0f}"


def grouped(n: float | int | None) -> str:
    return "-" if n is None else f"{int(round(float(n))):,}"


def pair(v: Any) -> str:
    """[212, 212] -> '212'; [3, 5] -> '3x5'; 'global' -> 'global'; None -> '-'."""
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    vals = [f"{x:g}" if isinstance(x, float) else str(x) for x in v]
    return vals[0] if len(set(vals)) == 1 else "x".join(vals)


def shape(v: Any) -> str:
    return "-" if not v else "x".join(str(d) for d in v)
