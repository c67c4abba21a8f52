"""The design lessons of the 2012-2016 story, computed live on real torch.nn modules.

Every number here comes from building the modules and counting (parameters with numel, MACs and
receptive fields through the profiler): nothing is a formula typed in."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Variant:
    label: str
    params: int
    macs: int
    receptive_field: Any
    out_channels: int


@dataclass
class Lesson:
    title: str
    explanation: str
    variants: list[Variant]

    def saving(self) -> float:
        """Fraction of parameters the last variant saves against the first."""
        a, b = self.variants[0].params, self.variants[-1].params
        return 1 - b / a if a else 0.0


def _measure(label: str, module, channels: int, size: int) -> Variant:
    from .profiler import profile_module

    module.eval()
    p = profile_module(module, [1, channels, size, size], name=label)
    out = p.layers[0]["output_shape"]
    return Variant(label, p.totals["params"], int(p.totals["conv_linear_macs"]),
                   p.totals["receptive_field"], out[1] if out else 0)


def _lesson(title: str, explanation: str, channels: int, size: int, variants: list[tuple[str, Any]]) -> Lesson:
    """Measure each (label, module) on a channels x size x size input."""
    return Lesson(title, explanation, [_measure(label, m, channels, size) for label, m in variants])


def kernel_vs_stack(channels: int = 128, kernel: int = 5, size: int = 32, bias: bool = False) -> Lesson:
    """One kxk convolution against (k-1)/2 stacked 3x3 convolutions (same receptive field)."""
    from torch import nn

    if kernel < 3 or kernel % 2 == 0:
        raise ValueError("kernel must be odd and at least 3")
    n = (kernel - 1) // 2
    stack = nn.Sequential(*[nn.Conv2d(channels, channels, 3, padding=1, bias=bias) for _ in range(n)])
    single = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=bias)
    return _lesson(
        f"{n} stacked 3x3 vs one {kernel}x{kernel}",
        "Stacking small kernels reaches the same receptive field with fewer parameters and more "
        "non-linearities (VGG).", channels, size,
        [(f"one {kernel}x{kernel}", single), (f"{n} x 3x3", stack)])


def bottleneck(channels: int = 128, width: int = 32, kernel: int = 3, size: int = 32,
               bias: bool = False) -> Lesson:
    """A kxk convolution against a 1x1 reduction to `width` followed by the kxk (GoogLeNet)."""
    from torch import nn

    plain = nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=bias)
    reduced = nn.Sequential(nn.Conv2d(channels, width, 1, bias=bias),
                            nn.Conv2d(width, channels, kernel, padding=kernel // 2, bias=bias))
    return _lesson(
        f"1x1 bottleneck to {width} channels",
        "A 1x1 convolution shrinks the channels before the expensive kxk: same receptive field, "
        "same input and output channels, far fewer parameters (Inception).", channels, size,
        [(f"{kernel}x{kernel}, {channels}->{channels}", plain),
         (f"1x1 {channels}->{width} + {kernel}x{kernel} {width}->{channels}", reduced)])


def _merge_stack(channels: int, layers: int, growth: int, dense: bool):
    """`layers` BN-ReLU-3x3 units merged by residual add, or by dense concatenation."""
    import torch
    from torch import nn

    class Unit(nn.Module):
        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.bn = nn.BatchNorm2d(c_in)
            self.conv = nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)

        def forward(self, x):
            return self.conv(self.bn(x).relu())

    class ResidualStack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.units = nn.ModuleList(Unit(channels, channels) for _ in range(layers))

        def forward(self, x):
            for u in self.units:
                x = x + u(x)
            return x

    class DenseStack(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.units = nn.ModuleList(Unit(channels + i * growth, growth) for i in range(layers))

        def forward(self, x):
            feats = [x]
            for u in self.units:
                feats.append(u(torch.cat(feats, 1)))
            return torch.cat(feats, 1)

    return DenseStack() if dense else ResidualStack()


def add_vs_concat(channels: int = 64, layers: int = 4, growth: int = 32, size: int = 32) -> Lesson:
    """Residual add keeps the width; dense concatenation grows it by `growth` per layer."""
    return _lesson(
        f"{layers} residual units vs {layers} dense layers (growth {growth})",
        "ResNet adds a layer's output to its input: the channel count stays. DenseNet concatenates: "
        "every layer sees all earlier features and the width grows by the growth rate.", channels, size,
        [("residual add", _merge_stack(channels, layers, growth, False)),
         ("dense concat", _merge_stack(channels, layers, growth, True))])
