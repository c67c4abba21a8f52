"""Nothing a sweep started outlives it. Each sweep marks its environment with an id
(ARCHVIZ_SWEEP_ID); every process it starts inherits it: the Dask workers of a local cluster,
the worker children, and whatever processes a model starts in turn, even one that left its
process group or was orphaned when a Dask worker was killed (the runner's process-group kill
covers the rest: runner.py). When the sweep ends, however it ends (done, failed, Ctrl-C, an
exception), every live process carrying the id, but the driver itself, is killed."""

from __future__ import annotations

import contextlib
import os
import uuid
from typing import Any, Iterator

MARK = "ARCHVIZ_SWEEP_ID"


def marked(sweep_id: str) -> list[Any]:
    """Live processes (psutil.Process) whose environment carries this sweep's id, but this one."""
    import psutil

    mine = os.getpid()
    found = []
    for proc in psutil.process_iter(["pid"]):
        if proc.info["pid"] == mine:
            continue
        try:
            if proc.environ().get(MARK) == sweep_id:
                found.append(proc)
        except psutil.Error:  # gone, a zombie, or another user's: not ours to read
            continue
    return found


def kill_marked(sweep_id: str) -> int:
    """Kill every process of this sweep (but the driver); how many were still alive."""
    from .runner import kill_all

    procs = marked(sweep_id)
    kill_all(procs)
    return len(procs)


@contextlib.contextmanager
def sweep_scope() -> Iterator[str]:
    """Mark this process's environment for the sweep (inherited by all it starts), and on the way
    out, whatever happened, kill what still carries the mark and restore the environment."""
    before = os.environ.get(MARK)
    sweep_id = before or uuid.uuid4().hex  # a sweep inside a sweep's process shares its id
    os.environ[MARK] = sweep_id
    try:
        yield sweep_id
    finally:
        if before is None:
            del os.environ[MARK]
            kill_marked(sweep_id)
