"""Catalogue: model names -> how to build them, plus the 2012-2016 history metadata.

Published figures (parameters, GFLOPS, accuracy) are read from torchvision's weights `meta` at run
time, never typed in here. What is typed in is history: papers, ILSVRC results and key ideas."""

from __future__ import annotations

import difflib
import importlib.util
import json
import math
import re
import zlib
from dataclasses import asdict, dataclass, field
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import Any, Callable

from .errors import ArchvizError
from .files import CacheProblem, home, is_name, is_number, read_checked, write_quietly


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
    # -- every other torchvision family (no ILSVRC entry; year = the arXiv paper's year) --------------
    "Inception v3": Family(
        "Inception v3", 2015,
        Paper("Rethinking the Inception Architecture for Computer Vision",
              "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna", "CVPR 2016", "1512.00567"),
        "Factorised convolutions: 5x5 as two 3x3, n x n as 1 x n then n x 1; label smoothing",
        None, "#8c564b"),
    "ResNeXt": Family(
        "ResNeXt", 2016,
        Paper("Aggregated Residual Transformations for Deep Neural Networks",
              "Xie, Girshick, Dollár, Tu, He", "CVPR 2017", "1611.05431"),
        "Cardinality: the bottleneck's 3x3 split into many parallel paths (grouped convolution)",
        None, "#17becf"),
    "Wide ResNet": Family(
        "Wide ResNet", 2016,
        Paper("Wide Residual Networks", "Zagoruyko, Komodakis", "BMVC 2016", "1605.07146"),
        "Wider, shallower residual blocks: more channels per layer instead of more layers",
        None, "#043e95"),
    "SqueezeNet": Family(
        "SqueezeNet", 2016,
        Paper("SqueezeNet: AlexNet-level accuracy with 50x fewer parameters and <0.5MB model size",
              "Iandola, Han, Moskewicz, Ashraf, Dally, Keutzer", "arXiv 2016", "1602.07360"),
        "Fire modules: a 1x1 squeeze layer feeding parallel 1x1 and 3x3 expand layers",
        None, "#b8a000"),
    "ShuffleNet V2": Family(
        "ShuffleNet V2", 2018,
        Paper("ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design",
              "Ma, Zhang, Zheng, Sun", "ECCV 2018", "1807.11164"),
        "Channel split and channel shuffle, designed by measured speed rather than FLOPs",
        None, "#e377c2"),
    "MobileNetV2": Family(
        "MobileNetV2", 2018,
        Paper("MobileNetV2: Inverted Residuals and Linear Bottlenecks",
              "Sandler, Howard, Zhu, Zhmoginov, Chen", "CVPR 2018", "1801.04381"),
        "Inverted residuals: 1x1 expand, 3x3 depthwise, linear 1x1 projection back to a thin block",
        None, "#7cae00"),
    "MnasNet": Family(
        "MnasNet", 2018,
        Paper("MnasNet: Platform-Aware Neural Architecture Search for Mobile",
              "Tan, Chen, Pang, Vasudevan, Sandler, Howard, Le", "CVPR 2019", "1807.11626"),
        "Architecture search with latency measured on a phone in the objective",
        None, "#c91d73"),
    "MobileNetV3": Family(
        "MobileNetV3", 2019,
        Paper("Searching for MobileNetV3", "Howard et al.", "ICCV 2019", "1905.02244"),
        "Searched inverted residuals with squeeze-excitation and hard-swish activations",
        None, "#18aa8d"),
    "EfficientNet": Family(
        "EfficientNet", 2019,
        Paper("EfficientNet: Rethinking Model Scaling for Convolutional Neural Networks", "Tan, Le",
              "ICML 2019", "1905.11946"),
        "Compound scaling: depth, width and input resolution grown together from a searched B0",
        None, "#d18361"),
    "RegNet": Family(
        "RegNet", 2020,
        Paper("Designing Network Design Spaces", "Radosavovic, Kosaraju, Girshick, He, Dollár",
              "CVPR 2020", "2003.13678"),
        "Stage widths from a quantised linear rule, found by narrowing a design space (Y: with SE)",
        None, "#77225d"),
    "ViT": Family(
        "ViT", 2020,
        Paper("An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale",
              "Dosovitskiy et al.", "ICLR 2021", "2010.11929"),
        "Image patches as tokens for a plain Transformer encoder: no convolutions past the patch embedding",
        None, "#3b3bd6"),
    "Swin": Family(
        "Swin", 2021,
        Paper("Swin Transformer: Hierarchical Vision Transformer using Shifted Windows",
              "Liu, Lin, Cao, Hu, Wei, Zhang, Lin, Guo", "ICCV 2021", "2103.14030"),
        "Attention inside local windows, shifted between layers; patch merging builds a hierarchy",
        None, "#4d7722"),
    "EfficientNetV2": Family(
        "EfficientNetV2", 2021,
        Paper("EfficientNetV2: Smaller Models and Faster Training", "Tan, Le", "ICML 2021",
              "2104.00298"),
        "Fused-MBConv in the early stages, training-aware search, progressive image sizes",
        None, "#866f13"),
    "Swin V2": Family(
        "Swin V2", 2021,
        Paper("Swin Transformer V2: Scaling Up Capacity and Resolution", "Liu et al.", "CVPR 2022",
              "2111.09883"),
        "Residual post-norm, scaled cosine attention and a log-spaced continuous position bias",
        None, "#c322b6"),
    "ConvNeXt": Family(
        "ConvNeXt", 2022,
        Paper("A ConvNet for the 2020s", "Liu, Mao, Wu, Feichtenhofer, Darrell, Xie", "CVPR 2022",
              "2201.03545"),
        "A ResNet modernised toward Swin: 7x7 depthwise convs, inverted bottlenecks, LayerNorm, GELU",
        None, "#f4a300"),
    "MaxViT": Family(
        "MaxViT", 2022,
        Paper("MaxViT: Multi-Axis Vision Transformer", "Tu, Talebi, Zhang, Yang, Milanfar, Bovik, Li",
              "ECCV 2022", "2204.01697"),
        "Multi-axis attention: local block attention plus dilated grid attention, after an MBConv",
        None, "#b310f9"),
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

# -- every torchvision model's family and label ----------------------------------------------------
# (name prefix, family), the first match wins: longer prefixes come before their shorter relatives.
FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("alexnet", "AlexNet"), ("vgg", "VGG"), ("googlenet", "GoogLeNet"),
    ("inception_v3", "Inception v3"), ("resnext", "ResNeXt"), ("wide_resnet", "Wide ResNet"),
    ("resnet", "ResNet"), ("densenet", "DenseNet"), ("squeezenet", "SqueezeNet"),
    ("shufflenet_v2", "ShuffleNet V2"), ("mobilenet_v2", "MobileNetV2"),
    ("mobilenet_v3", "MobileNetV3"), ("mnasnet", "MnasNet"), ("efficientnet_v2", "EfficientNetV2"),
    ("efficientnet", "EfficientNet"), ("regnet", "RegNet"), ("vit_", "ViT"), ("swin_v2", "Swin V2"),
    ("swin_", "Swin"), ("convnext", "ConvNeXt"), ("maxvit", "MaxViT"),
)


def family_of(name: str) -> str | None:
    """The family of a torchvision or paper model name (None for a name outside the catalogue's
    families: a user's factory, a torchvision model newer than this table)."""
    h = HISTORY.get(name) or PAPER_HISTORY.get(name)
    if h:
        return h.family
    return next((fam for prefix, fam in FAMILY_PREFIXES if name.startswith(prefix)), None)


# Labels as the papers write them, from the torchvision name's parts: (pattern, format).
_LABELS: tuple[tuple[str, Callable[[re.Match], str]], ...] = (
    (r"vgg(\d+)(_bn)?$", lambda m: f"VGG-{m[1]}" + (" (BN)" if m[2] else "")),
    (r"resnet(\d+)$", lambda m: f"ResNet-{m[1]}"),
    (r"resnext(\d+)_(\w+)$", lambda m: f"ResNeXt-{m[1]} {m[2]}"),
    (r"wide_resnet(\d+)_(\d+)$", lambda m: f"Wide ResNet-{m[1]}-{m[2]}"),
    (r"densenet(\d+)$", lambda m: f"DenseNet-{m[1]}"),
    (r"squeezenet(\d)_(\d)$", lambda m: f"SqueezeNet {m[1]}.{m[2]}"),
    (r"shufflenet_v2_x(\d)_(\d)$", lambda m: f"ShuffleNet V2 x{m[1]}.{m[2]}"),
    (r"mobilenet_v2$", lambda m: "MobileNetV2"),
    (r"mobilenet_v3_(\w+)$", lambda m: f"MobileNetV3-{m[1].capitalize()}"),
    (r"mnasnet(\d)_(\d+)$", lambda m: f"MnasNet {m[1]}.{m[2]}"),
    (r"efficientnet_v2_(\w)$", lambda m: f"EfficientNetV2-{m[1].upper()}"),
    (r"efficientnet_(b\d)$", lambda m: f"EfficientNet-{m[1].upper()}"),
    (r"regnet_([xy])_(\w+)$", lambda m: f"RegNet{m[1].upper()}-{m[2].replace('_', '.').upper()}"),
    (r"vit_(\w)_(\d+)$", lambda m: f"ViT-{m[1].upper()}/{m[2]}"),
    (r"swin_v2_(\w)$", lambda m: f"SwinV2-{m[1].upper()}"),
    (r"swin_(\w)$", lambda m: f"Swin-{m[1].upper()}"),
    (r"convnext_(\w+)$", lambda m: f"ConvNeXt-{m[1].capitalize()}"),
    (r"maxvit_(\w)$", lambda m: f"MaxViT-{m[1].upper()}"),
    (r"inception_v3$", lambda m: "Inception v3"),
)


def model_label(name: str) -> str:
    """How people write a catalogue model's name (ResNeXt-50 32x4d, ViT-B/16); the name itself
    where no rule applies."""
    h = HISTORY.get(name) or PAPER_HISTORY.get(name)
    if h:
        return h.label
    for pattern, fmt in _LABELS:
        m = re.match(pattern, name)
        if m:
            return fmt(m)
    return name


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
SNAPSHOT_FORMAT = 2  # bump when the snapshot's contents change (2: V1 weights' figures beside the best)
SNAPSHOT_FILE = "catalog-snapshot.json"
KEYED_ON = ("torch", "torchvision")


@dataclass(frozen=True)
class Snapshot:
    """Every torchvision classification model name and its published figures, for one set of
    library versions: `published` from the best weights (torchvision's DEFAULT), `v1` from the
    IMAGENET1K_V1 weights where a model has other weights as its DEFAULT."""

    versions: dict[str, str]
    names: tuple[str, ...]
    published: dict[str, dict[str, Any]] = field(default_factory=dict)
    v1: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"format": SNAPSHOT_FORMAT, "versions": self.versions,
                           "names": list(self.names), "published": self.published, "v1": self.v1})

    @classmethod
    def from_json(cls, text: str, versions: dict[str, str]) -> "Snapshot | None":
        """The snapshot in `text` if it is sound and was taken with `versions`, else None."""
        try:
            data = json.loads(text)
        except (ValueError, RecursionError):
            return None
        try:
            return cls.from_data(data, versions)
        except CacheProblem:
            return None

    @classmethod
    def from_data(cls, data: Any, versions: dict[str, str]) -> "Snapshot | None":
        """The snapshot in parsed `data`; None when it was taken with other versions (or in another
        format): a new one is due, no fault. Raises CacheProblem for contents that are not what
        archviz writes: names off the catalogue's pattern (a factory spec such as 'evil.py:build'
        is never a name), figures that are not finite numbers in range."""
        if not isinstance(data, dict):
            raise CacheProblem("not a JSON object")
        if data.get("format") != SNAPSHOT_FORMAT or data.get("versions") != versions:
            return None
        names, pub, v1 = data.get("names"), data.get("published"), data.get("v1")
        if not (isinstance(names, list) and names and len(names) <= 10_000):
            raise CacheProblem("no list of names")
        bad = next((n for n in names if not is_name(n)), None)
        if bad is not None:
            raise CacheProblem(f"{str(bad)[:60]!r} is not a catalogue name")
        for table in (pub, v1):
            problem = _figure_table_problem(table, set(names))
            if problem:
                raise CacheProblem(problem)
        return cls(versions, tuple(names), pub, v1)


# The published figures a snapshot keeps, each checked when read: (kind, low, high).
FIGURE_CHECKS = {"num_params": ("int", 0, 1e13), "gflops": ("num", 0, 1e6), "acc@1": ("num", 0, 100),
                 "acc@5": ("num", 0, 100), "crop_size": ("int", 1, 100_000), "weights": ("str", 0, 200)}


def _figure_table_problem(table: Any, names: set[str]) -> str | None:
    """Why a table of published figures is not what archviz writes (None when it is)."""
    if not isinstance(table, dict):
        return "no table of published figures"
    for name, figures in table.items():
        if name not in names or not isinstance(figures, dict):
            return f"figures for {str(name)[:60]!r}, which is not a listed name"
        for key, value in figures.items():
            kind, low, high = FIGURE_CHECKS.get(key, ("any", 0, 0))
            if value is None or kind == "any":
                continue
            ok = (isinstance(value, str) and len(value) <= high) if kind == "str" else \
                is_number(value, low, high, whole=kind == "int")
            if not ok:
                return f"{str(name)[:60]}: {key} = {repr(value)[:40]} is out of range"
        size = figures.get("min_size")
        if size is not None and not (isinstance(size, list) and len(size) == 2
                                     and all(is_number(v, 1, 100_000, whole=True) for v in size)):
            return f"{str(name)[:60]}: min_size is not two sizes"
    return None


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
    best = {name: _published_live(name, "best") for name in names}
    v1 = {name: _published_live(name, "v1") for name in names}
    return Snapshot(versions, names, {n: f for n, f in best.items() if f is not None},
                    {n: f for n, f in v1.items() if f is not None and f != best[n]})


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
    """The kept snapshot, checked (files.read_checked); a file that fails is made again, with
    one warning. None also when there is none yet or it was taken with other versions."""
    return read_checked(path, lambda data: Snapshot.from_data(data, versions), None)


def _keep(snap: Snapshot, path: Path | None) -> None:
    write_quietly(path, snap.to_json())


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


# Which torchvision weights a published figure comes from: "best" is torchvision's DEFAULT (its
# recommended weights: ResNet-50's IMAGENET1K_V2, trained with the 2021 recipe); "v1" the original
# IMAGENET1K_V1 release where a model has one, else DEFAULT (ViT-H/14, RegNetY-128GF: SWAG only).
WEIGHT_CHOICES = ("best", "v1")
# The one accuracy rule: every view's top-1 (History, list, Compare, reports, the Atlas) comes from
# the original recipe (V1) unless the reader switches (`archviz list --weights best`), so models are
# compared as their papers trained them, not by a later training recipe (ResNet-50's 2021 V2 weights
# would put it 4 points above DenseNet-201). Each view names the weights it shows.
ACCURACY_WEIGHTS = "v1"


def accuracy(name: str, weights: str | None = None) -> dict[str, Any] | None:
    """The published figures whose top-1/top-5 a view shows: ACCURACY_WEIGHTS unless asked."""
    return published(name, weights or ACCURACY_WEIGHTS)


def _check_choice(weights: str) -> str:
    choice = weights.strip().lower()
    if choice not in WEIGHT_CHOICES:
        raise ArchvizError(f"unknown weights choice {weights!r}: expected one of "
                           f"{', '.join(WEIGHT_CHOICES)}", 2)
    return choice


def published(name: str, weights: str = "best") -> dict[str, Any] | None:
    """torchvision's published figures for a model from the chosen weights ("best" or "v1"; see
    WEIGHT_CHOICES), with `weights` naming them (from the snapshot: no torch import when warm)."""
    choice = _check_choice(weights)
    snap = snapshot()
    figures = (snap.v1.get(name) if choice == "v1" else None) or snap.published.get(name)
    return dict(figures) if figures is not None else None


def weights_tag(figures: dict[str, Any] | None) -> str | None:
    """The weights' short name ('IMAGENET1K_V2') from published figures' 'ResNet50_Weights.IMAGENET1K_V2'."""
    full = (figures or {}).get("weights")
    return str(full).rpartition(".")[2] if full else None


def top1_text(figures: dict[str, Any] | None) -> str:
    """Published top-1 with the weights it comes from, '80.858 (IMAGENET1K_V2)'; '-' without one."""
    acc = (figures or {}).get("acc@1")
    if acc is None:
        return "-"
    tag = weights_tag(figures)
    return f"{acc} ({tag})" if tag else str(acc)


def _published_live(name: str, choice: str = "best") -> dict[str, Any] | None:
    """Published figures from the chosen weights' meta (imports torchvision, no download)."""
    from torchvision.models import get_model_weights

    try:
        enum = get_model_weights(name)
    except (ValueError, KeyError):
        return None
    weights = enum.DEFAULT
    if choice == "v1" and "IMAGENET1K_V1" in enum.__members__:
        weights = enum.IMAGENET1K_V1
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
    """What the catalogue knows about a model, kept in its Profile: history (the lecture set),
    published figures (best weights, named), quirks, family (every catalogue model: charts colour
    by it) and, for timm, timm's config."""
    if spec.kind == "timm":
        return {"history": None, "published": None, "quirk": None, "timm": timm_info(spec.name),
                "family": timm_family(spec.name)}
    if spec.kind not in ("torchvision", "paper"):
        return None
    return {"history": history_info(spec.name),
            "published": published(spec.name) if spec.kind == "torchvision" else None,
            "quirk": QUIRKS.get(spec.name), "family": family_of(spec.name)}


def catalogue_names() -> list[str]:
    """Every name the catalogue builds: torchvision's, then the networks archviz defines."""
    return [*torchvision_models(), *PAPER_HISTORY]


# Muted hues for families outside the typed ones (timm's modules): set apart from the typed
# families' saturated colours, picked by a stable hash so a family keeps its colour across runs.
OTHER_COLOURS = ("#8c7b6b", "#6b8c7b", "#7b6b8c", "#8c6b7b", "#7b8c6b", "#6b7b8c",
                 "#a08a5a", "#5a8aa0", "#a05a8a", "#5aa08a")
UNKNOWN_COLOUR = "#7f7f7f"


def family_colour(family: str | None) -> str:
    """The family's colour: typed families their own, others a muted hue, no family grey."""
    fam = FAMILIES.get(family or "")
    if fam:
        return fam.colour
    if not family:
        return UNKNOWN_COLOUR
    return OTHER_COLOURS[zlib.crc32(family.encode()) % len(OTHER_COLOURS)]


# -- the Atlas: one record per model spec ----------------------------------------------------------
_NEW_ARXIV = re.compile(r"(?:arxiv:)?(\d{2})(\d{2})\.(\d{4,5})(?:v\d+)?", re.IGNORECASE)


def arxiv_year(arxiv: str | None) -> int | None:
    """The year of a new-style arXiv id, from its YYMM ('1512.03385' -> 2015, '2010.11929' ->
    2020). Old-style ids ('cs/0601001'), malformed ones and None give None: unplaced in time.
    New-style ids began in April 2007 (0704.0001) with 4-digit numbers, 5 digits from 1501 on."""
    m = _NEW_ARXIV.fullmatch((arxiv or "").strip())
    if not m:
        return None
    yy, mm, digits = int(m[1]), int(m[2]), len(m[3])
    if not 1 <= mm <= 12 or (yy, mm) < (7, 4) or digits != (5 if (yy, mm) >= (15, 1) else 4):
        return None
    return 2000 + yy


def _meta(name: str, label: str, source: str, family: str | None = None, **known: Any) -> dict[str, Any]:
    """An Atlas record: a typed family's paper, year, key idea and colour, then what `known` says."""
    fam = FAMILIES.get(family or "")
    out = {"name": name, "label": label, "family": family, "year": fam.year if fam else None,
           "arxiv": fam.paper.arxiv if fam else None, "paper": fam.paper.title if fam else None,
           "key_idea": fam.key_idea if fam else None, "acc1": None, "acc5": None, "weights": None,
           "colour": family_colour(family), "history": name in HISTORY, "source": source,
           "year_source": (f"family paper (arXiv {fam.paper.arxiv})" if fam.paper.arxiv else "family paper")
           if fam else None}
    out.update(known)
    return out


def atlas_meta(spec: str, weights: str = ACCURACY_WEIGHTS) -> dict[str, Any]:
    """Everything the Atlas needs to place a model, for any model spec (a store key): name, label,
    family, year (None: unplaced in time), arXiv id, paper title, key idea, published top-1/top-5
    (None where nobody publishes one) and the weights they come from, family colour, whether it is
    in the 2012-2016 lecture set, and the source. Torchvision and paper models read only typed
    facts and the snapshot: no torch import when it is warm; timm specs read a table kept beside it
    (timm_atlas_meta), importing timm only on a miss."""
    spec = spec.strip()
    if is_timm_spec(spec):
        return timm_atlas_meta(spec[len(TIMM_PREFIX):].strip().lower())
    if ":" in spec:  # a user's factory: nothing is known about it
        return _meta(spec, spec.rpartition(":")[2] or spec, "module")
    name = spec.lower()
    if name in PAPER_HISTORY:  # archviz's own definitions: no published weights
        return _meta(name, model_label(name), "paper", family_of(name))
    if name not in torchvision_models():
        return _meta(name, name, "module")
    pub = published(name, weights) or {}
    return _meta(name, model_label(name), "torchvision", family_of(name),
                 acc1=pub.get("acc@1"), acc5=pub.get("acc@5"), weights=pub.get("weights"))


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


def _paper_of(cfg: dict[str, Any]) -> dict[str, Any] | None:
    """A timm config's paper: title, ids as given, and the first arXiv id (None without one)."""
    ids = cfg.get("paper_ids") or ""
    ids = ids if isinstance(ids, str) else ",".join(map(str, ids))
    arxiv = next((i.strip()[len("arxiv:"):] for i in ids.split(",")
                  if i.strip().lower().startswith("arxiv:")), None)
    return ({"title": cfg.get("paper_name"), "ids": ids or None, "arxiv": arxiv}
            if ids or cfg.get("paper_name") else None)


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
    try:
        version = metadata.version("timm")
    except metadata.PackageNotFoundError:
        version = "none"
    return {"name": name, "tag": cfg.get("tag"), "paper": _paper_of(paper_cfg),
            "input_size": list(cfg["input_size"]) if cfg.get("input_size") else None,
            "license": cfg.get("license"), "version": version}


# timm spellings of the typed families' names, tried before the torchvision prefixes on a timm
# architecture name; other timm models take timm's module as their family ('xcit (timm)').
TIMM_FAMILY_PREFIXES: tuple[tuple[str, str], ...] = (
    ("tf_efficientnetv2", "EfficientNetV2"), ("efficientnetv2", "EfficientNetV2"),
    ("tf_efficientnet_", "EfficientNet"), ("mobilenetv2", "MobileNetV2"),
    ("tf_mobilenetv3", "MobileNetV3"), ("mobilenetv3", "MobileNetV3"), ("swinv2", "Swin V2"),
)


def timm_family(name: str) -> str:
    """A timm model's family from its architecture name: a catalogue family where the name is
    one of its spellings (resnet50, vit_base_patch16_224, swinv2_tiny_window8_256), else the timm
    module that defines it, e.g. 'xcit (timm)'."""
    timm = _timm()
    arch = timm.models.get_arch_name(name)
    for prefix, fam in TIMM_FAMILY_PREFIXES + FAMILY_PREFIXES:
        if arch.startswith(prefix):
            return fam
    module = timm.models.model_entrypoint(arch).__module__.rpartition(".")[2]
    return f"{module} (timm)"


@lru_cache(maxsize=None)
def _timm_meta(name: str) -> dict[str, Any]:
    """The Atlas record of a timm model. Paper and year come from the pretrained config of the
    weights the spec names (its tag, else timm's default tag) and its arXiv id; where that config
    names none, the typed family's paper places it (year_source says which), else year None (timm_info's fallback to another tag's paper is not used: that paper is
    about other weights, e.g. a dataset). timm's configs carry no accuracy and its results tables
    are not part of the package, so acc1/acc5 are None."""
    if not _timm().is_model(name):
        return _meta(TIMM_PREFIX + name, name, "timm")
    cfg = _timm_cfg(name)
    paper = _paper_of(cfg) or {}
    arxiv = re.sub(r"v\d+$", "", paper["arxiv"]) if paper.get("arxiv") else None
    family = timm_family(name)
    fam = FAMILIES.get(family)
    weights = f"{cfg['architecture']}.{cfg['tag']}" if cfg.get("tag") else None
    if arxiv is None and fam is not None:  # no paper in the config: the family's own paper places it
        return _meta(TIMM_PREFIX + name, name, "timm", family, weights=weights)
    typed = next((f.paper.title for f in FAMILIES.values() if arxiv and f.paper.arxiv == arxiv), None)
    return _meta(TIMM_PREFIX + name, name, "timm", family, year=arxiv_year(arxiv), arxiv=arxiv,
                 paper=paper.get("title") or typed, key_idea=fam.key_idea if fam else None,
                 weights=weights, colour=family_colour(family),
                 year_source=f"timm config (arXiv {arxiv})" if arxiv_year(arxiv) else None)



# The timm records, kept beside the snapshot per timm version: the Atlas of a store full of timm
# models then never imports timm (and torch) for its metadata. A miss fills the table for every
# timm architecture at once (a fraction of a second once timm is imported) and writes it once.
TIMM_ATLAS_FILE = "timm-atlas.json"
TIMM_ATLAS_FORMAT = 2


def timm_atlas_meta(name: str) -> dict[str, Any]:
    """atlas_meta for `timm:NAME`, from the kept table; without timm installed, an unplaced record."""
    path = snapshot_path()
    table = _timm_table(path.with_name(TIMM_ATLAS_FILE) if path else None)
    if name not in table:
        try:
            fresh = {} if table else {n: _timm_meta(n) for n in _timm().list_models()}
            fresh[name] = _timm_meta(name)
        except ArchvizError:  # timm is not installed: nothing to read the record from
            return _meta(TIMM_PREFIX + name, name, "timm")
        table.update(fresh)
        write_quietly(path.with_name(TIMM_ATLAS_FILE) if path else None,
                       json.dumps({"format": TIMM_ATLAS_FORMAT, "versions": _timm_versions(),
                                   "metas": table}))
    return dict(table[name])


def _timm_versions() -> dict[str, str]:
    return installed_versions(("timm",))


@lru_cache(maxsize=4)
def _timm_table(path: Path | None) -> dict[str, dict[str, Any]]:
    """This process's timm records for one home: the kept table when it is sound and was made with
    the installed timm, else empty (to be filled; a file that is not sound, with one warning)."""
    def take(data: Any) -> dict[str, dict[str, Any]]:
        if not isinstance(data, dict):
            raise CacheProblem("not a JSON object")
        if data.get("format") != TIMM_ATLAS_FORMAT or data.get("versions") != _timm_versions():
            return {}
        problem = _timm_table_problem(data.get("metas"))
        if problem:
            raise CacheProblem(problem)
        return dict(data["metas"])

    return read_checked(path, take, {})


TIMM_NAME = re.compile(r"[a-z0-9_]{1,120}(\.[a-z0-9_]{1,80})?")  # an architecture, maybe with a weights tag


def _timm_table_problem(metas: Any) -> str | None:
    """Why a kept timm table is not what archviz writes: names off timm's pattern, years, params or
    text fields of the wrong type."""
    if not isinstance(metas, dict):
        return "no table of timm records"
    for name, meta in metas.items():
        if not (isinstance(name, str) and TIMM_NAME.fullmatch(name)) or not isinstance(meta, dict):
            return f"{str(name)[:60]!r} is not a timm model name"
        year = meta.get("year")
        if year is not None and not is_number(year, 1950, 2200, whole=True):
            return f"{name}: year {repr(year)[:20]} is out of range"
        for key, value in meta.items():
            if isinstance(value, str) and len(value) > 2000:
                return f"{name}: {key} is too long"
            if isinstance(value, float) and not math.isfinite(value):
                return f"{name}: {key} is not a finite number"
    return None


__all__ = ["FAMILIES", "HISTORY", "PAPER_HISTORY", "catalogue_names", "ILSVRC_WINNERS", "ModelSpec", "Snapshot", "resolve", "published",
           "history_info", "catalog_info", "torchvision_models", "snapshot", "load_snapshot",
           "atlas_meta", "arxiv_year", "family_of", "model_label", "timm_family", "weights_tag", "top1_text",
           "timm_atlas_meta",
           "WEIGHT_CHOICES"]
