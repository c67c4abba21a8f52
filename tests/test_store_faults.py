"""A broken, locked or odd profile store never costs the answer: every fault is one warning line
(set aside and rebuilt, or "profile not stored: <reason>") and the profile is still returned."""

import io
import json
import os
import shutil
import sqlite3
import tempfile
import time
import types
import zlib
from contextlib import redirect_stderr
from pathlib import Path

import pytest

import archviz.profiler
import archviz.store
from archviz.service import get_profile
from archviz.store import STORE_SCHEMA, Store, classify, make_key
from conftest import run_cli

RESNET18_PARAMS = 11_689_512
PAGE = 4096


def resnet_key(input_text="default"):
    from archviz.profiler import versions

    return make_key("resnet18", input_text, versions())


@pytest.fixture(scope="module")
def resnet(tmp_path_factory):
    """resnet18 traced once for the module."""
    store = Store(tmp_path_factory.mktemp("seed") / "seed.sqlite")
    try:
        return get_profile("resnet18", store=store)
    finally:
        store.close()


@pytest.fixture
def traced(monkeypatch, resnet):
    """The profiler replaced by the module's resnet18 profile: in-process tests need no tracing."""
    calls = []
    monkeypatch.setattr(archviz.profiler, "profile", lambda *a, **k: calls.append(a) or resnet)
    return calls


def filled_store(path, profile, fillers=6):
    """A store holding resnet18 (as a run stores it) and filler rows, so it spans many pages."""
    store = Store(path)
    store.put([resnet_key(), resnet_key("1x3x224x224")], profile, "1x3x224x224")
    for n in range(fillers):
        store.put([f"filler{n}|default|x"], profile, "default")
    store.close()
    assert not os.path.exists(f"{path}-wal")  # checkpointed: the rows are in the file itself
    return path


def profile_cli(home, model="resnet18"):
    return (run_cli("profile", model, "-f", "json", env={"ARCHVIZ_HOME": str(home)}),)


def count_waits(monkeypatch) -> list[float]:
    """The retry waits the store asks for (its time.sleep), still slept: a count of what it did,
    instead of a stopwatch."""
    asked: list[float] = []

    def sleep(seconds):
        asked.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(archviz.store, "time", types.SimpleNamespace(monotonic=time.monotonic, time=time.time, sleep=sleep))
    return asked


def assert_answered(result, *causes):
    """rc 0, the right numbers, and exactly one warning line naming the cause (none if no causes)."""
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["totals"]["params"] == RESNET18_PARAMS
    lines = result.stderr.splitlines()
    if not causes:
        assert lines == []
        return None
    assert len(lines) == 1 and lines[0].startswith("archviz: warning: "), result.stderr
    for cause in causes:
        assert cause in lines[0], lines[0]
    assert "stayed locked" not in lines[0]
    return lines[0]


def one_warning(capsys, *causes):
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: warning: "), lines
    for cause in causes:
        assert cause in lines[0], lines[0]
    return lines[0]


def pages_holding(data, blob):
    """Page numbers (1-based) whose bytes hold some of `blob` (every copy of it)."""
    pages = set()
    for at in range(0, len(blob) - 64, 256):
        found = data.find(blob[at:at + 64])
        while found >= 0:
            pages.add(found // PAGE + 1)
            found = data.find(blob[at:at + 64], found + 1)
    return pages


def write_blob(path, key, value):
    conn = sqlite3.connect(path)
    blob = value if isinstance(value, bytes) else zlib.compress(json.dumps(value).encode())
    conn.execute("UPDATE profiles SET data = ? WHERE key = ?", (blob, key))
    conn.commit()
    conn.close()


# -- damaged files: set aside and rebuilt ---------------------------------------------------------
def test_mid_file_page_corruption_is_set_aside_and_rebuilt(tmp_path, resnet):
    path = filled_store(tmp_path / "profiles.sqlite", resnet)
    data = bytearray(path.read_bytes())
    conn = sqlite3.connect(path)
    blob = conn.execute("SELECT data FROM profiles WHERE key = ?", (resnet_key(),)).fetchone()[0]
    conn.close()
    # the pages carrying resnet18's stored profile, and one more in the middle; page 1 (the header
    # and schema) and the table's root page stay intact
    pages = {p for p in pages_holding(bytes(data), blob) if p > 3} | {len(data) // PAGE // 2 + 1}
    assert pages and min(pages) > 2
    for page in pages:
        data[(page - 1) * PAGE:page * PAGE] = os.urandom(PAGE)
    path.write_bytes(bytes(data))

    line = assert_answered(*profile_cli(tmp_path), "moved to")
    aside = [p.name for p in tmp_path.glob("profiles.sqlite.bad-*")]
    assert len(aside) == 1 and aside[0] in line
    assert_answered(*profile_cli(tmp_path))  # rebuilt: a clean hit, no warning


def test_same_version_other_columns_is_set_aside_and_rebuilt(tmp_path):
    conn = sqlite3.connect(tmp_path / "profiles.sqlite")
    conn.execute("CREATE TABLE profiles (key TEXT PRIMARY KEY, data BLOB)")
    conn.execute(f"PRAGMA user_version = {STORE_SCHEMA}")
    conn.commit()
    conn.close()
    assert_answered(*profile_cli(tmp_path), "moved to", "columns")
    store = Store(tmp_path / "profiles.sqlite")
    assert store.get(resnet_key()) is not None
    store.close()


def test_corruption_found_by_a_write_is_set_aside_and_the_write_retried(tmp_path, monkeypatch,
                                                                        traced, capsys):
    class CorruptOnce:
        """A real connection whose first write reports SQLITE_CORRUPT."""

        def __init__(self, conn):
            self._conn = conn

        def __getattr__(self, name):
            return getattr(self._conn, name)

        def executemany(self, *args):
            if not failed:
                failed.append(1)
                exc = sqlite3.DatabaseError("database disk image is malformed")
                exc.sqlite_errorcode, exc.sqlite_errorname = 11, "SQLITE_CORRUPT"
                raise exc
            return self._conn.executemany(*args)

    failed = []
    real = archviz.store._connect
    monkeypatch.setattr(archviz.store, "_connect", lambda path: CorruptOnce(real(path)))
    store = Store(tmp_path / "p.sqlite")
    assert get_profile("resnet18", store=store).totals["params"] == RESNET18_PARAMS
    one_warning(capsys, "moved to", "malformed")
    assert store.get(resnet_key()) is not None and list(tmp_path.glob("p.sqlite.bad-*"))


def test_a_failed_set_aside_leaves_no_store_and_one_warning(tmp_path, monkeypatch, traced, capsys):
    path = tmp_path / "p.sqlite"
    path.write_bytes(b"not a database" * 400)

    def refuse(src, dst):
        raise PermissionError(13, "Permission denied", src)

    monkeypatch.setattr(archviz.store.os, "replace", refuse)
    store = Store(path)
    assert not store.usable
    assert get_profile("resnet18", store=store).totals["params"] == RESNET18_PARAMS
    one_warning(capsys, "profile not stored", "could not be moved aside: permission denied")


# -- stored blobs that are not profiles: a miss, then replaced -------------------------------------
@pytest.mark.parametrize("value", [None, [], "x", {"model": 1}, {"model": "resnet18", "input_shape": []},
                                   {"model": "resnet18", "input_shape": [], "totals": [], "layers": {}},
                                   {"model": "m", "input_shape": [], "totals": {}, "layers": [1]},
                                   b"not zlib"],
                         ids=["null", "list", "string", "model-only", "no-totals", "wrong-types",
                              "layer-not-dict", "not-zlib"])
def test_a_blob_that_is_not_a_profile_is_a_miss_then_replaced(tmp_path, resnet, traced, capsys, value):
    path = filled_store(tmp_path / "p.sqlite", resnet, fillers=0)
    write_blob(path, resnet_key(), value)
    store = Store(path)
    assert store.get(resnet_key()) is None
    one_warning(capsys, "treated as a miss")
    assert get_profile("resnet18", store=store) is resnet and len(traced) == 1
    assert store.get(resnet_key()).totals == resnet.totals  # the put replaced it
    assert capsys.readouterr().err == ""


def test_cli_with_a_null_blob_profiles_again_and_replaces_it(tmp_path, resnet):
    path = filled_store(tmp_path / "profiles.sqlite", resnet, fillers=0)
    write_blob(path, resnet_key(), None)
    assert_answered(*profile_cli(tmp_path), "treated as a miss")
    assert_answered(*profile_cli(tmp_path))  # replaced: a clean hit


# -- unusable paths: reported at once, profile computed, not stored --------------------------------
def _directory(p):
    p.mkdir()


def _fifo(p):
    os.mkfifo(p)


def _dangling(p):
    p.symlink_to(p.parent / "nowhere")


def _loop(p):
    p.symlink_to(p)


@pytest.mark.parametrize("make, cause", [(_directory, "is a directory, not a file"),
                                         (_fifo, "is a FIFO, not a file"),
                                         (_dangling, "is a dangling symlink"),
                                         (_loop, "is a symlink loop")],
                         ids=["directory", "fifo", "dangling-symlink", "symlink-loop"])
def test_cli_answers_when_the_store_path_is_not_a_file(tmp_path, make, cause):
    make(tmp_path / "profiles.sqlite")
    assert_answered(*profile_cli(tmp_path), "profile not stored", cause)


def test_cli_answers_when_archviz_home_is_a_file(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder")
    assert_answered(*profile_cli(home), "profile not stored", f"ARCHVIZ_HOME {home} is not a directory")


def test_a_symlink_to_a_store_file_is_used(tmp_path, resnet, traced, capsys):
    real = filled_store(tmp_path / "real.sqlite", resnet, fillers=0)
    (tmp_path / "link.sqlite").symlink_to(real)
    assert Store(tmp_path / "link.sqlite").get(resnet_key()).totals == resnet.totals
    assert capsys.readouterr().err == "" and not traced


def as_unprivileged(check):
    """(check(), its stderr lines) run by a user that file permissions apply to: the test process,
    or, under root, a forked child that has become `nobody`."""
    if os.geteuid() != 0:
        err = io.StringIO()
        with redirect_stderr(err):
            result = check()
        return result, err.getvalue().splitlines()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            os.setgid(65534)
            os.setuid(65534)
            err = io.StringIO()
            with redirect_stderr(err):
                result = check()
            payload = [result, err.getvalue().splitlines()]
        except BaseException as exc:
            payload = [None, [f"child failed: {exc!r}"]]
        os.write(write, json.dumps(payload).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    return json.loads(data)


@pytest.fixture
def shared_dir():
    """A folder `nobody` can reach (pytest's own tmp folders are private to their owner)."""
    folder = tempfile.mkdtemp(prefix="archviz-perm-")
    os.chmod(folder, 0o777)
    yield folder
    for root, dirs, _ in os.walk(folder):
        for d in dirs:
            os.chmod(os.path.join(root, d), 0o777)
    shutil.rmtree(folder)


@pytest.mark.parametrize("target, mode, cause, hit", [
    ("file", 0o000, "permission denied", False), ("folder", 0o000, "permission denied", False),
    ("file", 0o444, "is read-only", True), ("folder", 0o555, "is read-only", True)],
    ids=["file-000", "folder-000", "read-only-file", "read-only-folder"])
def test_permissions_as_an_unprivileged_user(shared_dir, resnet, traced, target, mode, cause, hit):
    home = os.path.join(shared_dir, "home")
    os.mkdir(home)
    os.chmod(home, 0o777)
    path = filled_store(Path(home) / "p.sqlite", resnet, fillers=0)
    os.chmod(path if target == "file" else home, mode)

    def check():
        store = Store(path)
        first = get_profile("resnet18", store=store)  # a hit where the file can be read
        missed = get_profile("resnet18", "1x3x64x64", store=store)  # traced, cannot be stored
        return [first.totals["params"], missed.totals["params"], len(traced)]

    result, lines = as_unprivileged(check)
    assert result == [RESNET18_PARAMS, RESNET18_PARAMS, 1 if hit else 2], lines
    assert len(lines) == 1 and lines[0].startswith("archviz: warning: profile not stored: "), lines
    assert cause in lines[0], lines[0]


def test_cannot_open_is_reported_at_once(tmp_path, monkeypatch, traced, capsys):
    # what a chmod-000 file or folder gives a non-root user: SQLITE_CANTOPEN (here a real one)
    monkeypatch.setattr(archviz.store, "_connect", lambda path: sqlite3.connect(tmp_path / "no" / "x"))
    waits = count_waits(monkeypatch)
    assert get_profile("resnet18", store=Store(tmp_path / "p.sqlite")).totals["params"] == RESNET18_PARAMS
    assert waits == []  # reported at once: not one retry wait
    one_warning(capsys, "profile not stored", "cannot open")


# -- writes refused: profile returned, hits still served ----------------------------------------
def _read_only(path):
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)


def _full(path):
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    return conn


@pytest.mark.parametrize("connect, cause", [(_read_only, "is read-only"), (_full, "disk full")],
                         ids=["read-only", "disk-full"])
def test_a_refused_write_is_one_warning_and_hits_still_work(tmp_path, monkeypatch, resnet, traced,
                                                            capsys, connect, cause):
    path = filled_store(tmp_path / "p.sqlite", resnet, fillers=0)
    monkeypatch.setattr(archviz.store, "_connect", connect)
    store = Store(path)
    assert get_profile("resnet18", store=store) is not resnet and not traced  # a hit
    assert get_profile("resnet18", "1x3x64x64", store=store) is resnet  # a miss: traced, not stored
    assert get_profile("resnet18", "1x3x32x32", store=store) is resnet
    one_warning(capsys, "profile not stored", cause)
    assert store.get(resnet_key()) is not None and store.get(resnet_key("1x3x64x64")) is None


# -- locks: waited for a few seconds, then carried on without ------------------------------------
def test_cli_answers_when_another_process_holds_the_store(tmp_path):
    path = tmp_path / "profiles.sqlite"
    Store(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert_answered(*profile_cli(tmp_path), "busy", "not stored")
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_a_locked_rollback_journal_store_is_skipped_after_the_wait(tmp_path, monkeypatch, traced, capsys):
    path = tmp_path / "p.sqlite"
    conn = sqlite3.connect(path, isolation_level=None)  # not WAL: an exclusive lock blocks readers
    conn.execute(archviz.store._DDL)
    conn.execute(f"PRAGMA user_version = {STORE_SCHEMA}")
    conn.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(archviz.store, "BUSY_SECONDS", 0.5)
    waits = count_waits(monkeypatch)
    try:
        assert get_profile("resnet18", store=Store(path)).totals["params"] == RESNET18_PARAMS
        # the only wait is SQLite's own busy timeout (BUSY_SECONDS, here 0.5 s, on the connection):
        # the store adds no retry loop of its own on top of it, then goes on without the store
        assert waits == []
    finally:
        conn.execute("ROLLBACK")
        conn.close()
    one_warning(capsys, "busy", "not read or stored")


def _error(code, message="x"):
    exc = sqlite3.OperationalError(message)
    exc.sqlite_errorcode = code
    return exc


@pytest.mark.parametrize("code, kind", [(5, "busy"), (6, "busy"), (5 | 1 << 8, "busy"), (517, "busy"),
                                        (11, "corrupt"), (26, "corrupt"), (8, "unusable"),
                                        (13, "unusable"), (14, "unusable"), (3, "unusable"),
                                        (1, "unusable")])
def test_classify_reads_the_primary_result_code(tmp_path, code, kind):
    assert classify(_error(code), tmp_path / "p").kind == kind


@pytest.mark.parametrize("message, kind", [
    ("database is locked", "busy"), ("database table is locked", "busy"),
    ("database disk image is malformed", "corrupt"), ("file is not a database", "corrupt"),
    ("attempt to write a readonly database", "unusable")])
def test_classify_falls_back_to_the_message(tmp_path, message, kind):
    assert classify(sqlite3.OperationalError(message), tmp_path / "p").kind == kind


# -- the service's per-key lock -------------------------------------------------------------------
class CountingLock:
    """Counts entries; `meanwhile` runs inside, as if another thread stored the profile meanwhile."""

    def __init__(self, meanwhile=None):
        self.entered, self.meanwhile = 0, meanwhile

    def __enter__(self):
        self.entered += 1
        if self.meanwhile:
            self.meanwhile()

    def __exit__(self, *exc):
        return False


def test_a_hit_never_takes_the_lock(tmp_path, resnet, traced):
    store = Store(filled_store(tmp_path / "p.sqlite", resnet, fillers=0))
    lock = CountingLock()
    assert get_profile("resnet18", store=store, lock=lock).totals == resnet.totals
    assert lock.entered == 0 and not traced


def test_a_miss_checks_the_store_again_inside_the_lock(tmp_path, resnet, traced):
    store = Store(tmp_path / "p.sqlite")
    lock = CountingLock(lambda: store.put([resnet_key()], resnet, "1x3x224x224"))
    assert get_profile("resnet18", store=store, lock=lock).totals == resnet.totals
    assert lock.entered == 1 and not traced  # stored while we waited: not traced again
    lock = CountingLock()
    assert get_profile("resnet18", "1x3x64x64", store=store, lock=lock) is resnet
    assert lock.entered == 1 and len(traced) == 1


# -- hostile but valid SQLite: views, triggers, endless queries (issue 19, item 5) ----------------
ENDLESS = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) FROM c"


def hostile_store(path, kind):
    conn = sqlite3.connect(path, isolation_level=None)
    if kind == "view":  # the profiles "table" is a view that never ends
        conn.execute("CREATE VIEW profiles(key, model, input, versions, created, data) AS "
                     "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) "
                     "SELECT x, 'm', 'i', 'v', 0.0, x'00' FROM c WHERE x < 0")
    else:  # the real table, with a trigger that never ends on our insert
        conn.execute(archviz.store._DDL)
        conn.execute(f"CREATE TRIGGER t AFTER INSERT ON profiles BEGIN SELECT ({ENDLESS}); END")
    conn.execute(f"PRAGMA user_version = {STORE_SCHEMA}")
    conn.close()


@pytest.mark.parametrize("kind,holds", [("view", "view profiles"), ("trigger", "trigger t")])
def test_a_store_with_a_view_or_trigger_is_another_schema(tmp_path, kind, holds):
    hostile_store(tmp_path / "profiles.sqlite", kind)
    assert_answered(*profile_cli(tmp_path), "moved to", f"another schema: it holds {holds}")
    assert_answered(*profile_cli(tmp_path))  # rebuilt: a clean hit
    aside = [p.name for p in tmp_path.iterdir() if ".bad-" in p.name]
    assert len(aside) == 1


def test_a_query_past_its_bound_is_interrupted(tmp_path, monkeypatch):
    """The progress handler stops SQLite's own work: an endless query fails as an interrupt, which
    the store reads as a damaged file (set aside), never as a wait."""
    monkeypatch.setattr(archviz.store, "QUERY_SECONDS", 0.3)
    conn = archviz.store._connect(tmp_path / "x.sqlite")
    with pytest.raises(sqlite3.OperationalError) as caught:
        conn.execute(ENDLESS).fetchall()
    assert classify(caught.value, tmp_path / "x.sqlite").kind == archviz.store.CORRUPT
    assert conn.execute("SELECT 1").fetchall() == [(1,)]  # the next statement runs on a fresh clock
    conn.close()


# -- blobs that decode but are not profiles (issue 19, item 6) -------------------------------------
def broken(resnet, change):
    data = json.loads(resnet.to_json())
    change(data)
    return data


@pytest.mark.parametrize("change,why", [
    (lambda d: d["totals"].pop("macs"), "has totals without a count for macs"),
    (lambda d: d["totals"].update(params=float("nan")), "not JSON"),  # NaN in the text: refused
    (lambda d: d["totals"].update(params=-3), "has totals without a count for params"),
    (lambda d: d["layers"][3].update(type=None), "has layer row 3 without a name and type"),
    (lambda d: d["layers"][2].update(macs="12"), "has layer row 2 with macs not a finite count"),
    (lambda d: d["graph"][0].update({"in": "x"}), "has graph node 0 that is not an op record"),
    (lambda d: d.update(input_shape=[1, 3, -224, 224]), "input shape that is not a list of sizes"),
], ids=["no-macs", "nan-params", "negative", "row-type", "row-macs", "graph", "shape"])
def test_a_blob_with_bad_figures_is_a_miss_then_replaced(tmp_path, resnet, traced, capsys, change, why):
    path = filled_store(tmp_path / "p.sqlite", resnet, fillers=0)
    write_blob(path, resnet_key(), broken(resnet, change))
    store = Store(path)
    assert store.get(resnet_key()) is None
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and why in err[0] and "treated as a miss" in err[0], err
    assert get_profile("resnet18", store=store) is resnet and len(traced) == 1


def test_a_blob_that_inflates_too_far_is_refused(tmp_path, resnet, monkeypatch, capsys):
    """The cap on the inflated size, counted: a blob of 4 MB of zeros (a few kB compressed) against a
    1 MB cap is refused before it is inflated further (2 GB from 2 MB is the real-world case)."""
    monkeypatch.setattr(archviz.store, "MAX_INFLATED", 2**20)
    path = filled_store(tmp_path / "p.sqlite", resnet, fillers=0)
    conn = sqlite3.connect(path)
    conn.execute("UPDATE profiles SET data = ? WHERE key = ?", (zlib.compress(b" " * (4 * 2**20)), resnet_key()))
    conn.commit()
    conn.close()
    assert Store(path).get(resnet_key()) is None
    assert "inflates past 1 MB" in capsys.readouterr().err


def test_atlas_report_skips_a_row_whose_key_is_not_a_key(tmp_path, resnet):
    path = filled_store(tmp_path / "profiles.sqlite", resnet, fillers=0)
    conn = sqlite3.connect(path)
    conn.execute("INSERT INTO profiles VALUES (?, ?, ?, ?, ?, ?)",
                 ("no-bars-here", "resnet18", "default", "x", 1.0, zlib.compress(resnet.to_json().encode())))
    conn.commit()
    conn.close()
    r = run_cli("report", "--atlas", "-o", str(tmp_path / "atlas.html"), env={"ARCHVIZ_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "'no-bars-here'" in lines[0] and "left out" in lines[0], r.stderr
    assert (tmp_path / "atlas.html").exists()
