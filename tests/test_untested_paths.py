"""Paths no test walked before (issue 25, item 5): fvcore's own total against the profile's
`fvcore_macs`, the sweep's selection and retry flags through the CLI, `report --measure`, the
dashboard's real measuring job, `--rankdir`, `--dtype float16`, and the dashboard's `--host` and
`--backlog` reaching the server."""

from __future__ import annotations

import re

import pytest
import torch

from conftest import run_cli

TOY = __file__.replace("test_untested_paths.py", "toy_measure.py")
SWEEP_FIXTURE = __file__.replace("test_untested_paths.py", "fixtures/sweep_models.py")


@pytest.mark.parametrize("name", ["resnet18", "googlenet", "densenet121"])
def test_fvcore_macs_equal_fvcores_own_total(history_profiles, name):
    """fvcore's FlopCountAnalysis on torchvision's own model (its "flops" are multiply-adds): the
    profile's `fvcore_macs` total is the same number."""
    import torchvision
    from fvcore.nn import FlopCountAnalysis

    model = torchvision.models.get_model(name, weights=None).eval()
    analysis = FlopCountAnalysis(model, torch.zeros(1, 3, 224, 224))
    analysis.unsupported_ops_warnings(False).uncalled_modules_warnings(False).tracer_warnings("none")
    assert history_profiles[name].totals["fvcore_macs"] == analysis.total()


def test_sweep_history_through_the_cli_skips_what_is_stored(history_profiles):
    """--history selects the 14 history models; the session's store holds each (history_profiles),
    so all 14 are skipped, and the exit code is 0."""
    r = run_cli("sweep", "--history", "--quiet")
    assert r.returncode == 0, r.stderr
    assert re.search(r"skipped\s+14\s+already in the store", r.stdout), r.stdout
    assert re.search(r"done\s+0", r.stdout) and re.search(r"failed\s+0", r.stdout)


def test_sweep_selection_flags(monkeypatch):
    from archviz.catalog import HISTORY, torchvision_models
    from archviz.sweep import select_models

    assert select_models(history=True) == list(HISTORY)
    everything = select_models(["vgg16"], history=True, torchvision=True)
    assert everything[0] == "vgg16" and len(everything) == len(set(everything))
    assert set(everything) == {"vgg16", *HISTORY, *torchvision_models()}
    timm = pytest.importorskip("timm")
    assert select_models(timm_pattern="resnet1*t") == [f"timm:{n}" for n in timm.list_models("resnet1*t")]


def test_sweep_timeout_and_retries_through_the_cli(tmp_path):
    """A model that hangs in C code: --timeout 3 --retries 1 kills it twice and says so; exit 1."""
    r = run_cli("sweep", f"{SWEEP_FIXTURE}:hang", "--input", "1x3x64x64", "--timeout", "3", "--retries", "1",
                "--workers", "1", "--quiet", env={"ARCHVIZ_HOME": str(tmp_path)})
    assert r.returncode == 1, (r.stdout, r.stderr)
    assert re.search(r"failed\s+1", r.stdout) and "timed out after 3 s" in r.stdout
    assert r.stderr.strip() == f"archviz: failed {SWEEP_FIXTURE}:hang @ 1x3x64x64 (2 attempts): timed out after 3 s"


def test_report_measure_through_the_cli(tmp_path):
    out = tmp_path / "toy.html"
    r = run_cli("report", f"{TOY}:toy", "--input", "2x64", "--measure", "-o", str(out),
                env={"ARCHVIZ_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    text = out.read_text()
    assert 'id="measured"' in text and "Measured on cpu" in text and "chart-roofline-0" in text


def test_the_dashboards_real_measuring_job(tmp_path, monkeypatch):
    """The job the History page's button starts, with the real measurement (not a fake), on one
    small catalogue model, into a store of its own."""
    import archviz.dashboard.logic as logic
    from archviz.store import Store

    store = Store(tmp_path / "p.sqlite")
    monkeypatch.setattr(logic, "shared_store", lambda: store)
    job = logic.MeasureJob(["squeezenet1_1"])
    assert job.start() is True
    job._thread.join(timeout=600)  # a guard against a hang
    assert job.status.startswith("Measured 1 models in"), job.status
    stored = logic.measured_profile("squeezenet1_1")
    assert stored is not None and stored.measurement["device"].startswith("cpu")
    leaves = [r for r in stored.layers if r["leaf"]]
    assert all(r["latency_ms"] is not None for r in leaves)


def test_diagram_rankdir_left_to_right(tmp_path):
    out = tmp_path / "a.dot"
    r = run_cli("diagram", "alexnet", "--rankdir", "LR", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "rankdir=LR;" in out.read_text() and "rankdir=TB" not in out.read_text()


def test_measure_in_float16(tmp_path):
    import json

    r = run_cli("profile", f"{TOY}:toy", "--input", "2x64", "--measure", "--dtype", "float16", "--repeat", "3",
                "--peak-flops", "1T", "--peak-bandwidth", "100G", "-f", "json", env={"ARCHVIZ_HOME": str(tmp_path)})
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["measurement"]["dtype"] == "float16"
    first = next(row for row in data["layers"] if row["name"] == "0")  # Linear(64, 128) in float16
    assert first["bytes"] == (128 * 64 + 128) * 2 + 2 * 64 * 2 + 2 * 128 * 2  # weights, input, output at 2 B


def test_dashboard_host_and_backlog_reach_the_server(monkeypatch):
    from typer.testing import CliRunner

    import archviz.dashboard.serve as serve_mod
    from archviz.cli import app

    got = {}
    monkeypatch.setattr(serve_mod, "serve", lambda app_, options: got.update(options=options))
    result = CliRunner().invoke(app, ["dashboard", "--host", "127.0.0.2", "--port", "8099", "--backlog", "64",
                                      "--threads", "3"])
    assert result.exit_code == 0, result.output
    o = got["options"]
    assert (o.host, o.port, o.backlog, o.threads) == ("127.0.0.2", 8099, 64, 3)
