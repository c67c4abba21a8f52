"""Renderers: thin faces over a Profile. None of them traces a model.

The one place that knows where the package's data files live: `archviz/assets/` (CSS shared by the report and the
dashboard) and `archviz/templates/` (Jinja templates). Both ship inside the package (pyproject package-data) and are
found through importlib.resources, so a wheel install works with no checkout around it."""

from __future__ import annotations

import json
import shlex
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

PACKAGE = "archviz"
TEMPLATES = "templates"  # for jinja2.PackageLoader(PACKAGE, TEMPLATES)
ASSETS = files(PACKAGE) / "assets"  # a Traversable, not necessarily a folder on disk


def css() -> str:
    """The stylesheet's text (inlined in the HTML report)."""
    return (ASSETS / "archviz.css").read_text(encoding="utf-8")


def assets_folder() -> str:
    """The assets as a filesystem folder, for Dash (it serves `assets_folder` from disk).

    Wheels and editable installs put the package on disk, so this is the package's own folder: no copy. Imported from
    a zip (zipimport, zipapp) there is no folder, and this raises rather than extracting to a temporary one."""
    if not isinstance(ASSETS, Path) or not ASSETS.is_dir():
        raise RuntimeError(f"archviz assets are not a folder on disk ({ASSETS!r}); the dashboard needs archviz "
                           "installed as files (a wheel or an editable install), not imported from a zip")
    return str(ASSETS)


def script_json(obj: Any) -> str:
    """JSON safe inside <script>: no '</script>' or '<!--' can close or comment the block."""
    return json.dumps(obj).replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def render_page(template: str, figures: dict[str, Any], command: str | None = None, **context: Any) -> str:
    """A self-contained HTML page (the model report, the Atlas report): the template with the
    figures as script-safe JSON, the CSS and plotly.js inlined, and the command that made it."""
    import jinja2
    from plotly.offline import get_plotlyjs

    env = jinja2.Environment(loader=jinja2.PackageLoader(PACKAGE, TEMPLATES),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    return env.get_template(template).render(
        figures_json=script_json(figures), css=css(), plotly_js=get_plotlyjs(),
        command=command or " ".join(shlex.quote(a) for a in ["archviz", *sys.argv[1:]]), **context)
