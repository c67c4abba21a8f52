"""A fast start and visible progress: with a warm catalogue snapshot the quick commands never import
torch; the snapshot follows the installed versions and survives an unusable home; the progress line
shows only on a terminal."""

import io
import json
import os
import subprocess
import sys
import time

import pytest
from rich.console import Console

from archviz import catalog
from archviz.catalog import Snapshot, load_snapshot
from archviz.progress import stage_reporter
from conftest import FIXTURES, run_cli

# Runs the CLI in-process, then says whether torch (or torchvision) was imported on the way.
IN_PROCESS = """
import sys
from archviz.cli import app
sys.argv = ["archviz", *sys.argv[1:]]
try:
    app()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("torch", "torchvision", "pandas", "plotly", "dash") if m in sys.modules)
print(f"\\nRC={code} HEAVY={','.join(heavy) or 'none'}")
"""


@pytest.fixture(scope="module")
def warm_snapshot(archviz_home):
    """The session home's snapshot, written once (this process may import torch, children not)."""
    load_snapshot()
    assert (archviz_home / catalog.SNAPSHOT_FILE).is_file()


def run_in_process(*args):
    env = {**os.environ, "COLUMNS": "250"}  # wide enough that the history table shows every figure
    r = subprocess.run([sys.executable, "-c", IN_PROCESS, *args], capture_output=True, text=True,
                       env=env, timeout=120)
    rc, heavy = r.stdout.splitlines()[-1].split()
    return r, int(rc.split("=")[1]), heavy.split("=")[1]


@pytest.mark.parametrize("args", [["list"], ["list", "--all"], ["--help"], ["profile", "--help"]])
def test_quick_commands_import_no_torch(warm_snapshot, args):
    r, rc, heavy = run_in_process(*args)
    assert rc == 0, r.stderr
    assert heavy == "none", r.stdout
    assert r.stderr == ""


def test_list_shows_published_figures_from_the_snapshot(warm_snapshot):
    r, _, _ = run_in_process("list")
    assert "ResNet-50" in r.stdout and "25,557,032" in r.stdout  # torchvision's num_params
    r, _, _ = run_in_process("list", "--all")
    assert "resnet50  (history)" in r.stdout and "convnext_tiny" in r.stdout


def test_unknown_name_suggests_without_torch(warm_snapshot):
    r, rc, heavy = run_in_process("profile", "resnet51")
    assert (rc, heavy) == (2, "none"), r.stderr
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("archviz: error:") and "closest: resnet50" in lines[0]


# -- the snapshot ----------------------------------------------------------------------------------
@pytest.fixture
def fake_build(monkeypatch):
    """torchvision replaced by a two-model catalogue; records the versions each build was for."""
    builds = []

    def build(versions):
        builds.append(dict(versions))
        return Snapshot(dict(versions), ("alexnet", "resnet50"), {"resnet50": {"num_params": 1}})

    monkeypatch.setattr(catalog, "build_snapshot", build)
    return builds


def test_snapshot_is_built_once_then_read(tmp_path, fake_build):
    path = tmp_path / "snap.json"
    first, again = load_snapshot(path), load_snapshot(path)
    assert len(fake_build) == 1
    assert again == first and again.names == ("alexnet", "resnet50")
    assert again.published["resnet50"] == {"num_params": 1}


def test_snapshot_is_rebuilt_when_the_versions_change(tmp_path, fake_build, monkeypatch):
    path = tmp_path / "snap.json"
    monkeypatch.setattr(catalog, "catalogue_versions", lambda: {"torch": "1", "torchvision": "1"})
    load_snapshot(path)
    monkeypatch.setattr(catalog, "catalogue_versions", lambda: {"torch": "1", "torchvision": "2"})
    assert load_snapshot(path).versions["torchvision"] == "2"
    load_snapshot(path)
    assert [b["torchvision"] for b in fake_build] == ["1", "2"]
    assert json.loads(path.read_text())["versions"] == {"torch": "1", "torchvision": "2"}


@pytest.mark.parametrize("content", ["not json", "null", '{"format": 1}', '{"names": []}'])
def test_a_damaged_snapshot_is_rebuilt(tmp_path, fake_build, content):
    path = tmp_path / "snap.json"
    path.write_text(content)
    assert load_snapshot(path).names == ("alexnet", "resnet50") and len(fake_build) == 1
    assert json.loads(path.read_text())["names"] == ["alexnet", "resnet50"]


def test_an_unwritable_place_builds_each_time(tmp_path, fake_build, capsys):
    home = tmp_path / "home"
    home.write_text("a file where the folder should be")
    assert load_snapshot(home / "snap.json").names == ("alexnet", "resnet50")
    assert load_snapshot(home / "snap.json").names == ("alexnet", "resnet50")
    assert len(fake_build) == 2 and capsys.readouterr().err == ""


def test_list_answers_when_archviz_home_is_a_file(tmp_path):
    home = tmp_path / "home"
    home.write_text("not a folder")
    r = run_cli("list", env={"ARCHVIZ_HOME": str(home), "COLUMNS": "250"})
    assert r.returncode == 0, r.stderr
    assert "ResNet-50" in r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) <= 1 and all(line.startswith("archviz: warning:") for line in lines), lines


# -- progress --------------------------------------------------------------------------------------
STAGES = ("building", "tracing", "analysing", "rendering")


def report_all(console, delay=0.0, quiet=False):
    with stage_reporter(quiet=quiet, console=console, delay=delay) as report:
        for stage in STAGES:
            report(stage)
            time.sleep(0.25)


def test_progress_is_silent_off_a_terminal():
    out = io.StringIO()
    report_all(Console(file=out, force_terminal=False))
    assert out.getvalue() == ""


def test_progress_is_silent_when_quiet():
    out = io.StringIO()
    report_all(Console(file=out, force_terminal=True), quiet=True)
    assert out.getvalue() == ""


def test_progress_shows_stage_names_on_a_terminal():
    out = io.StringIO()
    report_all(Console(file=out, force_terminal=True, width=80))
    shown = out.getvalue()
    for stage in STAGES:
        assert stage in shown
    assert " s" in shown  # the elapsed time


def test_quick_work_shows_nothing_even_on_a_terminal():
    out = io.StringIO()
    with stage_reporter(console=Console(file=out, force_terminal=True), delay=1.0) as report:
        report("building")
    assert out.getvalue() == ""


def test_stderr_not_a_terminal_by_default(capsys):
    with stage_reporter() as report:
        report("building")
    assert capsys.readouterr().err == ""


def test_the_profiler_reports_its_stages():
    from archviz.service import get_profile, get_profiles

    toy = f"{FIXTURES / 'toy_models.py'}:hand_cnn"
    seen = []
    get_profile(toy, "1x3x16x16", progress=seen.append)
    assert seen == ["building", "tracing", "analysing", "metering memory"]
    seen.clear()
    get_profiles([toy, f"{FIXTURES / 'toy_models.py'}:two_branch"], "1x3x16x16", progress=seen.append)
    assert seen[0] == f"building {toy}" and len(seen) == 8  # four stages each
