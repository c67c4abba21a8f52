"""Visible progress for cold work: one transient line on stderr naming the stage (building, tracing,
analysing, rendering) with a spinner and the elapsed time.

Quick answers (a store hit, a warm catalogue) show nothing: the line appears only once the work has
taken `delay` seconds. Nothing is shown when stderr is not a terminal or when the user asked for
quiet, so pipes, files and tests see exactly the output they saw before."""

from __future__ import annotations

import sys
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:  # rich is imported only when a display may be shown
    from rich.console import Console

Report = Callable[[str], None]  # what the profiler and the CLI call with a stage name

DELAY_SECONDS = 1.0


def ignore(stage: str) -> None:
    """A reporter that shows nothing (stderr is not a terminal, or quiet)."""


class StageLine:
    """The renderable: spinner, stage, seconds since the work began (re-read at every refresh)."""

    def __init__(self, began: float, stage: str = "starting") -> None:
        from rich.spinner import Spinner

        self.began = began
        self.stage = stage
        self._spinner = Spinner("dots", style="cyan")

    def __rich__(self) -> Any:
        from rich.text import Text

        from .render.numbers import printable

        # a stage may carry a model name: shown as text, never parsed as markup or sent raw
        elapsed = f" {time.monotonic() - self.began:.1f} s"
        self._spinner.update(text=Text.assemble(printable(self.stage), (elapsed, "dim")))
        return self._spinner


class DelayedDisplay:
    """A rich Live display of a StageLine, started by a timer after `delay` seconds unless the work
    ended first. Thread-safe: the timer starts it, the caller's thread reports and stops it."""

    def __init__(self, console: "Console", delay: float) -> None:
        from rich.live import Live

        self.line = StageLine(time.monotonic())
        # stdout is left alone (a JSON or CSV answer must never pass through the display); stderr is
        # routed above the line so a warning printed meanwhile does not tear it
        self._live = Live(self.line, console=console, transient=True, refresh_per_second=8,
                          redirect_stdout=False, redirect_stderr=True)
        self._lock = threading.Lock()
        self._shown = self._stopped = False
        self._timer = threading.Timer(delay, self._show)
        self._timer.daemon = True

    def start(self) -> None:
        self._timer.start()

    def report(self, stage: str) -> None:
        self.line.stage = stage

    def _show(self) -> None:
        with self._lock:
            if not self._stopped:
                self._live.start()
                self._shown = True

    def stop(self) -> None:
        self._timer.cancel()
        with self._lock:
            self._stopped = True
            if self._shown:
                self._live.stop()


def stderr_console() -> "Console":
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def stage_reporter(quiet: bool = False, console: "Console | None" = None,
                   delay: float = DELAY_SECONDS) -> Iterator[Report]:
    """Yield a callable taking a stage name. On a terminal (and not quiet) a transient spinner line
    shows the latest stage once the block has run `delay` seconds; it is cleared when the block
    ends, before the caller prints its answer. Elsewhere the callable does nothing."""
    if quiet or not (console.is_terminal if console is not None else sys.stderr.isatty()):
        yield ignore
        return
    console = console or stderr_console()
    display = DelayedDisplay(console, delay)
    display.start()
    try:
        yield display.report
    finally:
        display.stop()


__all__ = ["Report", "stage_reporter", "ignore", "DELAY_SECONDS"]
