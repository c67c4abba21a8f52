"""`archviz sweep`: profile many (model, input) pairs into the store, on worker processes here or on
a Dask cluster, resumable.

The driver (this process) plans the pairs with the very normalisation and store keys that
`archviz profile` uses (service.normalise, store.make_key, the library versions), skips the pairs
already stored, hands the rest to an executor (executors.py) and writes each profile that comes
back to the store itself: the one writer SQLite sees. A failing model is one line and never stops
the others. Importing this module imports neither torch nor dask."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Iterable, Sequence

from ..errors import ArchvizError, describe
from ..record import Profile
from ..service import cacheable, normalise, put_profile
from ..store import Store, make_key
from .cleanup import sweep_scope
from .executors import Executor, make_executor
from .tasks import Task, TaskResult, worker_versions

DONE, SKIPPED, FAILED = "done", "skipped", "failed"


@dataclass(frozen=True)
class Outcome:
    """What became of one pair: done (profiled now), skipped (already stored) or failed (`error`,
    one line). `stored` is False for user factories, which are never stored (service.cacheable)."""

    model: str
    input: str
    status: str
    attempts: int = 0
    seconds: float = 0.0
    error: str | None = None
    stored: bool = False


@dataclass
class SweepResult:
    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    executor: str = ""

    def count(self, status: str) -> int:
        return sum(o.status == status for o in self.outcomes)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


class Watcher:
    """What the sweep tells its display; the default shows nothing."""

    def planned(self, to_run: int, skipped: int) -> None: ...

    def finished(self, outcome: Outcome) -> None: ...


# -- choosing the models ---------------------------------------------------------------------------
def select_models(models: Sequence[str] = (), history: bool = False, torchvision: bool = False,
                  timm_pattern: str | None = None) -> list[str]:
    """MODELS, then the history set, every torchvision classifier and timm's PATTERN matches (as
    timm:NAME), each once, in that order."""
    from ..catalog import HISTORY, TIMM_PREFIX, timm_models, torchvision_models

    chosen = list(models)
    if history:
        chosen += list(HISTORY)
    if torchvision:
        chosen += list(torchvision_models())
    if timm_pattern is not None:
        names = timm_models(timm_pattern)
        if not names:
            raise ArchvizError(f"no timm model matches {timm_pattern!r} (see 'archviz list "
                               "--source timm --pattern ...')", 2)
        chosen += [TIMM_PREFIX + n for n in names]
    out = list(dict.fromkeys(m.strip() for m in chosen if m.strip()))
    if not out:
        raise ArchvizError("no models to sweep: name some, or use --history, --torchvision or "
                           "--timm PATTERN", 2)
    return out


def check_names(models: Iterable[str]) -> None:
    """Catalogue names are checked before any worker starts (a typo is one line and exit 2, from
    the catalogue snapshot: no torch); factories and timm names are checked by their worker."""
    from ..catalog import is_timm_spec, resolve

    for model in models:
        if ":" not in model and not is_timm_spec(model):
            resolve(model)


# -- planning --------------------------------------------------------------------------------------
def versions() -> dict[str, str]:
    from ..profiler import versions as installed  # importlib.metadata only: no torch import

    return installed()


def plan(models: Sequence[str], inputs: Sequence[str | None], layout: str | None,
         stored: set[str], vers: dict[str, str]) -> tuple[list[Task], list[Outcome]]:
    """Every (model, input) pair once, as tasks to run and outcomes already known (stored)."""
    tasks: list[Task] = []
    skipped: list[Outcome] = []
    seen: set[tuple[str, str]] = set()
    for model in models:
        for shape in inputs or [None]:
            name, text = normalise(model, shape, layout)
            if (name, text) in seen:
                continue
            seen.add((name, text))
            key = make_key(name, text, vers)
            if cacheable(name) and key in stored:
                skipped.append(Outcome(name, text, SKIPPED, stored=True))
            else:
                tasks.append(Task(name, text, key))
    return largest_first(tasks), skipped


def estimated_gflops(task: Task) -> float:
    """torchvision's published GFLOPS at its crop, scaled by the input's pixel count (from the
    catalogue snapshot: no torch import); unknown (timm, factories, odd inputs) is infinite."""
    from ..catalog import published

    pub = published(task.model) if ":" not in task.model else None
    if not pub or not pub.get("gflops"):
        return math.inf
    if task.input == "default" or not pub.get("crop_size"):
        return float(pub["gflops"])
    dims = [int(d) for d in task.input.partition(" ")[0].split("x") if d.isdigit()]
    if len(dims) != 4:
        return math.inf
    return float(pub["gflops"]) * dims[0] * dims[2] * dims[3] / pub["crop_size"] ** 2


def largest_first(tasks: list[Task]) -> list[Task]:
    """Biggest models first (the longest-processing-time rule): the last tasks are the short ones,
    so no worker idles through a long tail while another finishes a ViT-H. Unknown costs go first
    (they may be large), in the order given."""
    return sorted(tasks, key=lambda t: -estimated_gflops(t))


# -- writing back ----------------------------------------------------------------------------------
def store_result(result: TaskResult, store: Store | None, vers: dict[str, str]) -> Outcome:
    """The driver's half of a task: check the worker's answer and store it exactly as
    service.get_profile stores a miss (the requested key and the explicit-shape key)."""
    task = result.task
    common = dict(model=task.model, input=task.input, attempts=result.attempts,
                  seconds=result.seconds)
    if not result.ok:
        return Outcome(status=FAILED, error=result.error, **common)
    try:
        prof = Profile.from_json(result.profile_json)
    except Exception as exc:
        return Outcome(status=FAILED, error=f"worker's profile not readable: {describe(exc)}", **common)
    theirs = worker_versions(prof)
    differ = sorted(k for k in vers if theirs.get(k) != vers[k])
    if differ:
        what = ", ".join(f"{k} {theirs.get(k, 'none')} (here {vers[k]})" for k in differ)
        return Outcome(status=FAILED, error=f"worker has other versions: {what}", **common)
    if store is None or not cacheable(task.model):
        return Outcome(status=DONE, **common)
    put_profile(store, task.model, task.key, prof, vers)
    return Outcome(status=DONE, stored=True, **common)


# -- the sweep -------------------------------------------------------------------------------------
def sweep(models: Sequence[str], inputs: Sequence[str | None] = (), layout: str | None = None,
          executor: Executor | None = None, store: Store | None = None,
          watcher: Watcher | None = None) -> SweepResult:
    """Profile every (model, input) pair not yet in `store` (default: the user's store) on
    `executor` (default: 2 local worker processes). Returns every pair's Outcome."""
    watcher = watcher or Watcher()
    executor = executor or make_executor("local", 2, None, 1)
    began = time.monotonic()
    own = store is None
    store = Store() if own else store
    try:
        vers = versions()
        tasks, skipped = plan(models, inputs, layout, store.keys(), vers)
        result = SweepResult(list(skipped), executor=executor.describe())
        watcher.planned(len(tasks), len(skipped))

        def done(task_result: TaskResult) -> None:
            outcome = store_result(task_result, store, vers)
            result.outcomes.append(outcome)
            watcher.finished(outcome)

        with sweep_scope():  # what the sweep starts is killed when it ends (cleanup.py)
            executor.map(tasks, done)
    finally:
        if own:
            store.close()
    result.seconds = time.monotonic() - began
    return result


__all__ = ["sweep", "select_models", "check_names", "plan", "Outcome", "SweepResult", "Watcher",
           "make_executor", "DONE", "SKIPPED", "FAILED"]
