"""The fvcore counting backend: one scoped jit trace, counted with fvcore's own handler tables
(FLOPs and activations) plus archviz's EXTRA_MAC_HANDLES, turned into a backend-neutral Trace."""

from __future__ import annotations

import threading
import warnings
from collections import Counter
from typing import Any

from .handlers import (OVERRIDE_MAC_HANDLES, CHILD_SHARES, DEPTH_OF, EXTRA_ACTIVATION_HANDLES, EXTRA_MAC_HANDLES, GEOMETRY,
                       MATMUL_OPS, UNPACK_OPS, WEIGHT_OPS, WEIGHTED_DEPTH, ZERO_COST_OPS, shape_of)
from .trace import ModuleInfo, Op, Trace, module_tree


def _tensor_inputs(node: Any) -> list[Any]:
    """A node's tensor operands, with list operands (cat's) flattened."""
    out = []
    for v in node.inputs():
        kind = v.node().kind()
        if kind == "prim::ListConstruct":
            out.extend(i for i in v.node().inputs() if shape_of(i) is not None)
        elif shape_of(v) is not None:
            out.append(v)
    return out


def _number(count: Any) -> float:
    """fvcore handlers return a number or a Counter of numbers."""
    return float(sum(count.values())) if isinstance(count, Counter) else float(count)


def _output_ids(graph: Any) -> list[str]:
    """Tensor ids of the model outputs, looking through tuple/list construction."""
    ids: list[str] = []
    stack = list(graph.outputs())
    while stack:
        v = stack.pop(0)
        if v.node().kind() in ("prim::TupleConstruct", "prim::ListConstruct", "prim::DictConstruct"):
            stack[:0] = list(v.node().inputs())
        elif shape_of(v) is not None:
            ids.append(v.debugName())
    return ids


def _module_infos(tree: list[tuple[Any, str, str | None, tuple[str, ...]]],
                  out_shapes: dict[str, list[int]]) -> dict[str, ModuleInfo]:
    infos: dict[str, ModuleInfo] = {}
    owned: set[int] = set()  # parameters already booked as some module's own (shared: the first)
    for mod, key, parent, path in tree:
        seen: set[int] = set()
        params = 0
        for p in mod.parameters():
            if id(p) not in seen:
                seen.add(id(p))
                params += p.numel()
        own = 0
        for p in mod._parameters.values():
            if p is not None and id(p) not in owned:
                owned.add(id(p))
                own += p.numel()
        infos[key] = ModuleInfo(key, type(mod).__name__, params, out_shapes.get(key), parent, path, own)
    return infos


def _book_child_share(op: Op, kind: str, jit_in: list[Any], jit_out: list[Any],
                      modules: dict[str, ModuleInfo]) -> None:
    """A fused op running a child's layer (CHILD_SHARES): note the child's share of MACs and
    activations in op.attrs["parts"] (the assembler books it on the child's row), and give the
    child, which the fused op never calls, the op's output shape."""
    attr, macs, acts = CHILD_SHARES[kind]
    child = next((m for m in modules.values()
                  if m.parent == op.scope and m.path and m.path[-1] == attr), None)
    if child is None:
        return
    op.attrs["parts"] = {child.name: {"macs": _number(macs(jit_in, jit_out)),
                                      "activations": _number(acts(jit_in, jit_out))}}
    if child.output_shape is None and jit_out:
        child.output_shape = shape_of(jit_out[0])


def _param_owners(model: Any, param_values: list[Any]) -> dict[str, str]:
    """Value id of each parameter/buffer graph input -> key of the module holding that tensor.
    The jit traces a module with its unique state-dict tensors as the graph inputs that follow the
    model's own (torch.jit._trace.ONNXTracedModule), in order; {} where the counts disagree."""
    from torch.jit._trace import _unique_state_dict

    state = list(_unique_state_dict(model, keep_vars=True).values())
    if len(state) != len(param_values):
        return {}
    holder: dict[int, str] = {}
    for mod, key, *_ in module_tree(model):
        for t in (*mod._parameters.values(), *mod._buffers.values()):
            if t is not None:
                holder.setdefault(id(t), key)
    return {v.debugName(): holder[id(t)] for v, t in zip(param_values, state) if id(t) in holder}


def _weight_owner(op: Op, owners: dict[str, str], modules: dict[str, ModuleInfo]) -> str:
    """The module a weighted op runs: the one holding its parameters when that is a module inside
    the op's scope that the scope calls through a function (F.linear(x, self.out_proj.weight) in
    nn.MultiheadAttention's unfused path, Swin's qkv and proj), else the op's scope."""
    held = {owners[v] for v in op.inputs if v in owners}
    if len(held) != 1:
        return op.scope
    owner = held.pop()
    key = modules[owner].parent if owner in modules else None
    while key is not None:
        if key == op.scope:
            return owner
        key = modules[key].parent if key in modules else None
    return op.scope


def _scope_key(node: Any, keys: dict[str, str]) -> str:
    """The key of the module owning `node`. The jit joins nested scope names with "/"; the names
    pushed are our aliases ("m0", "m1", ...), so the last component is exactly one alias."""
    return keys.get(node.scopeName().rsplit("/", 1)[-1], "")


_SCOPES: dict[Any, str] = {}  # module -> scope alias, for every trace in progress in this process
_SCOPES_LOCK = threading.Lock()  # the dashboard traces in two threads at once


def _scoped_trace_graph(model: Any, inputs: tuple[Any, ...], aliases: dict[Any, str]):
    """fvcore's _get_scoped_trace_graph (a jit trace whose nodes are scoped by `aliases[module]`)
    without its two Python hooks per module: the jit pushes and pops each module's scope itself
    around its forward when the module is in torch.jit._trace._trace_module_map. That map is
    global, so it holds the modules of every trace in progress (each model its own modules)."""
    import torch.jit._trace as jit_trace

    with _SCOPES_LOCK:
        _SCOPES.update(aliases)
        jit_trace._trace_module_map = _SCOPES
    try:
        graph, _ = jit_trace._get_trace_graph(model, inputs)
    finally:
        with _SCOPES_LOCK:
            for mod in aliases:
                _SCOPES.pop(mod, None)
            if not _SCOPES and jit_trace._trace_module_map is _SCOPES:
                jit_trace._trace_module_map = None
    return graph


class FvcoreBackend:
    """Counts with fvcore's handler tables on one `torch.jit` trace (fvcore 0.1.5)."""

    name = "fvcore"

    def __init__(self) -> None:
        from fvcore.nn.activation_count import _DEFAULT_SUPPORTED_OPS as ACT_HANDLES
        from fvcore.nn.flop_count import _DEFAULT_SUPPORTED_OPS as FLOP_HANDLES

        self.fvcore_ops = set(FLOP_HANDLES)
        self.fvcore_handles = FLOP_HANDLES
        # fvcore's tables first, then archviz's rows where archviz's convention differs (adaptive
        # pooling: per output window, as fixed pooling), then the ops fvcore leaves uncounted
        self.mac_handles = {**EXTRA_MAC_HANDLES, **FLOP_HANDLES, **OVERRIDE_MAC_HANDLES}
        self.act_handles = {**EXTRA_ACTIVATION_HANDLES, **ACT_HANDLES}

    def _graph(self, model: Any, inputs: tuple[Any, ...]):
        import torch

        # The jit pushes aliases[module] as the jit scope name, and the jit joins nested scopes with
        # "/": give it ids that cannot contain "/" and map them back to the modules' keys.
        tree = module_tree(model)
        aliases = {mod: f"m{i}" for i, (mod, *_) in enumerate(tree)}
        keys = {f"m{i}": key for i, (_, key, *_) in enumerate(tree)}
        out_shapes: dict[str, list[int]] = {}

        def record(name: str):
            def hook(_mod, _inp, out):
                if isinstance(out, torch.Tensor):
                    # Read the shape with tracing paused: traced sizes would be slow and add nodes.
                    state = torch._C._get_tracing_state()
                    torch._C._set_tracing_state(None)
                    try:
                        out_shapes[name] = list(out.shape)
                    finally:
                        torch._C._set_tracing_state(state)
            return hook

        from . import module_stack

        caught: dict[tuple[str, str], None] = {}  # (module key, message), in order, once each

        def keep(message, _category, *_where, **_kw) -> None:  # warnings.showwarning's signature
            caught.setdefault((stack[-1] if stack else "", str(message).strip()), None)

        handles = [mod.register_forward_hook(record(key)) for mod, key, *_ in tree]
        try:
            # Tracer warnings (a tensor read as a Python value, a data-dependent branch) are the
            # trace's caveats: kept, with the module running, for the profile's notes. Others: silent.
            with module_stack(model, [(key, mod) for mod, key, *_ in tree]) as stack, \
                    warnings.catch_warnings(record=True):
                warnings.simplefilter("ignore")
                warnings.simplefilter("always", torch.jit.TracerWarning)
                warnings.showwarning = keep
                graph = _scoped_trace_graph(model, inputs, aliases)
        finally:
            for h in handles:
                h.remove()
        return graph, _module_infos(tree, out_shapes), keys, list(caught)

    def trace(self, model: Any, inputs: tuple[Any, ...]) -> Trace:
        graph, modules, keys, caught = self._graph(model, inputs)
        graph_inputs = list(graph.inputs())
        n_in = len(inputs)
        model_inputs = [v.debugName() for v in graph_inputs[:n_in]]
        params = {v.debugName() for v in graph_inputs[n_in:]}
        owners = _param_owners(model, graph_inputs[n_in:])
        shapes: dict[str, list[int] | None] = {v.debugName(): shape_of(v) for v in graph_inputs}
        ops: list[Op] = []
        uncounted: Counter[str] = Counter()
        for node in graph.nodes():
            kind = node.kind()
            if kind in UNPACK_OPS and kind.startswith("prim::"):  # list of tensors -> tensors
                outs = [v.debugName() for v in node.outputs()]
                for v in node.outputs():
                    shapes[v.debugName()] = shape_of(v)
                ops.append(Op(len(ops), kind, _scope_key(node, keys),
                              [v.debugName() for v in node.inputs()], outs))
                continue
            if kind.startswith("prim::"):
                continue
            jit_in, jit_out = list(node.inputs()), list(node.outputs())
            tensors = _tensor_inputs(node)
            for v in jit_out:
                shapes[v.debugName()] = shape_of(v)
            op = Op(len(ops), kind, _scope_key(node, keys),
                    [v.debugName() for v in tensors], [v.debugName() for v in jit_out])
            if kind in GEOMETRY:
                op.attrs = GEOMETRY[kind](jit_in)
            op.attrs["fvcore"] = kind in self.fvcore_ops
            if kind in OVERRIDE_MAC_HANDLES and kind in self.fvcore_ops:  # what fvcore itself counts
                op.attrs["fvcore_macs"] = _number(self.fvcore_handles[kind](jit_in, jit_out))
            if kind in self.mac_handles:
                op.macs = _number(self.mac_handles[kind](jit_in, jit_out))
            elif kind not in ZERO_COST_OPS and any(shape_of(v) for v in jit_out):
                op.counted = False  # no rule for a tensor op (arithmetic on sizes, 0-dim, costs 0)
                uncounted[kind] += 1
            if kind in self.act_handles:
                op.activations = _number(self.act_handles[kind](jit_in, jit_out))
            if kind in CHILD_SHARES:
                _book_child_share(op, kind, jit_in, jit_out, modules)
            if kind in UNPACK_OPS:  # chunk/split: the list output carries the input's positions
                op.inputs = op.inputs[:1]
            op.weighted = kind in WEIGHT_OPS or (
                kind in MATMUL_OPS and any(v in params for v in op.inputs))
            if op.weighted:
                op.attrs["depth"] = (DEPTH_OF[kind](jit_in) if kind in DEPTH_OF
                                     else WEIGHTED_DEPTH.get(kind, 1))
                op.scope = _weight_owner(op, owners, modules)
            ops.append(op)
        return Trace(ops, shapes, model_inputs, _output_ids(graph), params,
                     modules, dict(uncounted), self.name, caught)
