"""Profiles through the store: the one function every face (CLI, report, dashboard) calls.

A hit costs a SQLite read and no torch import; a miss profiles (importing torch) and stores the
result under the requested key and under its explicit input shape."""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from typing import Any, Callable, ContextManager, Iterator

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
                on_miss: Callable[[str], None] | None = None,
                lock: ContextManager[Any] | None = None) -> Profile:
    """The profile of `model` at `input_shape`, from the store or profiled (and then stored).

    The store never costs the answer: its trouble is a warning line. `lock` (a context manager) is
    held around a miss only, and the store is checked again inside it, so callers that share a lock
    per key profile each key once; a hit never takes it."""
    name, input_text = normalise(model, input_shape)
    if not (use_cache and cacheable(name)):
        return _profile(name, input_text, on_miss)
    versions = _versions()
    key = make_key(name, input_text, versions)
    with _opened(store) as st:
        hit = st.get(key)
        if hit is not None:
            return hit
        with lock if lock is not None else nullcontext():
            hit = st.get(key) if lock is not None else None  # stored while we waited?
            if hit is not None:
                return hit
            prof = _profile(name, input_text, on_miss)
            explicit = make_key(name, shape_text(prof.input_shape), versions)
            st.put(sorted({key, explicit}), prof, shape_text(prof.input_shape))
            return prof


def _profile(name: str, input_text: str, on_miss: Callable[[str], None] | None) -> Profile:
    """Trace the model (this imports torch)."""
    if on_miss:
        on_miss(name)
    from .profiler import profile

    return profile(name, None if input_text == "default" else parse_input_shape(input_text))


@contextmanager
def _opened(store: Store | None) -> Iterator[Store]:
    """The caller's store, or one opened (and closed) for this call."""
    if store is not None:
        yield store
        return
    own = Store()
    try:
        yield own
    finally:
        own.close()


def get_profiles(models: list[str], input_shape: Any = None, use_cache: bool = True) -> list[Profile]:
    """Several profiles through one store."""
    if not use_cache:
        return [get_profile(m, input_shape, use_cache=False) for m in models]
    store = Store()
    try:
        return [get_profile(m, input_shape, True, store) for m in models]
    finally:
        store.close()
