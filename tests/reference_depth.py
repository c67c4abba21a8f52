"""An independent depth: the most weighted layers (convolutions and fully connected layers) on
any path from input to output, counted on torch.fx's symbolic trace of the model, which shares
nothing with archviz's tracer, graph or depth code.

The rules, as the README states them for archviz:
- a conv or linear layer counts 1; a module or function fx keeps whole counts its weighted layers
  in a row (nn.MultiheadAttention and torchvision's wrapped shifted-window attention: an input
  projection, attention, an output projection = 2);
- norms, activations, pooling, adds, concats and reshapes count 0;
- only paths from the input count (a bias computed from constants is none);
- a gate does not deepen what it gates: at a multiply, an operand that comes out of a sigmoid
  (squeeze-and-excitation's scale) is left out, and the depth is the other operand's."""

from __future__ import annotations

import operator

import torch
from torch import nn

WEIGHTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose2d, nn.Linear)
FUNCTIONAL = {torch.nn.functional.conv2d, torch.nn.functional.linear, torch.conv2d, torch.nn.functional.conv1d}
WHOLE_ATTENTION = {"shifted_window_attention", "shifted_window_attention_v2"}
SIGMOIDS = (nn.Sigmoid, nn.Hardsigmoid)
SIGMOID_FUNCTIONS = {torch.sigmoid, torch.nn.functional.sigmoid, torch.nn.functional.hardsigmoid}
MULTIPLY = {operator.mul, torch.mul}


def weight_of(gm: torch.fx.GraphModule, node: torch.fx.Node) -> int:
    if node.op == "call_module":
        mod = gm.get_submodule(node.target)
        if isinstance(mod, WEIGHTED):
            return 1
        return 2 if isinstance(mod, nn.MultiheadAttention) else 0
    if node.op == "call_function":
        if node.target in FUNCTIONAL:
            return 1
        return 2 if getattr(node.target, "__name__", "") in WHOLE_ATTENTION else 0
    return 0


def is_gate(gm: torch.fx.GraphModule, node: torch.fx.Node) -> bool:
    if node.op == "call_module":
        return isinstance(gm.get_submodule(node.target), SIGMOIDS)
    return node.op == "call_function" and node.target in SIGMOID_FUNCTIONS


def fx_depth(model: nn.Module) -> int:
    """The longest path's weighted layers on the fx graph of `model` (eval mode)."""
    gm = torch.fx.symbolic_trace(model.eval())
    best: dict[torch.fx.Node, int] = {}
    gate: set[torch.fx.Node] = set()
    for node in gm.graph.nodes:
        # only paths from the input count: a position-bias MLP fed by a constant table is no path
        inputs = [a for a in node.all_input_nodes if a in best]
        if node.op != "placeholder" and not inputs:
            continue
        if (node.op == "call_function" and node.target in MULTIPLY) or (node.op == "call_method" and node.target == "mul"):
            gated = [a for a in inputs if a not in gate]
            inputs = gated or inputs
        best[node] = max((best[a] for a in inputs), default=0) + weight_of(gm, node)
        if is_gate(gm, node):
            gate.add(node)
    return max(best.values())
