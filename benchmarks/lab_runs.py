"""Train the committed lab runs: the runs whose final frames the static book's labs show.

    python benchmarks/lab_runs.py NAME [--threads 1]     (--list names them and says which are current)
    python benchmarks/lab_runs.py --stale [--threads 1]  (trains every run that is missing or stale)

A chapter's lab, with no one to press Start (the book build, nbmake), draws a finished run of its
settings. A run long enough to learn is longer than a chapter's minute, so each run a chapter's lab (or
its ``lab.compare``) shows is declared below and trained here once, with the lab's own loop
(:meth:`cookbook.book.lab.Lab.finish` on the quick budget: the same chunks, evaluations and nuisance
probes as in the chapter), into ``cookbook/results/labs/NAME/`` (package data): see
:mod:`cookbook.book.lab_runs` for what is kept and how a lab finds it. ``tests/test_lab.py`` fails when a
chapter's lab has no current committed run, or when the code that trained one has changed since.

Each declaration gives the chapter, the recipe, ``lab``: the keyword arguments of the chapter's
``Lab(...)`` call with the compared settings of a ``lab.compare(...)`` added, and ``failure`` when the
chapter uses the frame to show a failure it names (its kNN is then allowed below raw pixels, and must
be below them), with ``collapse``, the kind of collapse (:func:`cookbook.book.collapse.kind`) it shows.
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
from recipes_table import machine  # noqa: E402

from cookbook import evaluate  # noqa: E402
from cookbook.book import collapse, lab_runs  # noqa: E402
from cookbook.book.lab import Lab  # noqa: E402

LONG = {"steps": 600, "chunk": 100}  # the quick runs' length: SimCLR's reaches ~54% kNN, raw pixels 23.6%

LAB_RUNS = {
    # Chapter 1: SimCLR's quick run, then the third exercise's setting, views that keep their colours.
    "simclr": dict(chapter="01_what_is_ssl", recipe="simclr", lab=LONG),
    "simclr-no-colour-change": dict(chapter="01_what_is_ssl", recipe="simclr",
                                    lab={**LONG, "jitter_strength": 0.0, "gray_p": 0.0}, compare=True,
                                    failure="the colour shortcut: views that keep their colours (exercise ex-colour)"),
    # Chapter 2: the relative-position (context prediction) task, twice its quick run: at 600 steps it ended
    # 10 points above raw pixels, within a seed's spread of the bar; at 1200 it keeps climbing.
    "jigsaw": dict(chapter="02_pretext_tasks", recipe="jigsaw", lab={"steps": 1200, "chunk": 200}),
    # Chapter 3: SimCLR at a hotter temperature than its default 0.2.
    "simclr-temperature-0.5": dict(chapter="03_deep_metric_learning", recipe="simclr",
                                   lab={**LONG, "temperature": 0.5}),
    # Chapter 4: BYOL without its stop-gradient collapses: the chapter's demonstration.
    "byol-no-stop-gradient": dict(chapter="04_self_distillation", recipe="byol",
                                  lab={"steps": 60, "chunk": 20, "stop_gradient": False},
                                  failure="complete collapse: BYOL without its stop-gradient", collapse="complete"),
    # Chapter 5: VICReg's quick run.
    "vicreg": dict(chapter="05_canonical_correlation", recipe="vicreg", lab=LONG),
    # Chapter 6: MAE, half its quick run: the loss falls and the reconstructions sharpen; its class kNN stays low.
    "mae": dict(chapter="06_masked_image_modeling", recipe="mae", lab={"steps": 1000, "chunk": 200},
                failure="MIM features below raw pixels on the class: they keep the colour (the chapter's finding)"),
    # Chapter 7: VICReg without its covariance term: dimensional collapse, a cliff in the spectrum while the
    # normalised std stays healthy (chapter 5's lab shows the default).
    "vicreg-no-covariance": dict(chapter="07_unified_view", recipe="vicreg", lab={**LONG, "cov_coeff": 0.0},
                                 failure="dimensional collapse: VICReg without its covariance term",
                                 collapse="dimensional"),
    # Chapter 8: SimCLR without its crops: the class and the position the crops used to hide.
    "simclr-no-crop": dict(chapter="08_augmentations", recipe="simclr", lab={**LONG, "crop_min_scale": 1.0}),
    # Chapter 9: SimCLR's quick run, probed after the projector's second layer, where the loss looks.
    "simclr-projector": dict(chapter="09_projector", recipe="simclr", lab={**LONG, "layer": "projector 2"}),
    # Chapter 10: DINO without centring: one prototype wins every image, the collapse the chapter's centring
    # prevents. (DINO's own quick run learns, 28.7% kNN, but stays within 10 points of raw pixels: a frame
    # that shows neither learning clearly nor a failure.)
    "dino-no-centring": dict(chapter="10_teacher_student", recipe="dino", lab={"steps": 300, "chunk": 50,
                                                                              "centering": False},
                             failure="complete collapse: DINO without centring", collapse="complete"),
    # Chapter 11: SwAV's quick run (the lab has no class_ratio: its data are balanced; the chapter says so).
    "swav": dict(chapter="11_uniform_prior", recipe="swav", lab=LONG),
    # Chapter 12: SimCLR with half its run spent warming up, the longest warmup of the chapter's sweep.
    "simclr-warmup-150": dict(chapter="12_hyperparameters", recipe="simclr", lab={**LONG, "warmup_steps": 150}),
    # Chapter 13: SimCLR at the coldest temperature of the chapter's grid, its RankMe and kNN read side by side.
    "simclr-temperature-0.1": dict(chapter="13_evaluation", recipe="simclr", lab={**LONG, "temperature": 0.1}),
    # Chapter 14: SimCLR at batch 256, twice the images per step (the throughput the chapter measures).
    "simclr-batch-256": dict(chapter="14_speed", recipe="simclr", lab={**LONG, "batch_size": 256}),
    # Chapter 15: LeJEPA's and DIET's quick runs.
    "lejepa": dict(chapter="15_frontier", recipe="lejepa", lab=LONG),
    "diet": dict(chapter="15_frontier", recipe="diet", lab=LONG),
}


def build_lab(declared: dict) -> Lab:
    """The lab a declaration describes, as the chapter builds it on the quick budget, its panel made."""
    lab = Lab(declared["recipe"], autorun=False, budget="quick", **declared["lab"])
    lab.widget()
    return lab


def status(name: str) -> str:
    """``current``, ``missing`` or ``stale`` (trained by other code, or for other settings)."""
    declared = LAB_RUNS[name]
    record = lab_runs.committed().get(name)
    if record is None:
        return "missing"
    lab = build_lab(declared)
    found = lab_runs.find(lab.recipe, lab.config(), lab.layer)
    return "current" if found is not None and found["name"] == name else "stale"


def train(name: str, threads: int) -> dict:
    """Train run ``name`` with the lab's loop and write it into the package; returns its record."""
    declared = LAB_RUNS[name]
    lab = build_lab(declared)
    started, cpu_started = time.perf_counter(), time.process_time()
    lab.finish(committed=False)
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    if lab.error:
        raise SystemExit(f"{name}: the run failed: {lab.error}")
    config = lab.trainer.config
    last = lab.metrics()
    raw = lab_runs.raw_pixel_scores(lab.data, config)
    record = {
        "name": name, "chapter": declared["chapter"], "recipe": declared["recipe"], "lab": declared["lab"],
        "failure": declared.get("failure"), "layer": lab.layer, "config": lab_runs.settings_key(config),
        "settings": lab.settings(config), "steps": lab.trainer.step, "history": lab.history, "nuisance": lab.nuisance,
        "knn_acc": last["knn_acc"], "rankme": last["rankme"], "raw_pixel_knn_acc": raw["knn_acc"],
        "raw_pixel": raw, "embedding": evaluate.collapse_report(lab._embeddings()),
        "collapsed": lab.runs[-1]["collapsed"], "dataset": lab.data.name,
        "seconds": round(seconds, 1), "cpu_seconds": round(cpu_seconds, 1), "threads": threads, "machine": machine(),
        "date": time.strftime("%Y-%m-%d"), "training_digest": lab_runs.training_digest(lab.recipe),
        "command": f"python benchmarks/lab_runs.py {name} --threads {threads}",
    }
    lab_runs.write(lab_runs.LABS / name, record, lab.trainer.model.state_dict())
    print(f"{name}: kNN {record['knn_acc']:.3f} (raw pixels {raw['knn_acc']:.3f}, "
          f"{100 * (record['knn_acc'] - raw['knn_acc']):+.1f} points), RankMe {record['rankme']:.1f}, "
          f"embedding collapsed: {collapse.is_collapsed(record['embedding'])}, {seconds:.0f} s", flush=True)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="the run to train (--list names them)")
    parser.add_argument("--list", action="store_true", help="name the declared runs, each current, stale or missing")
    parser.add_argument("--stale", action="store_true", help="train every run that is missing or stale, one by one")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    args = parser.parse_args(argv)
    if args.list or not (args.name or args.stale):
        print("\n".join(f"{n}: {d['recipe']} {d['lab']} for {d['chapter']}: {status(n)}" for n, d in LAB_RUNS.items()))
        return 0 if args.list else 2
    if args.name and args.name not in LAB_RUNS:
        parser.error(f"no lab run named {args.name!r}; declared: {', '.join(LAB_RUNS)}")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(args.threads)
    names = [args.name] if args.name else [n for n in LAB_RUNS if status(n) != "current"]
    for name in names:
        train(name, args.threads)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
