"""Re-tune each recipe's quick learning rate on the current trade-off, by a script, not by hand.

    python benchmarks/tune_quick.py [--recipes simclr,byol] [--factors 0.5,1,2] [--threads 2] [--dataset toy]

For each recipe, the quick budget is trained at its current learning rate times each factor (the
rest of the budget unchanged, seed 0, ``--threads`` torch threads, the classroom laptop's two
cores), and the final kNN accuracy (full memory bank) and the training seconds are recorded. The
winner is the highest kNN accuracy; a factor within half a point of it that trains no slower is
not preferred over the current value, so a recipe keeps its learning rate unless another one
measurably wins. The results go to ``benchmarks/results/tuning/quick-<dataset>.json`` (kept per
recipe, so runs for different recipes accumulate) and a table of every recipe's grid and choice to
``benchmarks/results/tuning/quick-<dataset>.md``; the chosen values are what each recipe's
``BUDGETS["quick"]`` states.
"""
from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook import evaluate, registry  # noqa: E402
from cookbook.config import ConfigError  # noqa: E402
from cookbook.run import prepare  # noqa: E402
from cookbook.train import Trainer  # noqa: E402

TUNING = ROOT / "benchmarks" / "results" / "tuning"
# A win smaller than this is within the noise of one seed: keep the current value.
MARGIN = 0.005


def measure(name: str, dataset: str | None, **settings) -> dict[str, float]:
    """One quick run of ``name`` with ``settings``: final kNN (full bank), RankMe, training seconds."""
    recipe = registry.get(name)
    extra = {"dataset": dataset} if dataset else {}
    config = recipe.Config.for_budget("quick", **{**extra, **settings, "eval_every": 0, "progress": False,
                                                  "out": None})
    data, model = prepare(recipe, config)
    untrained = evaluate.knn_and_rankme(model.backbone, data)["knn_acc"]
    trainer = Trainer(model, data, config)
    started = time.perf_counter()
    trainer.train_until(config.steps)
    train_s = time.perf_counter() - started
    final = evaluate.knn_and_rankme(model.backbone, data)
    return {"lr": config.lr, "knn_acc": final["knn_acc"], "rankme": final["rankme"],
            "untrained_knn_acc": untrained, "train_s": round(train_s, 1), "steps": config.steps}


def tune(name: str, factors: list[float], dataset: str | None, earlier: dict | None = None) -> dict:
    """Measure ``factors`` of the recipe's current quick learning rate and choose. ``earlier``: this
    recipe's result from a previous call at the same current rate, whose other factors are kept, so
    that a second call can extend the grid (``--factors 0.25``) without repeating it."""
    current = registry.get(name).Config.for_budget("quick").lr
    grid = []
    if earlier and earlier.get("current_lr") == current:
        grid = [row for row in earlier["grid"] if row["factor"] not in factors]
    for factor in factors:
        row = {"factor": factor, **measure(name, dataset, lr=current * factor)}
        grid.append(row)
        print(f"{name}: lr {row['lr']:.2g} (x{factor:g}) | kNN {row['knn_acc']:.1%} "
              f"(untrained {row['untrained_knn_acc']:.1%}) | {row['train_s']:.1f} s of training", flush=True)
    grid.sort(key=lambda r: r["factor"])
    kept = next((r for r in grid if r["factor"] == 1.0), None)
    best = max(grid, key=lambda r: r["knn_acc"])
    if kept is not None and best["knn_acc"] - kept["knn_acc"] < MARGIN:
        best = kept
    return {"recipe": name, "current_lr": current, "chosen_lr": best["lr"], "grid": grid}


def markdown(results: dict, dataset: str) -> str:
    lines = [f"# Quick-budget learning rates on `{dataset}`",
             "",
             f"Written by `python benchmarks/tune_quick.py`: every recipe's quick budget at its learning rate "
             f"times each factor, seed 0, final kNN accuracy (full memory bank); a recipe keeps its current "
             f"value unless another beats it by at least {MARGIN:.1%}. Machine: {platform.machine()}, "
             f"{torch.get_num_threads()} torch threads, torch {torch.__version__}.",
             "",
             "| recipe | lr tried: kNN accuracy (training seconds) | untrained | chosen lr |",
             "|---|---|---:|---:|"]
    for name in sorted(results):
        r = results[name]
        tried = "; ".join(f"{g['lr']:.2g}: {g['knn_acc']:.1%} ({g['train_s']:.0f} s)" for g in r["grid"])
        lines.append(f"| {name} | {tried} | {r['grid'][0]['untrained_knn_acc']:.1%} | {r['chosen_lr']:.2g} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default=",".join(registry.names()))
    parser.add_argument("--factors", default="0.5,1,2", help="multiples of the current quick learning rate")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--dataset", default=None, help="default: each recipe's own quick data")
    args = parser.parse_args(argv)
    try:
        factors = [float(f) for f in args.factors.split(",")]
    except ValueError:
        parser.error(f"--factors {args.factors!r} must be numbers separated by commas, such as 0.5,1,2")
    if not factors or any(f <= 0 for f in factors):
        parser.error(f"--factors {args.factors!r}: every factor must be > 0")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(args.threads)
    label = args.dataset or "own-data"
    path = TUNING / f"quick-{label}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    try:
        names = [registry.canonical_name(n) for n in args.recipes.split(",")]
        for name in names:
            results[name] = tune(name, factors, args.dataset, results.get(name))
            TUNING.mkdir(parents=True, exist_ok=True)  # written after each recipe: an interruption loses one
            path.write_text(json.dumps(results, indent=1))
            path.with_suffix(".md").write_text(markdown(results, label))
    except (ConfigError, ValueError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    for name in names:
        r = results[name]
        verdict = "keep" if r["chosen_lr"] == r["current_lr"] else "change"
        print(f"{name}: {verdict} lr {r['current_lr']:.2g} -> {r['chosen_lr']:.2g}")
    print(f"written: {path.relative_to(ROOT)} and {path.with_suffix('.md').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
