"""One model over several CPU processes (torchrun, gloo) against one process, at the same global batch.

    python benchmarks/ddp_scaling.py [--recipe simclr] [--seeds 0,1,2] [--launches 1x2,2x1,1x1] [--steps N]
                                     [--out FILE.json]

Each launch is ``PROCESSESxTHREADS``: ``torchrun --nproc_per_node=PROCESSES`` with ``OMP_NUM_THREADS=THREADS``
per process, training the recipe's quick run (``python -m recipes RECIPE --budget quick``) from
scratch, once per seed. The default compares the two ways to use a 2-core machine, one process on
both cores (``1x2``) and two processes of one core each (``2x1``), and one process on one core
(``1x1``, first seed only) as the unit of scaling. The global batch is the same in every launch, so
the runs train the same model up to each process's own random views: their accuracies should
agree within the spread over seeds.

For each launch it prints the run's wall time (the trainer's, evaluations included), images per
second (steps x global batch / wall time) and the kNN and linear accuracies per seed. ``--out`` also
writes a JSON record; the speed chapter reads ``cookbook/results/benchmarks/ddp-scaling.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cookbook import registry  # noqa: E402
from cookbook.book import speed  # noqa: E402


def parse_launch(text: str) -> tuple[int, int]:
    try:
        processes, threads = (int(part) for part in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"launch {text!r}: write PROCESSESxTHREADS, for example 2x1") from None
    if processes < 1 or threads < 1:
        raise argparse.ArgumentTypeError(f"launch {text!r}: at least one process of one thread")
    return processes, threads


def train(recipe: str, processes: int, threads: int, seed: int, steps: int | None, out: Path) -> dict:
    """One quick run under torchrun; its metrics.json, with the command's own wall time added."""
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={processes}",
               "-m", "recipes", recipe, "--budget", "quick", "--seed", str(seed), "--out", str(out),
               "--no-resume", "--no-progress"] + (["--steps", str(steps)] if steps else [])
    started = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env={**os.environ, "OMP_NUM_THREADS": str(threads)},
                          capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-3000:]}")
    metrics = json.loads((out / "metrics.json").read_text())
    metrics["command_wall_s"] = time.perf_counter() - started
    return metrics


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recipe", default="simclr")
    parser.add_argument("--seeds", default="0,1,2", help="comma-separated seeds (default 0,1,2)")
    parser.add_argument("--launches", default="1x2,2x1,1x1", type=lambda t: [parse_launch(x) for x in t.split(",")],
                        help="PROCESSESxTHREADS, comma-separated; 1x1 runs the first seed only (default 1x2,2x1,1x1)")
    parser.add_argument("--steps", type=int, help="training steps (default: the recipe's quick budget)")
    parser.add_argument("--out", help="also write the table as a JSON record to this file")
    args = parser.parse_args(argv)
    if args.recipe not in registry.names():
        parser.error(f"--recipe {args.recipe!r}: choose one of {', '.join(registry.names())}")
    try:
        seeds = [int(s) for s in args.seeds.split(",")]
    except ValueError:
        parser.error(f"--seeds {args.seeds!r}: comma-separated integers, for example 0,1,2")
    if args.steps is not None and args.steps < 1:
        parser.error("--steps must be >= 1")
    config = registry.get(args.recipe).Config.for_budget("quick", **({"steps": args.steps} if args.steps else {}))
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for processes, threads in args.launches:
            if config.batch_size % processes:
                parser.error(f"{processes} processes do not divide the quick global batch of {config.batch_size}")
            launch_seeds = seeds[:1] if (processes, threads) == (1, 1) else seeds
            runs = []
            for seed in launch_seeds:
                runs.append(train(args.recipe, processes, threads, seed, args.steps,
                                  Path(scratch) / f"{processes}x{threads}-{seed}"))
                print(f"{processes} process(es) x {threads} thread(s), seed {seed}: {runs[-1]['wall_s']:.1f} s, "
                      f"kNN {runs[-1]['knn_acc']:.3f}, linear {runs[-1]['linear_acc']:.3f}", flush=True)
            rows.append({"launch": f"{processes} process{'es' if processes > 1 else ''} x {threads} thread"
                                   f"{'s' if threads > 1 else ''}", "processes": processes, "threads": threads,
                         "seeds": launch_seeds, "wall_s": [r["wall_s"] for r in runs],
                         "command_wall_s": [round(r["command_wall_s"], 2) for r in runs],
                         "images_per_s": [config.steps * config.batch_size / r["wall_s"] for r in runs],
                         "knn_acc": [r["knn_acc"] for r in runs], "linear_acc": [r["linear_acc"] for r in runs]})
    record = {"command": speed.command_line("ddp_scaling.py", argv), "recipe": args.recipe, "steps": config.steps,
              "global_batch": config.batch_size, "rows": rows}
    print(f"\n{args.recipe}, quick budget: {config.steps} steps of a global batch of {config.batch_size}\n")
    print(speed.scaling_markdown(record))
    if args.out:
        print(f"\nwrote {speed.write_record('ddp-scaling', record, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
