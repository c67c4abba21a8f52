"""Turn a backend Trace plus its graph analysis into the Profile's rows: per module, per block,
per graph node, and the totals. Pure bookkeeping: no tracing here, no formatting."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from .graph import (GLOBAL, SPATIAL, Field, GraphAnalysis, Lineage, block_kind, block_names,
                    merges_by_scope, module_boundaries)
from .handlers import CONV_LINEAR_OPS, MERGE_OPS
from .trace import ROOT_NAME, Op, Trace

CATEGORY = {"aten::_convolution": "conv", "aten::_convolution_mode": "conv", "aten::linear": "linear", "aten::addmm": "linear",
            "aten::batch_norm": "norm", "aten::layer_norm": "norm", "aten::group_norm": "norm"}


def _num(x: float) -> float | int:
    return int(round(x)) if abs(x - round(x)) < 1e-9 else round(x, 2)


def _channels(shape: Any, axis: int) -> int | None:
    """A tensor's channels along `axis` (1 or -1); None for a tensor without that dimension."""
    if not shape or len(shape) < 2:
        return None
    return shape[axis] if axis == 1 or len(shape) >= 3 else shape[1]


def field_json(field: Field | None) -> dict[str, Any]:
    """JSON view of a field: lists per spatial dim, 'global', or None when unknown."""
    if field is None or field.kind not in (SPATIAL, GLOBAL):
        return {"receptive_field": None, "effective_stride": None, "effective_padding": None}
    if field.kind == GLOBAL:
        return {"receptive_field": "global", "effective_stride": None, "effective_padding": None}
    return {
        "receptive_field": [_num(s) for s in field.size],
        "effective_stride": [_num(j) for j in field.jump],
        "effective_padding": [_num((s - 1) / 2 - c) for s, c in zip(field.size, field.centre)],
    }


def category(op: Op, n_derived: int) -> str:
    if op.kind in MERGE_OPS and n_derived >= 2:
        return "merge"
    if op.kind in CATEGORY:
        return CATEGORY[op.kind]
    if "pool" in op.kind:
        return "pool"
    return "other"


class Assembler:
    def __init__(self, trace: Trace, ga: GraphAnalysis) -> None:
        self.trace, self.ga = trace, ga
        self.lineage = Lineage(trace.modules)
        self.out_value, self.in_values = module_boundaries(trace, ga, self.lineage)
        self.merges = merges_by_scope(trace, ga)
        self.blocks = block_names(trace, self.merges)
        self._block_set = set(self.blocks)
        self.sums = self._sum_by_module()

    def _sum_by_module(self) -> dict[str, dict[str, float]]:
        """Each op's counts on its owning module and every module around it. A fused op's parts
        (op.attrs["parts"]: {child module: {"macs", "activations"}}, the share of a child's layer
        run inside it) also go to the child and the modules between it and the owner, so every
        cost lands on the row that does it while the owner's and the totals' sums stay the same."""
        sums: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

        def book(names: list[str], macs: float, activations: float, kind: str) -> None:
            for name in names:
                s = sums[name]
                s["macs"] += macs
                s["activations"] += activations
                if kind in CONV_LINEAR_OPS:
                    s["conv_linear_macs"] += macs

        for op in self.trace.ops:
            owners = [*self.lineage.ancestors(op.scope), ""]
            book(owners, op.macs, op.activations, op.kind)
            for child, part in op.attrs.get("parts", {}).items():
                inner = [n for n in self.lineage.ancestors(child) if n not in owners]
                book(inner, part.get("macs", 0.0), part.get("activations", 0.0), op.kind)
        return sums

    def outer_block(self, name: str) -> str | None:
        """The outermost block containing module `name` (checked ancestor by ancestor)."""
        for prefix in reversed(self.lineage.ancestors(name)):
            if prefix in self._block_set:
                return prefix
        return None

    def parent_block(self, name: str) -> str | None:
        """The innermost block strictly containing block `name`."""
        for prefix in self.lineage.ancestors(name)[1:]:
            if prefix in self._block_set:
                return prefix
        return None

    def field_of(self, value: str | None) -> Field | None:
        return self.ga.fields.get(value) if value else None

    def made_by(self, value: str | None) -> str | None:
        """The module whose operator produced `value`; for an operator the model's own forward runs
        outside any submodule, the operator named as such ("flatten in the model's forward"), not
        the root row's "(model)", which is no place."""
        if not value or value not in self.ga.producer:
            return None
        op = self.trace.ops[self.ga.producer[value]]
        return op.scope or f"{op.kind.split('::')[-1]} in the model's forward"

    def known_at(self, value: str) -> str | None:
        """Where a known field is: the innermost module around its operator whose own output has a
        known field (a Swin window-attention module's own output is unknown: its inner projection is
        named instead), else the operator inside its module."""
        if value not in self.ga.producer:
            return None
        op = self.trace.ops[self.ga.producer[value]]
        name: str | None = op.scope
        while name:
            own = self.out_value.get(name)
            if own is not None and self.field_of(own) is not None and self.field_of(own).kind == SPATIAL:
                return name
            name = self.trace.modules[name].parent if name in self.trace.modules else None
        return f"{op.kind.split('::')[-1]} in {op.scope}" if op.scope else self.made_by(value)

    def layers(self) -> list[dict[str, Any]]:
        rows = []
        parents = {m.parent for m in self.trace.modules.values() if m.parent is not None}
        shared = {child: op.outputs[0] for op in self.trace.ops if op.outputs
                  for child in (op.attrs.get("parts") or {})}  # a child a fused op runs (out_proj)
        for name, info in self.trace.modules.items():
            value = self.out_value.get(name) or shared.get(name)
            shape = info.output_shape or (self.trace.shapes.get(value) if value else None)
            s = self.sums.get(name, {})
            macs = s.get("macs", 0.0)
            rows.append({
                "name": name or ROOT_NAME, "type": info.type,
                "level": info.level,
                "leaf": name not in parents if name else False,
                "output_shape": shape, "params": info.params, "own_params": info.own_params,
                "macs": _num(macs),
                "flops": _num(2 * macs), "conv_linear_macs": _num(s.get("conv_linear_macs", 0.0)),
                "activations": _num(s.get("activations", 0.0)),
                **field_json(self.field_of(value)),
                "depth": self.ga.depth.get(value) if value else None,
                "block": self.outer_block(name) if name else None,
                "parent": None if info.parent is None else (info.parent or ROOT_NAME),
            })
        return rows

    def channel_axis(self, name: str) -> int:
        """Where a block's tensors keep their channels: dimension 1 (N, C, ...) for convolutional
        blocks, the last for token blocks (a transformer's N x L x C: linear layers and no
        convolution), so a ViT block reads 384 channels, not its 197 tokens."""
        inner = [op for op in self.trace.ops if op.scope == name or op.scope.startswith(name + ".")]
        linear = any(category(op, 0) == "linear" or op.kind == "aten::_native_multi_head_attention" for op in inner)
        conv = any(category(op, 0) == "conv" for op in inner)
        return -1 if linear and not conv else 1

    def block_rows(self) -> list[dict[str, Any]]:
        rows = []
        for name in self.blocks:
            info = self.trace.modules[name]
            out_v = self.out_value.get(name)
            ins = self.in_values.get(name, [])
            f_in = [self.ga.fields[v] for v in ins if v in self.ga.fields]
            widest_in = max((f for f in f_in if f.kind == SPATIAL), key=lambda f: f.size, default=None)
            f_out = self.field_of(out_v)
            out_json = field_json(f_out)
            kinds = sorted({MERGE_OPS[op.kind] for op in self.merges.get(name, [])})
            merge = "+".join(kinds) if kinds else None
            growth = None
            if widest_in and f_out and f_out.kind == SPATIAL:
                growth = [_num(o - i) for o, i in zip(f_out.size, widest_in.size)]
            s = self.sums.get(name, {})
            axis = self.channel_axis(name)
            in_ch = sum(_channels(self.trace.shapes.get(v), axis) or 0 for v in ins)
            out_shape = info.output_shape or self.trace.shapes.get(out_v or "")
            rows.append({
                "name": name, "type": info.type, "kind": block_kind(info.type, merge), "merge": merge,
                "skip": self._has_skip(name, ins), "params": info.params,
                "macs": _num(s.get("macs", 0.0)), "conv_linear_macs": _num(s.get("conv_linear_macs", 0.0)),
                "in_shape": self.trace.shapes.get(ins[0]) if ins else None, "out_shape": out_shape,
                "in_channels": in_ch or None, "out_channels": _channels(out_shape, axis),
                "rf_in": field_json(widest_in)["receptive_field"],
                "rf_out": out_json["receptive_field"], "rf_growth": growth,
                "effective_stride": out_json["effective_stride"],
                "depth_in": max((self.ga.depth.get(v, 0) for v in ins), default=0),
                "depth_out": self.ga.depth.get(out_v) if out_v else None,
                "parent_block": self.parent_block(name),
            })
        return rows

    def _has_skip(self, name: str, ins: list[str]) -> str | None:
        """'identity' when a block input feeds one of its merges directly, or feeds directly a
        merge outside the block that also takes the block's output (DenseNet: every dense layer's
        inputs go straight to its dense block's concat, beside the layer's output), or reaches an add
        through no weighted layer (option A's subsample-and-pad); 'projection' when through a
        weighted layer on a path that skips the main branch, else None."""
        ops = self.merges.get(name, [])
        for op in ops:
            if any(v in ins for v in self.ga.derived.get(op.index, [])):
                return "identity"
        out_v = self.out_value.get(name)
        if out_v and ins:
            for scope, outer in self.merges.items():
                if self.lineage.within(name, scope):
                    continue
                for op in outer:
                    derived = self.ga.derived.get(op.index, [])
                    if out_v in derived and any(v in ins for v in derived):
                        return "identity"
        if not ops:
            return None
        adds = [op for op in ops if MERGE_OPS[op.kind] == "add"]
        depth_in = max((self.ga.depth.get(v, 0) for v in ins), default=0)
        for op in adds:
            depths = [self.ga.depth.get(v, 0) for v in self.ga.derived[op.index]]
            if len(set(depths)) > 1:
                # the shortcut is the shallower operand: through a weighted layer it is a projection;
                # with none (ResNet option A: subsampled, zero-padded channels) still an identity
                return "projection" if min(depths) > depth_in else "identity"
        return None

    def graph_nodes(self) -> list[dict[str, Any]]:
        nodes = []
        for op in self.trace.ops:
            derived = self.ga.derived.get(op.index, [])
            if not derived:
                continue
            out = op.outputs[0] if op.outputs else None
            nodes.append({
                "i": op.index, "op": op.kind.split("::")[-1], "cat": category(op, len(derived)),
                "scope": op.scope, "in": [self.ga.producer.get(v, -1) for v in derived],
                "shape": self.trace.shapes.get(out) if out else None, "macs": _num(op.macs),
                "attrs": {k: v for k, v in op.attrs.items() if k in ("kernel", "stride", "padding", "dilation", "groups")},
                **field_json(self.field_of(out)), "depth": self.ga.depth.get(out) if out else None,
                "block": self.outer_block(op.scope) if op.scope else None,
                "merge": MERGE_OPS.get(op.kind) if len(derived) >= 2 else None,
            })
        return nodes

    def totals(self) -> dict[str, Any]:
        root = self.sums.get("", {})
        macs = root.get("macs", 0.0)
        breakdown: dict[str, float] = defaultdict(float)
        fvcore_macs = 0.0
        for op in self.trace.ops:
            if op.macs:
                breakdown[op.kind.split("::")[-1]] += op.macs
            if op.attrs.get("fvcore"):  # fvcore's own count, where archviz's convention differs too
                fvcore_macs += op.attrs.get("fvcore_macs", op.macs)
        spatial = [(self.ga.producer[v], v) for v, f in self.ga.fields.items()
                   if f.kind == SPATIAL and v in self.ga.producer]
        last = max(spatial)[1] if spatial else None
        out = self.trace.outputs[0] if self.trace.outputs else None
        rf = field_json(self.field_of(out))  # the headline describes the (first) output
        return {
            "params": self.trace.modules[""].params, "macs": _num(macs), "flops": _num(2 * macs),
            "conv_linear_macs": _num(root.get("conv_linear_macs", 0.0)),
            "activations": _num(root.get("activations", 0.0)),
            "fvcore_macs": _num(fvcore_macs),
            "receptive_field": rf["receptive_field"], "effective_stride": rf["effective_stride"],
            "effective_padding": rf["effective_padding"],
            "receptive_field_at": self.made_by(out),
            "last_spatial_field": {**field_json(self.field_of(last)), "at": self.known_at(last)} if last else None,
            "depth": max((self.ga.depth.get(v, 0) for v in self.trace.outputs), default=0),
            "op_breakdown": {k: _num(v) for k, v in sorted(breakdown.items(), key=lambda kv: -kv[1])},
        }
