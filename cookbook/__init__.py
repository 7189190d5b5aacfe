"""The shared kitchen of the SSL Cookbook.

Data flows one way: ``data`` (uint8 tensors on the device) -> ``augment`` (views) ->
a recipe's model and loss -> ``train`` (a generator of metric records) -> ``evaluate``
(kNN, linear probe, RankMe, spectrum) -> ``lab`` / ``plots``.

Two switches live here because every module needs them: how much work a run does
(the *budget*) and which device it runs on.
"""
from __future__ import annotations

import os

import torch

__version__ = "0.1.0"

BUDGETS = ("quick", "cpu", "cuda")


def is_quick() -> bool:
    """True when ``COOKBOOK_QUICK`` asks for the quick budget (CI, nbmake, the book build)."""
    return os.environ.get("COOKBOOK_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else Apple's MPS, else the CPU."""
    if device != "auto":
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
        return torch.device(device)
    if torch.cuda.is_available():
        return torch.device("cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def current_budget(quick: bool | None = None) -> str:
    """The budget a run gets: ``quick`` when asked for, else ``cuda`` on a GPU, else ``cpu``."""
    if quick if quick is not None else is_quick():
        return "quick"
    return "cuda" if torch.cuda.is_available() else "cpu"
