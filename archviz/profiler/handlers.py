"""Per-operator tables, fvcore style: one small pure function per operator, one row per op.

- EXTRA_MAC_HANDLES: counts for the ops fvcore leaves uncounted (conventions in CONVENTIONS).
- ZERO_COST_OPS: data movement that costs no arithmetic (counted as 0, not 'uncounted').
- GEOMETRY: reads kernel/stride/padding/dilation of windowed ops for the receptive-field analysis.
- CONV_LINEAR_OPS / WEIGHT_OPS: what torchvision's GFLOPS counts, and what makes a layer 'deep'.
Handlers take jit Values (fvcore's Handle signature) and return a number."""

from __future__ import annotations

from math import prod
from typing import Any, Callable

Handle = Callable[[list[Any], list[Any]], float]


def shape_of(value: Any) -> list[int] | None:
    """Shape of a jit Value when it is a complete tensor, else None."""
    try:
        sizes = value.type().sizes()
    except (AttributeError, RuntimeError):
        return None
    return list(sizes) if sizes is not None else None


def const(value: Any) -> Any:
    """Python value of a constant jit Value (ints, lists of ints, bools), else None."""
    node = value.node()
    kind = node.kind()
    if kind == "prim::Constant":
        try:
            return value.toIValue()
        except RuntimeError:
            return None
    if kind == "prim::ListConstruct":
        return [const(v) for v in node.inputs()]
    return None


def _numel(value: Any) -> int:
    shape = shape_of(value)
    return prod(shape) if shape else 0


def per_output_element(scale: float = 1.0) -> Handle:
    """`scale` operations per output element (elementwise ops, activations)."""
    return lambda inputs, outputs: scale * _numel(outputs[0])


def per_input_element(scale: float = 1.0) -> Handle:
    return lambda inputs, outputs: scale * _numel(inputs[0])


def pool_window(inputs: list[Any], outputs: list[Any]) -> float:
    """Max/avg pooling: one compare or add per window element per output element."""
    kernel = const(inputs[1]) or []
    return _numel(outputs[0]) * prod(kernel)


def sdpa(inputs: list[Any], outputs: list[Any]) -> float:
    """scaled_dot_product_attention: Q@K^T and A@V, each B*H*L*S*E multiply-adds."""
    q, k = shape_of(inputs[0]), shape_of(inputs[1])
    if not q or not k:
        return 0
    return 2 * prod(q) * k[-2]


def native_mha(inputs: list[Any], outputs: list[Any]) -> float:
    """Fused multi-head attention (inference fast path): QKV and output projections,
    4*B*L*E^2, plus Q@K^T and A@V, 2*B*L*S*E."""
    q, k = shape_of(inputs[0]), shape_of(inputs[1])
    if not q or not k:
        return 0
    b, length, e = q
    s = k[1]
    return 4 * b * length * e * e + 2 * b * length * s * e


EXTRA_MAC_HANDLES: dict[str, Handle] = {
    **{f"aten::{p}_pool{d}d": pool_window for p in ("max", "avg") for d in (1, 2, 3)},
    "aten::adaptive_max_pool2d": per_input_element(1),
    "aten::adaptive_avg_pool1d": per_input_element(1),
    "aten::adaptive_avg_pool3d": per_input_element(1),
    **{f"aten::{op}": per_output_element(1) for op in (
        "add", "add_", "sub", "sub_", "mul", "mul_", "div", "div_",
        "relu", "relu_", "relu6", "hardtanh", "hardtanh_", "silu", "silu_", "sigmoid", "sigmoid_",
        "hardsigmoid", "hardsigmoid_", "hardswish", "hardswish_", "gelu", "tanh", "tanh_",
        "clamp", "clamp_", "leaky_relu", "leaky_relu_", "elu", "elu_", "softmax", "log_softmax",
        "stochastic_depth", "rsub", "pow", "exp", "clamp_min", "eq", "ne", "masked_fill", "fill_",
        "zero_", "floor_divide", "remainder", "numel")},
    "aten::mean": per_input_element(1),
    "aten::sum": per_input_element(1),
    "aten::linalg_vector_norm": per_input_element(1),
    "aten::scaled_dot_product_attention": sdpa,
    "aten::_native_multi_head_attention": native_mha,
}

ZERO_COST_OPS: set[str] = {f"aten::{op}" for op in (
    "cat", "flatten", "view", "reshape", "contiguous", "dropout", "dropout_", "feature_dropout",
    "permute", "transpose", "t", "squeeze", "unsqueeze", "unsqueeze_", "select", "slice", "size",
    "chunk", "split", "split_with_sizes", "unbind", "stack", "expand", "expand_as", "narrow",
    "to", "type_as", "detach", "copy_", "zeros", "zeros_like", "ones", "full", "empty", "arange",
    "Int", "ScalarImplicit", "constant_pad_nd", "pad", "roll", "index", "gather", "channel_shuffle",
    "pixel_shuffle", "new_zeros", "new_empty", "new_full", "alias", "clone", "repeat")}

# What torchvision's GFLOPS counts: convolutions, linear layers and matrix products (for
# transformers the attention's projections and matmuls, which its published figures include).
CONV_LINEAR_OPS: set[str] = {"aten::_convolution", "aten::linear", "aten::addmm", "aten::matmul",
                             "aten::mm", "aten::bmm", "aten::einsum",
                             "aten::scaled_dot_product_attention", "aten::_native_multi_head_attention"}
# Weighted layers an operator stands for on the longest path (fused attention: QKV then output).
WEIGHTED_DEPTH: dict[str, int] = {"aten::_native_multi_head_attention": 2}
# Operators whose tensor outputs are the input's positions split up (field passes through).
UNPACK_OPS: set[str] = {"prim::ListUnpack", "prim::TupleUnpack", "aten::chunk", "aten::split",
                        "aten::split_with_sizes", "aten::unbind"}
MATMUL_OPS: set[str] = {"aten::matmul", "aten::mm", "aten::bmm", "aten::einsum"}
WEIGHT_OPS: set[str] = {"aten::_convolution", "aten::linear", "aten::addmm",
                        "aten::_native_multi_head_attention"}  # always carry a weight
MERGE_OPS: dict[str, str] = {
    "aten::add": "add", "aten::add_": "add", "aten::cat": "concat",
    "aten::mul": "mul", "aten::mul_": "mul", "aten::stack": "concat",
}


# ---- geometry of windowed ops (for the receptive field) -------------------------------------
def _listify(v: Any, n: int) -> list[int]:
    if v is None:
        return []
    if isinstance(v, int):
        return [v] * n
    return list(v) if len(v) == n else list(v) * n if len(v) == 1 else list(v)


def conv_geometry(inputs: list[Any]) -> dict[str, Any]:
    weight = shape_of(inputs[1]) or []
    kernel = weight[2:]
    n = len(kernel)
    return {"kernel": kernel, "stride": _listify(const(inputs[3]), n),
            "padding": _listify(const(inputs[4]), n), "dilation": _listify(const(inputs[5]), n),
            "transposed": bool(const(inputs[6])), "groups": const(inputs[8])}


def pool_geometry(has_dilation: bool) -> Callable[[list[Any]], dict[str, Any]]:
    def geometry(inputs: list[Any]) -> dict[str, Any]:
        kernel = list(const(inputs[1]) or [])
        n = len(kernel)
        stride = const(inputs[2]) or kernel  # an empty stride means stride = kernel
        out = {"kernel": kernel, "stride": _listify(stride, n), "padding": _listify(const(inputs[3]), n),
               "dilation": _listify(const(inputs[4]), n) if has_dilation else [1] * n}
        out["ceil_mode"] = bool(const(inputs[5] if has_dilation else inputs[4]))
        return out
    return geometry


def dims_geometry(index: int) -> Callable[[list[Any]], dict[str, Any]]:
    """Ops with a `dim` argument (flatten start/end, mean/sum dims, permute order, transpose)."""
    def geometry(inputs: list[Any]) -> dict[str, Any]:
        return {"dims": [const(v) for v in inputs[index:index + 2]] if len(inputs) > index else []}
    return geometry


GEOMETRY: dict[str, Callable[[list[Any]], dict[str, Any]]] = {
    "aten::_convolution": conv_geometry,
    **{f"aten::max_pool{d}d": pool_geometry(True) for d in (1, 2, 3)},
    **{f"aten::avg_pool{d}d": pool_geometry(False) for d in (1, 2, 3)},
    "aten::flatten": dims_geometry(1),
    "aten::mean": dims_geometry(1),
    "aten::sum": dims_geometry(1),
    "aten::amax": dims_geometry(1),
    "aten::permute": dims_geometry(1),
    "aten::transpose": dims_geometry(1),
}
