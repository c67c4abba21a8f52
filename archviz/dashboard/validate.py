"""Every value a dashboard client sends is untrusted data: check it here before any use.

Each checker takes the raw JSON value of one field and returns the clean value or raises `BadField`
with a message for that field. Model names must be catalogue names (a factory spec would import
code); numbers must be whole and inside bounds chosen so that one request stays around a second."""

from __future__ import annotations

import difflib
import math
from dataclasses import dataclass
from typing import Any, Iterable

from ..files import is_name

MAX_TEXT = 200          # longest name accepted from a client
MAX_ROWS = 20_000       # longest table a client may send back as State


class BadField(ValueError):
    """One field's value is unusable; `field` names it for the page."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Bound:
    """A whole number field: label for messages, inclusive range, optional odd-only."""

    label: str
    low: int
    high: int
    odd: bool = False

    def describe(self) -> str:
        return f"{'an odd' if self.odd else 'a'} whole number from {self.low} to {self.high}"


# Explorer input size: VGG-16 at 512 px traces in about 2 s on two cores.
EXPLORER_SIZE = Bound("input size", 16, 512)
# Lessons: the largest case (512 channels, 11x11, growth 128, 12 layers) measures in about a second.
LESSON_BOUNDS = {
    "channels": Bound("channels", 1, 512),
    "kernel": Bound("large kernel", 3, 11, odd=True),
    "width": Bound("bottleneck width", 1, 512),
    "growth": Bound("dense growth", 1, 128),
    "layers": Bound("layers", 1, 12),
}


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def whole(field: str, value: Any, bound: Bound) -> int:
    """A whole number inside `bound`; JSON floats like 5.0 count, 1e309, NaN, bools and text do not."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadField(field, f"{bound.label} must be {bound.describe()}, not {_show(value)}")
    if isinstance(value, float) and (not math.isfinite(value) or not value.is_integer()):
        raise BadField(field, f"{bound.label} must be {bound.describe()}, not {_show(value)}")
    n = int(value)
    if not bound.low <= n <= bound.high:
        raise BadField(field, f"{bound.label} {n} is out of range: use {bound.describe()}")
    if bound.odd and n % 2 == 0:  # in range, but even: a kernel needs a centre
        raise BadField(field, f"{bound.label} {n} is even: use an odd number ({bound.describe()}), so the "
                              "kernel has a centre")
    return n


def optional_whole(field: str, value: Any, bound: Bound) -> int | None:
    """Empty means the default (None)."""
    return None if value is None or value == "" else whole(field, value, bound)


def model_name(field: str, value: Any, names: Iterable[str]) -> str:
    """A catalogue name; factory specs (`pkg.mod:fn`, `file.py:fn`) are refused, never imported."""
    if value is None or value == "":
        raise BadField(field, "pick a model")
    if not isinstance(value, str) or len(value) > MAX_TEXT:
        raise BadField(field, f"a model is picked by its catalogue name, not {_show(value)}")
    known = set(names)
    name = value.strip().lower()
    if is_name(name) and name in known:  # both: whatever a file lists, a spec is never a name here
        return name
    if any(c in value for c in ":/\\") or ".py" in name:
        raise BadField(field, f"{_show(value)} is not a catalogue model: the dashboard does not load "
                              "code (use 'archviz profile FILE.py:factory' on the command line)")
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else ""
    raise BadField(field, f"unknown model {_show(value)}{hint}")


def model_list(field: str, value: Any, names: Iterable[str], low: int, high: int) -> list[str]:
    """Between `low` and `high` distinct catalogue names."""
    if value is None:
        value = []
    if not isinstance(value, list):
        raise BadField(field, f"expected a list of model names, not {_show(value)}")
    if not low <= len(value) <= high:
        raise BadField(field, f"pick {low} to {high} models (got {len(value)})")
    known = set(names)
    out = [model_name(field, v, known) for v in value]
    if len(set(out)) != len(out):
        raise BadField(field, "each model can be picked once")
    return out


def choice(field: str, value: Any, options: Iterable[str]) -> str:
    opts = list(options)
    if not isinstance(value, str) or value not in opts:
        raise BadField(field, f"{_show(value)} is not one of {', '.join(opts)}")
    return value


def subset(field: str, value: Any, options: Iterable[str]) -> list[str]:
    """A list drawn from `options` (order of `options` kept; None means none)."""
    opts = list(options)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadField(field, f"expected a list of names, not {_show(value)}")
    unknown = [v for v in value if v not in opts]
    if unknown:
        raise BadField(field, f"unknown {', '.join(_show(v) for v in unknown[:3])}")
    return [o for o in opts if o in value]


def clicked_name(click: Any) -> str | None:
    """The layer name a chart click carries (customdata), or None for anything else."""
    if not isinstance(click, dict) or not isinstance(click.get("points"), list) or not click["points"]:
        return None
    point = click["points"][0]
    name = point.get("customdata") if isinstance(point, dict) else None
    return name if isinstance(name, str) and 0 < len(name) <= 10 * MAX_TEXT else None


def table_rows(rows: Any) -> list[dict[str, Any]]:
    """Table data sent back as State: a bounded list of dicts, anything else is empty."""
    if not isinstance(rows, list) or len(rows) > MAX_ROWS:
        return []
    return [r for r in rows if isinstance(r, dict)]


# ---- page state in the URL -----------------------------------------------------------------
MAX_QUERY = 2_000       # longest query string read from a URL
MAX_LIST = 12           # most names read from one comma-separated URL value


def query_values(search: Any) -> dict[str, str]:
    """'?model=resnet50&size=224' -> {'model': 'resnet50', 'size': '224'}: the first value of each
    key, each at most MAX_TEXT characters. Anything else (not text, too long) is no state at all;
    the values are checked by the same checkers as typed ones before any use."""
    from urllib.parse import parse_qs

    if not isinstance(search, str) or len(search) > MAX_QUERY:
        return {}
    try:
        parsed = parse_qs(search.lstrip("?"), keep_blank_values=True, max_num_fields=20)
    except ValueError:  # more fields than max_num_fields
        return {}
    return {k[:MAX_TEXT]: v[0][:MAX_TEXT * MAX_LIST] for k, v in parsed.items() if v}


def url_number(text: str | None) -> Any:
    """A number field's URL text as the page's number box would send it: '224' -> 224, '4.5' -> 4.5;
    other text is passed on as text (its checker names it), no text is None."""
    if text is None or text == "":
        return None
    try:
        number = float(text)
    except ValueError:
        return text
    return int(number) if number.is_integer() and abs(number) < 2**53 else number


def url_list(text: str | None) -> list[str] | None:
    """'a,b' -> ['a', 'b'] (at most MAX_LIST + 1 items, so a checker can still say "too many")."""
    if text is None:
        return None
    return [part for part in text.split(",") if part][: MAX_LIST + 1]


def url_search(params: dict[str, Any]) -> str:
    """The query string for a page's state: plain values only, lists joined with commas (an empty
    list kept: 'variants=' is none ticked, not the default), other empty values left out."""
    from urllib.parse import urlencode

    clean = {}
    for key, value in params.items():
        if isinstance(value, list):
            clean[key] = ",".join(v for v in value if isinstance(v, str))[:MAX_TEXT * MAX_LIST]
            continue
        if isinstance(value, bool) or not isinstance(value, (str, int, float)) or value == "":
            continue
        clean[key] = str(value)[:MAX_TEXT * MAX_LIST]
    return "?" + urlencode(clean, safe=",") if clean else ""
