"""The design lessons of the 2012-2016 story, computed live on real torch.nn modules.

Every number here comes from building the modules and counting (parameters with numel, MACs and
receptive fields through the profiler): nothing is a formula typed in."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache
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
    input_shape: list[int] = field(default_factory=list)  # what the MACs were counted on

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
    return Lesson(title, explanation, [_measure(label, m, channels, size) for label, m in variants],
                  [1, channels, size, size])


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


# ---- the lessons as one set: what the dashboard and `archviz lessons` show ----------------------
DEFAULTS = {"channels": 128, "kernel": 5, "width": 32, "growth": 32, "layers": 4}
SIZE = 16  # side of the square input the field lessons count MACs on (dashboard and CLI alike)


def field_lessons(channels: int = 128, kernel: int = 5, width: int = 32, growth: int = 32, layers: int = 4,
                  size: int = SIZE) -> dict[str, Lesson]:
    """The three lessons the dashboard's number fields drive, keyed as the page and the CLI name them."""
    return {"kernel": kernel_vs_stack(channels, kernel, size=size),
            "bottleneck": bottleneck(channels, width, size=size),
            "merge": add_vs_concat(channels, layers, growth, size=size)}


def large_first_kernel(in_channels: int = 3, out_channels: int = 96, kernel: int = 11, stride: int = 4,
                       size: int = 227, bias: bool = False) -> Lesson:
    """AlexNet's conv1 (11x11, stride 4, 3 -> 96 channels: both towers, on 3x227x227) against the
    (kernel-1)/2 stacked 3x3 convolutions that reach the same receptive field on the same output grid.

    The stride goes on the last 3x3: a stride earlier in the stack makes every later 3x3 step over
    more pixels and widens the field beyond `kernel`. None is padded (conv1 is not), so the stack
    maps 227 px to conv1's 55x55 grid and each output sees the same 11x11 patch."""
    from torch import nn

    if kernel < 3 or kernel % 2 == 0:
        raise ValueError("kernel must be odd and at least 3")
    n = (kernel - 1) // 2
    stack = nn.Sequential(*[nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3,
                                      stride=stride if i == n - 1 else 1, bias=bias) for i in range(n)])
    single = nn.Conv2d(in_channels, out_channels, kernel, stride=stride, bias=bias)
    return _lesson(
        f"AlexNet's first layer: one {kernel}x{kernel}/{stride} vs {n} stacked 3x3",
        f"VGG's trade (stacked 3x3s cost less than one large kernel) assumes as many channels in as "
        f"out. AlexNet's first layer has {in_channels} in and {out_channels} out: the {kernel}x{kernel} "
        f"spends {kernel}x{kernel}x{in_channels} weights per filter, but in the stack only the first 3x3 "
        f"sees the {in_channels} input channels; the {n - 1} after it see {out_channels}, at full "
        "resolution, before the stride. The stride sits on the last 3x3: earlier, every later 3x3 would "
        "step over more pixels and widen the field. No padding, as in conv1: same receptive field, same "
        "output grid. At the input the large kernel is the cheap one, which is why later nets kept a "
        "large or strided first layer (ResNet: 7x7, stride 2).", in_channels, size,
        [(f"one {kernel}x{kernel}, stride {stride} (AlexNet conv1)", single),
         (f"{n} x 3x3, stride {stride} on the last", stack)])


# ---- gradient flow at initialisation ----------------------------------------------------------
@dataclass
class GradientTrace:
    """One network's weight-gradient norms at initialisation: one per conv/linear layer, output to input."""

    label: str
    group: str  # "cifar" (He et al.'s CIFAR nets) or "stack" (a plain stack of Linear layers)
    setting: str
    layers: list[str]
    grad_norms: list[float]

    @property
    def last(self) -> float:
        """The gradient norm of the layer nearest the output."""
        return self.grad_norms[0]

    @property
    def first(self) -> float:
        """The gradient norm of the layer nearest the input."""
        return self.grad_norms[-1]

    @property
    def ratio(self) -> float:
        """The first layer's gradient norm as a fraction of the last layer's."""
        return self.first / self.last if self.last else 0.0


@dataclass
class Ordering:
    claim: str
    holds: bool
    measured: str


@dataclass
class GradientFlow:
    title: str
    explanation: list[str]
    setup: dict[str, Any]
    traces: dict[str, GradientTrace]
    orderings: dict[str, Ordering]


STACK_LAYERS, STACK_WIDTH = 30, 256


def plain_stack(activation: str, layers: int = STACK_LAYERS, width: int = STACK_WIDTH, he_init: bool = False):
    """`layers` Linear(width, width) layers, the activation after each but the last, no batch norm;
    PyTorch's default init (weights uniform with std 1/sqrt(3*fan_in)) or He's (normal, std
    sqrt(2/fan_in), zero bias)."""
    from torch import nn

    act = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}[activation]
    mods: list[Any] = []
    for i in range(layers):
        mods.append(nn.Linear(width, width))
        if i < layers - 1:
            mods.append(act())
    net = nn.Sequential(*mods)
    if he_init:
        for m in net:
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight, nonlinearity="relu")
                nn.init.zeros_(m.bias)
    return net


def without_batch_norm(model):
    """The model with every BatchNorm2d replaced by the identity (in place)."""
    from torch import nn

    for module in list(model.modules()):
        for name, child in list(module.named_children()):
            if isinstance(child, nn.BatchNorm2d):
                setattr(module, name, nn.Identity())
    return model


def weight_gradient_norms(model, x, seed: int = 1) -> tuple[list[str], list[float]]:
    """Backpropagate a unit loss (the outputs times a fixed random projection, summed) from one batch
    and return each conv/linear layer's name and weight-gradient L2 norm, output to input. The modules
    are taken in registration order, which is the forward order in the nets measured here. Norms are
    taken in float64: a float32 sum of squares of 1e-25 gradients underflows to 0."""
    import torch
    from torch import nn

    model.zero_grad(set_to_none=True)
    out = model(x)
    proj = torch.randn(out.shape, generator=torch.Generator().manual_seed(seed), dtype=out.dtype)
    (out * proj).sum().backward()
    weighted = [(n, m) for n, m in model.named_modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    weighted.reverse()
    return [n for n, _ in weighted], [float(m.weight.grad.double().norm()) for _, m in weighted]


def _orders(ratio: float) -> float:
    """How many orders of magnitude `ratio` is from 1."""
    return abs(math.log10(ratio)) if ratio > 0 else math.inf


@lru_cache(maxsize=4)
def gradient_flow(seed: int = 0, batch: int = 8) -> GradientFlow:
    """Weight-gradient norms along depth at initialisation, no data: plain-56 against ResNet-56 (with
    batch norm on batch statistics, as they train, and with batch norm removed) and a 30-layer plain
    stack with sigmoid, tanh and ReLU. Every net is built from the same seed (plain-56 and ResNet-56
    get the same weights: they differ only in the shortcuts) and fed the same random batch. Computed
    once per process (about a second on two cores); torch's global random state and thread count are
    left as they were. It runs on one thread: on tensors this small, more threads only wait for each
    other, and on a busy machine they made it ten times slower."""
    import torch

    def measure(build, x):
        torch.manual_seed(seed)
        model = build()
        model.train()  # batch norm normalises with the batch's own statistics
        return weight_gradient_norms(model, x, seed + 1)

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        traces = _gradient_traces(seed, batch, measure)
    finally:
        torch.set_num_threads(threads)
    return _gradient_lesson(seed, batch, traces)


def _gradient_traces(seed: int, batch: int, measure) -> dict[str, GradientTrace]:
    import torch

    from .models import cifar_net

    with torch.random.fork_rng(devices=[]):
        gen = torch.Generator().manual_seed(seed + 2)
        images = torch.randn(batch, 3, 32, 32, generator=gen)
        vectors = torch.randn(batch, STACK_WIDTH, generator=gen)
        specs = {
            "plain56": ("plain-56", "cifar", "batch norm", lambda: cifar_net(56, False), images),
            "resnet56": ("ResNet-56", "cifar", "batch norm", lambda: cifar_net(56, True), images),
            "plain56_nobn": ("plain-56, no BN", "cifar", "batch norm removed",
                             lambda: without_batch_norm(cifar_net(56, False)), images),
            "resnet56_nobn": ("ResNet-56, no BN", "cifar", "batch norm removed",
                              lambda: without_batch_norm(cifar_net(56, True)), images),
            "sigmoid": ("sigmoid", "stack", "default init", lambda: plain_stack("sigmoid"), vectors),
            "tanh": ("tanh", "stack", "default init", lambda: plain_stack("tanh"), vectors),
            "relu": ("ReLU", "stack", "default init", lambda: plain_stack("relu"), vectors),
            "relu_he": ("ReLU, He init", "stack", "He init", lambda: plain_stack("relu", he_init=True), vectors),
        }
        traces = {}
        for key, (label, group, setting, build, x) in specs.items():
            names, norms = measure(build, x)
            traces[key] = GradientTrace(label, group, setting, names, norms)
    return traces


def _gradient_lesson(seed: int, batch: int, traces: dict[str, GradientTrace]) -> GradientFlow:
    """The orderings and the text, from the measured traces."""
    t = traces
    orderings = {
        "resnet_flatter_with_bn": Ordering(
            "With batch norm, ResNet-56's first/last gradient ratio is at least 2 orders of magnitude "
            "closer to 1 than plain-56's",
            _orders(t["plain56"].ratio) - _orders(t["resnet56"].ratio) >= 2,
            f"first/last: ResNet-56 {t['resnet56'].ratio:.3g}, plain-56 {t['plain56'].ratio:.3g}"),
        "resnet_above_plain_without_bn": Ordering(
            "Without batch norm, ResNet-56's first-layer gradient is at least 2 orders of magnitude "
            "above plain-56's (same weights, input and loss)",
            t["resnet56_nobn"].first >= 100 * t["plain56_nobn"].first,
            f"first-layer gradient: ResNet-56 {t['resnet56_nobn'].first:.3g}, "
            f"plain-56 {t['plain56_nobn'].first:.3g}"),
        "relu_above_sigmoid": Ordering(
            "In the plain stack, ReLU's first/last gradient ratio is above sigmoid's",
            t["relu"].ratio > t["sigmoid"].ratio,
            f"first/last: ReLU {t['relu'].ratio:.3g}, sigmoid {t['sigmoid'].ratio:.3g}"),
    }
    p, r = t["plain56"], t["resnet56"]
    explanation = [
        "Measured at initialisation, without data: a fixed seed, one random batch, one backward pass of "
        "a fixed random projection of the outputs. Each value is the norm of one conv or linear "
        "layer's weight gradient, taken from the output back to the input.",
        f"With batch norm on batch statistics, as these nets train, plain-56's gradient does not vanish: "
        f"it grows toward the input (first/last {p.ratio:.3g}), while ResNet-56's shortcuts keep it "
        f"level ({r.ratio:.2g}). He et al. say as much: the degradation of deep plain nets is an "
        "optimisation difficulty, not vanishing gradients, which batch norm already prevents.",
        f"Remove batch norm (PyTorch's default init) and plain-56's signal vanishes on both passes: its "
        f"first-layer gradient is {t['plain56_nobn'].first:.1e} against ResNet-56's "
        f"{t['resnet56_nobn'].first:.1e}. Its first/last ratio hides this, as its last layer's gradient "
        "vanishes with the forward signal.",
        f"A plain stack of {STACK_LAYERS} Linear layers without batch norm: sigmoid (slope at most 1/4) "
        "loses the gradient fastest. PyTorch's default init is too small for ReLU (std 1/sqrt(3 fan_in)), "
        "so ReLU still loses it; with He init (std sqrt(2/fan_in)) it stays level.",
    ]
    setup = {"seed": seed, "cifar_input": [batch, 3, 32, 32], "stack_input": [batch, STACK_WIDTH],
             "stack": f"{STACK_LAYERS} x Linear({STACK_WIDTH}, {STACK_WIDTH})",
             "loss": "sum of the outputs times a fixed standard normal projection",
             "mode": "train (batch norm uses the batch's statistics)",
             "norm": "L2 norm of each conv/linear weight gradient, output to input"}
    return GradientFlow("Gradient flow at initialisation", explanation, setup, traces, orderings)


# ---- plain data (the JSON of `archviz lessons --format json`, and what the dashboard draws) -----------
def lesson_dict(lesson: Lesson) -> dict[str, Any]:
    return {"title": lesson.title, "explanation": lesson.explanation, "input_shape": lesson.input_shape,
            "saving": lesson.saving(),
            "variants": [{"label": v.label, "params": v.params, "macs": v.macs,
                          "receptive_field": v.receptive_field, "out_channels": v.out_channels}
                         for v in lesson.variants]}


def gradient_dict(flow: GradientFlow) -> dict[str, Any]:
    return {"title": flow.title, "explanation": flow.explanation, "setup": flow.setup,
            "variants": [{"key": key, "label": t.label, "group": t.group, "setting": t.setting,
                          "first": t.first, "last": t.last, "ratio": t.ratio,
                          "layers": t.layers, "grad_norms": t.grad_norms} for key, t in flow.traces.items()],
            "orderings": {key: {"claim": o.claim, "holds": o.holds, "measured": o.measured}
                          for key, o in flow.orderings.items()}}
