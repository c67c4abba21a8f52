"""Throughput against batch size and `archviz bench` (issue 22): timm benchmark.py's columns with
timm's own rules (fvcore at batch 1, parameters in millions), the CSV read by pandas, the curve,
and `archviz peaks`. No test asserts a duration."""

from __future__ import annotations

import io
import json

import pytest

from archviz.errors import ArchvizError
from archviz.measure.throughput import TIMM_COLUMNS, bench_row, parse_batches
from conftest import run_cli, torchvision_meta

TOY = __file__.replace("test_throughput.py", "toy_measure.py")


def test_parse_batches():
    assert parse_batches("64,1, 8,32,8") == [1, 8, 32, 64]
    for bad in ("", "0,2", "a", "1.5", "-1", ",".join(str(i) for i in range(1, 14)), "99999999"):
        with pytest.raises(ArchvizError):
            parse_batches(bad)


def test_bench_row_follows_timms_rules():
    """timm's benchmark.py: param_count = round(params / 1e6, 2); gmacs and macts from fvcore's
    FlopCountAnalysis and ActivationCountAnalysis of one sample, / 1e9 and / 1e6, rounded to 2;
    samples/s = batch / step time. The references here are torchvision's meta and fvcore run
    directly, as timm runs it."""
    import torch
    import torchvision
    from fvcore.nn import ActivationCountAnalysis, FlopCountAnalysis

    from archviz.service import get_profile

    prof = get_profile("resnet18", "1x3x224x224")
    point = {"batch": 8, "latency_ms": 40.0, "samples_per_s": 200.0, "grade": "good",
             "eager": {"ci_pct": 3.21}}
    row = bench_row("resnet18", prof, point, {"device": "cpu: x", "dtype": "float32", "threads": 2})
    assert list(row)[:len(TIMM_COLUMNS)] == list(TIMM_COLUMNS)
    assert row["param_count"] == round(torchvision_meta("resnet18")["num_params"] / 1e6, 2) == 11.69
    model = torchvision.models.resnet18().eval()
    x = torch.zeros(1, 3, 224, 224)
    flops = FlopCountAnalysis(model, x)
    flops.unsupported_ops_warnings(False)
    acts = ActivationCountAnalysis(model, x)
    acts.unsupported_ops_warnings(False)
    assert row["infer_gmacs"] == round(flops.total() / 1e9, 2)
    assert row["infer_macts"] == round(acts.total() / 1e6, 2)
    assert (row["infer_img_size"], row["infer_batch_size"], row["infer_step_time"]) == (224, 8, 40.0)
    assert row["infer_samples_per_sec"] == 200.0 and row["quality"] == "good" and row["infer_step_time_ci_pct"] == 3.21


def test_cli_bench_csv_loads_in_pandas_under_timms_names(tmp_path):
    import pandas as pd

    out = tmp_path / "results.csv"
    res = run_cli("bench", f"{TOY}:toy", "-i", "1x64", "--batch", "1,4", "--repeat", "6", "--max-time", "0.5",
                  "--threads", "1", "-o", str(out), "-q")
    assert res.returncode == 0, res.stderr
    df = pd.read_csv(out)
    assert list(df.columns[:len(TIMM_COLUMNS)]) == list(TIMM_COLUMNS)
    assert list(df["infer_batch_size"]) == [1, 4] and len(df) == 2
    for col in TIMM_COLUMNS[1:]:
        assert pd.api.types.is_numeric_dtype(df[col]), col
    # samples/s = batch / step time; the step time is rounded to 0.001 ms as timm rounds it
    for b, t, rate in zip(df["infer_batch_size"], df["infer_step_time"], df["infer_samples_per_sec"]):
        assert b / ((t + 0.0005) / 1000) - 0.01 <= rate <= b / (max(t - 0.0005, 1e-9) / 1000) + 0.01
    params = 64 * 128 + 128 + 128 * 10 + 10
    assert (df["param_count"] == round(params / 1e6, 2)).all()
    assert (df["infer_gmacs"] == round((64 * 128 + 128 * 10) / 1e9, 2)).all()
    assert set(df["quality"]) <= {"good", "fair", "noisy"}
    stdout = run_cli("bench", f"{TOY}:toy", "-i", "1x64", "--batch", "2", "--repeat", "6", "--max-time", "0.3", "-q")
    assert stdout.returncode == 0 and pd.read_csv(io.StringIO(stdout.stdout))["infer_batch_size"].tolist() == [2]


@pytest.mark.parametrize("args,words", [
    (["--batch", "0"], "--batch '0': each batch from 1"),
    (["--batch", "x"], "expected batch sizes"),
    (["-o", "out.txt"], "must end in .csv"),
    (["--dtype", "int8"], "--dtype 'int8'"),
])
def test_cli_bench_bad_input_is_one_line(args, words, tmp_path):
    res = run_cli("bench", f"{TOY}:toy", "-i", "1x64", *args, cwd=tmp_path)
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and words in res.stderr, res.stderr
    assert not (tmp_path / "out.txt").exists()


def test_throughput_curve():
    from archviz.render import charts
    from archviz.service import get_profile
    from synthetic_measure import synthetic_measure

    p = synthetic_measure(get_profile("resnet18"))
    p.measurement["throughput"] = [
        {"batch": b, "latency_ms": ms, "samples_per_s": b / (ms / 1e3), "grade": g, "reasons": [],
         "eager": {"ci": [ms * 0.98, ms * 1.03], "ci_pct": 3.0}}
        for b, ms, g in ((1, 10.0, "good"), (8, 40.0, "noisy"), (32, 120.0, "good"))]
    fig = charts.throughput(p)
    lat, rate = fig["data"]
    assert lat["x"] == [1, 8, 32] and lat["y"] == [10.0, 40.0, 120.0]
    assert rate["y"] == pytest.approx([100.0, 200.0, 32 / 0.12])
    assert lat["error_y"]["array"] == pytest.approx([0.3, 1.2, 3.6])
    assert lat["marker"]["symbol"] == ["circle", "circle-open", "circle"]
    assert "1 of 3 batches" in fig["layout"]["title"]["text"]
    from archviz.render.report import render_html

    html = render_html([p], command="archviz report resnet18 --measure --batch 1,8,32")
    assert '"chart-throughput-0"' in html and "Throughput: the whole model timed" in html
    empty = charts.throughput(synthetic_measure(get_profile("resnet18")))
    assert empty["data"] == [] and "--batch 1,8,32,64" in empty["layout"]["annotations"][0]["text"]


def test_report_batch_needs_measure(tmp_path):
    res = run_cli("report", "resnet18", "--batch", "1,8", "-o", str(tmp_path / "r.html"))
    assert res.returncode == 2 and res.stderr.count("\n") == 1 and "add --measure" in res.stderr


def test_cli_peaks_measure_then_show(tmp_path):
    env = {"ARCHVIZ_HOME": str(tmp_path)}
    empty = run_cli("peaks", env=env)
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1 and "archviz peaks --measure" in empty.stderr
    res = run_cli("peaks", "--measure", "--runs", "2", "--threads", "1", env=env)
    assert res.returncode == 0, res.stderr
    assert "compute" in res.stdout and "memory   DRAM (main memory" in res.stdout and "runs spread" in res.stdout
    kept = json.loads((tmp_path / "peaks.json").read_text())
    (key, entry), = kept.items()
    assert key.endswith("|float32|threads=1") and entry["runs"] == 2 and entry["roofs"][-1]["level"] == "DRAM"
    shown = run_cli("peaks", env=env)
    assert shown.returncode == 0 and key in shown.stdout
