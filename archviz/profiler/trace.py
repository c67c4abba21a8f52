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
    scope: str                         # owning module's dotted name ("" = the model itself)
    inputs: list[str]                  # tensor value ids (lists such as cat's are flattened)
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)   # kernel, stride, padding, dims, ...
    macs: float = 0.0
    activations: float = 0.0
    counted: bool = True               # False: no handler, listed as uncounted
    weighted: bool = False             # conv / linear with a parameter operand


@dataclass
class ModuleInfo:
    name: str
    type: str
    params: int
    output_shape: list[int] | None


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


class CountingBackend(Protocol):
    """The seam: one trace of `model` on `inputs` -> Trace."""

    name: str

    def trace(self, model: Any, inputs: tuple[Any, ...]) -> Trace: ...
