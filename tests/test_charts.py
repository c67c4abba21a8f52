"""Chart data (issue 12, parts 1 and 2): one colour per model (family hue, shades within a family, the
same in every chart of a page), cumulative MACs / parameters and the monotone receptive field checked
against hand arithmetic, and the label placer's geometry. No browser here: test_labels_browser.py
checks the drawn labels in Chromium."""

from __future__ import annotations

import colorsys

import pytest

from archviz.catalog import family_colour
from archviz.record import Profile
from archviz.render import charts
from archviz.render.colours import page_colours, shades
from archviz.render.labels import Frame, Label, Scale, log_ticks, place, tick_text


def fake(name: str, family: str | None, depth: int) -> Profile:
    hist = {"history": {"family": family, "label": name}} if family else None
    return Profile(model=name, input_shape=[1, 3, 8, 8], totals={"depth": depth, "params": depth}, layers=[],
                   catalog=hist)


def hls(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    return colorsys.rgb_to_hls(*(int(c[k:k + 2], 16) / 255 for k in (0, 2, 4)))


# ---- colours ----------------------------------------------------------------------------------
def test_one_family_gets_shades_of_its_hue_light_to_dark_by_size():
    page = [fake("ResNet-50", "ResNet", 50), fake("ResNet-18", "ResNet", 18), fake("ResNet-152", "ResNet", 152)]
    c50, c18, c152 = page_colours(page)
    hue = hls(family_colour("ResNet"))[0]
    for c in (c18, c50, c152):
        assert hls(c)[0] == pytest.approx(hue, abs=0.01)  # the family's hue kept
    light = [hls(c)[1] for c in (c18, c50, c152)]
    assert light[0] > light[1] > light[2]  # ResNet-18 light, ResNet-152 dark
    assert min(a - b for a, b in zip(light, light[1:])) >= 0.15  # steps one can tell apart


def test_families_keep_their_own_colour_and_strangers_get_palette_colours():
    page = [fake("VGG-16", "VGG", 16), fake("ResNet-50", "ResNet", 50), fake("mine", None, 3), fake("other", None, 4)]
    colours = page_colours(page)
    assert colours[:2] == [family_colour("VGG"), family_colour("ResNet")]  # alone in its family: the family colour
    assert len(set(colours)) == 4
    assert shades("#1f77b4", 1) == ["#1f77b4"] and len(set(shades("#1f77b4", 4))) == 4


def trace_colour(t: dict) -> str:
    return (t.get("line") or {}).get("color") or (t.get("marker") or {}).get("color")


def test_a_model_has_the_same_colour_in_every_chart_of_a_page(history_profiles):
    models = ["resnet18", "resnet50", "densenet121", "densenet201"]
    profiles = [history_profiles[m] for m in models]
    want = dict(zip(models, page_colours(profiles)))
    assert len(set(want.values())) == 4
    figures = [charts.macs_params_along_depth(profiles), charts.receptive_field_along_depth(profiles),
               charts.channels_along_depth(profiles), charts.share_by_type(profiles)]
    for fig in figures:
        seen = {}
        for t in fig["data"]:
            if t.get("legendgroup") in want:
                seen.setdefault(t["legendgroup"], set()).add(trace_colour(t))
        assert seen == {m: {c} for m, c in want.items()}, fig["layout"]["title"]["text"]


# ---- cumulative MACs and parameters -------------------------------------------------------------
def test_cumulative_curves_climb_to_the_totals_by_hand_arithmetic(history_profiles):
    vgg = history_profiles["vgg16"]
    macs, params = charts.cumulative_macs(vgg), charts.cumulative_params(vgg)
    # depth 1: conv1_1 (224*224 outputs x 64 channels x 3*3*3 taps) and its ReLU (one per element)
    assert macs["x"][0] == 1 and macs["y"][0] == 224 * 224 * 64 * 27 + 224 * 224 * 64
    assert params["y"][0] == 64 * 27 + 64
    assert params["y"][-1] == 138_357_544  # torchvision's published VGG-16 parameter count
    assert macs["y"] == sorted(macs["y"]) and params["y"] == sorted(params["y"])  # monotone
    # fc6 (25088 -> 4096) brings 102,764,544 weights at depth 14: the big step of the params curve
    step = dict(zip(params["x"], (b - a for a, b in zip([0] + params["y"], params["y"]))))
    assert step[14] == 25088 * 4096 + 4096
    r18 = charts.cumulative_params(history_profiles["resnet18"])
    assert r18["y"][-1] == 11_689_512 and r18["x"][-1] == 18


def test_macs_params_chart_is_two_panels_one_line_per_model(history_profiles):
    profiles = [history_profiles[m] for m in ("resnet18", "resnet50", "densenet121", "densenet201")]
    fig = charts.macs_params_along_depth(profiles)
    assert len(fig["data"]) == 8 and {t.get("yaxis", "y") for t in fig["data"]} == {"y", "y2"}
    assert sorted(t["name"] for t in fig["data"] if t["showlegend"]) == [
        "DenseNet-121", "DenseNet-201", "ResNet-18", "ResNet-50"]  # one legend entry per model
    by_model = {t["legendgroup"]: t for t in fig["data"] if t.get("yaxis") == "y2"}
    assert by_model["densenet121"]["y"][-1] == 7_978_856  # published DenseNet-121 parameters


# ---- receptive field ----------------------------------------------------------------------------
VGG16 = [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"]


def vgg_fields_by_hand() -> list[int]:
    """The field after each conv (with the pool that follows it, at the same depth): r += (k-1)*j."""
    r, j, out = 1, 1, []
    for v in VGG16:
        if v == "M":
            r, j = r + j, j * 2  # 2x2 pool, stride 2
            out[-1] = r
        else:
            r += 2 * j  # 3x3 conv, stride 1
            out.append(r)
    return out


def test_receptive_field_is_a_running_maximum_matching_hand_arithmetic(history_profiles):
    curve = charts.receptive_field_curve(history_profiles["vgg16"])
    assert curve["x"] == list(range(1, 14)) and curve["y"] == vgg_fields_by_hand()  # ... 196, then pool: 212
    # after the 13 convolutions the flatten makes it global (the convention: after global pooling,
    # flatten or linear the field is "global")
    assert curve["global"][0] == 13 and "flatten" in curve["global"][1]
    for name in ("resnet50", "densenet121", "googlenet"):
        c = charts.receptive_field_curve(history_profiles[name])
        assert c["y"] == sorted(set(c["y"])) and c["x"] == sorted(c["x"])  # never steps back, no loops


def test_a_transformer_gets_a_sentence_not_a_lonely_dot(archviz_home):
    from archviz.service import get_profiles

    vit = get_profiles(["vit_b_16"])[0]
    fig = charts.receptive_field_along_depth([vit])
    assert [t for t in fig["data"] if t.get("yaxis", "y") == "y"] == []  # no receptive-field trace
    notes = " ".join(a["text"] for a in fig["layout"]["annotations"])
    # 16x16 patches per token, global at the first attention: conv_proj is weighted layer 1, the fused
    # attention its in- and out-projections, 2 more (Dosovitskiy et al. 2021: tokens mix only there)
    assert "16 px at conv_proj" in notes
    assert "global from layer 3 (encoder.layers.encoder_layer_0.self_attention)" in notes


# ---- label placement -----------------------------------------------------------------------------
def test_scales_and_frames_map_data_to_pixels():
    assert Scale(1, 100, log=True).frac(10) == pytest.approx(0.5)
    assert Scale(1, 100, log=True).ref(100) == pytest.approx(2)  # plotly's log-axis coordinate
    frame = Frame(500, 400, {"l": 50, "r": 50, "t": 100, "b": 100}, (0.5, 1.0))
    assert frame.box == (250, 100, 450, 300)
    assert frame.pixel(5, 0, Scale(0, 10), Scale(0, 1)) == (350, 300)


def test_labels_on_one_spot_are_spread_apart_inside_the_plot():
    frame = Frame(600, 400, {"l": 60, "r": 20, "t": 60, "b": 60})
    xs, ys = Scale(0, 10), Scale(0, 10)
    labels = [Label(5, 5, f"DenseNet-{n}") for n in (121, 161, 169, 201)] + [Label(9.9, 9.9, "ResNet-152")]
    placed = place(labels, frame, xs, ys)
    left, top, right, bottom = frame.box
    for i, a in enumerate(placed):
        assert left <= a.box[0] and a.box[2] <= right and top <= a.box[1] and a.box[3] <= bottom
        for b in placed[i + 1:]:
            apart_x = min(a.box[2], b.box[2]) <= max(a.box[0], b.box[0])
            assert apart_x or min(a.box[3], b.box[3]) <= max(a.box[1], b.box[1])
    assert any(p.leader for p in placed)  # four labels on one point: some had to move away
    corner = placed[-1]
    assert corner.box[2] <= right and corner.box[1] >= top  # pushed inwards, not cut at the corner


def test_log_ticks_are_1_2_5():
    assert log_ticks(0.4, 30) == [0.5, 1, 2, 5, 10, 20]
    assert [tick_text(v) for v in (0.5, 2000, 5e6)] == ["0.5", "2k", "5M"]


def test_history_accuracy_comes_from_the_v1_weights():
    """The 2012-2016 story uses the original recipes: resnet50's V1 top-1 (76.13) from torchvision's
    own weights meta, not the 2021 recipe's 80.858 of its DEFAULT weights."""
    from torchvision.models import ResNet50_Weights

    hist = {"history": {"label": "ResNet-50", "family": "ResNet", "year": 2015, "key_idea": "", "colour": "#1f77b4"},
            "published": {"acc@1": 80.858}}
    p = Profile(model="resnet50", input_shape=[1, 3, 224, 224],
                totals={"depth": 50, "params": 1, "macs": 1, "conv_linear_macs": 1, "flops": 2}, layers=[], catalog=hist)
    (pt,) = charts.history_points([p])
    want = ResNet50_Weights.IMAGENET1K_V1.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert (pt["acc1"], pt["weights"]) == (want, "IMAGENET1K_V1") and want == pytest.approx(76.13)


def test_names_reach_plotly_as_text_never_markup(tmp_path):
    """A model and modules named with plotly's HTML (links, styled spans): every chart shows them
    escaped, in titles, legends, hover text, tick labels and annotations; clicks still carry the
    raw name. Counted over the whole figure JSON: not one raw tag from a name."""
    import json

    import torch.nn as nn

    from archviz.profiler import profile_module
    from archviz.render.numbers import chart_text

    link, span = '<a href="http://evil/">x</a>', '<span style="font-size:50px;color:red">big</span>'

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            self.add_module(link, nn.Conv2d(3, 8, 3))
            self.add_module(span, nn.Sequential(nn.ReLU(), nn.Conv2d(8, 8, 3)))

        def forward(self, x):
            return getattr(self, span)(getattr(self, link)(x))

    p = profile_module(Net().eval(), [1, 3, 16, 16], name=f"net{link}")
    figs = [charts.macs_params_along_depth([p]), charts.receptive_field_along_depth([p]),
            charts.channels_along_depth([p]), charts.share_by_type([p])]
    data_only = ("customdata", "legendgroup")  # ids for clicks and grouping, never drawn
    shown = [{**f, "data": [{k: v for k, v in t.items() if k not in data_only} for t in f["data"]]} for f in figs]
    text = json.dumps(shown)  # everything plotly draws
    assert "<a href" not in text and "<span style=\\\"font-size:50px" not in text
    assert json.dumps(chart_text(link))[1:-1] in text and json.dumps(chart_text(span))[1:-1] in text  # as text
    curve = next(t for t in figs[0]["data"] if t.get("customdata"))
    assert link in curve["customdata"] or f"{span}.1" in curve["customdata"]  # clicks: raw names


def test_feature_map_height_starts_at_the_first_layers_resolution(history_profiles):
    """ResNet-50's 7x7 stride-2 conv makes 224 -> 112 before its pool (56); AlexNet's 11x11
    stride-4 conv with padding 2 makes (224 + 4 - 11) // 4 + 1 = 55 before its pool (27)."""
    r50 = charts.receptive_field_curve(history_profiles["resnet50"])
    assert (r50["hx"][:2], r50["hy"][:2]) == ([1, 1], [224 // 2, 224 // 4])
    alex = charts.receptive_field_curve(history_profiles["alexnet"])
    assert (alex["hx"][:2], alex["hy"][:2]) == ([1, 1], [(224 + 4 - 11) // 4 + 1, 27])


def test_receptive_field_chart_marks_the_input_size(history_profiles):
    """DenseNet-121's field reaches 2,071 px on a 224 px input: the chart draws the input's size,
    so a field wider than the image explains itself."""
    fig = charts.receptive_field_along_depth([history_profiles["densenet121"]])
    lines = [s for s in fig["layout"]["shapes"] if s["yref"] == "y"]
    assert [(s["y0"], s["y1"]) for s in lines] == [(224, 224)]
    assert any(a["text"] == "input 224 px" for a in fig["layout"]["annotations"])
