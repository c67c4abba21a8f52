"""The dashboard: callbacks as functions, end to end in headless Chromium, and a bounded load test."""

import os
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest

from archviz.dashboard import logic
from browser import console_errors, make_driver, wait_for
from dash_client import HISTORY_OUTPUT, DashServer, call, history_inputs


# ---- callbacks as functions ------------------------------------------------------------------
def test_history_figures_carry_computed_depths(history_profiles):
    figs = logic.history_figures("macs", "log", None)
    depth_traces = [t for t in figs["depth"]["data"] if "xaxis" not in t]
    seen = {label: y for t in depth_traces for label, y in zip(t["text"], t["y"])}
    assert seen["AlexNet"] == 8 and seen["GoogLeNet"] == 22 and seen["DenseNet-201"] == 201
    bubble = figs["bubble"]["data"]
    vgg = next(t for t in bubble if t["name"] == "VGG")
    assert vgg["x"][vgg["text"].index("VGG-16")] == pytest.approx(history_profiles["vgg16"].totals["macs"] / 1e9)
    flops = logic.history_figures("flops", "linear", ["vgg11", "vgg16"])["bubble"]["data"]
    assert [t["name"] for t in flops] == ["VGG"]
    assert flops[0]["text"] == ["VGG-11", "VGG-16"]
    assert flops[0]["x"][1] == pytest.approx(2 * vgg["x"][vgg["text"].index("VGG-16")])
    assert logic.history_figures("macs", "log", [])["bubble"]["data"] == []


def test_explore_and_bad_inputs(history_profiles):
    r = logic.explore("resnet18", None)
    assert r["profile"].totals["params"] == 11_689_512
    graph = r["graph"]["graphs"][0]
    assert graph["model"] == r["profile"].model and len(r["rows"]) == len(r["profile"].layers)
    assert {n["row"] for n in graph["nodes"] if n["row"]} | set(graph["absorbed"]) == {row["name"] for row in r["rows"]}
    assert "error" in logic.explore("resnet18", 8)           # out of range
    assert "error" in logic.explore("resnt18", None)         # unknown name
    assert "closest" in logic.explore("resnt18", None)["error"]
    small = logic.explore("vgg11", 16)                       # too small for the model: said before tracing
    assert small["errors"] == {"size": "vgg11 accepts 32 px and up: use 32 to 512"}
    assert "RuntimeError" not in small["error"]
    assert "error" in logic.explore("resnet18", "abc")


def test_page_of_a_layer():
    rows = [{"name": f"l{i}"} for i in range(60)]
    assert logic.page_of(rows, "l0", 25) == 0 and logic.page_of(rows, "l30", 25) == 1
    assert logic.page_of(rows, "missing", 25) == 0


def test_highlight_from_chart_click():
    style, name = logic.highlight_style({"points": [{"customdata": "layer1.0.conv1"}]})
    assert name == "layer1.0.conv1" and '"layer1.0.conv1"' in style[0]["if"]["filter_query"]
    assert logic.highlight_style(None) == ([], None)


def test_compare_needs_two_to_four(history_profiles):
    assert "error" in logic.compare(["vgg16"])
    assert "error" in logic.compare(["vgg16", "resnet18", "resnet34", "resnet50", "alexnet"])
    r = logic.compare(["vgg16", "resnet50"])
    assert [row["depth"] for row in r["rows"]] == [16, 50]


def test_lessons_are_computed_on_modules():
    r = logic.lesson_results(128, 5, 32, 32, 4)
    k = [v["params"] for v in r["kernel"]["variants"]]
    b = [v["params"] for v in r["bottleneck"]["variants"]]
    assert k == [409_600, 294_912] and b == [147_456, 40_960]
    assert r["merge"]["variants"][1]["out_channels"] == 128 + 4 * 32
    r7 = logic.lesson_results(64, 7, 16, 8, 2)
    assert [v["params"] for v in r7["kernel"]["variants"]] == [7 * 7 * 64 * 64, 3 * 9 * 64 * 64]
    assert "error" in logic.lesson_results(64, 4, 16, 8, 2)


def test_warm_dashboard_start_needs_no_torch(history_profiles):
    """With a warm store, building the app and warming the history set import no torch."""
    import subprocess
    import sys

    logic.model_names()  # the name cache is written on a cold start
    code = ("import sys; from archviz.dashboard.app import create_app, warm_history; warm_history();"
            "create_app(); print('TORCH' if 'torch' in sys.modules else 'NO-TORCH')")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=dict(os.environ))
    assert r.stdout.strip() == "NO-TORCH", r.stderr


# ---- end to end ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(history_profiles):
    srv = DashServer(env=dict(os.environ))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def driver():
    d = make_driver(1400, 1100)
    yield d
    d.quit()



PLOTS = "return document.querySelectorAll('.js-plotly-plot .main-svg').length"


@pytest.mark.browser
def test_pages_render_without_console_errors(server, driver, artifacts):
    for path, plots in (("/", 3), ("/compare", 3), ("/lessons", 1), ("/explorer", 3)):
        driver.get(server.url + path)
        wait_for(driver, f"{PLOTS[:-7]}.length >= {plots} && document.querySelectorAll('.js-plotly-plot').length")
        assert console_errors(driver) == [], path
        driver.save_screenshot(str(artifacts / f"dashboard{path.replace('/', '-') or '-history'}.png"))


@pytest.mark.browser
def test_explorer_pick_model_and_bad_input(server, driver):
    from selenium.webdriver.common.keys import Keys

    driver.get(server.url + "/explorer")
    wait_for(driver, "return document.querySelector('#ex-headline .card') !== null")
    driver.find_element("css selector", "#ex-model").click()  # Dash 4: a button opens a searchable list
    box = wait_for(driver, "return document.querySelector('input.dash-dropdown-search')")
    box.send_keys("vgg11")
    option = wait_for(driver, "return Array.from(document.querySelectorAll('.dash-options-list-option'))"
                              ".find(o => o.textContent.trim() === 'vgg11')")
    option.click()
    wait_for(driver, "return document.querySelector('#ex-headline').textContent.includes('132,863,336')")
    first_type = wait_for(driver, "return document.querySelector('#ex-table td[data-dash-column=type]')?.textContent")
    assert first_type == "VGG"
    size = driver.find_element("css selector", "#ex-size")
    size.send_keys("16")
    size.send_keys(Keys.ENTER)
    text = wait_for(driver, "return document.querySelector('#ex-size-msg .field-error')?.textContent")
    assert text == "vgg11 accepts 32 px and up: use 32 to 512"  # named before any trace, no torch error
    assert driver.find_element("css selector", "#ex-size-hint").text == "vgg11 accepts 32 to 512 px here"
    assert "Fix the marked field" in driver.find_element("css selector", "#ex-placeholder").text
    assert not driver.find_element("css selector", "#ex-results").is_displayed()  # no blank diagram area
    assert driver.execute_script("return document.querySelector('#ex-message').textContent") == ""
    assert urllib.request.urlopen(server.url + "/", timeout=10).status == 200  # still serving
    size.send_keys(Keys.CONTROL, "a")
    size.send_keys("64")
    size.send_keys(Keys.ENTER)  # fixed: the message clears and the model is drawn at 64 px
    wait_for(driver, "return document.querySelector('#ex-headline').textContent.includes('1x3x64x64')")
    assert driver.execute_script("return document.querySelector('#ex-size-msg').textContent") == ""
    assert driver.find_element("css selector", "#ex-results").is_displayed()
    assert wait_for(driver, "return location.search") == "?model=vgg11&size=64"


@pytest.mark.browser
def test_chart_click_highlights_table_row(server, driver):
    from selenium.webdriver.common.action_chains import ActionChains

    driver.get(server.url + "/explorer")
    wait_for(driver, "return document.querySelector('#ex-headline .card') !== null")
    wait_for(driver, "return document.querySelectorAll('#ex-channels .scatterlayer .point').length > 5")
    for _attempt in range(5):  # plotly may still be laying out after the loading spinner goes
        point = driver.find_elements("css selector", "#ex-channels .scatterlayer .point")[5]
        driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
        time.sleep(0.5)
        ActionChains(driver).move_to_element(point).pause(0.3).click().perform()  # through the drag layer
        try:
            text = wait_for(driver, "return document.querySelector('#ex-selected').textContent", timeout=5)
            break
        except AssertionError:
            continue
    assert text.startswith("Highlighted: ")
    name = text.removeprefix("Highlighted: ")
    styled = driver.execute_script(
        "return Array.from(document.querySelectorAll('#ex-table td[data-dash-column=name]'))"
        ".filter(td => getComputedStyle(td).fontWeight === '600').map(td => td.textContent)")
    assert styled == [name]  # the table turned to the row's page and highlighted it


def test_load_many_concurrent_callbacks(server, history_profiles):
    """200 callback requests over 16 threads, bounded at 120 s; each answer checked."""
    variants = [("macs", "log"), ("flops", "log"), ("macs", "linear"), ("flops", "linear")]
    expected_vgg16 = history_profiles["vgg16"].totals

    def one(i):
        metric, scale = variants[i % len(variants)]
        resp = call(server.url, HISTORY_OUTPUT, history_inputs(metric, scale), timeout=60)
        vgg = next(t for t in resp["hist-bubble"]["figure"]["data"] if t["name"] == "VGG")
        x = vgg["x"][vgg["text"].index("VGG-16")]
        return abs(x * 1e9 - expected_vgg16[metric]) < 1e3

    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(one, range(200), timeout=600))  # a guard against a hang, not a speed goal
    assert all(results) and len(results) == 200  # (their speed: benchmarks/bench_load.py)
