"""Screenshots for docs/ of the measured-speed views issue 22 changed (1400 and 800 px): the report's
Measured speed section (the quality line, the hierarchical roofline with a roof per memory level)
and the throughput curve of `archviz report MODEL --measure --batch 1,4,16`.

Run: .venv/bin/python benchmarks/shots_speed.py REPORT.html"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from shots import make_driver
from shots import shoot as shoot_docs


def shoot(driver, name: str, width: int, selector: str) -> None:
    shoot_docs(driver, name, width, selector, above=50, pause=0.8)


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
