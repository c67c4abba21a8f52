"""Costs of recurrent layers and fused attention, and where each cost lands (issue 11, items 4, 5, 9).
References are hand arithmetic, torch's FlopCounterMode, or fvcore on the unfused attention path."""

import contextlib
import warnings

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archviz
from archviz.profiler import profile_module


def flop_counter_macs(model, x):
    """torch's own count of the matmuls (oneDNN off, so the LSTM runs as matmuls it can see)."""
    with torch.no_grad(), warnings.catch_warnings(), torch.backends.mkldnn.flags(enabled=False):
        warnings.simplefilter("ignore")
        with FlopCounterMode(display=False) as counter:
            model(x)
    return counter.get_total_flops() // 2


@contextlib.contextmanager
def unfused_attention():
    """nn.MultiheadAttention off its fast path: separate linear projections, as fvcore sees them."""
    before = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        torch.backends.mha.set_fastpath_enabled(before)


def fvcore_activations(model, x):
    from fvcore.nn import ActivationCountAnalysis

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        count = ActivationCountAnalysis(model, (x,))
        count.unsupported_ops_warnings(False)
        count.uncalled_modules_warnings(False)
        return count.total()


# ---- recurrent layers ----------------------------------------------------------------------------
def test_lstm_two_layers_hand_count():
    p = profile_module(nn.LSTM(32, 64, num_layers=2).eval(), [50, 1, 32])
    layer1 = 4 * 64 * (32 + 64) * 50
    layer2 = 4 * 64 * (64 + 64) * 50
    assert (layer1, layer2) == (1_228_800, 1_638_400)
    assert p.totals["macs"] == layer1 + layer2 == 2_867_200
    assert p.totals["conv_linear_macs"] == 2_867_200
    assert p.totals["depth"] == 2
    assert p.uncounted_ops == {}


def test_lstm_batch_multiplies_and_matches_flop_counter():
    model = nn.LSTM(32, 64, num_layers=2).eval()
    x = torch.randn(50, 3, 32)
    p = archviz.profile(model, example_inputs=x)
    assert p.totals["macs"] == 3 * 2_867_200 == flop_counter_macs(model, x)


def test_lstm_projection():
    model = nn.LSTM(8, 16, proj_size=4).eval()
    x = torch.randn(5, 2, 8)
    p = archviz.profile(model, example_inputs=x)
    assert p.totals["macs"] == 10 * (4 * 16 * (8 + 4) + 4 * 16) == flop_counter_macs(model, x)


def test_bidirectional_gru_batch_first():
    model = nn.GRU(8, 16, num_layers=2, bidirectional=True, batch_first=True).eval()
    x = torch.randn(3, 5, 8)  # batch 3, 5 steps
    p = archviz.profile(model, example_inputs=x)
    per_step = 2 * 3 * 16 * (8 + 16) + 2 * 3 * 16 * (2 * 16 + 16)  # both directions, layer 2 reads 2H
    assert p.totals["macs"] == 15 * per_step == 103_680 == flop_counter_macs(model, x)
    assert p.totals["depth"] == 2  # the two directions run side by side


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn(nonlinearity):
    model = nn.RNN(8, 16, nonlinearity=nonlinearity).eval()
    x = torch.randn(5, 2, 8)
    p = profile_module(model, [5, 2, 8])
    assert p.totals["macs"] == 10 * 16 * (8 + 16) == 3840 == flop_counter_macs(model, x)
    assert p.totals["depth"] == 1
    assert p.uncounted_ops == {}


def test_lstm_depth_adds_to_the_stack():
    model = nn.Sequential(nn.Linear(4, 8), nn.LSTM(8, 8, num_layers=3))
    assert profile_module(model.eval(), [6, 1, 4]).totals["depth"] == 1 + 3


# ---- attention -----------------------------------------------------------------------------------
class Attention(nn.Module):
    def __init__(self, need_weights: bool, batch_first: bool = True) -> None:
        super().__init__()
        self.need_weights = need_weights
        self.attn = nn.MultiheadAttention(64, 4, batch_first=batch_first)

    def forward(self, x):
        return self.attn(x, x, x, need_weights=self.need_weights)[0]


@pytest.mark.parametrize("need_weights", [False, True])
@pytest.mark.parametrize("batch_first", [True, False])
def test_attention_activations_equal_fvcore_unfused(need_weights, batch_first):
    model = Attention(need_weights, batch_first).eval()
    x = torch.randn(2, 10, 64)
    with unfused_attention():
        reference = fvcore_activations(model, x)
    assert profile_module(model, [2, 10, 64]).totals["activations"] == reference


def test_vit_activations_equal_fvcore_unfused():
    from torchvision.models import vit_b_16

    model = vit_b_16(weights=None).eval()
    x = torch.zeros(1, 3, 224, 224)
    with unfused_attention():
        reference = fvcore_activations(model, x)
    p = profile_module(model, [1, 3, 224, 224])
    assert p.totals["activations"] == reference
    rows = {r["name"]: r for r in p.layers}
    attn = rows["encoder.layers.encoder_layer_0.self_attention"]
    out_proj = rows["encoder.layers.encoder_layer_0.self_attention.out_proj"]
    length, e = 197, 768
    # out_proj's own share on its own row; the attention row still sums the whole fused op
    assert out_proj["macs"] == length * e * e
    assert out_proj["conv_linear_macs"] == length * e * e
    assert out_proj["activations"] == length * e
    assert out_proj["output_shape"] == [1, length, e]
    assert attn["macs"] == 4 * length * e * e + 2 * length * length * e
    assert attn["activations"] == 4 * length * e
    # parameters held by containers: the class token on the root, the position embedding on encoder
    assert rows["(model)"]["own_params"] == model.class_token.numel()
    assert rows["encoder"]["own_params"] == model.encoder.pos_embedding.numel()
    total = sum(t.numel() for t in model.parameters())
    assert p.totals["params"] == total == sum(r["own_params"] for r in p.layers)
    assert p.totals["macs"] == rows["(model)"]["macs"] == sum(p.totals["op_breakdown"].values())


def test_attention_macs_split_to_out_proj():
    model = Attention(need_weights=False).eval()
    p = profile_module(model, [2, 10, 64])
    rows = {r["name"]: r for r in p.layers}
    b, length, e = 2, 10, 64
    fused = b * (4 * length * e * e + 2 * length * length * e)
    assert rows["attn"]["macs"] == rows["(model)"]["macs"] == p.totals["macs"] == fused
    assert rows["attn.out_proj"]["macs"] == b * length * e * e
    assert rows["attn.out_proj"]["output_shape"] == [b, length, e]
    with unfused_attention():  # the unfused path books out_proj's linear on out_proj too
        unfused = {r["name"]: r for r in profile_module(model, [2, 10, 64]).layers}
    assert unfused["attn.out_proj"]["macs"] == rows["attn.out_proj"]["macs"]
    assert unfused["attn.out_proj"]["activations"] == rows["attn.out_proj"]["activations"]


# ---- parameters held by containers ---------------------------------------------------------------
def test_container_params_on_their_row_and_in_totals():
    class Scaled(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Linear(4, 4)
            self.gamma = nn.Parameter(torch.ones(4))  # layer-scale on a container

        def forward(self, x):
            return self.gamma * self.fc(x)

    class Net(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.token = nn.Parameter(torch.zeros(1, 4))
            self.a, self.b = Scaled(), Scaled()
            self.b.fc = self.a.fc  # shared: counted once

        def forward(self, x):
            return self.b(self.a(x + self.token))

    model = Net().eval()
    p = profile_module(model, [2, 4])
    rows = {r["name"]: r for r in p.layers}
    assert rows["(model)"]["own_params"] == 4
    assert rows["a"]["own_params"] == rows["b"]["own_params"] == 4
    assert rows["a"]["params"] == 4 + 20
    assert rows["a.fc"]["own_params"] == 20
    total = sum(t.numel() for t in model.parameters())
    assert p.totals["params"] == total == 4 + 4 + 4 + 20 == sum(r["own_params"] for r in p.layers)


# ---- block fields --------------------------------------------------------------------------------
def test_every_dense_layer_has_an_identity_skip():
    from torchvision.models import densenet121

    p = profile_module(densenet121(weights=None).eval(), [1, 3, 224, 224])
    layers = [b for b in p.blocks if b["type"] == "_DenseLayer"]
    assert len(layers) == 6 + 12 + 24 + 16 == 58
    assert {b["skip"] for b in layers} == {"identity"}


# ---- issue 20: adaptive pooling by the README's rule, baddbmm and nn.Bilinear ------------------
def test_adaptive_pooling_counts_each_outputs_window():
    """VGG-16 at 256 px: features end at 8x8, pooled to 7x7; by the adaptive rule output i spans
    floor(8i/7) to ceil(8(i+1)/7), 2 positions for every i, so k_h*k_w = 4 per output element:
    512 channels * 49 * 4 = 100,352 (1 per input element would be 512 * 64 = 32,768)."""
    import torchvision

    from archviz.profiler import profile_module

    p = profile_module(torchvision.models.vgg16().eval(), [1, 3, 256, 256], "vgg16")
    assert p.layer("avgpool")["macs"] == 512 * 49 * 4
    # at 224 px the pool is 7x7 to 7x7: one position per window, 512 * 49
    q = profile_module(torchvision.models.vgg16().eval(), [1, 3, 224, 224], "vgg16")
    assert q.layer("avgpool")["macs"] == 512 * 49


def test_baddbmm_against_flopcountermode_and_bilinear_by_hand():
    import torch
    from torch import nn
    from torch.utils.flop_counter import FlopCounterMode

    from archviz.profiler import profile_module

    class Both(nn.Module):
        def __init__(self):
            super().__init__()
            self.bil = nn.Bilinear(5, 7, 3)

        def forward(self, x):  # x: 2 x 8 x 8
            y = torch.baddbmm(x[:, :3, :5], x[:, :3, :4], x[:, :4, :5])  # 2 x 3 x 5
            return self.bil(y.flatten(0, 1), x[:, 0, :7].repeat_interleave(3, 0))

    model = Both().eval()
    with FlopCounterMode(display=False) as counter:
        torch.baddbmm(torch.zeros(2, 3, 5), torch.zeros(2, 3, 4), torch.zeros(2, 4, 5))
    p = profile_module(model, [2, 8, 8], "both")
    ops = {n["op"]: n["macs"] for n in p.graph if n["op"] in ("baddbmm", "bilinear")}
    assert ops["baddbmm"] == counter.get_total_flops() // 2 == 2 * 3 * 4 * 5
    # bilinear, by hand: 6 rows, 3 outputs, each x1^T W_k x2 with W_k 5 x 7: 6 * 3 * 5 * 7
    assert ops["bilinear"] == 6 * 3 * 5 * 7
    assert p.uncounted_ops == {} and p.layer("bil")["macs"] == 6 * 3 * 5 * 7
