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
    """Shape of a jit Value when it is a complete tensor, else None (other types are told apart by
    their kind first: asking them for sizes raises, which costs more than the whole lookup)."""
    try:
        kind = value.type()
        sizes = kind.sizes() if kind.kind() == "TensorType" else None
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


def _mha_dims(inputs: list[Any]) -> tuple[int, int, int, int] | None:
    """aten::_native_multi_head_attention(query, key, value, embed_dim, num_heads, qkv_weight,
    qkv_bias, proj_weight, proj_bias, mask, need_weights, ...): (B, L, S, E), batch first."""
    q, k = shape_of(inputs[0]), shape_of(inputs[1])
    if not q or not k or len(q) < 2 or len(k) < 2:
        return None
    return prod(q[:-2]), q[-2], k[-2], q[-1]


def native_mha(inputs: list[Any], outputs: list[Any]) -> float:
    """Fused multi-head attention (inference fast path): the Q, K, V and output projections,
    (2*L + 2*S)*E^2 per batch (4*L*E^2 for self-attention), plus Q@K^T and A@V, 2*L*S*E."""
    dims = _mha_dims(inputs)
    if dims is None:
        return 0
    b, length, s, e = dims
    return b * (2 * length + 2 * s) * e * e + 2 * b * length * s * e


def native_mha_out_proj(inputs: list[Any], outputs: list[Any]) -> float:
    """The output projection's share of the fused op's MACs, B*L*E^2 (its `out_proj` child)."""
    dims = _mha_dims(inputs)
    return dims[0] * dims[1] * dims[3] * dims[3] if dims else 0


def native_mha_activations(inputs: list[Any], outputs: list[Any]) -> float:
    """What fvcore's ActivationCountAnalysis counts on nn.MultiheadAttention's unfused path: the
    outputs of the Q, K, V projections, B*(L + 2*S)*E, and of out_proj, B*L*E; with
    need_weights=True (the unfused path then materialises the attention with bmm) also the
    attention weights B*H*L*S and A@V, B*L*E."""
    dims = _mha_dims(inputs)
    if dims is None:
        return 0
    b, length, s, e = dims
    count = b * (length + 2 * s) * e + b * length * e
    if len(inputs) > 10 and const(inputs[10]):
        count += b * (const(inputs[4]) or 1) * length * s + b * length * e
    return count


def native_mha_out_proj_activations(inputs: list[Any], outputs: list[Any]) -> float:
    """out_proj's share of the fused op's activations: its output, B*L*E."""
    dims = _mha_dims(inputs)
    return dims[0] * dims[1] * dims[3] if dims else 0


def sdpa_activations(inputs: list[Any], outputs: list[Any]) -> float:
    """scaled_dot_product_attention counts no activations: on nn.MultiheadAttention's unfused
    path (need_weights=False) fvcore counts its projections (linear) and nothing for this op, and
    it never materialises the attention weights. Counted 0 so that nn.MultiheadAttention counts
    alike on the fast path, the unfused path and with batch_first=False."""
    return 0


def baddbmm(inputs: list[Any], outputs: list[Any]) -> float:
    """aten::baddbmm(input, batch1 [b, n, m], batch2 [b, m, p], ...): b*n*m*p multiply-adds for
    the product (as bmm); the scaled add of `input` is not counted (CONVENTIONS['macs'])."""
    a, b = shape_of(inputs[1]), shape_of(inputs[2])
    return prod(a) * b[-1] if a and b and len(a) == 3 and len(b) == 3 else 0


def bilinear(inputs: list[Any], outputs: list[Any]) -> float:
    """aten::bilinear(x1 [..., I1], x2 [..., I2], weight [O, I1, I2], bias): y_k = x1^T W_k x2,
    I1*I2 multiply-adds per output feature per row: rows * O * I1 * I2."""
    w, out = shape_of(inputs[2]), shape_of(outputs[0])
    return prod(out) * w[1] * w[2] if w and out and len(w) == 3 else 0


def _windows(n_in: int, n_out: int) -> int:
    """Sum over the outputs of one dimension of adaptive pooling's window lengths: output i covers
    floor(i*n/m) to ceil((i+1)*n/m) (windows overlap when n is not a multiple of m)."""
    return sum(-(-(i + 1) * n_in // n_out) - (i * n_in // n_out) for i in range(n_out)) if n_out else 0


def adaptive_pool_window(inputs: list[Any], outputs: list[Any]) -> float:
    """Adaptive pooling by the rule of fixed pooling, k_h*k_w per output element (one compare or
    add per window element), each output's own window: the product over the pooled dimensions of
    their window sums, times the leading dimensions. VGG-16 at 256 px pools 8x8 to 7x7 with 2x2
    windows: 512 * 49 * 4 = 100,352 (per input element would say 32,768)."""
    x, y = shape_of(inputs[0]), shape_of(outputs[0])
    if not x or not y or len(x) != len(y):
        return 0
    size = const(inputs[1]) or []
    k = len(size) if isinstance(size, list) and size else 2
    lead = prod(y[:-k])
    return lead * prod(_windows(a, b) for a, b in zip(x[-k:], y[-k:]))


def conv_mode(inputs: list[Any], outputs: list[Any]) -> float:
    """aten::_convolution_mode (a convolution with padding="same" or "valid"; fvcore has no rule):
    as for any convolution, each output element is C_in/groups x prod(kernel) multiply-adds,
    C_in/groups being the weight's second dimension."""
    weight = shape_of(inputs[1])
    return _numel(outputs[0]) * prod(weight[1:]) if weight and len(weight) > 2 else 0


# ---- recurrent layers (nn.RNN, nn.GRU, nn.LSTM; their cells trace as linear + elementwise ops) ---
RNN_OPS: dict[str, int] = {"aten::lstm": 4, "aten::gru": 3, "aten::rnn_tanh": 1, "aten::rnn_relu": 1}


def _is_list(value: Any) -> bool:
    return value.node().kind() == "prim::ListConstruct"


def _rnn_args(inputs: list[Any]) -> tuple[Any, Any, int]:
    """(input, params list, num_layers) of aten::lstm / gru / rnn_tanh / rnn_relu, either overload:
    (input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first) or,
    for a packed sequence, (data, batch_sizes, hx, params, has_biases, num_layers, ...)."""
    if len(inputs) > 5 and _is_list(inputs[3]):
        return inputs[0], inputs[3], const(inputs[5]) or 1
    return inputs[0], inputs[2], const(inputs[4]) or 1


def _rows(value: Any) -> int:
    """Input vectors fed in: time steps x batch (or a packed sequence's rows); any order."""
    shape = shape_of(value)
    return prod(shape[:-1]) if shape else 0


def rnn(inputs: list[Any], outputs: list[Any]) -> float:
    """Gate matmuls of every step, layer and direction: per step the sum of the weight matrices'
    elements, gates*H*(I_layer + H) (+ P*H for an LSTM projection, whose W_hh is gates*H*P).
    Biases, gate nonlinearities and the state updates are not counted (CONVENTIONS['macs'])."""
    data, params, _ = _rnn_args(inputs)
    weights = [shape_of(w) for w in params.node().inputs()] if _is_list(params) else []
    return _rows(data) * sum(prod(w) for w in weights if w and len(w) == 2)


def rnn_depth(inputs: list[Any]) -> int:
    """Stacked layers: num_layers (the two directions of a layer run side by side)."""
    return int(_rnn_args(inputs)[2])


EXTRA_MAC_HANDLES: dict[str, Handle] = {
    **{f"aten::{p}_pool{d}d": pool_window for p in ("max", "avg") for d in (1, 2, 3)},
    **{f"aten::adaptive_{p}_pool{d}d": adaptive_pool_window for p in ("max", "avg") for d in (1, 2, 3)},
    "aten::baddbmm": baddbmm,
    "aten::bilinear": bilinear,
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
    "aten::_convolution_mode": conv_mode,
    **{op: rnn for op in RNN_OPS},
}

# Rows that replace fvcore's own where archviz's convention differs: adaptive pooling counts each
# output's window, as fixed pooling does (fvcore counts one op per input element).
OVERRIDE_MAC_HANDLES: dict[str, Handle] = {
    f"aten::adaptive_{p}_pool{d}d": adaptive_pool_window for p in ("max", "avg") for d in (1, 2, 3)}

# Activations for ops fvcore's ActivationCountAnalysis has no rule for (CONVENTIONS['activations']).
EXTRA_ACTIVATION_HANDLES: dict[str, Handle] = {
    "aten::_native_multi_head_attention": native_mha_activations,
    "aten::scaled_dot_product_attention": sdpa_activations,
    "aten::_convolution_mode": per_output_element(1),  # a convolution's output, as fvcore counts one
}

# Fused operators that run a child module's layer inside them: (child attribute, its MACs, its
# activations). The child's share is booked on the child's row (its parents and the totals are
# unchanged): nn.MultiheadAttention's fast path reads out_proj's weight inside the fused op.
CHILD_SHARES: dict[str, tuple[str, Handle, Handle]] = {
    "aten::_native_multi_head_attention": ("out_proj", native_mha_out_proj, native_mha_out_proj_activations),
}

# Padding operators (constant, reflect, replicate, circular): each shifts positions, as a window
# of size 1 with that padding would, and widens no field.
PAD_OPS = {"aten::pad", "aten::constant_pad_nd",
           *(f"aten::{kind}_pad{d}d" for kind in ("reflection", "replication", "circular") for d in (1, 2, 3))}

ZERO_COST_OPS: set[str] = PAD_OPS | {f"aten::{op}" for op in (
    "cat", "flatten", "view", "reshape", "contiguous", "dropout", "dropout_", "feature_dropout",
    "permute", "transpose", "t", "squeeze", "unsqueeze", "unsqueeze_", "select", "slice", "size",
    "chunk", "split", "split_with_sizes", "unbind", "stack", "expand", "expand_as", "narrow",
    "to", "type_as", "detach", "copy_", "zeros", "zeros_like", "ones", "full", "empty", "arange",
    "Int", "ScalarImplicit", "roll", "index", "gather", "channel_shuffle",
    "pixel_shuffle", "new_zeros", "new_empty", "new_full", "alias", "clone", "repeat",
    "unsafe_chunk", "_pack_padded_sequence", "_pad_packed_sequence", "repeat_interleave")}

# What torchvision's GFLOPS counts: convolutions, linear layers and matrix products (for
# transformers the attention's projections and matmuls, which its published figures include).
CONV_LINEAR_OPS: set[str] = {"aten::_convolution", "aten::_convolution_mode", "aten::linear", "aten::bilinear",
                             "aten::baddbmm", "aten::addmm", "aten::matmul",
                             "aten::mm", "aten::bmm", "aten::einsum",
                             "aten::scaled_dot_product_attention", "aten::_native_multi_head_attention",
                             *RNN_OPS}
# Weighted layers an operator stands for on the longest path (fused attention: QKV then output).
WEIGHTED_DEPTH: dict[str, int] = {"aten::_native_multi_head_attention": 2}
# The same, read from the operator's arguments (stacked recurrent layers).
DEPTH_OF: dict[str, Callable[[list[Any]], int]] = {op: rnn_depth for op in RNN_OPS}
# Operators whose tensor outputs are the input's positions split up (field passes through).
UNPACK_OPS: set[str] = {"prim::ListUnpack", "prim::TupleUnpack", "aten::chunk", "aten::unsafe_chunk",
                        "aten::split", "aten::split_with_sizes", "aten::unbind"}
MATMUL_OPS: set[str] = {"aten::matmul", "aten::mm", "aten::bmm", "aten::einsum", "aten::baddbmm"}
WEIGHT_OPS: set[str] = {"aten::_convolution", "aten::_convolution_mode", "aten::linear", "aten::addmm",
                        "aten::bilinear",
                        "aten::_native_multi_head_attention", *RNN_OPS}  # always carry a weight
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


def conv_mode_geometry(inputs: list[Any]) -> dict[str, Any]:
    """aten::_convolution_mode(input, weight, bias, stride, padding, dilation, groups), padding a
    string: "valid" is no padding; "same" pads d*(k-1) in all, the smaller half first (left =
    d*(k-1) // 2, as torch does when the total is odd), which is the offset the field needs."""
    weight = shape_of(inputs[1]) or []
    kernel = weight[2:]
    n = len(kernel)
    dilation = _listify(const(inputs[5]), n)
    mode = const(inputs[4])
    padding = [d * (k - 1) // 2 for d, k in zip(dilation, kernel)] if mode == "same" else [0] * n
    return {"kernel": kernel, "stride": _listify(const(inputs[3]), n), "padding": padding,
            "dilation": dilation, "transposed": False, "groups": const(inputs[6]), "padding_mode": mode}


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


def pad_geometry(inputs: list[Any]) -> dict[str, Any]:
    """F.pad's list: (left, right) pairs starting from the last dimension."""
    return {"pad": list(const(inputs[1]) or [])}


def slice_geometry(inputs: list[Any]) -> dict[str, Any]:
    """aten::slice(self, dim, start, end, step): which dimension, first index kept, step."""
    return {"dim": const(inputs[1]), "start": const(inputs[2]) or 0, "step": const(inputs[4]) or 1}


GEOMETRY: dict[str, Callable[[list[Any]], dict[str, Any]]] = {
    "aten::slice": slice_geometry,
    **{op: pad_geometry for op in PAD_OPS},
    "aten::_convolution": conv_geometry,
    "aten::_convolution_mode": conv_mode_geometry,
    **{f"aten::max_pool{d}d": pool_geometry(True) for d in (1, 2, 3)},
    **{f"aten::avg_pool{d}d": pool_geometry(False) for d in (1, 2, 3)},
    "aten::flatten": dims_geometry(1),
    "aten::mean": dims_geometry(1),
    "aten::sum": dims_geometry(1),
    "aten::amax": dims_geometry(1),
    "aten::permute": dims_geometry(1),
    "aten::transpose": dims_geometry(1),
}
