"""Faces of measured speed outside the profile: the `archviz bench` CSV (timm's benchmark.py
columns first, so it joins timm's published results tables) and the `archviz peaks` table."""

from __future__ import annotations

import csv
import io
import time
from typing import Any

from ..measure.throughput import OWN_COLUMNS, TIMM_COLUMNS
from .fit import size
from .numbers import printable, si
from .table import csv_text


def bench_csv(rows: list[dict[str, Any]]) -> str:
    """CSV text, header first: timm's columns, then archviz's (interval, grade, setting)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    columns = (*TIMM_COLUMNS, *OWN_COLUMNS)
    w.writerow(columns)
    for r in rows:
        w.writerow(["" if r.get(c) is None else
                    (csv_text(printable(r[c])) if isinstance(r[c], str) else r[c]) for c in columns])
    return buf.getvalue()


def _size(n: int | None) -> str:
    """A level's capacity or working set; None is main memory's (no capacity)."""
    return "main memory" if n is None else size(n)


def peaks_lines(key: str, entry: dict[str, Any]) -> list[str]:
    """One kept peaks record as lines: setting and date, compute roofs, memory roofs with their
    spread, the instability notes and the last measurements."""
    when = time.strftime("%Y-%m-%d %H:%M", time.localtime(entry.get("when", 0)))
    out = [f"{printable(key)}  (measured {when}, best of {entry.get('runs', '?')} runs each)"]
    for c in entry.get("compute") or []:
        tag = "" if c.get("applies", True) else " (another dtype's roof: drawn, not applied)"
        out.append(f"  compute  {printable(c['name'])}: {si(c['flops'], 'FLOP/s')}, runs spread "
                   f"{c.get('spread_pct', 0):.1f}%{tag}")
    for r in entry.get("roofs") or []:
        raw = r.get("measured")
        note = "" if raw is None or raw >= r["bytes_per_s"] * 0.999 else \
            f" (read {si(raw, 'B/s')}: call overhead; a roof is at least the next level's)"
        out.append(f"  memory   {printable(r['level'])} ({_size(r.get('capacity'))}, measured at "
                   f"{_size(r.get('working_set'))}): {si(r['bytes_per_s'], 'B/s')}, runs spread "
                   f"{r.get('spread_pct', 0):.1f}%{note}")
    for n in entry.get("unstable") or []:
        out.append(f"  UNSTABLE {printable(n)}")
    history = entry.get("history") or []
    if len(history) > 1:
        out.append("  history  " + "; ".join(
            f"{time.strftime('%m-%d %H:%M', time.localtime(h['when']))} {si(h['flops'], 'FLOP/s')} "
            f"{si(h['bytes_per_s'], 'B/s')}" for h in history[-5:]))
    return out
