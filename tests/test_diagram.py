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


def edge_titles(svg: str) -> list[str]:
    root = ET.fromstring(svg)
    return [g.find(f"{SVG}title").text for g in root.iter(f"{SVG}g") if "edge" in (g.get("class") or "").split()]


def texts_of(g) -> str:
    return " ".join(t.text or "" for t in g.iter(f"{SVG}text"))


# ResNet-50's stages hold 3, 4, 6 and 3 bottlenecks, the first of each with a projection shortcut
# (He et al. 2016, Table 1); DenseNet-121's dense blocks 6, 12, 24 and 16 layers (Huang et al. 2017,
# Table 1); VGG-16's five stages 2, 2, 3, 3 and 3 convolutions (Simonyan & Zisserman 2015, Table 1).
RESNET50_STAGES = [3, 4, 6, 3]


def test_resnet50_folds_stages_and_never_draws_one_skip_for_a_stage(history_profiles):
    p = history_profiles["resnet50"]
    svg = svg_text(p)
    folded = nodes(svg, "folded")
    assert [texts_of(g).count("×") and int(texts_of(g).split(" adds")[0].split()[-1]) for g in folded] == RESNET50_STAGES
    assert all("block 1: projection shortcut" in texts_of(g) for g in folded)
    assert nodes(svg, "satellite") == [] and not [t for t in edge_titles(svg) if "->s" in t]
    unfolded = svg_text(p, fold=False)
    blocks = nodes(unfolded, "residual")
    assert len(blocks) == sum(RESNET50_STAGES) == len(nodes(unfolded, "satellite"))
    # every block its own add, with its own dashed shortcut into it; four of them projections
    assert len(nodes(unfolded, "skip")) == sum(RESNET50_STAGES)
    assert len(nodes(unfolded, "skip-projection")) == len(RESNET50_STAGES)


def test_expand_opens_named_modules_and_the_groups_above(history_profiles):
    p = history_profiles["resnet50"]
    svg = svg_text(p, expand=["layer3", "layer4.0"])
    clusters = [texts_of(g) for g in nodes(svg, "cluster")]
    assert any("layer3" in c for c in clusters) and any("layer4.0" in c for c in clusters)
    assert len(nodes(svg, "satellite")) == 6 + 2  # layer3's six blocks; layer4.1 and .2 (4.0 is open)
    assert len(nodes(svg, "merge-add")) == 6 + 2 + 1  # and layer4.0's own add, now an op node
    assert len(nodes(svg, "folded")) == 2  # layer1 and layer2 stay folded


def test_googlenet_concat_has_its_four_branches(history_profiles):
    svg = svg_text(history_profiles["googlenet"], expand=["inception3a"])
    cat = nodes(svg, "merge-concat")
    assert len(cat) == 1
    cat_id = cat[0].get("id")
    assert len([t for t in edge_titles(svg) if t.endswith("->" + cat_id)]) == 4  # Szegedy et al. 2015, Fig. 2b


def test_densenet121_has_4_folded_dense_blocks_and_3_transitions(history_profiles):
    svg = svg_text(history_profiles["densenet121"])
    runs = [texts_of(g) for g in nodes(svg, "folded")]
    assert [int(t.split("×")[1].split()[0]) for t in runs] == [6, 12, 24, 16]
    assert all("concats, each block its own" in t for t in runs)
    assert len(nodes(svg, "transition")) == 3
    # the l-th layer of a dense block concatenates the block's input and the l - 1 maps before it
    # (Huang et al. 2017, eq. 2): denselayer24 joins 24 tensors
    opened = svg_text(history_profiles["densenet121"], expand=["features.denseblock3"])
    layer24 = next(g for g in nodes(opened, "dense-layer") if "denselayer24" in texts_of(g))
    assert "C concat of 24 inputs" in texts_of(layer24)


def test_vgg16_features_are_five_stages(history_profiles):
    from archviz.render.graph import Graph

    g = Graph(history_profiles["vgg16"])
    stages = [n for n in g.tree.nodes if n.stage]
    convs = [sum(1 for c in s.children if g.tree.nodes[c].cat == "conv") for s in stages]
    assert convs == [2, 2, 3, 3, 3]
    assert len(nodes(svg_text(history_profiles["vgg16"]), "group")) >= 5


def test_svg_has_real_text_with_hand_counted_figures(history_profiles):
    p = history_profiles["vgg16"]
    svg = svg_text(p, level="layers")
    first = next(g for g in nodes(svg, "conv") if "features.0" in texts_of(g))
    # features.0: 3x3 conv, 3 -> 64 channels: 3*64*9 + 64 = 1,792 params; at 224x224 with padding 1:
    # 224*224*64 outputs of 27 multiply-adds each = 86,704,128 MACs
    assert "1.79 k params" in texts_of(first) and "86.70 M MACs" in texts_of(first)
    assert "Conv2d 3×3" in texts_of(first)


def test_layers_level_shows_every_conv(history_profiles):
    p = history_profiles["resnet18"]
    svg = svg_text(p, level="layers")
    # 1 stem conv + 8 basic blocks x 2 convs + 3 projection 1x1 convs (He et al. 2016) = 20
    assert len(nodes(svg, "conv")) == 20
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
    assert isinstance(d.digraph, graphviz.Source) and d._repr_svg_().startswith("<svg")
    assert d.save(tmp_path / "a.dot").read_text().startswith("digraph")


def test_cli_default_output_and_bad_suffix(tmp_path):
    r = run_cli("diagram", "alexnet", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (tmp_path / "alexnet.svg").read_text().lstrip().startswith("<?xml")
    bad = run_cli("diagram", "alexnet", "-o", str(tmp_path / "x.gif"))
    assert bad.returncode == 2 and "unsupported diagram format" in bad.stderr


def test_cli_expand_colour_and_bad_values(tmp_path):
    r = run_cli("diagram", "resnet50", "--expand", "layer3,layer4.0", "--color", "params", "-o", str(tmp_path / "r.svg"))
    assert r.returncode == 0, r.stderr
    svg = (tmp_path / "r.svg").read_text()
    assert "fill = parameters (log scale)" in svg and 'id="c' in svg
    for args, words in ((["--expand", "nope"], "no module named 'nope' in resnet50"),
                        (["--color", "foo"], "unknown colour 'foo'"),
                        (["--color", "latency", "--input", "1x3x64x64"], "no stored measurement of resnet50")):
        bad = run_cli("diagram", "resnet50", *args, "-o", str(tmp_path / "bad.svg"))
        lines = bad.stderr.strip().splitlines()
        assert bad.returncode == 2 and len(lines) == 1 and words in lines[0], bad.stderr
        assert not (tmp_path / "bad.svg").exists()


def test_missing_dot_is_one_clear_line(tmp_path):
    r = run_cli("diagram", "alexnet", "-o", str(tmp_path / "a.svg"), env={"PATH": "/nonexistent"})
    assert r.returncode == 3
    assert "apt-get install graphviz" in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "a.svg").exists()


def test_in_place_dead_ends_are_not_drawn(tmp_path):
    """Swin builds its attention mask with in-place fill_ ops whose result nothing downstream
    reads in the traced graph: no such dead-end node is drawn (their MACs stay on their module)."""
    from archviz.profiler import profile

    svg = svg_text(profile("swin_t"), level="layers")
    assert "fill_" not in svg
    titles = edge_titles(svg)
    sources = {t.split("->")[0] for t in titles}
    drawn = [g.get("id") for g in nodes(svg, "atom")]
    assert drawn and all(n in sources for n in drawn)  # every drawn layer feeds something
