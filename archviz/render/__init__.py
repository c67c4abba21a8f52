"""Renderers: thin faces over a Profile. None of them traces a model."""
