"""Checkers of chapter 6, masked image modeling (MAE, I-JEPA)."""
from __future__ import annotations

__all__: list[str] = []
