"""The profiler: build a model, trace it once through a counting backend, analyse the graph, and
return a Profile. It never formats output."""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from ..catalog import ModelSpec, catalog_info, installed_versions, resolve
from ..conventions import CONVENTIONS
from ..errors import ArchvizError, describe
from ..record import Profile
from .assemble import Assembler
from .graph import analyse
from .trace import ROOT_NAME, CountingBackend, Trace

VERSIONED = ("torch", "torchvision", "fvcore", "archviz", "timm")  # timm: "none" when absent


def versions() -> dict[str, str]:
    """Library versions, read without importing them (the store keys on these)."""
    return installed_versions(VERSIONED)


def _silent(stage: str) -> None:
    """The progress callback when the caller wants none."""


def default_backend() -> CountingBackend:
    from .fvcore_backend import FvcoreBackend

    return FvcoreBackend()


@contextlib.contextmanager
def module_stack(model: Any, named: Any = None) -> Iterator[list[str]]:
    """Track which module is running, so a trace failure or a tracer warning can name it;
    `named` gives (name, module) pairs (default: model.named_modules())."""
    stack: list[str] = []
    handles = []

    def enter(name: str):
        def hook(_m, _i) -> None:
            stack.append(name)
        return hook

    def leave(_m, _i, _o) -> None:
        if stack:
            stack.pop()

    for name, mod in (model.named_modules() if named is None else named):
        handles.append(mod.register_forward_pre_hook(enter(name)))
        handles.append(mod.register_forward_hook(leave))
    try:
        yield stack
    finally:
        for h in handles:
            h.remove()


@contextlib.contextmanager
def frozen(model: Any) -> Iterator[None]:
    """Parameters not requiring grad while tracing (restored after). The jit finds parameters by
    their state-dict keys, where a child literally named "a.b" collides with a nested a -> b; it
    inserts the one it cannot find as a constant, which it refuses for a tensor requiring grad."""
    flags = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in flags:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p, flag in flags:
            p.requires_grad_(flag)


def model_device(model: Any) -> Any:
    """Where the model's parameters live (the CPU for a model without any)."""
    import torch

    first = next(iter(model.parameters()), None)
    return first.device if first is not None else torch.device("cpu")


def trace_model(model: Any, input_shape: list[int], backend: CountingBackend | None = None,
                inputs: tuple[Any, ...] | None = None) -> Trace:
    """One trace of `model` on `inputs`, or on zeros of `input_shape` on the model's device."""
    import torch

    from ..build import flush_denormals, stdout_to_stderr

    backend = backend or default_backend()
    args = inputs if inputs is not None else (torch.zeros(*input_shape, device=model_device(model)),)
    with module_stack(model) as stack, torch.no_grad(), flush_denormals(), frozen(model), \
            stdout_to_stderr():
        try:
            return backend.trace(model, args)
        except KeyboardInterrupt:
            raise
        except SystemExit as exc:  # user code called exit(): one line, never a silent exit
            raise ArchvizError(f"tracing {type(model).__name__} called exit({exc.code!r})", 1) from None
        except BaseException as exc:  # user code raises anything
            where = f" in module {stack[-1]!r}" if stack and stack[-1] else ""
            raise ArchvizError(f"tracing {type(model).__name__} with input "
                               f"{'x'.join(map(str, input_shape))} failed{where}: {describe(exc)}", 1) from exc


def layout_notes(layout: str, input_shape: list[int], totals: dict[str, Any]) -> list[str]:
    """Why a profile has no receptive field, or what its headline field could not describe."""
    shape = "x".join(map(str, input_shape))
    if layout == "NC":
        return [f"Input {shape} (layout NC) has no spatial dimension: no receptive field."]
    if layout == "NLC":
        return [f"Input {shape} is a token sequence (layout NLC): its positions are tokens that linear, "
                "attention and recurrent layers mix by content, not a grid that windows slide over, "
                "so no receptive field is given."]
    if totals.get("receptive_field") is not None:
        return []
    last = totals.get("last_spatial_field")
    if not last:
        return ["Receptive field of the output unknown: no layer has a known field."]
    rf, stride = _compact(last["receptive_field"]), _compact(last["effective_stride"])
    return [f"Receptive field of the output unknown; the last known field is {rf} px at stride {stride}, "
            f"at {last['at']}."]


def _compact(values: list[float]) -> str:
    """[7, 7] -> '7', [3, 5] -> '3x5' (as the renderers write fields)."""
    text = [f"{v:g}" for v in values]
    return text[0] if len(set(text)) == 1 else "x".join(text)


def unfollowed_note(kinds: list[str]) -> str:
    """Operators after which a known receptive field became unknown, with why where archviz knows."""
    why = {k: " (interpolation: its taps depend on align_corners, which the trace does not keep)"
           for k in kinds if "upsample_" in k and "nearest" not in k}
    return "Receptive field unknown after: " + ", ".join(k + why.get(k, "") for k in kinds)


def tracer_notes(trace: Trace, example: bool) -> list[str]:
    """Tracer warnings as notes: the graph (and every count) follows what this one input did."""
    given = "the example inputs" if example else "an all-zero input"
    out = []
    for module, message in trace.warnings:
        first = message.split(". ")[0].rstrip(".")
        out.append(f"Tracer warning in module {module or ROOT_NAME!r}: {first}. The trace follows what "
                   f"{given} did there (a branch or size that depends on the data is fixed to it): "
                   f"the graph and counts may not hold for other inputs.")
    return out


def profile_module(model: Any, input_shape: list[int], name: str = "model",
                   catalog: dict[str, Any] | None = None,
                   backend: CountingBackend | None = None,
                   inputs: tuple[Any, ...] | None = None,
                   progress: Callable[[str], None] | None = None,
                   layout: str | None = None, trace: Trace | None = None,
                   train: Any = None) -> Profile:
    """Profile an already built nn.Module, in the mode it is in (the API and the lessons call it
    with the module in eval mode); `inputs` are example tensors, else zeros of `input_shape`.
    `progress`, when given, is called with each stage's name ("tracing", "analysing"). `layout`
    (NCHW, NCL, NLC, NC, ...) says which input dimensions are spatial; default from the rank.
    `trace`: the model's trace already made (on the meta device, see shapes_only). Memory is
    metered on the meta device (archviz.training): inference always, a training step when `train`
    (a training.StepOptions) is given."""
    from ..build import rank_layout

    layout = layout or rank_layout(len(input_shape))
    report = progress or _silent
    if trace is None:
        report("tracing")
        trace = trace_model(model, input_shape, backend, inputs)
    report("analysing")
    ga = analyse(trace, layout)
    asm = Assembler(trace, ga)
    totals = asm.totals()
    notes = tracer_notes(trace, inputs is not None)
    notes += layout_notes(layout, input_shape, totals)
    if ga.unfollowed:
        notes.append(unfollowed_note(ga.unfollowed))
    if trace.uncounted:
        notes.append("Uncounted operators (no handler, 0 MACs): "
                     + ", ".join(f"{k} x{v}" for k, v in sorted(trace.uncounted.items())))
    report("metering memory")
    memory = metered_memory(model, input_shape, inputs, train)
    return Profile(
        model=name, input_shape=list(input_shape), totals=totals,
        layers=with_memory(asm.layers(), memory.rows),
        blocks=asm.block_rows(), graph=asm.graph_nodes(), uncounted_ops=dict(trace.uncounted),
        conventions=dict(CONVENTIONS), versions={**versions(), "backend": trace.backend},
        catalog=catalog, notes=notes + memory.notes, model_class=type(model).__name__, layout=layout,
        memory=memory.memory, training=memory.training,
    )


def metered_memory(model: Any, input_shape: list[int], inputs: tuple[Any, ...] | None, train: Any) -> Any:
    """The model's memory sections (archviz.training.memory_sections), metered on the meta device."""
    from ..training import memory_sections

    return memory_sections(model, input_shape, inputs, train)


def with_memory(rows: list[dict[str, Any]], values: dict[str, dict[str, int]]) -> list[dict[str, Any]]:
    """Layer rows with their memory keys (MEMORY_COLUMNS always, None where not metered; the
    training keys where a training step ran)."""
    from ..columns import MEMORY_COLUMNS

    for row in rows:
        row.update({k: None for k in MEMORY_COLUMNS})
        row.update(values.get(row["name"], {}))
    return rows


def profile(model: str | ModelSpec, input_shape: list[int] | str | None = None,
            backend: CountingBackend | None = None,
            progress: Callable[[str], None] | None = None,
            layout: str | None = None, train: Any = None) -> Profile:
    """Profile a catalogue name, `package.module:factory` or `file.py:factory`. `progress`, when
    given, is called with each stage's name: "building", "tracing", "analysing". `input_shape` is
    read with `layout` (NCHW, NCL, NLC, CHW; default from its count, see build.resolve_input).

    >>> p = profile("vgg16"); p.totals["params"], p.table.head()
    """
    from ..build import default_input_shape, resolve_input

    report = progress or _silent
    report("building")
    spec = model if isinstance(model, ModelSpec) else resolve(model)
    info = catalog_info(spec)
    if input_shape is None:
        input_shape = default_input_shape(spec, (info or {}).get("published"))
    input_shape, layout = resolve_input(input_shape, layout, image=spec.kind != "factory")
    with gc_paused():
        module, trace = build_and_trace(spec, input_shape, backend, report)
        return profile_module(module, input_shape, spec.spec, info, backend, progress=progress,
                              layout=layout, trace=trace, train=train)


@contextlib.contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection for the duration: building and tracing make many thousands of
    objects (hooks, graph values, records) and so set off full collections over everything torch
    holds (DenseNet-201: about half of a profile's time). Tensors are freed by reference counts
    anyway; cycles are collected once collection resumes."""
    import gc

    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def build_and_trace(spec: ModelSpec, input_shape: list[int], backend: CountingBackend | None,
                    report: Callable[[str], None]) -> tuple[Any, Trace | None]:
    """The model, and its trace where it could be made on the meta device (no arithmetic, no
    storage: shapes_only); else the model built for a real trace (memory budget checked, zeroed
    storage) and None, as before."""
    from ..build import build_meta, constructor_of, materialise
    from ..memory import check_peak
    from .shapes_only import followable, trace_shapes_only

    constructor = constructor_of(spec, input_shape)
    module = build_meta(constructor, input_shape)
    if module is not None and followable(module):
        report("tracing")
        made = trace_shapes_only(module, input_shape, backend)
        if made is not None:
            check_peak(module, input_shape, made[1])
            return module, made[0]
    return materialise(spec, input_shape, module, constructor), None
