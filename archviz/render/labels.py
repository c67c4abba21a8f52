"""Text labels on points that never collide: each label tries candidate spots around its point (right,
left, above, below, the diagonals, then the same farther out with a leader line) and takes the first
whose box stays inside the plot and clear of every other label and point.

Placement happens in screen pixels, so it needs the figure's geometry: the plot's size and margins and
each axis' range (log axes in decades). Plotly keeps pixel offsets (xshift / ax) fixed while the plot
stretches, so labels placed for the narrowest plot stay apart on any wider one: points only move apart
horizontally. Text boxes are estimated from the text's length and font size (DejaVu Sans, the report's
font, averages about 0.6 em a character)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

CHAR_EM = 0.62   # average advance of a DejaVu Sans character, in em (a little generous)
LINE_EM = 1.3    # line height, in em
GAP = 3.0        # pixels kept between a label and anything else


@dataclass(frozen=True)
class Scale:
    """One axis: its range in data units (log axes: the data values, not decades)."""
    lo: float
    hi: float
    log: bool = False

    def frac(self, v: float) -> float:
        """Where v falls along the axis, 0 at lo and 1 at hi."""
        if self.log:
            return (math.log10(v) - math.log10(self.lo)) / (math.log10(self.hi) - math.log10(self.lo))
        return (v - self.lo) / (self.hi - self.lo)

    def plotly_range(self) -> list[float]:
        """The axis range as plotly wants it (decades on a log axis)."""
        return [math.log10(self.lo), math.log10(self.hi)] if self.log else [self.lo, self.hi]

    def ref(self, v: float) -> float:
        """A data value as an annotation coordinate (plotly places annotations on log axes in decades)."""
        return math.log10(v) if self.log else v


@dataclass(frozen=True)
class Frame:
    """The pixel box of one subplot: the figure's size and margins, and the subplot's axis domains."""
    width: float
    height: float
    margin: dict[str, float]
    x_domain: tuple[float, float] = (0.0, 1.0)
    y_domain: tuple[float, float] = (0.0, 1.0)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """(left, top, right, bottom) of the subplot in pixels from the figure's top-left corner."""
        w = self.width - self.margin["l"] - self.margin["r"]
        h = self.height - self.margin["t"] - self.margin["b"]
        return (self.margin["l"] + self.x_domain[0] * w, self.margin["t"] + (1 - self.y_domain[1]) * h,
                self.margin["l"] + self.x_domain[1] * w, self.margin["t"] + (1 - self.y_domain[0]) * h)

    def pixel(self, x: float, y: float, xs: Scale, ys: Scale) -> tuple[float, float]:
        """Data (x, y) to pixels (y grows downwards)."""
        left, top, right, bottom = self.box
        return left + xs.frac(x) * (right - left), bottom - ys.frac(y) * (bottom - top)


@dataclass
class Label:
    """A point to label: data position, text, font size and the marker's radius in pixels."""
    x: float
    y: float
    text: str
    size: float = 10.0
    radius: float = 5.0
    colour: str = "#374151"


@dataclass
class Placed:
    label: Label
    dx: float          # label box centre relative to the point, pixels (right +)
    dy: float          # (down +)
    leader: bool       # drawn with a leader line back to the point
    box: tuple[float, float, float, float] = field(default=(0, 0, 0, 0))  # l, t, r, b in pixels
    clear: bool = True  # False when no candidate was free (the least crowded one is used)


def text_size(text: str, size: float) -> tuple[float, float]:
    """Estimated (width, height) in pixels of a one-line label."""
    return len(text) * size * CHAR_EM, size * LINE_EM


def _candidates(r: float, w: float, h: float) -> list[tuple[float, float, bool]]:
    """Offsets (dx, dy, leader) of a label's centre: beside the point first, then farther out."""
    near = r + GAP
    side, vert = near + w / 2, near + h / 2
    spots = [(side, 0), (-side, 0), (0, -vert), (0, vert),
             (side * 0.8, -vert), (-side * 0.8, -vert), (side * 0.8, vert), (-side * 0.8, vert)]
    out = [(dx, dy, False) for dx, dy in spots]
    for reach in (18, 32, 48, 66):  # leader lines, in pixels beyond the near spot
        for ux, uy in ((1, -1), (-1, -1), (1, 1), (-1, 1), (0, -1), (0, 1), (1, 0), (-1, 0)):
            out.append((ux * (w / 2 + near + reach * 0.8), uy * (h / 2 + near + reach), True))
    return out


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Area shared by two boxes (l, t, r, b)."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _inside(box: tuple[float, float, float, float], area: tuple[float, float, float, float]) -> bool:
    return box[0] >= area[0] and box[1] >= area[1] and box[2] <= area[2] and box[3] <= area[3]


def place(labels: list[Label], frame: Frame, xs: Scale, ys: Scale,
          taken: list[tuple[float, float, float, float]] | None = None) -> list[Placed]:
    """Place every label; `taken` boxes (other subplots' labels, titles) are avoided too and the new
    boxes are appended to it. Crowded points are placed first: they have the fewest free spots."""
    taken = taken if taken is not None else []
    pts = [frame.pixel(lb.x, lb.y, xs, ys) for lb in labels]
    marks = [(px - lb.radius, py - lb.radius, px + lb.radius, py + lb.radius) for lb, (px, py) in zip(labels, pts)]
    area = frame.box

    def crowd(i: int) -> float:
        return sum(1.0 / (1.0 + math.dist(pts[i], q)) for q in pts)

    placed: dict[int, Placed] = {}
    for i in sorted(range(len(labels)), key=crowd, reverse=True):
        lb, (px, py) = labels[i], pts[i]
        w, h = text_size(lb.text, lb.size)
        best: tuple[float, Placed] | None = None
        for dx, dy, leader in _candidates(lb.radius, w, h):
            box = (px + dx - w / 2, py + dy - h / 2, px + dx + w / 2, py + dy + h / 2)
            if not _inside(box, area):
                continue
            padded = (box[0] - GAP, box[1] - GAP, box[2] + GAP, box[3] + GAP)
            cost = sum(_overlap(padded, t) for t in taken) + sum(
                _overlap(padded, m) for j, m in enumerate(marks) if j != i)
            if best is None or cost < best[0]:
                best = (cost, Placed(lb, dx, dy, leader, box, cost == 0))
            if cost == 0:
                break
        if best is None:  # nothing fits inside: the nearest spot towards the plot's centre
            dx = -(lb.radius + GAP + w / 2) if px > (area[0] + area[2]) / 2 else lb.radius + GAP + w / 2
            box = (px + dx - w / 2, py - h / 2, px + dx + w / 2, py + h / 2)
            best = (1.0, Placed(lb, dx, 0.0, False, box, False))
        placed[i] = best[1]
        taken.append(best[1].box)
    return [placed[i] for i in range(len(labels))]


def annotation(p: Placed, xs: Scale, ys: Scale, xref: str = "x", yref: str = "y") -> dict[str, Any]:
    """A plotly annotation for a placed label: shifted text beside its point, or text at the end of
    a thin leader line when it had to move away."""
    lb = p.label
    base = {"x": xs.ref(lb.x), "y": ys.ref(lb.y), "xref": xref, "yref": yref, "text": lb.text,
            "font": {"size": lb.size, "color": lb.colour}, "xanchor": "center", "yanchor": "middle",
            "borderpad": 0}
    if p.leader:
        return {**base, "showarrow": True, "ax": round(p.dx, 1), "ay": round(p.dy, 1), "axref": "pixel",
                "ayref": "pixel", "arrowhead": 0, "arrowwidth": 1, "arrowcolor": "#9ca3af", "standoff": lb.radius,
                "bgcolor": "rgba(255,255,255,0.8)"}
    return {**base, "showarrow": False, "xshift": round(p.dx, 1), "yshift": round(-p.dy, 1)}


def label_annotations(labels: list[Label], frame: Frame, xs: Scale, ys: Scale, xref: str = "x", yref: str = "y",
                      taken: list[tuple[float, float, float, float]] | None = None) -> list[dict[str, Any]]:
    """place() then annotation(): the plotly annotations of a set of labels on one subplot."""
    return [annotation(p, xs, ys, xref, yref) for p in place(labels, frame, xs, ys, taken)]


def log_ticks(lo: float, hi: float, steps: tuple[int, ...] = (1, 2, 5)) -> list[float]:
    """1, 2, 5, 10, 20, 50, ... within [lo, hi]: readable ticks for a log axis."""
    out: list[float] = []
    k = math.floor(math.log10(lo)) if lo > 0 else 0
    while 10 ** k <= hi * 1.0001:
        out += [s * 10 ** k for s in steps if lo * 0.9999 <= s * 10 ** k <= hi * 1.0001]
        k += 1
    return out


def tick_text(v: float) -> str:
    """0.5 -> '0.5', 2000 -> '2k', 1e6 -> '1M': short tick labels."""
    for factor, suffix in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(v) >= factor:
            return f"{v / factor:g}{suffix}"
    return f"{v:g}"
