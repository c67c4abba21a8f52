"""Where a sweep's tasks run, behind one small interface: `map(tasks, done)` calls `done` in the
caller's thread with each task's TaskResult as it finishes, in any order.

- LocalExecutor: N worker threads on this machine, each driving one child process (runner.Runner).
- DaskExecutor: a Dask cluster (`--scheduler tcp://...`, or a LocalCluster it starts); each Dask task
  profiles one pair through a child process of its worker and returns the Profile's JSON.

Both enforce the timeout the same way (the child is killed, so a model hung in C code is stopped)
and retry timeouts and dead workers; a dead Dask worker is replaced by its nanny and Dask runs its
task again (up to the scheduler's allowed-failures: --retries on a LocalCluster started here)."""

from __future__ import annotations

import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Protocol

from ..errors import ArchvizError, describe
from .runner import Runner, run_with_retries
from .tasks import Task, TaskResult

Done = Callable[[TaskResult], None]


class Executor(Protocol):
    def map(self, tasks: list[Task], done: Done) -> None: ...

    def describe(self) -> str: ...


# -- local: threads driving child processes -----------------------------------------------------------
@dataclass
class LocalExecutor:
    """`workers` child processes on this machine; no scheduler."""

    workers: int = 2
    timeout: float | None = None
    retries: int = 1

    def describe(self) -> str:
        return f"local, {self.workers} worker process{'es' if self.workers != 1 else ''}"

    def map(self, tasks: list[Task], done: Done) -> None:
        runners: list[Runner] = []
        mine = threading.local()
        lock = threading.Lock()

        def one(task: Task) -> TaskResult:
            runner = getattr(mine, "runner", None)
            if runner is None:
                runner = mine.runner = Runner()
                with lock:
                    runners.append(runner)
            return run_with_retries(runner, task, self.timeout, self.retries)

        pool = ThreadPoolExecutor(max(1, min(self.workers, len(tasks))), thread_name_prefix="sweep")
        try:
            for future in as_completed([pool.submit(one, t) for t in tasks]):
                done(future.result())
        finally:
            pool.shutdown(wait=False, cancel_futures=True)
            with lock:
                for runner in runners:  # a child still busy (Ctrl-C) is killed; its thread then ends
                    runner.kill()
            pool.shutdown(wait=True)


# -- dask ------------------------------------------------------------------------------------------
_worker_local = threading.local()  # in a Dask worker: one child process per worker thread


def profile_on_worker(task: Task, timeout: float | None, retries: int) -> TaskResult:
    """The Dask task: runs in a worker, profiles through that thread's child process."""
    runner = getattr(_worker_local, "runner", None)
    if runner is None:
        runner = _worker_local.runner = Runner()
    return run_with_retries(runner, task, timeout, retries)


@dataclass
class DaskExecutor:
    """A Dask cluster: `scheduler` ('tcp://host:8786') or a LocalCluster of `workers` processes with
    one thread each. The driver (this process) is the only one that touches the store."""

    scheduler: str | None = None
    workers: int = 2
    timeout: float | None = None
    retries: int = 1
    connect_seconds: float = 30.0

    def describe(self) -> str:
        if self.scheduler:
            return f"dask, scheduler {self.scheduler}"
        return f"dask, LocalCluster of {self.workers} worker process{'es' if self.workers != 1 else ''}"

    def map(self, tasks: list[Task], done: Done) -> None:
        from distributed import as_completed as dask_completed

        if not tasks:
            return
        run = uuid.uuid4().hex[:8]
        with self._client() as client:
            futures = {client.submit(profile_on_worker, task, self.timeout, self.retries,
                                     key=f"archviz-sweep-{run}-{i}", pure=False): task
                       for i, task in enumerate(tasks)}
            for future in dask_completed(list(futures)):
                result = self._result(future, futures[future])
                future.release()  # the JSON is not kept on the cluster once we have it
                done(result)

    def _result(self, future: Any, task: Task) -> TaskResult:
        from distributed.scheduler import KilledWorker

        if future.status == "finished":
            try:
                return future.result()
            except Exception as exc:  # the answer could not be read back (another archviz?)
                return TaskResult(task, error=f"result not readable: {describe(exc)}")
        if future.status == "cancelled":
            return TaskResult(task, error="cancelled by the Dask scheduler")
        exc = future.exception()
        if isinstance(exc, KilledWorker):
            deaths = getattr(exc, "allowed_failures", self.retries) + 1
            return TaskResult(task, error=f"its Dask worker died {deaths} time"
                                          f"{'s' if deaths != 1 else ''} while profiling it",
                              attempts=deaths)
        return TaskResult(task, error=describe(exc))

    @contextmanager
    def _client(self) -> Iterator[Any]:
        """A client of the given scheduler, or of a LocalCluster started (and stopped) here."""
        import dask
        from distributed import Client, LocalCluster

        if self.scheduler:
            try:
                client = Client(self.scheduler, timeout=self.connect_seconds)
            except (OSError, TimeoutError, ValueError) as exc:
                raise ArchvizError(f"cannot reach the Dask scheduler at {self.scheduler}: "
                                   f"{describe(exc, with_type=False)}", 2) from None
            try:
                _wait_for_workers(client, self.scheduler, self.connect_seconds)
                yield client
            finally:
                client.close()
            return
        # allowed-failures: a task whose worker dies is run again by Dask up to --retries times;
        # saturation 1.0: a worker holds only the task it runs, so its death hits no queued task
        settings = {"distributed.scheduler.allowed-failures": self.retries,
                    "distributed.scheduler.worker-saturation": 1.0}
        with dask.config.set(settings), \
                LocalCluster(n_workers=self.workers, threads_per_worker=1, processes=True,
                             dashboard_address=None, silence_logs=logging.CRITICAL) as cluster, \
                Client(cluster) as client:
            yield client


def _wait_for_workers(client: Any, address: str, seconds: float) -> None:
    try:
        client.wait_for_workers(1, timeout=seconds)
    except TimeoutError:
        raise ArchvizError(f"the Dask scheduler at {address} has no workers (start some with "
                           f"'dask worker {address}')", 2) from None


def make_executor(kind: str, workers: int, timeout: float | None, retries: int,
                  scheduler: str | None = None) -> Executor:
    """The executor for --executor, checked."""
    if kind == "local":
        if scheduler:
            raise ArchvizError("--scheduler needs --executor dask", 2)
        return LocalExecutor(workers, timeout, retries)
    if kind == "dask":
        return DaskExecutor(scheduler, workers, timeout, retries)
    raise ArchvizError(f"unknown executor {kind!r}: local or dask", 2)
