"""The interactive graph view in headless Chromium, in offline reports: expanding a folded ResNet
stage into blocks that each have their own add, a bottleneck into its layers, the latency overlay
on a measured profile, search, SVG export, every densenet121 module reachable, and the browser's
DOT equal to Python's for the same state (one folding rule, two faces)."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET

import pytest

from archviz.render.graph import Graph
from archviz.render.report import write_report
from browser import console_errors, make_driver, requested_urls, wait_for


SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def driver():
    d = make_driver(1400, 1000)
    yield d
    d.quit()


def open_report(driver, profiles, path):
    write_report(profiles, path)
    driver.get_log("browser"), driver.get_log("performance")
    driver.get(path.as_uri())
    wait_for(driver, "const g = document.getElementById('graph-0'); return g && g.dataset.renders")
    return driver


def view_js(i: int = 0) -> str:
    return f"document.getElementById('graph-{i}').archvizGraph"


def render_count(driver, i: int = 0) -> int:
    return int(driver.execute_script(f"return Number(document.getElementById('graph-{i}').dataset.renders)"))


def click_node(driver, nid: int, i: int = 0) -> None:
    before = render_count(driver, i)
    driver.execute_script(f"document.querySelector('#graph-{i} #n{nid}').dispatchEvent(new MouseEvent('click', "
                          "{bubbles: true}))")
    wait_for(driver, f"return Number(document.getElementById('graph-{i}').dataset.renders) > {before}")


def shown(driver, selector: str, i: int = 0) -> list[str]:
    return driver.execute_script(f"return [...document.querySelectorAll('#graph-{i} svg {selector}')]"
                                 ".map(g => g.id)")


def node_text(driver, nid: int, i: int = 0) -> str:
    return driver.execute_script(f"const g = document.querySelector('#graph-{i} svg #n{nid}'); "
                                 "return g ? g.textContent : null")


@pytest.mark.browser
def test_resnet50_stage_expands_into_blocks_each_with_its_own_add(driver, history_profiles, tmp_path):
    p = history_profiles["resnet50"]
    g = Graph(p)
    open_report(driver, [p], tmp_path / "r50.html")
    layer1 = g.find("layer1")
    # the stage view: four folded stages, each saying it holds one add per block
    folded = shown(driver, "g.node.folded")
    assert len(folded) == 4
    assert "3 adds, each block its own" in node_text(driver, layer1)
    assert "block 1: projection shortcut" in node_text(driver, layer1)
    assert shown(driver, "g.node.satellite") == []  # no one add drawn for a whole stage
    click_node(driver, layer1)
    blocks = [g.find(f"layer1.{k}") for k in range(3)]
    assert sorted(shown(driver, "g.node.block")) == sorted(f"n{b}" for b in blocks)
    # each block its own add, and its own dashed shortcut into that add
    assert sorted(shown(driver, "g.node.satellite")) == sorted(f"s{b}" for b in blocks)
    skips = driver.execute_script("return [...document.querySelectorAll('#graph-0 svg g.edge.skip')]"
                                  ".map(e => e.querySelector('title').textContent)")
    assert sorted(t.split("->")[1] for t in skips) == sorted(f"s{b}" for b in blocks)
    assert len(shown(driver, "g.edge.skip-projection")) == 1  # layer1.0's 1x1 projection
    assert console_errors(driver) == []
    assert not [u for u in requested_urls(driver) if u.startswith("http")]  # offline: no CDN


@pytest.mark.browser
def test_bottleneck_expands_into_its_layers(driver, history_profiles, tmp_path):
    p = history_profiles["resnet50"]
    g = Graph(p)
    open_report(driver, [p], tmp_path / "r50b.html")
    click_node(driver, g.find("layer1"))
    block = g.find("layer1.0")
    click_node(driver, block)
    for name in ("conv1", "bn1", "conv2", "bn2", "conv3", "bn3", "downsample"):
        assert f"n{g.find(f'layer1.0.{name}')}" in shown(driver, "g.node"), name
    # the block's own add is now an op node with two inputs: bn3 and the projection shortcut
    add = next(n.id for n in g.tree.nodes if n.parent == block and n.merge == "add")
    titles = driver.execute_script("return [...document.querySelectorAll('#graph-0 svg g.edge')]"
                                   ".map(e => e.querySelector('title').textContent)")
    into_add = sorted(t.split("->")[0] for t in titles if t.endswith(f"->n{add}"))
    assert into_add == sorted([f"n{g.find('layer1.0.bn3')}", f"n{g.find('layer1.0.downsample')}"])
    assert f"s{block}" not in shown(driver, "g.node")  # open: the add is drawn once, as itself


@pytest.mark.browser
def test_latency_overlay_on_a_measured_profile(driver, history_profiles, tmp_path):
    from synthetic_measure import synthetic_measure

    p = synthetic_measure(history_profiles["resnet18"])
    open_report(driver, [p], tmp_path / "measured.html")
    options = driver.execute_script("return [...document.querySelectorAll('#graph-0 .avg-colour option')]"
                                    ".map(o => o.value)")
    assert {"latency", "achieved", "bound"} <= set(options)
    driver.execute_script(f"const s = document.querySelector('#graph-0 .avg-colour'); s.value = 'latency'; "
                          "s.dispatchEvent(new Event('change'))")
    wait_for(driver, "return document.querySelector('#graph-0 .avg-legend').textContent.includes('latency')")
    wait_for(driver, "return document.getElementById('graph-0').archvizGraph.colour === 'latency'")
    time.sleep(0.3)
    g = Graph(p)
    conv1 = g.find("conv1")
    fills = driver.execute_script("return [...document.querySelectorAll('#graph-0 svg g.node.atom > path')]"
                                  ".map(e => e.getAttribute('fill'))")
    assert len(set(fills)) >= 3  # a real scale, not one colour
    # the stem conv's colour is what labels.fill gives its latency on the page's scale
    from archviz.render.graph.labels import fill

    doms = driver.execute_script(f"return {view_js()}.doms")
    want = fill(g.tree.nodes[conv1].figures["latency_ms"], doms["latency"], "log")[0]
    got = driver.execute_script(f"return document.querySelector('#graph-0 svg #n{conv1} > path').getAttribute('fill')")
    assert got.lower() == want.lower()
    legend = driver.execute_script("return document.querySelector('#graph-0 .avg-legend').textContent")
    assert "latency (ms)" in legend and "log scale" in legend


@pytest.mark.browser
def test_search_lands_on_a_dense_layer_and_svg_export(driver, history_profiles, tmp_path):
    p = history_profiles["densenet121"]
    g = Graph(p)
    open_report(driver, [p], tmp_path / "d121.html")
    target = g.find("features.denseblock3.denselayer24")
    driver.execute_script("const s = document.querySelector('#graph-0 .avg-search'); "
                          "s.value = 'features.denseblock3.denselayer24'; s.dispatchEvent(new Event('change'))")
    wait_for(driver, f"return document.querySelector('#graph-0 svg #n{target}.avg-selected')")
    assert "denselayer24" in node_text(driver, target)
    panel = driver.execute_script("return document.querySelector('#graph-0 .avg-panel h4').textContent")
    assert panel == "features.denseblock3.denselayer24"
    # the table row of the selected node is highlighted
    row = driver.execute_script("const r = document.querySelector('#layers-0 tr.avg-row-selected td.c-name'); "
                                "return r && r.dataset.v")
    assert row == "features.denseblock3.denselayer24"
    # export: the file downloaded is the SVG of this state, with the dense layer in it
    driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(tmp_path)})
    driver.execute_script("document.querySelector('#graph-0 .avg-export-svg').click()")
    out = tmp_path / "densenet121-graph.svg"
    deadline = time.time() + 30
    while not out.exists() and time.time() < deadline:
        time.sleep(0.2)
    root = ET.fromstring(out.read_bytes())
    ids = {e.get("id") for e in root.iter(f"{SVG}g")}
    assert f"n{target}" in ids and f"c{g.find('features.denseblock3')}" in ids


@pytest.mark.browser
def test_a_table_row_selects_its_node(driver, history_profiles, tmp_path):
    p = history_profiles["vgg16"]
    g = Graph(p)
    open_report(driver, [p], tmp_path / "vgg.html")
    driver.execute_script("[...document.querySelectorAll('#layers-0 td.c-name')].find(c => c.dataset.v === "
                          "'features.28').click()")
    node = g.find("features.28")
    wait_for(driver, f"return document.querySelector('#graph-0 svg #n{node}.avg-selected')")
    # VGG's 31 features are five stages, not a flat list
    assert [n.name for n in g.tree.nodes if n.stage] == [
        "features[0–4]", "features[5–9]", "features[10–16]", "features[17–23]", "features[24–30]"]


@pytest.mark.browser
def test_every_densenet121_module_can_be_reached(driver, history_profiles, tmp_path):
    p = history_profiles["densenet121"]
    g = Graph(p)
    open_report(driver, [p], tmp_path / "d121all.html")
    driver.execute_script("document.querySelector('#graph-0 .avg-expand-all').click()")
    wait_for(driver, "return document.querySelector('#graph-0 .avg-status').textContent.includes('groups open') && "
                     f"{view_js()}.expanded.size === {sum(1 for n in g.tree.nodes if n.kind == 'group')}")
    time.sleep(0.5)
    ids = set(driver.execute_script("return [...document.querySelectorAll('#graph-0 svg g')].map(e => e.id)"))
    missing = []
    for r in p.layers[1:]:
        nid = g.find(r["name"])
        kind = g.tree.nodes[nid].kind
        if f"{'c' if kind == 'group' else 'n'}{nid}" not in ids:
            missing.append(r["name"])
    assert missing == [] and len(p.layers) == 433


@pytest.mark.browser
@pytest.mark.parametrize("model,expand", [
    ("resnet50", ["layer1", "layer2.0"]), ("googlenet", ["inception3a"]), ("densenet121", ["features.denseblock1"]),
    ("vgg16", ["features"]),
])
def test_browser_dot_equals_python_dot(driver, history_profiles, tmp_path, model, expand):
    p = history_profiles[model]
    g = Graph(p)
    open_report(driver, [p], tmp_path / f"{model}.html")
    state = g.expanded("initial", expand)
    js = driver.execute_script(f"const v = {view_js()}; v.expanded = new Set(arguments[0]); v.colour = 'macs'; "
                               "return v.dot()", sorted(state))
    assert js == g.dot(state, "macs")


@pytest.mark.browser
def test_notebook_output_mounts_the_live_view(driver, history_profiles, tmp_path):
    """A notebook's `_repr_html_` (as an exported notebook holds it) brings the whole view: scripts
    inline, the static first state replaced by the live one, no scroll box clipping it."""
    p = history_profiles["resnet18"]
    page = tmp_path / "nb.html"
    page.write_text(f"<!DOCTYPE html><html><body>{p._repr_html_()}</body></html>")
    driver.get(page.as_uri())
    wait_for(driver, "const g = document.querySelector('.avg'); return g && g.dataset.renders")
    assert driver.execute_script("return document.querySelectorAll('.avg .avg-canvas svg g.node.folded').length") == 4
    assert console_errors(driver) == []


def test_graph_widget_saves_a_chosen_state(history_profiles, tmp_path):
    p = history_profiles["resnet50"]
    out = p.graph().save(tmp_path / "r50.svg", expand=["layer1"], colour="params")
    svg = out.read_text()
    root = ET.fromstring(svg)
    sats = [g for g in root.iter(f"{SVG}g") if "satellite" in (g.get("class") or "")]
    assert len(sats) == 3  # layer1's three bottlenecks, each its own add
    assert "fill = parameters" in svg


@pytest.mark.browser
def test_hostile_names_stay_text_in_the_view(driver, tmp_path):
    """Module names with markup, quotes, graphviz escapes, controls and a bidi override: every group
    open, the graph draws them as text only (no element made from a name), the panel shows the
    escaped name, and search finds it."""
    from archviz.profiler import profile_module
    from archviz.render.numbers import printable
    from fixtures.hostile_names import HOSTILE, build

    p = profile_module(build().eval(), [1, 3, 32, 32], name='<img src=x onerror="window.pwned=1">')
    g = Graph(p)
    open_report(driver, [p], tmp_path / "hostile.html")
    driver.execute_script(f"{view_js()}.setLevel('all')")
    wait_for(driver, f"return {view_js()}.expanded.size === {sum(1 for n in g.tree.nodes if n.kind == 'group')}")
    time.sleep(0.3)
    assert driver.execute_script("return document.querySelectorAll('#graph-0 img, #graph-0 script, "
                                 "#graph-0 svg a, #graph-0 foreignObject').length") == 0
    assert driver.execute_script("return window.pwned") is None
    texts = driver.execute_script("return [...document.querySelectorAll('#graph-0 svg text')].map(t => t.textContent)")
    assert printable(HOSTILE["tail"]) in texts and printable(HOSTILE["fc"]) in texts  # \\u202e shown, not obeyed
    tail = g.find(HOSTILE["tail"])
    driver.execute_script(f"{view_js()}.find(arguments[0])", printable(HOSTILE["tail"]))
    wait_for(driver, f"return document.querySelector('#graph-0 svg #n{tail}.avg-selected')")
    assert driver.execute_script("return document.querySelector('#graph-0 .avg-panel h4').textContent") == \
        printable(HOSTILE["tail"])
    assert console_errors(driver) == []
