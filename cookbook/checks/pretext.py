"""Checkers of chapter 2, pretext tasks (RotNet, relative position)."""
from __future__ import annotations

__all__: list[str] = []
