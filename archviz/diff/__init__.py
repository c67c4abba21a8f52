"""Two networks compared layer by layer: what was added, removed or changed, and what each change
cost. Reads two Profiles (the store's, or fresh); never traces itself, never formats (render/diff.py).

How layers are matched: the leaf layers that shape each model (weights or a window; activations
and dropout are left out), in dataflow order, are grouped into units (a dense layer, a bottleneck,
a lone layer), and the two sequences of units are aligned (difflib's longest matching blocks) on
structure and name: each layer's parent class, its own attribute name (not a bare index), type,
kernel, stride, padding and channels (`align`). An inserted block then shows as inserted, not as
every later layer shifted.

Blocks: a layer belongs to its recognised top-level block, with the repeats of one stage taken
together (ResNet's layer2.0 ... layer2.3 are `layer2`); a long container without blocks is cut into
stages at its pooling layers (VGG's `features stage 3`); leaves before the first block are the
`stem`, after the last one the `head`."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # annotations only
    from ..record import Profile

COUNTS = ("params", "macs", "activations")


@dataclass
class Layer:
    """One leaf layer of one model, with what matching and reporting need."""

    name: str
    type: str
    block: str
    kernel: list[int] | None
    stride: list[int] | None
    padding: list[int] | None
    channels_in: int | None
    channels_out: int | None
    params: int
    macs: float
    activations: float
    receptive_field: Any
    depth: int | None
    role: tuple[str, str] = ("", "")  # its parent's type and its own name (a digit-only name: "")
    output: list[int] | None = None   # its output's spatial size (what an adaptive pool makes)

    def signature(self) -> tuple:
        """What a layer is, wherever it sits: type and geometry, and for convolutions and linear
        layers the channels they read and make (a norm's or pool's are only its input's)."""
        geometry = tuple(tuple(v) if isinstance(v, list) else v for v in (self.kernel, self.stride, self.padding))
        weighted = "Conv" in self.type or "Linear" in self.type
        channels = (self.channels_in, self.channels_out) if weighted else (None, None)
        if "Adaptive" in self.type:
            channels = (None, tuple(self.output or ()))  # an adaptive pool is what it pools to
        return (*self.role, self.type, *geometry, *channels)


@dataclass
class Change:
    kind: str                      # "added", "removed" or "changed"
    a: Layer | None
    b: Layer | None
    what: list[str] = field(default_factory=list)  # for "changed": the fields that differ

    @property
    def block(self) -> str:
        return (self.b or self.a).block  # type: ignore[union-attr]

    def delta(self, key: str) -> float:
        return (getattr(self.b, key) if self.b else 0) - (getattr(self.a, key) if self.a else 0)


@dataclass
class BlockDelta:
    """One block's figures in A and in B (a block only one model has: zeros on the other side)."""

    block: str
    a: dict[str, Any]
    b: dict[str, Any]
    added: int = 0
    removed: int = 0
    changed: int = 0

    def delta(self, key: str) -> float:
        return (self.b.get(key) or 0) - (self.a.get(key) or 0)


@dataclass
class Diff:
    a: str
    b: str
    input_a: list[int]
    input_b: list[int]
    changes: list[Change]
    blocks: list[BlockDelta]
    totals: dict[str, tuple[Any, Any]]  # key -> (A's, B's): params, macs, activations, rf, depth
    matched: int = 0                    # layers aligned unchanged

    @property
    def same(self) -> bool:
        return not self.changes and all(a == b for a, b in self.totals.values())

    def count(self, kind: str) -> int:
        return sum(1 for c in self.changes if c.kind == kind)


# ---- layers and their blocks -------------------------------------------------------------------
def _order(profile: Profile) -> dict[str, int]:
    """Each module's first operator in the traced graph: dataflow order."""
    order: dict[str, int] = {}
    for n in profile.graph:
        scope = n.get("scope") or ""
        order.setdefault(scope, n["i"])
    return order


def _geometry(profile: Profile) -> dict[str, dict[str, Any]]:
    """Each module's first windowed operator's kernel, stride and padding."""
    out: dict[str, dict[str, Any]] = {}
    for n in profile.graph:
        attrs = n.get("attrs") or {}
        if attrs.get("kernel") and (n.get("scope") or "") not in out:
            out[n.get("scope") or ""] = attrs
    return out


def _channels(shape: Any, type_: str) -> int | None:
    if not isinstance(shape, list) or len(shape) < 2:
        return None
    return shape[-1] if "Linear" in type_ else shape[1]


def _stage_of(block: str | None) -> str | None:
    """A repeated block's stage: 'layer2.3' -> 'layer2' (a numbered child of a container)."""
    if not block:
        return None
    head, _, last = block.rpartition(".")
    return head if head and last.isdigit() else block


def leaves(profile: Profile) -> list[Layer]:
    """The profile's leaf layers that ran, in dataflow order, each with its block (module docstring)."""
    order, geometry = _order(profile), _geometry(profile)
    rows = sorted((r for r in profile.layers if r["leaf"] and r["name"] in order), key=lambda r: order[r["name"]])
    types = {r["name"]: r["type"] for r in profile.layers}
    graph_in = {n.get("scope") or "": n for n in profile.graph}
    by_index = {n["i"]: n for n in profile.graph}
    blocks = [_stage_of(r.get("block")) for r in rows]
    marked = [i for i, b in enumerate(blocks) if b]
    first, last = (marked[0], marked[-1]) if marked else (None, None)
    pools: dict[str | None, int] = {}
    out = []
    for i, (r, b) in enumerate(zip(rows, blocks)):
        parent = r.get("parent")
        if b is None:
            if first is not None and i < first:
                b = "stem"
            elif last is not None and i > last:
                b = "head"
            elif parent and parent != "(model)":
                b = f"{parent} stage {pools.get(parent, 0) + 1}" if _has_pools(profile, parent) else parent
            else:
                b = "head" if marked or i else "stem"
        if "Pool" in r["type"] and parent:
            pools[parent] = pools.get(parent, 0) + 1
        g = geometry.get(r["name"], {})
        node = graph_in.get(r["name"])
        src = by_index.get((node or {}).get("in", [None])[0]) if node else None
        shape_in = (src or {}).get("shape") if src else (profile.input_shape if node and node["in"][:1] == [-1] else None)
        out.append(Layer(r["name"], r["type"], b, g.get("kernel"), g.get("stride"), g.get("padding"),
                         _channels(shape_in, r["type"]), _channels(r.get("output_shape"), r["type"]),
                         r.get("own_params") or 0, r.get("macs") or 0, r.get("activations") or 0,
                         r.get("receptive_field"), r.get("depth"), _role(r, types),
                         list(r["output_shape"][2:]) if isinstance(r.get("output_shape"), list) else None))
    return out


def _role(row: dict[str, Any], types: dict[str, str]) -> tuple[str, str]:
    """Where a layer sits, by structure and name: its parent's class (a dense layer's norm is not a
    transition's) and its own attribute name, unless that is a bare index (VGG's features.16 is
    features.14 moved on by an inserted conv)."""
    parent = row.get("parent") or ""
    own = row["name"][len(parent) + 1:] if parent and row["name"].startswith(parent + ".") else row["name"]
    return types.get(parent, ""), ("" if own.isdigit() else own)


def _has_pools(profile: Profile, parent: str) -> bool:
    return any(r.get("parent") == parent and "Pool" in r["type"] for r in profile.layers)


# ---- alignment ---------------------------------------------------------------------------------
DESCRIBED = ("type", "kernel", "stride", "padding", "channels_in", "channels_out", "params")


def _weighted(layer: Layer) -> bool:
    return "Conv" in layer.type or "Linear" in layer.type


def _differences(a: Layer, b: Layer) -> list[str]:
    """What differs between two paired layers: channels only where a layer chooses them (a conv or
    linear layer; a norm's or pool's channels are its input's), and for an adaptive pool its
    output size."""
    keys = DESCRIBED if _weighted(a) or _weighted(b) else tuple(k for k in DESCRIBED if not k.startswith("channels"))
    out = [k for k in keys if getattr(a, k) != getattr(b, k)]
    if "Adaptive" in a.type and a.output != b.output:
        out.append("output size")
    return out


def shaping(layer: Layer) -> bool:
    """A layer that shapes the network: it has weights, a window or pools (conv, linear, norm, pool,
    adaptive pool). An activation or dropout shapes nothing a diff should list (torchvision's
    ResNet calls one ReLU three times where timm has act1, act2, act3)."""
    return bool(layer.params) or layer.kernel is not None or "Pool" in layer.type


def _unit(layer: Layer, block_modules: set[str]) -> str:
    """The unit a layer is aligned with: the module one level below its block's module (a dense
    layer, a bottleneck), or the layer alone (VGG's convolutions, the stem)."""
    for prefix in block_modules:
        if layer.name.startswith(prefix + "."):
            return prefix + "." + layer.name[len(prefix) + 1:].split(".")[0]
    return layer.name


def _units(layers: list[Layer]) -> list[list[Layer]]:
    modules = {x.block for x in layers}
    out: dict[str, list[Layer]] = {}
    for x in layers:
        out.setdefault(_unit(x, modules), []).append(x)
    return list(out.values())


def _shape(x: Layer) -> tuple:
    """A layer without its channels: where it sits and what it is (its signature less channels)."""
    return x.signature()[:-2]


def _pair(a: list[Layer], b: list[Layer], key) -> tuple[list[Change], int]:
    """Align two runs of layers on `key`: equal keys are the same layer (changed where a figure
    differs), the rest added or removed."""
    changes, matched = [], 0
    sm = difflib.SequenceMatcher(a=[key(x) for x in a], b=[key(y) for y in b], autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            for x, y in zip(a[i1:i2], b[j1:j2]):
                what = _differences(x, y)
                if what:
                    changes.append(Change("changed", x, y, what))
                else:
                    matched += 1
        else:
            changes += [Change("removed", x, None) for x in a[i1:i2]] + [Change("added", None, y) for y in b[j1:j2]]
    return changes, matched


def align(a: list[Layer], b: list[Layer]) -> tuple[list[Change], int]:
    """Changes between two layer sequences (the shaping layers), and how many matched unchanged.

    Units (a dense layer, a bottleneck, a lone layer) are aligned first on everything, channels
    included, and on each unit's own name where it is not a bare index (VGG-19's extra 512-channel
    conv is the inserted one, not its 256->512 neighbour; denselayer5 meets denselayer5);
    what does not match is aligned again on block and layer shapes, channels left out, so
    DenseNet-169's 32 dense layers in block 4 meet DenseNet-121's 16 as 16 kept (changed: they read
    more channels) and 16 added, never as layers shifted between blocks; inside units that still
    differ, layers are paired by type."""
    ua, ub = _units([x for x in a if shaping(x)]), _units([y for y in b if shaping(y)])
    return _align_units(ua, ub, [lambda u: (u[0].block, _unit_name(u), tuple(x.signature() for x in u)),
                                 lambda u: (u[0].block, _unit_name(u), tuple(_shape(x) for x in u))])


def _unit_name(unit: list[Layer]) -> str:
    """A unit's own name, unless a bare index: DenseNet's denselayer5 meets denselayer5 (not the
    identical denselayer1 of a wider block); VGG's features.16 and ResNet's layer2.0 carry none."""
    x = unit[0]
    blocks = {x.block}
    tail = _unit(x, blocks).rpartition(".")[2] if _unit(x, blocks) != x.name else x.name.rpartition(".")[2]
    return "" if tail.isdigit() else tail


def _align_units(ua: list[list[Layer]], ub: list[list[Layer]], keys: list) -> tuple[list[Change], int]:
    if not keys:  # no unit-level match left: pair the layers by type
        return _pair([x for u in ua for x in u], [y for u in ub for y in u], lambda layer: layer.type)
    changes: list[Change] = []
    matched = 0
    key = keys[0]
    sm = difflib.SequenceMatcher(a=[key(u) for u in ua], b=[key(u) for u in ub], autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            found, same = _pair([x for u in ua[i1:i2] for x in u], [y for u in ub[j1:j2] for y in u], _shape)
        elif tag == "replace":
            found, same = _align_units(ua[i1:i2], ub[j1:j2], keys[1:])
        else:
            found = ([Change("removed", x, None) for u in ua[i1:i2] for x in u]
                     + [Change("added", None, y) for u in ub[j1:j2] for y in u])
            same = 0
        changes += found
        matched += same
    return changes, matched


def _blocks(a: list[Layer], b: list[Layer], changes: list[Change]) -> list[BlockDelta]:
    """Per block, A's and B's summed counts and last field and depth, in B's order then A's."""
    names = list(dict.fromkeys([x.block for x in b] + [x.block for x in a]))

    def figures(layers: list[Layer], name: str) -> dict[str, Any]:
        mine = [x for x in layers if x.block == name]
        if not mine:
            return {}
        return {**{k: sum(getattr(x, k) for x in mine) for k in COUNTS},
                "receptive_field": mine[-1].receptive_field, "depth": mine[-1].depth, "layers": len(mine)}

    out = []
    for name in names:
        d = BlockDelta(name, figures(a, name), figures(b, name))
        for c in changes:
            if c.block == name:
                setattr(d, c.kind, getattr(d, c.kind) + 1)
        out.append(d)
    return out


def diff(pa: Profile, pb: Profile) -> Diff:
    """What changed from `pa` to `pb` (module docstring)."""
    a, b = leaves(pa), leaves(pb)
    changes, matched = align(a, b)
    totals = {k: (pa.totals.get(k), pb.totals.get(k)) for k in (*COUNTS, "flops", "receptive_field", "depth")}
    return Diff(pa.model, pb.model, pa.input_shape, pb.input_shape, changes, _blocks(a, b, changes), totals, matched)


__all__ = ["Diff", "Change", "BlockDelta", "Layer", "diff", "leaves", "align"]
