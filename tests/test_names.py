"""Module names are data in every medium: a model whose module names hold path separators, dots,
backslashes, rich markup, graphviz escapes and terminal control sequences profiles to the same
numbers as its plain-named twin, and every output shows the names literally (controls escaped)."""

import dataclasses
import json
import shutil
import warnings
import xml.etree.ElementTree as ET

import pytest

from archviz.profiler import profile_module
from archviz.render.diagram import svg_text
from archviz.render.numbers import printable
from conftest import FIXTURES, run_cli
from fixtures.hostile_names import HOSTILE, build, build_plain

SPEC = f"{FIXTURES / 'hostile_names.py'}:build"
INPUT = ("--input", "1x3x32x32")
SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"
H = HOSTILE

# Row names by role: (hostile, plain). "p.q#2" is the child literally named "p.q", made unique
# because the nested p -> q already has the key "p.q".
ROWS = {
    "stem": (H["stem"], "stem"),
    "block": (H["block"], "block"),
    "main": (f"{H['block']}.{H['main']}", "block.main"),
    "conv1": (f"{H['block']}.{H['main']}.{H['conv1']}", "block.main.conv1"),
    "act": (f"{H['block']}.{H['main']}.{H['act']}", "block.main.act"),
    "conv2": (f"{H['block']}.{H['main']}.{H['conv2']}", "block.main.conv2"),
    "bn": (f"{H['block']}.{H['main']}.{H['bn']}", "block.main.bn"),
    "short": (f"{H['block']}.{H['short']}", "block.short"),
    "p": ("p", "p"),
    "q": ("p.q", "p.q"),
    "pq": ("p.q#2", "pq"),
    "tail": (H["tail"], "tail"),
    "pool": (H["pool"], "pool"),
    "fc": (H["fc"], "fc"),
}
# (Cout, H, W, Cin, k, groups, params, receptive field) per weighted layer, by hand.
CONVS = {
    "stem": (8, 32, 32, 3, 3, 1, 3 * 8 * 9 + 8, 3),
    "conv1": (8, 32, 32, 8, 3, 1, 8 * 8 * 9 + 8, 5),
    "conv2": (8, 32, 32, 8, 3, 2, 8 * 4 * 9, 7),
    "short": (8, 32, 32, 8, 1, 1, 8 * 8 + 8, 3),
    "q": (16, 16, 16, 8, 3, 1, 16 * 8 * 9 + 16, 9),
    "pq": (16, 16, 16, 16, 1, 1, 16 * 16 + 16, 9),
    "tail": (16, 16, 16, 16, 5, 1, 16 * 16 * 25, 17),
    "fc": (10, 1, 1, 16, 1, 1, 16 * 10 + 10, "global"),
}


@pytest.fixture(scope="module")
def profiles():
    return (profile_module(build().eval(), [1, 3, 32, 32], name="hostile"),
            profile_module(build_plain().eval(), [1, 3, 32, 32], name="plain"))


def test_every_module_gets_one_row_in_the_same_order(profiles):
    hostile, plain = profiles
    assert [r["name"] for r in hostile.layers] == ["(model)", *(h for h, _ in ROWS.values())]
    assert [r["name"] for r in plain.layers] == ["(model)", *(p for _, p in ROWS.values())]


def test_params_and_macs_equal_hand_arithmetic_and_the_plain_twin(profiles):
    hostile, plain = profiles
    for role, (cout, h, w, cin, k, groups, params, _) in CONVS.items():
        macs = cout * h * w * cin * k * k // groups
        for p, name in zip(profiles, ROWS[role]):
            row = p.layer(name)
            assert (row["params"], row["macs"], row["conv_linear_macs"]) == (params, macs, macs), (role, name)
    columns = ("type", "level", "leaf", "output_shape", "params", "macs", "flops", "conv_linear_macs",
               "activations", "receptive_field", "effective_stride", "effective_padding", "depth")
    for a, b in zip(hostile.layers, plain.layers):
        assert {c: a[c] for c in columns} == {c: b[c] for c in columns}, (a["name"], b["name"])
    last = {**plain.totals["last_spatial_field"], "at": H["tail"]}
    assert hostile.totals == {**plain.totals, "receptive_field_at": H["fc"], "last_spatial_field": last}
    assert (plain.totals["receptive_field_at"], plain.totals["last_spatial_field"]["at"]) == ("fc", "tail")
    assert hostile.totals["params"] == sum(c[6] for c in CONVS.values()) + 16  # + BatchNorm's 16


def test_receptive_fields_equal_the_plain_twin(profiles):
    for role, conv in CONVS.items():
        rf = conv[7]
        fields = [p.layer(name)["receptive_field"] for p, name in zip(profiles, ROWS[role])]
        assert fields == [rf if isinstance(rf, str) else [rf, rf]] * 2, role


def test_residual_block_recognised_in_both(profiles):
    for i, (p, block) in enumerate(zip(profiles, ROWS["block"])):
        assert [b["name"] for b in p.blocks] == [block]
        b = p.blocks[0]
        assert (b["kind"], b["merge"], b["skip"], b["rf_out"], b["parent_block"]) == (
            "add-merge", "add", "projection", [7, 7], None)
        assert b["macs"] == 589824 + 294912 + 65536 + 16384 + 8192 + 8192  # convs, bn, relu, add
        members = {r["name"] for r in p.layers if r["block"] == block}
        assert members == {ROWS[r][i] for r in ("block", "main", "conv1", "act", "conv2", "bn", "short")}


def test_parent_column_is_structural(profiles):
    hostile, plain = profiles
    parents = {role: (hostile.layer(h)["parent"], plain.layer(p)["parent"]) for role, (h, p) in ROWS.items()}
    assert parents["stem"] == parents["pq"] == parents["tail"] == ("(model)", "(model)")
    assert parents["conv2"] == (ROWS["main"][0], "block.main")
    assert parents["short"] == (H["block"], "block")
    assert parents["q"] == ("p", "p")
    assert hostile.layer("(model)")["parent"] is None
    levels = [r["level"] for r in hostile.layers]
    assert levels == [0, 1, 1, 2, 3, 3, 3, 3, 2, 1, 2, 1, 1, 1, 1]


@pytest.mark.parametrize("fmt", ["csv", "markdown", "table"])
def test_text_formats_show_names_literally_and_no_controls(fmt):
    r = run_cli("profile", SPEC, *INPUT, "--format", fmt, "--depth", "3")
    assert r.returncode == 0, r.stderr
    out = r.stdout
    for bad in ("\x1b", "\x07", "\x9b", "\x7f", "\u202e"):
        assert bad not in out, (fmt, bad)
    if fmt == "markdown":  # what a Markdown renderer shows: escapes and entities undone
        import html
        import re

        assert "[red]x" not in out and "\\[red\\]x" in out  # no link syntax from a name
        out = html.unescape(re.sub(r"\\([\\`*_\[\]~|])", r"\1", out))
    for text in ("[/]", "[red]x", "a/b", "res\\", "\\N\\G", "p.q#2", "\\x1b]0;pwned\\x07", "\\x1b[31m",
                 "\\u202eevil\\x9b\\x7f"):
        assert text in out, (fmt, text)
    assert 'x"<&\\n\\L\\' in out.replace('""', '"')  # CSV doubles the quote
    if fmt == "markdown":
        assert sum(line.startswith("| ") for line in out.splitlines()) == 1 + len(ROWS) + 1


def test_json_keeps_raw_names_and_the_parent_column():
    r = run_cli("profile", SPEC, *INPUT, "--format", "json")
    assert r.returncode == 0, r.stderr
    assert "\x1b" not in r.stdout  # json.dumps escapes it
    layers = json.loads(r.stdout)["layers"]
    by_name = {row["name"]: row for row in layers}
    assert by_name[ROWS["act"][0]]["parent"] == ROWS["main"][0]
    assert by_name[H["tail"]]["macs"] == 1638400


def svg_strings(svg: str) -> tuple[list[str], list[str]]:
    """All text lines and all tooltips of an SVG (parsing it also proves it is well-formed XML)."""
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text") if t.text]
    titles = [a.get(f"{XLINK}title") for a in root.iter(f"{SVG}a") if a.get(f"{XLINK}title")]
    return texts, titles


needs_dot = pytest.mark.skipif(shutil.which("dot") is None, reason="graphviz 'dot' not installed")


# What a node's title shows: the module's own name, past its parent's (by hand from HOSTILE).
OWN = {"stem": H["stem"], "conv1": H["conv1"], "conv2": H["conv2"], "short": H["short"], "q": H["q"],
       "pq": "p.q#2", "tail": H["tail"], "pool": H["pool"], "fc": H["fc"]}


@needs_dot
def test_diagram_layers_show_names_literally(profiles):
    hostile = profiles[0]
    texts, _ = svg_strings(svg_text(hostile, level="layers"))
    for role, own in OWN.items():
        assert printable(own) in texts, (role, printable(own))  # the exact title line: nothing expanded
    assert "\\N\\G" in texts and 'x"<&\\n\\L\\' in texts and "\\x1b[31m" in texts
    assert "hostile · input 1x3x32x32" in texts
    plain_texts, _ = svg_strings(svg_text(profiles[1], level="layers"))
    assert len(plain_texts) == len(texts)


@needs_dot
def test_diagram_hostile_model_name(profiles):
    name = 'm\\N\\G"<&amp;\x1b\\'
    renamed = dataclasses.replace(profiles[0], model=name)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # graphviz's DotSyntaxWarning included
        svg = svg_text(renamed)
    texts, _ = svg_strings(svg)
    shown = 'm\\N\\G"<&amp;\\x1b\\'
    assert f"{shown} · input 1x3x32x32" in texts


@needs_dot
def test_diagram_cli_svg_and_dot(tmp_path):
    for level in ("blocks", "layers"):
        svg_path, dot_path = tmp_path / f"{level}.svg", tmp_path / f"{level}.dot"
        for path in (svg_path, dot_path):
            r = run_cli("diagram", SPEC, *INPUT, "--level", level, "-o", str(path))
            assert r.returncode == 0, r.stderr
            assert "Warning" not in r.stderr, r.stderr
        svg, dot = svg_path.read_text(), dot_path.read_text()
        assert "\x1b" not in svg and "\x1b" not in dot and "\u202e" not in svg
        texts, _ = svg_strings(svg)
        if level == "blocks":
            assert "res\\" in texts  # the block node, trailing backslash and all
        else:
            assert "\\N\\G" in texts and "[/]" in " ".join(texts)
        assert "&lt;&amp;" in svg and 'x"<&' not in svg  # names reach the SVG as escaped XML
        assert dot.startswith("digraph")


def test_report_escapes_names(tmp_path):
    out = tmp_path / "hostile.html"
    r = run_cli("report", SPEC, *INPUT, "-o", str(out))
    assert r.returncode == 0, r.stderr
    html = out.read_text()
    assert 'x"<&' not in html and "[/]" in html  # the one name with a "<" never appears raw
    assert "x&#34;&lt;&amp;" in html or "x&quot;&lt;&amp;" in html
    start = html.find("<svg", html.find('class="graph-static"'))  # the graph's first view, not a plotly icon
    svg = html[start:html.find("</svg>", start)]
    assert svg and "\x1b" not in svg and "res\\</text>" in svg
