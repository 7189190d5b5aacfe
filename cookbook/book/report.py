"""Side-by-side results of finished runs, read from their ``metrics.json``.

The benchmark script (``benchmarks/recipes_table.py``) and the book's comparison page both
build their tables and figures here, from the files the runs wrote, so no number is ever
typed by hand. The benchmark keeps those files inside this package (:data:`RESULTS`), so a
chapter finds them wherever the package is installed, Colab included.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable

from cookbook import registry
from cookbook.book.cache import RESULTS
from cookbook.book.plots import COLUMN_WIDTH, legend_below, new_figure

# The toy shapes' discrete nuisance factors (cookbook.data.make_toy), by the name a reader knows them by,
# with their number of values (a kNN probe's chance level is one over it).
FACTOR_NAMES = {"fg_hue_bin": "shape colour", "bg_hue_bin": "background colour", "position_cell": "position",
                "scale_bin": "size"}
FACTOR_VALUES = {"fg_hue_bin": 6, "bg_hue_bin": 6, "position_cell": 9, "scale_bin": 3}


def nuisance_scores(measures: dict[str, Any]) -> dict[str, float]:
    """The nuisance kNN accuracies in a run's measures (``<factor>_knn_acc``), by the factor's name."""
    return {FACTOR_NAMES.get(key[:-len("_knn_acc")], key[:-len("_knn_acc")]): value for key, value in measures.items()
            if key.endswith("_knn_acc") and key != "knn_acc" and not key.startswith(("random_init_", "raw_pixel_"))}


COLUMNS = ("method", "family", "knn_acc", "random_init_knn_acc", "knn_gain", "linear_acc", "rankme",
           "feature_dim", "process_s", "device")


def row(metrics: dict[str, Any], process_s: float | None = None) -> dict[str, Any]:
    """One table row from a run's metrics (what ``train`` returns, or its ``metrics.json``).

    ``process_s`` is the wall time of the whole command when it was measured, else the run's
    own ``wall_s`` is used."""
    name = metrics["method"]
    return {
        "method": name,
        "family": registry.family(name) if name in registry.names() else "",
        "dataset": metrics["dataset"],
        "backbone": metrics["backbone"],
        "knn_acc": metrics["knn_acc"],
        "random_init_knn_acc": metrics["random_init_knn_acc"],
        "raw_pixel_knn_acc": metrics["raw_pixel_knn_acc"],
        "knn_gain": metrics["knn_acc"] - metrics["random_init_knn_acc"],
        "linear_acc": metrics["linear_acc"],
        "rankme": metrics["rankme"],
        "feature_dim": metrics["feature_dim"],
        "steps": metrics["steps"],
        "wall_s": metrics["wall_s"],
        "process_s": metrics["wall_s"] if process_s is None else process_s,
        "device": metrics["device"],
    }


def load_runs(paths: Iterable[Path]) -> list[dict[str, Any]]:
    """One :func:`row` per ``metrics.json`` (a file, or a run folder holding one), family by family.

    ``process_s`` is the wall time of the whole command when the benchmark recorded it (in
    ``timing.json`` next to the metrics, with the ``machine`` it ran on), else the run's own ``wall_s``."""
    rows = []
    for path in paths:
        path = Path(path)
        folder = path if path.is_dir() else path.parent
        metrics = json.loads((folder / "metrics.json").read_text())
        timing_file = folder / "timing.json"
        timing = json.loads(timing_file.read_text()) if timing_file.exists() else {}
        rows.append({**row(metrics, timing.get("process_s")), "machine": timing.get("machine", "")})
    order = registry.names()
    return sorted(rows, key=lambda r: (order.index(r["method"]) if r["method"] in order else len(order), r["method"]))


# Package data (pyproject.toml): each benchmark run's metrics.json and timing.json, in
# <label>/<recipe>/, shipped with the package so that a chapter opened alone, on a
# non-editable install (Colab), still finds them.


def load_results(label: str, results: Path = RESULTS) -> list[dict[str, Any]]:
    """The rows of one benchmark (``quick``, ``digits-quick``...), from the ``metrics.json`` files
    ``benchmarks/recipes_table.py`` keeps in the package, in ``cookbook/results/runs/<label>/``."""
    folder = Path(results) / label
    runs = sorted(p for p in folder.glob("*") if (p / "metrics.json").exists()) if folder.is_dir() else []
    if not runs:
        flag = f" --dataset {label.rsplit('-', 1)[0]}" if "-" in label else ""
        raise FileNotFoundError(f"no runs in {folder}: generate them with "
                                f"`python benchmarks/recipes_table.py{flag} --budget {label.rsplit('-', 1)[-1]}`")
    return load_runs(runs)


# Package data too: the sweeps benchmarks/sweep.py ran, one NAME.json each.
SWEEPS = RESULTS.parent / "sweeps"


def load_sweep(name: str, results: Path = SWEEPS) -> dict[str, Any]:
    """A sweep ``benchmarks/sweep.py`` ran and kept in the package (``results/NAME/``): its recipe,
    the settings its points share, and ``points``, each ``{"label", "settings", "seed", "before",
    "after", "history", "spectrum", "seconds"}`` (:func:`cookbook.book.chapter.short_run`'s measures),
    plus the ``machine``, ``date``, ``threads`` and ``command`` it ran with. ``by_label(sweep)``
    indexes the points."""
    folder = Path(results) / name
    manifest = folder / "sweep.json"
    if not manifest.exists():
        known = sorted(p.parent.name for p in Path(results).glob("*/sweep.json"))
        raise FileNotFoundError(f"no sweep {name!r} in {results} (it has: {', '.join(known) or 'none'}): "
                                f"run it with `python benchmarks/sweep.py {name}`")
    sweep = json.loads(manifest.read_text())
    if not sweep.get("complete"):
        raise FileNotFoundError(f"the sweep {name!r} in {folder} was interrupted ({len(sweep['points'])} runs "
                                f"kept): finish it with `{sweep['command']}`")
    points = [{**json.loads((folder / entry["run"] / "metrics.json").read_text()), "run": entry["run"]}
              for entry in sweep["points"]]
    return {**sweep, "points": points}


def by_label(sweep: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A loaded sweep's points, by label."""
    return {point["label"]: point for point in sweep["points"]}


def markdown_table(rows: list[dict[str, Any]]) -> str:
    """A Markdown table of single runs, each beside its references on the same data and probe: kNN
    accuracy, the same network untrained, raw pixels (all in percent), the linear probe, RankMe over
    the feature dimension, and the steps and wall time it took."""
    lines = ["| method | data | kNN | untrained | raw pixels | linear probe | RankMe | steps | wall time |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['method']} | {r['dataset']} | {100 * r['knn_acc']:.1f}% | "
                     f"{100 * r['random_init_knn_acc']:.1f}% | {100 * r['raw_pixel_knn_acc']:.1f}% | "
                     f"{100 * r['linear_acc']:.1f}% | {r['rankme']:.1f} / {r['feature_dim']} | {r['steps']} | "
                     f"{r['process_s']:.0f} s |")
    return "\n".join(lines)


def comparison_figure(rows: list[dict[str, Any]], title: str | None = None):
    """kNN and linear-probe accuracy per method, with the random-init kNN as a tick (top), and each
    method's RankMe over its feature dimension (below, same methods): one quantity per axis, the legend
    under the panels."""
    fig = new_figure(COLUMN_WIDTH, 5.6)
    acc_ax, rank_ax = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [2, 1]})
    names = [r["method"] for r in rows]
    x = list(range(len(rows)))
    acc_ax.bar([i - 0.2 for i in x], [100 * r["knn_acc"] for r in rows], 0.4, label="kNN")
    acc_ax.bar([i + 0.2 for i in x], [100 * r["linear_acc"] for r in rows], 0.4, label="linear probe")
    acc_ax.scatter(x, [100 * r["random_init_knn_acc"] for r in rows], marker="_", s=200, color="k",
                   zorder=3, label="kNN of the untrained network")
    acc_ax.set_ylabel("test accuracy (%)")
    acc_ax.set_ylim(0, 100)
    acc_ax.grid(axis="y", alpha=0.3)
    acc_ax.tick_params(axis="x", labelbottom=True)  # the method names under both panels: each reads alone
    acc_ax.set_xticks(x, names, rotation=90, fontsize=8)
    rank_ax.bar(x, [r["rankme"] for r in rows], 0.6, color="C2")
    for i, r in enumerate(rows):
        rank_ax.annotate(f"/{r['feature_dim']}", (i, r["rankme"]), xytext=(0, 1), textcoords="offset points",
                         ha="center", va="bottom", fontsize=7)
    rank_ax.set_ylabel("RankMe")
    rank_ax.set_ylim(0, 1.2 * max((r["rankme"] for r in rows), default=1))
    rank_ax.grid(axis="y", alpha=0.3)
    rank_ax.tick_params(axis="x", labelbottom=True)
    rank_ax.set_xticks(x, names, rotation=90, fontsize=8)
    legend_below(fig, [acc_ax])
    if title:
        fig.suptitle(title, fontsize=11)
    return fig
