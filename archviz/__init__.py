"""archviz: take a convolutional network apart.

`import archviz` is light: torch is imported only when a model is actually traced."""

from __future__ import annotations

from typing import Any

from .errors import ArchvizError
from .record import Profile

__version__ = "0.1.0"


def profile(model: str, input_shape: Any = None, *, cache: bool = True) -> Profile:
    """Profile a catalogue model (e.g. "vgg16") or a factory spec; reads/writes the profile store."""
    from .service import get_profile

    return get_profile(model, input_shape, use_cache=cache)


def diagram(profile: Profile, level: str = "blocks", **options: Any):
    """The block diagram of a profile as a graphviz.Digraph."""
    from .render.diagram import build_digraph

    return build_digraph(profile, level=level, **options)


__all__ = ["ArchvizError", "Profile", "profile", "diagram", "__version__"]
