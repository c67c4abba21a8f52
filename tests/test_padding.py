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
