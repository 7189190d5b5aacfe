"""A small on-disk cache of finished runs, so that chapters never train the same run twice.

Chapter 1 and chapter 2 both train SimCLR on the quick budget; executed one after the other (the
book build, ``make test``, a classroom), the second can show the first's result. A run is found
again only when everything that decides its result is the same:

- the recipe's name and every setting of its config (:meth:`TrainConfig.to_dict`), except the ones
  that only change how the run is watched (the progress bar, logging cadence, output folder);
- the source code of the ``cookbook`` package and of the recipe module (their SHA-256), so that
  editing the loop, a loss or an augmentation never serves a stale number;
- the torch version, the device type and the number of torch threads, which change the
  floating-point sums.

The key is the SHA-256 of all of that; a hit loads ``<key>.json``, written atomically. Set
``COOKBOOK_CACHE`` to a folder to move the cache, or to ``off`` to turn it off.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

# Settings that change how a run is watched or where it writes, never its numbers.
NOT_IN_KEY = frozenset({"progress", "out", "resume", "log_every", "checkpoint_every", "download", "data_root"})


def folder() -> Path | None:
    """Where cached runs live (``COOKBOOK_CACHE``, default ``~/.cache/ssl-cookbook/runs``); None when off."""
    setting = os.environ.get("COOKBOOK_CACHE", "").strip()
    if setting.lower() in {"off", "0", "no", "false"}:
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "ssl-cookbook" / "runs"


def _source_digest(recipe: ModuleType) -> str:
    digest = hashlib.sha256()
    package = Path(__file__).resolve().parent
    for path in sorted(package.glob("*.py")) + [Path(recipe.__file__).resolve()]:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()


def key(recipe: ModuleType, config, device: torch.device) -> str:
    """The cache key of ``recipe`` trained with ``config`` on ``device`` (see the module docstring)."""
    settings = {k: v for k, v in config.to_dict().items() if k not in NOT_IN_KEY}
    identity = {"recipe": recipe.__name__, "settings": settings, "source": _source_digest(recipe),
                "torch": torch.__version__, "device": device.type, "threads": torch.get_num_threads()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()[:32]


def cached_run(recipe: ModuleType, config, device: torch.device, train: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The metrics of ``recipe`` with ``config``: from the cache when this exact run finished before,
    else from ``train()``, which is then stored. A cached result carries ``"cached": True``."""
    where = folder()
    if where is None or config.out:  # a run asked to write its files must really run
        return train()
    path = where / f"{key(recipe, config, device)}.json"
    if path.exists():
        try:
            return {**json.loads(path.read_text()), "cached": True}
        except (OSError, json.JSONDecodeError):
            path.unlink(missing_ok=True)  # a damaged entry is trained again, never served
    metrics = train()
    try:
        where.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
        tmp.write_text(json.dumps(metrics))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only home only costs the next chapter a second run
    return metrics
