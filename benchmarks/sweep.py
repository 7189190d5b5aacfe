"""Run a declared sweep: many short runs of one recipe, each measured before and after training.

    python benchmarks/sweep.py NAME [--threads 2]      (python benchmarks/sweep.py --list names them)

A sweep is more runs than a chapter can train in its minute, so this script trains them once and
keeps the results in the package (``cookbook/results/sweeps/NAME.json``, package data, so a chapter
opened alone in Colab finds them): per point its label, its settings, and the kNN accuracy, RankMe
and collapse report of the backbone's test features before and after (what
:func:`cookbook.chapter.short_run` returns). The file also records the machine, the date, the
torch threads and :func:`cookbook.cache.training_digest` of the code that trained it:
``tests/test_cache.py`` fails when the code has changed since, until the sweep runs again. A chapter
loads a sweep with :func:`cookbook.report.load_sweep`, draws it, and trains one point again in
front of the reader to show that it reproduces.

Each sweep is declared below: the recipe, the settings every point shares (on top of the recipe's
quick budget) and the points, a label and the settings that differ.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from cookbook import cache, registry, report  # noqa: E402
from recipes_table import machine  # noqa: E402

SWEEPS = {
    # Chapter 3: the temperature at the default batch, and the batch size at the same number of
    # steps (more images for a larger batch) and at the same number of images (batch 32 for four
    # times the steps of batch 128).
    "simclr-temperature-batch": dict(
        recipe="simclr", shared={"steps": 150},
        points={**{f"temperature {t}": {"temperature": t} for t in (0.05, 0.2, 0.5, 1.0)},
                **{f"batch {b}": {"batch_size": b} for b in (8, 32)},
                "batch 32, the images of batch 128": {"batch_size": 32, "steps": 600}}),
}


def run_sweep(name: str) -> dict:
    """Train every point of sweep ``name`` and return the record that is written to disk."""
    from cookbook.chapter import short_run
    from cookbook.run import load_data

    declared = SWEEPS[name]
    recipe = registry.get(declared["recipe"])
    base = recipe.Config.for_budget("quick", **declared["shared"])
    data = load_data(base)  # every point trains on the same images: loaded once
    points, started = [], time.perf_counter()
    for label, overrides in declared["points"].items():
        point_started = time.perf_counter()
        result = short_run(recipe, data=data, **{**declared["shared"], **overrides})
        points.append({"label": label, "settings": overrides, **result,
                       "seconds": round(time.perf_counter() - point_started, 1)})
        print(f"{label}: kNN {result['before']['knn_acc']:.3f} -> {result['after']['knn_acc']:.3f}, "
              f"RankMe {result['after']['rankme']:.1f} ({points[-1]['seconds']:.0f} s)", flush=True)
    return {"sweep": name, "recipe": declared["recipe"], "shared": declared["shared"],
            "base_config": base.to_dict(), "points": points, "seconds": round(time.perf_counter() - started, 1),
            "machine": machine(), "threads": torch.get_num_threads(), "date": time.strftime("%Y-%m-%d"),
            "training_digest": cache.training_digest(recipe)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="the sweep to run (--list names them)")
    parser.add_argument("--list", action="store_true", help="name the declared sweeps and stop")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, a laptop's cores)")
    parser.add_argument("--results", default=str(report.SWEEPS), help="folder for NAME.json (default: the package's)")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(f"{n}: {d['recipe']}, {len(d['points'])} points" for n, d in SWEEPS.items()))
        return 0 if args.list else 2
    if args.name not in SWEEPS:
        parser.error(f"no sweep named {args.name!r}; declared: {', '.join(SWEEPS)}")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(args.threads)
    record = run_sweep(args.name)
    path = Path(args.results) / f"{args.name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)  # atomic: an interrupted sweep never leaves half a file for a chapter to load
    print(f"wrote {path} ({record['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
