"""Tracing without arithmetic: the model and its input stay on the meta device, so the one jit trace
records the same graph (same operators, shapes, scopes and tracer warnings) while no kernel computes
and no activation is stored. The peak of live activations is measured in the same run, for the
memory budget a real trace would need (memory.check_peak).

Two things make a meta trace differ from a real one, so it is used only where it cannot:
- code that picks its path by device or by value (nn.MultiheadAttention's fast path is CPU/CUDA
  only; masks built in place on CPU tensors): only modules whose exact classes are in
  FOLLOWABLE are traced this way (each checked against a real trace of the catalogue, profile for
  profile); any other model, and any meta run that fails, is traced for real as before;
- Python meta kernels read sizes, which the tracer would record: `ShapesOnly` pauses the tracer
  while any kernel runs, and records `aten::convolution` as the real tracer does (as the
  `aten::_convolution` it calls)."""

from __future__ import annotations

from functools import cache
from typing import Any

from .trace import CountingBackend, Trace

# Exact module classes whose forward takes the same path on the meta device as on the CPU, by
# module: every class of every catalogue model whose meta profile equals its real one, field for
# field (benchmarks/check_shapes_only.py prints them). Left out, with the models holding them: vit_*
# (nn.MultiheadAttention takes its fused path on CPU tensors only) and swin_* (its attention mask is
# built on CPU tensors); regnet_* cannot be built on the meta device at all.
_FOLLOWABLE_BY_MODULE = {
    "archviz.models": "alexnet2012.<locals>.AlexNet2012 alexnet2012.<locals>.Tower "
                      "alexnet2012.<locals>.UpperTower cifar_net.<locals>.CifarNet "
                      "cifar_net.<locals>.Shortcut cifar_net.<locals>.Unit",
    "timm.layers.adaptive_avgmax_pool": "SelectAdaptivePool2d",
    "timm.models.resnet": "Bottleneck ResNet",
    "torch.nn.modules.activation": "GELU Hardsigmoid Hardswish ReLU ReLU6 SiLU Sigmoid Tanh",
    "torch.nn.modules.batchnorm": "BatchNorm2d",
    "torch.nn.modules.container": "ModuleList Sequential",
    "torch.nn.modules.conv": "Conv2d",
    "torch.nn.modules.dropout": "Dropout",
    "torch.nn.modules.flatten": "Flatten",
    "torch.nn.modules.linear": "Identity Linear",
    "torch.nn.modules.normalization": "LayerNorm LocalResponseNorm",
    "torch.nn.modules.pooling": "AdaptiveAvgPool2d AvgPool2d MaxPool2d",
    "torchvision.models.alexnet": "AlexNet",
    "torchvision.models.convnext": "CNBlock ConvNeXt LayerNorm2d",
    "torchvision.models.densenet": "DenseNet _DenseBlock _DenseLayer _Transition",
    "torchvision.models.efficientnet": "EfficientNet FusedMBConv MBConv",
    "torchvision.models.googlenet": "BasicConv2d GoogLeNet Inception",
    "torchvision.models.inception": "BasicConv2d Inception3 InceptionA InceptionB InceptionC InceptionD "
                                    "InceptionE",
    "torchvision.models.maxvit": "MBConv MaxVit MaxVitBlock MaxVitLayer PartitionAttentionLayer "
                                 "RelativePositionalMultiHeadAttention SwapAxes WindowDepartition "
                                 "WindowPartition",
    "torchvision.models.mnasnet": "MNASNet _InvertedResidual",
    "torchvision.models.mobilenetv2": "InvertedResidual MobileNetV2",
    "torchvision.models.mobilenetv3": "InvertedResidual MobileNetV3",
    "torchvision.models.resnet": "BasicBlock Bottleneck ResNet",
    "torchvision.models.shufflenetv2": "InvertedResidual ShuffleNetV2",
    "torchvision.models.squeezenet": "Fire SqueezeNet",
    "torchvision.models.vgg": "VGG",
    "torchvision.ops.misc": "Conv2dNormActivation Permute SqueezeExcitation",
    "torchvision.ops.stochastic_depth": "StochasticDepth",
}
FOLLOWABLE: frozenset[str] = frozenset(
    f"{module}.{name}" for module, names in _FOLLOWABLE_BY_MODULE.items() for name in names.split())


def class_key(module: Any) -> str:
    cls = type(module)
    return f"{cls.__module__}.{cls.__qualname__}"


def followable(model: Any) -> bool:
    """Every module of `model` is of a class known to trace alike on the meta device."""
    return all(class_key(m) in FOLLOWABLE for m in model.modules())


@cache
def _shapes_only_mode():
    """The dispatch mode, made on first use (torch imported lazily)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode

    from ..memory import PeakMeter, check_allocation

    convolution = torch.ops.aten.convolution.default
    _convolution = torch.ops.aten._convolution.default
    batch_norm = torch.ops.aten.native_batch_norm.default

    def inference_batch_norm(*args, **kwargs):
        """Eval-mode batch norm of a float32 tensor, as its meta kernel gives it (output like the
        input, mean and inverse std per channel) without that kernel's Python decomposition, the
        largest cost of a meta run."""
        x, training = args[0], args[5] if len(args) > 5 else kwargs.get("training")
        if kwargs or training is not False or x.dtype != torch.float32 or x.dim() < 2 or any(
                t is None or t.shape != (x.shape[1],) for t in args[1:5]):
            return batch_norm(*args, **kwargs)  # the kernel, and its errors
        return torch.empty_like(x), x.new_empty((x.shape[1],)), x.new_empty((x.shape[1],))

    cat = torch.ops.aten.cat.default

    def plain_convolution(*args, **kwargs):
        """A convolution's output as its meta kernel makes it (contiguous, N x C_out x each
        (in + 2p - d(k-1) - 1) // s + 1), without that kernel's Python checks."""
        x, w, stride, padding, dilation, transposed = args[0], args[1], *args[3:7]
        n = w.dim() - 2
        bias = args[2]
        if kwargs or transposed or x.dim() != w.dim() or x.dtype != w.dtype or x.shape[1] == 0 or \
                x.shape[1] != w.shape[1] * args[8] or (bias is not None and bias.shape != w.shape[:1]) or \
                not len(stride) == len(padding) == len(dilation) == n:
            return _convolution(*args, **kwargs)  # the kernel, and its errors
        size = [(x.shape[i + 2] + 2 * padding[i] - dilation[i] * (w.shape[i + 2] - 1) - 1) // stride[i] + 1
                for i in range(n)]
        if min(size) < 1:
            return _convolution(*args, **kwargs)
        return x.new_empty([x.shape[0], w.shape[0], *size])

    def contiguous_cat(tensors, dim=0):
        """Concatenation of contiguous tensors of one dtype and rank: a contiguous tensor, as the
        meta kernel makes it, without its Python decomposition."""
        first = tensors[0] if tensors else None
        if first is None or first.dim() == 0 or not -first.dim() <= dim < first.dim():
            return cat(tensors, dim)
        d = dim + first.dim() if dim < 0 else dim
        others = [n for i, n in enumerate(first.shape) if i != d]
        if any(t.dim() != first.dim() or t.dtype != first.dtype or t.device != first.device
               or t.numel() == 0 or not t.is_contiguous()
               or [n for i, n in enumerate(t.shape) if i != d] != others for t in tensors):
            return cat(tensors, dim)  # the kernel, and its errors
        shape = list(first.shape)
        shape[d] = sum(t.shape[d] for t in tensors)
        return first.new_empty(shape)

    shortcuts = {batch_norm: inference_batch_norm, _convolution: plain_convolution, cat: contiguous_cat}

    class ShapesOnly(TorchDispatchMode):
        """Runs every operator's meta kernel with the tracer paused (the tracer has already recorded
        the operator above this mode), adding each new tensor to `meter`."""

        def __init__(self, meter: PeakMeter) -> None:
            super().__init__()
            self.meter = meter
            # Inside a dispatch every key above Python is excluded, the tracer's with them; the
            # tracing state can only be switched where it is not, so switches use the outer set.
            self.outer = torch._C._dispatch_tls_local_exclude_set()

        def _set_tracing(self, state: Any) -> None:
            with torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(), self.outer):
                torch._C._set_tracing_state(state)

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            state = torch._C._get_tracing_state()
            if state is not None and func is convolution:
                return self._traced_convolution(args)
            check_allocation(func, args, kwargs)  # user code's own CPU tensors, before they exist
            self._set_tracing(None)
            try:
                out = shortcuts.get(func, func)(*args, **kwargs)
            finally:
                self._set_tracing(state)
            for t in (out if isinstance(out, (tuple, list)) else (out,)):
                if isinstance(t, torch.Tensor):
                    self.meter.add(t)
            return out

        def _traced_convolution(self, args):
            """The tracer leaves aten::convolution to the aten::_convolution it calls, which this
            mode would otherwise run untraced: call it with the tracer on, as convolution does."""
            cudnn = torch.backends.cudnn
            flags = (cudnn.benchmark, cudnn.deterministic or torch.are_deterministic_algorithms_enabled(),
                     cudnn.enabled, cudnn.allow_tf32)
            with torch._C._ForceDispatchKeyGuard(torch._C._dispatch_tls_local_include_set(), self.outer), self:
                return _convolution(*args, *flags)

    return ShapesOnly


def trace_shapes_only(model: Any, input_shape: list[int],
                      backend: CountingBackend | None = None) -> tuple[Trace, int] | None:
    """(trace, peak bytes of live activations) of a meta-device `model` on zeros of `input_shape`,
    or None where the meta run fails (the caller then traces for real)."""
    import torch

    from ..errors import ArchvizError
    from ..memory import BudgetError, PeakMeter
    from . import trace_model

    meter = PeakMeter()
    x = torch.zeros(*input_shape, device="meta")
    meter.add(x)
    try:
        with _shapes_only_mode()(meter):
            trace = trace_model(model, input_shape, backend, (x,))
    except BudgetError:
        raise  # over the budget: tracing for real would allocate it
    except ArchvizError:
        return None
    return trace, meter.peak
