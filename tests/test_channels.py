"""Channel width along depth (issue 15, item 1): the chart's data checked against hand arithmetic and
the papers' tables, and the chart present in the report and the dashboard's Explorer and Compare."""

import json

import pytest

from archviz.record import Profile
from archviz.render import charts

MODELS = ("densenet121", "resnet50", "vgg16", "googlenet")


@pytest.fixture(scope="module")
def profiles(archviz_home):
    from archviz.service import get_profiles

    return dict(zip(MODELS, get_profiles(list(MODELS))))


def layers(p: Profile) -> dict[str, dict]:
    return {r["name"]: r for r in charts.channel_layers(p)}


def trace(fig: dict, name: str) -> dict:
    return next(t for t in fig["data"] if t["name"] == name)


# ---- DenseNet-121: growth rate 32; 6, 12, 24, 16 layers; transitions halve ----------------------
def test_densenet_block_rows_carry_channels_in_and_out(profiles):
    blocks = {b["name"]: (b["in_channels"], b["out_channels"]) for b in profiles["densenet121"].top_blocks()}
    assert blocks == {
        "features.denseblock1": (64, 256),     # 64 + 6 * 32
        "features.transition1": (256, 128),    # 256 / 2
        "features.denseblock2": (128, 512),    # 128 + 12 * 32
        "features.transition2": (512, 256),
        "features.denseblock3": (256, 1024),   # 256 + 24 * 32
        "features.transition3": (1024, 512),
        "features.denseblock4": (512, 1024),   # 512 + 16 * 32
    }


def test_densenet_width_grows_in_a_dense_block_and_halves_at_a_transition(profiles):
    p = profiles["densenet121"]
    rows = layers(p)
    first = [rows[f"features.denseblock1.denselayer{k}.conv1"] for k in range(1, 7)]
    assert [r["in"] for r in first] == [64, 96, 128, 160, 192, 224]  # the concatenation entering each
    assert {r["out"] for r in first} == {128}                          # 1x1 bottleneck: 4 x growth
    assert {rows[f"features.denseblock1.denselayer{k}.conv2"]["out"] for k in range(1, 7)} == {32}  # growth
    t1 = rows["features.transition1.conv"]
    assert (t1["in"], t1["out"], t1["kernel"]) == (256, 128, "1x1")

    fig = charts.channels_along_depth([p])
    dots = trace(fig, "each conv / linear: dot = channels out, stroke from channels in")
    at = dict(zip(dots["customdata"], zip(dots["y"], dots["text"])))
    assert at["features.transition1.conv"][0] == 128
    assert at["features.denseblock1.denselayer3.conv1"][1].startswith("128 → 128 channels · 1x1 conv")
    strokes = next(t for t in fig["data"] if t["name"] == "conv / linear")
    pairs = [(a, b) for a, b in zip(strokes["y"][0::3], strokes["y"][1::3])]
    assert pairs[1:13:2] == [(64, 128), (96, 128), (128, 128), (160, 128), (192, 128), (224, 128)]

    trunk = trace(fig, "between blocks: block in / out, after each concat or add")
    line = list(zip(trunk["x"], trunk["y"]))
    assert line[:8] == [(1, 64), (3, 96), (5, 128), (7, 160), (9, 192), (11, 224), (13, 256), (14, 128)]
    assert "concat 64 + 6 × 32" in trunk["text"][6] and "transition1" in trunk["text"][7]
    assert max(trunk["y"][:-1]) == 1024  # dense block 3 and 4 both end at 1024, then the classifier

    labels = [a["text"] for a in fig["layout"]["annotations"]]
    assert {"transition1", "transition2", "transition3", "denseblock3"} <= set(labels)
    assert len([s for s in fig["layout"]["shapes"] if s["type"] == "rect"]) == 7


# ---- ResNet-50: bottlenecks 256 -> 64 -> 64 -> 256 ---------------------------------------------
def test_resnet_bottleneck_reduces_then_expands(profiles):
    rows = layers(profiles["resnet50"])
    block = [rows[f"layer1.1.conv{k}"] for k in (1, 2, 3)]
    assert [(r["in"], r["out"], r["kernel"]) for r in block] == [(256, 64, "1x1"), (64, 64, "3x3"),
                                                                  (64, 256, "1x1")]
    block = [rows[f"layer2.1.conv{k}"] for k in (1, 2, 3)]  # conv3_x: 128-d bottleneck on 512
    assert [(r["in"], r["out"]) for r in block] == [(512, 128), (128, 128), (128, 512)]
    trunk = charts.channel_trunk(profiles["resnet50"])
    assert [t["channels"] for t in trunk if t["depth"] in (4, 7, 10)] == [256, 256, 256]  # the adds
    assert "layer1.1: add of 2 inputs" in next(t["text"] for t in trunk if t["depth"] == 7)


# ---- VGG-16: 64, 64, 128, 128, 256 x 3, 512 x 3, 512 x 3 (the paper's configuration D) ---------
def test_vgg_doubles_per_stage(profiles):
    rows = charts.channel_layers(profiles["vgg16"])
    assert [r["out"] for r in rows if r["op"] == "conv"] == [64, 64, 128, 128, 256, 256, 256,
                                                             512, 512, 512, 512, 512, 512]
    assert [(r["in"], r["out"]) for r in rows if r["op"] == "linear"] == [(512 * 7 * 7, 4096), (4096, 4096),
                                                                         (4096, 1000)]
    assert rows[0]["in"] == 3  # RGB


# ---- GoogLeNet: inception (3a) branches 64, 128, 32, 32 (the paper's table 1) -------------------
def test_googlenet_inception_3a_branch_widths(profiles):
    p = profiles["googlenet"]
    rows = layers(p)
    ends = ["inception3a.branch1.conv", "inception3a.branch2.1.conv", "inception3a.branch3.1.conv",
            "inception3a.branch4.1.conv"]
    assert [rows[n]["out"] for n in ends] == [64, 128, 32, 32]
    assert [rows[n]["out"] for n in ("inception3a.branch2.0.conv", "inception3a.branch3.0.conv")] == [96, 16]
    block = next(b for b in p.top_blocks() if b["name"] == "inception3a")
    assert (block["in_channels"], block["out_channels"]) == (192, 64 + 128 + 32 + 32)
    fig = charts.channels_along_depth([p])
    dots = trace(fig, "each conv / linear: dot = channels out, stroke from channels in")
    x = dict(zip(dots["customdata"], dots["x"]))
    first = [x[n] for n in ("inception3a.branch1.conv", "inception3a.branch2.0.conv",
                            "inception3a.branch3.0.conv", "inception3a.branch4.1.conv")]
    assert len(set(first)) == 4 and all(abs(v - rows[ends[0]]["depth"]) < 0.35 for v in first)  # side by side
    trunk = trace(fig, "between blocks: block in / out, after each concat or add")
    assert any("inception3a: concat 64 + 128 + 2 × 32" in t for t in trunk["text"])


# ---- comparison colours, report and dashboard ---------------------------------------------------
def test_comparison_one_line_per_model_in_distinct_colours(profiles):
    fig = charts.channels_along_depth([profiles["resnet50"], profiles["densenet121"]])
    lines = [t for t in fig["data"] if t["mode"] == "lines+markers"]
    assert [t["name"] for t in lines] == ["ResNet-50", "DenseNet-121"]
    assert len({t["line"]["color"] for t in lines}) == 2
    assert "shapes" not in fig["layout"]  # one model's block bands would mislabel the other

    def fake(name: str) -> Profile:
        return Profile(model=name, input_shape=[1, 3, 8, 8], totals={}, layers=[],
                       catalog={"history": {"family": "ResNet", "label": name}})
    assert len(set(charts._distinct_colours([fake("a"), fake("b"), fake("c")]))) == 3  # one family, 3 colours


def test_report_has_the_channel_chart(profiles):
    from archviz.render.report import render_html

    single = render_html([profiles["densenet121"]], command="archviz report densenet121")
    assert '<div class="chart" id="chart-channels"></div>' in single
    figures = json.loads(single.split("const FIGURES = ", 1)[1].split(";\n", 1)[0])
    assert figures["chart-channels"]["layout"]["title"]["text"] == "Channel width along depth: DenseNet-121"
    both = render_html([profiles["resnet50"], profiles["densenet121"]], command="archviz report x y")
    assert 'id="chart-channels"' in both and "one line per model" in both


def test_explorer_and_compare_carry_the_channel_figure(profiles):
    from archviz.dashboard import logic

    r = logic.explore("densenet121", None)
    dots = trace(r["channels_fig"], "each conv / linear: dot = channels out, stroke from channels in")
    assert "features.transition1.conv" in dots["customdata"]
    assert logic.highlight_style({"points": [{"customdata": "features.transition1.conv"}]})[1] == \
        "features.transition1.conv"  # a click on a dot highlights its layer row
    c = logic.compare(["vgg16", "googlenet", "resnet50", "densenet121"])
    names = [t["name"] for t in c["channels_fig"]["data"] if t["mode"] == "lines+markers"]
    assert names == ["VGG-16", "GoogLeNet", "ResNet-50", "DenseNet-121"]


def test_dashboard_outputs_match_the_client_lists():
    from archviz.dashboard.app import create_app
    from dash_client import COMPARE_OUTPUT, EXPLORER_OUTPUT

    app = create_app(names=["resnet18"])
    assert EXPLORER_OUTPUT in app.callback_map and COMPARE_OUTPUT in app.callback_map


def test_transformer_blocks_count_their_embedding_not_their_tokens():
    """ViT-B/16 at 224 px: 197 tokens of hidden size D = 768 (Dosovitskiy et al. 2021, Table 1): each
    encoder block reads and writes 768 channels, and the channel chart's trunk is 768 wide, never
    197; its linear layers are 768 -> 2304 (q, k, v) ... -> 3072 (MLP) -> 768."""
    from archviz.profiler import profile
    from archviz.render import charts

    p = profile("vit_b_16")
    blocks = [b for b in p.blocks if b["type"] == "EncoderBlock"]
    assert len(blocks) == 12 and {(b["in_channels"], b["out_channels"]) for b in blocks} == {(768, 768)}
    assert {t["channels"] for t in charts.channel_trunk(p)} == {768, 1000}
    mlp = [r for r in charts.channel_layers(p) if r["name"].endswith("mlp.0")]
    assert mlp and {(r["in"], r["out"]) for r in mlp} == {(768, 3072)}
