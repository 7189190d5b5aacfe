"""The SSL Cookbook's package, in two layers.

The engine is this package's top level: what a training run from the command line needs. Data
flows one way: ``config`` (settings and budgets) names the data; ``data`` loads it as uint8
tensors on the device; the recipe's model (a ``method.Method``) draws its views with ``augment``
and computes its loss; ``train`` steps the optimizer (``optim``, ``ema``, ``checkpoint``,
``distributed``) and yields metric records; ``evaluate`` measures the backbone (kNN, linear
probe, RankMe, spectrum); ``run`` ties these together and writes a run's files (``curves``);
``cli`` and ``registry`` put the command line in front. A run's training digest is the code of
this layer and of its recipe (:mod:`cookbook.book.digest`).

The book's tools, :mod:`cookbook.book`, build on the engine for the chapters: the lab, figures,
sweeps, probes, the runs' cache and the exercises' checks. The engine never imports them, and
the recipes (the ``recipes`` package) sit above both; ``lint-imports`` checks it.

Two switches live here because every module needs them: how much work a run does
(the *budget*) and which device it runs on; and :class:`ConfigError`, which every layer raises
for a setting that cannot work.
"""
from __future__ import annotations

import os
import re

import torch

__version__ = "0.1.0"


class ConfigError(ValueError):
    """A configuration value that cannot work; the message says which and what to do."""


def is_quick() -> bool:
    """True when ``COOKBOOK_QUICK`` asks for the quick budget (CI, nbmake, the book build)."""
    return os.environ.get("COOKBOOK_QUICK", "").strip().lower() in {"1", "true", "yes", "on"}


def _mps_available() -> bool:
    return getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()


def check_device_name(device: str) -> None:
    """Raise ValueError unless ``device`` names a device this book can use (present or not)."""
    if not re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", device):
        raise ValueError(f"device={device!r} is not a device this book can use: choose auto, cpu, cuda, cuda:N or mps")


def pick_device(device: str = "auto") -> torch.device:
    """``auto`` picks CUDA when present, else Apple's MPS, else the CPU.

    Any other value must be ``cpu``, ``cuda``, ``cuda:N`` or ``mps`` and must be present on this
    machine: a typo or a missing accelerator is caught here, in one line, instead of as a torch
    error deep inside the first training step.
    """
    if device == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        return torch.device("mps") if _mps_available() else torch.device("cpu")
    check_device_name(device)
    if device.startswith("cuda"):
        if not torch.cuda.is_available():
            raise ValueError(f"device={device!r} was asked for but CUDA is not available; use 'cpu' or 'auto'")
        index, count = torch.device(device).index, torch.cuda.device_count()
        if index is not None and index >= count:
            raise ValueError(f"device={device!r} was asked for but this machine has {count} CUDA device(s) "
                             f"(cuda:0 to cuda:{count - 1}); use 'cuda' or 'auto'")
    if device == "mps" and not _mps_available():
        raise ValueError(f"device={device!r} was asked for but Apple's MPS is not available; use 'cpu' or 'auto'")
    return torch.device(device)


def current_budget(quick: bool | None = None) -> str:
    """The budget a run gets: ``quick`` when asked for, else ``cuda`` on a GPU, else ``cpu``."""
    if quick if quick is not None else is_quick():
        return "quick"
    return "cuda" if torch.cuda.is_available() else "cpu"
