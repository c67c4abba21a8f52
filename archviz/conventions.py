"""The counting conventions, stated once and copied into every output (JSON, table footer, report)."""

CONVENTIONS: dict[str, str] = {
    "macs": (
        "MACs are fvcore's count: one multiply-add = 1. Convolution and linear layers count "
        "Cout*Cin/groups*kh*kw per output position; batch norm (eval) 2 per element with affine, "
        "1 without. archviz adds handlers for the ops fvcore leaves out, and counts adaptive pooling "
        "as fixed pooling (fvcore counts 1 per input element): max/avg pooling, adaptive or not, "
        "k_h*k_w per output element (adaptive: each output's own window), elementwise add/mul 1 per "
        "output element, activations (ReLU, SiLU, ...) and other elementwise ops 1 per element, "
        "fused multi-head attention (2*L + 2*S)*E^2 + 2*L*S*E (its out_proj share, L*E^2, on the "
        "out_proj row); baddbmm as bmm, b*n*m*p; bilinear rows*O*I1*I2; convolutions with "
        "string padding ('same', 'valid') as any convolution; cat, flatten, views and dropout move data and count 0. Recurrent layers "
        "(RNN, GRU, LSTM) count their gate matmuls: per time step, layer and direction "
        "gates*H*(I + H) (gates: LSTM 4, GRU 3, RNN 1; I the layer's input size, the input features "
        "for the first layer and H, or 2*H bidirectional, above it; an LSTM with proj_size P counts "
        "gates*H*(I + P) + P*H), times the batch; biases, the gate nonlinearities and the "
        "elementwise state updates are not counted (as fvcore counts no bias in a linear layer)."
    ),
    "flops": "FLOPs = 2 x MACs for every operator (one multiply-add = two floating-point operations).",
    "conv_linear_macs": (
        "MACs of convolution, linear and matrix-product operators only (for transformers, the "
        "attention's projections and matmuls): what torchvision publishes as GFLOPS (its `_ops` "
        "meta field, which despite the name counts multiply-adds)."
    ),
    "params": (
        "Parameters: every element of every nn.Parameter, shared parameters counted once. A row's "
        "`params` counts everything inside its module (children included); `own_params` only those "
        "the module holds itself (a class token, position embedding or layer-scale gamma on a "
        "container), so the rows' own_params add up to the total."
    ),
    "activations": (
        "fvcore's ActivationCountAnalysis: the number of output elements of convolution, linear "
        "and matmul-like operators. Fused multi-head attention counts what fvcore counts on "
        "nn.MultiheadAttention's unfused path: the Q, K, V projections' outputs (L + 2*S)*E and "
        "out_proj's L*E (with need_weights=True also the attention weights H*L*S and A@V L*E); "
        "scaled_dot_product_attention, which fvcore leaves out there, counts 0. Recurrent layers "
        "count no activations (fvcore has no rule for them)."
    ),
    "receptive_field": (
        "Receptive field in input pixels (H, W) of one output position, computed on the traced "
        "dataflow graph. Where paths merge (add, cat, mul) the union of the branches' fields is "
        "taken, which equals the largest branch when the branches are centred alike (every "
        "torchvision model). A gate (a tensor multiplied by a globally pooled copy of itself, as in "
        "squeeze-excitation) rescales positions without widening the field, so the field follows the "
        "spatial operand. 'global' once an operator mixes all positions (global pooling, flatten, "
        "linear); null where positions are reshuffled beyond tracking (window attention). Resampling "
        "up by s (transposed convolution, nearest upsampling) divides the stride by s; its field is "
        "the envelope of what any output position sees. The totals describe the model's output "
        "(receptive_field_at names its module), last_spatial_field the last tensor that still has "
        "a spatial field. Input dimensions are read by the layout: NCHW (H, W), NCL (L); NC and NLC "
        "inputs have no receptive field."
    ),
    "effective_stride": "Effective stride (jump): input pixels between neighbouring output positions, (H, W).",
    "depth": (
        "Depth: weighted layers (conv, linear) on the longest path from input to this tensor. A "
        "recurrent layer counts its num_layers (a bidirectional layer's two directions run side by "
        "side: one layer); fused attention 2 (QKV, then the output projection). A gate branch "
        "(squeeze-excitation) is off the main path, as for the receptive field: at a gate merge the "
        "depth is the spatial operand's."
    ),
}
