"""How `archviz sweep` looks: a rich progress bar on stderr while it runs (done, failed, rate, ETA;
only on a terminal, never with --quiet), one stderr line per failed model as it fails, and the
summary table at the end. The sweep itself (archviz.sweep) never formats."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

from ..sweep import DONE, FAILED, SKIPPED, Outcome, SweepResult, Watcher
from .numbers import printable

if TYPE_CHECKING:
    from rich.console import Console


def failure_line(outcome: Outcome) -> str:
    where = "" if outcome.input == "default" else f" @ {outcome.input}"
    tries = f" ({outcome.attempts} attempts)" if outcome.attempts > 1 else ""
    return f"archviz: failed {printable(outcome.model)}{where}{tries}: {printable(outcome.error)}"


def _rate_column() -> Any:
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Rate(ProgressColumn):
        """Models per minute, from rich's own speed estimate."""

        def __init__(self) -> None:
            from rich.table import Column

            super().__init__(table_column=Column(no_wrap=True))

        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text("" if not speed else f"{speed * 60:.1f} models/min", style="dim")

    return Rate()


class SweepDisplay(Watcher):
    """The sweep's watcher for the CLI: a transient progress bar on a terminal, failure lines always
    (on stderr, printed above the bar)."""

    def __init__(self, quiet: bool = False, console: "Console | None" = None) -> None:
        from ..progress import stderr_console

        self.console = console or stderr_console()
        self.show_bar = not quiet and self.console.is_terminal
        self._progress: Any = None
        self._task: Any = None
        self.failed = 0

    def __enter__(self) -> "SweepDisplay":
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._progress is not None:
            self._progress.stop()

    def planned(self, to_run: int, skipped: int) -> None:
        if not self.show_bar or not to_run:
            return
        from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn,
                                   TimeRemainingColumn)
        from rich.table import Column

        last = Column(no_wrap=True, overflow="ellipsis", max_width=32)  # the latest model's name
        self._progress = Progress(
            TextColumn("sweep"), BarColumn(bar_width=30), MofNCompleteColumn(),
            TextColumn("[red]{task.fields[failed]} failed"), _rate_column(),
            TextColumn("ETA"), TimeRemainingColumn(), TextColumn("{task.description}", style="dim",
                                                                 table_column=last),
            console=self.console, transient=True, redirect_stdout=False, redirect_stderr=True)
        self._progress.start()
        note = f"{skipped} already stored" if skipped else ""
        self._task = self._progress.add_task(note, total=to_run, failed=0)

    def finished(self, outcome: Outcome) -> None:
        if outcome.status == FAILED:
            self.failed += 1
            if self._progress is not None:
                self._progress.console.print(failure_line(outcome), markup=False, highlight=False,
                                            soft_wrap=True)
            else:
                print(failure_line(outcome), file=sys.stderr, flush=True)
        if self._progress is not None:
            self._progress.update(self._task, advance=1, failed=self.failed,
                                  description=printable(outcome.model))


def summary_table(result: SweepResult, width: int) -> Any:
    """Counts by status, then every failed pair with its reason."""
    from rich.box import SIMPLE_HEAD
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text

    title = Text(f"Sweep: {len(result.outcomes)} model/input pairs in {result.seconds:.1f} s "
                 f"({result.executor})", style="bold")
    counts = Table(box=SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold cyan")
    counts.add_column("status")
    counts.add_column("pairs", justify="right")
    counts.add_column("")
    factories = sum(o.status == DONE and not o.stored for o in result.outcomes)
    notes = {DONE: "profiled and stored" + (f" ({factories} user factories: profiled, never "
                                            "stored)" if factories else ""),
             SKIPPED: "already in the store", FAILED: "not stored; reasons below" if result.failed else ""}
    styles = {DONE: "green", SKIPPED: "dim", FAILED: "red"}
    for status in (DONE, SKIPPED, FAILED):
        counts.add_row(Text(status, style=styles[status]), str(result.count(status)), notes[status])
    parts: list[Any] = [title, counts]
    if result.failed:
        failed = Table(box=SIMPLE_HEAD, show_edge=False, pad_edge=False, header_style="bold red",
                       width=min(width, 160))
        failed.add_column("failed model", overflow="fold", ratio=2)
        failed.add_column("input", no_wrap=True)
        failed.add_column("tries", justify="right")
        failed.add_column("reason", overflow="fold", ratio=5)
        for o in result.failed:
            failed.add_row(Text(printable(o.model)), Text(o.input), str(o.attempts),
                           Text(printable(o.error)))
        parts.append(failed)
    return Group(*parts)
