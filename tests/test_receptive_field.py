"""Receptive field, stride and depth: published values, toy models, and an independent gradient probe.

The probe: positive constant weights (1/fan-in), zero biases, identity batch norm, max pooling swapped
for average pooling of the same geometry; back-propagate from the centre output position and measure
the extent of non-zero input gradient. That extent is the receptive field, found without any of
archviz's arithmetic."""

import pytest
import torch
import torchvision
from torch import nn

from archviz.catalog import HISTORY
from archviz.profiler import profile_module
from fixtures.toy_models import ResidualToy, TwoBranchCat


def probe_ready(model: nn.Module) -> nn.Module:
    for name, m in list(model.named_modules()):
        for child_name, child in list(m.named_children()):
            if isinstance(child, nn.MaxPool2d):
                setattr(m, child_name, nn.AvgPool2d(child.kernel_size, child.stride, child.padding,
                                                    ceil_mode=child.ceil_mode))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1), m.bias.zero_(), m.running_mean.zero_(), m.running_var.fill_(1)
    return model.double().eval()


def gradient_extent(model: nn.Module, size: int) -> tuple[list[int], list[float]]:
    """(extent H, W) and (centre H, W) of the input region the centre output position sees."""
    x = torch.ones(1, 3, size, size, dtype=torch.float64, requires_grad=True)
    y = model(x)
    h, w = y.shape[-2] // 2, y.shape[-1] // 2
    y[0, :, h, w].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows = torch.nonzero(g.sum(1)).flatten()
    cols = torch.nonzero(g.sum(0)).flatten()
    assert rows.min() > 0 and rows.max() < size - 1, "probe input too small: field clipped"
    extent = [int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)]
    centre = [float(rows.max() + rows.min()) / 2, float(cols.max() + cols.min()) / 2]
    return extent, centre, (h, w)


def analytic_vs_probe(model: nn.Module, size: int):
    p = profile_module(model, [1, 3, size, size], "probe")
    t = p.totals
    extent, centre, (h, w) = gradient_extent(probe_ready(model), size)
    rf, stride, pad = t["receptive_field"], t["effective_stride"], t["effective_padding"]
    # centre of output position (h, w) = centre of position 0 + index * stride
    predicted = [(rf[0] - 1) / 2 - pad[0] + h * stride[0], (rf[1] - 1) / 2 - pad[1] + w * stride[1]]
    return rf, extent, predicted, centre


def resnet_trunk(name):
    m = torchvision.models.get_model(name, weights=None)
    return nn.Sequential(m.conv1, m.bn1, m.relu, m.maxpool, m.layer1, m.layer2, m.layer3, m.layer4)


def googlenet_trunk():
    m = torchvision.models.googlenet(weights=None, aux_logits=False, init_weights=False)
    keep = ["conv1", "maxpool1", "conv2", "conv3", "maxpool2", "inception3a", "inception3b", "maxpool3",
            "inception4a", "inception4b", "inception4c", "inception4d", "inception4e", "maxpool4",
            "inception5a", "inception5b"]
    return nn.Sequential(*[getattr(m, k) for k in keep])


def densenet_trunk():
    f = torchvision.models.densenet121(weights=None).features
    return nn.Sequential(*list(f.children())[:7])  # conv0 .. denseblock2 (with transition1)


@pytest.mark.parametrize("build,size", [
    (lambda: resnet_trunk("resnet18"), 512),
    (lambda: resnet_trunk("resnet50"), 512),
    (googlenet_trunk, 480),
    (densenet_trunk, 320),
    (TwoBranchCat, 16),
    (ResidualToy, 32),
], ids=["resnet18", "resnet50", "googlenet", "densenet121-trunk", "two-branch-cat", "residual-toy"])
def test_gradient_probe_agrees_with_analysis(build, size):
    rf, extent, predicted, centre = analytic_vs_probe(build(), size)
    assert rf == extent
    assert predicted == centre


def test_published_vgg16_and_alexnet(history_profiles):
    vgg = history_profiles["vgg16"].layer("features.30")  # pool5
    assert (vgg["receptive_field"], vgg["effective_stride"]) == ([212, 212], [32, 32])
    alex = history_profiles["alexnet"].layer("features.12")  # pool5
    assert (alex["receptive_field"], alex["effective_stride"]) == ([195, 195], [32, 32])


def test_projection_shortcut_does_not_multiply_stride(history_profiles):
    p = history_profiles["resnet50"]
    assert p.layer("layer2.0.downsample.0")["effective_stride"] == [8, 8]
    assert p.layer("layer2.0")["effective_stride"] == [8, 8]
    assert p.totals["last_spatial_field"]["effective_stride"] == [32, 32]


# The depth each paper names: weighted layers (conv and fully connected) on the longest path.
# AlexNet 5 conv + 3 fc (Krizhevsky et al. 2012); VGG-11/13/16/19 configurations A, B, D, E
# (Simonyan & Zisserman 2015, Table 1); GoogLeNet "22 layers deep" (Szegedy et al. 2015);
# ResNet-n and DenseNet-n as named (He et al. 2016, Table 1; Huang et al. 2017, Table 1).
NAMED_DEPTH = {"alexnet": 8, "vgg11": 11, "vgg13": 13, "vgg16": 16, "vgg19": 19, "googlenet": 22,
               "resnet18": 18, "resnet34": 34, "resnet50": 50, "resnet101": 101, "resnet152": 152,
               "densenet121": 121, "densenet169": 169, "densenet201": 201}


@pytest.mark.parametrize("name", list(HISTORY))
def test_depth_is_the_number_in_the_name(history_profiles, name):
    assert history_profiles[name].totals["depth"] == NAMED_DEPTH[name]


def test_after_global_pool_the_field_is_global(history_profiles):
    p = history_profiles["resnet18"]
    assert p.layer("avgpool")["receptive_field"] == "global"
    assert p.layer("fc")["receptive_field"] == "global"
    # the headline describes the output (fc: global); the last spatial field is layer4's
    assert (p.totals["receptive_field"], p.totals["receptive_field_at"]) == ("global", "fc")
    assert p.totals["last_spatial_field"]["receptive_field"] == [435, 435]
    assert p.layer("layer4")["receptive_field"] == [435, 435]


def test_toys_have_the_obvious_answers():
    cat = profile_module(TwoBranchCat(), [1, 3, 16, 16], "cat").totals
    assert (cat["receptive_field"], cat["effective_stride"], cat["depth"]) == ([5, 5], [1, 1], 1)
    res = profile_module(ResidualToy(), [1, 3, 32, 32], "res").totals
    assert (res["receptive_field"], res["effective_stride"], res["depth"]) == ([7, 7], [2, 2], 2)


def test_non_square_kernels_give_two_values():
    m = nn.Sequential(nn.Conv2d(3, 4, (1, 7), padding=(0, 3)), nn.Conv2d(4, 4, 3, stride=(2, 1)))
    t = profile_module(m, [1, 3, 32, 32], "ns").totals
    assert t["receptive_field"] == [3, 9] and t["effective_stride"] == [2, 1]


def test_dilation_and_ceil_mode():
    m = nn.Sequential(nn.Conv2d(3, 4, 3, dilation=2), nn.MaxPool2d(3, 2, ceil_mode=True))
    t = profile_module(m, [1, 3, 33, 33], "d").totals
    assert t["receptive_field"] == [5 + 2 * 1, 5 + 2 * 1] and t["effective_stride"] == [2, 2]


def test_blocks_are_recognised(history_profiles):
    kinds = lambda name: [b["kind"] for b in history_profiles[name].top_blocks()]
    assert kinds("resnet50") == ["residual"] * 16
    assert kinds("googlenet") == ["inception"] * 9
    assert kinds("densenet121") == ["dense block", "transition"] * 3 + ["dense block"]
    merges = {b["merge"] for b in history_profiles["resnet50"].blocks}
    assert merges == {"add"}
    assert history_profiles["densenet121"].top_blocks()[0]["merge"] == "concat"
    b = history_profiles["resnet50"].top_blocks()[0]
    assert (b["in_channels"], b["out_channels"], b["skip"]) == (64, 256, "projection")
    assert history_profiles["resnet50"].top_blocks()[1]["skip"] == "identity"


def test_squeeze_excitation_gate_does_not_widen_the_field():
    from torchvision.ops import SqueezeExcitation

    m = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), SqueezeExcitation(8, 2), nn.Conv2d(8, 8, 3, padding=1))
    p = profile_module(m, [1, 3, 16, 16], "se")
    assert p.totals["receptive_field"] == [5, 5]
    assert p.layer("1")["receptive_field"] == [3, 3]  # after the gate: still the conv's field
    assert [b["kind"] for b in p.blocks] == ["squeeze-excitation"]


def test_chunk_and_unpack_keep_the_dataflow(history_profiles):
    """ShuffleNet splits channels with chunk (a list, then unpack): the path must not break."""
    from archviz.profiler import profile

    p = profile("shufflenet_v2_x1_0")
    # conv1, then 4 + 8 + 4 units (Ma et al. 2018, Table 5) whose longest branch is three convs
    # (1x1, depthwise 3x3, 1x1), then conv5 and the fc: 1 + 16 * 3 + 1 + 1 = 51
    assert p.totals["depth"] == 1 + (4 + 8 + 4) * 3 + 1 + 1
    assert p.totals["last_spatial_field"]["effective_stride"] == [32, 32]
