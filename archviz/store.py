"""The profile store: SQLite (standard library) at $ARCHVIZ_HOME/profiles.sqlite
(default ~/.cache/archviz), keyed by model spec, input shape and library versions.

The store is a cache, so it never costs the user an answer. Writes are transactional (WAL, busy
timeout) so concurrent profilers lose nothing; a real lock is waited for a few seconds only. A
corrupt file, or one with another schema, is moved aside with a one-line warning and rebuilt. Any
other trouble (a directory or FIFO in the file's place, no permission, a read-only file, a full
disk) is one warning line, and the profile is still returned, just not stored."""

from __future__ import annotations

import errno
import json
import os
import shutil
import sqlite3
import stat
import sys
import threading
import time
import zlib
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any, Callable, TypeVar

from .files import home  # noqa: F401  (the store's folder; kept here for its callers)
from .files import is_number, no_constant, short_text
from .columns import MEMORY_COLUMNS, TRAINING_COLUMNS
from .record import SCHEMA_VERSION, Profile

T = TypeVar("T")

STORE_SCHEMA = 100 + SCHEMA_VERSION  # bump when the table or the Profile record changes
COLUMNS = ("key", "model", "input", "versions", "created", "data")
_DDL = """
CREATE TABLE IF NOT EXISTS profiles (
    key      TEXT PRIMARY KEY,
    model    TEXT NOT NULL,
    input    TEXT NOT NULL,
    versions TEXT NOT NULL,
    created  REAL NOT NULL,
    data     BLOB NOT NULL
)"""
BUSY_SECONDS = 5.0  # the longest a run waits for another process's lock before going on without it

# SQLite primary result codes (extended code & 0xff)
SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26
SQLITE_INTERRUPT = 9
QUERY_SECONDS = 10.0  # the longest one query may run (progress handler): no store file hangs a command
MAX_INFLATED = 256 * 2**20  # bytes a stored blob may inflate to (a 2 MB blob could make 2 GB)
# What a store file may hold: the table, and the index SQLite makes for its primary key. A view,
# a trigger or any other object means another schema (set aside): a trigger would run on our writes.
SCHEMA_OBJECTS = frozenset({("table", "profiles"), ("index", "sqlite_autoindex_profiles_1")})

BUSY, CORRUPT, UNUSABLE = "busy", "corrupt", "unusable"


def make_key(model: str, input_text: str, versions: dict[str, str]) -> str:
    ver = ";".join(f"{k}={versions[k]}" for k in sorted(versions))
    return f"{model}|{input_text}|{ver}"


def key_parts(key: str) -> tuple[str, str, dict[str, str]]:
    """make_key read back: model, input text and versions. Split from the right, since a factory
    spec may hold '|' while the input text and the versions never do."""
    model, input_text, ver = key.rsplit("|", 2)
    return model, input_text, dict(p.split("=", 1) for p in ver.split(";") if "=" in p)


# -- what went wrong -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Fault:
    """A failed store operation, as the store acts on it: `busy` (wait a little, then go on without
    the store), `corrupt` (set the file aside and rebuild) or `unusable` (go on without it)."""

    kind: str
    reason: str


class StoreFault(Exception):
    """Carries a classified Fault out of a store operation."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


def classify(exc: BaseException, path: Path) -> Fault:
    """The one place that reads a sqlite3 or OS error. Only SQLITE_BUSY/LOCKED is a wait; only
    CORRUPT/NOTADB is a damaged file; everything else is a reason to go on without the store."""
    if isinstance(exc, OSError):
        return Fault(UNUSABLE, f"{path}: {os_reason(exc)}")
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return _classify_message(str(exc), path)
    primary = code & 0xFF
    if primary == SQLITE_INTERRUPT:  # our progress handler: a query past QUERY_SECONDS
        return Fault(CORRUPT, f"a query ran past {QUERY_SECONDS:g} s (a view or trigger that never ends?)")
    if primary in (SQLITE_BUSY, SQLITE_LOCKED):
        return Fault(BUSY, str(exc))
    if primary in (SQLITE_CORRUPT, SQLITE_NOTADB):
        return Fault(CORRUPT, str(exc))
    if primary == SQLITE_READONLY:
        return Fault(UNUSABLE, _readonly_reason(path))
    if primary == SQLITE_FULL or (primary == SQLITE_IOERR and _disk_nearly_full(path)):
        return Fault(UNUSABLE, f"disk full at {path.parent}")
    if primary == SQLITE_PERM:
        return Fault(UNUSABLE, f"{path}: permission denied")
    if primary == SQLITE_CANTOPEN:
        return Fault(UNUSABLE, _cantopen_reason(path))
    name = getattr(exc, "sqlite_errorname", f"code {code}")
    return Fault(UNUSABLE, f"{path}: {exc} ({name})")


def _classify_message(message: str, path: Path) -> Fault:
    """For sqlite3 errors without a result code (Python before 3.11)."""
    text = message.lower()
    if "locked" in text or "busy" in text:
        return Fault(BUSY, message)
    if "malformed" in text or "not a database" in text or "corrupt" in text:
        return Fault(CORRUPT, message)
    if "readonly" in text or "read-only" in text:
        return Fault(UNUSABLE, _readonly_reason(path))
    if "disk is full" in text:
        return Fault(UNUSABLE, f"disk full at {path.parent}")
    if "unable to open" in text:
        return Fault(UNUSABLE, _cantopen_reason(path))
    return Fault(UNUSABLE, f"{path}: {message}")


def os_reason(exc: OSError) -> str:
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if exc.errno == errno.EROFS:
        return "read-only file system"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "disk full"
    return exc.strerror or str(exc)


def _readonly_reason(path: Path) -> str:
    if os.path.exists(path) and not os.access(path.parent, os.W_OK | os.X_OK):
        return f"{path} is read-only (folder {path.parent} is read-only)"
    return f"{path} is read-only"


def _cantopen_reason(path: Path) -> str:
    """SQLite says only 'unable to open': name the permission that is missing when we can see it."""
    folder = path.parent
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"cannot open {path}: folder {folder}: permission denied"
    if path.exists() and not os.access(path, os.R_OK):
        return f"cannot open {path}: permission denied"
    return f"cannot open {path}"


def _disk_nearly_full(path: Path) -> bool:
    try:
        return shutil.disk_usage(path.parent).free < 1 << 20
    except OSError:
        return False


_KINDS = {stat.S_IFDIR: "directory", stat.S_IFIFO: "FIFO", stat.S_IFSOCK: "socket",
          stat.S_IFCHR: "character device", stat.S_IFBLK: "block device"}


def path_problem(path: Path) -> str | None:
    """Why `path` cannot be a SQLite file, found with stat before anything opens it (opening a FIFO
    blocks forever; a directory or a dangling link would otherwise read as a lock or an odd error)."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        return f"{path} is a dangling symlink" if os.path.islink(path) else None  # None: created later
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return f"{path} is a symlink loop"
        return f"{path}: {os_reason(exc)}"
    if stat.S_ISREG(mode):
        return None
    return f"{path} is a {_KINDS.get(stat.S_IFMT(mode), 'special file')}, not a file"


def folder_problem(folder: Path) -> str | None:
    """Why the store's folder cannot be made (ARCHVIZ_HOME is a file, no permission, ...)."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        return None
    except OSError as exc:
        what = f"ARCHVIZ_HOME {folder}" if os.environ.get("ARCHVIZ_HOME") and folder == home() \
            else f"folder {folder}"
        if isinstance(exc, (FileExistsError, NotADirectoryError)):
            return f"{what} is not a directory"
        return f"cannot create {what}: {os_reason(exc)}"


# -- stored blobs ----------------------------------------------------------------------------------
_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "model": str, "input_shape": list, "totals": dict, "layers": list, "blocks": list, "graph": list,
    "uncounted_ops": dict, "conventions": dict, "versions": dict, "catalog": (dict, type(None)),
    "notes": list, "model_class": str, "schema": int}
_JSON_KINDS = {type(None): "null", list: "a list", str: "a string", int: "a number",
               float: "a number", bool: "a boolean"}
_REQUIRED = tuple(f.name for f in fields(Profile)
                  if f.default is MISSING and f.default_factory is MISSING)


TOTAL_COUNTS = ("params", "macs", "flops", "conv_linear_macs", "activations")
ROW_COUNTS = ("params", "own_params", "macs", "flops", "conv_linear_macs", "activations",
              *MEMORY_COLUMNS, *TRAINING_COLUMNS)
# The memory and training sections (archviz.training): untrusted data like the rest of a blob.
MEMORY_COUNTS = ("weights_bytes", "param_bytes", "buffer_bytes", "input_bytes", "activation_peak_bytes",
                 "peak_bytes", "batch")
TRAINING_COUNTS = ("batch", "peak_bytes", "weights_bytes", "grad_bytes", "optimizer_bytes", "saved_bytes",
                   "activation_peak_bytes", "input_bytes", "fwd_flops", "bwd_flops", "trainable_params",
                   "frozen_params")
TRAINING_TEXT = ("optimizer", "dtype", "compute_dtype", "peak_phase")
TIMELINE_LIMIT = 100_000


def _count(value: Any) -> bool:
    """A count archviz writes: a finite number from 0 to 1e20 (not a bool)."""
    return is_number(value, 0, 1e20)


def blob_problem(data: Any) -> str | None:
    """Why decoded JSON is not a stored Profile (null, [], a string, missing or mistyped fields,
    totals without their counts, rows that are not layer rows, counts that are not finite)."""
    if not isinstance(data, dict):
        return f"holds {_JSON_KINDS.get(type(data), 'a value')}, not a profile"
    missing = [k for k in _REQUIRED if k not in data]
    if missing:
        return f"lacks {', '.join(missing)}"
    wrong = [k for k, kind in _FIELD_TYPES.items() if k in data and not isinstance(data[k], kind)]
    if wrong or not all(isinstance(row, dict) for row in data["layers"]):
        return f"has mistyped {', '.join(wrong) or 'layers'}"
    totals = data["totals"]
    bad = [k for k in TOTAL_COUNTS if not _count(totals.get(k))]
    if bad:
        return f"has totals without a count for {', '.join(bad)}"
    if not (isinstance(totals.get("depth"), int) or totals.get("depth") is None):
        return "has a depth that is not a whole number"
    shape = data["input_shape"]
    if not (shape and len(shape) <= 8 and all(isinstance(d, int) and not isinstance(d, bool) and 0 < d < 2**40
                                              for d in shape)):
        return "has an input shape that is not a list of sizes"
    for i, row in enumerate(data["layers"]):
        why = _row_problem(row)
        if why:
            return f"has layer row {i} {why}"
    for i, node in enumerate(data["graph"]):
        if not (isinstance(node, dict) and isinstance(node.get("i"), int) and isinstance(node.get("op"), str)
                and isinstance(node.get("cat"), str) and isinstance(node.get("in"), list)
                and all(isinstance(j, int) for j in node["in"])
                and (node.get("scope") is None or isinstance(node.get("scope"), str))
                and (node.get("macs") is None or _count(node.get("macs")))):
            return f"has graph node {i} that is not an op record"
    if not all(isinstance(b, dict) and isinstance(b.get("name"), str) for b in data.get("blocks", [])):
        return "has blocks that are not block records"
    return _section_problem(data.get("memory"), MEMORY_COUNTS, ("dtype",), "memory") or \
        _section_problem(data.get("training"), TRAINING_COUNTS, TRAINING_TEXT, "training") or \
        measurement_problem(data.get("measurement"), data["layers"])


def _section_problem(section: Any, counts: tuple[str, ...], texts: tuple[str, ...], what: str) -> str | None:
    """Why a memory or training section is not one archviz writes: counts bounded and finite, short
    printable texts present, flags that are booleans, a split at the peak of counts, a timeline of [row name, bytes] pairs of bounded length."""
    if section is None:
        return None
    if not isinstance(section, dict):
        return f"has a {what} section that is not a record"
    bad = [k for k in counts if not _count(section.get(k))]
    bad += [k for k in texts if not short_text(section.get(k), 64)]
    bad += [k for k in ("amp", "foreach") if k in section and not isinstance(section[k], bool)]
    if what == "training" and "amp" not in section:
        bad.append("amp")
    split = section.get("at_peak", {})
    if not (isinstance(split, dict) and len(split) <= 8 and all(isinstance(k, str) and _count(v) for k, v in split.items())):
        bad.append("at_peak")
    timeline = section.get("timeline", [])
    if not (isinstance(timeline, list) and len(timeline) <= TIMELINE_LIMIT and all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], str) and _count(p[1]) for p in timeline)):
        bad.append("timeline")
    return f"has a {what} section with {', '.join(bad)} not as written" if bad else None


MEASURED_TOTALS = ("eager_ms", "layer_sum_ms")
MEASURED_ROW_NUMBERS = ("latency_ms", "bytes", "intensity", "achieved_flops", "working_set")
BOUNDS = ("compute", "memory", "overhead")
GRADES = ("good", "fair", "noisy")


def _short_texts(items: Any, most: int = 16, length: int = 300) -> bool:
    return isinstance(items, list) and len(items) <= most and all(short_text(t, length) for t in items)


def _stats_ok(st: Any) -> bool:
    """A timing summary (measure.noise.Stats) as archviz writes it."""
    def pair(v: Any) -> bool:
        return isinstance(v, list) and len(v) == 2 and all(is_number(x, 0, 1e12) for x in v)

    return (isinstance(st, dict) and is_number(st.get("samples"), 1, 1e6, whole=True)
            and is_number(st.get("median"), 0, 1e12) and pair(st.get("iqr"))
            and (st.get("ci") is None or pair(st.get("ci")))
            and (st.get("ci_pct") is None or is_number(st.get("ci_pct"), 0, 1e12)))


def measurement_problem(m: Any, layers: list[Any]) -> str | None:
    """Why a stored `measurement` (archviz profile --measure) and the measured keys of its rows are
    not what archviz writes: the setting, finite times, peaks as peaks.entry_problem checks them,
    a known grade with short reasons, and each row's numbers finite, its bound and roof known."""
    if m is None:
        return None
    from .measure.caches import LEVEL_NAMES
    from .measure.peaks import entry_problem

    if not (isinstance(m, dict) and short_text(m.get("device"), 200) and short_text(m.get("dtype"), 16)
            and all(isinstance(m.get(k), int) and not isinstance(m.get(k), bool) and 0 < m[k] < 2**31
                    for k in ("batch", "threads", "repeat"))):
        return "has a measurement without its setting"
    total = m.get("total")
    if not (isinstance(total, dict) and all(is_number(total.get(k), 0, 1e12) for k in MEASURED_TOTALS)
            and all(total.get(k) is None or is_number(total.get(k), -1e12, 1e12)
                    for k in ("gap_pct", "graph_ms", "launch_gap_ms"))):
        return "has a measurement whose times are not finite"
    spread = total.get("eager_spread_ms")
    if not (isinstance(spread, list) and len(spread) == 2 and all(is_number(v, 0, 1e12) for v in spread)):
        return "has a measurement whose spread is not two times"
    for key, stats in (("eager", total.get("eager")), ("layer_sum", (m.get("quality") or {}).get("layer_sum"))):
        if stats is not None and not _stats_ok(stats):
            return f"has a measurement whose {key} summary is not one archviz writes"
    why = entry_problem(m.get("peaks"))
    if why or m["peaks"].get("source") not in ("microbenchmark", "flag", "microbenchmark, raised to the fastest layer"):
        return f"has measurement peaks with {why or 'an unknown source'}"
    raised = m["peaks"].get("raised", [])
    if not (isinstance(raised, list) and len(raised) <= 16 and all(
            isinstance(n, dict) and (n.get("roof") == "compute" or n.get("roof") in LEVEL_NAMES)
            and is_number(n.get("from"), 0, 1e20) and is_number(n.get("to"), 0, 1e20)
            and short_text(n.get("layer"), 500) for n in raised)):
        return "has raised roofs that are not notes"
    above = m["peaks"].get("above", [])
    if not (isinstance(above, list) and len(above) <= 16 and all(
            isinstance(a, dict) and (a.get("roof") == "compute" or a.get("roof") in LEVEL_NAMES)
            and all(is_number(a.get(k), 1e-30, 1e20) for k in ("achieved", "attainable", "intensity"))
            and short_text(a.get("layer"), 500) for a in above)):
        return "has layers above roofs that are not notes"
    q = m.get("quality")
    if q is not None and not (isinstance(q, dict) and q.get("grade") in GRADES and _short_texts(q.get("reasons", []))):
        return "has a measurement grade that is not one archviz gives"
    for i, row in enumerate(layers):
        if any(row.get(k) is not None and not is_number(row[k], 0, 1e20) for k in MEASURED_ROW_NUMBERS) \
                or row.get("bound") not in (None, *BOUNDS) or row.get("roof") not in (None, *LEVEL_NAMES):
            return f"has layer row {i} with measured figures not as written"
    return None


def _row_problem(row: dict[str, Any]) -> str | None:
    if not isinstance(row.get("name"), str) or not isinstance(row.get("type"), str):
        return "without a name and type"
    if not isinstance(row.get("level"), int) or not isinstance(row.get("leaf"), bool):
        return "without its level"
    if not (row.get("parent") is None or isinstance(row.get("parent"), str)):
        return "with a parent that is not a name"
    bad = [k for k in ROW_COUNTS if row.get(k) is not None and not _count(row[k])]
    if bad:
        return f"with {', '.join(bad)} not a finite count"
    out = row.get("output_shape")
    if not (out is None or (isinstance(out, list) and all(isinstance(d, int) for d in out))):
        return "with an output shape that is not a list of sizes"
    return None


def inflate(blob: Any, limit: int | None = None) -> bytes:
    """A stored blob decompressed, refusing one that would inflate past `limit` bytes (default
    MAX_INFLATED)."""
    limit = MAX_INFLATED if limit is None else limit
    if not isinstance(blob, (bytes, bytearray, memoryview)):
        raise TypeError("not bytes")
    inflater = zlib.decompressobj()
    out = inflater.decompress(bytes(blob), limit + 1)
    if len(out) > limit or inflater.unconsumed_tail:
        raise OverflowError(f"inflates past {limit // 2**20} MB")
    return out + inflater.flush()


def decode_profile(blob: Any) -> tuple[Profile | None, str | None]:
    """(profile, None), or (None, why) for a blob that is not a stored Profile."""
    try:
        data = json.loads(inflate(blob), parse_constant=no_constant)
    except (zlib.error, TypeError):
        return None, "not zlib data"
    except OverflowError as exc:
        return None, str(exc)
    except (ValueError, RecursionError):
        return None, "not JSON"
    why = blob_problem(data)
    return (None, why) if why else (Profile.from_dict(data), None)


HEAD_BYTES = 4096  # of a compressed blob: holds the totals (they come before the layers)


@dataclass(frozen=True)
class Summary:
    """One stored row without its layers: what a listing of the whole store (the Atlas) needs."""

    key: str
    model: str
    input: str
    created: float
    totals: dict[str, Any]


def profile_head(head: bytes) -> dict[str, Any] | None:
    """The totals of a stored profile from the first bytes of its blob, or None. Profile.to_json
    writes model, input_shape and totals before the layers, so they sit in the first kilobytes."""
    try:
        text = zlib.decompressobj().decompress(head, 1 << 16).decode("utf-8", "ignore")
    except (zlib.error, TypeError):
        return None
    marker = '"totals": '
    start = text.find(marker)
    if not text.startswith('{"model": ') or start < 0:
        return None
    try:
        totals, _ = json.JSONDecoder(parse_constant=no_constant).raw_decode(text, start + len(marker))
    except ValueError:
        return None
    return totals if isinstance(totals, dict) else None


@dataclass(frozen=True)
class _Schema:
    """What a store file holds, read in one snapshot: another process may be creating it."""

    version: int
    columns: tuple[str, ...]
    objects: int  # tables and indexes; 0 in a new, empty file
    extra: tuple[str, ...] = ()  # objects besides the table and its key index ("trigger t", ...)

    @classmethod
    def read(cls, conn: sqlite3.Connection) -> "_Schema":
        conn.execute("BEGIN")
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            objects = [(t, n) for t, n in conn.execute("SELECT type, name FROM sqlite_master")]
            extra = sorted(f"{t} {n}" for t, n in set(objects) - SCHEMA_OBJECTS)
            columns: tuple[str, ...] = ()
            if not extra:  # only our own table is ever read: a view could run forever
                columns = tuple(row[1] for row in conn.execute("PRAGMA table_info(profiles)"))
                if columns:
                    conn.execute("SELECT key FROM profiles LIMIT 1").fetchall()  # reads the table's root
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise
        return cls(version, columns, len(objects), tuple(extra))

    def mismatch(self) -> str:
        if self.extra:
            return f"another schema: it holds {', '.join(self.extra)[:200]}"
        if self.version != STORE_SCHEMA:
            return f"schema {self.version}, expected {STORE_SCHEMA}"
        found = ", ".join(self.columns) or "no table"
        return f"profiles columns ({found}), expected ({', '.join(COLUMNS)})"


def _rollback_quietly(conn: sqlite3.Connection) -> None:
    """End a failed transaction; the failure being reported matters more than this one."""
    try:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass


def _write(conn: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    """All rows or none (safe to retry after a busy failure)."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.executemany("INSERT OR REPLACE INTO profiles (key, model, input, versions, created, data) "
                         "VALUES (?, ?, ?, ?, ?, ?)", rows)
        conn.execute("COMMIT")
    except BaseException:
        _rollback_quietly(conn)
        raise


def _connect(path: Path) -> sqlite3.Connection:
    """One connection; the busy timeout bounds each wait for another process's lock, and the
    progress handler each query's run (bounded)."""
    return bounded(sqlite3.connect(path, timeout=BUSY_SECONDS, isolation_level=None, check_same_thread=False))


def _connect_read_only(path: Path) -> sqlite3.Connection:
    """Reads without the -shm/-wal files a read-only folder cannot hold (immutable: no locking,
    so only for a file this process cannot write anyway)."""
    uri = f"{Path(os.path.abspath(path)).as_uri()}?mode=ro&immutable=1"
    return bounded(sqlite3.connect(uri, uri=True, isolation_level=None, check_same_thread=False))


def bounded(conn: sqlite3.Connection, seconds: float | None = None) -> sqlite3.Connection:
    """Interrupt any statement of `conn` that runs past `seconds` (QUERY_SECONDS) of SQLite's own
    work (a recursive view, a trigger looping on our insert): it fails as SQLITE_INTERRUPT."""
    limit = QUERY_SECONDS if seconds is None else seconds
    started = [time.monotonic()]
    last = [0]

    def progress() -> int:
        now = time.monotonic()
        if now - last[0] > 1.0:  # a new statement after a pause: its clock starts now
            started[0] = now
        last[0] = now
        return 1 if now - started[0] > limit else 0

    conn.set_progress_handler(progress, 20_000)
    return conn


# -- the store -------------------------------------------------------------------------------------
class Store:
    """Profiles by key. Never raises for the file's sake: trouble is one warning line (once per
    cause per Store) and the store then misses or skips the write. Safe to share between threads."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else home() / "profiles.sqlite"
        self._conn: sqlite3.Connection | None = None
        self._write_fault: Fault | None = None  # set once a write failed: reads still work
        self._warned: set[str] = set()
        self._mutex = threading.RLock()
        self._open(may_set_aside=True)

    @property
    def usable(self) -> bool:
        return self._conn is not None

    # -- opening and recovery --------------------------------------------------------------------
    def _open(self, may_set_aside: bool) -> None:
        problem = folder_problem(self.path.parent) or path_problem(self.path)
        if problem:
            self._give_up(Fault(UNUSABLE, problem), "not read or stored")
            return
        try:
            self._conn = self._call(self._open_checked)
        except StoreFault as failure:
            fault = failure.fault
            if fault.kind == CORRUPT and may_set_aside:
                self._rebuild(fault.reason)
            elif not (fault.kind == UNUSABLE and self._open_read_only(fault)):
                self._give_up(fault, "not read or stored")

    def _open_read_only(self, fault: Fault) -> bool:
        """A store we may not write (say, in a read-only folder) can still serve hits; the reason
        it cannot be written is kept for the first put to report."""
        if not os.path.isfile(self.path):
            return False
        try:
            self._conn = self._call(lambda: self._open_checked(_connect_read_only))
        except StoreFault:
            return False
        self._write_fault = fault
        return True

    def _open_checked(self, connect: Callable[[Path], sqlite3.Connection] | None = None
                      ) -> sqlite3.Connection:
        """A connection to a store of this schema; a new, empty file gets the table."""
        conn = (connect or _connect)(self.path)
        try:
            schema = _Schema.read(conn)
            if schema.version == STORE_SCHEMA and set(schema.columns) == set(COLUMNS) and not schema.extra:
                return conn
            if schema.version == 0 and schema.objects == 0:  # a new, empty file
                return self._init(conn)
            raise StoreFault(Fault(CORRUPT, schema.mismatch()))
        except BaseException:
            conn.close()
            raise

    def _init(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError as exc:
            if classify(exc, self.path).kind != BUSY:
                raise
            # another process holds it and sets WAL itself
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(_DDL)
            conn.execute(f"PRAGMA user_version = {STORE_SCHEMA}")
            conn.execute("COMMIT")
        except BaseException:
            _rollback_quietly(conn)
            raise
        return conn

    def _rebuild(self, why: str) -> bool:
        """Set a damaged file aside and start a new one; True when the new one is open."""
        self._close_conn()
        if self._set_aside(why):
            self._open(may_set_aside=False)
        return self._conn is not None

    def _set_aside(self, why: str) -> bool:
        aside = self._aside_name()
        try:
            for suffix in ("", "-wal", "-shm"):
                try:
                    os.replace(f"{self.path}{suffix}", f"{aside}{suffix}")
                except FileNotFoundError:
                    pass
        except OSError as exc:
            self._give_up(Fault(UNUSABLE, f"{self.path} is unreadable ({why}) and could not be "
                                          f"moved aside: {os_reason(exc)}"), "not read or stored")
            return False
        self._warn(aside.name, f"profile store {self.path} unreadable ({why}); moved to "
                                f"{aside.name} and rebuilt")
        return True

    def _aside_name(self) -> Path:
        base = self.path.with_name(f"{self.path.name}.bad-{int(time.time())}-{os.getpid()}")
        aside, n = base, 1
        while os.path.lexists(aside):
            aside, n = base.with_name(f"{base.name}-{n}"), n + 1
        return aside

    # -- failures --------------------------------------------------------------------------------
    def _call(self, op: Callable[[], T]) -> T:
        """Run op, retrying only real busy/locked states, for BUSY_SECONDS in all; any other failure
        comes out as a classified StoreFault."""
        deadline = time.monotonic() + BUSY_SECONDS
        delay = 0.05
        while True:
            try:
                return op()
            except (sqlite3.Error, OSError) as exc:
                fault = classify(exc, self.path)
                if fault.kind != BUSY or time.monotonic() + delay > deadline:
                    raise StoreFault(fault) from exc
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def _handle(self, fault: Fault, outcome: str) -> bool:
        """Act on a failed read or write; True when the store was rebuilt and a write may retry."""
        if fault.kind == CORRUPT:
            return self._rebuild(fault.reason)
        if fault.kind == BUSY:
            self._warn_busy(outcome)
        elif outcome == "not stored":
            self._write_fault = fault  # reads (hits) still work from a read-only store
            self._warn_not_stored(fault)
        else:
            self._give_up(fault, outcome)
        return False

    def _give_up(self, fault: Fault, outcome: str) -> None:
        """Go on without the store for the rest of this Store's life."""
        self._close_conn()
        if fault.kind == BUSY:
            self._warn_busy(outcome)
        else:
            self._warn_not_stored(fault)

    def _warn_not_stored(self, fault: Fault) -> None:
        self._warn(fault.reason, f"profile not stored: {fault.reason}")

    def _warn_busy(self, outcome: str) -> None:
        self._warn("busy", f"profile store {self.path} busy (locked by another process for "
                           f"{BUSY_SECONDS:g} s); profile {outcome}")

    def _warn(self, cause: str, message: str) -> None:
        if cause not in self._warned:
            self._warned.add(cause)
            print(f"archviz: warning: {message}", file=sys.stderr, flush=True)

    def _close_conn(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except sqlite3.Error:
                pass

    # -- reading and writing ---------------------------------------------------------------------
    def get(self, key: str) -> Profile | None:
        """The stored profile, or None: a miss, or any trouble (warned once)."""
        with self._mutex:
            blob = self._fetch(key)
            if blob is None:
                return None
            profile, why = decode_profile(blob)
            if profile is None:
                if why == "not zlib data" and not self._file_is_sound():
                    return None
                self._warn(f"entry {key}", f"stored profile {key.split('|')[0]} in {self.path} "
                                           f"{why}; treated as a miss")
            return profile

    def _fetch(self, key: str) -> Any:
        rows = self._read("SELECT data FROM profiles WHERE key = ?", (key,))
        return rows[0][0] if rows else None

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """All rows of one query; none when the store is not open or the read fails (the trouble is
        handled and warned once, as for every read). Callers hold the mutex."""
        conn = self._conn
        if conn is None:
            return []
        try:
            return self._call(lambda: conn.execute(sql, params).fetchall())
        except StoreFault as failure:
            self._handle(failure.fault, "not read")
            return []

    def _file_is_sound(self) -> bool:
        """After a blob that fails its checksum: is the file itself damaged? (then it is rebuilt)"""
        conn = self._conn
        try:
            verdict = self._call(lambda: conn.execute("PRAGMA quick_check(1)").fetchone()[0])
        except StoreFault as failure:
            self._handle(failure.fault, "not read")
            return False
        if verdict != "ok":
            self._rebuild(f"quick_check: {verdict}")
            return False
        return True

    def put(self, keys: list[str], profile: Profile, input_text: str) -> None:
        """Store under every key; a failure is a warning, never an error (the caller has the profile)."""
        blob = zlib.compress(profile.to_json().encode(), 6)
        ver = json.dumps(profile.versions, sort_keys=True)
        now = time.time()
        rows = [(key, profile.model, input_text, ver, now, blob) for key in keys]
        with self._mutex:
            for _ in range(2):  # a second try only on the file rebuilt after corruption
                conn = self._conn
                if conn is None:
                    return  # warned when it was opened
                if self._write_fault is not None:
                    self._warn_not_stored(self._write_fault)
                    return
                try:
                    self._call(lambda: _write(conn, rows))
                    return
                except StoreFault as failure:
                    if not self._handle(failure.fault, "not stored"):
                        return

    def models(self) -> list[tuple[str, str]]:
        """(model, input) pairs stored, newest first."""
        with self._mutex:
            return [(m, i) for m, i in self._read(
                "SELECT DISTINCT model, input FROM profiles ORDER BY created DESC")]

    def summaries(self) -> list["Summary"]:
        """Every stored row as key, model, input, time and the profile's totals, read from the head
        of each blob only (see profile_head): listing 1,500 profiles never decodes a layer table."""
        with self._mutex:
            rows = self._read("SELECT key, model, input, created, substr(data, 1, ?) FROM profiles "
                              "ORDER BY created DESC", (HEAD_BYTES,))
        out = []
        for key, model, input_text, created, head in rows:
            if not (isinstance(key, str) and key.count("|") >= 2 and isinstance(model, str)
                    and isinstance(input_text, str) and _count(created)):
                self._warn(f"row {str(key)[:80]}", f"a row of {self.path} is not a stored profile's "
                                                   f"(key {str(key)[:80]!r}); left out")
                continue
            totals = profile_head(head)
            if totals is not None and any(not _count(totals.get(k)) for k in TOTAL_COUNTS):
                totals = None  # the whole blob then says what is wrong with it
            if totals is None:  # a head too short for the totals (or a bad blob): the whole profile
                full = self.get(key)
                totals = full.totals if full is not None else None
            if totals is not None:
                out.append(Summary(key, model, input_text, created, totals))
        return out

    def keys(self) -> set[str]:
        """Every stored key, in one query without decoding a profile: what a sweep checks to
        resume (a 1,500-model sweep would otherwise decompress every stored profile)."""
        with self._mutex:
            return {k for (k,) in self._read("SELECT key FROM profiles")}

    def close(self) -> None:
        with self._mutex:
            self._close_conn()
