"""Screenshots of the graph view for docs/ (1400 and 800 px): a report's stage view, ResNet-50 with
a stage and a bottleneck open and a node selected, DenseNet-121 found by search, a measured profile
coloured by latency (synthetic timings), and the dashboard's Explorer and Compare.

Run: .venv/bin/python benchmarks/shots_graph.py [--dashboard URL]"""

from __future__ import annotations

import sys
import tempfile
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from archviz.render.graph import Graph  # noqa: E402
from archviz.render.report import write_report  # noqa: E402
from archviz.service import get_profile  # noqa: E402
from browser import make_driver, wait_for  # noqa: E402

DOCS = ROOT / "docs"
VIEW = "document.querySelector('.avg').archvizGraph"


def settle(driver) -> None:
    wait_for(driver, f"const v = document.querySelector('.avg'); return v && v.archvizGraph && v.archvizGraph.renders", 300)
    time.sleep(0.4)


def show_graph(driver, selector: str = ".avg") -> None:
    driver.execute_script(f"document.querySelector('{selector}').scrollIntoView({{block: 'start'}}); window.scrollBy(0, -8)")
    time.sleep(0.3)


def shoot(driver, name: str, width: int) -> None:
    out = DOCS / f"{name}-{width}.png"
    driver.save_screenshot(str(out))
    print(out)


def report_shots(width: int, folder: Path) -> None:
    from synthetic_measure import synthetic_measure

    driver = make_driver(width, 1000)
    try:
        r50 = get_profile("resnet50")
        g = Graph(r50)
        driver.get(write_report([r50], folder / "r50.html").as_uri())
        settle(driver)
        show_graph(driver)
        shoot(driver, "graph-resnet50-stages", width)
        driver.execute_script(f"const v = {VIEW}; v.expanded.add({g.find('layer1')}); v.expanded.add({g.find('layer1.0')});"
                              f"v.reveal({g.find('layer1.0.conv2')}, true)")
        time.sleep(1.0)
        shoot(driver, "graph-resnet50-open", width)
        d121 = get_profile("densenet121")
        driver.get(write_report([d121], folder / "d121.html").as_uri())
        settle(driver)
        driver.execute_script(f"{VIEW}.find('features.denseblock3.denselayer24')")
        time.sleep(1.0)
        show_graph(driver)
        driver.execute_script(f"{VIEW}.reveal({Graph(d121).find('features.denseblock3.denselayer24')}, false)")
        time.sleep(0.8)
        shoot(driver, "graph-densenet121-search", width)
        m = synthetic_measure(get_profile("resnet18"))
        driver.get(write_report([m], folder / "m.html").as_uri())
        settle(driver)
        driver.execute_script(f"const v = {VIEW}; v.colourSel.value = 'latency'; v.colour = 'latency'; v.setLevel('2')")
        time.sleep(1.0)
        show_graph(driver)
        shoot(driver, "graph-latency-synthetic", width)
    finally:
        driver.quit()


def dashboard_shots(url: str, width: int) -> None:
    driver = make_driver(width, 1000)
    try:
        driver.get(url + "/explorer?model=googlenet")
        settle(driver)
        driver.execute_script(f"{VIEW}.find('inception4a')")
        time.sleep(1.0)
        show_graph(driver, ".graph-host")
        shoot(driver, "dashboard-graph-explorer", width)
        driver.get(url + "/compare?models=resnet50,densenet121")
        wait_for(driver, "return document.querySelectorAll('#cmp-graph .avg').length === 2 && "
                         "[...document.querySelectorAll('#cmp-graph .avg')].every(v => v.dataset.renders)", 300)
        time.sleep(0.5)
        show_graph(driver, "#cmp-graph")
        shoot(driver, "dashboard-graph-compare", width)
    finally:
        driver.quit()


def main() -> None:
    url = sys.argv[sys.argv.index("--dashboard") + 1] if "--dashboard" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        for width in (1400, 800):
            report_shots(width, Path(tmp))
            if url:
                dashboard_shots(url, width)


if __name__ == "__main__":
    main()
