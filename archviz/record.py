"""The one record passed everywhere: a `Profile` is what the profiler makes, the store keeps and
every renderer reads. It holds plain data only (no torch), so a cached profile costs no heavy import."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

from .columns import (FIELD_COLUMNS, LAYER_COLUMNS, MEASURED_COLUMNS, TYPED_FIELD_COLUMNS,  # noqa: F401
                      field_columns)

SCHEMA_VERSION = 6  # 2: layer rows carry `parent`; 3: `layout`, totals describe the output;
# 4: `measurement` (archviz profile --measure) and the measured layer keys; 5: graph nodes carry
# `groups`, and a gate whose field is unknown is off the depth path (profiles made before differ);
# 6: `memory` (inference memory, every profile) and `training` (archviz profile --train), layer rows
# carry `live_bytes` (and with --train the TRAINING_COLUMNS)

class DataflowGraph(list):
    """`Profile.graph`: the traced dataflow graph, a list of op records (JSON as a plain list).
    Called, `p.graph()`, it is the interactive architecture graph (open groups in place, overlays,
    search, export) shown inline in a notebook; `.save(path, expand=[...], colour="macs")` draws
    a chosen state to a file."""

    profile: "Profile | None" = None

    def __call__(self):
        from .render.graph.widget import GraphWidget

        return GraphWidget(self.profile)


@dataclass(repr=False)
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
    layout: str = ""  # how the input is read: NCHW, NCL, NLC, NC, ... (README: Conventions)
    measurement: dict[str, Any] | None = None  # archviz.measure: device, dtype, peaks, totals
    memory: dict[str, Any] | None = None  # archviz.training: inference weights, peak activations, timeline
    training: dict[str, Any] | None = None  # archviz.training: one training step (profile --train)
    schema: int = SCHEMA_VERSION

    def __post_init__(self) -> None:
        self.graph = DataflowGraph(self.graph)
        self.graph.profile = self
        if not self.layout:
            from .build import rank_layout

            self.layout = rank_layout(len(self.input_shape))

    # -- views -------------------------------------------------------------------------------
    @property
    def table(self):
        """The per-layer table as a pandas DataFrame, one row per module (root included), every
        column of one type: the receptive field, stride and padding become numeric `rf_h`, `rf_w`,
        `stride_h`, `stride_w`, `pad_h`, `pad_w` (nullable floats: NA where the field is global or
        unknown, `rf_h` NA for 1-D inputs) with `rf_kind` saying which: spatial, global or unknown."""
        import pandas as pd

        plain = [c for c in LAYER_COLUMNS if c not in FIELD_COLUMNS]
        df = pd.DataFrame([{**{c: r.get(c) for c in plain}, **field_columns(r)} for r in self.layers],
                          columns=[*plain[:plain.index("depth")], *TYPED_FIELD_COLUMNS,
                                   *plain[plain.index("depth"):]])
        for col in ("params", "level", "depth"):
            df[col] = df[col].astype("Int64")
        for col in TYPED_FIELD_COLUMNS[1:]:
            df[col] = df[col].astype("Float64")
        return df

    def diagram(self, level: str = "blocks", **options: Any):
        """The block diagram, shown inline in a notebook; `.svg`, `.save(path)` (needs graphviz)."""
        from .render.diagram import Diagram

        return Diagram(self, level, **options)

    def to_csv(self, depth: int | None = None) -> str:
        """The layer table as CSV text, header first (what `archviz profile -f csv` prints)."""
        from .render.table import to_csv

        return to_csv(self, depth)

    def to_markdown(self, depth: int | None = None) -> str:
        from .render.table import to_markdown

        return to_markdown(self, depth)

    def __repr__(self) -> str:
        t = self.totals
        rf = t.get("receptive_field")
        rf_text = "x".join(f"{v:g}" for v in rf) if isinstance(rf, list) else str(rf)
        if rf == "global" and t.get("receptive_field_at"):
            rf_text += f" (at {t['receptive_field_at']})"
        shape = "x".join(str(d) for d in self.input_shape)
        return (f"<Profile {self.model} input {shape}: params {t['params']:,}, MACs {t['macs']:,}, "
                f"depth {t['depth']}, receptive field {rf_text}>")

    def _repr_html_(self) -> str:
        from .render.notebook import profile_html

        return profile_html(self)

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
        keep = ["model", "model_class", "input_shape", "layout", "totals", "layers", "blocks",
                "uncounted_ops", "conventions", "versions", "catalog", "notes", "measurement",
                "memory", "training"]
        return {k: data[k] for k in keep}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "Profile":
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    @classmethod
    def from_json(cls, text: str) -> "Profile":
        return cls.from_dict(json.loads(text))
