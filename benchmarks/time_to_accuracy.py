"""kNN accuracy against training wall time: the scoreboard for making the quick budget learn faster.

    python benchmarks/time_to_accuracy.py [--recipes simclr,byol,vicreg,mae] [--budget quick]
                                          [--label current] [--points 8] [--threads 2] [key=value ...]

Each recipe trains on its budget (``key=value`` settings on top, e.g. ``steps=1200``) with
``--threads`` torch threads, the classroom laptop's two cores. The run stops ``--points`` times
to measure the backbone's kNN accuracy on the test set; the clock counts only training steps, so
the curve does not depend on how often it is measured. Data loading and model building are timed
apart (``setup_s``).

The curves are kept per ``--label`` in ``benchmarks/results/time-to-accuracy-<budget>.json``, so a
run labelled ``before`` and one labelled ``after`` a change end up side by side: one panel per
recipe, one line per label, in ``time-to-accuracy-<budget>.png``. A table of each curve goes to
stdout.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook import registry  # noqa: E402
from cookbook.config import ConfigError  # noqa: E402
from cookbook.run import prepare  # noqa: E402
from cookbook.train import Trainer  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results"


def parse_settings(pairs: list[str]) -> dict[str, object]:
    """``["steps=1200", "lr=0.5"]`` -> ``{"steps": 1200, "lr": 0.5}`` (JSON values, else strings)."""
    settings = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise SystemExit(f"error: setting {pair!r} is not key=value (for example steps=1200)")
        try:
            settings[key] = json.loads(value)
        except json.JSONDecodeError:
            settings[key] = value
    return settings


def curve(name: str, budget: str, points: int, settings: dict[str, object]) -> dict[str, object]:
    """Train ``name`` on ``budget`` and measure kNN accuracy ``points`` times along the way."""
    recipe = registry.get(name)
    config = recipe.Config.for_budget(budget, **{**settings, "eval_every": 0, "progress": False, "out": None})
    started = time.perf_counter()
    data, model = prepare(recipe, config)
    trainer = Trainer(model, data, config)
    setup_s = time.perf_counter() - started
    stops = sorted({max(1, round(config.steps * i / points)) for i in range(1, points + 1)})
    rows = [{"step": 0, "train_s": 0.0, **trainer.evaluate()}]
    train_s = 0.0
    for stop in stops:
        model.train()
        tick = time.perf_counter()
        trainer.train_until(stop)
        train_s += time.perf_counter() - tick
        rows.append({"step": stop, "train_s": round(train_s, 2), **trainer.evaluate()})
        print(f"{name}: step {stop:>5} | {train_s:6.1f} s of training | kNN {rows[-1]['knn_acc']:.1%}", flush=True)
    return {"recipe": name, "budget": budget, "settings": settings, "steps": config.steps,
            "batch_size": config.batch_size, "setup_s": round(setup_s, 2), "threads": torch.get_num_threads(),
            "points": rows}


def figure(results: dict[str, dict[str, dict]], title: str):
    from cookbook.book import plots

    recipes = sorted({name for by_recipe in results.values() for name in by_recipe})
    fig = plots.new_figure(3.2 * len(recipes), 3.0)
    axes = fig.subplots(1, len(recipes), squeeze=False)[0]
    for ax, name in zip(axes, recipes):
        for label, by_recipe in results.items():
            if name in by_recipe:
                points = by_recipe[name]["points"]
                ax.plot([p["train_s"] for p in points], [p["knn_acc"] for p in points], marker="o", ms=3, label=label)
        ax.set(title=name, xlabel="training wall time (s)", ylabel="kNN accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    return fig


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipes", default="simclr,byol,vicreg,mae")
    parser.add_argument("--budget", default="quick")
    parser.add_argument("--label", default="current", help="the name this curve is kept under (before, after ...)")
    parser.add_argument("--points", type=int, default=8, help="how many times to measure along the run")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (2: a classroom laptop)")
    parser.add_argument("settings", nargs="*", help="key=value settings on top of the budget")
    args = parser.parse_args(argv)
    if args.points < 1 or args.threads < 1:
        parser.error(f"--points {args.points} and --threads {args.threads} must both be >= 1")
    settings = parse_settings(args.settings)
    torch.set_num_threads(args.threads)
    path = RESULTS / f"time-to-accuracy-{args.budget}.json"
    results = json.loads(path.read_text()) if path.exists() else {}
    try:
        names = [registry.canonical_name(n) for n in args.recipes.split(",")]
        measured = {name: curve(name, args.budget, args.points, settings) for name in names}
    except (ConfigError, ValueError) as error:
        print(f"error: {' '.join(str(error).split())}", file=sys.stderr)
        return 2
    results.setdefault(args.label, {}).update(measured)
    for name, run in measured.items():
        print(f"\n{name} ({args.label}): {run['steps']} steps of {run['batch_size']}, setup {run['setup_s']:.1f} s")
        print("| step | training s | kNN | RankMe |\n|---:|---:|---:|---:|")
        for p in run["points"]:
            print(f"| {p['step']} | {p['train_s']:.1f} | {p['knn_acc']:.1%} | {p['rankme']:.1f} |")
    RESULTS.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(results, indent=1))
    figure(results, f"kNN accuracy against training time, {args.budget} budget, {args.threads} threads").savefig(
        path.with_suffix(".png"), dpi=90, bbox_inches="tight")
    print(f"\nwritten: {path.relative_to(ROOT)} and {path.with_suffix('.png').relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
