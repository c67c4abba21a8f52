"""Profiles through the store: the one function every face (CLI, report, dashboard) calls.

A hit costs a SQLite read and no torch import; a miss profiles (importing torch) and stores the
result under the requested key and under its explicit input shape."""

from __future__ import annotations

from typing import Any, Callable

from .build import parse_input_shape, shape_text
from .record import Profile
from .store import Store, make_key


def _versions() -> dict[str, str]:
    from .profiler import versions  # importlib.metadata only; torch stays unimported

    return versions()


def normalise(model: str, input_shape: Any) -> tuple[str, str]:
    """(model key, input text): 'default' when no input shape was given."""
    name = model.strip()
    if ":" not in name:
        name = name.lower()
    if input_shape is None or input_shape == "":
        return name, "default"
    shape = parse_input_shape(input_shape) if isinstance(input_shape, str) else list(input_shape)
    return name, shape_text(shape)


def cacheable(model: str) -> bool:
    """User factories are traced every time: their code can change under the same name."""
    return ":" not in model


def get_profile(model: str, input_shape: Any = None, use_cache: bool = True,
                store: Store | None = None,
                on_miss: Callable[[str], None] | None = None) -> Profile:
    name, input_text = normalise(model, input_shape)
    use_cache = use_cache and cacheable(name)
    versions = _versions()
    key = make_key(name, input_text, versions)
    if use_cache:
        store = store or Store()
        hit = store.get(key)
        if hit is not None:
            return hit
    if on_miss:
        on_miss(name)
    from .profiler import profile

    prof = profile(name, None if input_text == "default" else parse_input_shape(input_text))
    if use_cache and store is not None:
        explicit = make_key(name, shape_text(prof.input_shape), versions)
        store.put(sorted({key, explicit}), prof, shape_text(prof.input_shape))
    return prof


def get_profiles(models: list[str], input_shape: Any = None, use_cache: bool = True) -> list[Profile]:
    store = Store() if use_cache else None
    return [get_profile(m, input_shape, use_cache, store) for m in models]
