"""A child process that profiles tasks one at a time, and what really stops a hung one.

A model can hang inside C code (holding the GIL), where no Python-level timeout, thread or future
cancellation reaches it. So every profile runs in a child process (`python -m archviz.sweep.child`)
that the caller waits on through a pipe with a deadline: past it, the child is killed (SIGKILL) and
replaced, and the caller (a local worker thread or a Dask task) gets "timed out after S s" and stays
responsive. A child that dies (a segfault, os._exit, the OOM killer) is reported the same way and
replaced. The child dies with its parent, so a killed Dask worker leaves no orphans.

A model may start processes of its own (a subprocess, a fork). The child leads its own process
group (`start_new_session`), and everything it starts is in that group unless it leaves it: when
the child is killed (timeout, death, Ctrl-C, exit) the whole group is killed, and so is every
descendant still found under the child, in or out of the group. After each task the child's own
descendants are killed too: a finished profile leaves nothing running."""

from __future__ import annotations

import atexit
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
import weakref
from dataclasses import replace
from typing import Any, BinaryIO

from .tasks import Task, TaskResult

START_SECONDS = 300.0  # for the child to import torch on a busy machine
_HEADER = struct.Struct("!Q")


# -- framing: length-prefixed pickles over the child's stdin/stdout --------------------------------
def write_frame(out: BinaryIO, obj: Any) -> None:
    data = pickle.dumps(obj, protocol=pickle.HIGHEST_PROTOCOL)
    out.write(_HEADER.pack(len(data)) + data)
    out.flush()


def read_frame(inp: BinaryIO) -> Any:
    """The next object, or None at end of stream (the other side closed or died)."""
    head = _read_exact(inp, _HEADER.size)
    if head is None:
        return None
    body = _read_exact(inp, _HEADER.unpack(head)[0])
    return None if body is None else pickle.loads(body)


def _read_exact(inp: BinaryIO, n: int) -> bytes | None:
    chunks, left = [], n
    while left:
        chunk = inp.read(left)
        if not chunk:
            return None
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def _readable(stream: BinaryIO, seconds: float | None) -> bool:
    """True when the stream has data (or EOF) within `seconds` (None: wait for ever)."""
    ready, _, _ = select.select([stream], [], [], seconds)
    return bool(ready)


def exit_reason(code: int | None) -> str:
    """'killed by signal 9 (SIGKILL)' or 'exit code 3' for a finished child."""
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown"
        return f"killed by signal {-code} ({name})"
    return f"exit code {code}"


def child_env() -> dict[str, str]:
    """This process's environment less MALLOC_TRIM_THRESHOLD_, which a Dask nanny sets for its
    workers: profiling allocates and frees large zeroed weight storages, ~10% slower with it."""
    return {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}


def descendants(pid: int) -> list[Any]:
    """Every live process under `pid` (psutil.Process objects; empty when it is gone)."""
    import psutil

    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.Error:
        return []


def kill_all(procs: list[Any]) -> None:
    """SIGKILL each (a psutil.Process checks it is still the same process first) and reap ours."""
    import psutil

    for p in procs:
        try:
            p.kill()
        except psutil.Error:
            pass
    psutil.wait_procs(procs, timeout=5)


_live: "weakref.WeakSet[Runner]" = weakref.WeakSet()


def kill_every_runner() -> None:
    """At exit (and on Ctrl-C, through the executors' close): no child outlives the driver."""
    for runner in list(_live):
        runner.kill()


atexit.register(kill_every_runner)


class Runner:
    """One child process, started on first use and replaced after a timeout or a death."""

    def __init__(self, start_seconds: float = START_SECONDS) -> None:
        self.start_seconds = start_seconds
        self._proc: subprocess.Popen | None = None
        self._log: Any = None  # the child's stderr, kept to name why it died
        _live.add(self)

    # -- life --------------------------------------------------------------------------------------
    def _start(self) -> str | None:
        """Start the child and wait for it to be ready; the reason when it could not."""
        debug = bool(os.environ.get("ARCHVIZ_DEBUG"))
        self._log = None if debug else tempfile.TemporaryFile(mode="a+b")  # O_APPEND: truncatable
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "archviz.sweep.child"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, stderr=None if debug else self._log, bufsize=0, env=child_env(),
            start_new_session=True)  # a Ctrl-C in the terminal reaches the driver, which stops it
        if not _readable(self._proc.stdout, self.start_seconds):
            self.kill()
            return f"worker process did not start within {self.start_seconds:g} s"
        if read_frame(self._proc.stdout) != "ready":
            return f"worker process failed to start: {self._died()}"
        return None

    def kill(self) -> None:
        """Kill the child, its process group and every descendant it started."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        strays = descendants(proc.pid)
        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the child leads its group: the group's id is its pid
        except OSError:
            pass
        try:
            proc.kill()
        except OSError:
            pass
        kill_all(strays)  # those that left the group (setsid) but not the tree
        proc.wait()
        for pipe in (proc.stdin, proc.stdout):
            try:
                pipe.close()
            except OSError:
                pass

    close = kill  # the child holds nothing worth a graceful stop

    def _died(self) -> str:
        """Why the child is gone: its exit status and the last line it wrote on stderr."""
        proc = self._proc
        code = proc.wait() if proc is not None else None
        last = _last_line(self._log)
        self.kill()
        return exit_reason(code) + (f": {last}" if last else "")

    # -- work --------------------------------------------------------------------------------------
    def run(self, task: Task, timeout: float | None) -> TaskResult:
        """One attempt at `task`: the child's answer, or a retryable failure (timed out, died)."""
        if self._proc is None or self._proc.poll() is not None:
            self.kill()
            why = self._start()
            if why:
                return TaskResult(task, error=why, retryable=True)
        if self._log is not None:
            self._log.truncate(0)
        began = time.monotonic()
        try:
            write_frame(self._proc.stdin, task)
        except OSError:
            return TaskResult(task, error=f"worker process died: {self._died()}", retryable=True)
        if not _readable(self._proc.stdout, timeout or None):
            self.kill()
            return TaskResult(task, error=f"timed out after {timeout:g} s",
                              seconds=time.monotonic() - began, retryable=True)
        answer = read_frame(self._proc.stdout)
        if not isinstance(answer, TaskResult):
            return TaskResult(task, error=f"worker process died: {self._died()}",
                              seconds=time.monotonic() - began, retryable=True)
        kill_all(descendants(self._proc.pid))  # what the model started and left running
        return answer


def _last_line(log: Any) -> str:
    if log is None:
        return ""
    try:
        log.seek(0)
        lines = [ln.strip() for ln in log.read()[-4000:].decode("utf-8", "replace").splitlines()]
    except OSError:
        return ""
    lines = [ln for ln in lines if ln]
    return lines[-1][:300] if lines else ""


def run_with_retries(runner: Runner, task: Task, timeout: float | None, retries: int) -> TaskResult:
    """Up to 1 + `retries` attempts; a model's own error is final at once (it would fail again)."""
    attempt = 1
    while True:
        result = runner.run(task, timeout)
        if not result.retryable or attempt > retries:
            return replace(result, attempts=attempt)
        attempt += 1
