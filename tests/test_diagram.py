"""Diagrams parsed as SVG: block counts, merge kinds, tooltips; every history model in every format."""

import xml.etree.ElementTree as ET

import pytest

from archviz.catalog import HISTORY
from archviz.render.diagram import svg_text, write_diagram
from conftest import run_cli

SVG = "{http://www.w3.org/2000/svg}"
XLINK = "{http://www.w3.org/1999/xlink}"


def nodes(svg: str, cls: str):
    root = ET.fromstring(svg)
    return [g for g in root.iter(f"{SVG}g") if cls in (g.get("class") or "").split()]


def test_resnet50_has_16_bottlenecks_or_4_folded(history_profiles):
    p = history_profiles["resnet50"]
    unfolded = nodes(svg_text(p, fold=False), "residual")
    assert len(unfolded) == 16
    folded = nodes(svg_text(p, fold=True), "residual")
    assert len(folded) == 4 and all("folded" in g.get("class") for g in folded)
    assert len(nodes(svg_text(p), "merge-add")) == 4
    assert not nodes(svg_text(p), "merge-concat")


def test_googlenet_has_9_inception_nodes(history_profiles):
    svg = svg_text(history_profiles["googlenet"], fold=False)
    assert len(nodes(svg, "inception")) == 9
    assert len(nodes(svg, "merge-concat")) == 9


def test_densenet121_has_4_dense_blocks_and_3_transitions(history_profiles):
    svg = svg_text(history_profiles["densenet121"])
    assert len(nodes(svg, "dense-block")) == 4
    assert len(nodes(svg, "transition")) == 3
    assert nodes(svg, "merge-concat") and not nodes(svg, "merge-add")


def test_svg_has_real_text_and_full_number_tooltips(history_profiles):
    p = history_profiles["vgg16"]
    svg = svg_text(p, level="layers")
    root = ET.fromstring(svg)
    texts = [t.text for t in root.iter(f"{SVG}text") if t.text]
    assert any("features.0" in t for t in texts)
    titles = [a.get(f"{XLINK}title") for a in root.iter(f"{SVG}a") if a.get(f"{XLINK}title")]
    conv0 = next(t for t in titles if t.startswith("features.0"))
    assert f"params {p.layer('features.0')['params']:,}" in conv0
    assert f"MACs {p.layer('features.0')['macs']:,}" in conv0


def test_layers_level_shows_every_conv(history_profiles):
    p = history_profiles["resnet18"]
    svg = svg_text(p, level="layers")
    assert len(nodes(svg, "conv")) == sum(1 for n in p.graph if n["cat"] == "conv") == 20
    assert len(nodes(svg, "merge-add")) == 8


@pytest.mark.parametrize("name", list(HISTORY))
def test_every_history_model_renders_in_every_format(history_profiles, name, tmp_path):
    p = history_profiles[name]
    for suffix, magic in ((".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF"), (".dot", b"digraph")):
        out = write_diagram(p, tmp_path / f"{name}{suffix}")
        assert out.read_bytes().startswith(magic)


def test_diagram_object_wraps_a_digraph(history_profiles, tmp_path):
    import graphviz

    import archviz

    d = archviz.diagram(history_profiles["alexnet"])
    assert isinstance(d.digraph, graphviz.Digraph) and d._repr_svg_().startswith("<svg")
    assert d.save(tmp_path / "a.dot").read_text().startswith("digraph")


def test_cli_default_output_and_bad_suffix(tmp_path):
    r = run_cli("diagram", "alexnet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "alexnet.svg").read_text().lstrip().startswith("<?xml")
    bad = run_cli("diagram", "alexnet", "-o", str(tmp_path / "x.gif"))
    assert bad.returncode == 2 and "unsupported diagram format" in bad.stderr


def test_missing_dot_is_one_clear_line(tmp_path):
    r = run_cli("diagram", "alexnet", "-o", str(tmp_path / "a.svg"), env={"PATH": "/nonexistent"})
    assert r.returncode == 3
    assert "apt-get install graphviz" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a.svg").exists()
