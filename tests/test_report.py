"""The HTML report in a real headless Chromium: offline, no console errors, charts drawn, sortable table,
escaping of hostile module names; atomic writes; a warm report never imports torch."""

import subprocess
import sys
import time
from pathlib import Path

import pytest

from archviz.render.report import write_report
from browser import console_errors, make_driver, requested_urls
from conftest import FIXTURES, run_cli

pytestmark = pytest.mark.browser


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
    assert driver.execute_script("return document.querySelectorAll('.js-plotly-plot').length") == 4
    assert driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length") >= 4


def first_names(driver, table_id="layers-0", n=3):
    return driver.execute_script(
        f"return Array.from(document.querySelectorAll('#{table_id} tbody tr')).slice(0, {n})"
        ".map(r => r.cells[0].textContent.trim())")


def test_vgg16_report_in_chromium(driver, history_profiles, tmp_path, artifacts):
    path = write_report([history_profiles["vgg16"]], tmp_path / "vgg16.html")
    load(driver, path)
    assert_clean_offline(driver)
    assert driver.execute_script("return document.querySelector('#diagram svg') !== null")
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
    driver.save_screenshot(str(artifacts / "report-vgg16.png"))


def test_comparison_report_in_chromium(driver, history_profiles, tmp_path, artifacts):
    profiles = [history_profiles[m] for m in ("vgg16", "resnet50", "densenet121")]
    path = write_report(profiles, tmp_path / "compare.html")
    load(driver, path)
    assert_clean_offline(driver)
    names = driver.execute_script("return Array.from(document.querySelectorAll('table.compare th')).map(t => t.textContent)")
    assert names[1:] == ["VGG-16", "ResNet-50", "DenseNet-121"]
    traces = driver.execute_script("return document.getElementById('chart-rf').data.length")
    assert traces == 6  # receptive field + spatial size per model, overlaid
    driver.save_screenshot(str(artifacts / "report-compare.png"))


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
