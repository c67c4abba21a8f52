"""Backend-neutral trace records: what a counting backend hands to the graph analysis.

A backend (fvcore today; torch.export / FlopCountMode later) turns a model and an input into a
`Trace`: a topologically ordered list of `Op`s over named tensor values, each with its owning module,
shapes, geometry attributes and counts. Everything downstream reads only these records."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass
class Op:
    index: int
    kind: str                          # operator name, e.g. "aten::_convolution"
    scope: str                         # owning module's key (ModuleInfo.name; "" = the model itself)
    inputs: list[str]                  # tensor value ids (lists such as cat's are flattened)
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)   # kernel, stride, padding, dims, ...
    macs: float = 0.0
    activations: float = 0.0
    counted: bool = True               # False: no handler, listed as uncounted
    weighted: bool = False             # conv / linear with a parameter operand


ROOT_NAME = "(model)"   # how the root module is shown; no other module's key may take it


@dataclass
class ModuleInfo:
    """One module. `name` is its key: the attribute names from the root joined by "." (made unique,
    so it is display text, never parsed); containment comes from `parent` and `path` only."""

    name: str
    type: str
    params: int
    output_shape: list[int] | None
    parent: str | None = None          # the enclosing module's key; None for the root
    path: tuple[str, ...] = ()         # attribute names from the root; () for the root
    own_params: int = 0                # held directly (module._parameters), each counted once

    @property
    def level(self) -> int:
        return len(self.path)


def module_tree(model: Any) -> list[tuple[Any, str, str | None, tuple[str, ...]]]:
    """Every distinct submodule of `model` once, in definition order (pre-order; a module reached
    by several paths keeps the first, as fvcore's `_named_modules_without_dup` does), as
    (module, key, parent key, path). Keys are the dotted paths; where two paths would give the same
    key (a child literally named "a.b" beside a nested a -> b) the later one gets "#2", "#3", ...
    Names are never split: "/", "." or "\\" inside a name is just text."""
    out: list[tuple[Any, str, str | None, tuple[str, ...]]] = []
    seen: set[int] = set()
    taken = {ROOT_NAME}
    stack: list[tuple[Any, tuple[str, ...], str | None]] = [(model, (), None)]
    while stack:
        mod, path, parent = stack.pop()
        if id(mod) in seen:
            continue
        seen.add(id(mod))
        key = base = ".".join(path)
        n = 2
        while key in taken and path:
            key, n = f"{base}#{n}", n + 1
        taken.add(key)
        out.append((mod, key, parent, path))
        children = [(name, child) for name, child in mod._modules.items() if child is not None]
        stack.extend((child, (*path, name), key) for name, child in reversed(children))
    return out


@dataclass
class Trace:
    ops: list[Op]
    shapes: dict[str, list[int] | None]   # value id -> shape
    inputs: list[str]                     # value ids of the model inputs
    outputs: list[str]                    # value ids of the model outputs
    params: set[str]                      # value ids that are parameters/buffers
    modules: dict[str, ModuleInfo]        # in definition order; "" is the root
    uncounted: dict[str, int]
    backend: str
    # (module key, message) of each distinct tracer warning: Python values read from tensors and
    # data-dependent branches, fixed at what the example input gave
    warnings: list[tuple[str, str]] = field(default_factory=list)


class CountingBackend(Protocol):
    """The seam: one trace of `model` on `inputs` -> Trace."""

    name: str

    def trace(self, model: Any, inputs: tuple[Any, ...]) -> Trace: ...
