"""A whole run, from a recipe and a config to its metrics and files: the one setup path.

:func:`prepare` is the sequence every caller shares (the command line, the chapters'
:func:`cookbook.book.chapter.short_run`, the collapse probe and the lab): seed, load the data, seed
again, build the model. Seeding twice makes the model's initial weights independent of how much
randomness loading the data used. :func:`run_recipe` trains what :func:`prepare` built and
reports, writing ``metrics.json``, ``curves.png`` and the checkpoint into ``config.out``.

Data flows one way: config -> :mod:`cookbook.data` -> the recipe's model (which makes its own
views with :mod:`cookbook.augment` and computes its loss) -> :class:`cookbook.train.Trainer`
-> :mod:`cookbook.evaluate` -> the files written here.
"""
from __future__ import annotations

import json
import random
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import numpy as np
import torch

from . import data as data_module
from . import evaluate, pick_device, registry
from .checkpoint import CHECKPOINT_NAME, check_out_is_folder, check_same_run, load_checkpoint
from .config import TrainConfig
from .curves import save_training_curves
from .method import Method
from .train import Trainer, check_world


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def load_data(config: TrainConfig) -> data_module.ImageData:
    return data_module.load(config.dataset, pick_device(config.device), root=config.data_root,
                            download=config.download, n_train=config.n_train, n_test=config.n_test,
                            seed=config.seed, image_size=config.image_size)


class Prepared(NamedTuple):
    data: data_module.ImageData
    model: Method


def recipe_module(recipe: ModuleType | str) -> ModuleType:
    """A recipe module, from itself or its registry name."""
    return registry.get(recipe) if isinstance(recipe, str) else recipe


def prepare(recipe: ModuleType | str, config: TrainConfig, data: data_module.ImageData | None = None) -> Prepared:
    """Seed, load the data (unless ``data`` is given), seed again, build the recipe's model."""
    recipe = recipe_module(recipe)
    seed_everything(config.seed)
    if data is None:
        data = load_data(config)
    seed_everything(config.seed)
    return Prepared(data, recipe.build_model(config, data).to(data.device))


def preflight(config: TrainConfig) -> None:
    """Refuse, before any work is done, what the Trainer would refuse later: a multi-process launch,
    an output folder that is a file, or one holding a checkpoint this run cannot resume (damaged,
    or written with other settings). The command line calls it before it announces the run."""
    check_world(config)
    if config.out is None:
        return
    check_out_is_folder(config.out)
    checkpoint = Path(config.out) / CHECKPOINT_NAME
    if config.resume and checkpoint.exists():
        check_same_run(checkpoint, load_checkpoint(checkpoint).get("config", {}), config.to_dict())


def run_recipe(recipe: ModuleType | str, config: TrainConfig) -> dict[str, Any]:
    """Load the data, build the model, train it, and report (and, with ``config.out``, save) the metrics.

    The ``random_init_*`` baselines are the same model before training (same seed, so also on
    a resumed run), evaluated with the full memory bank like the trained one.
    """
    recipe = recipe_module(recipe)
    data, model = prepare(recipe, config)
    k, temperature = config.knn_k, config.knn_temperature
    random_init = evaluate.knn_scores(*evaluate.features(model.backbone, data), data, k, temperature,
                                      prefix="random_init_")
    trainer = Trainer(model, data, config)
    for _ in trainer.run():
        pass
    metrics = {"method": model.name, **evaluate.final_report(model.backbone, data, k, temperature, config.seed),
               "steps": trainer.step, "wall_s": round(trainer.wall_s, 2), "device": device_name(trainer.device),
               "dataset": data.name, "backbone": config.backbone, **random_init,
               "config": config.to_dict(), "history": trainer.history}
    if config.out and trainer.rank == 0:  # one model over every process: one copy of its files
        write_run(metrics, Path(config.out))
    return metrics


def device_name(device: torch.device) -> str:
    return str(device) + (f" ({torch.cuda.get_device_name(device)})" if device.type == "cuda" else "")


def write_run(metrics: dict[str, Any], out: Path) -> None:
    """``metrics.json`` and ``curves.png`` of a finished run, in ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    save_training_curves(metrics["history"], out / "curves.png",
                               title=f"{metrics['method']} on {metrics['dataset']}",
                               baselines={"raw pixels": metrics["raw_pixel_knn_acc"],
                                          "random init": metrics["random_init_knn_acc"]})
