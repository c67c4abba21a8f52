"""The counting conventions, stated once and copied into every output (JSON, table footer, report)."""

CONVENTIONS: dict[str, str] = {
    "macs": (
        "MACs are fvcore's count: one multiply-add = 1. Convolution and linear layers count "
        "Cout*Cin/groups*kh*kw per output position; batch norm (eval) 2 per element with affine, "
        "1 without; adaptive average pooling 1 per input element. archviz adds handlers for the ops "
        "fvcore leaves out: max/avg pooling k_h*k_w per output element, elementwise add/mul 1 per "
        "output element, activations (ReLU, SiLU, ...) and other elementwise ops 1 per element, "
        "fused multi-head attention 4*L*E^2 + 2*L*S*E; cat, flatten, views and dropout move data "
        "and count 0."
    ),
    "flops": "FLOPs = 2 x MACs for every operator (one multiply-add = two floating-point operations).",
    "conv_linear_macs": (
        "MACs of convolution, linear and matrix-product operators only (for transformers, the "
        "attention's projections and matmuls): what torchvision publishes as GFLOPS (its `_ops` "
        "meta field, which despite the name counts multiply-adds)."
    ),
    "params": "Parameters: every element of every nn.Parameter, shared parameters counted once.",
    "activations": (
        "fvcore's ActivationCountAnalysis: the number of output elements of convolution, linear "
        "and matmul-like operators."
    ),
    "receptive_field": (
        "Receptive field in input pixels (H, W) of one output position, computed on the traced "
        "dataflow graph. Where paths merge (add, cat, mul) the union of the branches' fields is "
        "taken, which equals the largest branch when the branches are centred alike (every "
        "torchvision model). A gate (a tensor multiplied by a globally pooled copy of itself, as in "
        "squeeze-excitation) rescales positions without widening the field, so the field follows the "
        "spatial operand. 'global' once an operator mixes all positions (global pooling, flatten, "
        "linear); null where positions are reshuffled beyond tracking (window attention)."
    ),
    "effective_stride": "Effective stride (jump): input pixels between neighbouring output positions, (H, W).",
    "depth": "Depth: weighted layers (conv, linear) on the longest path from input to this tensor.",
}
