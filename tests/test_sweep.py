"""archviz sweep: every pair ends done, skipped or failed with its one-line reason; nothing is lost
or stored twice when models raise, hang in C code past the timeout, or kill their worker; a second
sweep resumes (skips what is stored); the CLI exits 1 when anything failed."""

import os
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from archviz.errors import ArchvizError
from archviz.service import get_profile
from archviz.store import Store
from archviz.sweep import DONE, FAILED, SKIPPED, sweep
from archviz.sweep.executors import DaskExecutor, LocalExecutor, make_executor
from conftest import run_cli

FIXTURE = Path(__file__).parent / "fixtures" / "sweep_models.py"
INPUT = "1x3x64x64"
# torchvision's published parameter counts (weights meta "num_params"): independent of the input
PUBLISHED_PARAMS = {"alexnet": 61_100_840, "resnet18": 11_689_512, "squeezenet1_0": 1_248_424}


def spec(name: str) -> str:
    return f"{FIXTURE}:{name}"


class CountingStore(Store):
    """A store that counts how often each key is written: 'stored twice' shows up here even where
    SQLite's primary key would hide it."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.puts: Counter = Counter()

    def put(self, keys, profile, input_text):
        self.puts.update(keys)
        super().put(keys, profile, input_text)


def rows(store: Store) -> int:
    with sqlite3.connect(store.path) as conn:
        return conn.execute("SELECT count(*) FROM profiles").fetchone()[0]


@pytest.fixture
def markers(tmp_path, monkeypatch):
    """Where the killers note their first attempt; the driver's pid, which they never kill."""
    folder = tmp_path / "markers"
    folder.mkdir()
    monkeypatch.setenv("ARCHVIZ_SWEEP_MARKERS", str(folder))
    monkeypatch.setenv("ARCHVIZ_SWEEP_DRIVER", str(os.getpid()))
    return folder


def outcomes(result) -> dict:
    return {o.model: o for o in result.outcomes}


def assert_catalogue_stored_once(result, store: CountingStore) -> None:
    got = outcomes(result)
    for name, params in PUBLISHED_PARAMS.items():
        assert got[name].status == DONE and got[name].stored, got[name]
        missed = []
        prof = get_profile(name, INPUT, store=store, on_miss=missed.append)  # a hit: read back
        assert missed == [] and prof.totals["params"] == params
    assert set(store.puts.values()) == {1}  # every key written exactly once
    assert len(store.puts) == len(PUBLISHED_PARAMS) == rows(store)  # explicit input: one key each


def test_a_hang_in_c_code_times_out_on_dask_and_is_retried_once(markers, tmp_path):
    """Alone in its sweep, so that the short timeout applies to nothing that must finish."""
    executor = DaskExecutor(workers=1, timeout=4, retries=1)
    result = sweep([spec("hang")], [INPUT], executor=executor, store=CountingStore(tmp_path / "p.sqlite"))
    hung = outcomes(result)[spec("hang")]
    assert (hung.status, hung.error, hung.attempts) == (FAILED, "timed out after 4 s", 2)
    assert not hung.stored and result.exit_code == 1


def test_dask_cluster_loses_nothing_to_raising_and_killed_workers(markers, tmp_path):
    store = CountingStore(tmp_path / "profiles.sqlite")
    factories = [spec(n) for n in ("raiser", "killer", "worker_killer")]
    # a timeout no real model here comes near on a busy machine: this test is about losing nothing
    executor = DaskExecutor(workers=2, timeout=300, retries=1)
    result = sweep([*PUBLISHED_PARAMS, *factories], [INPUT], executor=executor, store=store)

    assert len(result.outcomes) == 6  # nothing lost
    got = outcomes(result)
    assert_catalogue_stored_once(result, store)
    raised = got[spec("raiser")]
    assert raised.status == FAILED and raised.attempts == 1  # a model's own error is not retried
    assert raised.error == (f"building '{spec('raiser')}' failed: ValueError: this model refuses to "
                            "be built | second line")
    killed = got[spec("killer")]
    # its process died on the first attempt and the retry ran it (attempts 2); or, rarely, the
    # finished result was lost with a worker that worker_killer then killed, and Dask ran the task
    # again from scratch (attempts 1): either way it is done, once
    assert killed.status == DONE and killed.attempts in (1, 2), result.outcomes
    assert (markers / "killer").exists()
    # the Dask worker itself was killed mid-task: the nanny replaced it and Dask ran the task again
    assert (markers / "worker_killer").exists() and got[spec("worker_killer")].status == DONE
    assert not any(o.stored for o in result.outcomes if o.model in factories)  # never stored
    assert result.exit_code == 1 and result.count(FAILED) == 1

    again = sweep(list(PUBLISHED_PARAMS), [INPUT], executor=LocalExecutor(1), store=store)
    assert [o.status for o in again.outcomes] == [SKIPPED] * 3  # resumed: nothing profiled
    assert set(store.puts.values()) == {1} and rows(store) == 3 and again.exit_code == 0


def test_local_executor_replaces_a_dead_worker_and_goes_on(markers, tmp_path):
    store = CountingStore(tmp_path / "profiles.sqlite")
    models = [spec("killer"), spec("tiny"), *PUBLISHED_PARAMS]
    result = sweep(models, [INPUT], executor=LocalExecutor(workers=1, timeout=60, retries=0),
                   store=store)
    got = outcomes(result)
    assert got[spec("killer")].status == FAILED
    assert got[spec("killer")].error == "worker process died: killed by signal 9 (SIGKILL)"
    assert got[spec("tiny")].status == DONE and not got[spec("tiny")].stored
    assert_catalogue_stored_once(result, store)
    assert result.exit_code == 1


def test_default_input_is_stored_under_both_keys_as_profile_does(tmp_path):
    """A pair without --input is stored as get_profile stores it: under 'default' and the shape."""
    from archviz.sweep import plan, versions

    store = Store(tmp_path / "profiles.sqlite")
    tasks, skipped = plan(["ResNet18 ", "resnet18"], [None, "3x224x224"], None, store.keys(), versions())
    # one model (names normalised as profile does), two input texts: 'default' and the explicit one
    assert [(t.model, t.input) for t in tasks] == [("resnet18", "default"), ("resnet18", "1x3x224x224")]
    assert skipped == []


def test_cli_sweep_reports_failures_exits_1_then_resumes(markers, tmp_path):
    shape = "1x3x72x72"
    home = {"ARCHVIZ_HOME": str(tmp_path)}  # a store of its own: nothing stored before this test
    first = run_cli("sweep", "resnet18", spec("raiser"), "-i", shape, "--workers", "1", "-q", env=home)
    assert first.returncode == 1, first.stderr
    line = (f"archviz: failed {spec('raiser')} @ {shape}: building '{spec('raiser')}' failed: "
            "ValueError: this model refuses to be built | second line")
    assert first.stderr.strip() == line  # one line, no traceback
    assert "local, 1 worker process" in first.stdout
    assert status_counts(first.stdout) == {"done": 1, "skipped": 0, "failed": 1}
    second = run_cli("sweep", "resnet18", "-i", shape, "-q", env=home)
    assert second.returncode == 0, second.stderr
    assert status_counts(second.stdout) == {"done": 0, "skipped": 1, "failed": 0}


def status_counts(summary: str) -> dict:
    """The summary table's status rows: 'done  1  profiled and stored' -> {'done': 1}."""
    out = {}
    for line in summary.splitlines():
        words = line.split()
        if len(words) >= 2 and words[0] in (DONE, SKIPPED, FAILED) and words[1].isdigit():
            out[words[0]] = int(words[1])
    return out


def test_bad_requests_are_one_line_before_any_work():
    bad = run_cli("sweep", "resnt18")
    assert bad.returncode == 2 and bad.stderr.startswith("archviz: error: unknown model 'resnt18'")
    assert len(bad.stderr.strip().splitlines()) == 1
    with pytest.raises(ArchvizError, match="--scheduler needs --executor dask"):
        make_executor("local", 1, None, 0, scheduler="tcp://127.0.0.1:8786")
    unreachable = DaskExecutor(scheduler="tcp://127.0.0.1:9", connect_seconds=1)
    with pytest.raises(ArchvizError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        unreachable.map([object()], lambda r: None)


def test_progress_bar_shows_done_failed_and_the_failure_line_on_a_terminal():
    import io

    from rich.console import Console

    from archviz.render.sweep import SweepDisplay
    from archviz.sweep import Outcome

    out = io.StringIO()
    term = Console(file=out, force_terminal=True, width=120, color_system=None)
    with SweepDisplay(console=term) as display:
        display.planned(2, 5)
        display.finished(Outcome("resnet18", "default", DONE, 1, 1.5, stored=True))
        display.finished(Outcome("vgg16", "1x3x32x32", FAILED, 1, 0.2, error="tracing failed"))
        display._progress.refresh()
    text = out.getvalue()
    assert "archviz: failed vgg16 @ 1x3x32x32: tracing failed" in text
    assert "2/2" in text and "1 failed" in text and "5 already stored" in text
    quiet = SweepDisplay(quiet=True, console=term)
    quiet.planned(2, 0)
    assert quiet._progress is None  # --quiet: no bar (failures still go to stderr as lines)


def test_plan_runs_the_largest_models_first():
    """Longest-processing-time order from torchvision's own published GFLOPS (weights meta), scaled
    by the input's pixels; a model of unknown cost (a timm spec) goes first."""
    from torchvision.models import get_model_weights

    from archviz.sweep import plan, versions

    names = ["alexnet", "resnet18", "vgg16", "timm:resnet10t"]
    tasks, _ = plan(names, ["1x3x224x224", "1x3x448x448"], None, set(), versions())
    gflops = {n: get_model_weights(n).DEFAULT.meta["_ops"] for n in names[:3]}
    cost = {(n, s): g * (s // 224) ** 2 for n, g in gflops.items() for s in (224, 448)}
    want = sorted(cost, key=lambda k: -cost[k])
    got = [(t.model, int(t.input.split("x")[-1])) for t in tasks]
    assert got[:2] == [("timm:resnet10t", 224), ("timm:resnet10t", 448)]
    assert got[2:] == want and got[2] == ("vgg16", 448)


def stray_processes() -> list:
    """Live processes a spawner fixture started: its sleeps and its forked python (by argument)."""
    import psutil

    from fixtures.sweep_models import SLEEP_ARG

    found = []
    for p in psutil.process_iter(["cmdline", "status"]):
        cmd = p.info["cmdline"] or []
        if p.info["status"] != psutil.STATUS_ZOMBIE and (SLEEP_ARG in cmd or f"forked-{SLEEP_ARG}" in cmd):
            found.append(p)
    return found


@pytest.mark.parametrize("executor,models", [
    (lambda: LocalExecutor(workers=1, timeout=4, retries=0), ["spawner"]),  # timed out
    (lambda: LocalExecutor(workers=1, timeout=300, retries=0), ["spawner_done"]),  # finished
    (lambda: DaskExecutor(workers=1, timeout=300, retries=1), ["spawner_worker_killer"]),  # worker killed
])
def test_a_sweep_leaves_no_process_behind(markers, tmp_path, executor, models):
    assert stray_processes() == []
    result = sweep([spec(m) for m in models], [INPUT], executor=executor(), store=CountingStore(tmp_path / "p.sqlite"))
    assert len(result.outcomes) == 1
    assert stray_processes() == []  # counted: none of the 25 + 1 (or 5 + 1) is left
