"""The Python API behind `archviz.profile`, `archviz.diagram` and `archviz.report`: any model a user
holds (a catalogue name, a factory spec, or an `nn.Module` in a notebook), any way of giving its
input (an int for a square image, a tuple or list, "1x3x224x224", or example tensors)."""

from __future__ import annotations

import contextlib
import warnings
from pathlib import Path
from typing import Any, Iterator, Sequence

from .errors import ArchvizError
from .record import Profile


def given_input(input_size: Any) -> str | None:
    """An input size as text, its numbers as the caller gave them (no batch added yet): None (the
    model's default), an int n (a square image), a shape tuple/list, or text like '1x3x32x32'."""
    from .build import parse_input_shape

    if input_size is None:
        return None
    if isinstance(input_size, bool):
        raise ArchvizError(f"input_size must be a shape, not {input_size!r}", 2)
    if isinstance(input_size, (int, str)):
        text = str(input_size)
    elif isinstance(input_size, Sequence) and all(isinstance(d, int) and not isinstance(d, bool)
                                                  for d in input_size):
        text = "x".join(str(d) for d in input_size)
    else:
        raise ArchvizError(f"input_size must be an int, a tuple of ints or text like '1x3x224x224', "
                           f"not {input_size!r}", 2)
    parse_input_shape(text)  # malformed input fails here, with the parser's message
    return text


def input_shape_of(input_size: Any, layout: str | None = None, image: bool = True) -> list[int] | None:
    """The traced shape of `input_size` (see `given_input`) read with `layout` (build.resolve_input:
    3 numbers are CxHxW, batch 1 added, for catalogue image models, NxCxL for nn.Modules)."""
    from .build import resolve_input

    text = given_input(input_size)
    return None if text is None else resolve_input(text, layout, image)[0]


def is_module(model: Any) -> bool:
    """An nn.Module, checked without importing torch for the name and spec cases."""
    import sys

    torch = sys.modules.get("torch")
    return torch is not None and isinstance(model, torch.nn.Module)


@contextlib.contextmanager
def quiet() -> Iterator[None]:
    """No library warnings (torch's jit deprecation, tracer warnings) in the user's output."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield


@contextlib.contextmanager
def untouched(model: Any) -> Iterator[None]:
    """Trace a user's module in eval mode, then give it back as it was: every submodule's training
    flag restored. Tracing runs under no_grad and writes no weight (eval-mode batch norm keeps its
    running statistics); the model is not moved."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        yield
    finally:
        for m, training in modes:
            m.training = training


def example_tensors(example_inputs: Any) -> tuple[Any, ...]:
    import torch

    items = example_inputs if isinstance(example_inputs, (tuple, list)) else (example_inputs,)
    if not items or not all(isinstance(t, torch.Tensor) for t in items):
        raise ArchvizError("example_inputs must be a tensor or a tuple of tensors", 2)
    return tuple(items)


def profile_nn_module(model: Any, input_size: Any = None, example_inputs: Any = None,
                      name: str | None = None, layout: str | None = None) -> Profile:
    """Profile a module the caller holds (never stored: it can change under the same name). A user
    module's 3 numbers are NxCxL unless `layout` says otherwise (CHW adds a batch of 1)."""
    from .build import resolve_input
    from .memory import check_input
    from .profiler import profile_module

    inputs = example_tensors(example_inputs) if example_inputs is not None else None
    given = list(inputs[0].shape) if inputs else given_input(input_size)
    if given is None:
        raise ArchvizError(f"an nn.Module needs input_size (e.g. 224 or (1, 3, 224, 224)) or "
                           f"example_inputs: archviz cannot guess what {type(model).__name__} takes", 2)
    shape, read_as = resolve_input(given, layout, image=False)
    if inputs is not None and shape != given:
        raise ArchvizError(f"example inputs are traced as given ({'x'.join(map(str, given))}): "
                           f"layout {layout} would change their shape", 2)
    if inputs is None:
        check_input(shape)
    with quiet(), untouched(model):
        return profile_module(model, shape, name or type(model).__name__, inputs=inputs, layout=read_as)


def profile(model: Any, input_size: Any = None, *, example_inputs: Any = None,
            cache: bool = True, layout: str | None = None) -> Profile:
    """A Profile of a catalogue name ("vgg16"), a factory spec ("pkg.mod:fn", "net.py:fn") or an
    nn.Module. Names go through the store (a hit imports no torch) unless cache=False. `layout`
    (NCHW, NCL, NLC, CHW) says how input_size's numbers are read; by default 4 numbers are NCHW,
    2 NC, and 3 CxHxW (batch 1 added) for catalogue models but NxCxL for factories and modules."""
    if isinstance(model, Profile):
        return model
    if is_module(model):
        return profile_nn_module(model, input_size, example_inputs, layout=layout)
    if not isinstance(model, str):
        raise ArchvizError(f"model must be a catalogue name, a factory spec or an nn.Module, "
                           f"not {type(model).__name__}", 2)
    if example_inputs is not None:
        raise ArchvizError("example_inputs go with an nn.Module; for a name give input_size", 2)
    from .service import get_profile

    with quiet():
        return get_profile(model, given_input(input_size), use_cache=cache, layout=layout)


def diagram(model: Any, level: str = "blocks", *, input_size: Any = None, example_inputs: Any = None,
            layout: str | None = None, **options: Any):
    """The block diagram of a Profile (or of anything `profile` takes), shown inline in notebooks;
    `.svg` is its SVG text, `.save(path)` writes .svg/.png/.pdf/.dot, `.digraph` the graphviz graph."""
    from .render.diagram import Diagram

    return Diagram(profile(model, input_size, example_inputs=example_inputs, layout=layout), level, **options)


def report(models: Any, path: str | Path | None = None, *, input_size: Any = None,
           layout: str | None = None) -> Path:
    """Write the self-contained HTML report of one model, or a comparison of several (a list);
    returns its path (default reports/<model>.html)."""
    from .render.report import write_report

    items = models if isinstance(models, (list, tuple)) else [models]
    profiles = [profile(m, input_size, layout=layout) for m in items]
    return write_report(profiles, Path(path) if path is not None else None)
