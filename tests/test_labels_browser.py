"""Labels in a real headless Chromium at 1400 and 800 px: no two label texts overlap, none is cut by its
plot or its figure, and the modebar never covers a chart title. Checked on the History charts (the
crowded ones: VGG's four, GoogLeNet beside ResNet-18, the DenseNets) and on every chart of the single
and the comparison report."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from archviz.render import charts
from archviz.render.report import write_report
from browser import make_driver

pytestmark = pytest.mark.browser

WIDTHS = (1400, 800)

COLLECT = """
const out = [];
document.querySelectorAll('.js-plotly-plot').forEach(gd => {
  const r = e => { const b = e.getBoundingClientRect();
                   return [b.left + scrollX, b.top + scrollY, b.right + scrollX, b.bottom + scrollY]; };
  const labels = [];
  gd.querySelectorAll('g.annotation').forEach(g => {
    const a = gd._fullLayout.annotations[+g.getAttribute('data-index')];
    const t = g.querySelector('text');
    if (!t || !t.textContent.trim() || !a) return;
    labels.push({text: t.textContent, box: r(t), data: a.xref !== 'paper' && a.yref !== 'paper'});
  });
  gd.querySelectorAll('g.textpoint text').forEach(t => {
    if (t.textContent.trim()) labels.push({text: t.textContent, box: r(t), data: true});
  });
  const title = gd.querySelector('.gtitle');
  const bar = gd.querySelector('.modebar');
  out.push({id: gd.id, figure: r(gd.querySelector('.main-svg')), labels: labels,
            plots: Array.from(gd.querySelectorAll('.nsewdrag')).map(r),
            title: title && title.textContent ? r(title) : null, modebar: bar ? r(bar) : null});
});
return out;
"""


def overlap(a, b, tol=0.5):
    """Shared area of two boxes (left, top, right, bottom), ignoring sub-pixel touches."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > tol and h > tol else 0.0


def inside(box, area, tol=1.0):
    return box[0] >= area[0] - tol and box[1] >= area[1] - tol and box[2] <= area[2] + tol and box[3] <= area[3] + tol


def problems(figures: list[dict]) -> list[str]:
    """Every overlap, clipped label and covered title, as sentences (empty: all clear)."""
    out = []
    for f in figures:
        labels = f["labels"]
        for i, a in enumerate(labels):
            for b in labels[i + 1:]:
                if overlap(a["box"], b["box"]):
                    out.append(f"{f['id']}: '{a['text']}' overlaps '{b['text']}'")
            area = f["plots"] if a["data"] else [f["figure"]]
            if not any(inside(a["box"], p) for p in area):
                out.append(f"{f['id']}: '{a['text']}' is cut ({[round(v) for v in a['box']]})")
        if f["title"] and f["modebar"] and overlap(f["title"], f["modebar"]):
            out.append(f"{f['id']}: the modebar covers the title")
    return out


def open_page(driver, path: Path, width: int, charts_expected: int) -> list[dict]:
    driver.set_window_size(width, 1000)
    driver.get(path.resolve().as_uri())
    for _ in range(200):
        drawn = driver.execute_script("return document.querySelectorAll('.js-plotly-plot .main-svg').length")
        if drawn >= charts_expected:
            break
        time.sleep(0.1)
    time.sleep(0.5)
    return driver.execute_script(COLLECT)


def figure_page(figures: dict[str, dict], path: Path) -> Path:
    """A bare page with the given figures, as the dashboard lays out the History page (full width)."""
    from plotly.offline import get_plotlyjs

    divs = "".join(f'<div id="{k}" style="height:{f["layout"].get("height", 450)}px"></div>' for k, f in figures.items())
    path.write_text(
        "<!DOCTYPE html><html><head><meta charset='utf-8'><script>" + get_plotlyjs() + "</script></head>"
        "<body style='margin:0;padding:0 40px;font-family:DejaVu Sans'>" + divs + "<script>const F = "
        + json.dumps(figures) + ";for (const [k, f] of Object.entries(F)) Plotly.newPlot(k, f.data, f.layout,"
        " {responsive: true, displaylogo: false});</script></body></html>")
    return path


@pytest.fixture(scope="module")
def driver():
    d = make_driver()
    yield d
    d.quit()


@pytest.mark.parametrize("width", WIDTHS)
def test_history_labels_never_collide(driver, history_profiles, tmp_path, width):
    profiles = list(history_profiles.values())
    figs = {"depth-log": charts.depth_params_by_year(profiles, log=True),
            "depth-linear": charts.depth_params_by_year(profiles, log=False),
            "bubble-macs": charts.accuracy_vs_compute(profiles, "macs", log=True),
            "bubble-flops-linear": charts.accuracy_vs_compute(profiles, "flops", log=False)}
    found = open_page(driver, figure_page(figs, tmp_path / "history.html"), width, len(figs))
    assert len(found) == len(figs) and all(f["modebar"] and f["title"] for f in found)
    by_id = {f["id"]: f for f in found}
    texts = [lb["text"] for lb in by_id["depth-log"]["labels"] if lb["data"]]
    assert len(texts) == 2 * len(profiles)  # every point labelled, in both panels
    for name in ("AlexNet", "GoogLeNet", "ResNet-18", "VGG-11", "DenseNet-121", "152", "169", "201"):
        assert texts.count(name) == 2  # a family's first model in full, the others by their number
    bubble = [lb["text"] for lb in by_id["bubble-macs"]["labels"] if lb["data"]]
    assert sorted(bubble) == sorted(p.catalog["history"]["label"] for p in profiles)
    assert problems(found) == []
    # the log axes show 1-2-5 ticks only, not unlabelled minor digits
    ticks = driver.execute_script("return Array.from(document.querySelectorAll('#bubble-macs .xtick text'))"
                                  ".map(t => t.textContent)")
    assert ticks and set(ticks) <= {"0.2", "0.5", "1", "2", "5", "10", "20", "50"}


@pytest.mark.parametrize("width", WIDTHS)
def test_report_labels_and_titles_clear(driver, history_profiles, tmp_path, width):
    single = write_report([history_profiles["densenet121"]], tmp_path / "single.html")
    found = open_page(driver, single, width, 5)  # four charts and the Memory section's live-memory chart
    assert len(found) == 5 and problems(found) == []
    assert all(f["modebar"] and f["title"] for f in found)  # both there, so the title check checked
    compare = write_report([history_profiles[m] for m in ("resnet18", "resnet50", "densenet121", "densenet201")],
                           tmp_path / "compare.html")
    found = open_page(driver, compare, width, 8)  # four charts and each model's live-memory chart
    assert len(found) == 8 and problems(found) == []


def test_problems_catches_an_overlap_and_a_cut_label():
    """The checker itself can fail: two labels on one spot, one outside its plot."""
    fig = {"id": "f", "figure": [0, 0, 500, 400], "plots": [[50, 50, 450, 350]], "title": [10, 5, 200, 25],
           "modebar": [150, 0, 490, 30],
           "labels": [{"text": "a", "box": [100, 100, 160, 112], "data": True},
                      {"text": "b", "box": [150, 105, 210, 117], "data": True},
                      {"text": "c", "box": [430, 200, 490, 212], "data": True}]}
    found = problems([fig])
    assert "f: 'a' overlaps 'b'" in found and any("'c' is cut" in p for p in found)
    assert "f: the modebar covers the title" in found
