"""What a sweep sends to a worker and what comes back: one (model, input) pair in, the Profile's
JSON or the model's one-line error out. The records are plain data (pickled to child processes and
Dask workers); `run_task` is the only code here that imports torch, and it runs in a worker."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Task:
    """One (model, input) pair, normalised as `archviz profile` normalises it (service.normalise):
    `model` is the catalogue name or factory spec, `input` the store's input text ('default',
    '1x3x224x224', '1x8x100 NLC'), `key` the store key the driver writes it under."""

    model: str
    input: str
    key: str

    @property
    def label(self) -> str:
        return self.model if self.input == "default" else f"{self.model} @ {self.input}"


@dataclass(frozen=True)
class TaskResult:
    """A worker's answer: `profile_json` on success, else `error` (one line). `retryable` marks a
    failure of the run rather than of the model (a timeout, a worker that died): only those are
    tried again. `attempts` counts the tries of this task."""

    task: Task
    profile_json: str | None = None
    error: str | None = None
    seconds: float = 0.0
    retryable: bool = False
    attempts: int = 1

    @property
    def ok(self) -> bool:
        return self.profile_json is not None


def prepare_worker() -> None:
    """Once per worker process: one torch thread (N workers on N cores must not oversubscribe), the
    library warnings the CLI hides hidden here too, and the heavy imports done before the first
    task, so a task's timeout measures its profile, not torch's start-up."""
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)
    warnings.filterwarnings("ignore", category=UserWarning)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    import importlib

    import torch

    torch.set_num_threads(1)
    for module in ("torchvision", "archviz.profiler.fvcore_backend"):  # fvcore and its jit handlers
        importlib.import_module(module)


def run_task(task: Task) -> TaskResult:
    """Profile one pair without the store (workers never open SQLite: the driver is the one writer).
    Any failure of the model is its one line, as `archviz profile` would print it."""
    from ..errors import ArchvizError, describe
    from ..service import get_profile, input_parts

    began = time.monotonic()
    shape, layout = input_parts(task.input)
    try:
        prof = get_profile(task.model, shape, use_cache=False, layout=layout)
        text = prof.to_json()
    except ArchvizError as exc:
        return _failed(task, describe(exc, with_type=False), began)
    except (Exception, SystemExit) as exc:  # user code raises anything
        return _failed(task, describe(exc), began)
    return TaskResult(task, profile_json=text, seconds=time.monotonic() - began)


def _failed(task: Task, error: str, began: float) -> TaskResult:
    return TaskResult(task, error=error or "failed", seconds=time.monotonic() - began)


def worker_versions(profile: Any) -> dict[str, str]:
    """The library versions a worker profiled with (the Profile's, less the counting backend)."""
    return {k: v for k, v in (profile.versions or {}).items() if k != "backend"}
