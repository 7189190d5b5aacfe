"""Run every recipe's quick budget and tabulate kNN, linear probe, RankMe and wall time.

    python benchmarks/recipes_table.py [--dataset toy] [--budget quick] [--recipes simclr,byol] [--rerun]
    python benchmarks/recipes_table.py [--dataset toy] --table-only

Each recipe runs as its own process, exactly as a reader would run it
(``python -m recipes NAME --budget quick``), one after the other so that the wall times do not
share the CPU. Without ``--dataset`` each recipe trains on its budget's own data: the toy
shapes, or for RotNet their upright variant (``toy_upright``: on shapes drawn at any angle
there is no rotation to predict). A finished run is reused unless ``--rerun`` is given or the code
that trains it changed since (its ``timing.json`` holds :func:`cookbook.book.cache.training_digest`), so
an interrupted benchmark picks up where it stopped. The table and figure are written to
``benchmarks/results/recipes-<budget>.{md,json,png}`` (``recipes-<dataset>-<budget>`` with
``--dataset``) from the runs' own ``metrics.json`` files (see :mod:`cookbook.book.report`), which are
copied, with each run's ``timing.json``, into the package, to ``cookbook/results/runs/<label>/<recipe>/``
(``cookbook.book.report.RESULTS``, shipped as package data so the book's chapters find them in Colab
too), and the script ends by naming any run that misses the quick budget's bars (90 s, 10 points of kNN
accuracy over the same network at random initialisation).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cookbook import registry  # noqa: E402
from cookbook.book import cache, report  # noqa: E402

# What a quick run must achieve (issue 3): a chapter's run fits a classroom minute and a half, and the
# features it learns beat the untrained network's by a clear margin.
QUICK_WALL_S, QUICK_MIN_GAIN = 90.0, 0.10


def run_one(name: str, dataset: str | None, budget: str, out: Path, rerun: bool) -> None:
    digest = cache.training_digest(registry.get(name))
    if (out / "metrics.json").exists() and (out / "timing.json").exists() and not rerun:
        if json.loads((out / "timing.json").read_text()).get("training_digest") == digest:
            print(f"{name}: reusing {out / 'metrics.json'}", flush=True)
            return
        print(f"{name}: the code that trains it changed since {out / 'metrics.json'} was written", flush=True)
    command = [sys.executable, "-m", "recipes", name, "--budget", budget, *(["--dataset", dataset] if dataset else []),
               "--out", str(out), "--no-resume", "--no-progress"]
    print(f"{name}: {' '.join(command[1:])}", flush=True)
    started = time.perf_counter()
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
    process_s = time.perf_counter() - started
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        raise SystemExit(f"{name} failed with exit code {result.returncode}")
    # The digest lets a chapter serve this run (cookbook.book.cache.committed_run) only while its code is unchanged.
    (out / "timing.json").write_text(json.dumps({"process_s": round(process_s, 1), "machine": machine(),
                                                 "date": time.strftime("%Y-%m-%d"), "training_digest": digest}))
    metrics = json.loads((out / "metrics.json").read_text())
    print(f"{name}: kNN {metrics['knn_acc']:.3f} (random init {metrics['random_init_knn_acc']:.3f}), "
          f"linear {metrics['linear_acc']:.3f}, RankMe {metrics['rankme']:.1f}, {process_s:.1f} s", flush=True)


def machine() -> str:
    import torch

    return (f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__} with "
            f"{torch.get_num_threads()} threads, Python {platform.python_version()}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default=None, help="train every recipe on this dataset (default: each "
                        "recipe's own for the budget)")
    parser.add_argument("--budget", default="quick", choices=["quick", "cpu", "cuda"])
    parser.add_argument("--recipes", default=",".join(registry.names()), help="comma-separated names (default: all)")
    parser.add_argument("--runs", default=str(ROOT / "runs" / "benchmark"), help="folder for the runs")
    parser.add_argument("--results", default=str(ROOT / "benchmarks" / "results"), help="folder for the table")
    parser.add_argument("--kept-runs", default=str(report.RESULTS), help="folder where each run's metrics.json "
                        "and timing.json are kept for the book, in <label>/<recipe>/ (default: the package's "
                        "cookbook/results/runs, shipped as package data)")
    parser.add_argument("--rerun", action="store_true", help="run again even where metrics.json exists")
    parser.add_argument("--table-only", action="store_true", help="train nothing: write the table from the runs "
                        "kept in the package (after retraining some recipes elsewhere)")
    args = parser.parse_args()

    try:
        names = [registry.canonical_name(n) for n in args.recipes.split(",") if n.strip()]
    except ValueError as err:
        parser.error(str(err))
    label = f"{args.dataset}-{args.budget}" if args.dataset else args.budget
    kept = Path(args.kept_runs) / label
    for name in ([] if args.table_only else names):
        folder = Path(args.runs) / f"{name}-{label}"
        run_one(name, args.dataset, args.budget, folder, args.rerun)
        # The runs' own metrics.json and timing.json files, kept in the package (package data): the book's
        # chapters build their tables and figures from them (cookbook.book.report), also where only the
        # installed package exists (Colab), and runs/ is not committed. Only these two small files: the
        # package ships whatever lands here.
        keep = kept / name
        keep.mkdir(parents=True, exist_ok=True)
        for file in ("metrics.json", "timing.json"):
            if (folder / file).exists():
                shutil.copyfile(folder / file, keep / file)

    # The table holds every recipe kept for this label, so retraining one recipe rewrites the whole table.
    folders = [kept / name for name in registry.names() if (kept / name / "metrics.json").exists()]
    if not folders:
        parser.error(f"no kept runs in {kept}: train some first (leave out --table-only)")
    rows = report.load_runs(folders)
    stem = Path(args.results) / f"recipes-{label}"
    stem.parent.mkdir(parents=True, exist_ok=True)
    timing = json.loads((folders[0] / "timing.json").read_text()) if (folders[0] / "timing.json").exists() else {}
    on = f"`{args.dataset}`" if args.dataset else "each recipe's own data"
    command = "python benchmarks/recipes_table.py" + (f" --dataset {args.dataset}" if args.dataset else "")
    header = (f"Results of the `{args.budget}` budget on {on}, one process per recipe, run one after the other "
              f"on {timing.get('machine', machine())}. Generated by `{command} --budget {args.budget}`; "
              "wall time is the whole command, start-up and evaluation included.\n\n")
    table = report.markdown_table(rows)
    stem.with_suffix(".md").write_text(header + table + "\n")
    stem.with_suffix(".json").write_text(json.dumps(rows, indent=2))
    from cookbook.book import plots

    fig = report.comparison_figure(rows, title=f"{args.budget} budget on {args.dataset or 'the toy shapes'}")
    stem.with_suffix(".png").write_bytes(plots.to_png(fig, dpi=110))
    print("\n" + table)
    print(f"\nwrote {stem}.md, .json and .png")
    if args.budget == "quick" and not args.dataset:  # the bars were set for each recipe's own quick data
        misses = [f"{r['method']} ({r['process_s']:.0f} s, {100 * r['knn_gain']:+.1f} points)" for r in rows
                  if r["process_s"] > QUICK_WALL_S or r["knn_gain"] < QUICK_MIN_GAIN]
        print(f"quick-budget bars ({QUICK_WALL_S:.0f} s, {100 * QUICK_MIN_GAIN:+.0f} kNN points over random init): "
              + (f"missed by {', '.join(misses)}" if misses else f"all {len(rows)} runs meet them"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
