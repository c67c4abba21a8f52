"""What archviz writes is data a reader opens elsewhere: CSV that no spreadsheet runs as a formula,
Markdown with no live link or emphasis from a name, JSON with no NaN or Infinity, invisible
characters shown, and output paths checked before any work (issue 19, item 12)."""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import math

import pytest
import torch.nn as nn

from archviz.profiler import profile_module
from archviz.render.numbers import printable
from archviz.render.table import to_csv, to_json, to_markdown
from conftest import run_cli

NAMES = {"formula": "=HYPERLINK(\"http://evil\")", "plus": "+1", "minus": "-x", "at": "@sum(a)",
         "link": "[click](http://evil)", "bold": "**loud**"}


@pytest.fixture(scope="module")
def named():
    net = nn.Sequential()
    for i, name in enumerate(NAMES.values()):
        net._modules[name] = nn.Conv2d(3 if i == 0 else 4, 4, 1)
    return profile_module(net.eval(), [1, 3, 8, 8], name="named")


def test_csv_defuses_formulas_in_names(named):
    rows = list(csv.DictReader(io.StringIO(to_csv(named, None))))
    names = [r["name"] for r in rows[1:]]
    assert names == ["'" + NAMES["formula"], "'+1", "'-x", "'@sum(a)", NAMES["link"], NAMES["bold"]]
    assert rows[1]["params"] == str(3 * 4 + 4)  # numbers stay numbers: 1x1 conv 3 -> 4, bias 4


def test_markdown_escapes_link_and_emphasis(named):
    md = to_markdown(named, None)
    assert "\\[click\\](http://evil)" in md and "\\*\\*loud\\*\\*" in md
    assert "[click](" not in md and "**loud**" not in md


def test_json_has_no_nan_or_infinity(named):
    broken = dataclasses.replace(named, totals={**named.totals, "activations": float("nan")},
                                 layers=[{**named.layers[1], "macs": float("inf")}, *named.layers[2:]])
    text = to_json(broken, None)
    data = json.loads(text, parse_constant=lambda c: pytest.fail(f"{c} in JSON"))
    assert data["totals"]["activations"] is None and data["layers"][0]["macs"] is None
    assert any("2 figure(s) were not finite numbers and are written as null" in n for n in data["notes"])
    assert not any(isinstance(v, float) and not math.isfinite(v) for v in data["totals"].values())


@pytest.mark.parametrize("char", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u202e", "\u2066"])
def test_invisible_characters_are_shown(char):
    code = ord(char)
    assert printable(f"a{char}b") == (f"a\\x{code:02x}b" if code < 0x100 else f"a\\u{code:04x}b")


@pytest.mark.parametrize("args,words", [
    (("report", "resnet18", "-o", "{tmp}"), "is a folder: give a file name ending in .html"),
    (("report", "resnet18", "-o", "{tmp}/file.txt/x.html"), "cannot be made: {tmp}/file.txt is not a folder"),
    (("diagram", "resnet18", "-o", "{tmp}/d.svg"), "{tmp}/d.svg is a folder: give a file name"),
    (("sweep", "--timeout", "inf", "resnet18"), "less than or equal to 604800"),
    (("sweep", "--timeout", "1e10", "resnet18"), "less than or equal to 604800"),
])
def test_bad_outputs_and_timeouts_are_one_line(tmp_path, args, words):
    (tmp_path / "file.txt").write_text("x")
    (tmp_path / "d.svg").mkdir()
    r = run_cli(*[a.format(tmp=tmp_path) for a in args])
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and words.format(tmp=tmp_path) in lines[0], r.stderr
    assert ".tmp" not in lines[0] and "Traceback" not in r.stderr


def test_an_unwritable_folder_is_named(tmp_path, monkeypatch):
    import os

    from archviz.files import target_problem

    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path) else real(p, mode))
    assert target_problem(tmp_path / "r.html") == f"{tmp_path / 'r.html'} cannot be written: no permission to write in {tmp_path}"


def test_csv_columns_are_typed_and_rebuild_the_tree(history_profiles):
    """pandas reads every count as a number and the field as rf_kind plus numbers; `parent` names
    each row's parent row. resnet18's layer4.1.conv2: field 435 at stride 32 (the published
    ResNet-18 field, Araujo et al. 2019), its parent layer4.1, whose parent is layer4."""
    import pandas as pd

    df = pd.read_csv(io.StringIO(to_csv(history_profiles["resnet18"], None)))
    for col in ("level", "params", "own_params", "macs", "flops", "activations"):
        assert str(df[col].dtype) == "int64", col
    for col in ("rf_h", "rf_w", "stride_h", "stride_w"):
        assert str(df[col].dtype) == "float64", col
    conv = df[df["name"] == "layer4.1.conv2"].iloc[0]
    assert (conv["rf_kind"], conv["rf_h"], conv["stride_w"]) == ("spatial", 435.0, 32.0)
    parent_of = dict(zip(df["name"], df["parent"]))
    assert parent_of["layer4.1.conv2"] == "layer4.1" and parent_of["layer4.1"] == "layer4"
    fc = df[df["name"] == "fc"].iloc[0]
    assert fc["rf_kind"] == "global" and pd.isna(fc["rf_h"])
    assert df.loc[0, "params"] == 11_689_512 and df.loc[0, "own_params"] == 0  # the root owns none


def test_json_rows_carry_own_params(history_profiles):
    data = json.loads(to_json(history_profiles["resnet18"], None))
    rows = {r["name"]: r for r in data["layers"]}
    assert rows["conv1"]["own_params"] == 64 * 3 * 7 * 7 and rows["layer1"]["own_params"] == 0
