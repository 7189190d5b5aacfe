"""Readings of the book's runs by chapter 1's rules of evidence, written once for the chapters that make them.

Each function states what a chapter may say about a table or a probe and checks it as it says it
(:func:`cookbook.book.claims.claim`): a verdict on one probe by the book's rule for *collapsed*
(:func:`probe_pair`), what two single runs say about a measure without ranking their methods
(:func:`same_rank_apart`), the linear regime's three readings (:func:`linear_regime`), and what a table of
single runs may be compared with (:func:`table_conditions`: chance, the rows trained under other
conditions, the rows that did not beat raw pixels). The sentences carry the numbers; nothing is typed.
"""
from __future__ import annotations

from typing import Any

from cookbook import registry
from cookbook.book import baselines, claims
from cookbook.book.collapse import collapse_kind, normalised_std

# Principal angles, in degrees, that count as "the same plane" and as "a plane at right angles".
SAME_PLANE_DEGREES = 5.0
ORTHOGONAL_DEGREES = 80.0


def show_chance(metrics: dict[str, Any]) -> float:
    """Print chance on the test images of a finished run (its ``metrics``), the third reference beside the
    untrained network and the raw pixels that :func:`cookbook.book.chapter.results` shows; return it."""
    chance = baselines.chance(metrics["config"])["kNN"]
    print(f"chance on the same test images (always answering the most common class): {chance:.1%}")
    return chance


def sampling_error(first: float, second: float, n: int) -> float:
    """The standard error of the difference between two accuracies near ``first`` and ``second``, each
    measured on ``n`` test images (binomial)."""
    p = (first + second) / 2
    return (2 * p * (1 - p) / n) ** 0.5


def _possessive(name: str) -> str:
    return f"{name}'" if name.endswith("s") else f"{name}'s"


def same_rank_apart(first: dict[str, Any], second: dict[str, Any], names: tuple[str, str]) -> bool:
    """Claim that two finished runs' features spread over about as many directions (RankMe within a tenth of
    each other) and yet their kNN accuracies differ by more than three sampling errors of a difference on
    their test images: what a high RankMe does not promise. A reading of two sets of features, not a
    ranking of their methods, which one seed each cannot give. Committed runs are checked everywhere,
    runs trained here as live runs."""
    rank_gap, knn_gap = abs(first["rankme"] - second["rankme"]), abs(first["knn_acc"] - second["knn_acc"])
    n_test = second["config"]["n_test"]
    error = sampling_error(first["knn_acc"], second["knn_acc"], n_test)
    return claims.claim(
        f"{_possessive(names[0])} features and {_possessive(names[1])} spread over about as many directions (RankMe "
        f"{first['rankme']:.1f} and {second['rankme']:.1f} of {second['feature_dim']}), yet their kNN accuracies "
        f"are {100 * knn_gap:.1f} points apart ({first['knn_acc']:.1%} and {second['knn_acc']:.1%}), more than "
        f"three times the sampling error of such a difference on {n_test} test images ({100 * error:.1f} points).",
        rank_gap <= 0.1 * max(first["rankme"], second["rankme"]) and knn_gap > 3 * error,
        live="committed" not in first or "committed" not in second,
        evidence=f"RankMe {rank_gap:.1f} apart, kNN {100 * knn_gap:.1f} points apart")


def _measured(report: dict[str, float]) -> str:
    return f"RankMe {report['rankme']:.2f}, normalised std {normalised_std(report):.3f}"


def probe_pair(title: str, default: dict[str, float], switched: dict[str, float], expected: str,
               live: bool = True) -> bool:
    """Claim, by the book's rule (:func:`cookbook.book.collapse.collapse_kind`), that the probe with a
    safeguard switched off collapsed ``expected`` ("completely" or "dimensionally") and that the default
    beside it, trained for as many steps, did not. Probes train in the reader's kernel: ``live``."""
    if expected not in ("completely", "dimensionally"):
        raise ValueError(f"expected={expected!r}: a probe collapses 'completely' or 'dimensionally'")
    return claims.claim(
        f"{title}: the probe has collapsed {expected} ({_measured(switched)}); the default beside it, after as "
        f"many steps, has not ({_measured(default)}).",
        collapse_kind(switched) == expected and collapse_kind(default) is None, live=live,
        evidence=f"by the rule the probe collapsed {collapse_kind(switched) or 'not at all'}, the default "
                 f"{collapse_kind(default) or 'not at all'}")


def linear_regime(fit) -> None:
    """Chapter 7's three readings of a :class:`cookbook.book.spectral.LinearRegime`, each a claim: PCA of the raw
    data misses the content plane, the closed form finds it (with its two eigenvalues far above the rest),
    and the trained linear encoder lands on the closed form (:data:`SAME_PLANE_DEGREES`,
    :data:`ORTHOGONAL_DEGREES`)."""
    angles = fit.angles()
    trained = float(angles["trained encoder vs closed form"].max())
    closed = float(angles["closed form vs the content directions"].max())
    pca = float(angles["top two principal components vs the content directions"].min())  # the closer of the two
    values = fit.eigenvalues
    claims.claim(f"Principal component analysis of the raw data finds the loud nuisance directions: even the "
                 f"closer of its two directions is {pca:.1f} degrees from the content plane, and the clusters "
                 f"stay mixed.", pca > ORTHOGONAL_DEGREES, live=True)
    claims.claim(f"The closed form finds the content plane (largest angle {closed:.2f} degrees), because the "
                 f"graph, not the variance, decides what matters. Its two eigenvalues, {values[0]:.3f} and "
                 f"{values[1]:.3f}, stand more than ten times above the next, {values[2]:.3f}.",
                 closed < SAME_PLANE_DEGREES and values[1] > 10 * values[2], live=True)
    claims.claim(f"The linear encoder, trained only on sampled pairs, lands on the closed form: its largest "
                 f"principal angle to it ends at {trained:.2f} degrees.", trained < SAME_PLANE_DEGREES, live=True)


def table_conditions(results: list[dict[str, Any]], reference: str = "simclr") -> None:
    """Print what a table of committed single runs (:func:`cookbook.book.report.load_results`) may be compared
    with: chance on each dataset of the table, the rows not trained on the ``reference`` row's data, backbone
    and number of steps, and the rows whose kNN accuracy is not above their raw pixels' (chapter 1's rule 3)."""
    chance = {dataset: baselines.chance(registry.get(name).Config.for_budget("quick"))["kNN"]
              for dataset, name in {row["dataset"]: row["method"] for row in results}.items()}
    print("chance (always answering the most common class): "
          + ", ".join(f"{value:.1%} on {dataset}" for dataset, value in chance.items()))
    base = next(row for row in results if row["method"] == reference)
    others = [f"{row['method']} ({row['dataset']}, {row['backbone']}, {row['steps']} steps)" for row in results
              if any(row[key] != base[key] for key in ("dataset", "backbone", "steps"))]
    print(f"not trained on {reference}'s data ({base['dataset']}), backbone ({base['backbone']}) and steps "
          f"({base['steps']}): {'; '.join(others) or 'none'}")
    below = [row["method"] for row in results if row["knn_acc"] <= row["raw_pixel_knn_acc"]]
    print(f"kNN not above its own raw pixels' in its one seed: {', '.join(below) or 'none'}")
