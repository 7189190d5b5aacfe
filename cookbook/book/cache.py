"""A small on-disk cache of finished runs, so that chapters never train the same run twice.

Chapter 1 and chapter 2 both train SimCLR on the quick budget; executed one after the other (the
book build, ``make test``, a classroom), the second can show the first's result. A run is found
again only when everything that decides its result is the same:

- the recipe's name and every setting of its config (:meth:`TrainConfig.to_dict`), except the ones
  that only change how the run is watched (the progress bar, logging cadence, output folder);
- the code that trains and measures a run (:func:`cookbook.book.digest.training_digest`: the engine's
  modules and the recipe's, comments and docstrings left out), so that editing the loop, a loss or
  an augmentation never serves a stale number;
- the torch version, the device type and the number of torch threads, which change the
  floating-point sums.

The key is the SHA-256 of all of that; a hit loads ``<key>.json``, written atomically. Set
``COOKBOOK_CACHE`` to a folder to move the cache, or to ``off`` to turn it off (and train every run).

Before the local cache comes the book's own: the runs ``benchmarks/recipes_table.py`` keeps in the
package (:data:`RESULTS`, with the :func:`~cookbook.book.digest.training_digest` they were trained with).
:func:`committed_run` serves one only for the same recipe, every same setting and the same training
code, on a CPU; it says where it came from, so a chapter can print that it shows the benchmark's run
rather than one trained in front of the reader. A committed run whose code has changed since is
never served: ``tests/test_cache.py`` fails until the benchmark has run again.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

import torch

from cookbook.book.digest import training_digest

# The runs the book keeps in the package, one ``<label>/<recipe>/`` folder per benchmark
# (benchmarks/recipes_table.py writes them; the chapters read them through cookbook.book.report).
RESULTS = Path(__file__).resolve().parents[1] / "results" / "runs"

# Settings that change how a run is watched or where it writes, never its numbers.
NOT_IN_KEY = frozenset({"progress", "out", "resume", "log_every", "checkpoint_every", "download", "data_root",
                        "backend"})


def folder() -> Path | None:
    """Where cached runs live (``COOKBOOK_CACHE``, default ``~/.cache/ssl-cookbook/runs``); None when off."""
    setting = os.environ.get("COOKBOOK_CACHE", "").strip()
    if setting.lower() in {"off", "0", "no", "false"}:
        return None
    return Path(setting).expanduser() if setting else Path.home() / ".cache" / "ssl-cookbook" / "runs"


def _settings(config_dict: dict[str, Any]) -> dict[str, Any]:
    # through JSON, so that a tuple in a live config equals the list a metrics.json holds
    return json.loads(json.dumps({k: v for k, v in config_dict.items() if k not in NOT_IN_KEY}, default=repr))


def committed_run(recipe: ModuleType, config, device: torch.device,
                  results: Path | None = None) -> dict[str, Any] | None:
    """The metrics of the run of ``recipe`` with ``config`` that the book keeps in the package
    (``results``, default :data:`RESULTS`, one ``<label>/<recipe>/`` folder per
    benchmark), or None when there is none with the same settings (all but the watch-only ones),
    the same :func:`training_digest`, trained on the same kind of device. A served run carries
    ``"committed"``: the benchmark's folder, machine, date and wall time of the whole command."""
    if folder() is None or config.out:
        return None
    name = recipe.__name__.rsplit(".", 1)[-1]
    wanted, digest = _settings(config.to_dict()), None
    for run in sorted(Path(results or RESULTS).glob(f"*/{name}")):
        try:
            metrics = json.loads((run / "metrics.json").read_text())
            timing = json.loads((run / "timing.json").read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if metrics.get("device", "").split(":")[0] != device.type or _settings(metrics.get("config", {})) != wanted:
            continue
        digest = digest or training_digest(recipe)
        if timing.get("training_digest") == digest:
            return {**metrics, "committed": {"folder": f"{run.parent.name}/{run.name}", **timing}}
    return None


def key(recipe: ModuleType, config, device: torch.device) -> str:
    """The cache key of ``recipe`` trained with ``config`` on ``device`` (see the module docstring)."""
    settings = {k: v for k, v in config.to_dict().items() if k not in NOT_IN_KEY}
    identity = {"recipe": recipe.__name__, "settings": settings, "source": training_digest(recipe),
                "torch": torch.__version__, "device": device.type, "threads": torch.get_num_threads()}
    return hashlib.sha256(json.dumps(identity, sort_keys=True, default=repr).encode()).hexdigest()[:32]


def cached_run(recipe: ModuleType, config, device: torch.device, train: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """The metrics of ``recipe`` with ``config``: the book's committed run of it when there is one
    (:func:`committed_run`), else from the cache when this exact run finished before, else from
    ``train()``, which is then stored. A cached result carries ``"cached": True``."""
    where = folder()
    if where is None or config.out:  # a run asked to write its files must really run
        return train()
    committed = committed_run(recipe, config, device)
    if committed is not None:
        return committed
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
