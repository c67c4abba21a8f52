"""One colour per model on a page: the family's hue, in lightness steps when a family has several
models (ResNet-18 light blue, ResNet-50 mid blue, ResNet-152 dark blue). Every chart of a page asks
`page_colours(profiles)` so a model keeps its colour from chart to chart."""

from __future__ import annotations

import colorsys
from typing import Any, TYPE_CHECKING

from ..catalog import family_colour

if TYPE_CHECKING:  # annotations only: the record never depends on its faces at import
    from ..record import Profile

PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
LIGHT, DARK = 0.72, 0.28  # lightness range of the shades: light enough to see on white, dark enough to tell apart


def family_of(profile: Profile) -> str | None:
    """The catalogue family of a profile (history models, and any family the catalogue records)."""
    cat = profile.catalog or {}
    hist = cat.get("history") or {}
    return hist.get("family") or cat.get("family")


def base_colour(profile: Profile, i: int = 0) -> str:
    """The family colour, or a palette colour by position for a model outside the catalogue."""
    fam = family_of(profile)
    return family_colour(fam) if fam else PALETTE[i % len(PALETTE)]


def _hex(rgb: tuple[float, float, float]) -> str:
    return "#" + "".join(f"{round(max(0.0, min(1.0, c)) * 255):02x}" for c in rgb)


def _rgb(colour: str) -> tuple[float, float, float]:
    c = colour.lstrip("#")
    return tuple(int(c[k:k + 2], 16) / 255 for k in (0, 2, 4))  # type: ignore[return-value]


def shades(colour: str, n: int) -> list[str]:
    """n shades of one hue, light to dark, in equal lightness steps (n == 1: the colour itself)."""
    if n <= 1:
        return [colour]
    h, _, s = colorsys.rgb_to_hls(*_rgb(colour))
    step = (LIGHT - DARK) / (n - 1)
    return [_hex(colorsys.hls_to_rgb(h, LIGHT - k * step, max(s, 0.45))) for k in range(n)]


def _size(profile: Profile) -> tuple[Any, ...]:
    """Smaller models get the lighter shades: by depth, then parameters."""
    t = profile.totals or {}
    return (t.get("depth") or 0, t.get("params") or 0)


def page_colours(profiles: list[Profile]) -> list[str]:
    """The colour of each profile on a page, in the order given: one hue per family, shades within
    a family (light = small), palette colours for models outside the catalogue, never one colour
    for two models."""
    groups: dict[str, list[int]] = {}
    for i, p in enumerate(profiles):
        groups.setdefault(base_colour(p, i), []).append(i)
    out: list[str] = [""] * len(profiles)
    for colour, idx in groups.items():
        ranked = sorted(idx, key=lambda i: (_size(profiles[i]), i))
        for i, shade in zip(ranked, shades(colour, len(ranked))):
            out[i] = shade
    return out
