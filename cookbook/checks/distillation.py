"""Checkers of chapter 4, self-distillation (BYOL, SimSiam, DINO)."""
from __future__ import annotations

__all__: list[str] = []
