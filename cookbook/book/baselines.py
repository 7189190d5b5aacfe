"""What every accuracy stands beside: chance, raw pixels and the untrained network (chapter 1's rule 3).

A finished run's metrics (:func:`cookbook.book.chapter.train`) hold two of the three, measured with the
run's own kNN probe on its own test images: ``raw_pixel_knn_acc`` and ``random_init_knn_acc``. A short
run (:func:`cookbook.book.chapter.short_run`) holds the untrained network as ``before``. Chance, the
accuracy of always answering the test set's most common label, needs the test labels, and a short run
has no raw-pixel score: :func:`references` measures both for the data a config names, once per session.
:func:`rows` lays finished runs out with their references in each row, :func:`show` shows them as tables, and
:func:`print_references` prints a short run's.
"""
from __future__ import annotations

import functools
from typing import Any

from cookbook import data as data_module
from cookbook import evaluate
from cookbook.book import chapter
from cookbook.book.report import FACTOR_NAMES

# The settings that decide which test images and which kNN probe a run is measured with.
FIELDS = ("dataset", "n_train", "n_test", "seed", "image_size", "data_root", "knn_k", "knn_temperature")

# chapter.table's formats for the rows of :func:`rows`: accuracies in percent.
FORMATS = {key: ".1%" for key in ("chance", "raw pixels", "untrained network", "kNN", "linear probe")}


def _settings(config: Any) -> tuple:
    """A config's :data:`FIELDS`, from a TrainConfig or the ``config`` dict a run's metrics hold."""
    get = config.get if isinstance(config, dict) else functools.partial(getattr, config)
    return tuple(get(name, None) for name in FIELDS)


@functools.lru_cache(maxsize=8)
def _load(dataset: str, n_train: int, n_test: int, seed: int, image_size: int | None, data_root: str | None):
    return data_module.load(dataset, "cpu", root=data_root, n_train=n_train, n_test=n_test, seed=seed,
                            image_size=image_size)


def named(scores: dict[str, float]) -> dict[str, float]:
    """``knn_acc`` -> "kNN", ``<factor>_knn_acc`` -> the factor's name ("position", ...)."""
    return {"kNN" if key == "knn_acc" else FACTOR_NAMES.get(key[:-len("_knn_acc")], key[:-len("_knn_acc")]): value
            for key, value in scores.items()}


def chance(config: Any) -> dict[str, float]:
    """Chance on the test images of ``config`` (a TrainConfig or a run's ``metrics["config"]``): the accuracy
    of always answering the most common value, for the class ("kNN") and each discrete nuisance factor."""
    dataset, n_train, n_test, seed, image_size, data_root, _, _ = _settings(config)
    return chance_on(_load(dataset, n_train, n_test, seed, image_size, data_root))


def chance_on(data) -> dict[str, float]:
    """Chance on ``data``'s test images (an ImageData): the share of the most common value of the class
    ("kNN") and of each discrete nuisance factor."""
    labels = {"knn_acc": data.test_y, **{f"{name}_knn_acc": values for name, values in data.test_factors.items()
                                         if not values.is_floating_point()}}
    return named({key: float(values.bincount().max()) / len(values) for key, values in labels.items()})


@functools.lru_cache(maxsize=8)
def _raw_pixels(settings: tuple) -> dict[str, float]:
    dataset, n_train, n_test, seed, image_size, data_root, k, temperature = settings
    data = _load(dataset, n_train, n_test, seed, image_size, data_root)
    return named(evaluate.knn_scores(evaluate.pixels(data.train_x), evaluate.pixels(data.test_x), data, k,
                                      temperature))


def references(config: Any) -> dict[str, dict[str, float]]:
    """``{"chance": {...}, "raw pixels": {...}}`` on the test images of ``config``, each for the class ("kNN")
    and every discrete nuisance factor: the kNN probe of a run (:func:`cookbook.evaluate.final_report`) on the
    images themselves. For a short run: ``references(recipe.Config.for_budget("quick", **its overrides))``."""
    return {"chance": chance(config), "raw pixels": _raw_pixels(_settings(config))}


def rows(runs: dict[str, dict[str, Any]], factor: str | None = None) -> list[dict[str, Any]]:
    """One row per finished run (label -> its metrics): its data and steps, then chance, raw pixels and the
    untrained network on its test images, then its kNN accuracy and linear probe; with ``factor`` (a nuisance
    factor's key, ``"position_cell"``) the same for that factor instead of the class, without the linear probe,
    each run's label followed by the factor's name."""
    table = []
    for label, metrics in runs.items():
        key = f"{factor}_knn_acc" if factor else "knn_acc"
        name = FACTOR_NAMES.get(factor, factor) if factor else "kNN"
        row = {"run": f"{label}, kNN of {name}" if factor else label, "data": metrics["dataset"],
               "steps": metrics["steps"], "chance": chance(metrics["config"])[name],
               "raw pixels": metrics[f"raw_pixel_{key}"], "untrained network": metrics[f"random_init_{key}"],
               "kNN": metrics[key]}
        if not factor:
            row["linear probe"] = metrics["linear_acc"]
        table.append(row)
    return table


def show(runs: dict[str, dict[str, Any]], *factors: str) -> None:
    """:func:`rows` as a table (:func:`cookbook.book.chapter.table`), then one more per nuisance factor in
    ``factors`` (``"position_cell"``): each accuracy beside its chance, raw pixels and untrained network."""
    for factor in (None, *factors):
        chapter.table(rows(runs, factor), FORMATS)


def print_references(*configs: Any) -> None:
    """One line per config (a short run's, ``recipe.Config.for_budget("quick", ...)``): chance and raw pixels
    of the class on its test images, with the kNN probe a run is measured with."""
    for config in configs:
        refs = references(config)
        print(f"{_settings(config)[0]}: kNN of the class on the same test images: chance {refs['chance']['kNN']:.1%}, "
              f"raw pixels {refs['raw pixels']['kNN']:.1%}")
