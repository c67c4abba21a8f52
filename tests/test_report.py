"""The HTML report in a real headless Chromium: offline, no console errors, charts drawn, sortable table,
escaping of hostile module names; atomic writes; a warm report never imports torch."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from archviz.render.report import write_report
from browser import console_errors, make_driver, requested_urls, wait_for
from conftest import FIXTURES, run_cli



@pytest.fixture(scope="module")
def driver():
    d = make_driver()
    yield d
    d.quit()


def load(driver, path: Path):
    driver.get_log("browser"), driver.get_log("performance")  # drain earlier logs
    driver.get(path.resolve().as_uri())
    for _ in range(100):
        if driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= 4:
            break
        time.sleep(0.1)


def assert_clean_offline(driver):
    assert console_errors(driver) == []
    outside = [u for u in requested_urls(driver) if not u.startswith(("file:", "data:", "about:"))]
    assert outside == []
    memory = driver.execute_script("return document.querySelectorAll('.memory-chart').length")  # issue 23
    assert memory >= 1
    assert driver.execute_script("return document.querySelectorAll('.js-plotly-plot').length") == 4 + memory
    assert driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= 4


def first_names(driver, table_id="layers-0", n=3):
    return driver.execute_script(
        f"return Array.from(document.querySelectorAll('#{table_id} tbody tr')).slice(0, {n})"
        ".map(r => r.cells[0].textContent.trim())")


@pytest.mark.browser
def test_vgg16_report_in_chromium(driver, history_profiles, tmp_path, artifacts):
    path = write_report([history_profiles["vgg16"]], tmp_path / "vgg16.html")
    load(driver, path)
    assert_clean_offline(driver)
    wait_for(driver, "return document.querySelector('#graph-0').dataset.renders")
    assert driver.execute_script("return document.querySelector('#graph-0 .avg-canvas svg') !== null")
    before = first_names(driver)
    macs_header = driver.find_elements("css selector", "#layers-0 th")[4]
    macs_header.click()
    macs_header.click()  # descending: the biggest layer first
    after = first_names(driver)
    assert after != before and after[0] == "(model)"
    top_conv = driver.execute_script(
        "return Array.from(document.querySelectorAll('#layers-0 tbody tr')).map(r => r.cells[1].textContent)"
        ".filter(t => t === 'Conv2d').length")
    assert top_conv == 13
    driver.find_element("css selector", "button.tree-order").click()  # back to the module tree
    assert first_names(driver, n=len(history_profiles["vgg16"].layers)) == [
        r["name"] for r in history_profiles["vgg16"].layers]
    assert not driver.execute_script("return document.querySelector('#layers-0 th.sorted-desc')")
    # the contents bar stays on screen at the bottom of the page, and its links lead somewhere
    driver.execute_script("window.scrollTo(0, document.body.scrollHeight)")
    nav = driver.execute_script("const r = document.querySelector('nav.toc').getBoundingClientRect();"
                                "return [r.top, r.height]")
    assert nav[0] == 0 and 20 < nav[1] < 60
    targets = driver.execute_script("return Array.from(document.querySelectorAll('nav.toc a'))"
                                    ".map(a => !!document.querySelector(a.getAttribute('href')))")
    assert targets and all(targets)
    driver.save_screenshot(str(artifacts / "report-vgg16.png"))


@pytest.mark.browser
def test_names_sort_in_natural_order_and_third_click_restores_the_tree(driver, history_profiles, tmp_path):
    p = history_profiles["densenet121"]
    path = write_report([p], tmp_path / "densenet121.html")
    load(driver, path)
    header = driver.find_elements("css selector", "#layers-0 th")[0]
    header.click()  # ascending by name
    names = first_names(driver, n=len(p.layers))
    block3 = [n for n in names if n.startswith("features.denseblock3.denselayer") and n.count(".") == 2]
    assert block3 == [f"features.denseblock3.denselayer{i}" for i in range(1, 25)]  # 9 before 10
    header.click()
    header.click()  # a third click: the module tree again
    assert first_names(driver, n=len(p.layers)) == [r["name"] for r in p.layers]


def test_layer_csv_download_is_a_data_uri_of_the_csv(history_profiles, tmp_path):
    import base64
    import csv
    import html
    import io
    import re

    from archviz.render.table import to_csv

    p = history_profiles["resnet18"]
    text = write_report([p], tmp_path / "r.html").read_text()
    link = re.search(r'<a class="download" download="([^"]+)" href="data:text/csv;base64,([^"]+)"', text)
    assert link and link.group(1) == "resnet18-layers.csv"
    data = base64.b64decode(html.unescape(link.group(2))).decode()
    assert data == to_csv(p, None)
    rows = list(csv.DictReader(io.StringIO(data)))
    assert len(rows) == len(p.layers) and rows[0]["name"] == "(model)"
    assert rows[0]["params"] == "11689512"  # torchvision's published ResNet-18 count


@pytest.mark.browser
def test_comparison_report_in_chromium(driver, history_profiles, tmp_path, artifacts):
    profiles = [history_profiles[m] for m in ("vgg16", "resnet50", "densenet121")]
    path = write_report(profiles, tmp_path / "compare.html")
    load(driver, path)
    assert_clean_offline(driver)
    names = driver.execute_script("return Array.from(document.querySelectorAll('table.compare th')).map(t => t.textContent)")
    assert names[1:] == ["VGG-16", "ResNet-50", "DenseNet-121"]
    traces = driver.execute_script("return document.getElementById('chart-rf').data.length")
    assert traces == 6  # receptive field (left panel) + feature-map height (right panel) per model
    wait_for(driver, "return [0, 1, 2].every(i => document.getElementById('graph-' + i).dataset.renders)")
    canvases = driver.execute_script("return [0, 1, 2].map(i => document.querySelector('#graph-' + i + ' .avg-canvas')"
                                     ".getBoundingClientRect().width)")
    assert len(canvases) == 3 and all(w > 800 for w in canvases)  # each graph the page width, less its panel
    # readable: no node title drawn smaller than 9 px high
    heights = driver.execute_script("return [...document.querySelectorAll('.avg-canvas svg g.node text')]"
                                    ".map(t => t.getBoundingClientRect().height)")
    assert heights and min(heights) >= 9
    # one colour scale for the three: each view's MACs range is the page's, from the smallest
    # node of any model to the largest (VGG-16 itself, 15,489,966,592 MACs)
    doms = driver.execute_script("return [0, 1, 2].map(i => document.getElementById('graph-' + i).archvizGraph.doms.macs)")
    assert doms[0] == doms[1] == doms[2] and doms[0][1] == profiles[0].totals["macs"]
    # DenseNet's Block column is whole at 1400 px: no sideways scrolling to reach it
    wrap = driver.execute_script("const w = document.querySelector('#layers-2').parentElement;"
                                 "return [w.scrollWidth, w.clientWidth]")
    assert wrap[0] <= wrap[1]
    driver.save_screenshot(str(artifacts / "report-compare.png"))


@pytest.mark.browser
def test_narrow_screen_shows_the_key_columns_without_scrolling(driver, history_profiles, tmp_path):
    profiles = [history_profiles[m] for m in ("resnet50", "densenet201")]
    path = write_report(profiles, tmp_path / "narrow.html")
    driver.set_window_size(800, 1000)
    try:
        load(driver, path)
        for table in ("layers-0", "layers-1"):
            shown = driver.execute_script(
                f"const w = document.getElementById('{table}').parentElement.getBoundingClientRect();"
                f"return Array.from(document.querySelectorAll('#{table} th')).filter(h => h.offsetWidth > 0)"
                ".map(h => [h.textContent, h.getBoundingClientRect().right <= w.right + 1])")
            assert [t for t, _ in shown] == ["Layer", "Type", "Output", "Params", "MACs"]
            assert all(fits for _, fits in shown)
        driver.find_element("css selector", "label.all-columns input").click()  # the rest on demand
        assert driver.execute_script("return document.querySelector('#layers-0 th.c-block').offsetWidth") > 0
        cell = driver.execute_script(  # a long DenseNet name keeps its tail; the whole name on hover
            "const td = Array.from(document.querySelectorAll('#layers-1 td.c-name'))"
            ".find(t => t.title === 'features.denseblock4.denselayer32.conv2');"
            "return [td.innerText.trim(), td.textContent.trim(),"
            " getComputedStyle(td.querySelector('.cut'), '::before').content]")
        assert cell == ["denselayer32.conv2", "features.denseblock4.denselayer32.conv2", '"…"']  # shown as …denselayer32.conv2
    finally:
        driver.set_window_size(1400, 1000)


@pytest.mark.browser
def test_hostile_module_name_is_text_not_script(driver, tmp_path):
    out = tmp_path / "hostile.html"
    r = run_cli("report", f"{FIXTURES / 'toy_models.py'}:hostile", "--input", "1x3x16x16", "-o", str(out))
    assert r.returncode == 0, r.stderr
    load(driver, out)
    assert driver.execute_script("return window.__pwned === undefined")
    cells = driver.execute_script("return Array.from(document.querySelectorAll('#layers-0 td')).map(c => c.textContent)")
    assert "<script>window['__pwned']=1</script>" in cells
    assert console_errors(driver) == []


def test_failed_run_leaves_good_report_untouched(tmp_path):
    out = tmp_path / "r.html"
    out.write_text("GOOD")
    r = run_cli("report", "resnet5", "-o", str(out))
    assert r.returncode == 2
    assert out.read_text() == "GOOD"
    assert [p.name for p in tmp_path.iterdir()] == ["r.html"]


def test_default_paths_and_warm_report_without_torch(tmp_path):
    first = run_cli("report", "alexnet", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "reports/alexnet.html"
    cmp_ = run_cli("report", "alexnet", "vgg11", cwd=tmp_path)
    assert cmp_.stdout.strip() == "reports/compare-alexnet-vgg11.html"
    # warm store: the report is rebuilt without importing torch
    code = ("import sys; from typer.main import get_command; from archviz.cli import app;"
            "sys.argv=['archviz','report','alexnet'];"
            "\ntry: app()\nexcept SystemExit: pass\nprint('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    r = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True)
    assert r.stdout.strip().splitlines()[-1] == "NO-TORCH", r.stderr


def test_every_view_names_and_uses_the_original_weights(history_profiles, tmp_path):
    """One accuracy rule (issue 20 item 9): the report's history section, its comparison row and
    the dashboard's Compare table show ResNet-50's IMAGENET1K_V1 top-1 (76.13, torchvision's own
    meta), not the 2021 recipe's 80.858, and say which weights."""
    from torchvision.models import ResNet50_Weights

    from archviz.dashboard import logic

    v1 = ResNet50_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    profiles = [history_profiles["resnet50"], history_profiles["densenet201"]]
    text = write_report(profiles, tmp_path / "c.html").read_text()
    assert f"Top-1 (original V1 weights)</td><td>{v1} (IMAGENET1K_V1)" in text
    assert "ResNet50_Weights.IMAGENET1K_V1: top-1 76.13%" in text and "80.858" not in text
    rows = logic.compare(["resnet50", "densenet201"])["rows"]
    assert rows[0]["top-1 (V1 weights)"] == f"{v1} (IMAGENET1K_V1)"
