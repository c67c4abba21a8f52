"""Renderers: thin faces over a Profile. None of them traces a model."""

from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"  # CSS shared by report and dashboard
