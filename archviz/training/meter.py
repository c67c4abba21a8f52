"""One step of a model on the meta device, metered: no kernel computes and nothing is allocated,
yet every tensor the step would make is seen as it is made and freed.

The model's own parameters and buffers are never touched: `torch.func.functional_call` runs its
modules with meta stand-ins of the same shapes, dtypes and `requires_grad` flags, so a model built
for a real trace (zeroed CPU storage) or a user's trained module is metered alike. A dispatch mode
adds each new storage to `memory.PeakMeter` (storages counted once: views and in-place results add
nothing) and files its bytes under a kind: weights (parameters and buffers), gradients (once a
gradient is accumulated into `.grad`), optimizer state, and activations (everything else: the input,
layer outputs, what autograd saves, temporaries). Training runs two steps of the real torch
optimizer and reports the second, the steady state: optimizer state already exists, gradients start
as None (`zero_grad(set_to_none=True)`, PyTorch's default)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from ..errors import ArchvizError
from ..memory import PeakMeter
from ..profiler.trace import ROOT_NAME, module_tree
from .optim import make_optimizer, optimizer_rule

KINDS = ("weights", "grads", "optimizer", "activations")
DTYPES = ("float32", "bfloat16", "float16")
PHASES = ("forward", "backward", "optimizer step")


@dataclass(frozen=True)
class StepOptions:
    """How the step runs. `dtype`: the parameters' dtype, or with `amp` the compute dtype of
    autocast's low-precision ops (float32 with --amp means bfloat16) while parameters, gradients and
    optimizer state stay float32 (master weights). `foreach`: the optimizer's multi-tensor path,
    PyTorch's default on GPUs (it holds a temporary per parameter during the step); on CPUs the
    default is the per-parameter loop (False)."""

    train: bool = False
    optimizer: str = "sgd"
    dtype: str = "float32"
    amp: bool = False
    foreach: bool = True

    def check(self) -> "StepOptions":
        optimizer_rule(self.optimizer)
        if self.dtype not in DTYPES:
            raise ArchvizError(f"--dtype {self.dtype!r} is not one of {', '.join(DTYPES)}", 2)
        if self.amp and not self.train:
            raise ArchvizError("--amp applies to a training step: add --train", 2)
        return self

    @property
    def param_dtype(self) -> str:
        return "float32" if self.amp else self.dtype

    @property
    def compute_dtype(self) -> str:
        return ("bfloat16" if self.dtype == "float32" else self.dtype) if self.amp else self.dtype


class KindMeter(PeakMeter):
    """PeakMeter that also keeps live bytes per kind, and their split at the peak."""

    def __init__(self) -> None:
        super().__init__()
        self.by_kind = dict.fromkeys(KINDS, 0)
        self.at_peak = dict.fromkeys(KINDS, 0)
        self.phase = PHASES[0]
        self.peak_phase = PHASES[0]
        self.activation_peak = 0
        self._kind: dict[int, str] = {}

    def add(self, tensor: Any, kind: str = "activations") -> None:
        live, peak = self.live, self.peak
        super().add(tensor)
        if self.live > live:  # a new storage
            key = tensor.untyped_storage()._cdata
            self._kind[key] = kind
            self.by_kind[kind] += self.live - live
            self.activation_peak = max(self.activation_peak, self.by_kind["activations"])
        if self.peak > peak:
            self.at_peak, self.peak_phase = dict(self.by_kind), self.phase

    def mark(self, tensor: Any, kind: str) -> None:
        """File a live storage's bytes under another kind (a gradient once in .grad, optimizer state
        once kept)."""
        if tensor is None or tensor.dim() == 0:
            return
        key = tensor.untyped_storage()._cdata
        held = self._holders.get(key)
        old = self._kind.get(key)
        if held is None or old is None or old == kind:
            return
        self.by_kind[old] -= held[1]
        self.by_kind[kind] += held[1]
        self._kind[key] = kind

    def _release(self, key: int) -> None:
        held = self._holders[key]
        if held[0] == 1:
            self.by_kind[self._kind.pop(key, "activations")] -= held[1]
        super()._release(key)

    def restart(self) -> None:
        """Peaks from now on (the measured step), live bytes as they are."""
        self.peak, self.at_peak, self.peak_phase = self.live, dict(self.by_kind), self.phase
        self.activation_peak = self.by_kind["activations"]


@dataclass
class LayerMemory:
    """One module's figures in the step (containers: their subtree, as `params`)."""

    live_bytes: int = 0       # activation bytes live when the module returned (its last call)
    saved_bytes: int = 0      # bytes autograd saved for backward while it ran, each storage once
    fwd_flops: int = 0        # FlopCounterMode's count, forward
    bwd_flops: int = 0        # FlopCounterMode's count, backward
    param_bytes: int = 0
    grad_bytes: int = 0
    optim_bytes: int = 0


@dataclass
class StepResult:
    """What one metered step made: the peak and its split, totals, and per-module figures keyed by
    the Profile's row names (module_tree keys, the root as '(model)')."""

    options: StepOptions
    input_shape: list[int]
    peak: int
    peak_phase: str
    at_peak: dict[str, int]
    weights_bytes: int          # parameters + buffers
    param_bytes: int
    buffer_bytes: int
    grad_bytes: int
    optimizer_bytes: int
    activation_peak: int        # most activation bytes live at once
    input_bytes: int
    trainable_params: int
    frozen_params: int
    saved_bytes: int = 0
    fwd_flops: int = 0
    bwd_flops: int = 0
    timeline: list[tuple[str, int]] = field(default_factory=list)   # (leaf row, live activations)
    layers: dict[str, LayerMemory] = field(default_factory=dict)


def _torch_dtype(name: str) -> Any:
    import torch

    return getattr(torch, name)


def _meta_state(model: Any, opts: StepOptions) -> tuple[dict[str, Any], dict[str, Any]]:
    """Meta stand-ins for the model's parameters (floating ones at the parameter dtype, trainable
    as the model's are, when training) and buffers."""
    import torch

    from ..build import TRAINABLE_ATTR

    dtype = _torch_dtype(opts.param_dtype)
    built = model.__dict__.get(TRAINABLE_ATTR) or {}  # a model archviz built and froze: its own flags

    def stand_in(t: Any) -> Any:
        return torch.empty(t.shape, dtype=dtype if t.is_floating_point() else t.dtype, device="meta")

    params = {n: stand_in(p).requires_grad_(bool(opts.train and built.get(n, p.requires_grad)
                                                 and p.is_floating_point()))
              for n, p in model.named_parameters()}
    buffers = {n: stand_in(b) for n, b in model.named_buffers()}
    return params, buffers


def _meta_inputs(input_shape: list[int], inputs: tuple[Any, ...] | None, opts: StepOptions) -> tuple[Any, ...]:
    """The step's inputs on the meta device: zeros of `input_shape` at the parameter dtype, or
    stand-ins of the example tensors."""
    import torch

    if inputs is None:
        return (torch.empty(*input_shape, dtype=_torch_dtype(opts.param_dtype), device="meta"),)
    return tuple(torch.empty(t.shape, dtype=t.dtype, device="meta") if isinstance(t, torch.Tensor) else t
                 for t in inputs)


def _floats(out: Any) -> list[Any]:
    import torch
    from torch.utils._pytree import tree_flatten

    return [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor) and t.is_floating_point()
            and t.requires_grad]


class _Recorder:
    """Forward hooks on every module: which module runs (for saved tensors), the activation bytes
    live when each returns, and the leaves' order (the timeline)."""

    def __init__(self, model: Any, meter: KindMeter, weight_keys: set[int]) -> None:
        self.meter, self.weight_keys = meter, weight_keys
        self.tree = module_tree(model)
        self.key_of = {id(m): (k or ROOT_NAME) for m, k, _, _ in self.tree}
        self.leaves = {id(m) for m, *_ in self.tree if not any(True for _ in m.children())}
        self.stack: list[str] = []
        self.recording = False
        self.live_after: dict[str, int] = {}
        self.saved_own: dict[str, int] = {}
        self.timeline: list[tuple[str, int]] = []
        self._seen: set[int] = set()

    @contextlib.contextmanager
    def hooked(self) -> Iterator[None]:
        import torch

        handles = []
        for mod, *_ in self.tree:
            handles.append(mod.register_forward_pre_hook(self._enter))
            handles.append(mod.register_forward_hook(self._leave))
        try:
            with torch.autograd.graph.saved_tensors_hooks(self._pack, _unpack):
                yield
        finally:
            for h in handles:
                h.remove()

    def _enter(self, mod: Any, _inputs: Any) -> None:
        self.stack.append(self.key_of.get(id(mod), ROOT_NAME))

    def _leave(self, mod: Any, _inputs: Any, _out: Any) -> None:
        key = self.stack.pop() if self.stack else self.key_of.get(id(mod), ROOT_NAME)
        if self.recording:
            live = self.meter.by_kind["activations"]
            self.live_after[key] = live
            if id(mod) in self.leaves:
                self.timeline.append((key, live))

    def _pack(self, t: Any) -> Any:
        if self.recording and t.dim() > 0:
            key = t.untyped_storage()._cdata
            if key not in self.weight_keys and key not in self._seen:
                self._seen.add(key)
                where = self.stack[-1] if self.stack else ROOT_NAME
                self.saved_own[where] = self.saved_own.get(where, 0) + t.untyped_storage().nbytes()
        return t


def _unpack(t: Any) -> Any:
    return t


def _meter_mode(meter: KindMeter):
    """The dispatch mode that adds every operator's new tensors to `meter` (a user's forward that
    allocates on the CPU is held to the memory budget first, as in a shapes-only trace)."""
    from ..memory import metering_mode

    return metering_mode(meter)


def _autocast_mode(dtype_name: str):
    """Autocast, emulated above autograd (autocast has no meta-device key): matrix products,
    convolutions and attention get their floating inputs cast to the low dtype (casts recorded by
    autograd, as autocast's are); softmax, norms and losses run in float32 (CUDA autocast's lists:
    CPU autocast keeps layer_norm in the low dtype)."""
    import torch
    import torch.nn.functional as F
    from torch.overrides import TorchFunctionMode

    low = _torch_dtype(dtype_name)
    to_low = {torch.conv1d, torch.conv2d, torch.conv3d, torch.conv_transpose1d, torch.conv_transpose2d,
              torch.conv_transpose3d, F.linear, torch.matmul, torch.mm, torch.bmm, torch.addmm,
              torch.baddbmm, torch.Tensor.matmul, torch.Tensor.__matmul__,
              F.scaled_dot_product_attention}
    to_float = {F.softmax, F.log_softmax, F.layer_norm, F.group_norm, F.cross_entropy, F.nll_loss,
                F.mse_loss, torch.Tensor.softmax, torch.softmax, torch.log_softmax}

    def cast(args: Any, kwargs: dict, src: tuple, dst: Any) -> tuple[Any, dict]:
        from torch.utils._pytree import tree_map

        def one(t: Any) -> Any:
            return t.to(dst) if isinstance(t, torch.Tensor) and t.dtype in src else t
        return tree_map(one, args), tree_map(one, kwargs)

    class MetaAutocast(TorchFunctionMode):
        def __torch_function__(self, func, types, args=(), kwargs=None):
            kwargs = kwargs or {}
            if func in to_low:
                args, kwargs = cast(args, kwargs, (torch.float32,), low)
            elif func in to_float:
                args, kwargs = cast(args, kwargs, (torch.float16, torch.bfloat16), torch.float32)
            return func(*args, **kwargs)

    return MetaAutocast()


def _flop_names(counter: Any, recorder: _Recorder) -> dict[str, str]:
    """FlopCounterMode's module names ('ResNet.layer1.0.conv1') -> the Profile's row names."""
    known = getattr(counter.mod_tracker, "_known_modules", {})
    out = {}
    for mod in list(known.keys()):
        key = recorder.key_of.get(id(mod))
        if key is not None:
            out[known[mod]] = key
    return out


def _sum_counts(counts: dict[str, dict[Any, int]], names: dict[str, str]) -> dict[str, int]:
    return {names[n]: sum(ops.values()) for n, ops in counts.items() if n in names}


def run_step(model: Any, input_shape: list[int], options: StepOptions | None = None,
             inputs: tuple[Any, ...] | None = None, detail: bool = True) -> StepResult:
    """Meter one inference forward (options.train False: eval mode, no_grad) or one training step
    (forward, backward, optimizer step; train mode) of `model` at `input_shape` on the meta device.
    `detail`: also per-module figures (hooks, saved tensors, FLOPs); off, only the peak (fit's
    probes). The model's train/eval flags are restored; its tensors are never touched."""
    import torch

    opts = (options or StepOptions()).check()
    meter = KindMeter()
    params, buffers = _meta_state(model, opts)
    for t in (*params.values(), *buffers.values()):
        meter.add(t, "weights")
    weight_keys = {t.untyped_storage()._cdata for t in (*params.values(), *buffers.values()) if t.dim()}
    recorder = _Recorder(model, meter, weight_keys) if detail else None
    flags = [(m, m.training) for m in model.modules()]
    model.train(opts.train)
    try:
        with _meter_mode(meter), (recorder.hooked() if recorder else contextlib.nullcontext()):
            args = _meta_inputs(input_shape, inputs, opts)
            for a in args:
                if isinstance(a, torch.Tensor):
                    meter.add(a)
            run = _train if opts.train else _infer
            flops = run(model, {**params, **buffers}, args, opts, meter, recorder)
    finally:
        for m, flag in flags:
            m.training = flag
    res = _result(model, opts, input_shape, meter, params, buffers, recorder, flops)
    res.input_bytes = _storage_bytes(a for a in args if isinstance(a, torch.Tensor))
    return res


def _call(model: Any, state: dict[str, Any], args: tuple[Any, ...], opts: StepOptions) -> Any:
    from torch.func import functional_call

    with _autocast_mode(opts.compute_dtype) if opts.amp else contextlib.nullcontext():
        return functional_call(model, state, args)


def _infer(model: Any, state: dict[str, Any], args: tuple[Any, ...], opts: StepOptions,
           meter: KindMeter, recorder: _Recorder | None) -> tuple[dict[str, int], dict[str, int]]:
    import torch

    if recorder:
        recorder.recording = True
    with torch.no_grad():
        out = _call(model, state, args, opts)
    del out
    return {}, {}


def _train(model: Any, state: dict[str, Any], args: tuple[Any, ...], opts: StepOptions,
           meter: KindMeter, recorder: _Recorder | None) -> tuple[dict[str, int], dict[str, int]]:
    """Two steps; the second is measured (peaks restart after the first)."""
    from torch.utils.flop_counter import FlopCounterMode

    trainable = [p for p in state.values() if p.requires_grad]
    if not trainable:
        raise ArchvizError("the model has no trainable parameter (every requires_grad is False): no "
                           "training step to size", 2)
    for p in trainable:
        p.register_post_accumulate_grad_hook(lambda q: meter.mark(q.grad, "grads"))
    optimizer = make_optimizer(opts.optimizer, trainable, opts.foreach)
    _one_step(model, state, args, opts, meter, optimizer, None)
    for per_param in optimizer.state.values():
        for t in per_param.values():
            meter.mark(t, "optimizer")
    meter.restart()
    if recorder is None:
        _one_step(model, state, args, opts, meter, optimizer, None)
        return {}, {}
    recorder.recording = True
    counter = FlopCounterMode(display=False, depth=None)
    fwd: dict[str, int] = {}
    _one_step(model, state, args, opts, meter, optimizer, counter, fwd)
    names = _flop_names(counter, recorder)
    total = _sum_counts(counter.get_flop_counts(), names)
    return fwd and _sum_counts(fwd, names), total


def _one_step(model: Any, state: dict[str, Any], args: tuple[Any, ...], opts: StepOptions,
              meter: KindMeter, optimizer: Any, counter: Any, fwd_counts: dict | None = None) -> None:
    import torch

    with torch.enable_grad():  # a caller under no_grad (a profile of an nn.Module) still trains
        _forward_backward_step(model, state, args, opts, meter, optimizer, counter, fwd_counts)


def _forward_backward_step(model: Any, state: dict[str, Any], args: tuple[Any, ...], opts: StepOptions,
                           meter: KindMeter, optimizer: Any, counter: Any, fwd_counts: dict | None) -> None:
    optimizer.zero_grad(set_to_none=True)
    meter.phase = "forward"
    with counter if counter is not None else contextlib.nullcontext():
        out = _call(model, state, args, opts)
        losses = _floats(out)
        if not losses:
            raise ArchvizError("the model's output has no floating tensor that depends on its "
                               "parameters: nothing to backpropagate", 2)
        loss = sum(t.sum() for t in losses)
        del out, losses
        if counter is not None and fwd_counts is not None:
            fwd_counts.update({k: dict(v) for k, v in counter.get_flop_counts().items()})
        meter.phase = "backward"
        loss.backward()
        del loss
    meter.phase = "optimizer step"
    optimizer.step()


def _result(model: Any, opts: StepOptions, input_shape: list[int], meter: KindMeter,
            params: dict[str, Any], buffers: dict[str, Any], recorder: _Recorder | None,
            flops: tuple[dict[str, int], dict[str, int]]) -> StepResult:
    nbytes = _storage_bytes
    rule = optimizer_rule(opts.optimizer)
    trainable = [p for p in params.values() if p.requires_grad]
    res = StepResult(
        options=opts, input_shape=list(input_shape), peak=meter.peak, peak_phase=meter.peak_phase,
        at_peak=dict(meter.at_peak), weights_bytes=nbytes([*params.values(), *buffers.values()]),
        param_bytes=nbytes(params.values()), buffer_bytes=nbytes(buffers.values()),
        grad_bytes=nbytes(trainable) if opts.train else 0,
        optimizer_bytes=rule.buffers * nbytes(trainable) if opts.train else 0,
        activation_peak=meter.activation_peak,
        input_bytes=0, trainable_params=sum(p.numel() for p in trainable),
        frozen_params=sum(p.numel() for p in params.values() if not p.requires_grad))
    if recorder is not None:
        trains = {id(p) for n, p in model.named_parameters() if params[n].requires_grad}
        _per_layer(res, recorder, flops, rule.buffers if opts.train else 0, opts, trains)
    return res


def _storage_bytes(tensors: Any) -> int:
    """Bytes of distinct storages (tied parameters once; 0-dim left out, as PeakMeter does)."""
    seen: dict[int, int] = {}
    for t in tensors:
        if t.dim():
            seen[t.untyped_storage()._cdata] = t.untyped_storage().nbytes()
    return sum(seen.values())


def _per_layer(res: StepResult, recorder: _Recorder, flops: tuple[dict[str, int], dict[str, int]],
               buffers_per_param: int, opts: StepOptions, trains: set[int]) -> None:
    """Per-module figures, containers summing their subtree (FlopCounterMode's counts already do)."""
    import torch

    itemsize = torch.empty((), dtype=_torch_dtype(opts.param_dtype)).element_size()
    fwd, total = flops
    own_params: dict[str, tuple[int, int]] = {}
    seen: set[int] = set()
    for mod, key, _parent, _path in recorder.tree:
        n_all = n_train = 0
        for p in mod._parameters.values():
            if p is None or id(p) in seen:
                continue
            seen.add(id(p))
            size = p.numel() * (itemsize if p.is_floating_point() else p.element_size())
            n_all += size
            n_train += size if id(p) in trains else 0
        own_params[key or ROOT_NAME] = (n_all, n_train)
    layers = {}
    for _mod, key, _parent, _path in recorder.tree:
        row = key or ROOT_NAME
        layers[row] = LayerMemory(live_bytes=recorder.live_after.get(row, 0),
                                  fwd_flops=fwd.get(row, 0), bwd_flops=total.get(row, 0) - fwd.get(row, 0))
    for _mod, key, parent, _path in reversed(recorder.tree):  # children before parents
        row = layers[key or ROOT_NAME]
        n_all, n_train = own_params[key or ROOT_NAME]
        row.param_bytes += n_all
        row.grad_bytes += n_train
        row.optim_bytes += buffers_per_param * n_train
        row.saved_bytes += recorder.saved_own.get(key or ROOT_NAME, 0)
        if parent is not None:
            up = layers[parent or ROOT_NAME]
            up.param_bytes += row.param_bytes
            up.grad_bytes += row.grad_bytes
            up.optim_bytes += row.optim_bytes
            up.saved_bytes += row.saved_bytes
    res.layers = layers
    res.timeline = recorder.timeline
    root = layers.get(ROOT_NAME)
    res.saved_bytes = root.saved_bytes if root else 0
    res.fwd_flops = root.fwd_flops if root else 0
    res.bwd_flops = root.bwd_flops if root else 0
