"""The largest batch whose metered step fits a memory size: exponential search up (1, 2, 4, ...)
until a batch does not fit, then bisection between the last that fit and the first that did not.
Every probe is a meta-device step (meter.run_step without per-layer detail): nothing is allocated,
so probing a batch far too big costs the same as one that fits."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import ArchvizError
from .meter import StepOptions, run_step

MAX_BATCH = 2**24  # the search stops here: a batch this large fitting is reported as "at least"
NEVER_FITS = 2**80  # the peak given to a batch that cannot run at all (over any memory size)


@dataclass
class FitResult:
    """The answer: `batch` fits (0: not even batch 1), `batch + 1` does not (unless `capped`)."""

    memory: int
    options: StepOptions
    input_shape: list[int]             # the input as given; dimension 0 is the batch searched
    batch: int
    peak: int | None                   # the step's peak at `batch` (None when batch is 0)
    next_peak: int | None              # the peak at batch + 1 (None when capped)
    capped: bool = False
    probes: list[tuple[int, int]] = field(default_factory=list)   # (batch, peak) in probe order
    failed: tuple[int, str] | None = None  # the smallest batch that could not run at all, and why

    @property
    def headroom(self) -> int | None:
        return None if self.peak is None else self.memory - self.peak


def at_batch(input_shape: list[int], batch: int) -> list[int]:
    return [batch, *input_shape[1:]]


def search(peak_of: Callable[[int], int], memory: int, limit: int = MAX_BATCH) -> tuple[int, list[tuple[int, int]]]:
    """(largest batch b <= limit with peak_of(b) <= memory, 0 if none; the probes made), assuming
    the peak grows with the batch. An exponential search up (each step at least doubles the batch
    while batches fit) finds a batch that does not fit, then the bracket is closed by bisection.
    Each step up, and each split, is placed where the line through the nearest probes meets
    `memory` (the peak is close to affine in the batch), so a few probes usually settle it; a
    split that misses falls back to the midpoint, so it never takes more than plain bisection."""
    probes: list[tuple[int, int]] = []
    peaks: dict[int, int] = {}

    def fits(b: int) -> bool:
        peaks[b] = peak_of(b)
        probes.append((b, peaks[b]))
        return peaks[b] <= memory

    if not fits(1):
        return 0, probes
    lo, prev, hi = 1, None, None
    while hi is None:  # up: at least double, further where the line says it still fits
        if lo >= limit:
            return lo, probes
        nxt = min(limit, max(2 * lo, _line(prev, lo, peaks, memory) if prev else 2 * lo))
        if fits(nxt):
            prev, lo = lo, nxt
        else:
            hi = nxt
    misses = 0
    while hi - lo > 1:  # split: on the line between the bracket's ends, else the midpoint
        guess = _line(lo, hi, peaks, memory)
        mid = guess if misses < 2 and lo < guess < hi else (lo + hi) // 2
        if fits(mid):
            lo = mid
            if mid + 1 < hi and fits(mid + 1):
                lo = mid + 1
            elif mid + 1 < hi:
                hi = mid + 1
        else:
            hi = mid
        misses += 1
    return lo, probes


def _line(a: int, b: int, peaks: dict[int, int], memory: int) -> int:
    """The batch where the line through (a, peak a) and (b, peak b) reaches `memory`."""
    slope = (peaks[b] - peaks[a]) / (b - a)
    return b if slope <= 0 else int(a + (memory - peaks[a]) // slope)


def fit_batch(model: Any, input_shape: list[int], memory: int, options: StepOptions | None = None,
              limit: int = MAX_BATCH) -> FitResult:
    """The largest batch of `model` (dimension 0 of `input_shape`) whose step peak fits `memory`."""
    opts = (options or StepOptions()).check()
    if memory < 1:
        raise ArchvizError("--memory must be at least one byte", 2)
    cache: dict[int, int] = {}
    failures: dict[int, str] = {}

    def peak_of(b: int) -> int:
        """The peak at batch b; a batch above 1 that cannot run at all counts as not fitting (its
        reason kept), so the answer is the largest batch that ran and fits."""
        if b not in cache:
            try:
                cache[b] = _probe(model, at_batch(input_shape, b), opts)
            except ArchvizError as exc:
                if b == 1 or exc.exit_code != 1:
                    raise
                failures[b] = str(exc)
                cache[b] = NEVER_FITS
        return cache[b]

    batch, probes = search(peak_of, memory, limit)
    capped = batch == limit
    following = None if capped else peak_of(batch + 1)
    failed = min(failures.items()) if failures else None
    return FitResult(memory=memory, options=opts, input_shape=list(input_shape), batch=batch,
                     peak=cache.get(batch), next_peak=None if following == NEVER_FITS else following,
                     capped=capped, probes=[p for p in probes if p[1] != NEVER_FITS], failed=failed)


def _probe(model: Any, shape: list[int], opts: StepOptions) -> int:
    """One step's peak; a model that cannot run the step at this batch (batch norm over a single
    value per channel at batch 1) is one clear error."""
    from ..errors import describe
    from ..memory import BudgetError

    try:
        return run_step(model, shape, opts, detail=False).peak
    except (ArchvizError, BudgetError, KeyboardInterrupt):
        raise
    except Exception as exc:
        size = "x".join(map(str, shape))
        raise ArchvizError(f"a {'training step' if opts.train else 'forward'} at input {size} fails on the "
                           f"meta device: {describe(exc)}", 1) from None
