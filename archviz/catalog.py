"""Catalogue: model names -> how to build them, plus the 2012-2016 history metadata.

Published figures (parameters, GFLOPS, accuracy) are read from torchvision's weights `meta` at run
time, never typed in here. What is typed in is history: papers, ILSVRC results and key ideas."""

from __future__ import annotations

import difflib
import importlib.util
from dataclasses import asdict, dataclass
from functools import lru_cache
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
    kind: str                    # "torchvision" | "factory"
    name: str                    # torchvision name or factory attribute
    source: str | None = None    # module path or file path for factories


@lru_cache(maxsize=1)
def torchvision_models() -> tuple[str, ...]:
    """Every torchvision classification model name (imports torchvision)."""
    import torchvision
    from torchvision.models import list_models

    return tuple(sorted(list_models(module=torchvision.models)))


def resolve(spec: str) -> ModelSpec:
    """Turn a user's model argument into a ModelSpec, or fail with the closest names."""
    spec = spec.strip()
    if not spec:
        raise ArchvizError("empty model name", 2)
    if ":" in spec:
        source, _, attr = spec.rpartition(":")
        if not source or not attr.isidentifier():
            raise ArchvizError(f"bad factory spec {spec!r}: expected package.module:factory "
                               "or path/to/file.py:factory", 2)
        return ModelSpec(spec, "factory", attr, source)
    name = spec.lower()
    names = torchvision_models()
    if name in names:
        return ModelSpec(name, "torchvision", name)
    close = difflib.get_close_matches(name, names, n=3, cutoff=0.5)
    hint = f"; closest: {', '.join(close)}" if close else "; run 'archviz list' for all names"
    raise ArchvizError(f"unknown model {spec!r}{hint}", 2)


def published(name: str) -> dict[str, Any] | None:
    """torchvision's published figures for a model, from its default weights' meta (no download)."""
    if importlib.util.find_spec("torchvision") is None:
        return None
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
    h = HISTORY.get(name)
    if not h:
        return None
    fam = FAMILIES[h.family]
    return {
        "label": h.label, "family": fam.name, "year": fam.year, "named_depth": h.named_depth,
        "paper": asdict(fam.paper), "key_idea": fam.key_idea,
        "ilsvrc": asdict(fam.ilsvrc) if fam.ilsvrc else None, "colour": fam.colour,
    }


def catalog_info(spec: ModelSpec) -> dict[str, Any] | None:
    if spec.kind != "torchvision":
        return None
    return {"history": history_info(spec.name), "published": published(spec.name),
            "quirk": QUIRKS.get(spec.name)}


def family_colour(family: str | None) -> str:
    fam = FAMILIES.get(family or "")
    return fam.colour if fam else "#7f7f7f"


__all__ = ["FAMILIES", "HISTORY", "ILSVRC_WINNERS", "ModelSpec", "resolve", "published",
           "history_info", "catalog_info", "torchvision_models"]
