"""Tune a recipe's quick settings on one dataset over a grid, by a script, not by hand.

    python benchmarks/tune_settings.py dino --dataset digits --grid lr=0.004,0.008 momentum=0.98,0.996 \
        [--seeds 0] [--jobs 2]

Every combination of the grid's values is trained with the recipe's quick budget on ``--dataset`` (the
rest of the budget unchanged), one process per run and one torch thread per process, ``--jobs`` at a
time (one per core). Each run records its final kNN accuracy (the run's own probe, full memory bank),
RankMe and training seconds beside the two references a setting must beat to have taught anything: the
untrained network of the same config and raw pixels. The recipe's current quick settings are always
measured too, so the table says what the change buys.

The choice is the setting with the best mean kNN over the seeds, among those whose every seed beats its
untrained network and that were trained on the most seeds (a lucky single seed does not outrank three
that held); if none beats its untrained network, the table says so and nothing is chosen. Results go to
``cookbook/results/tuning/<recipe>-<dataset>.json`` (package data, which chapter 16 reads) and the table to
``benchmarks/results/tuning/<recipe>-<dataset>.md``. Runs already in the JSON with the same settings, seed
and training digest are kept, so an interrupted or extended grid repeats nothing.
"""
from __future__ import annotations

import argparse
import itertools
import json
import multiprocessing
import platform
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TUNING = ROOT / "benchmarks" / "results" / "tuning"  # the tables, for people
# The runs, for the book: package data, so that chapter 16 reads them in Colab too.
RECORDS = ROOT / "cookbook" / "results" / "tuning"


def parse_grid(items: list[str]) -> dict[str, list]:
    """``["lr=0.004,0.008", "momentum=0.98"]`` -> ``{"lr": [0.004, 0.008], "momentum": [0.98]}``."""
    grid = {}
    for item in items:
        name, _, values = item.partition("=")
        if not name or not values:
            raise ValueError(f"--grid {item!r}: write each setting as name=value,value (for example lr=0.004,0.008)")
        grid[name] = [json.loads(v) if v.strip().lower() not in ("true", "false") else v.strip().lower() == "true"
                      for v in values.split(",")]
    return grid


def measure(job: tuple[str, str, dict, int]) -> dict:
    """One quick run of ``recipe`` on ``dataset`` with ``settings`` and ``seed``, in its own process."""
    import torch

    from cookbook import evaluate, registry
    from cookbook.book.digest import training_digest
    from cookbook.run import prepare, seed_everything
    from cookbook.train import Trainer

    name, dataset, settings, seed = job
    torch.set_num_threads(1)
    recipe = registry.get(name)
    config = recipe.Config.for_budget("quick", dataset=dataset, seed=seed, eval_every=0, progress=False,
                                      out=None, **settings)
    seed_everything(seed)
    data, model = prepare(recipe, config)
    untrained = evaluate.knn_and_rankme(model.backbone, data, k=config.knn_k,
                                        temperature=config.knn_temperature)["knn_acc"]
    raw = evaluate.knn_scores(evaluate.pixels(data.train_x), evaluate.pixels(data.test_x), data, config.knn_k,
                              config.knn_temperature, prefix="raw_")["raw_knn_acc"]
    trainer = Trainer(model, data, config)
    started = time.perf_counter()
    trainer.train_until(config.steps)
    seconds = time.perf_counter() - started
    final = evaluate.knn_and_rankme(model.backbone, data, k=config.knn_k, temperature=config.knn_temperature)
    row = {"settings": settings, "seed": seed, "knn_acc": final["knn_acc"], "rankme": final["rankme"],
           "untrained_knn_acc": untrained, "raw_pixel_knn_acc": raw, "train_s": round(seconds, 1),
           "steps": config.steps, "digest": training_digest(recipe)}
    print(f"{name} on {dataset} {settings or '(current)'} seed {seed}: kNN {row['knn_acc']:.1%} "
          f"(untrained {untrained:.1%}, raw pixels {raw:.1%}), {seconds:.0f} s", flush=True)
    return row


def summarise(runs: list[dict]) -> list[dict]:
    """One row per setting: kNN mean and range over the seeds, and whether every seed beat untrained."""
    by_setting: dict[str, list[dict]] = {}
    for run in runs:
        by_setting.setdefault(json.dumps(run["settings"], sort_keys=True), []).append(run)
    rows = []
    for key, group in by_setting.items():
        knn = [r["knn_acc"] for r in group]
        rows.append({"settings": json.loads(key), "seeds": sorted(r["seed"] for r in group),
                     "knn_mean": statistics.fmean(knn), "knn_min": min(knn), "knn_max": max(knn),
                     "untrained": statistics.fmean(r["untrained_knn_acc"] for r in group),
                     "raw_pixels": statistics.fmean(r["raw_pixel_knn_acc"] for r in group),
                     "beats_untrained": all(r["knn_acc"] > r["untrained_knn_acc"] for r in group),
                     "train_s": statistics.fmean(r["train_s"] for r in group)})
    return sorted(rows, key=lambda r: -r["knn_mean"])


def choose(rows: list[dict]) -> dict | None:
    learning = [r for r in rows if r["beats_untrained"]]
    if not learning:
        return None
    most_seeds = max(len(r["seeds"]) for r in learning)
    return max((r for r in learning if len(r["seeds"]) == most_seeds), key=lambda r: r["knn_mean"])


def markdown(recipe: str, dataset: str, rows: list[dict], chosen: dict | None, command: str) -> str:
    lines = [f"# {recipe}: quick settings on `{dataset}`", "",
             f"Written by `{command}`. Each setting is the recipe's quick budget with the values shown "
             f"(\"current\": none changed), trained with one torch thread per run on {platform.machine()}; "
             "kNN is the final backbone's (full memory bank), against the same config's untrained network "
             "and raw pixels. A setting is chosen only if every seed beats its untrained network, and among "
             "those only from the ones trained on the most seeds.", "",
             "| settings | seeds | kNN mean (range) | untrained | raw pixels | every seed above untrained | "
             "training s |", "|---|---|---|---:|---:|---|---:|"]
    for r in rows:
        shown = ", ".join(f"{k}={v}" for k, v in r["settings"].items()) or "current"
        lines.append(f"| {shown} | {', '.join(map(str, r['seeds']))} | {r['knn_mean']:.1%} "
                     f"({r['knn_min']:.1%}-{r['knn_max']:.1%}) | {r['untrained']:.1%} | {r['raw_pixels']:.1%} | "
                     f"{'yes' if r['beats_untrained'] else 'no'} | {r['train_s']:.0f} |")
    lines.append("")
    if chosen is None:
        lines.append("No setting tried beats the untrained network on every seed: nothing is chosen.")
    else:
        shown = ", ".join(f"{k}={v}" for k, v in chosen["settings"].items()) or "the current settings"
        lines.append(f"Chosen: {shown} ({chosen['knn_mean']:.1%} mean kNN against {chosen['untrained']:.1%} "
                     "untrained).")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("recipe")
    parser.add_argument("--dataset", required=True)
    parser.add_argument("--grid", nargs="+", required=True, metavar="NAME=V1,V2")
    parser.add_argument("--seeds", default="0", help="comma-separated seeds, such as 0,1,2")
    parser.add_argument("--jobs", type=int, default=2, help="runs at a time, one torch thread each")
    args = parser.parse_args(argv)
    from cookbook import registry
    from cookbook.book.digest import training_digest
    from cookbook.config import ConfigError

    try:
        name = registry.canonical_name(args.recipe)
        grid = parse_grid(args.grid)
        seeds = [int(s) for s in args.seeds.split(",")]
        for values in itertools.product(*grid.values()):  # fail now, not after an hour of training
            registry.get(name).Config.for_budget("quick", dataset=args.dataset, **dict(zip(grid, values)))
    except (ConfigError, ValueError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs} must be >= 1")
    settings = [{}] + [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    path = RECORDS / f"{name}-{args.dataset}.json"
    table = TUNING / f"{name}-{args.dataset}.md"
    digest = training_digest(registry.get(name))
    kept = [r for r in (json.loads(path.read_text())["runs"] if path.exists() else []) if r["digest"] == digest]
    done = {(json.dumps(r["settings"], sort_keys=True), r["seed"]) for r in kept}
    jobs = [(name, args.dataset, s, seed) for s in settings for seed in seeds
            if (json.dumps(s, sort_keys=True), seed) not in done]
    print(f"{len(jobs)} runs to train ({len(kept)} kept), {args.jobs} at a time", flush=True)
    command = "python benchmarks/tune_settings.py " + " ".join(argv if argv is not None else sys.argv[1:])
    TUNING.mkdir(parents=True, exist_ok=True)
    RECORDS.mkdir(parents=True, exist_ok=True)
    with multiprocessing.get_context("spawn").Pool(args.jobs) as pool:
        for row in pool.imap_unordered(measure, jobs):
            # Written after each run, so an interruption loses only the runs in flight; read again first, so
            # that two grids of one recipe tuned at once both keep their runs.
            runs = [r for r in (json.loads(path.read_text())["runs"] if path.exists() else [])
                    if r["digest"] == digest] + [row]
            rows = summarise(runs)
            path.write_text(json.dumps({"recipe": name, "dataset": args.dataset, "command": command,
                                        "runs": runs, "chosen": choose(rows)}, indent=1))
            table.write_text(markdown(name, args.dataset, rows, choose(rows), command))
    if table.exists():
        print(table.read_text())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
