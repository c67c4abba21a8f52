"""Memory and training cost, layer by layer, and the largest batch that fits (issue 23).

Everything runs on the meta device (meter.py): no real allocation, nothing downloaded.

    >>> from archviz.training import StepOptions, run_step, fit, cuda_check
    >>> fit("resnet50", "24GiB", options=StepOptions(train=True, optimizer="adam")).batch
    >>> run_step(model, [8, 3, 224, 224], StepOptions(train=True)).peak     # bytes

A Profile gets `memory` (inference: weights, peak live activations, the live bytes after each leaf
layer) always, and `training` (one training step's peak and its split, trainable and frozen
parameters, counted forward and backward FLOPs) with `archviz profile MODEL --train`; its layer rows
gain `live_bytes`, and with --train `saved_bytes`, `fwd_flops`, `bwd_flops`, `param_bytes`,
`grad_bytes`, `optim_bytes` (`columns.MEMORY_COLUMNS`, `columns.TRAINING_COLUMNS`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..errors import ArchvizError, describe
from .fit import MAX_BATCH, FitResult, fit_batch
from .meter import DTYPES, LayerMemory, StepOptions, StepResult, run_step
from .optim import OPTIMIZERS, optimizer_rule, state_bytes

__all__ = ["DTYPES", "MAX_BATCH", "OPTIMIZERS", "FitResult", "LayerMemory", "MemorySections", "StepOptions",
           "StepResult", "cuda_check", "fit", "fit_batch", "load_model", "memory_sections", "optimizer_rule",
           "parse_memory", "run_step", "state_bytes"]

TIMELINE_MAX = 20_000  # leaf calls kept for the live-memory chart (a stored profile is bounded)


def parse_memory(text: str, flag: str = "--memory") -> int:
    """'24GiB', '24G', '512MiB', '1.5T' or a byte count -> bytes (powers of 1024), with one
    message naming the flag."""
    from ..memory import parse_bytes

    try:
        return parse_bytes(text)
    except ArchvizError as exc:
        why = str(exc).split(" is ", 1)[-1]
        raise ArchvizError(f"{flag} {text!r} is {why}", 2) from None


@dataclass
class MemorySections:
    """What a Profile gains: `memory` (inference), `training` (with --train), values per layer row,
    and notes (why a section is missing)."""

    memory: dict[str, Any] | None = None
    training: dict[str, Any] | None = None
    rows: dict[str, dict[str, int]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def _timeline(result: StepResult) -> list[list[Any]]:
    return [[name, live] for name, live in result.timeline[:TIMELINE_MAX]]


def inference_section(result: StepResult) -> dict[str, Any]:
    return {"dtype": result.options.dtype, "batch": result.input_shape[0] if result.input_shape else 1,
            "weights_bytes": result.weights_bytes, "param_bytes": result.param_bytes,
            "buffer_bytes": result.buffer_bytes, "input_bytes": result.input_bytes,
            "activation_peak_bytes": result.activation_peak, "peak_bytes": result.peak,
            "timeline": _timeline(result)}


def training_section(result: StepResult) -> dict[str, Any]:
    o = result.options
    return {"optimizer": o.optimizer, "dtype": o.dtype, "amp": o.amp, "compute_dtype": o.compute_dtype,
            "foreach": o.foreach, "batch": result.input_shape[0] if result.input_shape else 1,
            "peak_bytes": result.peak, "peak_phase": result.peak_phase, "at_peak": dict(result.at_peak),
            "weights_bytes": result.weights_bytes, "grad_bytes": result.grad_bytes,
            "optimizer_bytes": result.optimizer_bytes, "saved_bytes": result.saved_bytes,
            "activation_peak_bytes": result.activation_peak, "input_bytes": result.input_bytes,
            "fwd_flops": result.fwd_flops, "bwd_flops": result.bwd_flops,
            "trainable_params": result.trainable_params, "frozen_params": result.frozen_params,
            "timeline": _timeline(result)}


AMP_ATTENTION_NOTE = (
    "--amp: nn.MultiheadAttention is metered in float32 (the autocast emulation casts the calls a "
    "model makes, not those inside attention's functional form), so its saved bytes are an upper "
    "bound; the step's peak is within 3% of a real CPU step for ViT-B/16 in float32")


def memory_sections(model: Any, input_shape: list[int], inputs: tuple[Any, ...] | None = None,
                    train: StepOptions | None = None) -> MemorySections:
    """Inference memory of `model` at `input_shape` (float32), and with `train` one training step,
    both metered on the meta device. A model that cannot run there gets a note instead."""
    from ..memory import BudgetError

    out = MemorySections()
    steps = [("memory", StepOptions())] + ([("training", train)] if train is not None else [])
    for section, opts in steps:
        try:
            result = run_step(model, input_shape, opts, inputs)
        except (BudgetError, KeyboardInterrupt):
            raise
        except ArchvizError as exc:
            if section == "training":
                raise
            out.notes.append(f"Memory not computed: {describe(exc, with_type=False)}")
            continue
        except Exception as exc:  # an op without a meta kernel, data-dependent control flow
            if section == "training":
                raise ArchvizError(f"the training step could not run on the meta device: {describe(exc)}", 1) from exc
            out.notes.append(f"Memory not computed: the model does not run on the meta device ({describe(exc)})")
            continue
        if section == "memory":
            out.memory = inference_section(result)
            for name, lm in result.layers.items():
                out.rows.setdefault(name, {})["live_bytes"] = lm.live_bytes
        else:
            out.training = training_section(result)
            if opts.amp and any(type(m).__name__ == "MultiheadAttention" for m in model.modules()):
                out.notes.append(AMP_ATTENTION_NOTE)
            for name, lm in result.layers.items():
                out.rows.setdefault(name, {}).update(
                    saved_bytes=lm.saved_bytes, fwd_flops=lm.fwd_flops, bwd_flops=lm.bwd_flops,
                    param_bytes=lm.param_bytes, grad_bytes=lm.grad_bytes, optim_bytes=lm.optim_bytes)
    return out


def load_model(model: str, input_shape: Any = None, layout: str | None = None) -> tuple[Any, list[int], str]:
    """(module, input shape, layout) of a catalogue name or factory spec, built as the profiler
    builds it: on the meta device where it can be (no storage), else for real within the memory
    budget; no download."""
    from ..build import build_meta, constructor_of, default_input_shape, materialise, resolve_input
    from ..catalog import catalog_info, resolve

    spec = resolve(model)
    if input_shape is None or input_shape == "":
        input_shape = default_input_shape(spec, (catalog_info(spec) or {}).get("published"))
    shape, layout = resolve_input(input_shape if isinstance(input_shape, str) else list(input_shape),
                                  layout, image=spec.kind != "factory")
    constructor = constructor_of(spec, shape)
    module = build_meta(constructor, shape)
    if module is None:
        module = materialise(spec, shape, None, constructor)
    return module, shape, layout


def fit(model: str | Any, memory: int | str, input_shape: Any = None, options: StepOptions | None = None,
        layout: str | None = None, limit: int = MAX_BATCH) -> FitResult:
    """The largest batch of `model` (a name, a factory spec, or an nn.Module with `input_shape`)
    whose meta-device step (inference, or with options.train a training step) fits `memory` bytes
    (or a size such as '24GiB')."""
    size = parse_memory(memory) if isinstance(memory, str) else int(memory)
    if isinstance(model, str):
        module, shape, _layout = load_model(model, input_shape, layout)
    else:
        if input_shape is None:
            raise ArchvizError("give input_shape with an nn.Module", 2)
        module, shape = model, list(input_shape)
    return fit_batch(module, shape, size, options, limit)


def cuda_check(model_name: str, batch: int = 8, optimizer: str = "sgd", size: int = 224) -> dict[str, int]:
    """The meta peak of one training step beside `torch.cuda.max_memory_allocated` over two real
    steps on the GPU (the second is the steady state the meta step reports), for the GPU check
    script (benchmarks/gpu_check.py). Needs CUDA; never run in CI. Bytes over what the model,
    optimizer and input hold before the steps are counted from the same zero on both sides."""
    import torch

    if not torch.cuda.is_available():
        raise ArchvizError("cuda_check needs a CUDA device", 2)
    module, shape, _ = load_model(model_name, [batch, 3, size, size])
    meta = run_step(module, shape, StepOptions(train=True, optimizer=optimizer, foreach=True), detail=False)
    real = _cuda_step_peak(model_name, shape, optimizer)
    return {"meta_peak": meta.peak, "cuda_peak": real, "batch": batch}


def _cuda_step_peak(model_name: str, shape: list[int], optimizer: str) -> int:
    """Peak bytes allocated by the CUDA caching allocator while a real model, its optimizer and
    input are made and two steps run (torchvision builders, random initialisation)."""
    import torch
    import torchvision

    from .optim import make_optimizer

    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    start = torch.cuda.memory_allocated()
    model = getattr(torchvision.models, model_name)(weights=None).cuda().train()
    opt = make_optimizer(optimizer, list(model.parameters()), foreach=True)
    x = torch.randn(*shape, device="cuda")
    for _ in range(2):
        opt.zero_grad(set_to_none=True)
        model(x).sum().backward()
        opt.step()
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - start
