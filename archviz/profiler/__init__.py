"""The profiler: build a model, trace it once through a counting backend, analyse the graph, and
return a Profile. It never formats output."""

from __future__ import annotations

import contextlib
from importlib import metadata
from typing import Any, Iterator

from ..catalog import ModelSpec, catalog_info, resolve
from ..conventions import CONVENTIONS
from ..errors import ArchvizError
from ..record import Profile
from .assemble import Assembler
from .graph import analyse
from .trace import CountingBackend, Trace

VERSIONED = ("torch", "torchvision", "fvcore", "archviz")


def versions() -> dict[str, str]:
    """Library versions, read without importing them (the store keys on these)."""
    out = {}
    for dist in VERSIONED:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "none"
    return out


def default_backend() -> CountingBackend:
    from .fvcore_backend import FvcoreBackend

    return FvcoreBackend()


@contextlib.contextmanager
def module_stack(model: Any) -> Iterator[list[str]]:
    """Track which module is running, so a trace failure can name it."""
    stack: list[str] = []
    handles = []

    def enter(name: str):
        def hook(_m, _i) -> None:
            stack.append(name)
        return hook

    def leave(_m, _i, _o) -> None:
        if stack:
            stack.pop()

    for name, mod in model.named_modules():
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


def trace_model(model: Any, input_shape: list[int], backend: CountingBackend | None = None) -> Trace:
    import torch

    from ..build import flush_denormals

    backend = backend or default_backend()
    x = torch.zeros(*input_shape)
    with module_stack(model) as stack, torch.no_grad(), flush_denormals(), frozen(model):
        try:
            return backend.trace(model, (x,))
        except SystemExit as exc:  # user code called exit(): one line, never a silent exit
            raise ArchvizError(f"tracing {type(model).__name__} called exit({exc.code!r})", 1) from None
        except Exception as exc:
            where = f" in module {stack[-1]!r}" if stack and stack[-1] else ""
            first = (str(exc).strip().splitlines() or [""])[0]
            raise ArchvizError(f"tracing {type(model).__name__} with input "
                               f"{'x'.join(map(str, input_shape))} failed{where}: "
                               f"{type(exc).__name__}: {first}", 1) from exc


def profile_module(model: Any, input_shape: list[int], name: str = "model",
                   catalog: dict[str, Any] | None = None,
                   backend: CountingBackend | None = None) -> Profile:
    """Profile an already built nn.Module (used by the lessons and by tests)."""
    trace = trace_model(model, input_shape, backend)
    ga = analyse(trace)
    asm = Assembler(trace, ga)
    notes = []
    if ga.unfollowed:
        notes.append("Receptive field unknown after: " + ", ".join(ga.unfollowed))
    if trace.uncounted:
        notes.append("Uncounted operators (no handler, 0 MACs): "
                     + ", ".join(f"{k} x{v}" for k, v in sorted(trace.uncounted.items())))
    return Profile(
        model=name, input_shape=list(input_shape), totals=asm.totals(), layers=asm.layers(),
        blocks=asm.block_rows(), graph=asm.graph_nodes(), uncounted_ops=dict(trace.uncounted),
        conventions=dict(CONVENTIONS), versions={**versions(), "backend": trace.backend},
        catalog=catalog, notes=notes, model_class=type(model).__name__,
    )


def profile(model: str | ModelSpec, input_shape: list[int] | str | None = None,
            backend: CountingBackend | None = None) -> Profile:
    """Profile a catalogue name, `package.module:factory` or `file.py:factory`.

    >>> p = profile("vgg16"); p.totals["params"], p.table.head()
    """
    from ..build import build_model, default_input_shape, parse_input_shape

    spec = model if isinstance(model, ModelSpec) else resolve(model)
    info = catalog_info(spec)
    if isinstance(input_shape, str):
        input_shape = parse_input_shape(input_shape)
    if input_shape is None:
        input_shape = default_input_shape(spec, (info or {}).get("published"))
    module = build_model(spec, input_shape)
    return profile_module(module, input_shape, spec.spec, info, backend)
