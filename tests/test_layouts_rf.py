"""Input layouts, resampling, the gate rule for depth, the headline field and tracing caveats
(issue 11). Fields are checked against the gradient probe of test_receptive_field (here for any
number of spatial dimensions) and hand arithmetic; depths by counting layers by hand."""

import warnings

import pytest
import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.ops import SqueezeExcitation

import archviz
from archviz.build import resolve_input
from archviz.errors import ArchvizError
from archviz.profiler import profile, profile_module
from archviz.service import normalise
from conftest import run_cli


# ---- the probe, for 1-D and 2-D inputs ------------------------------------------------------------
def ready(model: nn.Module) -> nn.Module:
    """As test_receptive_field.probe_ready, for every convolution (1-D, 2-D, transposed) and norm:
    positive weights, zero biases, identity norms, max pooling swapped for average pooling."""
    for m in list(model.modules()):
        for name, child in list(m.named_children()):
            if isinstance(child, (nn.MaxPool1d, nn.MaxPool2d)):
                avg = nn.AvgPool1d if isinstance(child, nn.MaxPool1d) else nn.AvgPool2d
                setattr(m, name, avg(child.kernel_size, child.stride, child.padding))
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
                m.weight.fill_(1.0 / m.weight[0].numel())
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.modules.batchnorm._BatchNorm):
                m.weight.fill_(1), m.bias.zero_(), m.running_mean.zero_(), m.running_var.fill_(1)
    return model.double().eval()


def gradient_extent_nd(model: nn.Module, shape: list[int]):
    """Per spatial dimension: (extent, centre) of the input positions the centre output position
    sees, and that position's index."""
    x = torch.ones(*shape, dtype=torch.float64, requires_grad=True)
    y = model(x)
    index = [s // 2 for s in y.shape[2:]]
    y[(0, slice(None), *index)].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    extent, centre = [], []
    for d in range(g.dim()):
        others = [o for o in range(g.dim()) if o != d]
        hits = torch.nonzero(g.sum(dim=others) if others else g).flatten()
        assert hits.min() > 0 and hits.max() < g.shape[d] - 1, "probe input too small: field clipped"
        extent.append(int(hits.max() - hits.min() + 1))
        centre.append(float(hits.max() + hits.min()) / 2)
    return extent, centre, index


def interval(t: dict, index: list[int]) -> list[tuple[float, float]]:
    """The analytic field of output position `index`: [lo, hi] in input positions, per dim."""
    out = []
    for rf, stride, pad, i in zip(t["receptive_field"], t["effective_stride"], t["effective_padding"], index):
        c = (rf - 1) / 2 - pad + i * stride
        out.append((c - (rf - 1) / 2, c + (rf - 1) / 2))
    return out


def probe(model: nn.Module, shape: list[int], layout: str | None = None):
    p = profile_module(model.eval(), shape, "probe", layout=layout)
    extent, centre, index = gradient_extent_nd(ready(model), shape)
    return p, extent, centre, index


# ---- 1. layouts ----------------------------------------------------------------------------------
def conv1d_stack():
    return nn.Sequential(nn.Conv1d(8, 16, 5, padding=2), nn.ReLU(), nn.Conv1d(16, 16, 3, stride=2),
                         nn.MaxPool1d(2), nn.Conv1d(16, 16, 3, dilation=2))


def test_conv1d_stack_on_ncl_input_has_a_1d_field():
    """By hand: 5 -> +2*1 = 7 (stride 2) -> pool 2: +1*2 = 9 (stride 4) -> k3 dilation 2 (k_eff 5):
    +4*4 = 25 at stride 4."""
    model = conv1d_stack()
    p = archviz.profile(model, "1x8x100")  # a user module: 3 numbers are N x C x L
    assert (p.input_shape, p.layout) == ([1, 8, 100], "NCL")
    t = p.totals
    assert (t["receptive_field"], t["effective_stride"]) == ([25], [4])
    assert p.layer("0")["receptive_field"] == [5] and p.layer("2")["effective_stride"] == [2]
    _, extent, centre, index = probe(conv1d_stack(), [1, 8, 101], "NCL")
    assert extent == t["receptive_field"]
    assert [(lo + hi) / 2 for lo, hi in interval(t, index)] == centre


def test_three_numbers_are_chw_for_catalogue_models_and_ncl_for_user_models():
    assert resolve_input("3x32x32", None, image=True) == ([1, 3, 32, 32], "NCHW")
    assert resolve_input("1x8x100", None, image=False) == ([1, 8, 100], "NCL")
    assert resolve_input("1x8x100", "CHW", image=False) == ([1, 1, 8, 100], "NCHW")
    assert resolve_input("1x100x8", "nlc", image=True) == ([1, 100, 8], "NLC")
    assert resolve_input("224", None) == ([1, 3, 224, 224], "NCHW")
    assert resolve_input([4, 10], None) == ([4, 10], "NC")
    with pytest.raises(ArchvizError, match="needs 3 numbers"):
        resolve_input("1x3x32x32", "NCL")
    with pytest.raises(ArchvizError, match="unknown --layout"):
        resolve_input("1x8x100", "NHWC")


def test_the_layout_is_part_of_the_store_key_when_not_the_default():
    assert normalise("resnet18", "3x64x64") == ("resnet18", "1x3x64x64")
    assert normalise("resnet18", "1x3x64x64", "NCHW") == ("resnet18", "1x3x64x64")
    assert normalise("resnet18", "1x8x100", "NCL") == ("resnet18", "1x8x100 NCL")
    assert normalise("net.py:build", "1x8x100") == ("net.py:build", "1x8x100")
    assert normalise("net.py:build", "1x8x100", "NLC") == ("net.py:build", "1x8x100 NLC")


def test_two_numbers_have_no_spatial_field():
    p = archviz.profile(nn.Sequential(nn.Linear(10, 20), nn.ReLU(), nn.Linear(20, 3)), "4x10")
    assert (p.input_shape, p.layout) == ([4, 10], "NC")
    assert p.totals["receptive_field"] is None and p.layer("0")["receptive_field"] is None
    assert any("layout NC" in n and "no spatial dimension" in n for n in p.notes)


def test_a_token_sequence_has_no_field_and_says_why():
    model = nn.Sequential(nn.Linear(8, 16), nn.GELU(), nn.Linear(16, 8))
    p = archviz.profile(model, "1x50x8", layout="NLC")
    assert (p.input_shape, p.layout) == ([1, 50, 8], "NLC")
    assert p.totals["receptive_field"] is None
    assert any("token sequence (layout NLC)" in n for n in p.notes)


# ---- 2. resampling -------------------------------------------------------------------------------
class Resample(nn.Module):
    """3x3 conv, then `up` (nearest x2, a transposed conv, or bilinear x2), then `tail`."""

    def __init__(self, up: str, tail: bool = True) -> None:
        super().__init__()
        self.down = nn.Conv2d(3, 4, 3)
        self.kind = up
        self.up = {"nearest": nn.Upsample(scale_factor=2, mode="nearest"),
                   "bilinear": nn.Upsample(scale_factor=2, mode="bilinear"),
                   "t3": nn.ConvTranspose2d(4, 4, 3, stride=2, padding=1),
                   "t4": nn.ConvTranspose2d(4, 4, 4, stride=2, padding=1)}[up]
        self.tail = nn.Conv2d(4, 4, 3, padding=1) if tail else nn.Identity()

    def forward(self, x):
        return self.tail(self.up(self.down(x)))


def test_transposed_convolution_where_taps_line_up_equals_the_probe():
    """k3, stride 2, padding 1 after a 3x3 conv (field 3, stride 1, centre 1): j' = 1/2,
    r' = 3 + (3-1)/2 = 4, c' = 1 + (1 - 1)/2 = 1. At the probe's position (13: 13 + 1 is even) the
    two inputs 6 and 7 reach it: pixels 6..9, extent 4, centre 7.5 = 1 + 13/2."""
    p, extent, centre, index = probe(Resample("t3", tail=False), [1, 3, 16, 16])
    t = p.totals
    assert (t["receptive_field"], t["effective_stride"]) == ([4, 4], [0.5, 0.5])
    assert index == [13, 13] and extent == [4, 4] and centre == [7.5, 7.5]
    assert [(lo + hi) / 2 for lo, hi in interval(t, index)] == centre


@pytest.mark.parametrize("up,rf", [("nearest", 4.5), ("t4", 5.5)])
def test_upsampling_field_is_an_envelope_of_the_probe(up, rf):
    """Nearest x2 is a transposed conv with kernel 2, stride 2: 3 + 1/2 = 3.5, then the 3x3 conv
    adds 2 * 1/2: 4.5. Transposed k4 s2 p1: 3 + 3/2 = 4.5, then + 1: 5.5. The probe's extent lies
    inside that interval and short of it by less than one pre-upsampling step (1 px)."""
    p, extent, centre, index = probe(Resample(up), [1, 3, 20, 20])
    t = p.totals
    assert (t["receptive_field"], t["effective_stride"]) == ([rf, rf], [0.5, 0.5])
    for (lo, hi), e, c in zip(interval(t, index), extent, centre):
        assert lo <= c - (e - 1) / 2 and c + (e - 1) / 2 <= hi
        assert 0 <= rf - e < 1


def test_bilinear_upsampling_is_unknown_and_named():
    p = profile_module(Resample("bilinear").eval(), [1, 3, 16, 16], "bilinear")
    assert p.totals["receptive_field"] is None and p.totals["receptive_field_at"] == "tail"
    assert any("aten::upsample_bilinear2d" in n and "align_corners" in n for n in p.notes)
    # the note names the last layer whose field is known: the 3x3 conv "down", 3 px at stride 1
    assert any("last known field is 3 px at stride 1, at down." in n for n in p.notes)


# ---- 3. one rule for depth and field --------------------------------------------------------------
def test_a_gate_does_not_lengthen_depth():
    plain = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.Conv2d(8, 8, 3, padding=1))
    gated = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), SqueezeExcitation(8, 2), nn.Conv2d(8, 8, 3, padding=1))
    assert profile_module(plain.eval(), [1, 3, 16, 16]).totals["depth"] == 2
    t = profile_module(gated.eval(), [1, 3, 16, 16]).totals
    assert (t["depth"], t["receptive_field"]) == (2, [5, 5])  # the SE's two 1x1 convs: off the path


@pytest.mark.parametrize("name", ["efficientnet_b0", "regnet_y_400mf"])
def test_squeeze_excitation_networks_count_the_main_path(name):
    """Convs on the main path, by hand (each SE's fc1/fc2 gate the block and are off it):
    EfficientNet-B0: stem 1 + MBConv1 (depthwise, project) 2 + 15 MBConv6 (expand, depthwise,
    project) 45 + head 1x1 1 + classifier 1 = 50.
    RegNetY-400MF: stem 1 + 16 blocks (depths 1, 3, 6, 6) x (a 1x1, b 3x3, c 1x1) 48 + fc 1 = 50
    (the projection shortcuts run beside a block's three convs)."""
    assert profile(name, "1x3x64x64").totals["depth"] == 50


def test_se_resnet50_is_still_50():
    """ResNet-50 with a squeeze-excitation gate after every bottleneck's last batch norm, before
    the residual add (SE-ResNet): 1 + 16 x 3 + 1 = 50, as without the gates."""
    m = torchvision.models.resnet50(weights=None)
    for stage in (m.layer1, m.layer2, m.layer3, m.layer4):
        for block in stage:
            c = block.bn3.num_features
            block.bn3 = nn.Sequential(block.bn3, SqueezeExcitation(c, c // 16))
    assert profile_module(m.eval(), [1, 3, 64, 64]).totals["depth"] == 50


# ---- 4. the headline field describes the output -------------------------------------------------
def test_headline_of_a_classifier_is_global_at_its_output_module():
    m = nn.Sequential(nn.Conv2d(3, 8, 3), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, 2))
    t = profile_module(m.eval(), [1, 3, 16, 16]).totals
    assert (t["receptive_field"], t["effective_stride"], t["receptive_field_at"]) == ("global", None, "3")
    assert (t["last_spatial_field"]["receptive_field"], t["last_spatial_field"]["at"]) == ([3, 3], "0")
    from archviz.render.summary import field_card

    assert field_card(t)[0] == "global (at 3)"


def test_headline_of_a_spatial_output_is_its_field():
    """UNet-like: down (3x3, stride 2), up (nearest x2), out (3x3): the output's own field, at 'out'.
    By hand: 3 at stride 2 (centre 1); nearest x2: 3 + 1 = 4 at stride 1; out: 4 + 2 = 6."""
    class UNetLike(nn.Module):
        def __init__(self):
            super().__init__()
            self.down = nn.Conv2d(3, 8, 3, stride=2, padding=1)
            self.out = nn.Conv2d(8, 2, 3, padding=1)

        def forward(self, x):
            return self.out(F.interpolate(self.down(x), scale_factor=2, mode="nearest"))

    t = profile_module(UNetLike().eval(), [1, 3, 32, 32]).totals
    assert (t["receptive_field"], t["effective_stride"], t["receptive_field_at"]) == ([6, 6], [1, 1], "out")


# ---- 5. tracing caveats -------------------------------------------------------------------------
class Branchy(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(8, 8, 3, padding=1, bias=False)

    def forward(self, y):
        if y.sum() > 0:  # data-dependent: on the all-zero input the branch is not taken
            y = self.conv(y)
        warnings.warn("a user warning, not a tracing caveat")
        return y


class WithBranch(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1, bias=False)
        self.gate = Branchy()

    def forward(self, x):
        return self.gate(self.gate(self.stem(x)))  # the same warning twice: one note


def test_tracer_warnings_become_notes_naming_the_module():
    with warnings.catch_warnings(record=True) as shown:
        warnings.simplefilter("always")
        p = profile_module(WithBranch().eval(), [1, 3, 16, 16], "branchy")
    # on zeros the stem gives zeros, the branch is skipped: the stem's MACs only, 16*16*8*27
    assert p.totals["conv_linear_macs"] == 16 * 16 * 8 * 27
    caveats = [n for n in p.notes if "Tracer warning" in n]
    assert len(caveats) == 1 and "module 'gate'" in caveats[0] and "all-zero input" in caveats[0]
    assert "Python boolean" in caveats[0]
    assert not any("user warning" in n for n in p.notes)
    assert not any("user warning" in str(w.message) or issubclass(w.category, torch.jit.TracerWarning)
                   for w in shown)  # other warnings stay silent; tracer warnings became notes


def test_notes_and_layout_reach_every_output(tmp_path):
    (tmp_path / "nets.py").write_text(
        "from torch import nn\n"
        "def conv1d():\n"
        "    return nn.Sequential(nn.Conv1d(8, 16, 5, padding=2), nn.Conv1d(16, 16, 3, stride=2))\n")
    spec = f"{tmp_path / 'nets.py'}:conv1d"
    res = run_cli("profile", spec, "--input", "1x8x100", "-f", "markdown")
    assert res.returncode == 0, res.stderr
    assert "Input 1x8x100 (NCL)" in res.stdout and "receptive field 7 px · stride 2 · at 1" in res.stdout
    res = run_cli("profile", spec, "--input", "1x8x100", "--layout", "NCHW")
    assert res.returncode == 2 and "needs 1 or 4 numbers" in res.stderr


# ---- tokens: a grid flattened into a sequence keeps a field per token (issue 20 item 2) ----------
class Tokens(nn.Module):
    """A ViT's front: 16x16 patches (conv, stride 16), flattened to tokens, a norm and a linear per
    token; `attend` adds self-attention, which mixes the tokens."""

    def __init__(self, attend: bool = False) -> None:
        super().__init__()
        self.patch = nn.Conv2d(3, 8, 16, stride=16)
        self.norm = nn.LayerNorm(8)
        self.fc = nn.Linear(8, 8)
        self.attn = nn.MultiheadAttention(8, 2, batch_first=True) if attend else None

    def forward(self, x):
        t = self.fc(self.norm(self.patch(x).flatten(2).transpose(1, 2)))
        return self.attn(t, t, t, need_weights=False)[0] if self.attn is not None else t


def token_extent(model: nn.Module, token: int) -> list[int]:
    """The gradient probe for one output token: the extent, per input dimension, it depends on."""
    x = torch.ones(1, 3, 64, 64, dtype=torch.float64, requires_grad=True)
    model.double()(x)[0, token].sum().backward()
    g = x.grad.abs().sum(dim=(0, 1))
    rows, cols = torch.nonzero(g.sum(1)).flatten(), torch.nonzero(g.sum(0)).flatten()
    return [int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)]


def test_tokens_keep_their_patch_field_until_attention():
    """Token 5 of a 4x4 grid is the patch at rows 16-31, columns 16-31: the probe finds a 16x16
    field through the norm and the linear layer; attention makes it the whole 64x64 input."""
    torch.manual_seed(0)
    plain = Tokens().eval()
    p = profile_module(plain, [1, 3, 64, 64], "tokens")
    assert token_extent(plain, 5) == [16, 16]
    for row in ("patch", "norm", "fc"):
        assert p.layer(row)["receptive_field"] == [16, 16] and p.layer(row)["effective_stride"] == [16, 16], row
    attend = Tokens(attend=True).eval()
    q = profile_module(attend, [1, 3, 64, 64], "attend")
    assert token_extent(attend, 5) == [64, 64]
    assert q.layer("fc")["receptive_field"] == [16, 16] and q.layer("attn")["receptive_field"] == "global"


def test_vit_is_global_only_from_its_first_attention():
    """torchvision's ViT-B/16: the patch embedding, the encoder's dropout and the first block's norm
    keep each token's 16x16 patch; the first self-attention makes the field global."""
    from archviz.profiler import profile

    p = profile("vit_b_16")
    for row in ("conv_proj", "encoder.dropout", "encoder.layers.encoder_layer_0.ln_1"):
        assert p.layer(row)["receptive_field"] == [16, 16], row
    assert p.layer("encoder.layers.encoder_layer_0.self_attention")["receptive_field"] == "global"


def test_a_fused_attentions_out_proj_has_its_depth_and_a_null_field_is_never_named():
    """nn.TransformerEncoder's fast path runs out_proj inside one fused op: out_proj's row takes that
    op's depth (each layer: in-projection, out-projection = 2 weighted layers; then the feed-forward's
    2: layer 0's attention ends at depth 2, layer 1's at 2 + 2 + 2 = 6). Swin's note names a place
    whose field is known, or the operator, never a module whose own field is null."""
    import archviz

    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(32, 4, 64, batch_first=True), 2).eval()
    p = archviz.profile(enc, example_inputs=torch.zeros(1, 10, 32))
    assert [p.layer(f"layers.{i}.self_attn.out_proj")["depth"] for i in (0, 1)] == [2, 6]
    assert p.layer("layers.0.self_attn.out_proj")["macs"] == 10 * 32 * 32  # L*E^2, its share
    from archviz.profiler import profile

    swin = profile("swin_t")
    at = swin.totals["last_spatial_field"]["at"]
    rows = {r["name"]: r for r in swin.layers}
    assert at not in rows or rows[at]["receptive_field"] is not None
