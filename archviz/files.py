"""Atomic file writes: a temporary file beside the target, then a rename. A reader (or a failed
run) sees the old file or the new one, never half of one."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, then rename: a failed run leaves the old file intact."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_quietly(path: Path | None, text: str) -> bool:
    """write_atomic for caches (the catalogue snapshot, found sizes, device peaks): a file that
    cannot be written only costs finding its contents again, so trouble is swallowed (False)."""
    if path is None:
        return False
    try:
        write_atomic(path, text.encode("utf-8"))
    except OSError:
        return False
    return True
