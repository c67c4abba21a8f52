"""The worker child (`python -m archviz.sweep.child`): reads Tasks on stdin, writes TaskResults on
stdout, one at a time, until stdin closes. See runner.py for why profiles run in a child."""

from __future__ import annotations

import os
import sys
import threading
import time


def die_with_parent() -> None:
    """A child whose parent is gone (a killed Dask worker) must not profile on as an orphan: on Linux
    the kernel kills it (PR_SET_PDEATHSIG); elsewhere, and as a backstop, a thread watches the
    parent's pid (it cannot run while a model holds the GIL, which is what the signal is for)."""
    parent = os.getppid()
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)  # PR_SET_PDEATHSIG, SIGKILL
    except (OSError, AttributeError):
        pass
    if os.getppid() != parent:  # the parent died before the signal was armed
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, daemon=True, name="archviz-parent-watch").start()


def main() -> None:
    from .runner import read_frame, write_frame
    from .tasks import prepare_worker, run_task

    # the protocol owns the real stdin/stdout; user code printing (even from C) writes to stderr,
    # and user code reading stdin reads nothing
    out = os.fdopen(os.dup(1), "wb", buffering=0)
    inp = os.fdopen(os.dup(0), "rb", buffering=0)
    os.dup2(2, 1)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    die_with_parent()
    prepare_worker()
    write_frame(out, "ready")
    while True:
        task = read_frame(inp)
        if task is None:
            return
        write_frame(out, run_task(task))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(130)
