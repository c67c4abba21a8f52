"""The terminal as a user meets it: tables fit COLUMNS with every number whole and exact, piped
output is never padded, CSV is plain, help reads well and --version needs no torch."""

import io
import re
import subprocess
import sys
from importlib.metadata import version

import pytest
import typer

import archviz
from archviz.render.numbers import grouped, human
from archviz.render.table import (CSV_COLUMNS, TABLE_COLUMNS, TABLE_PRIORITY, TEXT_COLUMNS, Column, fit_columns,
                                  fitted_cells, history_rows, rows_at_depth, shorten_end, shorten_middle,
                                  table_width)
from conftest import run_cli

NUMERIC = {"Params": "params", "MACs": "macs", "FLOPs": "flops", "Act.": "activations"}
LONG_NAME = "block_" + "x" * 144  # with its parent's "0." the row name is 152 characters
LONG_MODEL = f'''
from torch import nn


def build():
    inner = nn.Sequential()
    inner.add_module({LONG_NAME!r}, nn.Conv2d(3, 64, 3, padding=1))
    inner.add_module("relu", nn.ReLU())
    return nn.Sequential(inner, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 1000))
'''


@pytest.fixture(scope="module")
def resnet50():
    return archviz.profile("resnet50")  # through the store: the CLI runs below read the same entry


@pytest.fixture(scope="module")
def long_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("long") / "long_names.py"
    path.write_text(LONG_MODEL)
    return f"{path}:build", archviz.profile(f"{path}:build", (1, 3, 32, 32))


def parse_table(out: str) -> tuple[list[str], list[list[str]]]:
    """Headers and rows of the one table in `out`, cut at the column spans of the rule line."""
    lines = out.splitlines()
    rule = next(i for i, line in enumerate(lines) if line.startswith("─") and set(line) <= {"─", " "})
    spans = [m.span() for m in re.finditer("─+", lines[rule])]
    spans[-1] = (spans[-1][0], None)

    def cut(line: str) -> list[str]:
        return [line[a:b].strip() for a, b in spans]

    rows = []
    for line in lines[rule + 1:]:
        if line.startswith(("Hidden at width", "Params ")):
            break
        rows.append(cut(line))
    return cut(lines[rule - 1]), rows


def assert_fits(out: str, width: int) -> None:
    for line in out.splitlines():
        assert len(line) <= width, line
        assert line == line.rstrip(), repr(line)


def assert_numbers_exact(headers: list[str], rows: list[list[str]], layers: list[dict]) -> None:
    """Every number is whole (no '…') and is the Profile's value, grouped or in compact units."""
    assert len(rows) == len(layers)
    for header, field in NUMERIC.items():
        if header not in headers:
            continue
        col = headers.index(header)
        for row, layer in zip(rows, layers):
            assert "…" not in row[col]
            assert row[col] in (grouped(layer[field]), human(layer[field])), (header, row, layer["name"])


@pytest.mark.parametrize("width", [80, 120])
def test_profile_fits_the_terminal_and_shows_exact_numbers(resnet50, width):
    r = run_cli("profile", "resnet50", env={"COLUMNS": str(width)})
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout, width)
    headers, rows = parse_table(r.stdout)
    assert headers[:1] == ["Layer"] and {"Params", "MACs", "Output"} <= set(headers)
    layers = rows_at_depth(resnet50, 2)
    assert_numbers_exact(headers, rows, layers)
    assert [row[0] for row in rows] == [x["name"] for x in layers]  # short names shown whole
    if width == 80:  # what did not fit is named, with the way to choose
        assert len(headers) < len(TABLE_COLUMNS)
        note = next(line for line in r.stdout.splitlines() if line.startswith("Hidden at width 80:"))
        assert "--columns" in note and "block" in note
    else:
        assert len(headers) == len(TABLE_COLUMNS) and "Hidden" not in r.stdout
        assert "25,557,032" in r.stdout  # room for grouped digits where it matters most


@pytest.mark.parametrize("width", [80, 120])
def test_long_layer_name_is_shortened_in_the_middle_never_the_numbers(long_model, width):
    spec, prof = long_model
    r = run_cli("profile", spec, "--input", "1x3x32x32", "--depth", "3", env={"COLUMNS": str(width)})
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout, width)
    headers, rows = parse_table(r.stdout)
    assert {"Params", "MACs"} <= set(headers)
    assert_numbers_exact(headers, rows, rows_at_depth(prof, 3))
    long_cell = next(row[0] for row in rows if "…" in row[0])
    line = next(line for line in r.stdout.splitlines() if "…" in line)
    assert line.startswith("  0.block_")  # nesting indent kept, start of the name kept
    assert long_cell.endswith("xxxx") and len(long_cell) < 60


def test_piped_output_is_120_wide_and_never_padded(resnet50, monkeypatch):
    monkeypatch.delenv("COLUMNS", raising=False)
    r = run_cli("profile", "resnet50")
    assert r.returncode == 0
    assert_fits(r.stdout, 120)
    wide = run_cli("profile", "resnet50", env={"COLUMNS": "300"})
    assert_fits(wide.stdout, 300)
    assert max(len(line) for line in wide.stdout.splitlines()) < 200  # fitted, not padded to 300


def test_columns_option_picks_columns_and_rejects_bad_names(resnet50):
    r = run_cli("profile", "resnet50", "--columns", "name,params,macs,rf", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    headers, rows = parse_table(r.stdout)
    assert headers == ["Layer", "Params", "MACs", "RF"]
    assert_numbers_exact(headers, rows, rows_at_depth(resnet50, 2))
    for args in (("--columns", "name,bogus"), ("--columns", ","), ("-f", "csv", "--columns", "name")):
        bad = run_cli("profile", "resnet50", *args)
        assert bad.returncode == 2, bad.stderr
        assert bad.stderr.startswith("archviz: error: --columns") and len(bad.stderr.splitlines()) == 1
    assert "bogus" in run_cli("profile", "resnet50", "--columns", "name,bogus").stderr


def test_list_fits_80_columns_with_whole_params():
    r = run_cli("list", env={"COLUMNS": "80"})
    assert r.returncode == 0, r.stderr
    assert_fits(r.stdout, 80)
    headers, rows = parse_table(r.stdout)
    assert headers[0] == "Model" and "Params" in headers
    col = headers.index("Params")
    published = {row["model"]: row["params"] for row in history_rows()}
    assert [row[0] for row in rows] == list(published)
    for row in rows:
        assert row[col] in (grouped(published[row[0]]), human(published[row[0]]))


def test_csv_is_plain_and_matches_the_profile(resnet50):
    import pandas as pd

    for depth in (1, 2):
        r = run_cli("profile", "resnet50", "-f", "csv", "--depth", str(depth))
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("name,type,level,parent,output_shape,")
        df = pd.read_csv(io.StringIO(r.stdout))
        layers = rows_at_depth(resnet50, depth)
        assert list(df.columns) == [*CSV_COLUMNS, "live_bytes"]  # memory columns last (issue 23)
        assert len(df) == len(layers)
        assert df["params"].tolist() == [x["params"] for x in layers]
        assert df["macs"].tolist() == [x["macs"] for x in layers]
        assert int(df["params"].iloc[0]) == resnet50.totals["params"]


# --- pure layout functions -------------------------------------------------------------------

def number_column(key: str, values: list[int]) -> Column:
    return Column(key, key.title(), (tuple(grouped(v) for v in values), tuple(human(v) for v in values)),
                  "right")


def test_fit_prefers_grouped_digits_then_units_then_hiding_by_priority():
    name = Column("name", "Layer", (("features.denseblock4.denselayer16.conv2",),), shorten=shorten_middle,
                  min_width=24)
    cols = [name, number_column("params", [25_557_032]), number_column("macs", [4_128_446_976]),
            Column("type", "Type", (("AdaptiveAvgPool2d",),))]
    roomy = fit_columns(cols, 200)
    assert roomy.hidden == () and roomy.variants == (0, 0, 0, 0)
    assert fitted_cells(cols, roomy) == [("features.denseblock4.denselayer16.conv2", "25,557,032",
                                          "4,128,446,976", "AdaptiveAvgPool2d")]
    order = ("name", "params", "macs", "type")
    for width in range(40, 100):
        fit = fit_columns(cols, width, order)
        assert fit.total <= width and table_width(fit.widths) == fit.total
        cells = dict(zip((cols[i].key for i in fit.shown), fitted_cells(cols, fit)[0]))
        assert cells["params"] in ("25,557,032", "25.56 M")  # numbers whole at every width
        if "macs" in cells:
            assert cells["macs"] in ("4,128,446,976", "4.13 G")
            # a less important number is never roomier than a more important one
            assert not (cells["params"] == "25.56 M" and cells["macs"] == "4,128,446,976")
        assert fit.hidden == order[len(order) - len(fit.hidden):]  # the least important go first


def test_shortening_keeps_indent_start_and_leaf():
    text = "    features.denseblock4.denselayer16.conv2"
    for width in range(10, 44):
        short = shorten_middle(text, width)
        assert len(short) == min(width, len(text))
        if width < len(text):
            assert short.startswith("    f") and short.endswith("2") and "…" in short
    assert shorten_end("Skip connections (residual add) make 100+ layers trainable", 24) == "Skip connections…"


def test_default_priority_keeps_what_a_layer_is_and_costs():
    assert TABLE_PRIORITY[:4] == ("name", "params", "macs", "output")
    assert set(TABLE_PRIORITY) == set(TABLE_COLUMNS)


# --- help and version ------------------------------------------------------------------------

COMMANDS = ["list", "profile", "diagram", "report", "dashboard"]


def test_every_option_and_argument_has_help_and_a_metavar():
    from archviz.cli import app

    group = typer.main.get_command(app)
    ctx = typer.Context(group)
    commands = [group, *(group.commands[name] for name in COMMANDS)]
    for command in commands:
        for param in command.get_params(ctx):
            assert param.help, (command.name, param.name)
            flag = getattr(param, "is_flag", False)
            if param.param_type_name == "argument" or not flag:
                assert param.metavar and param.metavar.upper() == param.metavar, (command.name, param.name)


@pytest.mark.parametrize("command", COMMANDS)
def test_help_reads_well(command):
    r = run_cli(command, "--help", env={"COLUMNS": "100"})
    assert r.returncode == 0, r.stderr
    out = r.stdout
    assert "<bool>" not in out and "{model" not in out
    from archviz.cli import app

    ctx = typer.Context(typer.main.get_command(app))
    for param in typer.main.get_command(app).commands[command].get_params(ctx):
        if param.param_type_name != "option":
            continue
        name = max(param.opts, key=len)
        line = next(line for line in out.splitlines() if f"{name} " in line)
        assert param.help.split()[0] in line, (param.opts, line)  # the help is on the option's line


def test_profile_help_names_its_values():
    out = run_cli("profile", "--help", env={"COLUMNS": "100"}).stdout
    assert "Usage: archviz profile [OPTIONS] MODEL" in out
    for metavar in ("SHAPE", "FORMAT", "NAMES", " N "):
        assert metavar in out
    for key in TABLE_COLUMNS:  # --columns lists exactly the names parse_columns accepts
        assert re.search(rf"\b{key}\b", out), key


def test_version_is_eager_and_imports_no_torch():
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"archviz {version('archviz')} (torch ")
    assert r.stdout.startswith("archviz 0.1.0")
    assert all(f"{dep} " in r.stdout for dep in ("torch", "torchvision", "fvcore"))
    code = ("import sys; from archviz.cli import app; sys.argv = ['archviz', '--version']\n"
            "try: app()\nexcept SystemExit as e: print('EXIT', e.code)\n"
            "print(sorted(m for m in ('torch', 'torchvision', 'fvcore') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.splitlines()
    assert out[-2:] == ["EXIT 0", "[]"]
