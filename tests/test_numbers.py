"""Figures against independent references: torchvision's published meta and hand arithmetic."""

import pytest
import torch
from torch import nn

from archviz import lessons
from archviz.catalog import HISTORY
from archviz.profiler import profile_module
from conftest import torchvision_meta
from fixtures.toy_models import HandCNN


@pytest.mark.parametrize("name", list(HISTORY))
def test_params_equal_torchvision_published(history_profiles, name):
    p = history_profiles[name]
    assert p.totals["params"] == torchvision_meta(name)["num_params"]


@pytest.mark.parametrize("name", list(HISTORY))
def test_conv_linear_macs_match_published_gflops(history_profiles, name):
    p = history_profiles[name]
    published = torchvision_meta(name)["gflops"] * 1e9
    assert abs(p.totals["conv_linear_macs"] - published) / published < 0.01


@pytest.mark.parametrize("name", list(HISTORY))
def test_flops_are_twice_macs(history_profiles, name):
    t = history_profiles[name].totals
    assert t["flops"] == 2 * t["macs"]
    assert t["macs"] >= t["conv_linear_macs"] > 0


def test_two_3x3_vs_one_5x5():
    lesson = lessons.kernel_vs_stack(channels=128, kernel=5)
    one, two = lesson.variants
    assert (two.params, one.params) == (294_912, 409_600)
    assert one.receptive_field == two.receptive_field == [5, 5]


def test_bottleneck_1x1():
    plain, reduced = lessons.bottleneck(channels=128, width=32).variants
    assert plain.params == 3 * 3 * 128 * 128 == 147_456
    assert reduced.params == 1 * 1 * 128 * 32 + 3 * 3 * 32 * 128 == 40_960
    assert plain.receptive_field == reduced.receptive_field == [3, 3]
    assert plain.out_channels == reduced.out_channels == 128


def test_add_keeps_width_concat_grows_it():
    add, cat = lessons.add_vs_concat(channels=64, layers=4, growth=32).variants
    assert add.out_channels == 64
    assert cat.out_channels == 64 + 4 * 32


def test_hand_built_cnn_matches_hand_arithmetic():
    p = profile_module(HandCNN(), [1, 3, 16, 16], "hand")
    rows = {r["name"]: r for r in p.layers}
    # conv1: 16x16x8 outputs, each 3*3*3 MACs
    assert rows["conv1"]["output_shape"] == [1, 8, 16, 16]
    assert rows["conv1"]["macs"] == 16 * 16 * 8 * 27
    assert rows["conv1"]["params"] == 8 * 27 + 8
    # maxpool 2x2 -> 8x8: convention: 4 compares per output element
    assert rows["pool"]["output_shape"] == [1, 8, 8, 8]
    assert rows["pool"]["macs"] == 8 * 8 * 8 * 4
    # relu: 1 per element
    assert rows["relu"]["macs"] == 8 * 16 * 16
    # conv2: stride 2 -> 4x4x16, each 8*3*3 MACs
    assert rows["conv2"]["output_shape"] == [1, 16, 4, 4]
    assert rows["conv2"]["macs"] == 4 * 4 * 16 * 72
    assert rows["fc"]["macs"] == 256 * 10
    conv_linear = 16 * 16 * 8 * 27 + 4 * 4 * 16 * 72 + 2560
    assert p.totals["conv_linear_macs"] == conv_linear
    assert p.totals["macs"] == conv_linear + 8 * 16 * 16 + 8 * 8 * 8 * 4
    assert p.totals["flops"] == 2 * p.totals["macs"]
    assert p.totals["params"] == 224 + 1152 + 2570
    # fvcore's activation convention: outputs of conv and linear
    assert p.totals["activations"] == 8 * 16 * 16 + 16 * 4 * 4 + 10
    assert p.uncounted_ops == {}


def test_uncounted_ops_are_listed_not_dropped():
    class Odd(nn.Module):
        def forward(self, x):
            return torch.cumsum(x, dim=1)

    p = profile_module(Odd(), [1, 3, 8, 8], "odd")
    assert p.uncounted_ops == {"aten::cumsum": 1}
    assert any("cumsum" in n for n in p.notes)


def test_inception_v3_defaults_to_299_without_aux(archviz_home):
    from archviz.service import get_profile

    p = get_profile("inception_v3")
    assert p.input_shape == [1, 3, 299, 299]
    # torchvision's published count includes the auxiliary classifier; the inference model does not
    from torchvision.models.inception import InceptionAux

    aux = sum(t.numel() for t in InceptionAux(768, 1000).parameters())
    assert p.totals["params"] + aux == torchvision_meta(p.model)["num_params"]
