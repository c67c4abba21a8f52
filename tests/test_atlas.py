"""The Atlas: rows from the store (figures equal the stored profiles' totals, facts from the
catalogue), canonical inputs, filtering, the figures, the click target, the report and the page."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from archviz import atlas
from archviz.catalog import atlas_meta
from archviz.profiler import versions
from archviz.render import atlas as render
from archviz.service import get_profile
from archviz.store import Store, Summary, make_key

from conftest import run_cli
from synthetic_atlas import conv_chain, fill_store

# at their default inputs; timm's test_byobnet has neither a paper in its config nor a typed family
STORED = ["alexnet", "resnet18", "resnet20", "timm:resnet10t", "timm:test_byobnet"]


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A store of real small profiles: five models at their default input, resnet18 also at
    112 px, and squeezenet1_1 only at 128 px (no default input stored)."""
    st = Store(tmp_path_factory.mktemp("atlas-store") / "profiles.sqlite")
    for name in STORED:
        get_profile(name, store=st)
    get_profile("resnet18", [1, 3, 112, 112], store=st)
    get_profile("squeezenet1_1", [1, 3, 128, 128], store=st)
    yield st
    st.close()


@pytest.fixture(scope="module")
def rows(store):
    return {r.name: r for r in atlas.load_rows(store)}


def full_profile(store: Store, name: str, input_text: str = "default"):
    """The whole stored profile, decoded as the service reads it (not through the Atlas's heads)."""
    return store.get(make_key(name, input_text, versions()))


# ---- rows --------------------------------------------------------------------------------------
def test_one_row_per_model_with_the_stored_totals(store, rows):
    assert sorted(rows) == sorted([*STORED, "squeezenet1_1"])
    for name in STORED:
        t = full_profile(store, name).totals
        r = rows[name]
        assert (r.params, r.macs, r.flops, r.depth) == (t["params"], t["macs"], t["flops"], t["depth"]), name
        assert r.flops == 2 * r.macs
    # torchvision's published parameter counts (weights meta), an independent reference
    assert rows["alexnet"].params == 61_100_840
    assert rows["resnet18"].params == 11_689_512
    assert rows["resnet18"].depth == 18 and rows["alexnet"].depth == 8


def test_years_families_and_accuracy_come_from_the_catalogue(rows):
    for name, r in rows.items():
        meta = atlas_meta(name)
        assert (r.year, r.family, r.acc1, r.history) == (meta["year"], meta["family"], meta["acc1"],
                                                          meta["history"]), name
    assert (rows["alexnet"].year, rows["resnet18"].year) == (2012, 2015)  # the papers' years
    assert rows["resnet18"].acc1 == pytest.approx(69.758)  # torchvision's ResNet18_Weights.IMAGENET1K_V1
    assert rows["resnet18"].history and not rows["squeezenet1_1"].history
    assert rows["resnet20"].acc1 is None  # archviz's CIFAR net: no published ImageNet weights


def test_models_without_a_paper_year_are_kept_unplaced(rows):
    timm = pytest.importorskip("timm")
    r = rows["timm:test_byobnet"]
    assert r.year is None and not r.placed
    want = sum(p.numel() for p in timm.create_model("test_byobnet").parameters())  # timm's own count
    assert r.params == want and r.macs > 0  # still carries its figures
    assert atlas.counts(list(rows.values()))["unplaced"] == 1
    placed = rows["timm:resnet10t"]  # no paper in its config: ResNet's own paper places it
    want = sum(p.numel() for p in timm.create_model("resnet10t").parameters())  # timm's own count
    assert (placed.year, placed.arxiv, placed.params) == (2015, "1512.03385", want)


def test_the_default_input_is_preferred_and_named(rows):
    r18 = rows["resnet18"]
    assert (r18.input, r18.default_input, r18.inputs) == ("1x3x224x224", True, 2)
    sq = rows["squeezenet1_1"]  # only stored at 128 px: that input, said so
    assert (sq.input, sq.default_input, sq.inputs) == ("1x3x128x128", False, 1)
    assert "not its default input" in render.hover(sq)
    timm = pytest.importorskip("timm")
    size = timm.models.get_pretrained_cfg("resnet10t").input_size  # timm's pretrained config size
    assert rows["timm:resnet10t"].input == "1x" + "x".join(map(str, size))


def test_measured_profiles_are_left_out():
    key = "resnet18|default|archviz=0.1.0;measure.device=cpu;torch=2"
    plain = Summary("resnet18|default|archviz=0.1.0;torch=2", "resnet18", "1x3x224x224", 1.0, {"params": 1})
    measured = Summary(key, "resnet18", "1x3x224x224", 2.0, {"params": 2})
    chosen = atlas.canonical([measured, plain])
    assert chosen["resnet18"][0] is plain
    assert atlas.canonical([measured]) == {}


def test_a_model_the_catalogue_cannot_place_stays_with_a_reason():
    s = Summary("ghost|default|v", "ghost", "1x3x224x224", 1.0, {"params": 10, "macs": 20, "depth": 1})

    def broken(name):
        raise RuntimeError("no such model")
    (row,) = atlas.build_rows([s], broken)
    assert (row.name, row.params, row.family, row.year) == ("ghost", 10, atlas.NO_FAMILY, None)
    assert "no such model" in row.meta_note


# ---- filtering ---------------------------------------------------------------------------------
def test_filter_by_family_and_plain_text_search(rows):
    all_rows = list(rows.values())
    resnets = atlas.filter_rows(all_rows, ["ResNet"])
    assert sorted(r.name for r in resnets) == ["resnet18", "resnet20", "timm:resnet10t"]
    assert [r.name for r in atlas.filter_rows(all_rows, search="ALEX")] == ["alexnet"]
    assert atlas.filter_rows(all_rows, search=".*") == []  # text, never a pattern
    assert [r.name for r in atlas.filter_rows(all_rows, ["AlexNet"], "resnet")] == []
    assert len(atlas.filter_rows(all_rows)) == len(all_rows)


def test_client_values_are_validated(monkeypatch, store):
    from archviz.dashboard import atlas as page

    cache = atlas.AtlasCache()
    monkeypatch.setattr(page, "rows", lambda: cache.rows(store))
    v = page.view(["NoSuchFamily"], "x" * (atlas.MAX_SEARCH + 1), "bogus")
    assert set(v["errors"]) == {"family", "search", "metric"}
    assert "unknown 'NoSuchFamily'" in v["errors"]["family"]
    assert len(v["rows"]) == v["total"] == len(STORED) + 1  # bad fields are ignored, not obeyed
    assert page.view({"$regex": 1}, ["a"], None)["errors"].keys() == {"family", "search", "metric"}
    ok = page.view(["ResNet"], "  resnet1 ", "depth")
    assert ok["errors"] == {} and sorted(r.name for r in ok["rows"]) == ["resnet18", "timm:resnet10t"]
    nothing = page.view([], "no-such-net", "params")
    assert nothing["rows"] == [] and render.NOTHING_MATCHES in json.dumps(nothing["year"])


def test_a_click_opens_catalogue_models_in_the_explorer(monkeypatch, store):
    from archviz.dashboard import atlas as page

    cache = atlas.AtlasCache()
    monkeypatch.setattr(page, "rows", lambda: cache.rows(store))

    def click(name):
        return page.click_target({"points": [{"customdata": name}]})
    assert click("resnet18")[0] == "/explorer?model=resnet18"
    assert click("squeezenet1_1")[0] == "/explorer?model=squeezenet1_1&size=128"
    href, text = click("timm:resnet10t")
    assert href is None and "archviz report timm:resnet10t" in text
    assert click("vgg16") == (None, None)  # not in the store: ignored
    assert page.click_target({"points": "x"}) == (None, None)
    assert page.click_target(None) == (None, None)


# ---- figures -----------------------------------------------------------------------------------
def points(fig, kind=None):
    return [(x, y, c) for t in fig["data"] if kind in (None, t["type"]) and t.get("customdata")
            for x, y, c in zip(t["x"], t["y"], t["customdata"])]


def test_by_year_draws_every_model_webgl_with_the_lecture_set_on_top(rows):
    all_rows = list(rows.values())
    fig = render.by_year(all_rows, "params")
    gl = points(fig, "scattergl")
    assert sorted(c for _, _, c in gl) == sorted(rows)  # every model, WebGL
    for x, y, name in gl:
        r = rows[name]
        assert y == r.params
        if r.year is not None:
            assert abs(x - r.year) <= 0.3  # jittered within its year
    strip = fig["layout"]["xaxis"]["tickvals"][-1]
    assert fig["layout"]["xaxis"]["ticktext"][-1] == "no year"
    (x_byob,) = [x for x, _, c in gl if c == "timm:test_byobnet"]
    (band,) = fig["layout"]["shapes"]
    assert band["x0"] < x_byob < band["x1"] and band["x0"] < strip < band["x1"]
    assert band["x0"] > max(r.year for r in rows.values() if r.year) + 0.3  # apart from the last year
    lecture = [t for t in fig["data"] if t["type"] == "scatter" and t.get("customdata")]
    assert sorted(lecture[0]["customdata"]) == ["alexnet", "resnet18"]
    bulk_size = next(t for t in fig["data"] if t["type"] == "scattergl")["marker"]["size"]
    assert lecture[0]["marker"]["size"] > bulk_size and lecture[0]["marker"]["line"]["width"] > 0
    labels = {a["text"] for a in fig["layout"]["annotations"]}
    assert {"AlexNet", "ResNet-18"} <= labels
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert set(fig["layout"]["yaxis"]["ticktext"]) >= {"10M", "20M", "50M"}  # 1-2-5 ticks
    hover = render.hover(rows["resnet18"])
    assert "11.69 M" in hover and "FLOPs" in hover and "2 × MACs" in hover and "2015" in hover


def test_depth_and_macs_panels(rows):
    for metric, attr in (("depth", "depth"), ("macs", "macs")):
        fig = render.by_year(list(rows.values()), metric)
        assert {c: y for _, y, c in points(fig, "scattergl")} == {n: getattr(r, attr) for n, r in rows.items()}
    macs = render.by_year(list(rows.values()), "macs")["layout"]
    assert "FLOPs = 2 × MACs" in macs["yaxis"]["title"]["text"]
    assert macs["title"]["text"].startswith("MACs by paper year (6 models)")


def test_accuracy_vs_macs_shows_published_accuracy_only(rows):
    fig = render.accuracy_vs_macs(list(rows.values()))
    got = {c: (x, y) for x, y, c in points(fig, "scattergl")}
    want = {n: (r.macs, r.acc1) for n, r in rows.items() if r.acc1 is not None}
    assert got == want and "alexnet" in got and "resnet20" not in got
    assert fig["layout"]["xaxis"]["type"] == "log"
    assert "3 of 6 models" in fig["layout"]["title"]["text"]


def test_empty_store_says_what_to_do(tmp_path):
    st = Store(tmp_path / "profiles.sqlite")
    assert atlas.load_rows(st) == []
    for fig in (render.by_year([], "params"), render.accuracy_vs_macs([])):
        assert "archviz sweep --torchvision" in json.dumps(fig)
    assert "archviz sweep --torchvision" in render.intro([])
    page = render.render_html([], command="archviz report --atlas")
    assert "archviz sweep --torchvision" in page and 'class="layers"' not in page  # no empty table
    st.close()


def test_cache_reads_the_store_again_only_after_a_write(tmp_path):
    st = Store(tmp_path / "profiles.sqlite")
    fill_store(st, ["alexnet", "vgg16"], versions())
    calls = []

    def meta(name):
        calls.append(name)
        return atlas_meta(name)
    cache = atlas.AtlasCache(meta)
    first = cache.rows(st)
    assert cache.rows(st) is first and sorted(calls) == ["alexnet", "vgg16"]
    time.sleep(0.01)
    added = fill_store(st, ["resnet50"], versions())
    again = cache.rows(st)
    assert sorted(r.name for r in again) == ["alexnet", "resnet50", "vgg16"]
    assert sorted(calls) == ["alexnet", "resnet50", "vgg16"]  # catalogue facts looked up once each
    assert {r.name: r for r in again}["resnet50"].params == added["resnet50"].totals["params"]
    st.close()


def test_1500_points_stay_one_webgl_trace_per_family():
    n = 1500
    chains = [conv_chain(f"net{i:04d}", 4 + i % 20, 16) for i in range(n)]
    summaries = [Summary(f"{p.model}|default|v", p.model, "1x3x224x224", float(i), p.totals)
                 for i, p in enumerate(chains)]

    def meta(name):
        i = int(name[3:])
        return {"label": name, "family": f"family{i % 30}", "year": None if i % 10 == 0 else 2012 + i % 12,
                "acc1": 60 + i % 25 if i % 3 else None, "colour": "#1f77b4", "history": False}
    rows = atlas.build_rows(summaries, meta)
    fig = render.by_year(rows, "macs")
    gl = [t for t in fig["data"] if t["type"] == "scattergl"]
    assert len(gl) == 30 and sum(len(t["x"]) for t in gl) == n
    assert {c: y for _, y, c in points(fig)} == {p.model: p.totals["macs"] for p in chains}
    assert "150 without a year" in json.dumps(fig["layout"]["annotations"])
    (band,) = fig["layout"]["shapes"]
    unplaced = [x for x, _, c in points(fig) if int(c[3:]) % 10 == 0]
    assert len(unplaced) == 150 and all(band["x0"] < x < band["x1"] for x in unplaced)
    acc = render.accuracy_vs_macs(rows)
    assert sum(len(t["x"]) for t in acc["data"] if t["type"] == "scattergl") == sum(1 for i in range(n) if i % 3)


def test_synthetic_chain_totals_are_hand_arithmetic():
    p = conv_chain("tiny", 1, 16, size=8)  # one 3x3 conv 3->16 at stride 2 (8 -> 4 px), then fc 16->1000
    conv_params, conv_macs = 9 * 3 * 16 + 16, 9 * 3 * 16 * 4 * 4
    assert p.totals["params"] == conv_params + 16 * 1000 + 1000
    assert p.totals["macs"] == conv_macs + 16 * 1000


# ---- the report --------------------------------------------------------------------------------
def test_report_is_self_contained_with_a_sortable_table(rows, tmp_path):
    path = render.write_atlas(list(rows.values()), tmp_path / "atlas.html", command="archviz report --atlas")
    text = path.read_text()
    assert "<script src" not in text and "Plotly.newPlot" in text and "plotly.js" in text.lower()
    for name in rows:
        assert f'data-v="{name.lower()}"' in text
    assert "FLOPs = 2 × MACs" in text and "6 models profiled" in text
    for fig_id in ("atlas-depth", "atlas-params", "atlas-macs", "atlas-accuracy"):
        assert f'id="{fig_id}"' in text and f'"{fig_id}"' in text
    assert text.count('class="lecture"') == 2  # alexnet and resnet18 in bold
    assert "1x3x128x128 *" in text  # squeezenet's only stored input, marked


def test_a_failed_report_keeps_the_old_file(rows, tmp_path, monkeypatch):
    path = tmp_path / "atlas.html"
    path.write_text("old")

    def broken(*_a, **_k):
        raise RuntimeError("render failed")
    monkeypatch.setattr(render, "render_html", broken)
    with pytest.raises(RuntimeError):
        render.write_atlas(list(rows.values()), path)
    assert path.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["atlas.html"]


def test_cli_report_atlas(store, tmp_path):
    out = tmp_path / "a.html"
    r = run_cli("report", "--atlas", "-o", str(out), env={"ARCHVIZ_HOME": str(Path(store.path).parent)})
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == str(out) and "timm:resnet10t" in out.read_text()
    bad = run_cli("report", "--atlas", "resnet18")
    assert bad.returncode == 2 and bad.stderr.count("\n") == 1 and "takes no MODEL" in bad.stderr
    none = run_cli("report")
    assert none.returncode == 2 and "--atlas" in none.stderr and "Traceback" not in none.stderr
    txt = run_cli("report", "--atlas", "-o", str(tmp_path / "a.txt"))
    assert txt.returncode == 2 and ".html" in txt.stderr


# ---- the page in a browser ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def server(history_profiles):
    from dash_client import DashServer

    srv = DashServer(env=dict(os.environ))
    yield srv
    srv.stop()



SHOWN = "return document.querySelector('#atlas-shown')?.textContent"


def test_hostile_values_over_http_get_messages_not_errors(server):
    from dash_client import ATLAS_CLICK_OUTPUT, ATLAS_OUTPUT, call

    r = call(server.url, ATLAS_OUTPUT, {"atlas-family.value": {"$ne": 1}, "atlas-search.value": "x" * 10_000,
                                        "atlas-metric.value": 7, "atlas-weights.value": "v2"})
    assert "Fix the marked field" in json.dumps(r["atlas-message"])
    for slot, words in (("atlas-family-msg", "expected a list"), ("atlas-search-msg", "at most 80"),
                        ("atlas-metric-msg", "not one of"), ("atlas-weights-msg", "not one of")):
        assert words in json.dumps(r[slot]), slot
    assert r["atlas-shown"]["children"].startswith("Showing ")  # everything, the bad fields ignored
    ok = call(server.url, ATLAS_OUTPUT, {"atlas-family.value": ["ResNet"], "atlas-search.value": "(a|b)*",
                                         "atlas-metric.value": "depth", "atlas-weights.value": "v1"})
    assert ok["atlas-search-msg"]["children"] is None and ok["atlas-shown"]["children"].startswith("Showing 0 of")
    for click in ({"points": [{"customdata": "tests/evil.py:f"}]}, {"points": [7]}, "x", None):
        r = call(server.url, ATLAS_CLICK_OUTPUT, {"atlas-year.clickData": click, "atlas-accuracy.clickData": None})
        assert "atlas-go" not in r  # no navigation
    r = call(server.url, ATLAS_CLICK_OUTPUT, {"atlas-year.clickData": {"points": [{"customdata": "resnet50"}]},
                                              "atlas-accuracy.clickData": None})
    assert r["atlas-go"]["href"] == "/explorer?model=resnet50"


@pytest.mark.browser
@pytest.mark.parametrize("width", [1400, 800])
def test_atlas_page_filters_and_opens_the_explorer(server, width, artifacts):
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.keys import Keys

    from browser import console_errors, make_driver, wait_for

    driver = make_driver(width, 1100)
    try:
        driver.get(server.url + "/atlas")
        total = int(wait_for(driver, SHOWN).split(" of ")[1].split()[0].replace(",", ""))
        assert total >= 14  # at least the history set (the session store)
        wait_for(driver, "return document.querySelectorAll('#atlas-year canvas').length > 0")  # WebGL
        wait_for(driver, "return document.querySelectorAll('#atlas-year .scatterlayer .point').length >= 14")
        assert driver.find_element("css selector", "#atlas-year").size["width"] <= width
        driver.save_screenshot(str(artifacts / f"atlas-{width}.png"))
        search = driver.find_element("css selector", "#atlas-search")
        search.send_keys("densenet")
        want = len(atlas.filter_rows(atlas.load_rows(), search="densenet"))  # the same store, read here
        assert want >= 3
        wait_for(driver, SHOWN.replace("?.textContent", f"?.textContent.startsWith('Showing {want} of')"))
        search.send_keys(Keys.CONTROL, "a")  # select and replace: clear() sends no input event to React
        search.send_keys("no-such-model")
        wait_for(driver, "return document.querySelector('#atlas-year').textContent.includes('No model matches')")
        assert driver.execute_script(SHOWN).startswith("Showing 0 of")
        assert console_errors(driver) == []
        driver.get(server.url + "/atlas")
        wait_for(driver, "return document.querySelectorAll('#atlas-accuracy .scatterlayer .point').length >= 14")
        first = driver.execute_script("return document.querySelector('#atlas-accuracy .js-plotly-plot').data"
                                      ".find(t => t.type === 'scatter' && t.customdata).customdata[0]")
        for _attempt in range(5):  # click a lecture model (SVG point) through plotly's drag layer
            point = driver.find_elements("css selector", "#atlas-accuracy .scatterlayer .point")[0]
            driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", point)
            time.sleep(0.5)
            ActionChains(driver).move_to_element(point).pause(0.3).click().perform()
            try:
                wait_for(driver, "return location.pathname === '/explorer'", timeout=5)
                break
            except AssertionError:
                continue
        assert driver.execute_script("return location.search") == f"?model={first}"
        wait_for(driver, "return document.querySelector('#nav-explorer.active') !== null")
        wait_for(driver, f"return document.querySelector('#ex-model')?.textContent.includes('{first}')")
    finally:
        driver.quit()


# ---- the store's summaries ---------------------------------------------------------------------
def test_summaries_read_totals_from_the_head_of_each_blob(store, monkeypatch):
    import zlib

    from archviz import store as store_module

    heads = {s.key: s for s in store.summaries()}
    key = make_key("resnet18", "default", versions())
    assert heads[key].totals == full_profile(store, "resnet18").totals
    assert heads[key].input == "1x3x224x224"
    blob = zlib.compress(full_profile(store, "alexnet").to_json().encode())
    assert store_module.profile_head(blob[:store_module.HEAD_BYTES])["params"] == 61_100_840
    assert store_module.profile_head(blob[:12]) is None  # too short: the caller reads the whole blob
    assert store_module.profile_head(b"not zlib") is None
    monkeypatch.setattr(store_module, "HEAD_BYTES", 12)
    again = {s.key: s for s in store.summaries()}
    assert again[key].totals == heads[key].totals and len(again) == len(heads)


def test_the_atlas_switch_between_original_and_best_weights(history_profiles):
    """One accuracy rule with a visible switch: ResNet-50 at its IMAGENET1K_V1 top-1 (76.13) by
    default, at its DEFAULT weights' (IMAGENET1K_V2, 80.858) when switched; the axis names them."""
    from torchvision.models import ResNet50_Weights

    from archviz.dashboard import atlas as page

    def point(v):
        trace = [t for t in v["accuracy"]["data"] if "resnet50" in (t.get("customdata") or [])][0]
        return trace["y"][trace["customdata"].index("resnet50")]

    v1, best = page.view([], "", "params"), page.view([], "", "params", "best")
    meta = lambda w: w.meta["_metrics"]["ImageNet-1K"]["acc@1"]  # noqa: E731
    assert point(v1) == meta(ResNet50_Weights.IMAGENET1K_V1) and point(best) == meta(ResNet50_Weights.IMAGENET1K_V2)
    assert "original V1 weights" in v1["accuracy"]["layout"]["yaxis"]["title"]["text"]
    assert "best weights" in best["accuracy"]["layout"]["yaxis"]["title"]["text"]
