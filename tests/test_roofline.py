"""Measured speed (issue 13): the roofline, the report's Measured section and the History
counted-vs-measured figure, on SYNTHETIC measured profiles (tests/synthetic_measure.py)."""

from __future__ import annotations


import pytest

from archviz.render import charts
from synthetic_measure import PEAKS, synthetic_measure


@pytest.fixture(scope="module")
def plain():
    from archviz.service import get_profile

    return get_profile("resnet18")


@pytest.fixture(scope="module")
def measured(plain):
    return synthetic_measure(plain)


def _roof_traces(fig):
    return {t["name"].split(":")[0]: t for t in fig["data"] if t["name"].endswith("/s")}


def test_roofs_by_hand(measured):
    fig = charts.roofline([measured])
    roofs = _roof_traces(fig)
    mem, comp = roofs["DRAM roof"], roofs["compute roof"]
    ridge = PEAKS["flops"] / PEAKS["bytes_per_s"]  # 5 FLOP/B
    assert charts.ridge_of(PEAKS) == pytest.approx(ridge)
    assert mem["x"][-1] == pytest.approx(ridge) and comp["x"][0] == pytest.approx(ridge)
    for x, y in zip(mem["x"], mem["y"]):
        assert y == pytest.approx(PEAKS["bytes_per_s"] * x)  # memory roof: y = bandwidth × x
    assert comp["y"] == [PEAKS["flops"], PEAKS["flops"]]
    assert charts.roof_at(2.0, PEAKS) == pytest.approx(4e10) and charts.roof_at(50, PEAKS) == pytest.approx(1e11)
    assert fig["layout"]["xaxis"]["type"] == "log" and fig["layout"]["yaxis"]["type"] == "log"


def test_points_one_per_measured_leaf(measured):
    fig = charts.roofline([measured])
    points = [t for t in fig["data"] if t["mode"] == "markers"]
    names = [n for t in points for n in t["customdata"]]
    leaves = [r["name"] for r in measured.layers if r["leaf"] and r["latency_ms"] is not None]
    assert sorted(names) == sorted(leaves) and len(names) == len(set(names))
    by_name = {r["name"]: r for r in measured.layers}
    for t in points:
        for name, x, y, size in zip(t["customdata"], t["x"], t["y"], t["marker"]["size"]):
            assert x == by_name[name]["intensity"] and y == by_name[name]["achieved_flops"]
            assert size > 0
    # a bigger share of latency draws a bigger dot
    flat = sorted((by_name[n]["latency_ms"], s) for t in points for n, s in zip(t["customdata"], t["marker"]["size"]))
    assert [s for _, s in flat] == sorted(s for _, s in flat)


def test_layers_off_log_axes_are_counted_in_a_note(measured):
    import copy

    p = copy.deepcopy(measured)
    row = p.layer("avgpool")
    row.update(flops=0, intensity=0.0, achieved_flops=0.0)
    fig = charts.roofline([p])
    names = [n for t in fig["data"] if t["mode"] == "markers" for n in t["customdata"]]
    assert "avgpool" not in names
    assert any("not drawn: 1 layer with" in a["text"] for a in fig["layout"]["annotations"])


def test_colours_by_block_kind(measured):
    fig = charts.roofline([measured])
    points = {t["name"]: t for t in fig["data"] if t["mode"] == "markers"}
    kinds = {b["name"]: b["kind"] for b in measured.blocks}
    assert "residual" in points  # ResNet's BasicBlocks
    for group, t in points.items():
        for name in t["customdata"]:
            row = measured.layer(name)
            assert group == (kinds[row["block"]] if row["block"] else row["type"])
    assert len({t["marker"]["color"] for t in points.values()}) == len(points)
    assert "conv1" in points["Conv2d"]["customdata"]  # the stem conv sits outside any block


def test_hover_and_titles(measured):
    fig = charts.roofline([measured])
    t = next(t for t in fig["data"] if t["name"] == "residual")
    i = t["customdata"].index("layer1.0.conv1")
    row = measured.layer("layer1.0.conv1")
    roof = min(PEAKS["flops"], PEAKS["bytes_per_s"] * row["intensity"])
    assert f"{100 * row['achieved_flops'] / roof:.1f}% of the DRAM roof" in t["text"][i]
    assert "Conv2d" in t["text"][i] and "ms" in t["text"][i] and "FLOP/B" in t["text"][i]
    assert "%{hovertext}" in t["hovertemplate"] and t["hovertext"][i] == "layer1.0.conv1"  # shown, escaped
    title = fig["layout"]["title"]["text"]
    for part in ("cpu (synthetic)", "float32", "batch 1", "2 threads"):
        assert part in title
    assert "microbenchmark" in title


def test_unmeasured_placeholder(plain):
    fig = charts.roofline([plain])
    assert fig["data"] == []
    assert fig["layout"]["annotations"][0]["text"] == "not measured: run archviz profile resnet18 --measure"
    assert fig["layout"]["xaxis"]["visible"] is False and fig["layout"]["yaxis"]["visible"] is False


def test_report_measured_section_only_when_measured(plain, measured):
    from archviz.render.report import render_html

    assert "Measured speed" not in render_html([plain], command="archviz report resnet18")
    html = render_html([measured], command="archviz report resnet18")
    assert "Measured speed" in html and '"chart-roofline-0"' in html
    t = measured.measurement["total"]
    assert f"{t['eager_ms']:.3g} ms" in html and f"{t['layer_sum_ms']:.3g} ms" in html
    assert "batch 1, 2 thread(s)" in html and "cpu (synthetic)" in html
    assert "Launch gap" in html


def test_history_counted_vs_measured_by_hand(plain):
    from archviz.service import get_profiles

    names = ["alexnet", "vgg16", "googlenet"]
    profiles = [synthetic_measure(p, batch=4) for p in get_profiles(names)]
    for p, eager in zip(profiles, (20.0, 150.0, 40.0)):
        p.measurement["total"]["eager_ms"] = eager
    fig = charts.counted_vs_measured([*profiles, plain])  # the unmeasured one is left out
    macs, latency, share = fig["data"]
    assert macs["y"] == [p.totals["macs"] / 1e9 for p in profiles]
    assert latency["y"] == [20.0, 150.0, 40.0]
    for p, got, eager in zip(profiles, share["y"], (20.0, 150.0, 40.0)):
        achieved = 2 * p.totals["macs"] * 4 / (eager / 1000)  # FLOPs = 2 × MACs, batch 4, per second
        assert got == pytest.approx(100 * achieved / PEAKS["flops"])
    assert "batch 4" in fig["layout"]["title"]["text"] and "2 threads" in fig["layout"]["title"]["text"]
    empty = charts.counted_vs_measured([plain])
    assert empty["data"] == [] and "not measured" in empty["layout"]["annotations"][0]["text"]


@pytest.mark.browser
def test_roofline_renders_in_chromium(measured, tmp_path, artifacts):
    from archviz.render.report import write_report
    from browser import console_errors, make_driver
    from selenium.webdriver.common.by import By

    path = write_report([measured], tmp_path / "measured.html", command="archviz report resnet18 (synthetic)")
    for width in (1400, 800):
        driver = make_driver(width, 1600)
        try:
            driver.get(path.resolve().as_uri())
            svg = driver.find_elements(By.CSS_SELECTOR, "#chart-roofline-0 svg.main-svg")
            assert svg, "the roofline drew no svg"
            dots = driver.find_elements(By.CSS_SELECTOR, "#chart-roofline-0 .scatterlayer .point")
            assert len(dots) >= 10
            assert not console_errors(driver)
            section = driver.find_element(By.ID, "measured")
            driver.execute_script("arguments[0].scrollIntoView()", section)
            section.screenshot(str(artifacts / f"roofline-report-{width}.png"))
        finally:
            driver.quit()


# ---- dashboard: Explorer roofline, History counted vs measured ------------------------------
def test_dashboard_outputs_are_wired():
    from archviz.dashboard.app import create_app
    from dash_client import EXPLORER_OUTPUT, HISTORY_MEASURED_OUTPUT

    app = create_app(["resnet18"])
    assert EXPLORER_OUTPUT in app.callback_map and HISTORY_MEASURED_OUTPUT in app.callback_map


def test_explorer_unmeasured_shows_placeholder(plain):
    from archviz.dashboard import logic

    assert logic.measured_profile("not-a-model") is None
    r = logic.explore("resnet18", None)
    fig = r["roofline_fig"]
    assert fig["data"] == [] and "archviz profile resnet18 --measure" in fig["layout"]["annotations"][0]["text"]


def test_explorer_and_history_read_stored_measurements(plain):
    """A measured profile stored under the default measurement key is found without measuring."""
    from archviz.dashboard import logic
    from archviz.measure import Options
    from archviz.measure.peaks import device_name
    from archviz.service import MEASURE_METHOD, _versions
    from archviz.store import make_key

    opts = Options()
    key = make_key("resnet18", "default", {**_versions(), "measure.device": device_name("cpu"),
                                           "measure.dtype": "float32", "measure.batch": "input",
                                           "measure.threads": str(opts.resolved_threads()),
                                           "measure.method": MEASURE_METHOD})
    logic.shared_store().put([key], synthetic_measure(plain), "1x3x224x224")
    got = logic.measured_profile("resnet18")
    assert got is not None and got.measurement["device"] == "cpu (synthetic)"
    fig = logic.explore("resnet18", None)["roofline_fig"]
    assert any(t.get("customdata") and "conv1" in t["customdata"] for t in fig["data"])
    hist = logic.history_measured(["resnet18", "vgg16"])  # vgg16 not measured: left out
    assert hist["data"][0]["x"] == ["ResNet-18"]
    placeholder = logic.history_measured(["vgg16"])
    assert placeholder["data"] == [] and "not measured" in placeholder["layout"]["annotations"][0]["text"]


def test_measure_job_runs_once_at_a_time():
    import threading

    from archviz.dashboard.logic import MeasureJob

    gate, began, seen = threading.Event(), threading.Event(), []

    def fake(name):
        seen.append(name)
        began.set()
        gate.wait(10)

    job = MeasureJob(["a", "b"])
    assert job.start(fake) is True
    assert began.wait(10)
    assert job.start(fake) is False and job.start(fake) is False  # repeats ignored while it runs
    assert job.running and "Measuring a (1 of 2)" in job.status
    gate.set()
    job._thread.join(10)
    assert seen == ["a", "b"] and "Measured 2 models" in job.status and not job.running
    over = MeasureJob(["a", "b"], budget_s=-1)  # past its time bound: starts no model
    over.start(fake)
    over._thread.join(10)
    assert "limit after 0 of 2" in over.status


def test_comparison_report_puts_counted_beside_measured(plain, measured):
    """Two measured models: the report's Measured section opens with the counted-vs-measured chart;
    one measured model alone has no such chart."""
    from archviz.render.report import render_html
    from archviz.service import get_profile

    other = synthetic_measure(get_profile("alexnet"))
    html = render_html([measured, other], command="archviz report resnet18 alexnet --measure")
    assert 'id="chart-counted-measured"' in html
    assert 'id="chart-roofline-0"' in html and 'id="chart-roofline-1"' in html
    assert 'id="chart-counted-measured"' not in render_html([measured], command="archviz report resnet18")


def test_measure_job_counts_noisy_runs():
    """A history run where one model was graded noisy says so (and that it was not stored)."""
    from archviz.dashboard.logic import MeasureJob

    job = MeasureJob(["a", "b", "c"])
    job.start(lambda name: "noisy" if name == "b" else "good")
    job._thread.join(10)
    assert "Measured 3 models" in job.status and "1 graded noisy" in job.status and "(b)" in job.status


def test_hierarchical_roofs_drawn_and_graded(plain):
    """Every roof is drawn: L1 and L2 at the same bandwidth share one line, L3 and DRAM their own,
    each slanted roof y = bandwidth × x up to its ridge; the grade is in the title."""
    roofs = [{"level": "L1", "capacity": 2**16, "bytes_per_s": 3e11}, {"level": "L2", "capacity": 2**21, "bytes_per_s": 3e11},
             {"level": "L3", "capacity": 2**25, "bytes_per_s": 2e11}, {"level": "DRAM", "capacity": None, "bytes_per_s": 5e10}]
    peaks = {"flops": 5e11, "bytes_per_s": 5e10, "source": "microbenchmark", "roofs": roofs}
    m = synthetic_measure(plain, peaks=peaks)
    fig = charts.roofline([m])
    lines = {t["name"].split(":")[0]: t for t in fig["data"] if " roof:" in t["name"]}
    assert list(lines) == ["L1, L2 roof", "L3 roof", "DRAM roof", "compute roof"]
    for name, bw in (("L1, L2 roof", 3e11), ("L3 roof", 2e11), ("DRAM roof", 5e10)):
        xs, ys = lines[name]["x"], lines[name]["y"]
        assert all(y == pytest.approx(bw * x) for x, y in zip(xs, ys))  # y = bandwidth × x along the line
        assert xs[-1] == pytest.approx(5e11 / bw) and ys[-1] == pytest.approx(5e11)  # up to its ridge
    assert lines["compute roof"]["x"][0] == pytest.approx(5e11 / 3e11)  # from the lowest ridge on
    assert "good" in fig["layout"]["title"]["text"]
    m.measurement["quality"] = {"grade": "noisy", "reasons": ["x"]}
    assert "NOISY" in charts.roofline([m])["layout"]["title"]["text"]


def test_measured_csv_has_the_measured_columns_and_the_grade(measured):
    """With --measure the CSV gains the measured columns, typed, and the run's grade on every row."""
    import io

    import pandas as pd

    df = pd.read_csv(io.StringIO(measured.to_csv()))
    assert list(df.columns[-8:]) == ["latency_ms", "bytes", "intensity", "achieved_flops", "bound", "roof",
                                     "working_set", "measurement_grade"]
    assert pd.api.types.is_float_dtype(df["latency_ms"]) and set(df["measurement_grade"]) == {"good"}
    leaf = measured.layer("layer1.0.conv1")
    row = df[df["name"] == "layer1.0.conv1"].iloc[0]
    assert row["latency_ms"] == pytest.approx(leaf["latency_ms"]) and row["roof"] == "DRAM"
    plain = pd.read_csv(io.StringIO(get_plain_csv()))
    assert "latency_ms" not in plain.columns and "measurement_grade" not in plain.columns


def get_plain_csv():
    from archviz.service import get_profile

    return get_profile("resnet18").to_csv()
