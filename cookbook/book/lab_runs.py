"""Committed lab runs: the frames the static book's labs show, trained once and kept in the package.

With no one to press Start (the book build, nbmake, ``COOKBOOK_QUICK=1``) a chapter's lab leaves the
final frame of a run under its panel. A run long enough to learn is longer than a chapter's minute, so
``benchmarks/lab_runs.py NAME`` trains each run a chapter's lab shows, with the lab's own loop
(:meth:`cookbook.book.lab.Lab.finish`: the same chunks, evaluations and nuisance probes), and keeps it
here, package data like the sweeps, so a chapter opened alone in Colab finds it:

- ``results/labs/NAME/run.json``: the lab's recipe, layer and config, the settings its controls show,
  the curves (the trainer's history and the nuisance probes), the final scores, the raw-pixel kNN
  with the lab's memory bank, the seconds, the machine, the date and the
  :func:`~cookbook.book.digest.training_digest` of the code that trained it;
- ``results/labs/NAME/model.pt``: the final weights (``{"model": state_dict}``, floating tensors stored
  as float16 to halve the package), read with ``weights_only=True``.

:func:`find` serves a run only for the same recipe, the same probed layer, every same setting of the
config (the watch-only ones left out, as in :mod:`cookbook.book.cache`) and the same training code; the
lab then rebuilds the model from the weights and draws the run's frame. A committed run whose code has
changed since is never served (the lab trains instead), and ``tests/test_lab.py`` fails until the
script has trained it again. In a live kernel Start always trains.
"""
from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from types import ModuleType
from typing import Any

import torch

from cookbook import evaluate
from cookbook.book.cache import NOT_IN_KEY
from cookbook.book.digest import training_digest
from cookbook.checkpoint import atomic_save
from cookbook.config import ConfigError

# The committed runs, one ``NAME/`` folder each (benchmarks/lab_runs.py writes them).
LABS = Path(__file__).resolve().parents[1] / "results" / "labs"
RUN_FILE, WEIGHTS_FILE = "run.json", "model.pt"


def recipe_name(recipe: ModuleType) -> str:
    """A recipe module's registry name (``recipes.simclr`` -> ``simclr``)."""
    return recipe.__name__.rsplit(".", 1)[-1]


def settings_key(config) -> dict[str, Any]:
    """What decides a lab run's numbers and curves: every setting of ``config`` but the watch-only ones,
    through JSON (so a tuple in a live config equals the list a run.json holds)."""
    return json.loads(json.dumps({k: v for k, v in config.to_dict().items() if k not in NOT_IN_KEY}, default=repr))


def committed(labs: Path | None = None) -> dict[str, dict[str, Any]]:
    """Every committed run's record (run.json, with ``"folder"`` added), by its name; damaged files skipped."""
    runs = {}
    for path in sorted(Path(labs or LABS).glob(f"*/{RUN_FILE}")):
        try:
            runs[path.parent.name] = {**json.loads(path.read_text()), "folder": str(path.parent)}
        except (OSError, json.JSONDecodeError):
            continue
    return runs


def is_current(record: dict[str, Any], recipe: ModuleType) -> bool:
    """Was ``record`` trained by the code on disk (:func:`training_digest` of its recipe and the engine)?"""
    return record.get("training_digest") == training_digest(recipe)


def find(recipe: ModuleType, config, layer: str = "backbone", labs: Path | None = None) -> dict[str, Any] | None:
    """The committed run of ``recipe`` with ``config``, probed at ``layer``, trained by the current code,
    with its weights on disk; None when there is none (the lab then trains)."""
    wanted, name = settings_key(config), recipe_name(recipe)
    for record in committed(labs).values():
        if (record.get("recipe") == name and record.get("layer", "backbone") == layer
                and record.get("config") == wanted and (Path(record["folder"]) / WEIGHTS_FILE).exists()
                and is_current(record, recipe)):
            return record
    return None


def load_weights(record: dict[str, Any], model: torch.nn.Module) -> None:
    """Load a committed run's final weights into ``model`` (built by the recipe from the run's config)."""
    path = Path(record["folder"]) / WEIGHTS_FILE
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
    except Exception as err:  # a damaged or foreign file: name it, never an unpickling traceback
        raise ConfigError(f"{path} is damaged or does not fit {record.get('recipe')}'s model ({type(err).__name__}); "
                          f"train it again: {record.get('command', 'python benchmarks/lab_runs.py')}") from None


def compact(state_dict: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """``state_dict`` with its floating tensors as float16 (half the bytes), each kept as it is where
    float16 would overflow; integer buffers (BatchNorm's counters) unchanged."""
    out = {}
    for key, value in state_dict.items():
        value = value.detach().cpu()
        if value.is_floating_point():
            half = value.half()
            value = half if torch.isfinite(half).all() or not torch.isfinite(value).all() else value
        out[key] = value.contiguous().clone()
    return out


def write(folder: Path, record: dict[str, Any], state_dict: dict[str, torch.Tensor]) -> None:
    """Write a run atomically: the weights first, then run.json, the file :func:`find` looks for, so an
    interrupted write never leaves a run that is found without its weights."""
    folder.mkdir(parents=True, exist_ok=True)
    atomic_save({"model": compact(state_dict)}, folder / WEIGHTS_FILE)
    tmp = folder / f".{RUN_FILE}.tmp{os.getpid()}"
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, folder / RUN_FILE)


def raw_pixel_scores(data, config) -> dict[str, float]:
    """kNN accuracy of raw pixels on the class and each nuisance, with the lab's probe: the memory bank of
    ``config.eval_bank`` training images, its k and temperature, the same test images."""
    bank = config.eval_bank or len(data.train_x)
    train = evaluate.pixels(data.train_x[:bank])
    in_bank = dataclasses.replace(data, train_x=data.train_x[:bank], train_y=data.train_y[:bank],
                                  train_factors={k: v[:bank] for k, v in data.train_factors.items()})
    return evaluate.knn_scores(train, evaluate.pixels(data.test_x), in_bank, config.knn_k, config.knn_temperature)
