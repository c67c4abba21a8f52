"""The SQLite profile store: hits skip tracing, corrupt or old files are rebuilt, writers don't collide."""

import sqlite3
import subprocess
import sys


import archviz.profiler
from archviz.service import get_profile
from archviz.store import Store


def test_cache_hit_returns_same_numbers_without_tracing(tmp_path, monkeypatch):
    store = Store(tmp_path / "p.sqlite")
    first = get_profile("resnet18", store=store)

    def no_trace(*a, **k):
        raise AssertionError("traced on a cache hit")

    monkeypatch.setattr(archviz.profiler, "profile", no_trace)
    again = get_profile("resnet18", store=store)
    assert again.totals == first.totals and again.layers == first.layers
    # the explicit shape is a hit too
    assert get_profile("resnet18", "1x3x224x224", store=store).totals == first.totals


def test_no_cache_traces_again(tmp_path, monkeypatch):
    calls = []
    real = archviz.profiler.profile
    monkeypatch.setattr(archviz.profiler, "profile", lambda *a, **k: calls.append(1) or real(*a, **k))
    get_profile("alexnet", use_cache=False)
    get_profile("alexnet", use_cache=False)
    assert len(calls) == 2


def test_corrupted_store_is_set_aside_and_rebuilt(tmp_path, capsys):
    path = tmp_path / "p.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    store = Store(path)
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "moved to" in err
    assert list(tmp_path.glob("p.sqlite.bad-*"))
    assert get_profile("resnet18", store=store).totals["params"] == 11_689_512


def test_old_schema_is_rebuilt(tmp_path, capsys):
    path = tmp_path / "p.sqlite"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE profiles (key TEXT)")
    conn.execute("PRAGMA user_version = 3")
    conn.commit()
    conn.close()
    Store(path)
    assert "schema 3" in capsys.readouterr().err


def test_two_processes_profiling_at_once_lose_nothing(tmp_path):
    path = tmp_path / "p.sqlite"
    code = ("import sys, warnings; warnings.simplefilter('ignore');"
            "from archviz.store import Store; from archviz.service import get_profile;"
            "s = Store(sys.argv[1]); [get_profile(m, store=s) for m in sys.argv[2:]]")
    groups = [["alexnet", "resnet18"], ["googlenet", "resnet34"], ["squeezenet1_0", "mnasnet0_5"],
              ["mobilenet_v2", "vgg11"]]
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path), *models], stderr=subprocess.PIPE,
                              text=True) for models in groups]
    errors = [p.communicate(timeout=600)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert not any("moved to" in e for e in errors), errors  # a busy store is never taken for corrupt
    stored = {m for m, _ in Store(path).models()}
    assert stored == {m for g in groups for m in g}
