"""Chapter 6's test of an objective on a Vision Transformer: the masked models beside SimCLR.

``benchmarks/sweep.py masked-mae`` and ``masked-ijepa`` trained MAE's and I-JEPA's quick runs with three
seeds; chapter 8's ``interplay-simclr`` trained SimCLR on a ViT (300 steps, the same three seeds).
:func:`load` reads the three, :func:`setups` says how their ViTs and budgets differ (so a reader sees how
far the comparison separates the objective from the architecture), :func:`table` sets their class and
colour kNN beside chance, raw pixels and each untrained network, :func:`findings` states the chapter's
comparisons, and :func:`seeds` and :func:`factor_verdicts` give its other claims their values.
"""
from __future__ import annotations

from typing import Any

from torch import nn

from cookbook import models, registry
from cookbook.book import guide, report, sweeps
from cookbook.book.chapter import markdown
from cookbook.book.claims import Comparison, compare, factor_verdict
from cookbook.book.collapse import collapsed

RUN = "quick run"  # the masked sweeps' one setting: the recipe's quick budget
SIMCLR_VIT = "backbone vit_tiny, augment.crop_min_scale 0.5, augment.jitter_p 0.8"  # SimCLR's own views on a ViT
SWEEPS = {"MAE": ("masked-mae", RUN), "I-JEPA": ("masked-ijepa", RUN), "SimCLR": ("interplay-simclr", SIMCLR_VIT)}
# What each loss compares, for the setups' table.
OBJECTIVES = {"mae": "hidden patches' pixels", "ijepa": "hidden blocks' target-encoder features",
              "simclr": "two views' embeddings, against the batch's others"}

Runs = dict[str, tuple[dict[str, Any], str]]  # a method's name -> (its sweep, the setting's label)


def load(sweeps_by_name: dict[str, tuple[str, str]] | None = None) -> Runs:
    """The committed sweeps of :data:`SWEEPS` (or ``sweeps_by_name``: name -> (sweep, setting label))."""
    return {name: (report.load_sweep(sweep), label) for name, (sweep, label) in (sweeps_by_name or SWEEPS).items()}


def config(sweep: dict[str, Any], label: str):
    """The config the setting ``label`` of ``sweep`` trained with (its seed aside)."""
    recipe = registry.get(sweep["recipe"])
    point = next(p for p in sweep["points"] if sweeps._setting_label(p) == label)
    return recipe.Config.for_budget("quick", **sweeps.config_overrides(recipe, {**sweep["shared"],
                                                                                **point["settings"]}))


def backbone(sweep: dict[str, Any], label: str) -> nn.Module:
    """The ViT the setting trained, untrained: the masked recipes' own (their ``vit_*`` fields, mean-pooled
    patch tokens), or the shared ``vit_tiny`` of :func:`cookbook.models.build_backbone` (its [CLS] token)."""
    c = config(sweep, label)
    if hasattr(c, "vit_dim"):
        return models.TinyViT(32, c.patch_size, c.vit_dim, c.vit_depth, c.vit_heads, pool=getattr(c, "pool", "mean"))
    return models.build_backbone(c.backbone, width=c.width)


def setups(runs: Runs) -> list[dict[str, Any]]:
    """A Markdown table of what differs between the runs besides the objective: the ViT's width, blocks,
    patches and pooled feature, its parameters, the steps and batch, and the views' colour changes."""
    rows = []
    for name, (sweep, label) in runs.items():
        c, vit = config(sweep, label), backbone(sweep, label)
        seeds = sorted({p.get("seed") or 0 for p in sweep["points"] if sweeps._setting_label(p) == label})
        rows.append({"method": name, "loss compares": OBJECTIVES.get(sweep["recipe"], sweep["recipe"]),
                     "ViT": f"{vit.dim} wide, {len(vit.encoder.layers)} blocks",
                     "patches": f"{vit.patch_size} px ({vit.num_patches} tokens)",
                     "feature": "mean of patch tokens" if vit.pool == "mean" else "[CLS] token",
                     "parameters": f"{sum(p.numel() for p in vit.parameters()) / 1000:.0f} k",
                     "steps x batch": f"{c.steps} x {c.batch_size}",
                     "colour changes": f"p = {c.augment.jitter_p:g}" if c.augment.jitter_p else "none",
                     "seeds": ", ".join(map(str, seeds))})
    keys = list(rows[0])
    markdown("\n".join(["| " + " | ".join(keys) + " |", "|" + "---|" * len(keys)]
                       + ["| " + " | ".join(str(row[k]) for k in keys) + " |" for row in rows]))
    return rows


def references(runs: Runs) -> dict[str, dict[str, float]]:
    """Chance and raw pixels (:func:`cookbook.book.sweeps.references`) of the first run: every run's test
    images, kNN probe and bank must be the same, or the runs' accuracies could not stand side by side."""
    (first, label), *others = runs.values()
    probe = [_probe(first, label)] + [_probe(sweep, other) for sweep, other in others]
    if any(settings != probe[0] for settings in probe[1:]):
        raise ValueError(f"the runs were probed on other images or with other probes: {probe}")
    return sweeps.references(first, label)


def _probe(sweep: dict[str, Any], label: str) -> dict[str, Any]:
    """What decides a run's test images and kNN probe: its data settings and data seed, the bank and k."""
    c = config(sweep, label)
    return {**{name: getattr(c, name) for name in (*sweeps.DATA_FIELDS, "eval_bank", "knn_k", "knn_temperature")},
            "data seed": sweep["base_config"]["seed"]}


def rows(runs: Runs) -> list[dict[str, Any]]:
    """:func:`cookbook.book.sweeps.summary` rows of each run (its seeds merged), then chance, raw pixels
    and each run's untrained network: rows for :func:`cookbook.book.guide.table`."""
    found, untrained = [], []
    for name, (sweep, label) in runs.items():
        row = next(r for r in sweeps.summary(sweep) if r["label"] == label)
        count = len(row["seeds"])
        found.append({**row, "label": f"{name} ({count} seed{'s' if count > 1 else ''})"})
        network = sweeps.reference_rows(sweep, label)[-1]
        untrained.append({**network, "label": f"{name}'s ViT, untrained"})
    refs = [{"label": ref, **{key: (value,) * 3 for key, value in values.items()}}
            for ref, values in references(runs).items()]
    return found + refs + untrained


def table(runs: Runs, columns=("kNN", "shape colour", "background colour", "RankMe")) -> None:
    """:func:`rows` as :func:`cookbook.book.guide.table`: the mean over seeds and (their range)."""
    sweep, _ = next(iter(runs.values()))
    guide.table(sweep, rows=rows(runs), columns=columns)


def seeds(runs: Runs, measure: str = "kNN", untrained: bool = False) -> dict[str, list[float]]:
    """``measure`` of every seed of each run (:func:`cookbook.book.sweeps.seed_values`), by method;
    a run that did not measure it is left out."""
    found = {}
    for name, (sweep, label) in runs.items():
        try:
            found[name] = sweeps.seed_values(sweep, label, measure, untrained=untrained)
        except KeyError:
            continue
    return found


def factor_verdicts(runs: Runs, factor: str, names=("MAE", "I-JEPA")) -> dict[str, str]:
    """The book's rule for a nuisance ``factor`` (:func:`cookbook.book.claims.factor_verdict`) for each of
    ``names``: against chance, and against its own untrained network over the same seeds."""
    chance = references(runs)["chance"][factor]
    trained, before = seeds(runs, factor), seeds(runs, factor, untrained=True)
    return {name: factor_verdict(trained[name], chance, before[name]) for name in names}


def comparisons(runs: Runs, names=("MAE", "I-JEPA"), factors=("background colour",),
                between=("shape colour",)) -> dict[tuple[str, ...], Comparison]:
    """The comparisons a chapter states (:func:`cookbook.book.claims.compare`, seeds against seeds or
    against a reference): for each of ``names``, its kNN against raw pixels (``(name, "raw pixels")``) and
    against its untrained ViT (``(name, "untrained")``), and its kNN of each of ``factors`` against raw
    pixels' (``(name, factor)``); then the second against the first, by the class's kNN (``(second, first)``)
    and by the kNN of each factor in ``between`` (``(second, first, factor)``)."""
    knn, before = seeds(runs), seeds(runs, untrained=True)
    pixels = references(runs)["raw pixels"]
    found: dict[tuple[str, ...], Comparison] = {}
    for name in names:
        found[name, "raw pixels"] = compare(knn[name], pixels["kNN"], names=(name, "raw pixels"))
        found[name, "untrained"] = compare(knn[name], before[name], names=(name, "its ViT untrained"))
        for factor in factors:
            found[name, factor] = compare(seeds(runs, factor)[name], pixels[factor], names=(name, "raw pixels"),
                                          measure=f"kNN of the {factor}")
    first, second = names
    found[second, first] = compare(knn[second], knn[first], names=(second, first))
    for factor in between:
        kept = seeds(runs, factor)
        found[second, first, factor] = compare(kept[second], kept[first], names=(second, first),
                                               measure=f"kNN of the {factor}")
    return found


def against_simclr(runs: Runs, names=("MAE", "I-JEPA")) -> dict[str, Comparison]:
    """SimCLR on its ViT, the objective that rebuilds nothing, against the masked models: its class kNN over
    its seeds against each of ``names``' seeds (``name``), raw pixels (``"raw pixels"``) and its own untrained
    ViT (``"untrained"``)."""
    knn = seeds(runs)
    found = {name: compare(knn["SimCLR"], knn[name], names=("SimCLR", name)) for name in names}
    found["raw pixels"] = compare(knn["SimCLR"], references(runs)["raw pixels"]["kNN"], names=("SimCLR", "raw pixels"))
    found["untrained"] = compare(knn["SimCLR"], seeds(runs, untrained=True)["SimCLR"],
                                 names=("SimCLR", "its ViT untrained"))
    return found


def findings(runs: Runs) -> None:
    """Chapter 6's claims on the class and the background colour: MAE and I-JEPA against raw pixels, their
    untrained ViTs and each other (:func:`comparisons`), then SimCLR on its ViT against them
    (:func:`against_simclr`), each checked on the seeds."""
    found = comparisons(runs)
    for name in ("MAE", "I-JEPA"):
        found[name, "raw pixels"].states("lower", f"{name}'s features recognise the shape worse than raw pixels do")
        found[name, "untrained"].states("higher", f"though better than {name}'s ViT before training")
    found["I-JEPA", "MAE"].states("higher", "I-JEPA, which predicts features, finds the shape a bit better than MAE")
    found["MAE", "background colour"].states("higher", "MAE's features find the background's colour better than pixels")
    found["I-JEPA", "background colour"].states("no difference", "I-JEPA's find it no better and no worse than pixels")
    found["I-JEPA", "MAE", "shape colour"].states("higher", "Yet I-JEPA keeps more of the shape's colour than MAE")
    simclr = against_simclr(runs)
    simclr["untrained"].states("higher", "SimCLR, which rebuilds nothing, learns something of the shape on its ViT too")
    simclr["raw pixels"].states("lower", "but stays below raw pixels")
    simclr["MAE"].states("lower", "and below MAE")
    simclr["I-JEPA"].states("lower", "and I-JEPA")


def collapse_verdicts(runs: Runs) -> dict[str, tuple[int, str]]:
    """For each run, how many of its seeds collapsed by the book's rule (:func:`cookbook.book.collapse.collapsed`)
    and the numbers the rule read: ``{name: (0, "RankMe 17.4-19.8, normalised std 0.45-0.48")}``."""
    def span(values: list[float], f: str) -> str:
        return f"{min(values):{f}}" if min(values) == max(values) else f"{min(values):{f}}-{max(values):{f}}"

    rank, spread = seeds(runs, "RankMe"), seeds(runs, "normalised std")
    return {name: (sum(collapsed(r, s) for r, s in zip(rank[name], spread[name])),
                   f"RankMe {span(rank[name], '.1f')}, normalised std {span(spread[name], '.2f')}") for name in rank}
