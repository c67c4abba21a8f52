"""Screenshots for docs/ of the views issue 20 changed (1400 and 800 px): the report's receptive-field
chart (the input size marked, the feature map from the first layer's resolution), ViT's channel chart
(its 768-wide embedding), the dashboard's Compare table (top-1 from the V1 weights, named), the
Explorer's size hint, and the Lessons gradient chart (from the input to the output).

Run: .venv/bin/python benchmarks/shots_views.py --dashboard URL"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from shots import make_driver, wait_for
from shots import shoot as shoot_docs
from archviz.render.report import write_report  # noqa: E402
from archviz.service import get_profile  # noqa: E402


def shoot(driver, name: str, width: int, selector: str) -> None:
    shoot_docs(driver, name, width, selector, above=50, pause=0.6)


def main() -> None:
    url = sys.argv[sys.argv.index("--dashboard") + 1] if "--dashboard" in sys.argv else None
    with tempfile.TemporaryDirectory() as tmp:
        for width in (1400, 800):
            driver = make_driver(width, 1000)
            try:
                report = write_report([get_profile("densenet121")], Path(tmp) / "d.html")
                driver.get(report.as_uri())
                wait_for(driver, "return document.querySelector('#chart-rf .main-svg')")
                shoot(driver, "report-rf-input-marked", width, "#chart-rf")
                vit = write_report([get_profile("vit_b_16")], Path(tmp) / "v.html")
                driver.get(vit.as_uri())
                wait_for(driver, "return document.querySelector('#chart-channels .main-svg')")
                shoot(driver, "report-vit-channels", width, "#chart-channels")
                if url:
                    driver.get(url + "/compare?models=resnet50,densenet201")
                    wait_for(driver, "return document.querySelectorAll('#cmp-table td').length > 4", 300)
                    shoot(driver, "dashboard-compare-top1-v1", width, "#cmp-table")
                    driver.get(url + "/explorer?model=resnet18&size=16")
                    wait_for(driver, "return document.querySelector('#ex-size-hint')?.textContent")
                    shoot(driver, "dashboard-explorer-size-hint", width, "#ex-size-hint")
                    driver.get(url + "/lessons")
                    wait_for(driver, "return document.querySelector('#ls-grad-cifar .main-svg')", 600)
                    shoot(driver, "dashboard-lessons-gradient", width, "#ls-grad-cifar")
            finally:
                driver.quit()


if __name__ == "__main__":
    main()
