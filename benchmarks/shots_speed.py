"""Screenshots for docs/ of the measured-speed views issue 22 changed (1400 and 800 px): the report's
Measured speed section (the quality line, the hierarchical roofline with a roof per memory level)
and the throughput curve of `archviz report MODEL --measure --batch 1,4,16`.

Run: .venv/bin/python benchmarks/shots_speed.py REPORT.html"""

from __future__ import annotations

import sys
import time
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402
from browser import make_driver  # noqa: E402

DOCS = ROOT / "docs"


def shoot(driver, name: str, width: int, selector: str) -> None:
    browser.shoot(driver, DOCS, name, width, selector, above=50, pause=0.8)


def main() -> None:
    report = Path(sys.argv[1]).resolve()
    for width in (1400, 800):
        driver = make_driver(width, 1000)
        try:
            driver.get(report.as_uri())
            time.sleep(2)
            shoot(driver, "speed-measured", width, "#measured")
            shoot(driver, "speed-roofline", width, ".chart.roofline")
            shoot(driver, "speed-throughput", width, ".chart.throughput")
        finally:
            driver.quit()


if __name__ == "__main__":
    main()
