"""The smallest square input a catalogue model accepts, found once and kept.

A model refuses inputs that its pooling and strided layers shrink to nothing (VGG-16's five 2x2 pools
need 32 px; at 16 px torch raises "Output size is too small"). Rather than trust a table, the
smallest side is found by bisection over square sizes, each probe one forward on the meta device
(shapes only: no memory, milliseconds), between 1 px and the model's default input, which must run.
The answer is kept in memory and in ARCHVIZ_HOME (min-input-size.json, keyed on the installed
versions), so each model is searched once per installation.

Bisection assumes that a model taking n px takes every larger size; the size just above the
minimum is probed too, and a model that refuses it (ViT: the side must divide into patches) is
marked `every_size=False`, so nobody promises "n px and up" for it."""

from __future__ import annotations

import json
import threading
from contextlib import nullcontext
from dataclasses import asdict, dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, ContextManager

from .files import write_quietly

FILE_NAME = "min-input-size.json"


@dataclass(frozen=True)
class MinSize:
    """The smallest square side (px) `model` accepts; None when it cannot be known, with `reason`."""

    model: str
    pixels: int | None
    every_size: bool = True   # every side from `pixels` up runs, as far as checked (False: only some do)
    reason: str = ""
    sizes: tuple[int, ...] = ()  # where not every size runs: those that did among the checked ones

    def describe(self) -> str:
        """'vgg16 accepts 32 px and up' (proven over CHECKED sizes and beyond), or the sizes that
        ran, or why nothing can be said."""
        if self.pixels is None:
            return f"{self.model}: smallest input unknown ({self.reason})"
        if not self.every_size:
            shown = ", ".join(str(n) for n in self.sizes[:8]) if self.sizes else str(self.pixels)
            more = " …" if len(self.sizes) > 8 else ""
            return (f"{self.model} runs at some sizes only: {shown}{more} px of those checked from {self.pixels} "
                    f"to {self.pixels + CHECKED - 1} (its layers fix the size or its steps)")
        return f"{self.model} accepts {self.pixels} px and up"


CHECKED = 48  # consecutive sides tried above the smallest before promising "n px and up"
RULE = 2  # the search rule kept answers were found by (2: CHECKED sides checked, sizes listed)


def smallest_accepted(runs: Callable[[int], bool], high: int, low: int = 1) -> int | None:
    """The smallest n in [low, high] with runs(n), by bisection (runs is taken as monotone);
    None when runs(high) is False."""
    if not runs(high):
        return None
    lo, hi = low, high  # invariant: runs(hi); every n < lo is refused
    while lo < hi:
        mid = (lo + hi) // 2
        if runs(mid):
            hi = mid
        else:
            lo = mid + 1
    return hi


def meta_runs(model: Any, size: int, channels: int = 3) -> bool:
    """True when a meta-device `model` runs a forward on a 1 x channels x size x size input."""
    import torch

    try:
        with torch.no_grad():
            model(torch.zeros(1, channels, size, size, device="meta"))
    except (Exception, SystemExit):  # the refusal is the answer (shape checks raise RuntimeError etc.)
        return False
    return True


class Prober:
    """Meta-device forwards of one catalogue model at square sizes (imports torch). Models whose
    constructor depends on the size (ViT's position embeddings) are rebuilt per size."""

    def __init__(self, name: str) -> None:
        from .build import default_input_shape
        from .catalog import published, resolve, size_kwargs

        self.spec = resolve(name)
        default = default_input_shape(self.spec, published(self.spec.name)
                                      if self.spec.kind == "torchvision" else None)
        self.channels, self.default = default[1], max(default[-2:])
        self.per_size = (bool(size_kwargs(self.spec.name, [1, self.channels, self.default, self.default]))
                         or self.spec.kind == "timm")
        self._built: dict[int, Any] = {}

    def model(self, size: int) -> Any:
        """The meta-device model for `size` (None when it cannot be built)."""
        from .build import _constructor, _meta_build

        key = size if self.per_size else 0
        if key not in self._built:
            constructor = _constructor(self.spec, [1, self.channels, size, size])
            model = _meta_build(constructor) or _cpu_build_to_meta(constructor)
            self._built[key] = model.eval() if model is not None else None
        return self._built[key]

    def runs(self, size: int) -> bool:
        model = self.model(size)
        return model is not None and meta_runs(model, size, self.channels)


def search(name: str) -> MinSize:
    """Bisect a catalogue model's smallest square input on the meta device (imports torch)."""
    probe = Prober(name)
    high = probe.default
    if probe.model(high) is None:
        return MinSize(name, None, reason="it cannot be built on the meta device")
    pixels = smallest_accepted(probe.runs, high)
    if pixels is None:
        return MinSize(name, None, reason=f"its default {high} px input does not run on the meta device")
    # "n px and up" only where it holds: every side of a window above n (all steps of 2 to 32 and
    # their residues: MaxViT's windows and grids fix the size to some of them), and twice the
    # default (a fixed-size head refuses larger sizes)
    window = range(pixels, pixels + CHECKED)
    ran = tuple(n for n in window if n == pixels or probe.runs(n))
    every = len(ran) == CHECKED and probe.runs(2 * high)
    return MinSize(name, pixels, every_size=every, sizes=() if every else ran)


@lru_cache(maxsize=256)
def runs_at(name: str, size: int) -> bool:
    """Whether catalogue model `name` runs at `size` px (one meta-device forward; for the models
    that do not take every size above their smallest)."""
    return Prober(name).runs(size)


def _cpu_build_to_meta(constructor: Callable[[], Any]) -> Any:
    """For constructors that compute with tensor values (RegNet's widths) and so cannot build on the
    meta device: built on the CPU without initialising weights, then moved to meta. None on failure."""
    import torch

    from .build import skip_init, stdout_to_stderr

    try:
        with skip_init(), stdout_to_stderr():
            model = constructor()
        return model.to("meta") if isinstance(model, torch.nn.Module) else None
    except Exception:
        return None


# ---- kept once found -----------------------------------------------------------------------
_memory: dict[tuple[str, str], MinSize] = {}
_memory_lock = threading.Lock()


def _versions_key() -> str:
    from .profiler import versions  # importlib.metadata only: no torch import

    v = versions()
    return ";".join(f"{k}={v[k]}" for k in sorted(v)) + f";rule={RULE}"


def _file() -> Path:
    from .files import home

    return home() / FILE_NAME


def _read_file(versions: str) -> dict[str, Any]:
    """The kept answers for these versions, each checked (a name on the catalogue's pattern, pixels
    a whole number in range or null); a file that fails is made again, with one warning."""
    from .files import CacheProblem, read_checked

    def take(data: Any) -> dict[str, Any]:
        if not isinstance(data, dict) or not isinstance(data.get("sizes"), dict):
            raise CacheProblem("no table of sizes")
        if data.get("versions") != versions:
            return {}
        problem = next((p for p in (_entry_problem(n, e) for n, e in data["sizes"].items()) if p), None)
        if problem:
            raise CacheProblem(problem)
        return data["sizes"]

    return read_checked(_file(), take, {})


def _entry_problem(name: Any, entry: Any) -> str | None:
    from .files import is_name, is_number

    if not is_name(name):
        return f"{str(name)[:60]!r} is not a catalogue name"
    if not isinstance(entry, dict):
        return f"{name}: not a record"
    pixels = entry.get("pixels")
    if pixels is not None and not is_number(pixels, 1, 100_000, whole=True):
        return f"{name}: pixels {repr(pixels)[:20]} is out of range"
    if not isinstance(entry.get("every_size", True), bool) or not isinstance(entry.get("reason", ""), str):
        return f"{name}: a field of the wrong type"
    sizes = entry.get("sizes", [])
    if not (isinstance(sizes, list) and len(sizes) <= 10_000 and all(is_number(n, 1, 100_000, whole=True) for n in sizes)):
        return f"{name}: sizes that are not a list of sides"
    return None


def _from_entry(name: str, entry: dict[str, Any] | None) -> MinSize | None:
    """A kept entry (already checked by _read_file) as a MinSize; None when there is none."""
    if entry is None:
        return None
    return MinSize(name, entry.get("pixels"), entry.get("every_size", True), entry.get("reason", "")[:200],
                   tuple(entry.get("sizes", [])))


def _write_file(versions: str, found: MinSize) -> None:
    """Merge one answer into the file: written to a temporary file, then renamed (never half written).
    A file that cannot be written only costs a repeat search."""
    sizes = _read_file(versions)
    sizes[found.model] = {k: v for k, v in asdict(found).items() if k != "model"}
    write_quietly(_file(), json.dumps({"versions": versions, "sizes": sizes}, indent=1, sort_keys=True))


def kept(name: str) -> MinSize | None:
    """The answer already found for `name` (memory, then the file), or None: never searches."""
    versions = _versions_key()
    with _memory_lock:
        hit = _memory.get((name, versions))
    if hit is not None:
        return hit
    found = _from_entry(name, _read_file(versions).get(name))
    if found is not None:
        with _memory_lock:
            _memory[(name, versions)] = found
    return found


def min_input_size(name: str, lock: ContextManager[Any] | None = None) -> MinSize:
    """The smallest square input of catalogue model `name`, searched once (under `lock`, which a
    server uses to keep meta builds apart from traces) and then read from memory or the file."""
    hit = kept(name)
    if hit is not None:
        return hit
    with lock if lock is not None else nullcontext():
        hit = kept(name)  # found while we waited?
        if hit is not None:
            return hit
        found = search(name)
        versions = _versions_key()
        with _memory_lock:
            _memory[(name, versions)] = found
        _write_file(versions, found)
        return found
