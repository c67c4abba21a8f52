"""The networks archviz defines as published: AlexNet 2012 (two towers) and the ResNet paper's CIFAR
nets. Parameters and MACs by hand arithmetic per layer, depth from the names, the receptive field
against the gradient probe."""

import pytest
import torch
from torch import nn

from archviz.models import alexnet2012, cifar_net
from archviz.service import get_profile
from test_receptive_field import analytic_vs_probe


def conv(c_in, c_out, k, out_hw, groups=1, bias=True):
    """(params, MACs) of a k x k convolution producing out_hw x out_hw maps."""
    params = c_out * (c_in // groups) * k * k + (c_out if bias else 0)
    return params, c_out * out_hw * out_hw * (c_in // groups) * k * k


def linear(n_in, n_out):
    return n_in * n_out + n_out, n_in * n_out


# Krizhevsky et al. 2012, figure 2: per layer over both towers (grouped = own tower only).
ALEXNET_2012 = {
    "conv1": conv(3, 96, 11, 55), "conv2": conv(96, 256, 5, 27, groups=2), "conv3": conv(256, 384, 3, 13),
    "conv4": conv(384, 384, 3, 13, groups=2), "conv5": conv(384, 256, 3, 13, groups=2),
    "fc6": linear(256 * 6 * 6, 4096), "fc7": linear(4096, 4096), "fc8": linear(4096, 1000),
}
ALEXNET_ROWS = {"conv1": ["tower_a.conv1", "tower_b.conv1"], "conv2": ["tower_a.conv2", "tower_b.conv2"],
                "conv3": ["upper_a.conv3", "upper_b.conv3"], "conv4": ["upper_a.conv4", "upper_b.conv4"],
                "conv5": ["upper_a.conv5", "upper_b.conv5"], "fc6": ["classifier.1"], "fc7": ["classifier.4"],
                "fc8": ["classifier.6"]}


@pytest.fixture(scope="module")
def alexnet():
    return get_profile("alexnet2012")


def test_alexnet2012_params_equal_the_hand_count(alexnet):
    assert sum(p for p, _ in ALEXNET_2012.values()) == 60_965_224
    assert alexnet.totals["params"] == 60_965_224
    assert alexnet.input_shape == [1, 3, 227, 227]


@pytest.mark.parametrize("layer", list(ALEXNET_2012))
def test_alexnet2012_layers_by_hand(alexnet, layer):
    params, macs = ALEXNET_2012[layer]
    rows = [alexnet.layer(name) for name in ALEXNET_ROWS[layer]]
    assert sum(r["params"] for r in rows) == params
    assert sum(r["macs"] for r in rows) == macs


def test_alexnet2012_depth_towers_and_catalogue(alexnet):
    assert alexnet.totals["depth"] == 8
    assert alexnet.totals["conv_linear_macs"] == sum(m for _, m in ALEXNET_2012.values())
    h = alexnet.catalog["history"]
    assert h["year"] == 2012 and h["ilsvrc"]["top5_error"] == 15.3
    assert "61,100,840" in alexnet.catalog["quirk"] and "two towers" in alexnet.catalog["quirk"]
    # the two towers run side by side: both conv2s sit at depth 2, both conv5s at depth 5
    assert {alexnet.layer(n)["depth"] for n in ("tower_a.conv2", "tower_b.conv2")} == {2}
    assert {alexnet.layer(n)["depth"] for n in ("upper_a.conv5", "upper_b.conv5")} == {5}


def test_alexnet2012_diagram_shows_both_towers(alexnet):
    from archviz.render.diagram import svg_text

    svg = svg_text(alexnet, level="layers")
    for tower in ("tower_a", "tower_b", "upper_a", "upper_b"):  # each tower its own open group
        assert f"<b>▾ {tower}</b>".lower() in svg.lower() or f">▾ {tower}<" in svg
    assert svg.count(">conv2<") == 2 and svg.count(">conv5<") == 2  # one per tower


class Trunk(nn.Module):
    """A network up to its last spatial tensor (before pooling and the classifier)."""

    def __init__(self, net: nn.Module, run) -> None:
        super().__init__()
        self.net, self.run = net, run

    def forward(self, x):
        return self.run(self.net, x)


def alexnet_trunk(net, x):
    both = torch.cat([net.tower_a(x), net.tower_b(x)], 1)
    return torch.cat([net.upper_a(both), net.upper_b(both)], 1)


def cifar_trunk(net, x):
    return net.stage3(net.stage2(net.stage1(torch.relu(net.bn1(net.conv1(x))))))


def test_alexnet2012_receptive_field_against_the_probe():
    model = Trunk(alexnet2012(), alexnet_trunk).eval()
    rf, extent, predicted, centre = analytic_vs_probe(model, 291)
    assert rf == extent == [195, 195] and predicted == centre


def cifar_params(n: int) -> int:
    """Hand count: first conv 3->16, 2n 3x3 layers per stage (16, 32, 64), batch norm (2 per
    channel) after every conv, fc 64->10. No shortcut parameters (option A)."""
    convs = 3 * 16 * 9
    bn = 2 * 16
    c_in = 16
    for width in (16, 32, 64):
        for j in range(2 * n):
            convs += (c_in if j == 0 else width) * width * 9
            bn += 2 * width
        c_in = width
    return convs + bn + 64 * 10 + 10


@pytest.mark.parametrize("name,n,paper", [("plain20", 3, 0.27e6), ("resnet20", 3, 0.27e6),
                                          ("plain56", 9, 0.85e6), ("resnet56", 9, 0.85e6)])
def test_cifar_nets_params_depth(name, n, paper):
    p = get_profile(name)
    assert p.totals["params"] == cifar_params(n)
    assert round(p.totals["params"] / 1e6, 2) == paper / 1e6  # the paper's table 6
    assert p.totals["depth"] == 6 * n + 2 and p.input_shape == [1, 3, 32, 32]
    residual = name.startswith("resnet")
    blocks = [b for b in p.top_blocks() if b["merge"] == "add"]
    assert len(blocks) == (3 * n if residual else 0)
    assert all(b["skip"] == "identity" for b in blocks)  # option A: every shortcut an identity


def test_resnet20_receptive_field_against_the_probe():
    """Option A's strided slice and channel padding keep the field: 81 at stride 4 by hand
    (3, then +2 x 6, then +2 +4 x 5 at stride 2, then +4 +8 x 5 at stride 4)."""
    rf, extent, predicted, centre = analytic_vs_probe(Trunk(cifar_net(20, True), cifar_trunk).eval(), 121)
    assert rf == extent == [81, 81] and predicted == centre
