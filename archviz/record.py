"""The one record passed everywhere: a `Profile` is what the profiler makes, the store keeps and
every renderer reads. It holds plain data only (no torch), so a cached profile costs no heavy import."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 2  # 2: layer rows carry `parent`

# Columns of the per-layer table, in order: the public JSON contract names the first ones.
# `name` is a module's key: its attribute names joined by "." (made unique with "#2", ...), so it is
# text to show, never to split; `parent` is the enclosing module's row name ("(model)" for the
# root's children, None for the root), `level` the module's depth in the tree.
LAYER_COLUMNS = [
    "name", "type", "level", "leaf", "output_shape", "params", "macs", "flops",
    "conv_linear_macs", "activations", "receptive_field", "effective_stride",
    "effective_padding", "depth", "block", "parent",
]


@dataclass
class Profile:
    """Everything archviz knows about one model at one input shape."""

    model: str
    input_shape: list[int]
    totals: dict[str, Any]
    layers: list[dict[str, Any]]
    blocks: list[dict[str, Any]] = field(default_factory=list)
    graph: list[dict[str, Any]] = field(default_factory=list)
    uncounted_ops: dict[str, int] = field(default_factory=dict)
    conventions: dict[str, str] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)
    catalog: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)
    model_class: str = ""
    schema: int = SCHEMA_VERSION

    # -- views -------------------------------------------------------------------------------
    @property
    def table(self):
        """The per-layer table as a pandas DataFrame (one row per module, root included)."""
        import pandas as pd

        return pd.DataFrame(self.layers, columns=LAYER_COLUMNS)

    def layer(self, name: str) -> dict[str, Any]:
        for row in self.layers:
            if row["name"] == name:
                return row
        raise KeyError(name)

    def top_blocks(self) -> list[dict[str, Any]]:
        """Blocks that are not nested inside another block."""
        return [b for b in self.blocks if not b.get("parent_block")]

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self, indent: int | None = None) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    def contract(self) -> dict[str, Any]:
        """The public JSON contract of `archviz profile --format json` (see README)."""
        data = self.to_dict()
        keep = ["model", "model_class", "input_shape", "totals", "layers", "blocks",
                "uncounted_ops", "conventions", "versions", "catalog", "notes"]
        return {k: data[k] for k in keep}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Profile":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        return cls.from_dict(json.loads(text))
