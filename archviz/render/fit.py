"""`archviz fit`'s answer as lines of text (and the dashboard's card text): the batch, its peak,
the headroom, and that batch + 1 does not fit."""

from __future__ import annotations

from typing import Any

from .numbers import printable


BINARY_UNITS = ((2**60, "EiB"), (2**50, "PiB"), (2**40, "TiB"), (2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB"))


def _scaled(n: float) -> tuple[float, str]:
    """(n in its largest binary unit, the unit); bytes below 1 KiB stay bytes."""
    return next(((n / f, u) for f, u in BINARY_UNITS if abs(n) >= f), (n, "B"))


def size(n: float | None) -> str:
    """Bytes in powers of 1024, three significant figures: 23.4 GiB, 512 MiB, 220 B."""
    if n is None:
        return "-"
    value, unit = _scaled(n)
    return f"{n:.0f} B" if unit == "B" else f"{value:.3g} {unit}"


def exact(n: int | None) -> str:
    """'23.94 GiB (25,702,612,992 B)': near the limit three figures cannot tell fits from not."""
    if n is None:
        return "-"
    value, unit = _scaled(n)
    return f"{n:,} B" if unit == "B" else f"{value:.2f} {unit} ({n:,} B)"


def step_text(options: Any) -> str:
    """'a training step (sgd, float32)' or 'an inference forward (float32)'."""
    if not options.train:
        return f"an inference forward ({options.dtype})"
    dtype = f"amp {options.compute_dtype}, fp32 weights" if options.amp else options.dtype
    return f"a training step ({options.optimizer}, {dtype})"


def fit_lines(model: str, result: Any) -> list[str]:
    """The answer: one line for the batch, one for why batch + 1 does not fit."""
    name, what, mem = printable(model), step_text(result.options), size(result.memory)
    rest = "x".join(str(d) for d in result.input_shape[1:])
    if result.batch == 0:
        return [f"{name} does not fit {mem} even at batch 1: {what} at input 1x{rest} peaks at "
                f"{size(result.next_peak)}"]
    lines = [f"{name}: largest batch {result.batch:,} fits {mem} for {what} at input Bx{rest}: "
             f"peak {exact(result.peak)}, headroom {exact(result.headroom)}"]
    failed = getattr(result, "failed", None)
    if result.capped:
        lines.append(f"the search stops at batch {result.batch:,}: larger batches were not tried")
    elif failed and (result.next_peak is None or failed[0] == result.batch + 1):
        lines.append(f"batch {failed[0]:,} does not run at all: {printable(failed[1])}")
    else:
        lines.append(f"batch {result.batch + 1:,} would peak at {exact(result.next_peak)}, over {mem} "
                     f"({len(result.probes)} meta-device steps probed; allocator overhead and "
                     "fragmentation on a real device not included)")
    return lines
