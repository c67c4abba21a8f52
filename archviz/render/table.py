"""Terminal and text faces of a Profile: rich table, CSV, Markdown, JSON.

The terminal tables (`rich_table`, `history_table`) are fitted to a width by `fit_columns`, a pure
function of the cells and the width: numbers are never cut, names are shortened in the middle, and
columns that do not fit are hidden by priority and named in a note.

Every user-derived string (module names and types, block names, the model name) goes through
`printable` in the table, CSV and Markdown, and into rich only as `Text` (never parsed as markup);
JSON keeps the raw data (json.dumps escapes control characters itself)."""

from __future__ import annotations

import csv
import html
import io
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Sequence, TYPE_CHECKING

from rich.cells import cell_len

from ..errors import ArchvizError
from ..columns import MEASURED_COLUMNS, MEMORY_COLUMNS, TRAINING_COLUMNS, field_columns
from .numbers import grouped, human, pair, printable, shape, si
from .summary import field_card

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

TEXT_COLUMNS = ["name", "type", "output_shape", "params", "macs", "flops", "activations",
                "receptive_field", "effective_stride", "depth", "block"]


def rows_at_depth(profile: Profile, depth: int | None) -> list[dict[str, Any]]:
    return [r for r in profile.layers if depth is None or r["level"] <= depth]


def cell(col: str, v: Any) -> str:
    if col in ("receptive_field", "effective_stride"):
        return pair(v)
    if col == "output_shape":
        return shape(v)
    if v is None:
        return ""
    return printable(v)


CSV_TEXT_COLUMNS = ("name", "type", "block", "parent")  # names: what a spreadsheet must never run as a formula
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_text(text: str) -> str:
    """A name as a CSV cell: one that starts like a spreadsheet formula (=, +, -, @) gets a
    leading apostrophe, so Excel or LibreOffice shows it instead of evaluating it."""
    return "'" + text if text.startswith(FORMULA_START) else text


# The CSV's columns: every one of a single type, so a spreadsheet or pandas reads numbers as numbers.
# The field, stride and padding are typed as in `Profile.table`: `rf_kind` (spatial, global or
# unknown) and numeric H and W columns, empty where the kind is not spatial; `level` and `parent`
# rebuild the module tree.
CSV_COLUMNS = ["name", "type", "level", "parent", "output_shape", "params", "own_params", "macs", "flops",
               "activations", "rf_kind", "rf_h", "rf_w", "stride_h", "stride_w", "pad_h", "pad_w", "depth",
               "block"]


def csv_cell(col: str, row: dict[str, Any]) -> Any:
    """One CSV cell: numbers as they are (empty for null), text printable, names defused."""
    v = row.get(col)
    if col == "output_shape":
        return shape(v) if v else ""
    if v is None:
        return ""
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return v
    text = printable(v)
    return csv_text(text) if col in CSV_TEXT_COLUMNS else text


def csv_columns(profile: Profile) -> list[str]:
    """CSV_COLUMNS, then the memory columns (live_bytes; with --train the training columns), then
    with --measure the measured columns and the run's grade (the same on every row, so a noisy run
    is marked in the CSV too)."""
    measured = (*MEASURED_COLUMNS, "measurement_grade") if profile.measurement else ()
    return [*CSV_COLUMNS, *MEMORY_COLUMNS, *(TRAINING_COLUMNS if profile.training else ()), *measured]


def to_csv(profile: Profile, depth: int | None) -> str:
    """Plain CSV, header row first, one type per column (CSV_COLUMNS), so any CSV reader takes it
    as is; the conventions are in the JSON, Markdown and report outputs. Names that start like
    formulas are defused (csv_text)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    columns = csv_columns(profile)
    w.writerow(columns)
    grade = (profile.measurement or {}).get("quality") or {}
    for r in rows_at_depth(profile, depth):
        row = {**r, **field_columns(r), "measurement_grade": grade.get("grade", "not graded")}
        w.writerow([csv_cell(c, row) for c in columns])
    return buf.getvalue()


_MARKDOWN_SYNTAX = re.compile(r"([\\`*_\[\]~])")  # code, emphasis, links and images need these


def markdown_text(text: str) -> str:
    """A table cell as Markdown text: no column break, no raw HTML (< > & as entities), and no
    link, image, emphasis, strikethrough or code syntax (\\ ` * _ [ ] ~ backslash-escaped: a link
    needs its brackets) for a Markdown renderer."""
    return _MARKDOWN_SYNTAX.sub(r"\\\1", html.escape(text, quote=False)).replace("|", "\\|")


def to_markdown(profile: Profile, depth: int | None) -> str:
    lines = [f"# {markdown_text(printable(profile.model))} ({shape(profile.input_shape)})", "",
             "| " + " | ".join(TEXT_COLUMNS) + " |", "|" + "---|" * len(TEXT_COLUMNS)]
    for r in rows_at_depth(profile, depth):
        vals = [markdown_text(cell(c, r[c])) for c in TEXT_COLUMNS]
        lines.append("| " + " | ".join(vals) + " |")
    lines += ["", *(markdown_text(line) for line in summary_lines(profile))]  # they quote names too
    return "\n".join(lines) + "\n"


def to_json(profile: Profile, depth: int | None) -> str:
    data = profile.contract()
    keys = (*TEXT_COLUMNS, "level", "parent", "own_params", "effective_padding", "conv_linear_macs")
    if profile.measurement:  # archviz profile --measure: the measured keys too
        keys = (*keys, *MEASURED_COLUMNS)
    keys = (*keys, *MEMORY_COLUMNS, *(TRAINING_COLUMNS if profile.training else ()))
    data["layers"] = [{k: r.get(k) for k in keys} for r in rows_at_depth(profile, depth)]
    data, unknown = finite_json(data)
    if unknown:
        data["notes"] = [*data.get("notes", []), f"{len(unknown)} figure(s) were not finite numbers and are "
                         f"written as null: {', '.join(unknown[:5])}{' ...' if len(unknown) > 5 else ''}"]
    return json.dumps(data, indent=2, allow_nan=False)


def finite_json(value: Any, path: str = "") -> tuple[Any, list[str]]:
    """`value` with every NaN or infinity replaced by None, and where they were: JSON has no such
    numbers (json.dumps would write the non-standard NaN and Infinity)."""
    if isinstance(value, float) and not math.isfinite(value):
        return None, [path or "(value)"]
    if isinstance(value, dict):
        out, where = {}, []
        for k, v in value.items():
            out[k], w = finite_json(v, f"{path}.{k}" if path else str(k))
            where += w
        return out, where
    if isinstance(value, list):
        out_list, where = [], []
        for i, v in enumerate(value):
            item, w = finite_json(v, f"{path}[{i}]")
            out_list.append(item)
            where += w
        return out_list, where
    return value, []


def summary_lines(profile: Profile) -> list[str]:
    t = profile.totals
    out = [
        f"Params {grouped(t['params'])} | MACs {human(t['macs'])} | FLOPs {human(t['flops'])} "
        f"(= 2 x MACs) | conv+linear MACs {human(t['conv_linear_macs'])} | activations {human(t['activations'])}",
        f"Input {shape(profile.input_shape)} ({profile.layout}) | depth {t['depth']} weighted layers | "
        f"receptive field {' · '.join(field_card(t))}",
        "MACs: one multiply-add = 1 (fvcore); FLOPs = 2 x MACs; pooling/elementwise conventions in --format json 'conventions'.",
    ]
    out += measured_lines(profile)
    out += memory_lines(profile)
    if profile.uncounted_ops:
        out.append("Uncounted ops: " + ", ".join(f"{printable(k)} x{v}" for k, v in profile.uncounted_ops.items()))
    out += [f"Note: {printable(n)}" for n in profile.notes if not n.startswith("Uncounted operators")]
    return out


def memory_lines(profile: Profile) -> list[str]:
    """Inference memory (every profile) and the training step (with --train), in powers of 1024."""
    from .fit import size

    mem, tr = profile.memory, profile.training
    out = []
    if mem:
        out.append(f"Memory (inference, {printable(str(mem.get('dtype')))}, batch {mem['batch']}): weights {size(mem['weights_bytes'])} | "
                   f"peak activations {size(mem['activation_peak_bytes'])} | peak {size(mem['peak_bytes'])} "
                   "(meta device; storages counted once)")
    if tr:
        split = tr["at_peak"]
        dtype = f"amp {tr.get('compute_dtype')}, fp32 weights" if tr.get("amp") else str(tr.get("dtype"))
        out.append(f"Training step ({printable(str(tr.get('optimizer')))}, {printable(dtype)}, batch {tr['batch']}): "
                   f"peak {size(tr['peak_bytes'])} in {printable(str(tr.get('peak_phase')))} = weights {size(split.get('weights'))} + gradients "
                   f"{size(split.get('grads'))} + optimizer {size(split.get('optimizer'))} + activations "
                   f"{size(split.get('activations'))} | saved for backward {size(tr['saved_bytes'])}")
        out.append(f"Training FLOPs (counted, FlopCounterMode): forward {human(tr['fwd_flops'])} | backward "
                   f"{human(tr['bwd_flops'])} | parameters trainable {grouped(tr['trainable_params'])}, frozen "
                   f"{grouped(tr['frozen_params'])}")
    return out


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.3g}" if v < 1 else f"{v:,.1f}" if v < 1000 else f"{v:,.0f}")


def measured_lines(profile: Profile) -> list[str]:
    """What a --measure run measured: its grade first (a noisy run says so, and why), then device,
    whole-model time with its interval, the layer sum and the gap, and the roofs the roofline used
    (where they came from, any instability, any roof raised)."""
    m = profile.measurement
    if not m:
        return []
    t, pk = m["total"], m["peaks"]
    graph = "" if t.get("graph_ms") is None else \
        f" | CUDA graph {_ms(t['graph_ms'])} ms (launch gap {_ms(t['launch_gap_ms'])} ms)"
    gap = "-" if t.get("gap_pct") is None else f"{t['gap_pct']:+.1f}%"
    roofs = ", ".join(f"{printable(r['level'])} {si(r['bytes_per_s'], 'B/s')}" for r in pk.get("roofs") or []) \
        or si(pk["bytes_per_s"], "B/s")
    return [
        *quality_lines(m),
        f"Measured on {printable(m['device'])} | {m['dtype']} | batch {m['batch']} | {m['threads']} threads | "
        f"whole model {_ms(t['eager_ms'])} ms {spread_text(t)}{graph}",
        f"Sum of layer times {_ms(t['layer_sum_ms'])} ms, gap {gap} of the whole | compute roof "
        f"{si(pk['flops'], 'FLOP/s')} | memory roofs {roofs} ({printable(str(pk.get('source')))}) | "
        "each layer against the roof of the smallest level its bytes fit; overhead under 10% of roof",
        *(f"Peaks: {printable(n)}" for n in pk.get("unstable") or []),
        *(f"Roof raised: {raised_text(n)}" for n in pk.get("raised") or []),
        *(f"Above the given roof: {above_text(a)}" for a in pk.get("above") or []),
    ]


def above_text(a: dict[str, Any]) -> str:
    """A layer that ran above a roof given by flags, as a phrase."""
    roof = "compute roof" if a["roof"] == "compute" else f"{printable(str(a['roof']))} roof"
    return f"layer {printable(str(a['layer']))} reached {a['achieved'] / a['attainable']:.2f}x its {roof}"


def spread_text(t: dict[str, Any]) -> str:
    """'median of 14 runs (95% CI +-4.4%, IQR 14.9-15.8 ms)', or the older p10-p90 wording."""
    e = t.get("eager")
    if isinstance(e, dict):
        ci = "95% CI unknown" if e.get("ci_pct") is None else f"95% CI +-{e['ci_pct']:.1f}%"
        return f"median of {e['samples']} runs ({ci}, IQR {_ms(e['iqr'][0])}-{_ms(e['iqr'][1])} ms)"
    lo, hi = t.get("eager_spread_ms") or (None, None)
    return f"median (p10-p90 {_ms(lo)}-{_ms(hi)} ms)"


def raised_text(note: dict[str, Any]) -> str:
    """One raised roof (measure.roofline.raised) as a sentence."""
    unit = "FLOP/s" if note["roof"] == "compute" else "B/s"
    what = "compute roof" if note["roof"] == "compute" else f"{printable(str(note['roof']))} bandwidth roof"
    return (f"{what} raised from {si(note['from'], unit)} to {si(note['to'], unit)}: layer "
            f"{printable(str(note['layer']))} ran above it after the peaks were measured twice")


def quality_lines(m: dict[str, Any]) -> list[str]:
    """'NOISY measurement, not stored: <reasons>' or 'Measurement quality: good'."""
    q = m.get("quality")
    if not isinstance(q, dict):
        return ["Measurement quality: not graded (measured before archviz graded its runs)"]
    if q.get("grade") == "noisy":
        return [f"NOISY measurement, not stored: {printable('; '.join(q.get('reasons') or []))}"]
    return [f"Measurement quality: {printable(str(q.get('grade')))} (median's 95% interval within "
            f"{'5' if q.get('grade') == 'good' else '10'}%, no competing load seen)"]


# ---------------------------------------------------------------------------------------------
# Terminal tables that fit a width. The layout is decided by pure functions of the cells and the
# width (`fit_columns`), so tests can call them directly: numbers are never cut (compact units when
# narrow, grouped digits when there is room), long names are shortened in the middle, and columns
# that still do not fit are hidden, the least important first, and named in a note under the table.

ELLIPSIS = "…"
GAP = 2  # characters between two columns: the cell's right padding and a blank separator
PIPE_WIDTH = 120  # the width used off a terminal when COLUMNS is not set

# `--columns` names for the profile table (display order) and their headers.
TABLE_COLUMNS: dict[str, str] = {
    "name": "Layer", "type": "Type", "output": "Output", "params": "Params", "macs": "MACs",
    "flops": "FLOPs", "act": "Act.", "rf": "RF", "stride": "Stride", "depth": "Depth", "block": "Block",
}
# What stays when the terminal is narrow, most important first (README "Use" documents it): what a
# layer is and what it costs, then the geometry, then what can be derived or read elsewhere.
TABLE_PRIORITY = ("name", "params", "macs", "output", "type", "rf", "stride", "depth", "act", "flops",
                  "block")
# The CSV/JSON field names are accepted too.
COLUMN_ALIASES = {"layer": "name", "output_shape": "output", "activations": "act",
                  "receptive_field": "rf", "effective_stride": "stride"}
NUMBER_FIELDS = {"params": "params", "macs": "macs", "flops": "flops", "act": "activations",
                 "live": "live_bytes", "saved": "saved_bytes", "fwd": "fwd_flops", "bwd": "bwd_flops",
                 "grad": "grad_bytes", "optim": "optim_bytes"}
# Memory columns: shown when asked for (--columns live); with --train the training ones by default.
MEMORY_TABLE_COLUMNS: dict[str, str] = {"live": "Live B"}
TRAINING_TABLE_COLUMNS: dict[str, str] = {"saved": "Saved B", "fwd": "Fwd FLOPs", "bwd": "Bwd FLOPs",
                                          "grad": "Grad B", "optim": "Optim B"}
TRAINING_PRIORITY = ("name", "params", "macs", "saved", "bwd", "fwd", "live", "optim", "grad")
# Shown (by default) only for a measured profile (archviz profile --measure), after the MACs.
MEASURED_TABLE_COLUMNS: dict[str, str] = {"latency": "ms", "intensity": "FLOP/B", "bound": "Bound"}
MEASURED_PRIORITY = ("name", "params", "macs", "latency", "bound", "intensity")
NAME_MIN = 24  # a layer name is shortened no further than this before columns are hidden
BLOCK_MIN = 12


@dataclass(frozen=True)
class Column:
    """One column to fit: its cells rendered one or more ways, the roomiest rendering first."""

    key: str
    header: str
    variants: tuple[tuple[str, ...], ...]
    justify: str = "left"
    shorten: Callable[[str, int], str] | None = None  # how a text cell gives up width; None: never
    min_width: int = 0  # how far `shorten` may go before the column is hidden instead

    def width(self, variant: int) -> int:
        return max([cell_len(self.header), *(cell_len(c) for c in self.variants[variant])])

    def roomiest_within(self, width: int) -> int:
        """The roomiest rendering no wider than `width` (the compact one when none is)."""
        return next((v for v in range(self.compact) if self.width(v) <= width), self.compact)

    @property
    def compact(self) -> int:
        return len(self.variants) - 1

    @property
    def floor(self) -> int:
        """The narrowest this column may get and still be shown."""
        natural = self.width(self.compact)
        if self.shorten is None:
            return natural
        return min(natural, max(self.min_width, cell_len(self.header)))


@dataclass(frozen=True)
class Fit:
    """Where a table landed: the columns shown (indexes, display order), the rendering and width
    of each, and the keys of the columns hidden (display order)."""

    shown: tuple[int, ...]
    variants: tuple[int, ...]
    widths: tuple[int, ...]
    hidden: tuple[str, ...]

    @property
    def total(self) -> int:
        return table_width(self.widths)


def table_width(widths: Sequence[int]) -> int:
    """The printed width of a table with these column widths (no outer edge, GAP between)."""
    return sum(widths) + GAP * max(len(widths) - 1, 0)


def fit_columns(columns: Sequence[Column], width: int, priority: Sequence[str] | None = None) -> Fit:
    """Lay columns out in `width` characters. Compact renderings first; when they fit, roomier ones
    are taken, the most important column first, while they still fit. When they do not, shortenable
    text gives width (least important first, down to its floor), and then the least important column
    is hidden and the rest tried again. `priority` lists keys, most important first (default: the
    display order)."""
    rank = {key: i for i, key in enumerate(priority or [c.key for c in columns])}
    shown = list(range(len(columns)))
    while True:
        by_rank = sorted(shown, key=lambda i: rank.get(columns[i].key, len(rank)))
        fit = _fit_shown(columns, shown, by_rank, width)
        if fit is not None or len(shown) <= 1:
            break
        shown.remove(by_rank[-1])
    if fit is None:  # a single column wider than the width: shorten what can be, never a number
        fit = _last_resort(columns, shown, width)
    hidden = tuple(c.key for i, c in enumerate(columns) if i not in fit.shown)
    return Fit(fit.shown, fit.variants, fit.widths, hidden)


def _fit_shown(columns: Sequence[Column], shown: list[int], by_rank: list[int], width: int) -> Fit | None:
    """These columns in `width`, or None when even shortened text leaves them too wide."""
    variants = {i: columns[i].compact for i in shown}
    widths = {i: columns[i].width(variants[i]) for i in shown}
    excess = table_width(list(widths.values())) - width
    if excess <= 0:
        room = -excess
        # Roomier renderings, the most important column first, stopping at the first that does
        # not fit: a less important column is never shown roomier than a more important one.
        for i in by_rank:
            v = columns[i].roomiest_within(widths[i] + room)
            if v == variants[i]:
                if v > 0:
                    break
                continue
            room -= columns[i].width(v) - widths[i]
            variants[i], widths[i] = v, columns[i].width(v)
    else:
        for i in reversed(by_rank):  # the least important text gives width first
            give = min(excess, widths[i] - columns[i].floor)
            widths[i] -= give
            excess -= give
        if excess > 0:
            return None
    return Fit(tuple(shown), tuple(variants[i] for i in shown), tuple(widths[i] for i in shown), ())


def _last_resort(columns: Sequence[Column], shown: list[int], width: int) -> Fit:
    """One column left and still too wide: text is shortened to the width, numbers stay whole."""
    widths = []
    for i in shown:
        natural = columns[i].width(columns[i].compact)
        widths.append(min(natural, max(width, 1)) if columns[i].shorten else natural)
    return Fit(tuple(shown), tuple(columns[i].compact for i in shown), tuple(widths), ())


def fitted_cells(columns: Sequence[Column], fit: Fit) -> list[tuple[str, ...]]:
    """The rows as the fit shows them: the chosen rendering, text shortened to its width."""
    shown = []
    for i, v, w in zip(fit.shown, fit.variants, fit.widths):
        col = columns[i]
        shown.append(tuple(col.shorten(c, w) if col.shorten else c for c in col.variants[v]))
    return list(zip(*shown))


def _head(text: str, cells: int) -> str:
    """The longest start of `text` that takes at most `cells` terminal cells."""
    out, used = [], 0
    for ch in text:
        used += cell_len(ch)
        if used > cells:
            break
        out.append(ch)
    return "".join(out)


def shorten_middle(text: str, width: int) -> str:
    """A layer name in `width` cells, cut in the middle ('features.denseb…layer16.conv2'): its start
    and its leaf say the most. The leading indent (the nesting) is kept."""
    if cell_len(text) <= width:
        return text
    body = text.lstrip(" ")
    indent = text[: len(text) - len(body)]
    indent = indent[: max(min(len(indent), width - 5), 0)]  # deep nesting gives way to the name
    room = max(width - len(indent) - 1, 0)
    head = room // 2
    tail = _head(body[::-1], room - head)[::-1]
    return indent + _head(body, head) + ELLIPSIS + tail


def shorten_end(text: str, width: int) -> str:
    """Prose in `width` cells, cut after a whole word where that keeps at least half of it."""
    if cell_len(text) <= width:
        return text
    cut = _head(text, max(width - 1, 0))
    if not text[len(cut)].isspace() and " " in cut:
        words = cut.rsplit(" ", 1)[0]
        cut = words if cell_len(words) >= width // 2 else cut
    return cut.rstrip(" ,;:(-") + ELLIPSIS


def first_clause(text: str) -> str:
    """'Skip connections (residual add) make 100+ layers trainable' -> 'Skip connections'."""
    for mark in (":", ";", " ("):
        text = text.split(mark, 1)[0]
    return text.strip()


def parse_columns(text: str) -> tuple[str, ...]:
    """`--columns name,params,macs` as keys of TABLE_COLUMNS (CSV field names accepted too)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    known = {**TABLE_COLUMNS, **MEASURED_TABLE_COLUMNS, **MEMORY_TABLE_COLUMNS, **TRAINING_TABLE_COLUMNS}
    bad = [n for n in names if n not in known and n not in COLUMN_ALIASES]
    if bad or not names:
        what = f"unknown column {printable(bad[0])!r}" if bad else "no column given"
        raise ArchvizError(f"--columns: {what}; choose from {','.join(known)}", 2)
    return tuple(dict.fromkeys(COLUMN_ALIASES.get(n, n) for n in names))


def _layer_text(key: str, r: dict[str, Any]) -> str:
    if key == "name":
        return "  " * max(r["level"] - 1, 0) + printable(r["name"])
    if key == "output":
        return shape(r["output_shape"])
    if key in ("rf", "stride"):
        return pair(r["receptive_field" if key == "rf" else "effective_stride"])
    if key == "depth":
        return "" if r["depth"] is None else str(r["depth"])
    if key == "latency":
        return "" if r.get("latency_ms") is None else _ms(r["latency_ms"])
    if key == "intensity":
        return "" if r.get("intensity") is None else f"{r['intensity']:.3g}"
    if key == "bound":  # "memory L3": bound, and the memory level whose roof applies
        return " ".join(printable(v) for v in (r.get("bound"), r.get("roof") if r.get("bound") == "memory" else None) if v)
    return printable(r[key] or "")  # type, block


def layer_columns(rows: Sequence[dict[str, Any]], keys: Sequence[str]) -> list[Column]:
    """The profile table's columns: numbers as grouped digits or compact units, names shortenable."""
    out = []
    for key in keys:
        if key in NUMBER_FIELDS:
            values = [r.get(NUMBER_FIELDS[key]) for r in rows]
            variants = (tuple(grouped(v) for v in values), tuple(human(v) for v in values))
        else:
            variants = (tuple(_layer_text(key, r) for r in rows),)
        left = key in ("name", "type", "block", "bound")
        header = {**TABLE_COLUMNS, **MEASURED_TABLE_COLUMNS, **MEMORY_TABLE_COLUMNS, **TRAINING_TABLE_COLUMNS}[key]
        out.append(Column(key, header, variants, "left" if left else "right",
                          shorten_middle if key in ("name", "block") else None,
                          NAME_MIN if key == "name" else BLOCK_MIN))
    return out


def _row_style(r: dict[str, Any]) -> str | None:
    return "bold" if r["level"] == 0 else ("dim" if r["macs"] == 0 and r["params"] == 0 else None)


def rich_table(profile: Profile, depth: int | None, width: int = PIPE_WIDTH,
               columns: Sequence[str] | None = None):
    """The profile as a terminal table fitted to `width` (`columns`: keys to show, in order, which
    is then also their priority), with the conventions under it."""
    from rich.console import Group
    from rich.text import Text

    rows = rows_at_depth(profile, depth)
    keys, priority = tuple(TABLE_COLUMNS), TABLE_PRIORITY
    if profile.measurement:  # measured columns after the MACs, ranked right after them
        at = keys.index("macs") + 1
        keys = (*keys[:at], *MEASURED_TABLE_COLUMNS, *keys[at:])
        priority = (*MEASURED_PRIORITY, *(k for k in TABLE_PRIORITY if k not in MEASURED_PRIORITY))
    if profile.training:  # training columns after the MACs, ranked right after them
        at = keys.index("macs") + 1
        keys = (*keys[:at], "live", *TRAINING_TABLE_COLUMNS, *keys[at:])
        priority = (*TRAINING_PRIORITY, *(k for k in priority if k not in TRAINING_PRIORITY))
    cols = layer_columns(rows, columns or keys)
    fit = fit_columns(cols, width, columns or priority)
    table = fitted_table(cols, fit, [_row_style(r) for r in rows])
    title = Text(f"{printable(profile.model)} · input {shape(profile.input_shape)}", style="bold")
    note = hidden_note(fit.hidden, width, "see --columns")
    summary = Text("\n".join(fold_parts(summary_lines(profile), width)))
    return Trimmed(Group(title, table, *note, summary))


def fold_parts(lines: Sequence[str], width: int, sep: str = " | ") -> list[str]:
    """Lines longer than `width` broken between their ' | ' parts, so no figure is split from
    its unit; a single part wider than `width` is left for the terminal to wrap."""
    out = []
    for line in lines:
        current = ""
        for part in line.split(sep):
            joined = f"{current}{sep}{part}" if current else part
            if current and cell_len(joined) > width:
                out.append(current)
                current = part
            else:
                current = joined
        out.append(current)
    return out


def hidden_note(hidden: Sequence[str], width: int, hint: str) -> list:
    """One dim line naming the columns left out, or nothing."""
    from rich.text import Text

    if not hidden:
        return []
    return [Text(f"Hidden at width {width}: {', '.join(hidden)} ({hint})", style="dim")]


def fitted_table(columns: Sequence[Column], fit: Fit, styles: Sequence[str | None] = ()):
    """A rich Table with exactly the widths of `fit`: rich never has to squeeze or cut a cell."""
    from rich.box import Box
    from rich.table import Table
    from rich.text import Text

    ruled = Box("    \n    \n ─  \n    \n    \n    \n    \n    \n")  # a rule under the header only
    t = Table(box=ruled, show_edge=False, pad_edge=False, padding=(0, 1, 0, 0), expand=False,
              header_style="bold cyan")
    for i, w in zip(fit.shown, fit.widths):
        t.add_column(Text(columns[i].header), justify=columns[i].justify, width=w, no_wrap=True)
    for n, cells in enumerate(fitted_cells(columns, fit)):
        t.add_row(*(Text(c) for c in cells), style=styles[n] if n < len(styles) else None)
    return t


class Trimmed:
    """Renders its content without trailing blanks: output is never padded out to a width."""

    def __init__(self, renderable: Any) -> None:
        self.renderable = renderable

    def __rich_console__(self, console, options):
        from rich.segment import Segment

        for line in console.render_lines(self.renderable, options, pad=False):
            yield from _rstrip(line)
            yield Segment.line()


def _rstrip(line: list) -> list:
    from rich.segment import Segment

    line = list(line)
    while line and not line[-1].control and not line[-1].text.rstrip():
        line.pop()
    if line and not line[-1].control:
        last = line[-1]
        line[-1] = Segment(last.text.rstrip(), last.style, last.control)
    return line


# The history set for `archviz list`: keys, headers and what stays first when narrow.
HISTORY_COLUMNS = {"model": "Model", "name": "Name", "year": "Year", "key_idea": "Key idea",
                   "ilsvrc": "ILSVRC top-5", "params": "Params", "gflops": "GFLOPS (MACs)",
                   "acc1": "Acc@1", "weights": "Weights"}
HISTORY_PRIORITY = ("model", "params", "name", "year", "gflops", "key_idea", "acc1", "weights", "ilsvrc")
# What the title says Acc@1 comes from, per `archviz list --weights` choice.
WEIGHTS_NOTE = {"best": "Acc@1 from torchvision's DEFAULT (best) weights",
                "v1": "Acc@1 from the IMAGENET1K_V1 weights where a model has them"}
KEY_IDEA_MIN = 20


def history_rows(weights: str = "v1") -> list[dict[str, Any]]:
    """The history set with torchvision's published figures from the chosen weights ("best" or
    "v1"), naming those weights, as plain values."""
    from ..catalog import HISTORY, history_info, published, weights_tag

    rows = []
    for name in HISTORY:
        h, pub = history_info(name), published(name, weights) or {}
        il = h["ilsvrc"]
        rows.append({"model": name, "name": h["label"], "year": str(h["year"]), "key_idea": h["key_idea"],
                     "ilsvrc": f"{il['top5_error']}% ({il['year']}, #{il['place']})" if il else "-",
                     "params": pub.get("num_params"), "gflops": str(pub.get("gflops", "-")),
                     "acc1": str(pub.get("acc@1", "-")), "weights": weights_tag(pub) or "-"})
    return rows


def history_columns(rows: Sequence[dict[str, Any]]) -> list[Column]:
    """Params as grouped digits or compact units; the key idea in full, its first clause, or cut."""
    out = []
    for key, header in HISTORY_COLUMNS.items():
        values = [r[key] for r in rows]
        if key == "params":
            out.append(Column(key, header, (tuple(grouped(v) for v in values),
                                            tuple(human(v) for v in values)), "right"))
        elif key == "weights":  # 'IMAGENET1K_V2', or 'V2' where room is short (the title names them)
            out.append(Column(key, header, (tuple(values), tuple(v.replace("IMAGENET1K_", "") for v in values))))
        elif key == "key_idea":
            texts = [printable(v) for v in values]
            out.append(Column(key, header, (tuple(texts), tuple(first_clause(t) for t in texts)),
                              shorten=shorten_end, min_width=KEY_IDEA_MIN))
        else:
            out.append(Column(key, header, (tuple(printable(v) for v in values),),
                              "right" if key in ("gflops", "acc1") else "left"))
    return out


def history_table(rows: Sequence[dict[str, Any]], width: int = PIPE_WIDTH, weights: str = "v1"):
    """`archviz list`'s table fitted to `width`; the title says which weights Acc@1 comes from."""
    from rich.console import Group
    from rich.text import Text

    cols = history_columns(rows)
    fit = fit_columns(cols, width, HISTORY_PRIORITY)
    hidden = [HISTORY_COLUMNS[k] for k in fit.hidden]
    title = Text(f"History set (published figures from torchvision's weights meta; "
                 f"{WEIGHTS_NOTE[weights]})", style="bold")
    return Trimmed(Group(title, fitted_table(cols, fit), *hidden_note(hidden, width, "widen the terminal")))


FORMATS = {"csv": to_csv, "markdown": to_markdown, "json": to_json}
