"""`archviz diff` faces: a Diff as terminal text, JSON, Markdown and an HTML section (the report's
"What changed"). Reads a Diff (archviz.diff); formats only. Names are user text: printable in text,
escaped in Markdown and HTML."""

from __future__ import annotations

import html
import json
from typing import Any

from ..diff import Change, Diff, Layer
from .numbers import grouped, human, pair, printable
from .table import markdown_text

KINDS = ("added", "removed", "changed")


def _geometry(x: Layer | None) -> str:
    if x is None:
        return ""
    parts = [x.type]
    if x.kernel:
        parts.append(f"k{pair(x.kernel)}")
    if x.stride and any(v != 1 for v in x.stride):
        parts.append(f"/{pair(x.stride)}")
    if x.padding and any(v for v in x.padding):
        parts.append(f"p{pair(x.padding)}")
    if "Adaptive" in x.type and x.output:
        parts.append(f"to {pair(x.output)}")
    if x.channels_in is not None or x.channels_out is not None:
        parts.append(f"{x.channels_in if x.channels_in is not None else '?'}→{x.channels_out}")
    return " ".join(parts)


def signed(v: float) -> str:
    return "0" if not v else f"{'+' if v > 0 else '−'}{grouped(abs(v))}"


def change_rows(d: Diff) -> list[dict[str, str]]:
    """One row per change: kind, block, A's layer, B's layer, what it is in A and B, its cost."""
    return [{"change": c.kind, "block": printable(c.block), "A": printable(c.a.name) if c.a else "",
             "B": printable(c.b.name) if c.b else "", "A is": _geometry(c.a), "B is": _geometry(c.b),
             "differs": ", ".join(c.what), "params": signed(c.delta("params")), "MACs": signed(c.delta("macs"))}
            for c in d.changes]


def block_rows(d: Diff) -> list[dict[str, str]]:
    out = []
    for b in d.blocks:
        if not (b.added or b.removed or b.changed) and all(b.delta(k) == 0 for k in ("params", "macs")):
            continue
        out.append({"block": printable(b.block), "added": str(b.added), "removed": str(b.removed),
                    "changed": str(b.changed), "params": signed(b.delta("params")), "MACs": signed(b.delta("macs")),
                    "activations": signed(b.delta("activations")),
                    "field": f"{pair(b.a.get('receptive_field'))} → {pair(b.b.get('receptive_field'))}",
                    "depth": f"{b.a.get('depth', '-')} → {b.b.get('depth', '-')}"})
    return out


def summary(d: Diff) -> list[str]:
    t = d.totals
    line = (f"{printable(d.a)} → {printable(d.b)}: {d.count('added')} layers added, {d.count('removed')} removed, "
            f"{d.count('changed')} changed, {d.matched} the same (activations and dropout not listed)")
    figures = []
    for key, label in (("params", "params"), ("macs", "MACs"), ("activations", "activations")):
        a, b = t[key]
        figures.append(f"{label} {grouped(a)} → {grouped(b)} ({signed((b or 0) - (a or 0))})")
    ra, rb = t["receptive_field"]
    da, db = t["depth"]
    figures.append(f"receptive field {pair(ra)} → {pair(rb)}; depth {da} → {db}")
    return [line, "; ".join(figures[:3]), figures[3]] if not d.same else [
        f"{printable(d.a)} and {printable(d.b)}: no changes ({d.matched} layers the same)"]


def to_json(d: Diff) -> str:
    def layer(x: Layer | None) -> dict[str, Any] | None:
        return None if x is None else {k: getattr(x, k) for k in (
            "name", "type", "block", "kernel", "stride", "padding", "channels_in", "channels_out", "params", "macs",
            "activations", "receptive_field", "depth")}

    def change(c: Change) -> dict[str, Any]:
        return {"change": c.kind, "block": c.block, "a": layer(c.a), "b": layer(c.b), "differs": c.what,
                "delta": {k: c.delta(k) for k in ("params", "macs", "activations")}}

    return json.dumps({
        "a": d.a, "b": d.b, "input_a": d.input_a, "input_b": d.input_b, "same": d.same,
        "counts": {k: d.count(k) for k in KINDS} | {"same": d.matched},
        "totals": {k: {"a": a, "b": b} for k, (a, b) in d.totals.items()},
        "blocks": [{"block": b.block, "a": b.a, "b": b.b, "added": b.added, "removed": b.removed,
                    "changed": b.changed} for b in d.blocks],
        "changes": [change(c) for c in d.changes]}, indent=2) + "\n"


def _md_table(rows: list[dict[str, str]]) -> list[str]:
    if not rows:
        return []
    keys = list(rows[0])
    return ["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys),
            *["| " + " | ".join(markdown_text(r[k]) for k in keys) + " |" for r in rows], ""]


def to_markdown(d: Diff) -> str:
    lines = [f"# What changed: {markdown_text(printable(d.a))} → {markdown_text(printable(d.b))}", "",
             *(markdown_text(s) for s in summary(d)), ""]
    if not d.same:
        lines += ["## By block", "", *_md_table(block_rows(d)), "## Layers", "", *_md_table(change_rows(d))]
    return "\n".join(lines) + "\n"


def _html_table(rows: list[dict[str, str]], cls: str) -> str:
    if not rows:
        return ""
    keys = list(rows[0])
    head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
    body = "".join("<tr class=\"diff-" + html.escape(r.get("change", "block")) + "\">"
                   + "".join(f"<td>{html.escape(r[k])}</td>" for k in keys) + "</tr>" for r in rows)
    return f'<div class="tablewrap"><table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def to_html(d: Diff) -> str:
    """The "What changed" section: the summary, then per block, then each layer."""
    parts = [f'<p class="diff-summary">{html.escape(line)}</p>' for line in summary(d)]
    if not d.same:
        parts += ["<h3>By block</h3>", _html_table(block_rows(d), "compare diff-blocks"),
                  "<h3>Layers added, removed or changed</h3>", _html_table(change_rows(d), "compare diff-layers")]
    return "\n".join(parts)


def page(d: Diff) -> str:
    """`archviz diff -f html`: a self-contained page (the report's stylesheet, no script)."""
    from . import css

    title = f"What changed: {printable(d.a)} → {printable(d.b)}"
    return (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{css()}</style></head><body><main><section><h2>{html.escape(title)}</h2>{to_html(d)}"
            "</section></main></body></html>\n")


def to_text(d: Diff) -> str:
    """Plain text for the terminal: the summary, blocks and layers as aligned columns."""
    def table(rows: list[dict[str, str]]) -> list[str]:
        if not rows:
            return []
        keys = list(rows[0])
        widths = {k: max(len(k), *(len(r[k]) for r in rows)) for k in keys}
        fmt = lambda r: "  ".join(str(r[k]).ljust(widths[k]) for k in keys).rstrip()  # noqa: E731
        return [fmt({k: k for k in keys}), *(fmt(r) for r in rows), ""]

    lines = [*summary(d), ""]
    if not d.same:
        lines += ["By block:", *table(block_rows(d)), "Layers:", *table(change_rows(d))]
    return "\n".join(lines).rstrip() + "\n"


FORMATS = {"table": to_text, "json": to_json, "markdown": to_markdown, "html": page}
