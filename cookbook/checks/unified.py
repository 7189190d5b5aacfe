"""Checkers of chapter 7, the unified view (collapse, spectral embedding)."""
from __future__ import annotations

__all__: list[str] = []
