"""Build a model for analysis: shapes matter, trained values do not.

Models are constructed on the meta device (no weight initialisation, no memory), then given zeroed
storage: zeros rather than uninitialised memory, which can hold denormal floats that slow the trace.
No weights are ever downloaded."""

from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
import re
import sys
from pathlib import Path
from typing import Any, Callable, Iterator

from .catalog import BUILD_KWARGS, ModelSpec, size_kwargs
from .errors import ArchvizError, describe

_SHAPE = re.compile(r"^\d+(x\d+)*$")
MAX_DIM = 2**31 - 1  # torch sizes beyond this overflow; the memory budget refuses far less anyway


@contextlib.contextmanager
def stdout_to_stderr() -> Iterator[None]:
    """While user code runs, everything it writes to standard output goes to stderr: stdout carries
    archviz's output only (a factory that prints, or runs `os.system('echo x')`, must not corrupt
    `-f json` or `-f csv`). Both Python's sys.stdout and file descriptor 1 itself (what C code and
    child processes write to) point at stderr until the block ends; nested blocks restore in turn."""
    sys.stdout.flush()
    try:
        saved = os.dup(1)
    except OSError:  # no descriptor 1 at all: Python's level is all there is to redirect
        saved = None
    try:
        if saved is not None:
            os.dup2(2, 1)
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        sys.stderr.flush()
        if saved is not None:
            os.dup2(saved, 1)
            os.close(saved)


def parse_input_shape(text: str) -> list[int]:
    """'1x3x224x224' -> [1, 3, 224, 224]; '3x32x32' gets batch 1; '224' means 1x3x224x224."""
    t = text.strip().lower().replace("×", "x").replace(",", "x").replace(" ", "")
    if not _SHAPE.match(t):
        raise ArchvizError(f"malformed --input {text!r}: expected e.g. 1x3x224x224, 3x224x224 or 224", 2)
    if any(len(d.lstrip("0")) > 10 for d in t.split("x")):
        raise ArchvizError(f"--input {text!r}: a dimension is too large (at most {MAX_DIM:,})", 2)
    dims = [int(d) for d in t.split("x")]
    if any(d > MAX_DIM for d in dims):
        raise ArchvizError(f"--input {text!r}: a dimension is too large (at most {MAX_DIM:,})", 2)
    if any(d <= 0 for d in dims):
        raise ArchvizError(f"malformed --input {text!r}: every dimension must be positive", 2)
    if len(dims) == 1:
        dims = [1, 3, dims[0], dims[0]]
    elif len(dims) == 3:
        dims = [1, *dims]
    if len(dims) < 2:
        raise ArchvizError(f"malformed --input {text!r}: need at least batch and channels", 2)
    return dims


def shape_text(shape: list[int]) -> str:
    return "x".join(str(d) for d in shape)


# -- input layouts: applied after parsing ----------------------------------------------------------
LAYOUTS = ("NCHW", "NCL", "NLC", "CHW")  # what --layout / layout= accept
RANK_LAYOUTS = {2: "NC", 3: "NCL", 4: "NCHW", 5: "NCDHW"}
NEEDS = {"NCHW": (1, 4), "CHW": (3,), "NCL": (3,), "NLC": (3,)}  # how many numbers each layout takes


def rank_layout(rank: int) -> str:
    """The layout a tensor of this rank is read as by default: batch, channels, then spatial dims."""
    return RANK_LAYOUTS.get(rank, "NC" + "S" * (rank - 2))


def check_layout(layout: str | None) -> str | None:
    """'ncl' -> 'NCL'; None stays None (inferred); anything else is refused."""
    if layout is None or not str(layout).strip():
        return None
    name = str(layout).strip().upper()
    if name not in LAYOUTS:
        raise ArchvizError(f"unknown --layout {layout!r}: expected one of {', '.join(LAYOUTS)}", 2)
    return name


def resolve_input(given: str | list[int], layout: str | None = None,
                  image: bool = True) -> tuple[list[int], str]:
    """(tensor shape, layout) for an input shape as the user gave it: text or numbers, before any
    batch is added. Rules (README, Conventions): one number n is an image, 1x3xnxn (NCHW); two are
    NC (no spatial dimension); four NCHW; three are CxHxW with batch 1 added (NCHW) for catalogue
    image models (`image`), NxCxL for user models, unless `layout` says (CHW, NCL, NLC)."""
    text = given if isinstance(given, str) else "x".join(str(d) for d in given)
    dims = parse_input_shape(text)
    n = len(text.strip().lower().replace("×", "x").replace(",", "x").replace(" ", "").split("x"))
    raw = dims[1:] if n == 3 else dims  # the numbers as typed (parse_input_shape adds batch 1 to 3)
    name = check_layout(layout)
    if name is None:
        if n == 1:
            return dims, "NCHW"
        name = ("CHW" if image else "NCL") if n == 3 else None
        if name is None:
            return raw, rank_layout(n)
    if n not in NEEDS[name]:
        want = " or ".join(str(k) for k in NEEDS[name])
        raise ArchvizError(f"--layout {name} needs {want} numbers in --input, not {text!r}", 2)
    if name == "CHW":
        return [1, *raw], "NCHW"
    return (dims if n == 1 else raw), name


def input_key(shape: list[int], layout: str, image: bool = True) -> str:
    """The input part of a store key: the shape, plus the layout where the shape alone would be
    read otherwise ('1x8x100 NLC')."""
    text = shape_text(shape)
    return text if resolve_input(text, None, image) == (list(shape), layout) else f"{text} {layout}"


def default_input_shape(spec: ModelSpec, published: dict[str, Any] | None) -> list[int]:
    """224 unless the default weights' transforms crop to another size (299 for Inception v3);
    the paper's input for the networks archviz defines (AlexNet 2012: 227, CIFAR: 32); timm's
    pretrained config's input_size for timm models."""
    if spec.kind == "timm":
        from .catalog import timm_input_size

        return timm_input_size(spec.name)
    if spec.kind == "paper":
        from .models import PAPER_MODELS

        return list(PAPER_MODELS[spec.name][1])
    size = (published or {}).get("crop_size") or 224
    return [1, 3, int(size), int(size)]


def load_factory(spec: ModelSpec) -> Callable[[], Any]:
    """Import `package.module:factory` or `path/to/file.py:factory`."""
    source = spec.source or ""
    try:
        if source.endswith(".py") or "/" in source or "\\" in source:
            path = Path(source)
            if not path.is_file():
                raise ArchvizError(f"factory file not found: {source}", 2)
            mod_name = f"archviz_user_{abs(hash(str(path.resolve())))}"
            loader_spec = importlib.util.spec_from_file_location(mod_name, path)
            module = importlib.util.module_from_spec(loader_spec)
            sys.modules[mod_name] = module
            with stdout_to_stderr():
                loader_spec.loader.exec_module(module)
        else:
            with stdout_to_stderr():
                module = importlib.import_module(source)
    except ArchvizError:
        raise
    except (KeyboardInterrupt, SystemExit) as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise ArchvizError(f"importing {source!r} called exit({exc.code!r})", 1) from None
    except BaseException as exc:  # user code raises anything: report the cause in one line
        raise ArchvizError(f"cannot import {source!r}: {describe(exc)}", 1) from exc
    factory = getattr(module, spec.name, None)
    if factory is None or not callable(factory):
        raise ArchvizError(f"{source!r} has no callable {spec.name!r}", 2)
    return factory


def _constructor(spec: ModelSpec, input_shape: list[int] | None = None) -> Callable[[], Any]:
    if spec.kind == "torchvision":
        from torchvision.models import get_model

        kwargs = {**BUILD_KWARGS.get(spec.name, {}),
                  **(size_kwargs(spec.name, input_shape) if input_shape else {})}
        return lambda: get_model(spec.name, weights=None, **kwargs)
    if spec.kind == "paper":
        from .models import PAPER_MODELS

        return PAPER_MODELS[spec.name][0]
    if spec.kind == "timm":
        from .catalog import _timm, timm_kwargs

        timm = _timm()
        kwargs = timm_kwargs(spec.name, input_shape)
        return lambda: timm.create_model(spec.name, pretrained=False, **kwargs)
    return load_factory(spec)


def _call(constructor: Callable[[], Any], spec: ModelSpec):
    import torch

    try:
        with stdout_to_stderr(), no_downloads(spec):
            model = constructor()
    except (ArchvizError, KeyboardInterrupt):
        raise
    except SystemExit as exc:
        raise ArchvizError(f"building {spec.spec!r} called exit({exc.code!r})", 1) from None
    except BaseException as exc:  # user code raises anything
        raise ArchvizError(f"building {spec.spec!r} failed: {describe(exc)}", 1) from exc
    if not isinstance(model, torch.nn.Module):
        raise ArchvizError(f"{spec.spec!r} returned {type(model).__name__}, not a torch.nn.Module", 1)
    return model


def weights_arguments(factory: Any) -> list[str]:
    """The factory's arguments that name weights to download by default (torchvision's `weights`,
    `weights_backbone`, ... whose default is not None): what a user must pass as None."""
    import inspect

    try:
        params = inspect.signature(factory).parameters.values()
    except (TypeError, ValueError):
        return []
    return [p.name for p in params if p.name.startswith("weights") and p.default not in (None, inspect.Parameter.empty)]


@contextlib.contextmanager
def no_downloads(spec: ModelSpec | None) -> Iterator[None]:
    """While a model is built, torch.hub's downloader refuses (archviz never reaches the internet):
    the build fails in one line naming the URL and the arguments to pass as None. A weights file
    already in torch's cache loads as before (no network)."""
    import torch.hub

    saved = torch.hub.download_url_to_file

    def refuse(url: str, *args: Any, **kwargs: Any) -> None:
        where = spec.spec if spec is not None else "the model"
        factory = None
        if spec is not None and spec.kind == "factory" and spec.source and ":" in spec.spec:
            try:
                factory = getattr(importlib.import_module(spec.source), spec.name, None)
            except Exception:  # a file path: its module is loaded elsewhere; the hint is generic
                factory = None
        names = weights_arguments(factory) if factory is not None else []
        hint = (f"pass {', '.join(f'{n}=None' for n in names)}" if names else
                "pass weights=None (and weights_backbone=None)") + " in a factory of your own"
        raise ArchvizError(f"building {where!r} tried to download {url}: archviz downloads nothing; {hint}", 2)

    def load(url: str, model_dir: str | None = None, *args: Any, file_name: str | None = None, **kwargs: Any):
        """torch.hub.load_state_dict_from_url for a file already in torch's cache; else refused
        before torch announces a download."""
        from urllib.parse import urlparse

        folder = model_dir or os.path.join(torch.hub.get_dir(), "checkpoints")
        cached = os.path.join(folder, file_name or os.path.basename(urlparse(url).path))
        if not os.path.exists(cached):
            refuse(url)
        return saved_load(url, model_dir, *args, file_name=file_name, **kwargs)

    saved_load = torch.hub.load_state_dict_from_url
    holders = [torch.hub, *[m for m in (sys.modules.get("torchvision.models._api"),)
                            if m is not None and hasattr(m, "load_state_dict_from_url")]]
    torch.hub.download_url_to_file = refuse
    for holder in holders:
        holder.load_state_dict_from_url = load
    try:
        yield
    finally:
        torch.hub.download_url_to_file = saved
        for holder in holders:
            holder.load_state_dict_from_url = saved_load


def _matmul_weights(model) -> set[int]:
    """Weights of convolution and linear layers: read only by matmul-like kernels."""
    import torch

    kinds = (torch.nn.modules.conv._ConvNd, torch.nn.Linear)
    return {id(m.weight) for m in model.modules() if isinstance(m, kinds) and m.weight is not None}


def zero_storage(model) -> None:
    """Give a meta-device model real storage on the CPU.

    Everything is zeroed except convolution/linear weights, which hold most of the bytes (VGG-16:
    0.5 GB) and are read only by matmul-like kernels: those run under `flush_denormals()` while
    tracing, so whatever the fresh memory holds cannot slow them, and zero-filling them would cost
    more than the trace saves."""
    import torch

    loose = loose_meta_tensors(model)
    if loose:  # tensors kept outside parameters and buffers stay on meta: build for real instead
        raise ValueError(f"{loose} holds a tensor outside its parameters and buffers")
    model.to_empty(device="cpu")
    skip = _matmul_weights(model)
    with torch.no_grad():
        for t in (*model.parameters(), *model.buffers()):
            if id(t) not in skip:
                t.zero_()


def loose_meta_tensors(model) -> str | None:
    """The first module holding a meta tensor in a plain attribute (a tensor, or a list, tuple or
    dict of them), which to_empty() cannot give storage: torchvision's AnchorGenerator keeps its
    cell anchors so, and moves them to the input's device when it runs (the memory budget's meta
    run leaves them on meta). None when every tensor is a parameter or a buffer."""
    import torch

    def tensors(value: Any):
        if isinstance(value, torch.Tensor):
            yield value
        elif isinstance(value, (list, tuple)):
            for v in value:
                yield from tensors(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from tensors(v)

    for name, module in model.named_modules():
        for key, value in vars(module).items():
            if key.startswith("_"):  # _parameters, _buffers, _modules and torch's own state
                continue
            if any(t.is_meta for t in tensors(value)):
                return f"{name or type(module).__name__}.{key}"
    return None


@contextlib.contextmanager
def skip_init():
    """torch.nn.init's in-place initialisers become no-ops while a model is constructed: on the meta
    device they would still run Python meta kernels for every tensor (DenseNet-169: 0.2 s)."""
    import torch

    names = [n for n in dir(torch.nn.init) if n.endswith("_") and not n.startswith("_")]
    saved = {n: getattr(torch.nn.init, n) for n in names}
    try:
        for n in names:
            setattr(torch.nn.init, n, _identity)
        yield
    finally:
        for n, fn in saved.items():
            setattr(torch.nn.init, n, fn)


def _identity(tensor, *args, **kwargs):
    return tensor


@contextlib.contextmanager
def flush_denormals():
    """Denormal floats flushed to zero for the duration (restored after)."""
    import torch

    enabled = torch.set_flush_denormal(True)
    try:
        yield enabled
    finally:
        torch.set_flush_denormal(False)


def _meta_build(constructor: Callable[[], Any]):
    """The model built on the meta device, or None when the constructor cannot build there."""
    import torch

    try:
        with torch.device("meta"), skip_init(), stdout_to_stderr(), no_downloads(None):
            model = constructor()
    except KeyboardInterrupt:
        raise
    except BaseException:  # a normal build follows and reports the cause
        return None
    return model if isinstance(model, torch.nn.Module) else None


def build_model(spec: ModelSpec, input_shape: list[int]):
    """Build `spec` in eval mode without initialising weights (falls back to a normal build).
    An input whose trace would exceed the memory budget is refused before any storage is made."""
    constructor = _constructor(spec, input_shape)
    return materialise(spec, input_shape, build_meta(constructor, input_shape), constructor)


def constructor_of(spec: ModelSpec, input_shape: list[int]) -> Callable[[], Any]:
    """The call that builds `spec` (a user's file is imported here, once)."""
    return _constructor(spec, input_shape)


def build_meta(constructor: Callable[[], Any], input_shape: list[int]):
    """The model built on the meta device in eval mode, parameters frozen, no storage at all; None
    when its constructor cannot build there. An input that alone exceeds the memory budget is
    refused first."""
    from .memory import check_input

    check_input(input_shape)
    model = _meta_build(constructor)
    if model is None:
        return None
    freeze(model)
    return model.eval()


def materialise(spec: ModelSpec, input_shape: list[int], model=None,
                constructor: Callable[[], Any] | None = None):
    """The model ready for a real trace: the meta-device `model` given storage once its weights
    plus peak activations fit the memory budget, else (no meta model, or storage failed) built
    normally."""
    from .memory import check_model

    if model is not None:
        check_model(model, input_shape)
        try:
            zero_storage(model)
        except Exception:
            model = None
    if model is None:
        model = _call(constructor or _constructor(spec, input_shape), spec)
    freeze(model)
    return model.eval()


TRAINABLE_ATTR = "_archviz_requires_grad"  # the flags a built model had before freeze() (training/)


def freeze(model) -> None:
    """No parameter requires grad (analysis never trains), the flags the model was built with kept
    first under TRAINABLE_ATTR: a training step (archviz.training) sizes what the model trains."""
    if TRAINABLE_ATTR not in model.__dict__:
        model.__dict__[TRAINABLE_ATTR] = {n: p.requires_grad for n, p in model.named_parameters()}
    model.requires_grad_(False)
