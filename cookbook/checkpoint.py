"""Checkpoints: written atomically, read with ``weights_only=True``, refused when damaged or foreign.

A checkpoint holds the model, the optimizer, the step, the history, the config it was written
with and the random states, so a resumed run continues exactly where an uninterrupted one
would have been.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from .config import ConfigError

CHECKPOINT_NAME = "checkpoint.pt"

# Settings that may change between the sessions of one resumed run.
RESUMABLE_CHANGES = frozenset({"steps", "out", "resume", "progress", "log_every", "eval_every", "eval_bank",
                               "checkpoint_every", "device", "download", "data_root", "backend"})


def atomic_save(obj: Any, path: Path) -> None:
    """Write ``obj`` with torch.save to a temporary file, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint with ``weights_only=True`` (no pickled code). A file that is truncated or
    not a checkpoint raises :class:`ConfigError` naming it, instead of an unpickling traceback."""
    try:
        state = torch.load(path, map_location=device, weights_only=True)
    except Exception as err:
        raise ConfigError(f"{path} is damaged or not a checkpoint ({type(err).__name__}); delete it, or pass "
                          "--no-resume (resume=False) to start over") from None
    if not isinstance(state, dict):
        raise ConfigError(f"{path} is not a checkpoint written by this book; delete it, or pass --no-resume "
                          "(resume=False) to start over")
    return state


def check_out_is_folder(out: str | Path) -> None:
    if Path(out).exists() and not Path(out).is_dir():
        raise ConfigError(f"out={str(out)!r} is an existing file, not a folder: choose a folder for the run's "
                          "checkpoint and metrics (--out runs/NAME)")


def check_same_run(path: Path, saved: dict[str, Any], current: dict[str, Any]) -> None:
    """Refuse to resume a checkpoint written with other settings than ``current`` (a config dict)."""
    changed = [k for k in current if k not in RESUMABLE_CHANGES and saved.get(k) != current[k]]
    if changed:
        details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in changed)
        raise ConfigError(f"{path} was written by a different configuration ({details}). "
                          "Use another output folder, or resume=False (--no-resume) to start over.")
