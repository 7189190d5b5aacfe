"""A sweep as data: a point's settings as a config and its images, and its measures over the seeds.

``benchmarks/sweep.py`` trains the points of a declared sweep with these, and the chapters read
what it kept through them (:mod:`cookbook.book.guide` draws it, :mod:`cookbook.book.selection`
compares selectors over it). A sweep's settings are the recipe's config fields, ``augment.<field>``
for a field of its views' :class:`cookbook.augment.AugmentConfig`, and ``data.<name>`` for the
training set's long tail (:mod:`cookbook.imbalance`).
"""
from __future__ import annotations

import dataclasses
import json
import statistics
from types import ModuleType
from typing import Any

from cookbook import evaluate, registry
from cookbook.book import baselines, report
from cookbook.book.spectral import alpha_req
from cookbook.imbalance import DATA, apply
from cookbook.run import load_data

LAST_RECORDS = 5  # a run's final training loss: the mean of its last records (every log_every steps)

AUGMENT = "augment."  # a setting of the view pipeline: "augment.jitter_strength" is Config.augment.jitter_strength


def config_overrides(recipe: ModuleType, settings: dict[str, Any]) -> dict[str, Any]:
    """A sweep point's settings -> keyword arguments of ``recipe.Config.for_budget``: the
    ``augment.<field>`` settings change those fields of the recipe's own quick-budget views; the
    ``data.<name>`` settings are the training set's (:func:`cookbook.imbalance.apply`), not the config's."""
    plain = {k: v for k, v in settings.items() if not k.startswith((AUGMENT, DATA))}
    changes = {k[len(AUGMENT):]: tuple(v) if isinstance(v, list) else v
               for k, v in settings.items() if k.startswith(AUGMENT)}
    if changes:
        plain["augment"] = recipe.Config.for_budget("quick", **plain).augment.replace(**changes)
    return plain


# The settings that decide which images a run loads (the rest decide what it does with them).
DATA_FIELDS = ("dataset", "n_train", "n_test", "image_size", "data_root", "download")


def point_data(recipe: ModuleType, settings: dict[str, Any], seed: int, loaded: dict | None = None):
    """The images a sweep point trains on, and the balanced labels its classes are probed with:
    ``(data, balanced)``. ``data`` is the dataset its settings name, made with the sweep's data seed
    ``seed`` (its base config's: a point's own seed changes the initialisation, the batches and the
    views, never the images), then its ``data.<name>`` settings applied (:func:`cookbook.imbalance.apply`).
    ``balanced`` is None unless those settings made a long tail: then it is the same number of
    training images with every class equal, whose labels probe the features without the tail's
    scarcity of labels. ``loaded`` caches datasets between the points of one sweep."""
    config = recipe.Config.for_budget("quick", **config_overrides(recipe, settings))
    key = tuple(getattr(config, name) for name in DATA_FIELDS)
    cache = loaded if loaded is not None else {}
    if key not in cache:
        cache[key] = load_data(dataclasses.replace(config, seed=seed))
    data = apply(cache[key], settings)
    balanced = apply(cache[key], {**settings, DATA + "class_ratio": 1}) if data is not cache[key] else None
    return data, balanced


def _setting_label(point: dict[str, Any]) -> str:
    label = point["label"]
    return label.rsplit(", seed ", 1)[0] if point.get("seed") is not None and ", seed " in label else label


def measures(point: dict[str, Any]) -> dict[str, float]:
    """What one run of a sweep measured: class and nuisance kNN, RankMe, cost, and the rest it kept."""
    after = point["after"]
    values = {"kNN": after["knn_acc"], **report.nuisance_scores(after), "RankMe": after["rankme"],
              "seconds": point.get("seconds"), "CPU seconds": point.get("cpu_seconds"),
              "kNN gain": after["knn_acc"] - point["before"]["knn_acc"],
              "normalised std": after["mean_std"] / after["std_if_uniform"] if "mean_std" in after else None}
    backbone = next((row for row in point.get("layers", []) if row["layer"] == "backbone"), None)
    if backbone and "linear_acc" in backbone:
        values["linear probe"] = backbone["linear_acc"]
    if len(point.get("layers", [])) > 1:  # the loss's own embedding, after the projector's last layer
        values["embedding RankMe"] = point["layers"][-1]["rankme"]
    losses = [r["loss"] for r in point.get("history", []) if "loss" in r]
    if losses:  # the training loss at the end, averaged over the last few records: one step's loss is noisy
        values["loss"] = statistics.fmean(losses[-LAST_RECORDS:])
    try:
        values["alpha-ReQ"] = alpha_req(point["spectrum"]) if point.get("spectrum") else None
    except ValueError:  # a spectrum collapsed to fewer than 3 directions has no slope
        values["alpha-ReQ"] = None
    return {k: v for k, v in values.items() if v is not None}


def summary(sweep: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per setting (the seeds of a setting merged): ``{"label", "settings", "seeds", measure:
    (mean, low, high)}`` for kNN (the class), each nuisance's kNN, RankMe, the linear probe when the
    sweep probed layers, and the seconds one run took."""
    groups: dict[str, list[dict]] = {}
    for point in sweep["points"]:
        groups.setdefault(_setting_label(point), []).append(point)
    rows = []
    for label, points in groups.items():
        measured = [measures(p) for p in points]
        row = {"label": label, "settings": points[0]["settings"], "seeds": [p.get("seed") for p in points]}
        for key in measured[0]:
            values = [m[key] for m in measured if key in m]
            row[key] = (statistics.fmean(values), min(values), max(values))
        rows.append(row)
    return rows


# Measures that are not accuracies: shown as they are, never in percent.
PLAIN = ("RankMe", "embedding RankMe", "seconds", "CPU seconds", "normalised std", "loss", "alpha-ReQ")


def display_scale(measure: str) -> int:
    """Accuracies are drawn in percent; RankMe, seconds and the rest as they are."""
    return 1 if measure in PLAIN else 100


def seed_values(sweep: dict[str, Any], label: str, measure: str = "kNN", untrained: bool = False) -> list[float]:
    """``measure`` (a name of :func:`measures`: "kNN", "RankMe", a nuisance's name ...) of every seed of
    the setting ``label``, in seed order; ``untrained=True``: of the same networks before training."""
    points = [p for p in sweep["points"] if _setting_label(p) == label]
    if not points:
        labels = dict.fromkeys(_setting_label(p) for p in sweep["points"])
        raise KeyError(f"the sweep {sweep['sweep']!r} has no setting {label!r}; its settings: {', '.join(labels)}")
    if untrained:
        points = [{**p, "after": p["before"], "layers": [], "history": [], "spectrum": None} for p in points]
    values = [measures(p).get(measure) for p in points]
    if None in values:
        raise KeyError(f"the sweep {sweep['sweep']!r} did not measure {measure!r}; it has: "
                       f"{', '.join(measures(points[0]))}")
    return values


def references(sweep: dict[str, Any], label: str | None = None) -> dict[str, dict[str, float]]:
    """What every accuracy of a sweep's setting ``label`` (default: its first) stands beside, on the same
    test images with the same kNN probe: ``{"chance": {measure: ...}, "raw pixels": {measure: ...}}`` for
    the class ("kNN") and each nuisance factor. Chance is the accuracy of always answering the test set's
    most common value; raw pixels is the kNN probe on the images themselves."""
    point = next(p for p in sweep["points"] if label is None or _setting_label(p) == label)
    key = _probe_key(sweep, point)
    if key not in _REFERENCES:  # a chapter asks for its sweeps' references in tables, claims and figures
        _REFERENCES[key] = _measured_references(sweep, point)
    return _REFERENCES[key]


_REFERENCES: dict[tuple, dict[str, dict[str, float]]] = {}
# What the references depend on: the images (the data fields, the data seed, the long tail's settings) and the probe.
PROBE_FIELDS = DATA_FIELDS + ("eval_bank", "knn_k", "knn_temperature")


def _probe_key(sweep: dict[str, Any], point: dict[str, Any]) -> tuple:
    """The references of every sweep that trains on the same images with the same kNN probe are the same
    numbers: one measurement serves them all (a chapter reading four sweeps of the toy shapes saves seconds)."""
    recipe = registry.get(sweep["recipe"])
    settings = {**sweep["shared"], **point["settings"]}
    config = recipe.Config.for_budget("quick", **config_overrides(recipe, settings))
    tail = {k: v for k, v in settings.items() if k.startswith(DATA)}
    return (tuple(getattr(config, name) for name in PROBE_FIELDS), sweep["base_config"]["seed"],
            json.dumps(tail, sort_keys=True))


def _measured_references(sweep: dict[str, Any], point: dict[str, Any]) -> dict[str, dict[str, float]]:
    recipe = registry.get(sweep["recipe"])
    settings = {**sweep["shared"], **point["settings"]}
    data, _ = point_data(recipe, settings, sweep["base_config"]["seed"])
    config = recipe.Config.for_budget("quick", **config_overrides(recipe, settings))
    bank = config.eval_bank or len(data.train_x)
    in_bank = dataclasses.replace(data, train_x=data.train_x[:bank], train_y=data.train_y[:bank],
                                  train_factors={name: v[:bank] for name, v in data.train_factors.items()})
    raw = evaluate.knn_scores(evaluate.pixels(in_bank.train_x), evaluate.pixels(data.test_x), in_bank,
                              config.knn_k, config.knn_temperature)
    return {"chance": baselines.chance_on(data), "raw pixels": baselines.named(raw)}


def reference_rows(sweep: dict[str, Any], label: str | None = None) -> list[dict[str, Any]]:
    """Rows shaped like :func:`summary`'s to stand under a sweep's table: chance, raw pixels (both
    :func:`references`) and the untrained network of the setting ``label`` (default: the first), over its
    seeds, for the class and each nuisance factor."""
    label = label or _setting_label(sweep["points"][0])
    refs = references(sweep, label)
    rows = [{"label": name, **{key: (value, value, value) for key, value in values.items()}}
            for name, values in refs.items()]
    untrained = {}
    for key in refs["chance"]:
        values = seed_values(sweep, label, key, untrained=True)
        untrained[key] = (statistics.fmean(values), min(values), max(values))
    return rows + [{"label": "untrained network", **untrained}]
