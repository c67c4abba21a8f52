"""A Profile as a notebook shows it (`Profile._repr_html_`): headline cards, the block diagram as
inline SVG and the layer table collapsed to two levels. Styles are inline: a notebook loads no CSS
of ours, and the output must look the same in Jupyter, VS Code and an exported HTML file."""

from __future__ import annotations

from typing import TYPE_CHECKING

import html

from .numbers import layer_cell, printable, shape
from .summary import headline

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

TABLE_DEPTH = 2
MAX_ROWS = 80
_CARD = ("display:inline-block;min-width:120px;margin:0 8px 8px 0;padding:6px 10px;border-left:3px solid "
         "#1f6feb;background:#f6f8fa;border-radius:4px;vertical-align:top")
_CELL = "padding:2px 8px;border-bottom:1px solid #e5e7eb;white-space:nowrap"
COLUMNS = [("name", "Layer", "left"), ("type", "Type", "left"), ("output_shape", "Output", "right"),
           ("params", "Params", "right"), ("macs", "MACs", "right"), ("receptive_field", "RF", "right"),
           ("effective_stride", "Stride", "right"), ("depth", "Depth", "right")]


def _cards(p: Profile) -> str:
    e = html.escape
    return "".join(f'<div style="{_CARD}"><div style="font-size:11px;color:#57606a">{e(k)}</div>'
                   f'<div style="font-size:18px;font-weight:600">{e(v)}</div>'
                   f'<div style="font-size:11px;color:#57606a">{e(n)}</div></div>' for k, v, n in headline(p))


def layer_table(p: Profile, depth: int = TABLE_DEPTH, max_rows: int = MAX_ROWS) -> str:
    rows = [r for r in p.layers if r["level"] <= depth]
    shown = rows[:max_rows]
    head = "".join(f'<th style="{_CELL};text-align:{a}">{t}</th>' for _, t, a in COLUMNS)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL};text-align:{a}">{html.escape(layer_cell(c, r[c], r["level"]))}</td>'
                         for c, _, a in COLUMNS) + "</tr>" for r in shown)
    hidden = len(p.layers) - len(shown)
    note = (f'<div style="font-size:11px;color:#57606a">{hidden} more rows below level {depth}'
            f'{" or past row " + str(max_rows) if len(rows) > max_rows else ""}: <code>p.table</code> has '
            "every module.</div>") if hidden else ""
    return (f'<table style="border-collapse:collapse;font-size:12px"><thead><tr>{head}</tr></thead>'
            f"<tbody>{body}</tbody></table>{note}")


def _diagram(p: Profile) -> str:
    """The interactive graph view (its first state drawn statically until the script runs)."""
    from .graph.widget import notebook_html

    return notebook_html(p)


def profile_html(p: Profile) -> str:
    e = html.escape
    title = f"{printable(p.model)} · input {shape(p.input_shape)}"
    return (f'<div class="archviz-profile" style="font-family:DejaVu Sans,Arial,sans-serif">'
            f'<div style="font-size:15px;font-weight:600;margin-bottom:6px">{e(title)}</div>'
            f"<div>{_cards(p)}</div>{_diagram(p)}{layer_table(p)}"
            f'<div style="font-size:11px;color:#57606a;margin-top:4px">MACs: one multiply-add = 1 (fvcore); '
            f"FLOPs = 2 × MACs. p.graph(), p.diagram(), p.table, p.to_csv(), archviz.report(p).</div></div>")
