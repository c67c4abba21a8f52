"""Rendering DenseNet-201 at --level layers: graph build vs dot layout, from a warm profile."""

from __future__ import annotations

import time
import warnings

warnings.simplefilter("ignore")

from archviz.render.diagram import build_digraph, render_bytes  # noqa: E402
from archviz.service import get_profile  # noqa: E402


def main() -> None:
    p = get_profile("densenet201")
    t0 = time.perf_counter()
    g = build_digraph(p, "layers")
    t1 = time.perf_counter()
    svg = render_bytes(g, "svg")
    t2 = time.perf_counter()
    blocks = render_bytes(build_digraph(p, "blocks"), "svg")
    t3 = time.perf_counter()
    print(f"densenet201 layers: {len(p.graph)} graph nodes; build {t1 - t0:.3f} s, dot {t2 - t1:.3f} s, "
          f"{len(svg) / 1e6:.2f} MB SVG")
    print(f"densenet201 blocks: {t3 - t2:.3f} s ({len(blocks) / 1e3:.0f} kB); "
          f"layers/blocks time ratio {(t2 - t0) / (t3 - t2):.1f}x")


if __name__ == "__main__":
    main()
