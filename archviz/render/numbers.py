"""Number formatting shared by every face, and `printable` for the text that comes from users."""

from __future__ import annotations

import re
from typing import Any

# C0 controls, DEL, C1 controls, line/paragraph separators, the bidi controls (embeddings,
# overrides, isolates, marks), the invisible ones (zero-width space, joiners, word joiner, soft
# hyphen, byte-order mark) and lone surrogates (unencodable): shown escaped, never sent to a
# terminal, file or layout engine.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u2064"
                          r"\u2066-\u2069\ufeff\ud800-\udfff]")
_SHORT = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape_char(m: re.Match) -> str:
    c = m.group()
    if c in _SHORT:
        return _SHORT[c]
    return f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}"


def printable(text: Any) -> str:
    """User-derived text (module names, types, model names) made safe to show: control and bidi
    characters become visible escapes (ESC -> the four characters \\x1b, newline -> \\n,
    U+202E -> \\u202e); everything else, backslashes included, is kept as it is."""
    text = "" if text is None else str(text)
    return _UNPRINTABLE.sub(_escape_char, text)


def chart_text(text: Any) -> str:
    """User text (a model's or module's name) as plotly shows it: plotly draws a subset of HTML in
    titles, tick labels, hover text, legends and annotations (<a href>, <span style>, <b>), so
    every name is entity-escaped (plotly shows "&lt;" as "<"), controls and bidi marks shown as
    escapes. The one escaping helper for names that reach a chart, in reports and the dashboard."""
    return printable(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


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


COUNT_COLUMNS = ("params", "macs", "flops", "activations")


def layer_cell(col: str, v: Any, level: int) -> str:
    """A layer-table cell as the HTML faces (report, notebook) show it: counts with all their digits,
    fields as '212' or '3x5', shapes as 1x3x224x224, names indented by their level; user text with
    control characters shown escaped (HTML escaping is the template's job)."""
    if col in COUNT_COLUMNS:
        return grouped(v)
    if col in ("receptive_field", "effective_stride"):
        return pair(v)
    if col == "output_shape":
        return shape(v)
    if col == "name":
        return "\u00a0\u00a0" * max(level - 1, 0) + printable(v)
    return "" if v is None else printable(v)


def si(value: float | None, unit: str) -> str:
    """1.23e11, 'FLOP/s' -> '123 GFLOP/s' (three significant figures)."""
    if value is None:
        return "-"
    for factor, prefix in ((1e15, "P"), (1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(value) >= factor:
            return f"{value / factor:.3g} {prefix}{unit}"
    return f"{value:.3g} {unit}"
