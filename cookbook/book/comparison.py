"""Chapter 16's comparison of every recipe: one test set per table, the references of each backbone, the seeds.

A fair side-by-side needs three things the raw results tables do not give by themselves:

- **One test set per table.** RotNet trains on the upright shapes (``toy_upright``: on shapes drawn at
  any angle there is no rotation to predict), so its accuracy is on other test images than everyone
  else's on ``toy``. It gets its own table with the two recipes also run there (:data:`UPRIGHT`).
- **The references of each backbone.** Chance and raw pixels depend on the test set only; the untrained
  network depends on the backbone too: MAE's and I-JEPA's are ViTs of different sizes, the others share
  one CNN. Each row carries its own untrained network, and the figure draws it per bar.
- **The seeds.** A recipe's quick run over three seeds exists where a chapter needed it (the sweeps of
  :data:`SEEDED`); every other recipe has one committed run (``benchmarks/recipes_table.py``), which a
  row marks as one seed. Only seeded rows enter a comparison (:mod:`cookbook.book.claims` refuses fewer
  than three seeds), so the page says which recipes it cannot yet compare.
"""
from __future__ import annotations

import json
import statistics
from pathlib import Path
from typing import Any

from cookbook.book import baselines, claims, report, sweeps
from cookbook.book.plots import COLUMN_WIDTH, legend_below, new_figure

# Three seeds of a recipe's quick run, on the data of each table: (sweep, setting) whose settings are the
# recipe's quick budget on that data (the sweep changes nothing else, or only how often it evaluates).
SEEDED = {
    "toy": {"simclr": ("simclr-temperature-batch", "temperature 0.2"),
            "vicreg": ("augment-ablation-vicreg", "all augmentations"),
            "dino": ("multicrop-dino", "2 local crops"),
            "mae": ("masked-mae", "quick run"), "ijepa": ("masked-ijepa", "quick run")},
    "toy_upright": {name: (f"pretext-upright-{name}", "quick run") for name in ("rotnet", "jigsaw", "simclr")},
    "digits": {"simclr": ("democratizing-digits", "default")},
}
# The recipes whose quick budget trains on another dataset than the rest: shown in their own table.
UPRIGHT = ("rotnet",)


def _seeded_row(dataset: str, method: str, committed: dict[str, Any] | None) -> dict[str, Any] | None:
    name, label = SEEDED.get(dataset, {}).get(method, (None, None))
    if name is None:
        return None
    sweep = report.load_sweep(name)
    refs = sweeps.references(sweep, label)
    return {"method": method, "family": committed["family"] if committed else "", "dataset": dataset,
            "backbone": backbone(sweep["base_config"]), "source": f"sweep {name}",
            "knn": sweeps.seed_values(sweep, label), "untrained": sweeps.seed_values(sweep, label, untrained=True),
            "raw pixels": refs["raw pixels"]["kNN"], "chance": refs["chance"]["kNN"]}


def rows(label: str, dataset: str) -> list[dict[str, Any]]:
    """Every recipe's quick run on ``dataset`` in the committed results ``label`` ("quick", "digits-quick"),
    one row each, with its kNN per seed (three where a sweep of :data:`SEEDED` holds them, else the one
    committed run), its own untrained network per seed, raw pixels and chance on its test set."""
    out = []
    for committed in report.load_results(label):
        if committed["dataset"] != dataset:
            continue
        row = _seeded_row(dataset, committed["method"], committed)
        if row is None:
            row = {"method": committed["method"], "family": committed["family"], "dataset": dataset,
                   "backbone": backbone(_metrics(label, committed["method"])["config"]), "source": f"runs/{label}",
                   "knn": [committed["knn_acc"]], "untrained": [committed["random_init_knn_acc"]],
                   "raw pixels": committed["raw_pixel_knn_acc"], "chance": _chance(label, committed["method"])}
        out.append(row)
    return out


def tables() -> dict[str, list[dict[str, Any]]]:
    """The page's three tables, each on one test set: the toy shapes (every recipe but RotNet), the upright
    toy shapes (RotNet beside the two recipes chapter 2 ran there) and digits (every recipe)."""
    committed = {r["method"]: r for r in report.load_results("quick")}
    upright = [_seeded_row("toy_upright", name, committed.get(name)) for name in SEEDED["toy_upright"]]
    return {"toy shapes": rows("quick", "toy"), "upright toy shapes": upright,
            "digits": rows("digits-quick", "digits")}


def _metrics(label: str, method: str) -> dict[str, Any]:
    return json.loads((report.RESULTS / label / method / "metrics.json").read_text())


def _chance(label: str, method: str) -> float:
    """Chance on a committed run's test set: always answering its most common label."""
    return baselines.chance(_metrics(label, method)["config"])["kNN"]


def backbone(config: dict[str, Any]) -> str:
    """The backbone and its size, as a reader compares them: "CNN, width 16", "ViT, width 96"."""
    if config["backbone"].startswith("vit"):
        return f"ViT, width {config['vit_dim']}, depth {config['vit_depth']}"
    if config["backbone"] == "small_cnn":
        return f"CNN, width {config['width']}"
    return config["backbone"]


def seeded(table: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in table if len(r["knn"]) >= claims.MIN_SEEDS]


def one_seed(table: list[dict[str, Any]]) -> list[str]:
    return [r["method"] for r in table if len(r["knn"]) < claims.MIN_SEEDS]


def _cell(values: list[float]) -> str:
    if len(values) == 1:
        return f"{100 * values[0]:.1f}% (1 seed)"
    return f"{100 * statistics.fmean(values):.1f}% ({100 * min(values):.1f}-{100 * max(values):.1f})"


def markdown(table: list[dict[str, Any]]) -> str:
    """The rows as Markdown: kNN over the seeds beside the backbone's untrained network, raw pixels and chance."""
    lines = ["| method | backbone | kNN (seed range) | untrained network | raw pixels | chance |",
             "|---|---|---:|---:|---:|---:|"]
    for r in table:
        lines.append(f"| {r['method']} | {r['backbone']} | {_cell(r['knn'])} | {_cell(r['untrained'])} | "
                     f"{100 * r['raw pixels']:.1f}% | {100 * r['chance']:.1f}% |")
    return "\n".join(lines)


def figure(table: list[dict[str, Any]], title: str | None = None):
    """kNN per recipe: the bar is the mean, the whisker the seeds' range (none for one seed, whose bar is
    hatched), the black tick the recipe's own untrained network, the red one raw pixels on its test images
    (DIET's kNN memory bank differs from the others'); chance as a line."""
    fig = new_figure(COLUMN_WIDTH, 3.6)
    ax = fig.subplots()
    x = range(len(table))
    for i, r in enumerate(table):
        mean = 100 * statistics.fmean(r["knn"])
        one = len(r["knn"]) < claims.MIN_SEEDS
        ax.bar(i, mean, 0.6, color="C0", alpha=0.45 if one else 0.9, hatch="//" if one else None,
               label=("one seed" if one else "three seeds") if i == _first(table, one) else None)
        if not one:
            ax.errorbar(i, mean, [[mean - 100 * min(r["knn"])], [100 * max(r["knn"]) - mean]], color="k",
                        capsize=3, lw=1)
        ax.scatter(i, 100 * statistics.fmean(r["untrained"]), marker="_", s=220, color="k", zorder=3,
                   label="its untrained network" if i == 0 else None)
        ax.scatter(i, 100 * r["raw pixels"], marker="_", s=220, color="C3", zorder=3,
                   label="raw pixels" if i == 0 else None)
    ax.axhline(100 * table[0]["chance"], color="0.5", ls=":", lw=1, label="chance")
    ax.set_xticks(list(x), [r["method"] for r in table], rotation=90, fontsize=8)
    ax.set_ylabel("kNN accuracy (%)")
    ax.set_ylim(0, 100)
    ax.grid(axis="y", alpha=0.3)
    legend_below(fig, [ax])
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _first(table: list[dict[str, Any]], one: bool) -> int:
    return next(i for i, r in enumerate(table) if (len(r["knn"]) < claims.MIN_SEEDS) == one)


def against(row: dict[str, Any], reference: str) -> claims.Comparison:
    """A seeded row's kNN against its untrained network's (per seed) or raw pixels (one number)."""
    second = row["untrained"] if reference == "its untrained network" else row[reference]
    return claims.compare(row["knn"], second, names=(row["method"], reference))


NAMES = {"simclr": "SimCLR", "vicreg": "VICReg", "dino": "DINO", "mae": "MAE", "ijepa": "I-JEPA", "rotnet": "RotNet",
         "jigsaw": "the relative-position task"}


def _by_method(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["method"]: r for r in table}


def toy_findings(table: list[dict[str, Any]]) -> None:
    """What the toy table shows, each sentence checked against its seeds."""
    by = _by_method(table)
    for name in ("simclr", "vicreg", "dino"):
        against(by[name], "raw pixels").states("higher", f"{NAMES[name]}'s quick run ends above raw pixels")
    claims.compare(by["simclr"]["knn"], by["vicreg"]["knn"], names=("SimCLR", "VICReg")).states(
        "no difference", "SimCLR and VICReg cannot be told apart by these runs")
    claims.compare(by["dino"]["knn"], by["simclr"]["knn"], names=("DINO", "SimCLR")).states(
        "lower", "DINO, even with its local crops and 900 steps, ends below SimCLR")
    for name in ("mae", "ijepa"):
        against(by[name], "its untrained network").states(
            "higher", f"{NAMES[name]} moves its ViT off its untrained network")
        against(by[name], "raw pixels").states("lower", f"yet {NAMES[name]} stays below raw pixels")
    alone = [r for r in table if len(r["knn"]) < claims.MIN_SEEDS]
    claims.claim(f"Each of the {len(alone)} recipes with one seed here ({', '.join(r['method'] for r in alone)}) ends "
                 "above its own untrained network. One run each cannot place them against each other or against raw "
                 "pixels by the book's rule, so this page does not rank them.",
                 all(r["knn"][0] > r["untrained"][0] for r in alone))


def upright_findings(table: list[dict[str, Any]]) -> None:
    by = _by_method(table)
    against(by["rotnet"], "raw pixels").states("higher", "On the upright shapes RotNet ends above raw pixels")
    claims.compare(by["rotnet"]["knn"], by["simclr"]["knn"], names=("RotNet", "SimCLR")).states(
        "no difference", "RotNet is level with SimCLR on them")
    claims.compare(by["jigsaw"]["knn"], by["rotnet"]["knn"], names=("relative position", "RotNet")).states(
        "lower", "The relative-position task ends below RotNet")


def digits_findings(table: list[dict[str, Any]]) -> list[str]:
    """What the digits table shows; returns the recipes that end below their own untrained network."""
    by = _by_method(table)
    claims.claim("On digits no recipe's run reaches raw pixels' kNN: the pixels already separate the digits, and "
                 "none of these short runs keeps all of what they show.",
                 all(max(r["knn"]) < r["raw pixels"] for r in table))
    against(by["simclr"], "its untrained network").states(
        "higher", "SimCLR, the one recipe with three seeds on digits, still ends above its untrained network")
    against(by["simclr"], "raw pixels").states("lower", "SimCLR's runs still end below raw pixels")
    alone = [r for r in table if len(r["knn"]) < claims.MIN_SEEDS]
    claims.claim(f"Each of the {len(alone)} recipes with one seed here ends above its own untrained network, DINO and "
                 "I-JEPA with the settings tuned for digits (below). One run each places none of them against "
                 "another.", all(r["knn"][0] > r["untrained"][0] for r in alone))
    return [r["method"] for r in table if statistics.fmean(r["knn"]) < statistics.fmean(r["untrained"])]


TUNING = Path(__file__).resolve().parents[1] / "results" / "tuning"  # benchmarks/tune_settings.py's records


def tuning(recipe: str, dataset: str) -> dict[str, Any]:
    """``benchmarks/tune_settings.py``'s record of ``recipe`` on ``dataset``: every run of its grid, with its seed,
    final kNN and its untrained network's, and the setting it chose."""
    path = TUNING / f"{recipe}-{dataset}.json"
    if not path.exists():
        raise FileNotFoundError(f"no tuning record {path}: run `python benchmarks/tune_settings.py {recipe} "
                                f"--dataset {dataset} --grid ...` first")
    return json.loads(path.read_text())


# Each tuned recipe on digits by chapter 1's rule (seed ranges side by side) against its untrained network: with
# the toy shapes' quick settings, then with the tuned ones. Read from the tuning records; a retrain that changes
# one fails the build.
TUNED_VERDICTS = {"dino": ("lower", "no difference"), "ijepa": ("no difference", "higher")}
_JUDGED = {"higher": "above", "lower": "below", "no difference": "no different from"}


def tuning_findings(dataset: str = "digits") -> None:
    """For each recipe tuned on ``dataset`` (:data:`TUNED_VERDICTS`): its toy shapes' quick settings, then the
    chosen ones (the recipe's ``QUICK_ON``), each seed against its own untrained network and, by chapter 1's rule,
    the seed ranges against each other, over the seeds the tuning trained."""
    for recipe, verdicts in TUNED_VERDICTS.items():
        record = tuning(recipe, dataset)
        chosen = record["chosen"]["settings"]
        for settings, verdict in zip(({}, chosen), verdicts):
            runs = sorted((r for r in record["runs"] if r["settings"] == settings), key=lambda r: r["seed"])
            gains = [100 * (r["knn_acc"] - r["untrained_knn_acc"]) for r in runs]
            above = sum(g > 0 for g in gains)
            end = "ends" if above == 1 else "end"
            shown = ("the toy shapes' quick settings" if not settings
                     else ", ".join(f"{k}={v}" for k, v in settings.items()))
            claims.compare([r["knn_acc"] for r in runs], [r["untrained_knn_acc"] for r in runs],
                           names=(NAMES[recipe], "its untrained network")).states(
                verdict, f"On {dataset}, {NAMES[recipe]} with {shown} is {_JUDGED[verdict]} its untrained network "
                         f"by chapter 1's rule, and {above} of its {len(runs)} seeds {end} above "
                         f"their own untrained network (by {min(gains):+.1f} to {max(gains):+.1f} points)")
