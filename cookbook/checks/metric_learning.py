"""Checkers of chapter 3, deep metric learning (SimCLR, NNCLR, MoCo)."""
from __future__ import annotations

__all__: list[str] = []
