"""Files under ARCHVIZ_HOME are data: a cached file that names code, holds a FIFO, or carries values
archviz never writes is refused, made again with one warning, and never imported or waited on
(issue 19, items 1 and 4)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import FIXTURES  # noqa: F401  (tests/ on sys.path for the children too)

CHILD_TIMEOUT = 120  # a guard against a hang (a FIFO read blocks forever), not a speed goal


def run_py(code: str, home: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "ARCHVIZ_HOME": str(home)}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          timeout=CHILD_TIMEOUT)


def warnings_of(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in r.stderr.splitlines() if line.startswith("archviz: warning:")]


@pytest.fixture
def real_snapshot(archviz_home) -> dict:
    from archviz.catalog import snapshot

    snapshot()  # the session's home has one once the catalogue was read
    return json.loads((archviz_home / "catalog-snapshot.json").read_text())


def test_a_snapshot_naming_code_never_runs_it(real_snapshot, tmp_path):
    marker = tmp_path / "ran"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\ndef build():\n    return None\n")
    forged = {**real_snapshot, "names": [*real_snapshot["names"], "evil.py:build", str(tmp_path / "evil.py") + ":build"]}
    home = tmp_path / "home"
    home.mkdir()
    (home / "catalog-snapshot.json").write_text(json.dumps(forged))
    r = run_py("import os; os.chdir(%r)\n"
               "from archviz.dashboard import logic\n"
               "for name in ('evil.py:build', %r):\n"
               "    print(logic.explore(name, None)['error'])\n"
               "print('evil.py:build' in logic.catalogue(), len(logic.catalogue()))" % (str(tmp_path), str(tmp_path / "evil.py") + ":build"),
               home)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert all("not a catalogue model" in line for line in lines[:2]), lines
    assert lines[2] == f"False {len(real_snapshot['names']) + len(__import__('archviz.catalog').catalog.PAPER_HISTORY)}"
    assert not marker.exists()  # never imported
    warned = warnings_of(r)
    assert len(warned) == 1 and "catalog-snapshot.json" in warned[0] and "'evil.py:build' is not a catalogue name" in warned[0]
    rebuilt = json.loads((home / "catalog-snapshot.json").read_text())
    assert rebuilt["names"] == real_snapshot["names"]  # made again from torchvision


@pytest.mark.parametrize("change,words", [
    (lambda s: s["published"]["resnet18"].update({"num_params": float("nan")}), "not JSON"),  # NaN refused
    (lambda s: s["published"]["resnet18"].update({"gflops": -1}), "gflops = -1 is out of range"),
    (lambda s: s["published"]["resnet18"].update({"acc@1": "69%"}), "acc@1"),
    (lambda s: s["published"].update({"os:system": {}}), "not a listed name"),
])
def test_snapshot_values_are_checked(real_snapshot, tmp_path, change, words):
    forged = json.loads(json.dumps(real_snapshot))
    change(forged)
    (tmp_path / "catalog-snapshot.json").write_text(json.dumps(forged))
    r = run_py("from archviz.catalog import published; print(published('resnet18')['num_params'])", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "11689512"  # torchvision's figure, read again
    warned = warnings_of(r)
    assert len(warned) == 1 and words in warned[0], warned


@pytest.mark.parametrize("name", ["min-input-size.json", "peaks.json", "catalog-snapshot.json"])
def test_a_fifo_in_place_of_a_cache_is_refused_at_once(tmp_path, name):
    os.mkfifo(tmp_path / name)
    r = run_py("from archviz import min_size\n"
               "from archviz.measure import peaks\n"
               "from archviz.catalog import torchvision_models\n"
               "print(min_size.kept('vgg16'), peaks.read_cache(), len(torchvision_models()) > 70)", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "None {} True"
    warned = warnings_of(r)
    assert len(warned) == 1 and name in warned[0] and "not a regular file" in warned[0], warned


@pytest.mark.parametrize("content,words", [
    ({"cpu: x|float32|threads=1": {"flops": -5.0, "bytes_per_s": 1e10}}, "not finite positive"),
    ({"cpu: x|float32|threads=1": {"flops": 1e400, "bytes_per_s": 1e10}}, "not finite positive"),  # 1e400 in the text
    ({"cpu: x|float32|threads=1": {"flops": "1e11", "bytes_per_s": 1e10}}, "not finite positive"),
    ([1, 2], "not a JSON object"),
])
def test_peaks_values_are_checked(tmp_path, content, words):
    (tmp_path / "peaks.json").write_text(json.dumps(content).replace("1e+400", "1e400").replace("Infinity", "1e400"))
    r = run_py("from archviz.measure import peaks; print(peaks.read_cache())", tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "{}", r.stderr
    warned = warnings_of(r)
    assert len(warned) == 1 and words in warned[0], warned


def test_min_size_entries_are_checked(tmp_path):
    from archviz.min_size import _versions_key

    good = {"pixels": 32, "every_size": True, "reason": ""}
    for sizes, words in (({"vgg16": {**good, "pixels": 10**9}}, "pixels 1000000000 is out of range"),
                         ({"vgg16": {**good, "pixels": True}}, "out of range"),
                         ({"../evil": good}, "is not a catalogue name")):
        (tmp_path / "min-input-size.json").write_text(json.dumps({"versions": _versions_key(), "sizes": sizes}))
        r = run_py("from archviz import min_size; print(min_size.kept('vgg16'))", tmp_path)
        assert r.returncode == 0 and r.stdout.strip() == "None", r.stderr
        warned = warnings_of(r)
        assert len(warned) == 1 and words in warned[0], warned
    (tmp_path / "min-input-size.json").write_text(json.dumps({"versions": _versions_key(), "sizes": {"vgg16": good}}))
    r = run_py("from archviz import min_size; print(min_size.kept('vgg16').pixels)", tmp_path)
    assert r.stdout.strip() == "32" and warnings_of(r) == []  # a sound file is read as it is


def test_timm_table_is_checked(tmp_path):
    pytest.importorskip("timm")
    from archviz.catalog import TIMM_ATLAS_FORMAT, _timm_versions

    table = {"format": TIMM_ATLAS_FORMAT, "versions": _timm_versions(),
             "metas": {"resnet10t": {"year": 99999, "name": "timm:resnet10t"}}}
    (tmp_path / "timm-atlas.json").write_text(json.dumps(table))
    r = run_py("from archviz.catalog import timm_atlas_meta; print(timm_atlas_meta('resnet10t')['year'])", tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "2015"  # ResNet's paper, read from timm again
    warned = warnings_of(r)
    assert len(warned) == 1 and "year 99999 is out of range" in warned[0], warned
