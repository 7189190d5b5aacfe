"""Run a declared sweep: many short runs of one recipe, each measured before and after training.

    python benchmarks/sweep.py NAME [--threads 2] [--out FOLDER] [--fresh]   (--list names them)

A sweep is more runs than a chapter can train in its minute, so this script trains them once and
keeps them in the package (``cookbook/results/sweeps/NAME/``, package data, so a chapter opened
alone in Colab finds them): one ``<point>/metrics.json`` per run, with its settings, its seed, the
kNN accuracy, RankMe and collapse report of the backbone's test features before and after, its
training curves and the singular-value spectrum of its features (what
:func:`cookbook.book.chapter.short_run` returns), and ``sweep.json``, the manifest: the declaration,
the machine, the date, the torch threads and :func:`cookbook.book.cache.training_digest` of the code
that trained it (``tests/test_sweep.py`` fails when that code has changed since, until the sweep
runs again). Every file is written atomically; a run already written by the same code for the same
settings is kept, so an interrupted sweep goes on where it stopped. A chapter loads a sweep with
:func:`cookbook.book.report.load_sweep`, draws it, shows it in :mod:`cookbook.book.sweep_viewer`, and trains
one point again in front of the reader to show that it reproduces.

Each sweep is declared below: the recipe, the settings every point shares (on top of the recipe's
quick budget), and either ``points`` (a label and the settings that differ) or a ``grid`` (setting
-> values, every combination), optionally for several ``seeds``. Two settings are not the recipe's:
``data.class_ratio`` and ``data.train_images`` make the training set long-tailed (:mod:`cookbook.imbalance`).
``probe_layers`` and ``per_class`` add layer-by-layer and class-by-class probes to every point. An unknown
recipe or setting, an empty grid, and a folder that another sweep wrote are refused with a message.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from recipes_table import machine  # noqa: E402

from cookbook import imbalance, registry  # noqa: E402
from cookbook.book import cache, report  # noqa: E402
from cookbook.book.sweeps import AUGMENT, config_overrides, point_data  # noqa: E402

# The toy views without each of their augmentations, one at a time.
ABLATIONS = {"all augmentations": {}, "no crop": {"augment.crop_min_scale": 1.0},
             "no colour jitter": {"augment.jitter_p": 0.0}, "no grayscale": {"augment.gray_p": 0.0},
             "no flip": {"augment.flip_p": 0.0}, "no rotation": {"augment.rotate_degrees": 0.0},
             "with blur": {"augment.blur_p": 0.5}}
# The seeds of every sweep a chapter draws a conclusion from: a comparison needs at least three
# (tests/test_sweep.py checks the sweeps chapters read; the book reports the range over them).
SEEDS = [0, 1, 2]
# Views that differ by nothing the pipeline does (the democratizing sweeps add noise to them).
NO_VIEWS = {AUGMENT + k: v for k, v in dict(crop_min_scale=1.0, flip_p=0.0, rotate_degrees=0.0, jitter_strength=0.0,
                                               jitter_p=0.0, gray_p=0.0, blur_p=0.0, solarize_p=0.0).items()}

SWEEPS = {
    # Chapter 3: the temperature at the default batch, and the batch size at the same number of
    # steps (more images for a larger batch) and at the same number of images (batch 32 for four
    # times the steps of batch 128). The quick run's 600 steps: at 150 every point stayed below raw
    # pixels' kNN, which says nothing about what helps.
    "simclr-temperature-batch": dict(
        recipe="simclr", shared={"steps": 600, "eval_every": 100}, seeds=SEEDS,  # curves for the viewer
        points={**{f"temperature {t}": {"temperature": t} for t in (0.05, 0.2, 0.5, 1.0)},
                **{f"batch {b}": {"batch_size": b} for b in (8, 32)},
                "batch 32, the images of batch 128": {"batch_size": 32, "steps": 2400}}),

    # Chapter 2: the pretext tasks and SimCLR on the same data, the upright toy shapes (rotation prediction
    # needs shapes that have an "up"), each recipe's quick run over three seeds.
    **{f"pretext-upright-{recipe}": dict(recipe=recipe, shared={"dataset": "toy_upright"}, seeds=SEEDS,
                                         points={"quick run": {}}) for recipe in ("rotnet", "jigsaw", "simclr")},
    # Chapter 6: the masked models' quick runs over three seeds, to set beside SimCLR on a ViT (interplay-simclr's
    # vit_tiny points). No layer probes: these models have no projector for cookbook.book.probes to walk.
    **{f"masked-{recipe}": dict(recipe=recipe, shared={}, seeds=SEEDS, points={"quick run": {}})
       for recipe in ("mae", "ijepa")},

    # Chapter 8 (augmentations). Each augmentation of the toy views removed in turn (blur, which the toy
    # views do not use, added instead): what the features keep of the class and of each nuisance.
    "augment-ablation-simclr": dict(recipe="simclr", shared={"steps": 300}, seeds=SEEDS, points=ABLATIONS),
    # VICReg at 300 steps is still in its noisy start (kNN 22% with every augmentation, against 56% at its quick
    # run's 600): it trains the quick run's length.
    "augment-ablation-vicreg": dict(recipe="vicreg", shared={"steps": 600}, seeds=SEEDS, points=ABLATIONS),
    # How strong: the smallest crop against the colour jitter's strength.
    "augment-strength-simclr": dict(recipe="simclr", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS,
                                    grid={"augment.crop_min_scale": [0.1, 0.5, 1.0],
                                          "augment.jitter_strength": [0.0, 0.5, 1.0, 1.5]}),
    # Multi-crop: DINO's 2 global crops plus k local 16-pixel crops, accuracy against seconds.
    "multicrop-dino": dict(recipe="dino", shared={"eval_every": 300}, seeds=SEEDS,  # DINO's quick run, 900 steps
                           points={f"{k} local crops": {"n_local_crops": k} for k in (0, 2, 6)}),
    # The SSL interplay: the same views on three backbones with different inductive biases.
    "interplay-simclr": dict(recipe="simclr", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS,
                             grid={"backbone": ["small_cnn", "vit_tiny", "pixel_mlp"],
                                   "augment.crop_min_scale": [0.5, 1.0], "augment.jitter_p": [0.8, 0.0]}),
    # Towards Democratizing Joint-Embedding SSL: fewer negatives, noise as the only augmentation, small batches
    # at the same steps and at the same images. Linear probes too (probe_layers): kNN and linear disagree here.
    **{f"democratizing-{dataset}": dict(recipe="simclr", shared={"dataset": dataset}, probe_layers=True,
                                             seeds=SEEDS, points={
        "default": {}, "1 negative": {"negatives": 1}, "batch 16": {"batch_size": 16},
        "batch 16, the images of batch 128": {"batch_size": 16, "steps": 4800, "warmup_steps": 400},
        "noise only": {**NO_VIEWS, "augment.noise_std": 0.1}, "no augmentation": NO_VIEWS})
       for dataset in ("toy", "digits")},

    # Chapter 9 (the projector): its depth (0: none), width and output size, probed at every layer.
    # The quick run's 600 steps: at 300, VICReg's default projector is still in its noisy start.
    **{f"projector-{recipe}": dict(recipe=recipe, shared={"steps": 600}, seeds=SEEDS, probe_layers=True, points={
        **{f"depth {d}": {"proj_depth": d} for d in (0, 1, 2, 3)},
        **{f"width {w}": {"proj_hidden_dim": w} for w in (64, 2048)},
        **{f"output {o}": {"proj_dim": o} for o in (16, 128, 512, 2048)}}) for recipe in ("simclr", "vicreg")},

    # Chapter 10 (teacher and student). The EMA target's momentum, constant or raised to 1 along a cosine.
    "ema-byol": dict(recipe="byol", shared={"steps": 400, "eval_every": 100}, seeds=SEEDS, probe_layers=True,
                     grid={"momentum": [0.9, 0.98, 0.996], "momentum_schedule": ["constant", "cosine"]}),
    "ema-dino": dict(recipe="dino", shared={"steps": 300, "eval_every": 100, "n_local_crops": 0}, seeds=SEEDS, points={
        **{f"momentum {m}, {s}": {"momentum": m, "momentum_schedule": s}
           for m in (0.98, 0.996) for s in ("constant", "cosine")},
        **{f"teacher temperature {t}": {"teacher_temp": t, "warmup_teacher_temp": t} for t in (0.02, 0.07, 0.1)},
        **{f"centre momentum {c}": {"center_momentum": c} for c in (0.0, 0.99)},
        "no centring": {"centering": False}}),
    "momentum-moco": dict(recipe="moco", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS,
                          points={f"momentum {m}": {"momentum": m} for m in (0.0, 0.9, 0.99, 0.999)}),
    "predictor-byol": dict(recipe="byol", shared={"steps": 400, "eval_every": 100}, seeds=SEEDS, points={
        "predictor 512 wide (default)": {}, "predictor 64 wide": {"pred_hidden_dim": 64},
        "predictor 2048 wide": {"pred_hidden_dim": 2048}, "predictor lr x10": {"pred_lr_scale": 10.0},
        "no predictor": {"predictor": False}}),

    # Chapter 12 (hyperparameters). The learning rate that a batch size needs: scaled linearly with the batch
    # (Goyal et al., 2017) or with its square root (Krizhevsky, 2014), from the quick lr of batch 128.
    "lr-scaling-simclr": dict(recipe="simclr", shared={"steps": 300}, seeds=SEEDS, points={
        "batch 128, lr 0.016": {},
        **{f"batch {b}, {rule}": {"batch_size": b, "lr": round(0.016 * scale, 6)}
           for b in (16, 32, 64, 256) for rule, scale in (("linear", b / 128), ("square root", (b / 128) ** 0.5))}}),
    # Three optimizers, each at three learning rates around its own usual scale: LARS's trust ratio makes
    # its lr a multiple of the weights' norm, not of the gradient's.
    "optimizer-simclr": dict(recipe="simclr", shared={"steps": 300}, seeds=SEEDS, points={
        f"{name}, lr {lr}": {"optimizer": name, "lr": lr}
        for name, lrs in (("adamw", (0.004, 0.016, 0.064)), ("lars", (0.1, 0.4, 1.6)), ("sgd", (0.03, 0.1, 0.3)))
        for lr in lrs}),
    "weight-decay-simclr": dict(recipe="simclr", shared={"steps": 300}, seeds=SEEDS,
                                points={f"weight decay {wd:g}": {"weight_decay": wd}
                                        for wd in (0.0, 1e-4, 1e-2, 0.1, 0.5)}),
    "warmup-simclr": dict(recipe="simclr", shared={"steps": 300}, seeds=SEEDS,
                          grid={"lr": [0.016, 0.064], "warmup_steps": [0, 50, 150]}),

    # Chapter 13 (evaluation without labels): each method at six or more settings of its learning rate and
    # its own loss's main coefficient, three seeds, layers probed (the linear probe, and RankMe of the embedding
    # the loss sees). Chapter 12 draws SimCLR's as a heatmap; chapter 15 correlates each one's loss with kNN.
    "hyper-simclr": dict(recipe="simclr", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS, probe_layers=True,
                         grid={"lr": [0.004, 0.016, 0.064], "temperature": [0.1, 0.2, 0.5]}),
    # VICReg's 600-step quick run: at 300 it is still in its noisy start (see augment-ablation-vicreg).
    "hyper-vicreg": dict(recipe="vicreg", shared={"steps": 600, "eval_every": 200}, seeds=SEEDS, probe_layers=True,
                         grid={"lr": [0.002, 0.008, 0.032], "cov_coeff": [0.1, 1.0]}),
    "hyper-lejepa": dict(recipe="lejepa", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS, probe_layers=True,
                         grid={"lr": [0.002, 0.004, 0.008, 0.016], "lambd": [0.02, 0.05, 0.2]}),

    # Chapter 11 (the uniform prior): the same 2000 training images per run, their classes balanced or falling
    # geometrically from the first class to the last by 10 or 100 (a pool of 10000 to draw them from), each
    # class's test accuracy probed with the run's long-tailed labels and with a balanced set of as many. BYOL,
    # with no term that spreads the batch, is the control; it keeps its quick run's 1200 steps (it is slow to
    # start).
    **{f"longtail-{recipe}": dict(recipe=recipe, shared={"n_train": 10000, "data.train_images": 2000}, seeds=SEEDS,
                                  per_class=True,
                                  points={f"ratio {r}": {"data.class_ratio": r} for r in (1, 10, 100)})
       for recipe in ("simclr", "swav", "vicreg", "byol")},

    # Chapter 15 (the frontier). LeJEPA's one trade-off, from no SIGReg (collapse) to no invariance.
    "lejepa-lambda": dict(recipe="lejepa", shared={"steps": 300, "eval_every": 100}, seeds=SEEDS,
                          points={f"lambda {lam}": {"lambd": lam} for lam in (0.0, 0.005, 0.02, 0.05, 0.2, 0.5, 1.0)}),
    # DIET as the training set grows at a fixed number of steps (fewer epochs per image), one run at four times
    # the steps, and SimCLR on the same images for comparison. The kNN memory bank is the training set.
    "diet-size": dict(recipe="diet", shared={}, seeds=SEEDS, points={
        **{f"{n} images": {"n_train": n} for n in (500, 1000, 2000, 4000, 8000)},
        "8000 images, 2400 steps": {"n_train": 8000, "steps": 2400, "warmup_steps": 200}}),
    "diet-size-simclr": dict(recipe="simclr", shared={}, seeds=SEEDS,
                             points={f"{n} images": {"n_train": n} for n in (500, 2000, 8000)}),
}


class SweepError(ValueError):
    """A declaration or a results folder this script cannot use; the message says what to do."""


def declared_points(name: str, declared: dict) -> list[dict]:
    """The points of a declaration, each ``{"label", "settings", "seed"}``: its ``points`` (a label
    and the settings that differ) or the product of its ``grid`` (setting -> values), each once per
    seed of ``seeds`` (default: the recipe's own seed). Refuses an unknown recipe or setting and an
    empty grid with a message that names what exists."""
    import dataclasses
    import itertools

    try:
        recipe = registry.get(declared.get("recipe", ""))
    except Exception as error:  # the registry's own message lists the recipes
        raise SweepError(f"sweep {name!r}: {error}") from None
    from cookbook.augment import AugmentConfig

    known = {field.name for field in dataclasses.fields(recipe.Config)} - {"augment"}
    known |= {AUGMENT + field.name for field in dataclasses.fields(AugmentConfig)}
    known |= {imbalance.DATA + name for name in imbalance.SETTINGS}
    if "grid" in declared:
        grid = declared["grid"]
        empty = [key for key, values in grid.items() if not values]
        if not grid or empty:
            raise SweepError(f"sweep {name!r}: the grid is empty{' for ' + ', '.join(empty) if empty else ''}: "
                             f"give each swept setting at least one value")
        points = [{"label": ", ".join(f"{k} {v}" for k, v in zip(grid, values)), "settings": dict(zip(grid, values))}
                  for values in itertools.product(*grid.values())]
    else:
        points = [{"label": label, "settings": dict(settings)}
                  for label, settings in declared.get("points", {}).items()]
    if not points:
        raise SweepError(f"sweep {name!r} declares no points: give it `points` or a non-empty `grid`")
    for where, settings in [("shared", declared.get("shared", {}))] + [(p["label"], p["settings"]) for p in points]:
        unknown = sorted(set(settings) - known)
        if unknown:
            raise SweepError(f"sweep {name!r}, {where}: {declared['recipe']} has no setting {', '.join(unknown)}; "
                             f"its settings: {', '.join(sorted(known))}")
    for point in points:  # a value the recipe refuses is refused now, not after the points before it trained
        try:
            settings = {**declared.get("shared", {}), **point["settings"]}
            imbalance.data_settings(settings)
            recipe.Config.for_budget("quick", **config_overrides(recipe, settings))
        except ValueError as error:  # ConfigError, AugmentConfig's or the data settings' own ValueError
            raise SweepError(f"sweep {name!r}, {point['label']}: {error}") from None
    seeds = declared.get("seeds") or [None]
    if len(seeds) != len(set(seeds)):
        raise SweepError(f"sweep {name!r}: the seeds {seeds} repeat one")
    return [{"label": p["label"] + (f", seed {seed}" if len(seeds) > 1 else ""), "settings": p["settings"],
             "seed": seed}
            for p in points for seed in seeds]


def sweep_digest(declared: dict) -> str:
    """:func:`cookbook.book.digest.training_digest` of a sweep's recipe: the engine's code (the long tail's
    :mod:`cookbook.imbalance` included) and the recipe's."""
    return cache.training_digest(registry.get(declared["recipe"]))


def run_folder(point: dict) -> str:
    """A point's folder name: its label, made safe for a path."""
    return "".join(c if c.isalnum() or c in "-." else "_" for c in point["label"]).strip("_")


def check_folder(out: Path, name: str, declaration: dict) -> None:
    """Refuse a results folder that another sweep (or this sweep, declared differently) wrote."""
    manifest = out / "sweep.json"
    if not manifest.exists():
        if out.exists() and any(out.iterdir()):
            raise SweepError(f"{out} is not empty and holds no sweep.json: not a sweep's folder; "
                             f"give --out an empty or new folder")
        return
    kept = json.loads(manifest.read_text())
    if kept.get("sweep") != name:
        raise SweepError(f"{out} holds the sweep {kept.get('sweep')!r}, not {name!r}: give --out another "
                         f"folder (the default is the package's results/sweeps/{name})")
    if kept.get("declaration") != declaration:
        raise SweepError(f"{out} holds {name!r} as it was declared before (the points or shared settings "
                         f"changed since): run with --fresh to train it anew, which replaces that folder")


def write_json(path: Path, record: dict) -> None:
    """Atomically: an interrupted sweep never leaves half a file for a chapter to load."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(json.dumps(record, indent=1))
    os.replace(tmp, path)


def run_sweep(name: str, out: Path) -> dict:
    """Train every point of sweep ``name`` into ``out/<point>/metrics.json`` and write the manifest
    ``out/sweep.json``; returns it. A point whose metrics.json was written by the same code for the
    same settings is kept, so an interrupted sweep goes on where it stopped."""
    from cookbook.book.chapter import short_run

    declared = SWEEPS[name]
    points = declared_points(name, declared)
    declaration = json.loads(json.dumps({k: declared[k] for k in sorted(declared)}))  # as the JSON file holds it
    check_folder(out, name, declaration)
    recipe = registry.get(declared["recipe"])
    digest = sweep_digest(declared)
    base = recipe.Config.for_budget("quick", **config_overrides(recipe, declared["shared"]))
    loaded = {}  # the points that share a dataset share its images, loaded once with the base's data seed
    manifest = {"sweep": name, "recipe": declared["recipe"], "shared": declared["shared"], "declaration": declaration,
                "base_config": base.to_dict(), "points": [], "complete": False,
                "command": f"python benchmarks/sweep.py {name}"}
    write_json(out / "sweep.json", manifest)  # first: an interrupted sweep's folder is known as this sweep's
    entries = []
    for number, point in enumerate(points, 1):
        folder = run_folder(point)
        path = out / folder / "metrics.json"
        settings = {**declared["shared"], **point["settings"],
                    **({"seed": point["seed"]} if point["seed"] is not None else {})}
        if path.exists():
            kept = json.loads(path.read_text())
            if kept.get("training_digest") == digest and kept.get("run_settings") == settings:
                print(f"[{number}/{len(points)}] {point['label']}: kept from an earlier run", flush=True)
                entries.append({**point, "run": folder})
                continue
        point_started, cpu_started = time.perf_counter(), time.process_time()
        data, balanced = point_data(recipe, settings, base.seed, loaded)
        result = short_run(recipe, data=data, probe_layers=declared.get("probe_layers", False),
                           per_class=declared.get("per_class", False), balanced=balanced,
                           **config_overrides(recipe, settings))
        record = {**point, "run_settings": settings, **result, "seconds": round(time.perf_counter() - point_started, 1),
                  "cpu_seconds": round(time.process_time() - cpu_started, 1), "training_digest": digest}
        write_json(path, record)
        entries.append({**point, "run": folder})
        write_json(out / "sweep.json", {**manifest, "points": entries})  # what an interruption leaves is listed
        print(f"[{number}/{len(points)}] {point['label']}: kNN {result['before']['knn_acc']:.3f} -> "
              f"{result['after']['knn_acc']:.3f}, RankMe {result['after']['rankme']:.1f} ({record['seconds']:.0f} s)",
              flush=True)
    # The sweep's cost is its runs' (kept ones included, so a resumed sweep reports the whole of it), in wall
    # seconds and in CPU seconds of all threads.
    records = [json.loads((out / entry["run"] / "metrics.json").read_text()) for entry in entries]
    manifest.update(points=entries, complete=True, seconds=round(sum(r["seconds"] for r in records), 1),
                    cpu_seconds=(round(sum(r["cpu_seconds"] for r in records), 1)
                                 if all("cpu_seconds" in r for r in records) else None), machine=machine(),
                    threads=torch.get_num_threads(), date=time.strftime("%Y-%m-%d"), training_digest=digest)
    write_json(out / "sweep.json", manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("name", nargs="?", help="the sweep to run (--list names them)")
    parser.add_argument("--list", action="store_true", help="name the declared sweeps and stop")
    parser.add_argument("--threads", type=int, default=2, help="torch threads (default 2, a laptop's cores)")
    parser.add_argument("--out", help="the sweep's folder (default: the package's results/sweeps/NAME)")
    parser.add_argument("--fresh", action="store_true", help="delete the sweep's folder first and train every point")
    args = parser.parse_args(argv)
    if args.list or not args.name:
        print("\n".join(f"{n}: {d['recipe']}, {len(declared_points(n, d))} points" for n, d in SWEEPS.items()))
        return 0 if args.list else 2
    if args.name not in SWEEPS:
        parser.error(f"no sweep named {args.name!r}; declared: {', '.join(SWEEPS)}")
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    out = Path(args.out) if args.out else report.SWEEPS / args.name
    try:
        declared_points(args.name, SWEEPS[args.name])
        if args.fresh and out.exists():
            kept = out / "sweep.json"
            if not kept.exists() or json.loads(kept.read_text()).get("sweep") != args.name:
                raise SweepError(f"--fresh deletes the sweep's folder, and {out} is not the folder of {args.name!r}: "
                                 f"give --out another folder")
            shutil.rmtree(out)
        torch.set_num_threads(args.threads)
        manifest = run_sweep(args.name, out)
    except SweepError as error:
        parser.error(str(error))
    print(f"wrote {out} ({len(manifest['points'])} runs, {manifest['seconds']:.0f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
