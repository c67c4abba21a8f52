"""A built wheel is a working install: it carries the CSS and the report template, and with no checkout on the path
`archviz report` inlines the CSS and plotly.js and the dashboard serves /assets/archviz.css."""

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from conftest import ROOT

CSS_RULE = "header.top h1 { margin: 0; font-size: 24px; font-weight: 600; }"  # a known rule of archviz.css
SKIP = {".git", "build", "dist", "reports", "artifacts", ".pytest_cache", "__pycache__"}

# Runs in the child: the checkout off sys.path (and the editable install's finder off sys.meta_path), the wheel's
# files first; the venv's site-packages (which may sit inside the checkout) stay for the dependencies.
CHILD = """
import json, os, sys
root, site, out = sys.argv[1:4]
sys.path[:] = [site] + [p for p in sys.path if p not in ("", ".") and os.path.realpath(p) != root]
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
import archviz, archviz.render
from archviz.cli import app
try:
    app(["report", "alexnet", "-o", out + "/alexnet.html"], standalone_mode=False)
except SystemExit as exc:
    if exc.code:
        raise
from archviz.dashboard.app import create_app
resp = create_app(["alexnet"]).server.test_client().get("/assets/archviz.css")
print(json.dumps({"file": archviz.__file__, "assets": str(archviz.render.ASSETS),
                  "status": resp.status_code, "css": resp.get_data(as_text=True)}))
"""


def _source_copy(dest: Path) -> Path:
    """The checkout without VCS, venvs or build leftovers: building in a copy keeps a stale build/lib (setuptools
    never cleans it) out of the wheel and leaves the working tree untouched."""
    def ignore(folder, names):
        return [n for n in names if n in SKIP or n.endswith(".egg-info") or (Path(folder, n, "pyvenv.cfg").exists())]

    shutil.copytree(ROOT, dest, ignore=ignore)
    return dest


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = _source_copy(tmp / "src")
    # --no-build-isolation: the venv's setuptools (the test extra), so the build needs no index.
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                            "--no-index", "-q", "-w", str(tmp / "dist")],
                           cwd=src, capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    (whl,) = (tmp / "dist").glob("archviz-*.whl")
    return whl


def test_wheel_carries_assets_and_templates(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    assert "archviz/assets/archviz.css" in names
    assert "archviz/templates/report.html.j2" in names


def test_installed_wheel_reports_and_serves_css(wheel, tmp_path):
    site, run, home = tmp_path / "site", tmp_path / "run", tmp_path / "home"
    run.mkdir()
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q",
                                "--target", str(site), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stdout + installed.stderr

    env = {**os.environ, "PYTHONPATH": str(site), "ARCHVIZ_HOME": str(home), "ARCHVIZ_DEBUG": "1"}
    proc = subprocess.run([sys.executable, "-c", CHILD, os.path.realpath(ROOT), str(site), str(run)], cwd=run, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    got = json.loads(proc.stdout.strip().splitlines()[-1])

    assert got["file"].startswith(str(site)), got["file"]
    assert got["assets"].startswith(str(site)), got["assets"]
    html = (run / "alexnet.html").read_text(encoding="utf-8")
    assert CSS_RULE in html
    assert "* plotly.js v" in html and len(html) > 1_000_000  # the whole bundle inlined, not a CDN link
    assert got["status"] == 200
    assert CSS_RULE in got["css"]
