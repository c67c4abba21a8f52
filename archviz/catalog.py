"""Catalogue: model names -> how to build them, plus the 2012-2016 history metadata.

Published figures (parameters, GFLOPS, accuracy) are read from torchvision's weights `meta` at run
time, never typed in here. What is typed in is history: papers, ILSVRC results and key ideas."""

from __future__ import annotations

import difflib
import importlib.util
import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any

from .errors import ArchvizError


@dataclass(frozen=True)
class Paper:
    title: str
    authors: str
    venue: str
    arxiv: str | None


@dataclass(frozen=True)
class Ilsvrc:
    year: int
    place: int
    top5_error: float  # percent, classification task, as submitted (often an ensemble)
    entry: str


@dataclass(frozen=True)
class Family:
    name: str
    year: int
    paper: Paper
    key_idea: str
    ilsvrc: Ilsvrc | None
    colour: str  # one colour per family, shared by every chart


@dataclass(frozen=True)
class HistoryModel:
    name: str          # torchvision name
    label: str         # how people write it
    family: str
    named_depth: int   # the number in the name (AlexNet 8, GoogLeNet 22)


FAMILIES: dict[str, Family] = {
    "AlexNet": Family(
        "AlexNet", 2012,
        Paper("ImageNet Classification with Deep Convolutional Neural Networks",
              "Krizhevsky, Sutskever, Hinton", "NeurIPS 2012", None),
        "ReLU instead of tanh/sigmoid (plus dropout, GPUs); large 11x11 first kernels",
        Ilsvrc(2012, 1, 15.3, "SuperVision"), "#d62728"),
    "VGG": Family(
        "VGG", 2014,
        Paper("Very Deep Convolutional Networks for Large-Scale Image Recognition",
              "Simonyan, Zisserman", "ICLR 2015", "1409.1556"),
        "Only stacked 3x3 convolutions: same receptive field as a large kernel, fewer parameters",
        Ilsvrc(2014, 2, 7.3, "VGG"), "#ff7f0e"),
    "GoogLeNet": Family(
        "GoogLeNet", 2014,
        Paper("Going Deeper with Convolutions", "Szegedy et al.", "CVPR 2015", "1409.4842"),
        "Inception blocks: parallel 1x1/3x3/5x5/pool branches with 1x1 bottlenecks",
        Ilsvrc(2014, 1, 6.67, "GoogLeNet"), "#2ca02c"),
    "ResNet": Family(
        "ResNet", 2015,
        Paper("Deep Residual Learning for Image Recognition", "He, Zhang, Ren, Sun", "CVPR 2016",
              "1512.03385"),
        "Skip connections (residual add) make 100+ layers trainable",
        Ilsvrc(2015, 1, 3.57, "MSRA"), "#1f77b4"),
    "DenseNet": Family(
        "DenseNet", 2016,
        Paper("Densely Connected Convolutional Networks", "Huang, Liu, van der Maaten, Weinberger",
              "CVPR 2017", "1608.06993"),
        "Concatenation inside dense blocks; transitions (BN, 1x1 conv, 2x2 avg-pool) shrink channels",
        None, "#9467bd"),
}

HISTORY: dict[str, HistoryModel] = {m.name: m for m in [
    HistoryModel("alexnet", "AlexNet", "AlexNet", 8),
    HistoryModel("vgg11", "VGG-11", "VGG", 11),
    HistoryModel("vgg13", "VGG-13", "VGG", 13),
    HistoryModel("vgg16", "VGG-16", "VGG", 16),
    HistoryModel("vgg19", "VGG-19", "VGG", 19),
    HistoryModel("googlenet", "GoogLeNet", "GoogLeNet", 22),
    HistoryModel("resnet18", "ResNet-18", "ResNet", 18),
    HistoryModel("resnet34", "ResNet-34", "ResNet", 34),
    HistoryModel("resnet50", "ResNet-50", "ResNet", 50),
    HistoryModel("resnet101", "ResNet-101", "ResNet", 101),
    HistoryModel("resnet152", "ResNet-152", "ResNet", 152),
    HistoryModel("densenet121", "DenseNet-121", "DenseNet", 121),
    HistoryModel("densenet169", "DenseNet-169", "DenseNet", 169),
    HistoryModel("densenet201", "DenseNet-201", "DenseNet", 201),
]}

# ILSVRC classification winners (top-5 error, %), for the history chart's context line.
ILSVRC_WINNERS: list[tuple[int, str, float]] = [
    (2010, "NEC-UIUC", 28.2), (2011, "XRCE", 25.8), (2012, "AlexNet (SuperVision)", 15.3),
    (2013, "Clarifai (ZFNet)", 11.7), (2014, "GoogLeNet", 6.67), (2015, "ResNet (MSRA)", 3.57),
    (2016, "Trimps-Soushen", 2.99), (2017, "SENet (WMW)", 2.25),
]

# Notes on torchvision's definitions that differ from the papers (shown in reports).
QUIRKS: dict[str, str] = {
    "googlenet": "torchvision's GoogLeNet uses a 3x3 convolution where the paper's Inception "
                 "branch has 5x5, adds batch norm, and is built here without the auxiliary classifiers.",
    "inception_v3": "Built without the auxiliary classifier, as torchvision does for inference; "
                    "torchvision's published parameter count includes that classifier.",
    "alexnet": "torchvision's AlexNet follows the one-GPU variant of 'One weird trick' (64-192-384-256-256 "
               "channels, no grouped convolutions, no local response normalisation).",
    **{name: "torchvision's Bottleneck puts the stride-2 on the 3x3 convolution (ResNet v1.5), "
              "where the paper strides the first 1x1: same parameters, slightly more MACs."
       for name in ("resnet50", "resnet101", "resnet152")},
}

# Networks as published where torchvision has none (defined in archviz/models.py).
CIFAR_PAPER = Paper("Deep Residual Learning for Image Recognition", "He, Zhang, Ren, Sun", "CVPR 2016",
                    "1512.03385")
PAPER_HISTORY: dict[str, HistoryModel] = {m.name: m for m in [
    HistoryModel("alexnet2012", "AlexNet (2012, two towers)", "AlexNet", 8),
    HistoryModel("plain20", "plain-20 (CIFAR)", "ResNet", 20),
    HistoryModel("plain56", "plain-56 (CIFAR)", "ResNet", 56),
    HistoryModel("resnet20", "ResNet-20 (CIFAR)", "ResNet", 20),
    HistoryModel("resnet56", "ResNet-56 (CIFAR)", "ResNet", 56),
]}
_CIFAR_QUIRK = ("The ResNet paper's CIFAR-10 net (section 4.2), defined by archviz: a 3x3 conv with 16 "
                "filters, three stages of 2n 3x3 layers with 16, 32 and 64 filters, global average "
                "pooling and a 10-way linear layer (6n+2 weighted layers), input 32x32. {kind}")
QUIRKS.update({
    "alexnet2012": "AlexNet as published in 2012, defined by archviz: two towers (one per GPU) in which "
                   "conv2, conv4 and conv5 see only their own tower's maps while conv3 and the fully "
                   "connected layers see both; local response normalisation after conv1 and conv2; "
                   "overlapping 3x3 stride-2 max pooling; input 227. torchvision's `alexnet` is the "
                   "one-tower variant of 'One weird trick' (64-192-384-256-256 channels, no LRN): "
                   "61,100,840 parameters against 60,965,224 here.",
    **{f"plain{d}": _CIFAR_QUIRK.format(kind="Plain: no shortcuts (the paper's degradation baseline).")
       for d in (20, 56)},
    **{f"resnet{d}": _CIFAR_QUIRK.format(kind="Option A shortcuts: identity, subsampled and zero-padded "
                                              "in channels where the shape changes, no parameters.")
       for d in (20, 56)},
})

# Builder keyword arguments that make torchvision build the inference model (no aux heads).
BUILD_KWARGS: dict[str, dict[str, Any]] = {
    "googlenet": {"aux_logits": False, "init_weights": False},
    "inception_v3": {"aux_logits": False, "init_weights": False},
}


def size_kwargs(name: str, input_shape: list[int]) -> dict[str, Any]:
    """Builder arguments that must match the input size (ViT's position embeddings, MaxViT's grid):
    torchvision sets them from the weights, which archviz never loads."""
    h, w = input_shape[-2], input_shape[-1]
    if name.startswith("vit_"):
        if h != w:
            raise ArchvizError(f"{name} needs a square input, not {h}x{w}", 2)
        return {"image_size": h}
    if name.startswith("maxvit"):
        return {"input_size": (h, w)}
    return {}


@dataclass(frozen=True)
class ModelSpec:
    """A resolved model name: a torchvision model or a user factory."""

    spec: str                    # what the user typed, normalised
    kind: str                    # "torchvision" | "paper" (archviz/models.py) | "timm" | "factory"
    name: str                    # torchvision name or factory attribute
    source: str | None = None    # module path or file path for factories


# -- the catalogue snapshot ------------------------------------------------------------------------
# Listing names, checking a name and suggesting the closest ones must not cost a torch import (it
# takes seconds). So the names and published figures are read from torchvision once per torch and
# torchvision version and kept as a small JSON file beside the profile store; later runs read it.
SNAPSHOT_FORMAT = 1  # bump when the snapshot's contents change
SNAPSHOT_FILE = "catalog-snapshot.json"
KEYED_ON = ("torch", "torchvision")


@dataclass(frozen=True)
class Snapshot:
    """Every torchvision classification model name and its published figures, for one set of
    library versions."""

    versions: dict[str, str]
    names: tuple[str, ...]
    published: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": SNAPSHOT_FORMAT, "versions": self.versions,
                           "names": list(self.names), "published": self.published})

    @classmethod
    def from_json(cls, text: str, versions: dict[str, str]) -> "Snapshot | None":
        """The snapshot in `text` if it is sound and was taken with `versions`, else None."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        if not (isinstance(data, dict) and data.get("format") == SNAPSHOT_FORMAT
                and data.get("versions") == versions):
            return None
        names, pub = data.get("names"), data.get("published")
        if not (isinstance(names, list) and names and all(isinstance(n, str) for n in names)
                and isinstance(pub, dict) and all(isinstance(v, dict) for v in pub.values())):
            return None
        return cls(versions, tuple(names), pub)


def installed_versions(dists: tuple[str, ...], missing: str = "none") -> dict[str, str]:
    """Versions of installed distributions from package metadata, without importing them
    (`missing` for one that is absent)."""
    out = {}
    for dist in dists:
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = missing
    return out


def catalogue_versions() -> dict[str, str]:
    """The versions the snapshot is keyed on."""
    return installed_versions(KEYED_ON)


def snapshot_path() -> Path | None:
    """Where the snapshot is kept: beside the profile store (None when there is no home at all)."""
    from .store import home

    try:
        return home() / SNAPSHOT_FILE
    except (RuntimeError, KeyError):  # Path.home() without HOME or a passwd entry
        return None


def build_snapshot(versions: dict[str, str]) -> Snapshot:
    """Read the catalogue from torchvision itself (imports torch and torchvision: seconds)."""
    if importlib.util.find_spec("torchvision") is None:
        raise ArchvizError("torchvision is not installed: the model catalogue needs it", 1)
    import torchvision
    from torchvision.models import list_models

    names = tuple(sorted(list_models(module=torchvision.models)))
    figures = {name: _published_live(name) for name in names}
    return Snapshot(versions, names, {n: f for n, f in figures.items() if f is not None})


def load_snapshot(path: Path | None = None) -> Snapshot:
    """The kept snapshot when it matches the installed versions; otherwise a new one, kept for the
    next run. A missing, damaged or unwritable file only costs this run a torchvision import: never
    an error or a warning (the profile store reports an unusable ARCHVIZ_HOME when it matters)."""
    versions = catalogue_versions()
    path = path or snapshot_path()
    kept = _read_kept(path, versions)
    if kept is not None:
        return kept
    fresh = build_snapshot(versions)
    _keep(fresh, path)
    return fresh


def _read_kept(path: Path | None, versions: dict[str, str]) -> Snapshot | None:
    from .store import path_problem

    if path is None or path_problem(path):  # a FIFO would block the read; a folder cannot be read
        return None
    try:
        return Snapshot.from_json(path.read_text(encoding="utf-8"), versions)
    except (OSError, UnicodeDecodeError):
        return None


def _keep(snap: Snapshot, path: Path | None) -> None:
    """Write atomically (a concurrent reader sees the old file or the new one); failures are quiet."""
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp.write_text(snap.to_json(), encoding="utf-8")
        os.replace(tmp, path)
    except OSError:
        try:
            tmp.unlink()
        except OSError:
            pass


def snapshot() -> Snapshot:
    """This process's snapshot, loaded once per home (a test or a caller may change ARCHVIZ_HOME,
    and each home gets its snapshot written)."""
    return _snapshot_at(snapshot_path())


@lru_cache(maxsize=4)
def _snapshot_at(path: Path | None) -> Snapshot:
    return load_snapshot(path)


def torchvision_models() -> tuple[str, ...]:
    """Every torchvision classification model name (from the snapshot: no torch import when warm)."""
    return snapshot().names


def resolve(spec: str) -> ModelSpec:
    """Turn a user's model argument into a ModelSpec, or fail with the closest names."""
    spec = spec.strip()
    if not spec:
        raise ArchvizError("empty model name", 2)
    if is_timm_spec(spec):
        return resolve_timm(spec)
    if ":" in spec:
        source, _, attr = spec.rpartition(":")
        if not source or not attr.isidentifier():
            raise ArchvizError(f"bad factory spec {spec!r}: expected package.module:factory "
                               "or path/to/file.py:factory", 2)
        return ModelSpec(spec, "factory", attr, source)
    name = spec.lower()
    if name in PAPER_HISTORY:
        return ModelSpec(name, "paper", name)
    names = torchvision_models()
    if name in names:
        return ModelSpec(name, "torchvision", name)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)  # torchvision's names first
    if len(close) < 3:
        close += difflib.get_close_matches(name, list(PAPER_HISTORY), n=3 - len(close), cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else "; run 'archviz list' for all names"
    raise ArchvizError(f"unknown model {spec!r}{hint}", 2)


def published(name: str) -> dict[str, Any] | None:
    """torchvision's published figures for a model (from the snapshot: no torch import when warm)."""
    figures = snapshot().published.get(name)
    return dict(figures) if figures is not None else None


def _published_live(name: str) -> dict[str, Any] | None:
    """Published figures from the model's default weights' meta (imports torchvision, no download)."""
    from torchvision.models import get_model_weights

    try:
        weights = get_model_weights(name).DEFAULT
    except (ValueError, KeyError):
        return None
    meta = weights.meta
    metrics = meta.get("_metrics", {}).get("ImageNet-1K", {})
    return {
        "weights": str(weights),
        "num_params": meta.get("num_params"),
        "gflops": meta.get("_ops"),
        "acc@1": metrics.get("acc@1"),
        "acc@5": metrics.get("acc@5"),
        "crop_size": getattr(weights.transforms, "keywords", {}).get("crop_size"),
        "min_size": list(meta["min_size"]) if "min_size" in meta else None,
    }


def history_info(name: str) -> dict[str, Any] | None:
    """History metadata for the catalogue's history set (plain dict, JSON-ready)."""
    h = HISTORY.get(name) or PAPER_HISTORY.get(name)
    if not h:
        return None
    fam = FAMILIES[h.family]
    return {
        "label": h.label, "family": fam.name, "year": fam.year, "named_depth": h.named_depth,
        "paper": asdict(fam.paper), "key_idea": fam.key_idea,
        "ilsvrc": asdict(fam.ilsvrc) if fam.ilsvrc else None, "colour": fam.colour,
    }


def catalog_info(spec: ModelSpec) -> dict[str, Any] | None:
    if spec.kind == "timm":
        return {"history": None, "published": None, "quirk": None, "timm": timm_info(spec.name)}
    if spec.kind not in ("torchvision", "paper"):
        return None
    return {"history": history_info(spec.name),
            "published": published(spec.name) if spec.kind == "torchvision" else None,
            "quirk": QUIRKS.get(spec.name)}


def catalogue_names() -> list[str]:
    """Every name the catalogue builds: torchvision's, then the networks archviz defines."""
    return [*torchvision_models(), *PAPER_HISTORY]


def family_colour(family: str | None) -> str:
    fam = FAMILIES.get(family or "")
    return fam.colour if fam else "#7f7f7f"


# -- timm (optional: pip install 'archviz[timm]') --------------------------------------------------
# `timm:NAME` (or `timm:NAME.TAG`) names a timm model, built with pretrained=False: no download.
TIMM_PREFIX = "timm:"
TIMM_MISSING = "timm is not installed: pip install 'archviz[timm]'"


def is_timm_spec(spec: str) -> bool:
    """A `timm:NAME` spec (the one prefix that is not a user factory's module)."""
    return spec.strip().lower().startswith(TIMM_PREFIX)


def _timm():
    if importlib.util.find_spec("timm") is None:
        raise ArchvizError(TIMM_MISSING, 2)
    import timm

    return timm


def timm_models(pattern: str | None = None) -> list[str]:
    """timm's architecture names, filtered by an optional glob ('convnext_*') as timm does."""
    return list(_timm().list_models(pattern or ""))


def resolve_timm(spec: str) -> ModelSpec:
    """`timm:NAME` -> ModelSpec(kind="timm"), or one line with the closest timm names."""
    name = spec.strip()[len(TIMM_PREFIX):].strip().lower()
    timm = _timm()
    arch, _, tag = name.partition(".")
    if not arch or not timm.is_model(arch):
        close = _closest_timm(arch, timm.list_models())
        hint = (f"; closest: {', '.join(close)}" if close
                else "; no close match, run 'archviz list --source timm' for all names")
        raise ArchvizError(f"unknown timm model {name!r}{hint}", 2)
    if tag:
        try:
            timm.models.get_pretrained_cfg(name)
        except RuntimeError:
            tags = timm.list_pretrained(f"{arch}.*")
            close = difflib.get_close_matches(name, tags, n=3, cutoff=0.5) or tags[:3]
            hint = f"; closest: {', '.join(close)}" if close else f"; {arch} has no tags"
            raise ArchvizError(f"unknown timm pretrained tag {name!r}{hint}", 2) from None
    return ModelSpec(TIMM_PREFIX + name, "timm", name)


def _closest_timm(name: str, names: list[str]) -> list[str]:
    """Close timm names, preferring those of the same family (its first word: 'resnet_x' ->
    resnet*), since timm has over a thousand names and plain similarity picks unrelated ones."""
    family = [n for n in names if n.startswith(name.split("_")[0])] if "_" in name else []
    return (difflib.get_close_matches(name, family, n=3, cutoff=0.3)
            or difflib.get_close_matches(name, names, n=3, cutoff=0.5))


def _timm_cfg(name: str) -> dict[str, Any]:
    """The model's pretrained config from timm's registry (never downloads); {} when it has none."""
    try:
        cfg = _timm().models.get_pretrained_cfg(name)
    except RuntimeError:
        return {}
    return cfg.to_dict() if cfg is not None else {}


def timm_input_size(name: str) -> list[int]:
    """timm's default input for the model, [1, C, H, W] (224 when its config has none)."""
    size = _timm_cfg(name).get("input_size") or (3, 224, 224)
    return [1, *(int(d) for d in size)]


def timm_kwargs(name: str, input_shape: list[int] | None) -> dict[str, Any]:
    """create_model arguments that must match the input: image size for fixed-size models (ViT,
    Swin: position embeddings, windows) and input channels, where they differ from the config."""
    if not input_shape:
        return {}
    cfg = _timm_cfg(name)
    default = list(cfg.get("input_size") or (3, 224, 224))
    kwargs: dict[str, Any] = {}
    if input_shape[1] != default[0]:
        kwargs["in_chans"] = input_shape[1]
    if cfg.get("fixed_input_size") and list(input_shape[2:]) != default[1:]:
        kwargs["img_size"] = tuple(input_shape[2:])
    return kwargs


def timm_info(name: str) -> dict[str, Any]:
    """What timm's config says about the model: paper (title, arXiv id) when it has them, default
    input size, pretrained tag and the timm version. Tagless names take the first tag that names a
    paper."""
    cfg = _timm_cfg(name)
    paper_cfg = cfg
    if not (cfg.get("paper_ids") or cfg.get("paper_name")) and "." not in name:
        for tagged in _timm().list_pretrained(f"{name}.*"):
            c = _timm_cfg(tagged)
            if c.get("paper_ids") or c.get("paper_name"):
                paper_cfg = c
                break
    ids = paper_cfg.get("paper_ids") or ""
    ids = ids if isinstance(ids, str) else ",".join(map(str, ids))
    arxiv = next((i.strip()[len("arxiv:"):] for i in ids.split(",")
                  if i.strip().lower().startswith("arxiv:")), None)
    paper = ({"title": paper_cfg.get("paper_name"), "ids": ids or None, "arxiv": arxiv}
             if ids or paper_cfg.get("paper_name") else None)
    try:
        version = metadata.version("timm")
    except metadata.PackageNotFoundError:
        version = "none"
    return {"name": name, "tag": cfg.get("tag"), "paper": paper,
            "input_size": list(cfg["input_size"]) if cfg.get("input_size") else None,
            "license": cfg.get("license"), "version": version}


__all__ = ["FAMILIES", "HISTORY", "PAPER_HISTORY", "catalogue_names", "ILSVRC_WINNERS", "ModelSpec", "Snapshot", "resolve", "published",
           "history_info", "catalog_info", "torchvision_models", "snapshot", "load_snapshot"]
