"""Files under ARCHVIZ_HOME. Writes are atomic: a temporary file beside the target, then a rename,
so a reader (or a failed run) sees the old file or the new one, never half of one. Reads of the
caches kept there (the catalogue snapshot, the timm atlas table, found input sizes, device peaks)
go through `read_cache_json`: such a file is data a user or another program may have replaced,
so it is opened without blocking (a FIFO never hangs a read), must be a regular file of bounded
size, and is parsed as JSON only; each reader then checks every value it takes (the check it
passes to `read_checked`). A file that fails is rebuilt, with one warning (`warn_rebuilt`)."""

from __future__ import annotations

import json
import math
import os
import re
import stat
import sys
import tempfile
from pathlib import Path
from typing import Any, Callable, TypeVar

CACHE_LIMIT = 32 * 2**20  # bytes: the largest cache file read (the timm table is about 2 MB)
# A catalogue model's name (torchvision's and archviz's own): what a cached name must look like.
NAME_PATTERN = re.compile(r"[a-z][a-z0-9_]{0,79}")
_warned: set[str] = set()
T = TypeVar("T")


def home() -> Path:
    """ARCHVIZ_HOME, else ~/.cache/archviz: where the store and the caches live."""
    return Path(os.environ.get("ARCHVIZ_HOME") or Path.home() / ".cache" / "archviz")


class CacheProblem(ValueError):
    """Why a cache file's contents cannot be used (said in the rebuild warning)."""


def read_cache_json(path: Path | None) -> Any:
    """The JSON value in cache file `path`; None when there is no file (or it cannot be opened at
    all). Raises CacheProblem when it is not a regular file, too big, not UTF-8 or not JSON."""
    if path is None:
        return None
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except OSError:  # no file, or a home that cannot be read (the store warns about that): none
        return None
    try:
        info = os.fstat(fd)  # of what was opened: no swap between a check and the read
        if not stat.S_ISREG(info.st_mode):
            raise CacheProblem("not a regular file")
        if info.st_size > CACHE_LIMIT:
            raise CacheProblem(f"{info.st_size:,} bytes, over the {CACHE_LIMIT:,} a cache may hold")
        with os.fdopen(fd, "rb", closefd=False) as fh:
            raw = fh.read(CACHE_LIMIT + 1)
    except OSError as exc:
        raise CacheProblem(exc.strerror or type(exc).__name__) from None
    finally:
        os.close(fd)
    if len(raw) > CACHE_LIMIT:
        raise CacheProblem("grew past the size a cache may hold while read")
    try:
        return json.loads(raw.decode("utf-8"), parse_constant=no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise CacheProblem(f"not JSON ({type(exc).__name__})") from None


def no_constant(name: str) -> Any:
    """json's parse_constant: NaN, Infinity and -Infinity are refused, never read as numbers."""
    raise ValueError(f"{name} is not a number")


def read_checked(path: Path | None, take: Callable[[Any], T], empty: T) -> T:
    """What `take` makes of the cache at `path`; `empty` when there is none yet, or when the file
    or `take` raises CacheProblem (then one warning: the file is made again)."""
    try:
        data = read_cache_json(path)
        return empty if data is None else take(data)
    except CacheProblem as why:
        warn_rebuilt(path, str(why))
        return empty


def is_name(value: Any) -> bool:
    return isinstance(value, str) and NAME_PATTERN.fullmatch(value) is not None


def is_number(value: Any, low: float = 0.0, high: float = 1e30, whole: bool = False) -> bool:
    """A finite number in [low, high] (never a bool; `whole`: an int)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (whole and not isinstance(value, int)):
        return False
    return math.isfinite(value) and low <= value <= high


def short_text(value: Any, length: int = 300) -> bool:
    """Text archviz writes: a string, short, with nothing a terminal would act on (no control or
    escape characters)."""
    return isinstance(value, str) and len(value) <= length and value.isprintable()


def warn_rebuilt(path: Path, why: str) -> None:
    """One line on stderr, once per file and process: the cache is set aside and made again."""
    from .render.numbers import printable

    key = str(path)
    if key in _warned:
        return
    _warned.add(key)
    print(f"archviz: warning: {printable(path)} is not a usable cache ({printable(why)[:200]}); "
          "it is made again", file=sys.stderr)


def target_problem(path: Path) -> str | None:
    """Why an output file cannot be written at `path` (said before any work), or None: a folder
    in its place, a parent that is a file, or a folder that cannot be written."""
    path = Path(path)
    if path.is_dir():
        return f"{path} is a folder: give a file name"
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return f"{path} cannot be made: {parent} is not a folder"
    if not os.access(parent, os.W_OK | os.X_OK):
        return f"{path} cannot be written: no permission to write in {parent}"
    return None


def check_target(path: Path) -> None:
    from .errors import ArchvizError
    from .render.numbers import printable

    problem = target_problem(path)
    if problem:
        raise ArchvizError(printable(problem), 2)


def write_atomic(path: Path, data: bytes) -> None:
    """Write to a temp file beside `path`, then rename: a failed run leaves the old file intact. A
    failure is an ArchvizError naming `path` (never the temporary file) and its reason."""
    from .errors import ArchvizError
    from .render.numbers import printable

    check_target(path)
    try:
        _write_atomic(path, data)
    except OSError as exc:
        raise ArchvizError(f"cannot write {printable(path)}: {exc.strerror or type(exc).__name__}", 2) from None


def _write_atomic(path: Path, data: bytes) -> None:
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
    if path is None or target_problem(path):
        return False
    try:
        _write_atomic(path, text.encode("utf-8"))
    except OSError:
        return False
    return True
