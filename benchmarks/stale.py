"""What a code change makes stale in the book's committed runs, what retraining it costs, and the script that does it.

    python benchmarks/stale.py                              (what is stale now)
    python benchmarks/stale.py --if-changed cookbook/distributed.py recipes/dino.py
    python benchmarks/stale.py --if-changed cookbook/train.py --script retrain.sh --lanes 2

Every committed run carries the training digest of the code that trained it (:mod:`cookbook.book.digest`:
the engine, every module at the top level of ``cookbook``, and the run's recipe), and the tests fail while
one differs from the code on disk. Three kinds of run are committed: the sweeps (``benchmarks/sweep.py``),
the quick runs of each recipe (``benchmarks/recipes_table.py``, one folder per dataset) and the lab runs
(``benchmarks/lab_runs.py``). This lists those that are stale, or that a change to the named files would
make stale (an engine module: all of them; a recipe: that recipe's), with the CPU seconds their training
recorded, so that a change to the engine is planned with its retrain, not discovered after it.

``--script`` writes a bash script that retrains them in ``--lanes`` parallel lanes, the longest first, each
run with the torch threads it was first trained with (a thread count changes a run's numbers): sweeps and
lab runs one, quick runs two. A stopped script can be started again: a sweep keeps the points the current
code finished and a quick run is reused while its code is unchanged (``runs/benchmark/``); only a lab run,
a few minutes each, trains again.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cookbook import registry  # noqa: E402
from cookbook.book import report  # noqa: E402
from cookbook.book.digest import ENGINE, training_digest  # noqa: E402

LABS = ROOT / "cookbook" / "results" / "labs"
QUICK_THREADS = 2  # recipes_table.py runs each recipe as its own process with torch's default threads (2 here)


def committed() -> list[dict]:
    """Every committed run: its kind, name, recipe, training digest, recorded CPU seconds and the command
    that trains it again."""
    found = []
    for path in sorted(report.SWEEPS.glob("*/sweep.json")):
        manifest = json.loads(path.read_text())
        points = [json.loads(p.read_text()) for p in path.parent.glob("*/metrics.json")]
        found.append({"kind": "sweep", "name": path.parent.name, "recipe": manifest["recipe"],
                      "digest": manifest.get("training_digest"), "threads": 1,
                      "cpu_s": sum(p.get("cpu_seconds") or p.get("seconds") or 0 for p in points),
                      "command": f"OMP_NUM_THREADS=1 $PYTHON benchmarks/sweep.py {path.parent.name} --threads 1"})
    for timing in sorted(report.RESULTS.glob("*/*/timing.json")):
        record = json.loads(timing.read_text())
        label, recipe = timing.parent.parent.name, timing.parent.name
        dataset = label.rsplit("-", 1)[0] if "-" in label else None
        budget = label.rsplit("-", 1)[-1]
        found.append({"kind": "quick run", "name": f"{label}/{recipe}", "recipe": recipe,
                      "digest": record.get("training_digest"), "threads": QUICK_THREADS,
                      "cpu_s": QUICK_THREADS * record.get("process_s", 0),
                      "command": f"$PYTHON benchmarks/recipes_table.py --recipes {recipe} --budget {budget}"
                                 + (f" --dataset {dataset}" if dataset else "")})
    for run in sorted(LABS.glob("*/run.json")):
        record = json.loads(run.read_text())
        threads = record.get("threads", 1)
        found.append({"kind": "lab run", "name": record["name"], "recipe": record["recipe"],
                      "digest": record.get("training_digest"), "threads": threads,
                      "cpu_s": record.get("cpu_seconds") or record.get("seconds") or 0,
                      "command": f"$PYTHON benchmarks/lab_runs.py {record['name']} --threads {threads}"})
    return found


def affected(changed: list[str]) -> set[str] | None:
    """The recipes whose runs a change to the files ``changed`` makes stale: None for all of them (an engine
    module changed). A file that is neither the engine nor a recipe stales nothing."""
    recipes: set[str] = set()
    for name in changed:
        path = (ROOT / name).resolve()
        if path.suffix == ".py" and path.parent == ENGINE:
            return None
        if path.suffix == ".py" and path.parent == ROOT / "recipes" and path.stem in registry.names():
            recipes.add(path.stem)
    return recipes


def stale(runs: list[dict], changed: list[str] | None = None) -> list[dict]:
    """The runs whose digest differs from the code on disk, or (``changed``) that a change to those files would
    make stale."""
    if changed is not None:
        recipes = affected(changed)
        return [r for r in runs if recipes is None or r["recipe"] in recipes]
    digests = {name: training_digest(registry.get(name)) for name in {r["recipe"] for r in runs}}
    return [r for r in runs if r["digest"] != digests[r["recipe"]]]


def lanes(runs: list[dict], count: int) -> list[list[dict]]:
    """``runs`` split into ``count`` lanes of about equal CPU time: the longest first, each to the lane with
    the least so far. With one free core per lane, a lane's wall time is about its CPU seconds."""
    split: list[list[dict]] = [[] for _ in range(count)]
    for run in sorted(runs, key=lambda r: -r["cpu_s"]):
        min(split, key=lambda lane: sum(r["cpu_s"] for r in lane)).append(run)
    return split


def script(split: list[list[dict]]) -> str:
    lines = ["#!/bin/bash", "# Written by benchmarks/stale.py: each lane retrains its runs one after the other;",
             "# the lanes run side by side, each into its own log. PYTHON: the interpreter with the book installed.",
             "set -u", f"cd {ROOT}", 'PYTHON="${PYTHON:-.venv/bin/python}"']
    for i, lane in enumerate(split):
        body = "; ".join(f"{r['command']} || echo 'FAILED: {r['name']}'" for r in lane)
        lines.append(f"( {body}; echo 'lane {i + 1} done' ) > retrain-lane-{i + 1}.log 2>&1 &")
    lines.append("wait")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--if-changed", nargs="+", metavar="FILE", help="list what a change to these files would "
                        "make stale, instead of what is stale now")
    parser.add_argument("--script", help="write a bash script that retrains them to this file")
    parser.add_argument("--lanes", type=int, default=2, help="parallel lanes in the script (default 2, one per core)")
    args = parser.parse_args(argv)
    if args.lanes < 1:
        parser.error(f"--lanes {args.lanes}: give at least 1")
    missing = [f for f in args.if_changed or [] if not (ROOT / f).exists()]
    if missing:
        parser.error(f"no such file: {', '.join(missing)} (paths are relative to the repository's root)")
    runs = stale(committed(), args.if_changed)
    what = "would go stale" if args.if_changed else "are stale"
    if not runs:
        print(f"No committed run {'would go stale' if args.if_changed else 'is stale'}.")
        return 0
    print("| kind | run | recipe | recorded CPU s |\n|---|---|---|---:|")
    for r in runs:
        print(f"| {r['kind']} | {r['name']} | {r['recipe']} | {r['cpu_s']:.0f} |")
    split = lanes(runs, args.lanes)
    wall = max(sum(r["cpu_s"] for r in lane) for lane in split)
    print(f"\n{len(runs)} committed runs {what}: {sum(r['cpu_s'] for r in runs) / 3600:.1f} CPU-hours as recorded, "
          f"about {wall / 3600:.1f} hours of wall time in {args.lanes} lane(s), one free core each.")
    if args.script:
        Path(args.script).write_text(script(split))
        print(f"wrote {args.script}: bash {args.script}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
