"""Receptive field through padding operators (constant, reflect, replicate), against the gradient
probe of test_receptive_field: padding shifts positions and widens nothing."""

import pytest
import torch.nn.functional as F
from torch import nn

from test_receptive_field import analytic_vs_probe


class PadNet(nn.Module):
    """reflect-pad, 3x3 conv, `second` pad, 3x3 stride-2 conv (the issue's probe: 3, then 5 at 2)."""

    def __init__(self, second: str) -> None:
        super().__init__()
        self.second = second
        self.a = nn.Conv2d(3, 4, 3)
        self.b = nn.Conv2d(4, 4, 3, stride=2)
        self.c = nn.Conv2d(4, 4, 3, padding=1)

    def forward(self, x):
        x = self.a(F.pad(x, (1, 1, 1, 1), mode="reflect"))
        x = self.b(F.pad(x, (2, 0, 1, 1), mode=self.second))  # uneven: the centre moves
        return self.c(nn.ReplicationPad2d(1)(x))


@pytest.mark.parametrize("second", ["constant", "reflect", "replicate"])
def test_padding_ops_against_the_probe(second):
    rf, extent, predicted, centre = analytic_vs_probe(PadNet(second).eval(), 41)
    assert rf == extent == [9, 9]
    assert predicted == centre


def test_channel_padding_keeps_the_field():
    """Option-A shortcuts pad channels only (dim 1): the spatial field passes unchanged."""
    class ChannelPad(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv = nn.Conv2d(3, 4, 3, stride=2, padding=1)

        def forward(self, x):
            return self.conv(x) + F.pad(x[:, :, ::2, ::2], (0, 0, 0, 0, 0, 1))

    rf, extent, predicted, centre = analytic_vs_probe(ChannelPad().eval(), 21)
    assert rf == extent and predicted == centre


# ---- string padding: padding="same" / "valid" (aten::_convolution_mode) --------------------------
def dilated_same_stack():
    return nn.Sequential(nn.Conv1d(4, 8, 3, padding="same"), nn.Conv1d(8, 8, 3, padding="same", dilation=2),
                         nn.Conv1d(8, 8, 3, padding="same", dilation=4))


def test_same_padding_is_counted_against_flopcountermode_and_the_probe():
    """Three 'same' convs, dilations 1, 2, 4, on 1x4x100: MACs by FlopCounterMode (by hand: 100
    positions x (8*4*3 + 8*8*3 + 8*8*3) = 48,000); field 1 + 2*(1 + 2 + 4) = 15 (the gradient
    probe); depth 3."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    from archviz.profiler import profile_module
    from test_layouts_rf import gradient_extent_nd, ready

    model = dilated_same_stack().eval()
    with FlopCounterMode(display=False) as counter:
        model(torch.zeros(1, 4, 100))
    p = profile_module(model, [1, 4, 100], "same", layout="NCL")
    assert p.totals["macs"] == counter.get_total_flops() // 2 == 100 * (8 * 4 * 3 + 2 * 8 * 8 * 3)
    assert p.uncounted_ops == {} and p.totals["depth"] == 3
    extent, _, _ = gradient_extent_nd(ready(dilated_same_stack()), [1, 4, 101])
    assert p.totals["receptive_field"] == extent == [15]
    assert [p.layer(n)["activations"] for n in ("0", "1", "2")] == [8 * 100] * 3  # each conv's output


@pytest.mark.parametrize("mode", ["same", "valid"])
def test_string_padding_in_2d_with_an_even_kernel_against_the_probe(mode):
    """Kernel 4, padding 'same' (torch pads 1 before and 2 after: the centre moves) or 'valid':
    the gradient probe gives fields 4, then 7, and the analysis places them where the probe does."""
    from archviz.profiler import profile_module
    from test_layouts_rf import gradient_extent_nd, interval, ready

    def net():
        return nn.Sequential(nn.Conv2d(3, 4, 4, padding=mode), nn.Conv2d(4, 4, 4, padding=mode)).eval()

    p = profile_module(net(), [1, 3, 21, 21], "even")
    assert [p.layer(n)["receptive_field"] for n in ("0", "1")] == [[4, 4], [7, 7]]
    extent, centre, index = gradient_extent_nd(ready(net()), [1, 3, 21, 21])
    assert extent == [7, 7]
    lo_hi = interval(p.totals, index)
    assert [(lo + hi) / 2 for lo, hi in lo_hi] == centre
