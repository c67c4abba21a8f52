"""The memory budget: an input whose trace would not fit is refused in one line, before anything big
is allocated.

A real trace runs the model on the CPU, so its cost is the parameters plus the peak of live
activations. The peak is measured by running the model on the meta device (shapes only, no memory)
under a dispatch mode that adds each new tensor's bytes when it is made and subtracts them when it
is freed. On VGG-16 at 1024 px this gives 805 MB; the real trace's resident memory grew by 812 MB.
A model traced on the meta device (profiler.shapes_only) needs no such memory; its trace measures
the same peak on the way, and the same budget applies, so a profile's limits do not depend on how it
was traced."""

from __future__ import annotations

import functools
import math
import os
import weakref
from dataclasses import dataclass, field
from math import prod
from typing import Any

from .errors import ArchvizError

DEFAULT_BUDGET = 8 * 2**30   # bytes; at most half the machine's memory (see budget_bytes)
_UNITS = {"": 1, "k": 2**10, "m": 2**20, "g": 2**30, "t": 2**40, "p": 2**50, "e": 2**60}


def parse_bytes(text: str) -> int:
    """'8G' -> 8 GiB, '512m' -> 512 MiB, '1000000' -> bytes."""
    t = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = t[-1] if t and t[-1] in _UNITS else ""
    number = t[: len(t) - len(unit)]
    try:
        value = float(number) * _UNITS[unit]
    except ValueError:
        raise ArchvizError(f"ARCHVIZ_MEMORY_BUDGET={text!r} is not a size such as 8G or 512M", 2) from None
    if not math.isfinite(value):
        raise ArchvizError(f"ARCHVIZ_MEMORY_BUDGET={text!r} is not a finite size: give one such as 8G or 512M", 2)
    if value < 1:
        raise ArchvizError(f"ARCHVIZ_MEMORY_BUDGET={text!r} is less than one byte: give a size such as 8G or 512M", 2)
    if value >= 2**62:
        raise ArchvizError(f"ARCHVIZ_MEMORY_BUDGET={text!r} is more than any machine holds (at most 4 EiB)", 2)
    return int(value)


def physical_memory() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return None


def budget_bytes() -> int:
    """ARCHVIZ_MEMORY_BUDGET, else 8 GiB or half the machine's memory, whichever is less."""
    env = os.environ.get("ARCHVIZ_MEMORY_BUDGET")
    if env:
        return parse_bytes(env)
    phys = physical_memory()
    return min(DEFAULT_BUDGET, phys // 2) if phys else DEFAULT_BUDGET


def gb(n: float) -> str:
    return f"{n / 1e9:,.1f} GB" if n >= 1e8 else f"{n / 1e6:,.0f} MB"


class BudgetError(ArchvizError):
    """An input or an allocation over the memory budget: never a reason to try another way."""


def allocation_bytes(func: Any, args: tuple, kwargs: dict) -> int | None:
    """Bytes a factory operator (zeros, ones, empty, full, rand..., new_*) is about to allocate off
    the meta device, read from its schema's `size`, `dtype` and `device` before it runs; None for
    any other operator or a meta allocation."""
    import torch

    names = _argument_names(func)
    if names is None or "size" not in names:
        return None
    at = names.index("size")
    size = kwargs.get("size", args[at] if at < len(args) else None)
    base = args[0] if args and names[0] == "self" and isinstance(args[0], torch.Tensor) else None
    device = kwargs.get("device") or (base.device if base is not None else None)
    if device is not None and torch.device(device).type == "meta":
        return None
    if base is None and device is None and torch.get_default_device().type == "meta":
        return None
    try:
        numel = prod(int(s) for s in size)
    except (TypeError, ValueError):
        return None
    dtype = kwargs.get("dtype") or (base.dtype if base is not None else torch.get_default_dtype())
    return numel * torch.empty((), dtype=dtype, device="meta").element_size()


@functools.lru_cache(maxsize=4096)
def _argument_names(func: Any) -> tuple[str, ...] | None:
    """An operator's argument names (from its schema), once per operator: this runs on every op."""
    try:
        return tuple(a.name for a in func._schema.arguments)
    except AttributeError:
        return None


def check_allocation(func: Any, args: tuple, kwargs: dict) -> None:
    """Refuse, before it happens, a real allocation over the budget made by user code during a
    shapes-only run (a forward calling torch.ones(2**29) on the CPU)."""
    need = allocation_bytes(func, args, kwargs)
    if need is not None and need > budget_bytes():
        raise BudgetError(f"the model allocates {gb(need)} on the CPU in its forward, over the memory "
                          f"budget of {gb(budget_bytes())} (set ARCHVIZ_MEMORY_BUDGET to change it)", 2)


@dataclass
class PeakMeter:
    """Live and peak bytes of the storages an operator run creates, each storage counted once: views
    share their base's bytes, and an in-place op (`relu_`) returns a tensor whose storage is already
    live, so it adds nothing. 0-dim tensors, a few bytes each, are left out: a traced run makes them
    for the sizes it reads, so leaving them out makes a traced and a plain run measure the same."""

    live: int = 0
    peak: int = 0
    _holders: dict[int, list[int]] = field(default_factory=dict)  # storage key -> [tensors, bytes]

    def add(self, tensor: Any) -> None:
        if tensor._is_view() or tensor.dim() == 0:
            return
        storage = tensor.untyped_storage()
        key = storage._cdata  # the StorageImpl's address: one key per storage while it lives
        held = self._holders.get(key)
        if held is None:
            held = self._holders[key] = [0, storage.nbytes()]
            self.live += held[1]
            self.peak = max(self.peak, self.live)
        held[0] += 1
        weakref.finalize(tensor, self._release, key)

    def _release(self, key: int) -> None:
        held = self._holders[key]
        held[0] -= 1
        if held[0] == 0:
            self.live -= held[1]
            del self._holders[key]


def metering_mode(meter: PeakMeter):
    """A dispatch mode that adds every operator's new tensors to `meter`, after holding a real
    allocation made by user code to the budget (check_allocation)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    class Metered(TorchDispatchMode):
        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            check_allocation(func, args, kwargs or {})
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    meter.add(t)
            return out

    return Metered()


def meta_activation_peak(model: Any, input_shape: list[int]) -> int | None:
    """Peak bytes of live activations for one forward of a meta-device `model`, or None when the
    model cannot run on the meta device (data-dependent control flow, ops without meta kernels)."""
    import torch

    meter = PeakMeter()
    try:
        x = torch.zeros(*input_shape, device="meta")
        meter.add(x)
        with torch.no_grad(), metering_mode(meter):
            model(x)
    except BudgetError:
        raise
    except (Exception, SystemExit):  # the real trace reports user code's failures in one line
        return None
    return meter.peak


def check_input(input_shape: list[int], itemsize: int = 4) -> None:
    """Refuse at once an input tensor that alone exceeds the budget (no model needed)."""
    need = prod(input_shape) * itemsize
    budget = budget_bytes()
    if need > budget:
        raise BudgetError(f"input {'x'.join(map(str, input_shape))} alone needs {gb(need)}, over the "
                           f"memory budget of {gb(budget)} (set ARCHVIZ_MEMORY_BUDGET to change it)", 2)


def check_model(model: Any, input_shape: list[int]) -> int | None:
    """Refuse a meta-device model whose parameters plus peak activations exceed the budget; returns
    the estimate in bytes (None when the meta run was not possible: only the input was checked)."""
    check_input(input_shape)
    peak = meta_activation_peak(model, input_shape)
    return None if peak is None else check_peak(model, input_shape, peak)


def check_peak(model: Any, input_shape: list[int], peak: int) -> int:
    """Refuse a model whose parameters plus `peak` bytes of live activations exceed the budget;
    returns the estimate in bytes."""
    weights = sum(t.numel() * t.element_size() for t in (*model.parameters(), *model.buffers()))
    budget = budget_bytes()
    if peak + weights > budget:
        raise BudgetError(f"input {'x'.join(map(str, input_shape))} needs about {gb(peak)} of activations "
                           f"at their peak plus {gb(weights)} of weights, over the memory budget of "
                           f"{gb(budget)} (set ARCHVIZ_MEMORY_BUDGET to change it)", 2)
    return peak + weights
