"""The profile store: SQLite (standard library) at $ARCHVIZ_HOME/profiles.sqlite
(default ~/.cache/archviz), keyed by model spec, input shape and library versions.

Writes are transactional (WAL, busy timeout) so concurrent profilers lose nothing; a corrupt file or
one with another schema is moved aside with a one-line warning and rebuilt, never a crash."""

from __future__ import annotations

import json
import os
import sqlite3
import sys
import time
import zlib
from pathlib import Path

from .errors import ArchvizError
from .record import SCHEMA_VERSION, Profile

STORE_SCHEMA = 100 + SCHEMA_VERSION  # bump when the table or the Profile record changes
_DDL = """
CREATE TABLE IF NOT EXISTS profiles (
    key      TEXT PRIMARY KEY,
    model    TEXT NOT NULL,
    input    TEXT NOT NULL,
    versions TEXT NOT NULL,
    created  REAL NOT NULL,
    data     BLOB NOT NULL
)"""


def home() -> Path:
    return Path(os.environ.get("ARCHVIZ_HOME") or Path.home() / ".cache" / "archviz")


def make_key(model: str, input_text: str, versions: dict[str, str]) -> str:
    ver = ";".join(f"{k}={versions[k]}" for k in sorted(versions))
    return f"{model}|{input_text}|{ver}"


class Store:
    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else home() / "profiles.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = self._open()

    # -- opening and recovery --------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        conn.execute("PRAGMA busy_timeout = 60000")
        return conn

    def _open(self) -> sqlite3.Connection:
        """Open, checking the schema. A locked database (another process is creating or writing
        it) is waited for, never mistaken for a corrupt one."""
        for attempt in range(50):
            try:
                return self._open_once()
            except sqlite3.OperationalError:
                time.sleep(0.1 * (attempt + 1))
        raise ArchvizError(f"profile store {self.path} stayed locked by another process", 1)

    def _open_once(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            conn.execute("BEGIN")  # one snapshot: another process may create the schema meanwhile
            try:
                version = conn.execute("PRAGMA user_version").fetchone()[0]
                tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
                if version == STORE_SCHEMA and "profiles" in tables:
                    conn.execute("SELECT key FROM profiles LIMIT 1").fetchall()
            finally:
                conn.execute("COMMIT")
            if version == STORE_SCHEMA and "profiles" in tables:
                return conn
            if version == 0 and not tables:  # a new, empty file
                return self._init(conn)
            conn.close()
            self._set_aside(f"schema {version}, expected {STORE_SCHEMA}")
        except sqlite3.OperationalError:
            raise  # locked or busy: not corruption (retried by _open)
        except sqlite3.DatabaseError as exc:  # "file is not a database", "malformed"
            self._set_aside(f"{exc}")
        return self._init(self._connect())

    def _init(self, conn: sqlite3.Connection) -> sqlite3.Connection:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
        except sqlite3.OperationalError:
            pass  # another process holds it; WAL will be set by that process
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(_DDL)
        conn.execute(f"PRAGMA user_version = {STORE_SCHEMA}")
        conn.execute("COMMIT")
        return conn

    def _set_aside(self, why: str) -> None:
        aside = self.path.with_name(f"{self.path.name}.bad-{int(time.time())}-{os.getpid()}")
        for suffix in ("", "-wal", "-shm"):
            src = Path(str(self.path) + suffix)
            if src.exists():
                src.replace(Path(str(aside) + suffix))
        print(f"archviz: warning: profile store {self.path} unreadable ({why}); moved to "
              f"{aside.name} and rebuilt", file=sys.stderr)

    # -- reading and writing -------------------------------------------------------------------
    def get(self, key: str) -> Profile | None:
        try:
            row = self._conn.execute("SELECT data FROM profiles WHERE key = ?", (key,)).fetchone()
            return Profile.from_dict(json.loads(zlib.decompress(row[0]))) if row else None
        except (sqlite3.DatabaseError, zlib.error, ValueError, TypeError):
            return None  # an unreadable row is a miss; the next put replaces it

    def put(self, keys: list[str], profile: Profile, input_text: str) -> None:
        blob = zlib.compress(profile.to_json().encode(), 6)
        ver = json.dumps(profile.versions, sort_keys=True)
        now = time.time()
        with self._transaction():
            for key in keys:
                self._conn.execute(
                    "INSERT OR REPLACE INTO profiles (key, model, input, versions, created, data) "
                    "VALUES (?, ?, ?, ?, ?, ?)", (key, profile.model, input_text, ver, now, blob))

    def _transaction(self):
        conn = self._conn

        class _Tx:
            def __enter__(self):
                conn.execute("BEGIN IMMEDIATE")

            def __exit__(self, exc_type, *_):
                conn.execute("ROLLBACK" if exc_type else "COMMIT")
                return False
        return _Tx()

    def models(self) -> list[tuple[str, str]]:
        """(model, input) pairs stored, newest first."""
        rows = self._conn.execute("SELECT DISTINCT model, input FROM profiles ORDER BY created DESC")
        return [(m, i) for m, i in rows]

    def close(self) -> None:
        self._conn.close()
