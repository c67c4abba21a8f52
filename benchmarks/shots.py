"""What the benchmarks/shots_*.py screenshot scripts share: the tests' headless Chromium driver
(tests/browser.py) and `shoot`, which saves docs/NAME-WIDTH.png with a selector at the top."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

warnings.simplefilter("ignore")
ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
sys.path.insert(0, str(ROOT / "tests"))

import browser  # noqa: E402
from browser import make_driver, wait_for  # noqa: E402,F401  (re-exported for the scripts)


def shoot(driver, name: str, width: int, selector: str, above: int = 50, pause: float = 0.6):
    """docs/NAME-WIDTH.png with `selector` `above` px below the top, after `pause` s."""
    return browser.shoot(driver, DOCS, name, width, selector, above=above, pause=pause)
