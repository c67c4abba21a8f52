"""The self-contained HTML report: one model, or several side by side. Reads Profiles only
(from the store when warm: no torch), embeds plotly.js, the CSS and the diagram SVG; writes atomically."""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any, TYPE_CHECKING

from ..build import shape_text
from ..catalog import accuracy, top1_text
from . import charts, render_page, script_json
from .colours import page_colours
from ..files import write_atomic
from .graph import Graph
from .graph.widget import css as graph_css, page_data, scripts as graph_scripts, static_svg
from .numbers import grouped, human, layer_cell, printable, shape
from .summary import field_brief, headline
from .table import above_text, quality_lines, raised_text, spread_text, to_csv

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

COLUMNS = [("name", "Layer", "name", True), ("type", "Type", "str", True), ("output_shape", "Output", "str", False),
           ("params", "Params", "num", False), ("macs", "MACs", "num", False), ("flops", "FLOPs", "num", False),
           ("activations", "Activations", "num", False), ("receptive_field", "RF", "num", False),
           ("effective_stride", "Stride", "num", False), ("depth", "Depth", "num", False),
           ("block", "Block", "name", True)]
KEY_COLUMNS = {"name", "type", "output_shape", "params", "macs"}  # what a narrow screen shows first


def _sort_key(col: str, v: Any) -> Any:
    if col in ("receptive_field", "effective_stride"):
        return 1e9 if v == "global" else (v[0] if isinstance(v, list) else "")
    if col == "output_shape":
        return shape(v)
    return "" if v is None else v


BLOCK_TAIL = 14  # characters of a block's name the Block column shows (the full name on hover)
NARROW_NAME = 26  # characters of a long name kept on a narrow screen (its tail: the most specific part)


def split_tail(name: str, keep: int = NARROW_NAME) -> tuple[str, str]:
    """'features.denseblock1.denselayer1.norm1' -> ('features.denseblock1.', 'denselayer1.norm1'): the
    head a narrow screen hides (the nesting indent already shows it) and the tail it keeps, cut
    between dotted parts; a short name is all tail."""
    if len(name) <= keep or "." not in name:
        return "", name
    parts = name.split(".")
    tail = parts[-1]
    for part in reversed(parts[:-1]):
        if len(part) + 1 + len(tail) > keep:
            break
        tail = f"{part}.{tail}"
    return name[:len(name) - len(tail)], tail


def _cell(col: str, v: Any, level: int) -> dict[str, Any]:
    """A layer-table cell: its text (jinja escapes it), its sort key, and for names the indent and
    the head / tail split a narrow screen uses."""
    cell = {"text": layer_cell(col, v, level), "sort": _sort_key(col, v)}
    if col == "name":
        text = printable(v)
        cell["indent"] = cell["text"][:len(cell["text"]) - len(text)]
        cell["head"], cell["tail"] = split_tail(text)
    if col == "block" and v:  # the block's own name (the row's name already says where it sits)
        cell["indent"] = ""
        cell["head"], cell["tail"] = split_tail(printable(v), BLOCK_TAIL)
    return cell


def _cards(p: Profile) -> list[dict[str, str]]:
    return [{"k": k, "v": v, "n": n} for k, v, n in headline(p)]


def _notes(p: Profile) -> list[str]:
    notes = list(p.notes)
    quirk = (p.catalog or {}).get("quirk")
    if quirk:
        notes.append(quirk)
    if not p.uncounted_ops:
        notes.append("Every traced operator has a counting rule (no uncounted ops).")
    return notes


def csv_link(p: Profile) -> dict[str, str]:
    """The layer table as a CSV download that works offline: a base64 data URI (the same CSV as
    `archviz profile MODEL -f csv`) and a file name."""
    data = base64.b64encode(to_csv(p, None).encode()).decode()
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in p.model)
    return {"href": f"data:text/csv;base64,{data}", "name": f"{safe}-layers.csv"}


def model_context(p: Profile, i: int, colour: str, graph: Graph | None = None,
                  doms: dict | None = None) -> dict[str, Any]:
    """One model's part of a page; `graph` given, its graph view's first state drawn statically
    (what shows before the script lays it out, and where scripts do not run)."""
    cat = p.catalog or {}
    return {
        "model": p.model, "label": charts.label_of(p), "colour": colour, "anchor": f"m{i}",
        "cards": _cards(p), "history": cat.get("history"),
        "published": accuracy(p.model) if cat.get("published") else None,  # the one accuracy rule
        "svg": static_svg(graph, graph.expanded(), doms) if graph else "", "notes": _notes(p), "csv": csv_link(p),
        "rows": [[_cell(c, r[c], r["level"]) for c, *_ in COLUMNS] for r in p.layers],
    }


def _compare_rows(profiles: list[Profile]) -> list[dict[str, Any]]:
    def row(k, f):
        return {"k": k, "v": [f(p) for p in profiles]}
    return [
        row("Parameters", lambda p: grouped(p.totals["params"])),
        row("MACs", lambda p: human(p.totals["macs"])),
        row("FLOPs (2 × MACs)", lambda p: human(p.totals["flops"])),
        row("Conv + linear MACs", lambda p: human(p.totals["conv_linear_macs"])),
        row("Depth", lambda p: p.totals["depth"]),
        row("Receptive field", lambda p: field_brief(p.totals)[0]),
        row("Effective stride", lambda p: field_brief(p.totals)[1]),
        row("Activations", lambda p: human(p.totals["activations"])),
        row("Blocks", lambda p: len(p.top_blocks())),
        row("Top-1 (original V1 weights)", lambda p: top1_text(accuracy(p.model) if p.catalog and p.catalog.get("published") else None)),
    ]


CHART_TITLES = {"chart-depth": "MACs and params", "chart-rf": "Receptive field", "chart-channels": "Channels",
                "chart-share": "Layer types"}
CHART_NOTES = {"chart-depth": (
    "Cumulative MACs and parameters: each curve climbs by what the layers at that depth add, ending at the "
    "model's totals. A steep step is where the work (left) or the weights (right) sit.",
    "Cumulative MACs and parameters, one line per model (one hue per family, lighter = smaller): each "
    "curve climbs by what the layers at that depth add and ends at the model's totals."),
    "chart-rf": (
    "Receptive field (left): the largest field reached up to each depth on the traced graph, so the "
    "curve never steps back; feature-map height (right) at each depth.",
    "Receptive field (left): the largest field reached up to each depth, one line per model; "
    "feature-map height (right) at each depth."),
    "chart-channels": (  # (one model, comparison)
    "Channel width: the thick line is the feature map between blocks (a block's input and output, and "
    "its width after each concatenation or addition); each conv / linear is a thin stroke from the "
    "channels entering it to the channels it makes (dot). Shaded bands are the top-level blocks, "
    "transitions tinted orange. Hover for names and widths.",
    "Channel width: one line per model for the feature map between blocks (a block's input and output, "
    "and its width after each concatenation or addition); dots are the channels each conv / linear "
    "makes. Hover for names and widths.")}


def measured_context(p: Profile, i: int) -> dict[str, Any] | None:
    """The "Measured speed" section of one measured model (None when it was not measured): the
    roofline's chart id, the setting in a sentence and the totals as text."""
    m = charts.measurement_of(p)
    if m is None:
        return None
    t = m["total"]
    rows = [("Eager run", f"{t['eager_ms']:.3g} ms, {spread_text(t)}"),
            ("Sum of the layers", f"{t['layer_sum_ms']:.3g} ms; gap {t['gap_pct']:.1f}% "
                                  "(time outside the timed layers: Python, dispatch, operations outside modules)")]
    if t.get("graph_ms") is not None:
        rows.append(("Captured graph", f"{t['graph_ms']:.3g} ms"))
    if t.get("launch_gap_ms") is not None:
        rows.append(("Launch gap (eager − graph)", f"{t['launch_gap_ms']:.3g} ms"))
    share = charts.achieved_share(p)
    if share:
        rows.append(("Whole model", f"{charts.si(share['achieved'], 'FLOP/s')} achieved: "
                                    f"{100 * share['share']:.1f}% of the {charts.si(m['peaks']['flops'], 'FLOP/s')} peak"))
    peaks = m["peaks"]
    roofs = ", ".join(f"{r['level']} {charts.si(r['bytes_per_s'], 'B/s')}" for r in charts.memory_roofs(peaks))
    sentence = (f"Measured on {m.get('device')} in {m.get('dtype')}, batch {m.get('batch')}, {m.get('threads')} "
                f"thread(s): median of {m.get('repeat')} runs after {m.get('warmup')} warm-up runs. Compute roof "
                f"{charts.si(peaks['flops'], 'FLOP/s')}; memory roofs {roofs}; {charts.peak_source(peaks)}.")
    q = m.get("quality") if isinstance(m.get("quality"), dict) else {}
    notes = [*(f"Peaks: {n}" for n in peaks.get("unstable") or []),
             *(f"Roof raised: {raised_text(n)}" for n in peaks.get("raised") or []),
             *(f"Above the given roof: {above_text(a)}" for a in peaks.get("above") or [])]
    return {"id": f"chart-roofline-{i}", "label": charts.label_of(p), "sentence": sentence,
            "rows": [{"k": k, "v": v} for k, v in rows], "quality": quality_lines(m)[0],
            "noisy": q.get("grade") == "noisy", "notes": notes,
            "throughput_id": f"chart-throughput-{i}" if m.get("throughput") else None}


def memory_context(p: Profile, i: int) -> dict[str, Any]:
    """The "Memory" section of one model: its cards and its live-memory chart's id."""
    return {"id": f"chart-memory-{i}", "label": charts.label_of(p),
            "cards": [{"k": k, "v": v, "n": n} for k, v, n in charts.memory_cards(p)],
            "train": bool(p.training)}


def render_html(profiles: list[Profile], command: str | None = None) -> str:
    compare = len(profiles) > 1
    figures = {"chart-depth": charts.macs_params_along_depth(profiles),
               "chart-rf": charts.receptive_field_along_depth(profiles),
               "chart-channels": charts.channels_along_depth(profiles),
               "chart-share": charts.share_by_type(profiles)}
    measured = [c for c in (measured_context(p, i) for i, p in enumerate(profiles)) if c]
    measured_profiles = [p for p in profiles if charts.measurement_of(p) is not None]
    roofs = {c["id"]: charts.roofline([p]) for c, p in zip(measured, measured_profiles)}
    roofs.update({c["throughput_id"]: charts.throughput(p) for c, p in zip(measured, measured_profiles)
                  if c["throughput_id"]})
    if len(measured) > 1:  # several measured models: counted MACs beside measured time
        roofs["chart-counted-measured"] = charts.counted_vs_measured(profiles)
    memory = [memory_context(p, i) for i, p in enumerate(profiles) if p.memory]
    roofs.update({c["id"]: charts.memory_along_execution(p) for c, p in
                  zip(memory, [p for p in profiles if p.memory])})
    title = ("Comparison: " + " vs ".join(charts.label_of(p) for p in profiles)) if compare \
        else f"{charts.label_of(profiles[0])}: architecture report"
    inputs = sorted({shape_text(p.input_shape) for p in profiles})
    graphs = [Graph(p) for p in profiles]
    graph_page = page_data(graphs)
    models = [model_context(p, i, c, g, graph_page["domains"])
              for i, (p, c, g) in enumerate(zip(profiles, page_colours(profiles), graphs))]
    changed = None
    if len(profiles) == 2:  # two models: what changed from the first to the second
        from ..diff import diff
        from .diff import to_html as diff_html

        changed = diff_html(diff(*profiles))
    return render_page(
        "report.html.j2", {**figures, **roofs}, command, title=title, models=models, changed=changed,
        compare=compare, compare_rows=_compare_rows(profiles) if compare else [],
        charts=[{"id": k, "title": CHART_TITLES.get(k, k), "note": CHART_NOTES[k][compare] if k in CHART_NOTES else None}
                for k in figures], key_columns=KEY_COLUMNS,
        measured=measured, memory=memory,
        columns=[{"key": k, "title": t, "type": ty, "left": left, "key_column": k in KEY_COLUMNS}
                 for k, t, ty, left in COLUMNS],
        conventions=profiles[0].conventions, versions=profiles[0].versions, input_text=", ".join(inputs),
        graph_js=graph_scripts(), graph_css=graph_css(), graphs_json=script_json(graph_page))


def default_path(profiles: list[Profile]) -> Path:
    safe = [p.model.replace("/", "_").replace(":", "_").replace("\\", "_") for p in profiles]
    name = safe[0] if len(safe) == 1 else "compare-" + "-".join(safe)
    return Path("reports") / f"{name}.html"


def write_report(profiles: list[Profile], path: Path | None = None, command: str | None = None) -> Path:
    path = path or default_path(profiles)
    write_atomic(path, render_html(profiles, command).encode())
    return path
