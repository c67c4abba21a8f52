"""Graph analysis on the traced dataflow graph (not module call order): receptive field, effective
stride and offset, depth on the longest weighted path, and block recognition.

Receptive-field arithmetic per spatial dimension, for a window of kernel k, stride s, padding p,
dilation d (k_eff = d*(k-1)+1), with r = field size, j = jump (effective stride), c = centre of the
first output position's field in input pixels:
    r' = r + (k_eff - 1) * j      j' = j * s      c' = c + ((k_eff - 1)/2 - p) * j
Where paths merge, the union of the branches' intervals [c - (r-1)/2, c + (r-1)/2] is taken.
Resampling up (transposed convolution, nearest upsampling by an integer factor) has a fractional
stride, j' = j / s, and its field is the envelope of what any output position sees (`_transposed`).
A gate (x * f(global pool of x)) is off the main path for the field and for the depth alike."""

from __future__ import annotations

from dataclasses import dataclass
from math import ceil, prod
from typing import Any

from .handlers import MERGE_OPS, PAD_OPS, UNPACK_OPS
from .trace import ModuleInfo, Op, Trace

SPATIAL, GLOBAL, UNKNOWN = "spatial", "global", "unknown"

GLOBAL_MIXING_OPS = {"aten::matmul", "aten::bmm", "aten::einsum", "aten::scaled_dot_product_attention",
                     "aten::_native_multi_head_attention", "aten::baddbmm"}
ADAPTIVE_POOLS = {f"aten::adaptive_{p}_pool{d}d" for p in ("avg", "max") for d in (1, 2, 3)}
REDUCTIONS = {"aten::mean", "aten::sum", "aten::amax"}
LINEAR_OPS = {"aten::linear", "aten::addmm"}
NEAREST_OPS = {f"aten::{name}{d}d" for name in ("upsample_nearest", "_upsample_nearest_exact")
               for d in (1, 2, 3)}
# Layouts of a model input: which of its dimensions are spatial (N, C first; NLC: none followed).
LAYOUT_FIELD_DIMS = {"NCL": (2,), "NCHW": (2, 3), "NCDHW": (2, 3, 4), "NC": (), "NLC": ()}

# Known building-block classes: blocks even where an instance has no merge of its own (DenseNet's
# transition; the first MBConv of a stage, whose stride or width change drops the residual add).
BLOCK_KIND_BY_CLASS = {
    "BasicBlock": "residual", "Bottleneck": "residual", "_DenseBlock": "dense block",
    "_DenseLayer": "dense layer", "_Transition": "transition", "InvertedResidual": "inverted residual",
    "MBConv": "inverted residual", "FusedMBConv": "inverted residual",
    "SqueezeExcitation": "squeeze-excitation", "Fire": "fire (concat)", "CNBlock": "residual",
    "ResBottleneckBlock": "residual", "_InvertedResidual": "inverted residual",
}


@dataclass
class Field:
    """Receptive field of one tensor; sizes/jumps/centres are per spatial dimension (H, W, ...)."""

    kind: str
    size: tuple[float, ...] = ()
    jump: tuple[float, ...] = ()
    centre: tuple[float, ...] = ()
    dims: tuple[int, ...] = ()         # which tensor dimensions are spatial
    tokens: bool = False               # a spatial grid flattened into one token dimension (dims[0]):
    # size, jump and centre still describe the grid (a ViT patch: 16 x 16 at stride 16); each token
    # keeps the field of its own position until an operator mixes tokens (attention)

    def window(self, kernel, stride, padding, dilation) -> "Field":
        n = len(self.size)
        if len(kernel) != n:
            return Field(UNKNOWN)
        size, jump, centre = [], [], []
        for i in range(n):
            keff = dilation[i] * (kernel[i] - 1) + 1
            size.append(self.size[i] + (keff - 1) * self.jump[i])
            centre.append(self.centre[i] + ((keff - 1) / 2 - padding[i]) * self.jump[i])
            jump.append(self.jump[i] * stride[i])
        return Field(SPATIAL, tuple(size), tuple(jump), tuple(centre), self.dims)

    def with_dims(self, dims: tuple[int, ...]) -> "Field":
        return Field(self.kind, self.size, self.jump, self.centre, dims, self.tokens)

    def as_tokens(self, dim: int) -> "Field":
        """The grid flattened into tensor dimension `dim`: one token per position, each its field."""
        return Field(self.kind, self.size, self.jump, self.centre, (dim,), True)


def union(fields: list[Field]) -> Field:
    """Merge of branches: global if any branch is, else the union of their intervals."""
    if any(f.kind == GLOBAL for f in fields):
        return Field(GLOBAL)
    if any(f.kind == UNKNOWN for f in fields) or len({len(f.size) for f in fields}) != 1:
        return Field(UNKNOWN)
    widest = max(fields, key=lambda f: prod(f.size))
    size, centre = [], []
    for i in range(len(widest.size)):
        lo = min(f.centre[i] - (f.size[i] - 1) / 2 for f in fields)
        hi = max(f.centre[i] + (f.size[i] - 1) / 2 for f in fields)
        size.append(hi - lo + 1)
        centre.append((lo + hi) / 2)
    return Field(SPATIAL, tuple(size), widest.jump, tuple(centre), widest.dims)


def _norm_dim(d: int, rank: int) -> int:
    return d + rank if d < 0 else d


def _adaptive(field: Field, in_shape: list[int], out_shape: list[int]) -> Field:
    ins = [in_shape[d] for d in field.dims]
    outs = [out_shape[d] for d in field.dims]
    if all(o == 1 for o in outs) and any(i > 1 for i in ins):
        return Field(GLOBAL)
    kernel, stride = [], []
    for i, o in zip(ins, outs):
        if o == i:
            kernel.append(1), stride.append(1)
        elif i % o == 0:
            kernel.append(i // o), stride.append(i // o)
        else:  # uneven windows: the largest window, the mean stride
            kernel.append(ceil(i / o) + 1), stride.append(i / o)
    return field.window(kernel, stride, [0] * len(ins), [1] * len(ins))


def _windowed(field: Field, attrs: dict[str, Any], in_shape: list[int] | None) -> Field:
    """A conv or pool window: its geometry lists cover the tensor's last len(kernel) dimensions;
    a field dimension outside them sees a window of 1 (local response norm pools over channels
    with avg_pool3d on an unsqueezed tensor: its field dims are the pool's last two)."""
    kernel = attrs["kernel"]
    if in_shape is None or len(kernel) == len(field.dims):
        return field.window(kernel, attrs["stride"], attrs["padding"], attrs["dilation"])
    first = len(in_shape) - len(kernel)
    geometry = {k: [] for k in ("kernel", "stride", "padding", "dilation")}
    for d in field.dims:
        i = d - first
        for k, default in (("kernel", 1), ("stride", 1), ("padding", 0), ("dilation", 1)):
            geometry[k].append(attrs[k][i] if 0 <= i < len(kernel) else default)
    return field.window(geometry["kernel"], geometry["stride"], geometry["padding"], geometry["dilation"])


def _padded(field: Field, pad: list[Any], in_shape: list[int], out_shape: list[int]) -> Field:
    """Padding (F.pad order: (left, right) pairs from the last dimension) moves positions like a
    size-1 window with that left padding: the field's centre shifts, its size stays. An amount the
    model computed at run time (timm's "same" padding reads the input size) is not a constant in the
    trace: the total is read from the shapes and split as same padding does, left = total // 2."""
    rank = len(in_shape)
    lefts = []
    for d in field.dims:
        i = 2 * (rank - 1 - d)
        left = pad[i] if i < len(pad) else 0
        lefts.append(left if isinstance(left, int) else (out_shape[d] - in_shape[d]) // 2)
    n = len(field.dims)
    return field.window([1] * n, [1] * n, lefts, [1] * n)


def _sliced(field: Field, attrs: dict[str, Any], in_shape: list[int]) -> Field:
    """x[..., start::step] on a spatial dimension keeps every step-th position from `start`: a
    size-1 window of that stride, shifted by `start`. Other dimensions (channels) keep the field."""
    d = _norm_dim(attrs["dim"], len(in_shape))
    if d not in field.dims:
        return field
    start = attrs["start"] + (in_shape[d] if attrs["start"] < 0 else 0)
    n = len(field.dims)
    stride = [attrs["step"] if dim == d else 1 for dim in field.dims]
    shift = [-min(start, in_shape[d]) if dim == d else 0 for dim in field.dims]
    return field.window([1] * n, stride, shift, [1] * n)


def _transposed(field: Field, kernel, stride, padding, dilation) -> Field:
    """A transposed convolution (kernel k, stride s, padding p, dilation d; k_eff = d*(k-1)+1):
    output o receives input i through tap t where i*s + t*d = o + p, so the inputs it sees lie in
    [(o + p - (k_eff-1)) / s, (o + p) / s]. The field is that envelope, linear in o:
        j' = j / s      r' = r + (k_eff - 1) * j'      c' = c + (p - (k_eff - 1)/2) * j'
    It is exact where the taps line up with the inputs (s divides k_eff - 1 and o + p) and an upper
    bound elsewhere, by less than one input step per such layer."""
    n = len(field.size)
    if len(kernel) != n:
        return Field(UNKNOWN)
    size, jump, centre = [], [], []
    for i in range(n):
        keff = dilation[i] * (kernel[i] - 1) + 1
        j = field.jump[i] / stride[i]
        size.append(field.size[i] + (keff - 1) * j)
        centre.append(field.centre[i] + (padding[i] - (keff - 1) / 2) * j)
        jump.append(j)
    return Field(SPATIAL, tuple(size), tuple(jump), tuple(centre), field.dims)


def _resampled(field: Field, kind: str, in_shape: list[int], out_shape: list[int]) -> Field:
    """Nearest resampling by integer factors. Up by s: output o copies input floor(o/s), which is a
    transposed convolution with kernel s and stride s (`_transposed`). Down by t: output o copies
    input o*t (floor(o*t + t/2) for nearest-exact), a size-1 window of stride t. Other factors:
    unknown (the operator is named in the notes)."""
    kernel, stride, padding, up = [], [], [], []
    for d in field.dims:
        i, o = in_shape[d], out_shape[d]
        if o >= i and o % i == 0:
            up.append(True), kernel.append(o // i), stride.append(o // i), padding.append(0)
        elif o < i and i % o == 0:
            t = i // o
            up.append(False), kernel.append(1), stride.append(t)
            padding.append(-(t // 2) if "exact" in kind else 0)
        else:
            return Field(UNKNOWN)
    n = len(field.dims)
    if all(up):
        return _transposed(field, kernel, stride, padding, [1] * n)
    if not any(up):
        return field.window(kernel, stride, padding, [1] * n)
    return Field(UNKNOWN)  # up along one dimension, down along another: not followed


def _token_field(field: Field, op: Op, in_shape: list[int] | None, out_shape: list[int] | None) -> Field:
    """A token field through one operator (tokens: a flattened grid, `Field.tokens`). Per-token
    operators keep it: norms, linear layers over the features, elementwise ops, dropout, a token
    added by concatenation (ViT's class token) or dropped by a slice, views that keep the token
    dimension; permutes move it. Operators that mix tokens (attention, a linear layer or a flatten
    or reduction over the token dimension) make it global; a window over tokens is not followed."""
    kind = op.kind
    if in_shape is None or out_shape is None or "kernel" in op.attrs:
        return Field(UNKNOWN)
    rank, t = len(in_shape), field.dims[0]
    if kind in GLOBAL_MIXING_OPS:
        return Field(GLOBAL)
    if kind == "aten::permute":
        order = [_norm_dim(d, rank) for d in op.attrs["dims"][0]]
        return field.with_dims((order.index(t),))
    if kind == "aten::transpose":
        a, b = (_norm_dim(d, rank) for d in op.attrs["dims"])
        return field.with_dims(({a: b, b: a}.get(t, t),))
    if kind == "aten::flatten":
        start, end = [_norm_dim(d, rank) for d in op.attrs["dims"]]
        if start <= t <= end:
            return Field(GLOBAL)
        return field.with_dims((t - (end - start) if t > end else t,))
    if kind in REDUCTIONS and op.attrs.get("dims") and isinstance(op.attrs["dims"][0], list):
        reduced = {_norm_dim(d, rank) for d in op.attrs["dims"][0]}
        return Field(GLOBAL) if t in reduced else _token_view(field, in_shape, out_shape)
    if kind in LINEAR_OPS:
        return Field(GLOBAL) if t == rank - 1 or rank <= 2 else field
    if kind in ("aten::cat", "aten::slice", "aten::narrow") and len(out_shape) == rank and \
            all(a == b for i, (a, b) in enumerate(zip(in_shape, out_shape)) if i != t):
        return field  # tokens added (a class token) or dropped: each kept token keeps its field
    return _token_view(field, in_shape, out_shape)


def _token_view(field: Field, in_shape: list[int], out_shape: list[int]) -> Field:
    """A view of token features: the token dimension kept (same index from the front or the back,
    same length, everything before it unchanged) keeps the field; any other reshaping is not
    followed."""
    t = field.dims[0]
    if in_shape == out_shape:
        return field
    if len(out_shape) > t and out_shape[:t + 1] == in_shape[:t + 1]:
        return field  # the features split into heads, or merged back
    return Field(UNKNOWN)


def _reshape(field: Field, in_shape: list[int], out_shape: list[int]) -> Field:
    """Views and reshapes: keep the field when the spatial sizes survive as trailing dims; the
    trailing grid reshaped into one dimension (N x C x H x W -> N x C x HW) becomes tokens."""
    if in_shape == out_shape:
        return field
    n = len(field.dims)
    if n > 1 and list(field.dims) == list(range(len(in_shape) - n, len(in_shape))) \
            and out_shape[:-1] == in_shape[:len(in_shape) - n] and out_shape[-1] == prod(in_shape[-n:]):
        return field.as_tokens(len(out_shape) - 1)
    sp = [in_shape[d] for d in field.dims]
    trailing = list(field.dims) == list(range(len(in_shape) - len(sp), len(in_shape)))
    if trailing and out_shape[len(out_shape) - len(sp):] == sp and len(out_shape) > len(sp):
        n = len(out_shape)
        return field.with_dims(tuple(range(n - len(sp), n)))
    if prod(out_shape) == prod(in_shape) and len(out_shape) < len(in_shape):
        return Field(GLOBAL)  # spatial positions folded together, as flatten does
    return Field(UNKNOWN)


def is_gate(value: str, field: Field, out_shape: list[int] | None, shapes: dict[str, Any]) -> bool:
    """A globally pooled tensor broadcast over the positions of another (squeeze-excitation). Its
    field is global, or unknown where the positions were already mixed before the pool (MaxViT's
    blocks after the first attention): a 1x1 map has no positions of its own either way."""
    shape = shapes.get(value)
    if field.kind == SPATIAL or not shape or not out_shape or len(shape) != len(out_shape):
        return False
    return all(s == 1 for s in shape[2:]) and any(o > 1 for o in out_shape[2:])


def main_operands(op: Op, sources: list[str], fields: list[Field], shapes: dict[str, Any]) -> list[int]:
    """Indices of the operands on the main path of a merge: all but the gates (every operand when
    all are gates). One rule for the receptive field and the depth."""
    out_shape = shapes.get(op.outputs[0]) if op.outputs else None
    main = [i for i, (v, f) in enumerate(zip(sources, fields)) if not is_gate(v, f, out_shape, shapes)]
    return main or list(range(len(sources)))


def merge_fields(op: Op, sources: list[str], fields: list[Field], shapes: dict[str, Any]) -> Field:
    """Merge of branches; a gate (x * sigmoid(pool(x))) rescales positions without widening them,
    so the field follows the spatial operands (CONVENTIONS['receptive_field'])."""
    return union([fields[i] for i in main_operands(op, sources, fields, shapes)])


def propagate(op: Op, sources: list[str], fields: list[Field], shapes: dict[str, Any]) -> Field:
    """The receptive field of `op`'s first output, from its derived inputs' fields (`sources[0]`
    is the tensor whose positions the op maps)."""
    if len(fields) > 1:
        return merge_fields(op, sources, fields, shapes)
    source, field = sources[0], fields[0]
    if op.kind in UNPACK_OPS:
        return field
    if field.kind != SPATIAL:
        return field
    kind, attrs = op.kind, op.attrs
    in_shape = shapes.get(source)
    if in_shape is not None and any(d >= len(in_shape) for d in field.dims):
        return Field(UNKNOWN)
    out_shape = shapes.get(op.outputs[0]) if op.outputs else None
    if field.tokens:
        return _token_field(field, op, in_shape, shapes.get(op.outputs[0]) if op.outputs else None)
    if "kernel" in attrs and source == op.inputs[0]:
        if attrs.get("transposed"):
            return _transposed(field, attrs["kernel"], attrs["stride"], attrs["padding"], attrs["dilation"])
        return _windowed(field, attrs, in_shape)
    if in_shape is None or out_shape is None:
        return Field(UNKNOWN)
    if kind in ADAPTIVE_POOLS:
        return _adaptive(field, in_shape, out_shape)
    if kind in NEAREST_OPS:
        return _resampled(field, kind, in_shape, out_shape)
    rank = len(in_shape)
    if kind in PAD_OPS:
        return _padded(field, attrs["pad"], in_shape, out_shape)
    if kind == "aten::slice":
        return _sliced(field, attrs, in_shape)
    if kind == "aten::flatten":
        start, end = [_norm_dim(d, rank) for d in attrs["dims"]]
        if len(field.dims) > 1 and tuple(field.dims) == tuple(range(start, end + 1)):
            return field.as_tokens(start)  # the grid, and only it, flattened: one token per position
        if any(start <= d <= end for d in field.dims):
            return Field(GLOBAL)
        return field.with_dims(tuple(d - (end - start) if d > end else d for d in field.dims))
    if kind in REDUCTIONS and attrs.get("dims") and isinstance(attrs["dims"][0], list):
        reduced = {_norm_dim(d, rank) for d in attrs["dims"][0]}
        return Field(GLOBAL) if reduced & set(field.dims) else _reshape(field, in_shape, out_shape)
    if kind == "aten::permute":
        order = [_norm_dim(d, rank) for d in attrs["dims"][0]]
        return field.with_dims(tuple(order.index(d) for d in field.dims))
    if kind == "aten::transpose":
        a, b = (_norm_dim(d, rank) for d in attrs["dims"])
        swap = {a: b, b: a}
        return field.with_dims(tuple(sorted(swap.get(d, d) for d in field.dims)))
    if kind in LINEAR_OPS:
        return Field(GLOBAL) if rank - 1 in field.dims or rank <= 2 else field
    if kind in GLOBAL_MIXING_OPS:
        return Field(GLOBAL)
    return _reshape(field, in_shape, out_shape)


@dataclass
class GraphAnalysis:
    fields: dict[str, Field]     # value id -> receptive field
    depth: dict[str, int]        # value id -> weighted layers on the longest path
    producer: dict[str, int]     # value id -> op index
    derived: dict[int, list[str]]  # op index -> its inputs that depend on the model input
    unfollowed: list[str]          # operators after which a known field became unknown


def input_field(shape: list[int], layout: str | None = None) -> Field:
    """The field of a model input: one pixel per spatial dimension (those after N and C, or as the
    layout says); unknown where it has none (NC) or its positions are tokens (NLC)."""
    dims = LAYOUT_FIELD_DIMS.get(layout or "", tuple(range(2, len(shape))))
    if not dims or any(d >= len(shape) for d in dims):
        return Field(UNKNOWN)
    n = len(dims)
    return Field(SPATIAL, (1.0,) * n, (1.0,) * n, (0.0,) * n, dims)


def analyse(trace: Trace, layout: str | None = None) -> GraphAnalysis:
    """One topological pass: field, depth and producer of every value derived from the input.
    `layout` (NCHW, NCL, NLC, NC, ...) says which input dimensions are spatial."""
    fields: dict[str, Field] = {}
    depth: dict[str, int] = {}
    for i, v in enumerate(trace.inputs):
        fields[v] = input_field(trace.shapes.get(v) or [], layout if i == 0 else None)
        depth[v] = 0
    producer: dict[str, int] = {}
    derived: dict[int, list[str]] = {}
    unfollowed: set[str] = set()
    for op in trace.ops:
        ins = list(dict.fromkeys(v for v in op.inputs if v in fields))  # x * x is not a merge
        derived[op.index] = ins
        if not ins:
            continue
        in_fields = [fields[v] for v in ins]
        try:
            out_field = propagate(op, ins, in_fields, trace.shapes)
        except (IndexError, TypeError, ValueError, KeyError, ZeroDivisionError):
            out_field = Field(UNKNOWN)  # an operator this analysis cannot follow: say unknown
        if out_field.kind == UNKNOWN and any(f.kind == SPATIAL for f in in_fields) \
                and not any(f.kind == UNKNOWN for f in in_fields) and op.kind not in UNPACK_OPS \
                and op.outputs and trace.shapes.get(op.outputs[0]) is not None:
            unfollowed.add(op.kind)  # this operator lost a known field (of a tensor): notes name it
        main = main_operands(op, ins, in_fields, trace.shapes) if len(ins) > 1 else [0]
        out_depth = max(depth[ins[i]] for i in main) + (op.attrs.get("depth", 1) if op.weighted else 0)
        for v in op.outputs:
            fields[v] = out_field
            depth[v] = out_depth
            producer[v] = op.index
    return GraphAnalysis(fields, depth, producer, derived, sorted(unfollowed))


class Lineage:
    """Which module contains which, from the modules' parent links (never from their names, which
    may contain "." or anything else)."""

    def __init__(self, modules: dict[str, ModuleInfo]) -> None:
        self.modules = modules
        self._chains: dict[str, list[str]] = {}
        self._sets: dict[str, set[str]] = {}

    def ancestors(self, scope: str) -> list[str]:
        """The module `scope` and the modules around it, innermost first (root excluded):
        for a.b.c that is [a.b.c, a.b, a]."""
        chain = self._chains.get(scope)
        if chain is None:
            chain, key = [], scope
            while key and key not in chain:
                chain.append(key)
                info = self.modules.get(key)
                key = info.parent if info is not None else None
            self._chains[scope] = chain
        return chain

    def within(self, module: str, scope: str | None) -> bool:
        """Is an op owned by `scope` inside `module` (the module itself or a descendant)?"""
        if scope is None:
            return False
        found = self._sets.get(scope)
        if found is None:
            found = self._sets[scope] = set(self.ancestors(scope))
        return module in found


def module_boundaries(trace: Trace, ga: GraphAnalysis,
                      lineage: Lineage | None = None) -> tuple[dict[str, str], dict[str, list[str]]]:
    """For every module: its output value (the last value it produces that is used outside it)
    and its input values (derived values it consumes that are produced outside it)."""
    outputs: dict[str, tuple[int, str]] = {}
    inputs: dict[str, list[str]] = {}
    lineage = lineage or Lineage(trace.modules)
    scope_of = {op.index: op.scope for op in trace.ops}
    consumers: dict[str, list[str | None]] = {}
    for op in trace.ops:
        for v in ga.derived.get(op.index, []):
            consumers.setdefault(v, []).append(op.scope)
            made_in = scope_of.get(ga.producer[v]) if v in ga.producer else None
            for anc in lineage.ancestors(op.scope):
                if not lineage.within(anc, made_in):
                    lst = inputs.setdefault(anc, [])
                    if v not in lst:
                        lst.append(v)
    for v in trace.outputs:
        consumers.setdefault(v, []).append(None)
    for v, users in consumers.items():
        if v not in ga.producer:
            continue
        idx = ga.producer[v]
        for anc in lineage.ancestors(scope_of[idx]):
            if any(not lineage.within(anc, u) for u in users) and idx >= outputs.get(anc, (-1, ""))[0]:
                outputs[anc] = (idx, v)
    out = {name: v for name, (_, v) in outputs.items()}
    for v in trace.outputs:
        out[""] = v
    return out, inputs


def merges_by_scope(trace: Trace, ga: GraphAnalysis) -> dict[str, list[Op]]:
    """Merge operators (add, cat, mul of two or more derived tensors) by owning module."""
    found: dict[str, list[Op]] = {}
    for op in trace.ops:
        if op.kind in MERGE_OPS and len(ga.derived.get(op.index, [])) >= 2:
            found.setdefault(op.scope, []).append(op)
    return found


def block_names(trace: Trace, merges: dict[str, list[Op]]) -> list[str]:
    """Modules that branch and merge inside themselves, or are known blocks (transitions)."""
    names = [n for n in merges if n]
    names += [n for n, m in trace.modules.items()
              if n and (m.type in BLOCK_KIND_BY_CLASS or m.type.startswith("Inception")) and n not in merges]
    order = {n: i for i, n in enumerate(trace.modules)}
    return sorted(set(names), key=order.__getitem__)


def block_kind(type_name: str, merge: str | None) -> str:
    if type_name in BLOCK_KIND_BY_CLASS:
        return BLOCK_KIND_BY_CLASS[type_name]
    if type_name.startswith("Inception"):
        return "inception"
    return f"{merge}-merge" if merge else "block"
