"""Synthetic Profile records for the Atlas's scale test and benchmark: plain chains of 3x3
convolutions whose figures are computed by hand here (params = 9·Cin·Cout + Cout, MACs =
9·Cin·Cout·H·W), so each record is internally consistent: the totals are the sums of its layers.
They are stored under catalogue names to get real years and families, in a temporary store only."""

from __future__ import annotations

import random

from archviz.record import Profile
from archviz.store import Store, make_key

NOTE = "synthetic: a chain of 3x3 convolutions made by tests/synthetic_atlas.py, not this model"


def conv_chain(name: str, n_layers: int, width: int, size: int = 224) -> Profile:
    """A chain of `n_layers` 3x3 convs (stride 2 every few layers) then a 1000-way linear layer."""
    layers, cin, hw, params, macs, acts = [], 3, size, 0, 0, 0
    stride_every = max(1, n_layers // 5)
    for i in range(n_layers):
        cout = min(width * 2 ** (i // stride_every), 2048)
        if i % stride_every == 0 and hw > 7:
            hw //= 2
        p, m = 9 * cin * cout + cout, 9 * cin * cout * hw * hw
        layers.append({"name": f"conv{i}", "type": "Conv2d", "level": 1, "leaf": True, "parent": "(model)",
                       "output_shape": [1, cout, hw, hw], "params": p, "own_params": p, "macs": m, "flops": 2 * m,
                       "conv_linear_macs": m, "activations": cout * hw * hw, "receptive_field": None,
                       "effective_stride": None, "effective_padding": None, "depth": i + 1, "block": None})
        params, macs, acts, cin = params + p, macs + m, acts + cout * hw * hw, cout
    p, m = cin * 1000 + 1000, cin * 1000
    layers.append({"name": "fc", "type": "Linear", "level": 1, "leaf": True, "parent": "(model)",
                   "output_shape": [1, 1000], "params": p, "own_params": p, "macs": m, "flops": 2 * m,
                   "conv_linear_macs": m, "activations": 1000, "receptive_field": "global",
                   "effective_stride": None, "effective_padding": None, "depth": n_layers + 1, "block": None})
    params, macs, acts = params + p, macs + m, acts + 1000
    root = {"name": "(model)", "type": "Chain", "level": 0, "leaf": False, "parent": None,
            "output_shape": [1, 1000], "params": params, "own_params": 0, "macs": macs, "flops": 2 * macs,
            "conv_linear_macs": macs, "activations": acts, "receptive_field": "global",
            "effective_stride": None, "effective_padding": None, "depth": n_layers + 1, "block": None}
    totals = {"params": params, "macs": macs, "flops": 2 * macs, "conv_linear_macs": macs, "activations": acts,
              "fvcore_macs": macs, "receptive_field": "global", "depth": n_layers + 1, "op_breakdown": {}}
    return Profile(model=name, input_shape=[1, 3, size, size], totals=totals, layers=[root, *layers],
                   notes=[NOTE], model_class="Chain", layout="NCHW")


def fill_store(store: Store, names: list[str], versions: dict[str, str], seed: int = 0) -> dict[str, Profile]:
    """Store one synthetic profile per name under its default and explicit keys, as the service does."""
    rng = random.Random(seed)
    out = {}
    for name in names:
        prof = conv_chain(name, rng.randint(6, 160), rng.choice([16, 32, 64]))
        keys = [make_key(name, "default", versions), make_key(name, "1x3x224x224", versions)]
        store.put(keys, prof, "1x3x224x224")
        out[name] = prof
    return out
