"""Checkers of chapter 5, canonical correlation (VICReg, Barlow Twins, SwAV, W-MSE)."""
from __future__ import annotations

__all__: list[str] = []
