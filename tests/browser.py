"""Headless Chromium (Debian's chromium + chromium-driver) through selenium, offline."""

from __future__ import annotations

import json
import shutil
import time

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"


def make_driver(width: int = 1400, height: int = 1000):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--allow-file-access-from-files",
                 f"--window-size={width},{height}"):
        opts.add_argument(flag)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=opts)


def console_errors(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e["level"] == "SEVERE"]


def requested_urls(driver) -> list[str]:
    urls = []
    for entry in driver.get_log("performance"):
        msg = json.loads(entry["message"])["message"]
        if msg.get("method") == "Network.requestWillBeSent":
            urls.append(msg["params"]["request"]["url"])
    return urls


def wait_for(driver, script: str, timeout: float = 90):
    """Poll a script in the page until it returns something truthy (that value), or fail naming it."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = driver.execute_script(script)
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for: {script}")


def shoot(driver, folder, name: str, width: int, selector: str, above: int = 50, pause: float = 0.6):
    """Scroll `selector` to the top of the window (less `above` px), wait `pause` s for plots to
    settle, and save folder/NAME-WIDTH.png (the docs/ screenshots of benchmarks/shots_*.py)."""
    driver.execute_script(f"document.querySelector('{selector}').scrollIntoView({{block: 'start'}}); "
                          f"window.scrollBy(0, -{above})")
    time.sleep(pause)
    out = folder / f"{name}-{width}.png"
    driver.save_screenshot(str(out))
    print(out)
    return out
