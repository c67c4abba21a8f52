"""The per-layer columns of a Profile and their typed view: plain data rules shared by the record
(`Profile.table`) and its faces (CSV, JSON), kept apart so that neither imports the other."""

from __future__ import annotations

from typing import Any

# Columns of the per-layer table, in order: the public JSON contract names the first ones.
# `name` is a module's key: its attribute names joined by "." (made unique with "#2", ...), so it is
# text to show, never to split; `parent` is the enclosing module's row name ("(model)" for the
# root's children, None for the root), `level` the module's depth in the tree.
LAYER_COLUMNS = [
    "name", "type", "level", "leaf", "output_shape", "params", "macs", "flops",
    "conv_linear_macs", "activations", "receptive_field", "effective_stride",
    "effective_padding", "depth", "block", "parent", "own_params",
]


FIELD_COLUMNS = ("receptive_field", "effective_stride", "effective_padding")
TYPED_FIELD_COLUMNS = ("rf_kind", "rf_h", "rf_w", "stride_h", "stride_w", "pad_h", "pad_w")
# Keys a measured profile's layer rows gain (archviz.measure; None where not measured): latency in
# ms (containers: the sum of their leaves), bytes moved (weights + inputs + outputs at the dtype),
# intensity (FLOPs/byte), achieved FLOP/s, the roofline bound: "compute", "memory" or "overhead", and
# the memory level whose roof applies (L1, L2, L3, DRAM; on a GPU L2, HBM: the smallest its working set
# fits) and that working set (weights + the largest single call's inputs and outputs, in bytes).
MEASURED_COLUMNS = ("latency_ms", "bytes", "intensity", "achieved_flops", "bound", "roof", "working_set")
# Keys every profile's layer rows gain (archviz.training, meta device): activation bytes live when the
# module returned, inference at the profile's input (None where the model cannot run on the meta device).
MEMORY_COLUMNS = ("live_bytes",)
# Keys a training profile's rows gain (archviz profile --train): bytes saved for backward (each storage
# once), counted forward and backward FLOPs, parameter, gradient and optimizer-state bytes (subtree sums).
TRAINING_COLUMNS = ("saved_bytes", "fwd_flops", "bwd_flops", "param_bytes", "grad_bytes", "optim_bytes")


def field_columns(row: dict[str, Any]) -> dict[str, Any]:
    """A row's receptive field as typed columns: kind, then H and W of field, stride and padding
    (the last two spatial dimensions; a 1-D field fills only the W columns)."""
    rf = row.get("receptive_field")
    kind = "spatial" if isinstance(rf, list) else ("global" if rf == "global" else "unknown")
    out: dict[str, Any] = {"rf_kind": kind}
    for prefix, key in (("rf", "receptive_field"), ("stride", "effective_stride"), ("pad", "effective_padding")):
        values = row.get(key) if kind == "spatial" and isinstance(row.get(key), list) else []
        h, w = ([None, *values] if len(values) == 1 else [*values[-2:]] if values else [None, None])
        out[f"{prefix}_h"], out[f"{prefix}_w"] = h, w
    return out
