"""SimCLR with fewer ingredients: one negative, noise as the only augmentation, small batches.

    python benchmarks/democratizing.py [--datasets toy,digits] [--threads 2]

Bordes, Balestriero and Vincent ("Towards Democratizing Joint-Embedding Self-Supervised Learning",
arXiv:2303.01986) report that SimCLR learns useful features with a single negative per positive,
and even with additive Gaussian noise as its only augmentation, so that large batches and heavy
augmentation pipelines are conveniences rather than requirements. This script trains SimCLR's
quick run (600 steps) on each dataset once per variant, all from the same seed:

- ``default``: the recipe as the book runs it (all 2N - 2 negatives, the toy or digits views);
- ``1 negative``: ``negatives=1``, one negative drawn at random per positive;
- ``batch 16``: 16 images per batch (30 negatives per positive) at the same steps;
- ``noise only``: no crop, flip, rotation, colour, grayscale or blur; views differ by Gaussian
  pixel noise of std 0.1 alone (noise_std=0.1 on images in [0, 1]);
- ``no augmentation``: the same without noise, the baseline that tells what noise adds.

It prints kNN and linear-probe accuracy (the class, and on the toy shapes the shape's colour, a
nuisance the views vary) and RankMe, and writes ``benchmarks/results/democratizing.md``.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402

from cookbook.run import run_recipe  # noqa: E402
from recipes import simclr  # noqa: E402
from recipes_table import machine  # noqa: E402

RESULTS = ROOT / "benchmarks" / "results" / "democratizing.md"
NO_VIEWS = dict(crop_min_scale=1.0, flip_p=0.0, rotate_degrees=0.0, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0,
                blur_p=0.0, solarize_p=0.0)


def variants(base: simclr.Config) -> dict[str, dict]:
    """Label -> config overrides of each variant (see the module docstring)."""
    return {"default": {}, "1 negative": {"negatives": 1}, "batch 16": {"batch_size": 16},
            "noise only": {"augment": base.augment.replace(**NO_VIEWS, noise_std=0.1)},
            "no augmentation": {"augment": base.augment.replace(**NO_VIEWS, noise_std=0.0)}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", default="toy,digits", help="comma-separated: toy, digits")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2)")
    args = parser.parse_args(argv)
    datasets = args.datasets.split(",")
    unknown = [d for d in datasets if d not in ("toy", "digits")]
    if unknown or args.threads < 1:
        parser.error(f"--datasets takes toy and digits (got {', '.join(unknown)})" if unknown
                     else f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(args.threads)
    lines = ["| data | variant | kNN | linear probe | kNN: shape colour | RankMe | seconds |", "|---|---|---:|---:|---:|---:|---:|"]
    for dataset in datasets:
        base = simclr.Config.for_budget("quick", dataset=dataset, progress=False, out=None)
        for label, overrides in variants(base).items():
            started = time.perf_counter()
            metrics = run_recipe(simclr, simclr.Config.for_budget("quick", dataset=dataset, progress=False, out=None,
                                                                  eval_every=0, **overrides))
            colour = metrics.get("fg_hue_bin_knn_acc")
            lines.append(f"| {dataset} | {label} | {metrics['knn_acc']:.1%} | {metrics['linear_acc']:.1%} | "
                         f"{'n/a' if colour is None else f'{colour:.1%}'} | {metrics['rankme']:.1f} | "
                         f"{time.perf_counter() - started:.0f} |")
            print(lines[-1], flush=True)
        lines.append(f"| {dataset} | (untrained network) | {metrics['random_init_knn_acc']:.1%} | | | | |")
        lines.append(f"| {dataset} | (raw pixels) | {metrics['raw_pixel_knn_acc']:.1%} | | | | |")
    table = "\n".join(lines)
    print(table)
    RESULTS.write_text(f"SimCLR's quick run with fewer ingredients (`python benchmarks/democratizing.py`), seed 0.\n"
                       f"Machine: {machine()}. Date: {time.strftime('%Y-%m-%d')}.\n\n{table}\n")
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
