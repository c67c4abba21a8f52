"""Dashboard states (issue 12): every field checked where it is entered with its own message, a
model's smallest input stated, placeholders instead of blank space, Compare held to 2-4 models in
the widget, a formatted and exportable layer table, downloads, and the page state in the URL."""

import csv
import io
import os
import time
from pathlib import Path

import pytest

from archviz.dashboard import logic, validate
from archviz.render.table import CSV_COLUMNS
from browser import console_errors, make_driver, wait_for
from dash_client import COMPARE_OUTPUT, DashServer, call


# ---- as functions ----------------------------------------------------------------------------
def test_url_values_are_read_as_the_page_would_send_them():
    assert validate.query_values("?model=resnet50&size=224") == {"model": "resnet50", "size": "224"}
    assert validate.query_values("?model=" + "x" * 3000) == {}          # longer than any state
    assert validate.query_values(None) == {} and validate.query_values(["?a=b"]) == {}
    assert validate.query_values("&".join(f"k{i}=1" for i in range(50))) == {}  # too many fields
    assert validate.url_number("224") == 224 and validate.url_number("4.5") == 4.5
    assert validate.url_number("abc") == "abc" and validate.url_number("") is None
    assert validate.url_number("1e309") == float("inf")                 # refused by validate.whole
    assert validate.url_list("a,b,,c") == ["a", "b", "c"] and validate.url_list(None) is None
    assert len(validate.url_list(",".join(["m"] * 100))) == validate.MAX_LIST + 1
    assert validate.url_search({"model": "resnet50", "size": 224}) == "?model=resnet50&size=224"
    assert validate.url_search({"models": ["resnet18", "resnet50"]}) == "?models=resnet18,resnet50"
    assert validate.url_search({"size": None, "x": {"a": 1}, "flag": True}) == ""
    assert validate.url_search({"model": "a&b=c"}) == "?model=a%26b%3Dc"
    assert validate.url_search({"variants": []}) == "?variants="   # none ticked is a state too
    assert validate.url_list(validate.query_values("?variants=")["variants"]) == []


def test_url_values_meet_the_same_checks_as_typed_ones(history_profiles):
    for raw, words in (("abc", "whole number"), ("4.5", "whole number"), ("1e309", "whole number"),
                       ("100000", "out of range"), ("16", "vgg16 accepts 32 px and up")):
        r = logic.explore("vgg16", validate.url_number(raw))
        assert words in r["errors"]["size"], raw


def test_a_models_smallest_input_is_a_field_message_not_a_torch_error(history_profiles):
    r = logic.explore("vgg16", 16)
    assert r["errors"] == {"size": "vgg16 accepts 32 px and up: use 32 to 512"}
    assert logic.size_hint("vgg16") == "vgg16 accepts 32 to 512 px here"
    assert logic.size_hint("resnet18") == ("resnet18 accepts 16 to 512 px here (the model itself takes any "
                                           "size from 1 px; 16 px is the dashboard's smallest)")
    assert logic.size_hint("os:abort") is None and logic.size_hint(["x"]) is None
    assert "does not run at 100 px" in logic.explore("vit_b_16", 100)["errors"]["size"]


def test_a_size_lookup_never_waits_behind_a_trace(monkeypatch):
    """With the torch lock held, an unknown model's range is not searched: the hint says it will be."""
    from archviz import min_size

    monkeypatch.setattr(min_size, "_memory", {})
    monkeypatch.setattr(min_size, "kept", lambda name: None)
    with logic._torch_lock:
        assert logic.size_limits("shufflenet_v2_x0_5") is None
        assert "found on first use" in logic.size_hint("shufflenet_v2_x0_5")


def test_compare_counts_are_said_in_words(history_profiles):
    assert logic.compare([])["error"] == "Pick two to four models to compare."
    assert logic.compare(["resnet18"])["error"] == "Pick at least two models: add one to compare with resnet18."
    five = ["vgg16", "resnet18", "resnet34", "resnet50", "alexnet"]
    assert logic.compare(five)["error"] == "At most 4 models can be compared: remove 1."
    assert len(logic.compare(five[:4])["rows"]) == 4


def test_compare_widget_disables_a_fifth():
    names = ["a", "b", "c", "d", "e", "f"]
    full = logic.compare_options(names, ["a", "b", "c", "d"])
    assert [o["value"] for o in full if o["disabled"]] == ["e", "f"]
    assert not any(o["disabled"] for o in logic.compare_options(names, ["a", "b", "c"]))
    assert not any(o["disabled"] for o in logic.compare_options(names, [{"x": 1}] * 5))  # garbage: nothing picked


def test_table_rows_keep_numbers_raw_and_carry_the_tree_level(history_profiles):
    rows = {r["name"]: r for r in logic.table_rows(history_profiles["resnet18"])}
    assert rows["conv1"]["params"] == 9408 and isinstance(rows["conv1"]["macs"], int)  # 64*3*7*7
    assert rows["(model)"]["level"] == 0
    for name in ("conv1", "layer1", "layer1.0", "layer1.0.conv1"):
        assert rows[name]["level"] == name.count(".") + 1  # torchvision names nest by dots


def test_downloads_are_the_reports_formats(history_profiles):
    data = logic.download("csv", "resnet18", None)
    assert data["filename"] == "resnet18-layers.csv" and data["type"] == "text/csv"
    table = list(csv.DictReader(io.StringIO(data["content"])))
    assert list(table[0]) == [*CSV_COLUMNS, "live_bytes"]  # memory columns last (issue 23)
    assert table[0]["params"] == "11689512" and table[1]["name"] == "conv1" and table[1]["params"] == "9408"
    svg = logic.download("svg", "resnet18", None)
    assert svg["content"].startswith("<svg") and svg["filename"] == "resnet18.svg"
    report = logic.download("report", "resnet18", None)
    assert report["filename"] == "resnet18.html" and "11,689,512" in report["content"]
    assert "accepts 32 px" in logic.download("csv", "vgg16", 16)["error"]
    assert "not one of report, csv, svg" in logic.download("exe", "resnet18", None)["error"]
    assert "not a catalogue model" in logic.download("csv", "os:abort", None)["error"]


def test_lessons_message_names_the_fields():
    assert logic.lesson_fix_message({"growth": "x"}).startswith("Fix dense growth (marked below it)")
    assert logic.lesson_fix_message({"channels": "x", "kernel": "y", "layers": "z"}).startswith(
        "Fix channels, large kernel and layers (each marked below its box)")


# ---- in Chromium -----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(history_profiles):
    srv = DashServer(env=dict(os.environ))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    d = make_driver(1400, 1000)
    d.downloads = tmp_path_factory.mktemp("downloads")
    d.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(d.downloads)})
    yield d
    d.quit()



def downloaded(folder: Path, name: str, timeout: float = 60) -> Path:
    deadline = time.time() + timeout
    while time.time() < deadline:
        path = folder / name
        if path.exists() and not list(folder.glob("*.crdownload")):
            return path
        time.sleep(0.2)
    raise AssertionError(f"{name} was not downloaded: {sorted(p.name for p in folder.iterdir())}")


TEXT = "return document.querySelector(arguments[0])?.textContent || ''"


def text(driver, selector: str) -> str:
    return driver.execute_script(TEXT, selector)


@pytest.mark.browser
def test_a_link_reproduces_each_pages_state(server, driver):
    driver.get(server.url + "/explorer?model=vgg11&size=64")
    wait_for(driver, "return document.querySelector('#ex-headline')?.textContent.includes('1x3x64x64')")
    assert "132,863,336" in text(driver, "#ex-headline")  # VGG-11's parameters do not depend on the size
    driver.get(server.url + "/compare?models=resnet18,resnet50")
    wait_for(driver, "return document.querySelectorAll('#cmp-table td[data-dash-column=model]').length == 2")
    assert [e.text for e in driver.find_elements("css selector", "#cmp-table td[data-dash-column=model]")] == \
        ["ResNet-18", "ResNet-50"]
    driver.get(server.url + "/?metric=flops&scale=linear&variants=vgg11,vgg16")
    wait_for(driver, "return document.querySelector('#hist-bubble .xtitle')?.textContent.includes('GFLOP')")
    assert driver.execute_script("return document.querySelector('#hist-scale input[value=linear]').checked")
    # each chosen model labelled once, as a point's text or, where it had to move, an annotation
    labels = driver.execute_script("return Array.from(document.querySelectorAll('#hist-bubble .scatterlayer "
                                   ".textpoint text, #hist-bubble .annotation-text')).map(t => t.textContent)")
    assert sorted(t for t in labels if t.startswith("VGG")) == ["VGG-11", "VGG-16"]
    driver.find_element("css selector", "#hist-scale input[value=log]").click()
    assert "scale=log" in wait_for(driver, "return location.search.includes('scale=log') && location.search")
    assert "metric=flops" in driver.execute_script("return location.search")
    assert console_errors(driver) == []


@pytest.mark.browser
@pytest.mark.parametrize("query,slot,words", [
    ("model=os:abort", "#ex-model-msg", "not a catalogue model"),
    ("model=resnet18&size=abc", "#ex-size-msg", "whole number"),
    ("model=vgg16&size=16", "#ex-size-msg", "vgg16 accepts 32 px and up"),
    ("model=resnet18&size=100000", "#ex-size-msg", "out of range"),
])
def test_bad_url_values_get_the_typed_fields_messages_and_a_placeholder(server, driver, query, slot, words):
    driver.get(server.url + "/explorer?" + query)
    wait_for(driver, f"return document.querySelector('{slot} .field-error')")
    assert words in text(driver, slot)
    assert "Fix the marked field above" in text(driver, "#ex-placeholder")
    assert not driver.find_element("css selector", "#ex-results").is_displayed()  # no 760 px blank area
    assert "Error" not in text(driver, "#page")  # no raw exception anywhere


@pytest.mark.browser
def test_compare_widget_holds_two_to_four(server, driver):
    driver.get(server.url + "/compare")
    wait_for(driver, "return document.querySelectorAll('#cmp-table td[data-dash-column=model]').length == 4")
    driver.find_element("css selector", "#cmp-models").click()
    wait_for(driver, "return document.querySelectorAll('.dash-options-list-option').length > 4")
    states = driver.execute_script(
        "return Array.from(document.querySelectorAll('.dash-options-list-option')).map(o => "
        "[o.textContent.trim(), o.querySelector('input').disabled, o.getAttribute('aria-selected')])")
    picked = {n for n, _, sel in states if sel == "true"}
    assert picked == {"vgg16", "googlenet", "resnet50", "densenet121"}
    assert all(disabled for n, disabled, _ in states if n not in picked)  # a fifth cannot be added
    driver.find_element("css selector", ".dash-options-list-option:not(.selected)").click()  # try anyway
    # then take one off: once the table shows that change, an added fifth would show with it
    driver.execute_script("[...document.querySelectorAll('.dash-options-list-option')]"
                          ".find(o => o.textContent.trim() === 'densenet121').click()")
    wait_for(driver, "return document.querySelectorAll('#cmp-table td[data-dash-column=model]').length == 3")
    assert [e.text for e in driver.find_elements("css selector", "#cmp-table td[data-dash-column=model]")] == \
        ["VGG-16", "GoogLeNet", "ResNet-50"]
    driver.get(server.url + "/compare?models=resnet18")
    wait_for(driver, "return document.querySelector('#cmp-message .error')")
    assert text(driver, "#cmp-message") == "Pick at least two models: add one to compare with resnet18."
    assert "appear here once two to four models are picked" in text(driver, "#cmp-placeholder")
    assert not driver.find_element("css selector", "#cmp-results").is_displayed()  # no empty axes
    driver.get(server.url + "/compare?models=resnet18,os:abort")  # a link's name is checked like a picked one
    wait_for(driver, "return document.querySelector('#cmp-message .error')")
    assert "'os:abort' is not a catalogue model" in text(driver, "#cmp-message")


def test_compare_refuses_a_fifth_sent_by_a_client(server):
    """A client that skips the widget gets the same words, and no axes are drawn."""
    r = call(server.url, COMPARE_OUTPUT, {"cmp-models.value": ["vgg16", "resnet18", "resnet34", "resnet50",
                                                               "alexnet"]})
    assert "At most 4 models" in str(r["cmp-message"]["children"])
    assert r["cmp-results"]["style"] == {"display": "none"} and r["cmp-table"]["data"] == []


@pytest.mark.browser
def test_layer_table_formats_aligns_indents_and_exports(server, driver):
    driver.get(server.url + "/explorer?model=resnet50")
    wait_for(driver, "return document.querySelectorAll('#ex-table td[data-dash-column=params]').length > 5")
    first = driver.execute_script(
        "const c = col => document.querySelector(`#ex-table td[data-dash-column=${col}]`);"
        "return ['name', 'type', 'params'].map(k => [c(k).textContent, getComputedStyle(c(k)).textAlign])")
    assert first == [["(model)", "left"], ["ResNet", "left"], ["25,557,032", "right"]]
    pads = driver.execute_script(
        "const out = {}; document.querySelectorAll('#ex-table td[data-dash-column=name]').forEach(td => "
        "{ out[td.textContent] = parseFloat(getComputedStyle(td).paddingLeft); }); return out")
    assert pads["layer1"] < pads["layer1.0"] < pads["layer1.0.conv1"]  # one step per tree level
    assert pads["conv1"] == pads["layer1"]
    # the conv1 row, by hand: 7x7 conv, 3 -> 64 channels, stride 2 on 224 px: 64*3*49 = 9,408 params
    # and 112*112*64 outputs of 3*49 multiply-adds = 118,013,952 MACs (He et al. 2016, Table 1)
    conv1 = driver.execute_script(
        "const r = [...document.querySelectorAll('#ex-table tr')].find(tr => "
        "tr.querySelector('td[data-dash-column=name]')?.textContent === 'conv1');"
        "return ['params', 'macs'].map(k => r.querySelector(`td[data-dash-column=${k}]`).textContent)")
    assert conv1 == ["9,408", "118,013,952"]
    # one export, the layer CSV button (the table has no second, SheetJS "Data.csv" with a BOM)
    assert driver.find_elements("css selector", "#ex-table button.export") == []
    driver.find_element("css selector", "#ex-dl-csv").click()
    exported = downloaded(driver.downloads, "resnet50-layers.csv")
    text = exported.read_text(encoding="utf-8")
    assert not text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows[0]["name"] == "(model)" and rows[0]["params"] == "25557032"  # raw numbers, no separators
    row = next(r for r in rows if r["name"] == "conv1")
    assert (row["params"], row["macs"]) == ("9408", str(112 * 112 * 64 * 3 * 49))


@pytest.mark.browser
def test_download_buttons_give_report_csv_and_svg(server, driver):
    driver.get(server.url + "/explorer?model=resnet18")
    wait_for(driver, "return document.querySelector('#ex-headline .card')")
    expected = logic.download("csv", "resnet18", None)["content"]
    for button, name in (("#ex-dl-csv", "resnet18-layers.csv"), ("#ex-dl-svg", "resnet18.svg"),
                         ("#ex-dl-report", "resnet18.html")):
        driver.find_element("css selector", button).click()
        path = downloaded(driver.downloads, name, timeout=120)
        body = path.read_text()
        if name.endswith(".csv"):
            assert body == expected
        elif name.endswith(".svg"):
            assert body.startswith("<svg") and "conv1" in body
        else:
            assert "<html" in body and "11,689,512" in body


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 800])
def test_the_modebar_never_covers_a_chart_title(server, width):
    d = make_driver(width, 1000)
    try:
        for path, ready in (("/", "#hist-bubble .scatterlayer"), ("/explorer?model=resnet50", "#ex-share .barlayer"),
                            ("/compare?models=vgg16,googlenet,resnet50,densenet121", "#cmp-share .barlayer"),
                            ("/lessons", "#ls-figure .barlayer")):
            d.get(server.url + path)
            wait_for(d, f"return document.querySelector('{ready}')")
            time.sleep(1.5)  # plotly's responsive relayout
            clashes = d.execute_script("""
                const hit = (a, b) => a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
                const out = []; let checked = 0;
                document.querySelectorAll('.js-plotly-plot').forEach(plot => {
                  const bar = plot.querySelector('.modebar');
                  if (!bar) return;
                  const box = bar.getBoundingClientRect();
                  plot.querySelectorAll('.gtitle, .annotation-text').forEach(t => {
                    const r = t.getBoundingClientRect();
                    if (r.width && box.width) checked += 1;
                    if (r.width && hit(box, r)) out.push([plot.parentElement.id, t.textContent]);
                  });
                });
                return [out, checked]""")
            assert clashes[0] == [], (path, width, clashes)
            assert clashes[1] >= 1, (path, width)  # titles and mode bars were there to compare
    finally:
        d.quit()



@pytest.mark.browser
def test_explorer_graph_view_links_nodes_and_table_rows(server, driver):
    """The Explorer's graph view: opens at the stage view, a clicked group opens in place, a
    selected node highlights its table row (turning the page to it), a clicked row selects its node."""
    from archviz.render.graph import Graph

    g = Graph(logic.load("resnet50"))
    driver.get(server.url + "/explorer?model=resnet50")
    view = "document.querySelector('#ex-graph .avg').archvizGraph"
    wait_for(driver, f"const v = document.querySelector('#ex-graph .avg'); return v && v.dataset.renders")
    assert driver.execute_script("return document.querySelectorAll('#ex-graph svg g.node.folded').length") == 4
    layer4 = g.find("layer4")
    driver.execute_script(f"document.querySelector('#ex-graph svg #n{layer4}').dispatchEvent(new MouseEvent('click'))")
    wait_for(driver, f"return document.querySelector('#ex-graph svg #c{layer4}')")
    block = g.find("layer4.2")
    driver.execute_script(f"document.querySelector('#ex-graph svg #n{block}').dispatchEvent(new MouseEvent('click'))")
    # layer4.2 sits on a later page of the table: it turns to that page and marks it
    wait_for(driver, "return document.querySelector('#ex-selected').textContent === 'Highlighted: layer4.2'")
    wait_for(driver, "return [...document.querySelectorAll('#ex-table td[data-dash-column=name]')]"
                     ".some(td => td.textContent === 'layer4.2')")
    # a row click selects its node in the graph
    driver.execute_script("[...document.querySelectorAll('#ex-table td[data-dash-column=name]')]"
                          ".find(td => td.textContent === 'layer4.2.conv2').click()")
    conv2 = g.find("layer4.2.conv2")
    wait_for(driver, f"return document.querySelector('#ex-graph svg #n{conv2}.avg-selected')")
    assert driver.execute_script(f"return {view}.panel.querySelector('h4').textContent") == "layer4.2.conv2"
