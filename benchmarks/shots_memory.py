"""Screenshots for docs/ of the memory views (issue 23) at 1400 and 800 px: the report's Memory
section (cards and the live-memory chart) for DenseNet-121 trained at batch 8, and the dashboard
Explorer's memory cards, chart and largest-batch answer.

Run: .venv/bin/python benchmarks/shots_memory.py [--dashboard URL]"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from shots import make_driver, wait_for
from shots import shoot as shoot_docs
from archviz.render.report import write_report  # noqa: E402
from archviz.service import get_trained_profile  # noqa: E402
from archviz.training import StepOptions  # noqa: E402


def shoot(driver, name: str, width: int, selector: str) -> None:
    shoot_docs(driver, name, width, selector, above=20, pause=0.8)


def main() -> None:
    url = sys.argv[sys.argv.index("--dashboard") + 1] if "--dashboard" in sys.argv else None
    prof = get_trained_profile("densenet121", None, StepOptions(train=True), batch=8)
    with tempfile.TemporaryDirectory() as tmp:
        report = write_report([prof], Path(tmp) / "m.html")
        for width in (1400, 800):
            driver = make_driver(width, 1100)
            try:
                driver.get(report.as_uri())
                wait_for(driver, "return document.querySelector('#chart-memory-0 .main-svg')")
                shoot(driver, "memory", width, "#memory")
                if url:
                    driver.get(url + "/explorer?model=densenet121")
                    wait_for(driver, "return document.querySelector('#ex-memory-chart .main-svg')", 300)
                    driver.execute_script("document.querySelector('#ex-fit-go').click()")
                    wait_for(driver, "return document.querySelector('#ex-fit-answer')?.textContent.includes('batch')", 300)
                    shoot(driver, "dashboard-explorer-memory", width, "#ex-memory h2")
            finally:
                driver.quit()


if __name__ == "__main__":
    main()
