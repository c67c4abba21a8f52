"""The Atlas's data: one record per profiled model in the store, with its catalogue facts (year,
family, published accuracy), built once and kept in memory until the store file changes.

Reading 1,500 profiles per request would be too slow, so the rows come from `Store.summaries()`
(the totals at the head of each blob, no layer tables) and are cached against the store file's
size and modification time (its write-ahead log's too); a warm request only filters. Renderers
(render/atlas.py) and the dashboard page (dashboard/atlas.py) read these rows; nothing here traces."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable

from .service import input_parts
from .store import Store, Summary, key_parts

NO_FAMILY = "no family"  # rows whose catalogue entry names none (factory specs, unknown timm modules)
MEASURED_PREFIX = "measure."  # of a measured profile's key versions (service.measured_key): left out
MAX_SEARCH = 80  # the longest search text a client may send


@dataclass(frozen=True)
class AtlasRow:
    """One model as the Atlas shows it: figures from its stored profile at one input, facts from the
    catalogue (catalog.atlas_meta). `year` None: no paper year, drawn apart from the time axis."""

    name: str
    label: str
    input: str                 # the input the figures are for, e.g. 1x3x224x224
    default_input: bool        # True when that is the model's default input
    inputs: int                # how many inputs this model is stored at
    params: int | None
    macs: int | None           # fvcore's "flops": one multiply-add = 1 (FLOPs = 2 x MACs)
    flops: int | None
    conv_linear_macs: int | None
    depth: int | None
    year: int | None
    family: str
    colour: str
    acc1: float | None         # published top-1 (%) of `weights`, None where none is published
    acc5: float | None
    weights: str | None
    history: bool              # in the 2012-2016 lecture set
    source: str
    arxiv: str | None
    paper: str | None
    meta_note: str | None = None  # why the catalogue facts are missing, when they are

    @property
    def placed(self) -> bool:
        return self.year is not None

    def explorer_href(self, catalogue: Iterable[str]) -> str | None:
        """The Explorer's URL for this point (/explorer?model=NAME[&size=N]), or None where the
        Explorer cannot open it: not a catalogue name (timm models, factories) or a non-square input."""
        if self.name not in catalogue:
            return None
        if self.default_input:
            return f"/explorer?model={self.name}"
        dims = self.input.split("x")
        if len(dims) == 4 and dims[0] == "1" and dims[1] == "3" and dims[2] == dims[3] and dims[2].isdigit():
            return f"/explorer?model={self.name}&size={dims[2]}"
        return None


# -- building rows ---------------------------------------------------------------------------------
def _is_default(summary: Summary) -> bool:
    """Stored under the model's default input ('default', or 'default NLC' with a layout)?"""
    return input_parts(key_parts(summary.key)[1])[0] is None


def _is_measured(summary: Summary) -> bool:
    """A measured profile's key adds where and how it ran (service.measured_key)."""
    return any(k.startswith(MEASURED_PREFIX) for k in key_parts(summary.key)[2])


def canonical(summaries: list[Summary]) -> dict[str, tuple[Summary, bool, int]]:
    """Per model: the summary to show (its default input when stored, else the newest), whether it
    is the default input, and how many inputs the model is stored at. `summaries` newest first;
    measured profiles are left out (their figures are the plain profile's, at another key)."""
    by_model: dict[str, list[Summary]] = {}
    for s in summaries:
        if not _is_measured(s):
            by_model.setdefault(s.model, []).append(s)
    out = {}
    for model, group in by_model.items():
        default = next((s for s in group if _is_default(s)), None)
        inputs = {s.input for s in group}
        out[model] = (default or group[0], default is not None, len(inputs))
    return out


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _float(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def make_row(summary: Summary, default: bool, inputs: int, meta: dict[str, Any],
             note: str | None = None) -> AtlasRow:
    t = summary.totals
    year = meta.get("year")
    return AtlasRow(
        name=summary.model, label=str(meta.get("label") or summary.model), input=summary.input,
        default_input=default, inputs=inputs, params=_int(t.get("params")), macs=_int(t.get("macs")),
        flops=_int(t.get("flops")), conv_linear_macs=_int(t.get("conv_linear_macs")),
        depth=_int(t.get("depth")), year=year if isinstance(year, int) else None,
        family=str(meta.get("family") or NO_FAMILY), colour=str(meta.get("colour") or "#7f7f7f"),
        acc1=_float(meta.get("acc1")), acc5=_float(meta.get("acc5")), weights=meta.get("weights"),
        history=bool(meta.get("history")), source=str(meta.get("source") or "unknown"),
        arxiv=meta.get("arxiv"), paper=meta.get("paper"), meta_note=note)


def catalogue_meta(name: str) -> dict[str, Any]:
    from .catalog import atlas_meta

    return atlas_meta(name)


def meta_or_note(name: str, meta_of: Callable[[str], dict[str, Any]]) -> tuple[dict[str, Any], str | None]:
    """The catalogue's facts, or none and the reason: one model the catalogue cannot place (timm
    not installed, a renamed model) stays in the Atlas with its stored figures."""
    try:
        return meta_of(name), None
    except Exception as exc:  # any failure of one model's lookup must not lose the others
        from .errors import describe

        return {}, f"no catalogue facts: {describe(exc, with_type=False)}"


def build_rows(summaries: list[Summary], meta_of: Callable[[str], dict[str, Any]] = catalogue_meta,
               metas: dict[str, tuple[dict[str, Any], str | None]] | None = None) -> list[AtlasRow]:
    """One row per stored model, ordered by year (unplaced last), then name. `metas` memoises the
    catalogue lookups across rebuilds (a new profile in the store re-reads only its own)."""
    metas = {} if metas is None else metas
    rows = []
    for model, (summary, default, inputs) in canonical(summaries).items():
        if model not in metas:
            metas[model] = meta_or_note(model, meta_of)
        meta, note = metas[model]
        rows.append(make_row(summary, default, inputs, meta, note))
    return sorted(rows, key=lambda r: (r.year is None, r.year or 0, r.name))


# -- the cache -------------------------------------------------------------------------------------
def store_stamp(path: Path) -> tuple[Any, ...]:
    """What changes when the store is written: size and mtime of the file and of its WAL."""
    stamp: list[Any] = [str(path)]
    for suffix in ("", "-wal"):
        try:
            st = os.stat(f"{path}{suffix}")
            stamp += [st.st_size, st.st_mtime_ns]
        except OSError:
            stamp += [None, None]
    return tuple(stamp)


class AtlasCache:
    """The rows of one store, rebuilt only when its file changed. Safe to share between threads."""

    def __init__(self, meta_of: Callable[[str], dict[str, Any]] = catalogue_meta) -> None:
        self._meta_of = meta_of
        self._lock = threading.Lock()
        self._stamp: tuple[Any, ...] | None = None
        self._rows: list[AtlasRow] = []
        self._metas: dict[str, tuple[dict[str, Any], str | None]] = {}

    def rows(self, store: Store) -> list[AtlasRow]:
        stamp = store_stamp(store.path)
        with self._lock:
            if stamp != self._stamp:
                self._rows = build_rows(store.summaries(), self._meta_of, self._metas)
                self._stamp = stamp
            return self._rows


def load_rows(store: Store | None = None) -> list[AtlasRow]:
    """The Atlas's rows from `store` (default: the user's store), uncached (the CLI's one read)."""
    own = store is None
    st = Store() if own else store
    try:
        return build_rows(st.summaries())
    finally:
        if own:
            st.close()


# -- filtering -------------------------------------------------------------------------------------
def families(rows: list[AtlasRow]) -> list[str]:
    """Families present, earliest first (by their first model's year; unplaced ones last)."""
    first: dict[str, tuple[bool, int, str]] = {}
    for r in rows:
        key = (r.year is None, r.year or 0, r.family)
        first[r.family] = min(first.get(r.family, key), key)
    return sorted(first, key=lambda f: first[f])


def matches(row: AtlasRow, text: str) -> bool:
    """Plain, case-insensitive substring of the name, label or family (never a pattern)."""
    q = text.casefold()
    return q in row.name.casefold() or q in row.label.casefold() or q in row.family.casefold()


def filter_rows(rows: list[AtlasRow], chosen: Iterable[str] = (), search: str = "") -> list[AtlasRow]:
    """Rows of the chosen families (none chosen: all) whose name contains `search`."""
    wanted = set(chosen)
    text = search.strip()
    return [r for r in rows if (not wanted or r.family in wanted) and (not text or matches(r, text))]


def counts(rows: list[AtlasRow]) -> dict[str, int]:
    """The sentence under the title: how many models, placed, with accuracy, from the lecture set."""
    return {"models": len(rows), "unplaced": sum(not r.placed for r in rows),
            "with_accuracy": sum(r.acc1 is not None for r in rows), "history": sum(r.history for r in rows),
            "other_input": sum(not r.default_input for r in rows)}


def input_of(row: AtlasRow) -> str:
    """'1x3x224x224 (default)' or '1x3x512x512 (the only one stored)'."""
    return f"{row.input} ({'default' if row.default_input else 'not the default input'})"


__all__ = ["AtlasRow", "AtlasCache", "build_rows", "load_rows", "filter_rows", "families", "counts"]
