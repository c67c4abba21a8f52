import os
import sys
import warnings
from pathlib import Path

import pytest

warnings.filterwarnings("ignore", category=FutureWarning)
ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
ARTIFACTS = ROOT / "artifacts"


@pytest.fixture(scope="session", autouse=True)
def archviz_home(tmp_path_factory):
    """Every test session gets its own profile store."""
    home = tmp_path_factory.mktemp("archviz-home")
    os.environ["ARCHVIZ_HOME"] = str(home)
    return home


@pytest.fixture(scope="session")
def history_profiles(archviz_home):
    """Every history model profiled once (through the store) for the whole session."""
    from archviz.catalog import HISTORY
    from archviz.service import get_profiles

    return dict(zip(HISTORY, get_profiles(list(HISTORY))))


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


def run_cli(*args, env=None, cwd=None):
    """Run the real console script in a subprocess (exit codes and stderr as a user sees them)."""
    import subprocess

    exe = Path(sys.executable).parent / "archviz"
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([str(exe), *args], capture_output=True, text=True, env=full_env, cwd=cwd,
                          timeout=600)


def torchvision_meta(name: str) -> dict:
    """torchvision's own published figures for a model, read from its weights enum (DEFAULT), not
    through archviz's catalogue snapshot: `num_params` and `gflops` (torchvision's `_ops`, which
    counts multiply-adds)."""
    from torchvision.models import get_model_weights

    meta = get_model_weights(name).DEFAULT.meta
    return {"num_params": meta["num_params"], "gflops": meta["_ops"]}
