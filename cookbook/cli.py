"""The command line every recipe shares, generated from its ``Config`` dataclass.

Each field becomes ``--field-name`` (booleans also get ``--no-field-name``), with the
field's trailing comment as its help; augmentation knobs become ``--aug-...``. ``--quick``
picks the quick budget. A run prints its progress, writes ``metrics.json`` and
``curves.png`` into ``--out`` and resumes from the checkpoint there when one exists.

Without ``--out`` a run is named after the recipe, the dataset, the budget and every setting
given that differs from the budget's: ``runs/simclr-toy-quick`` for ``simclr --quick``,
``runs/simclr-toy-quick-temperature0.5`` once ``--temperature 0.5`` is added. Trying a value
therefore starts a new run, and the same command again resumes its own.
"""
from __future__ import annotations

import argparse
import dataclasses
import inspect
import json
import re
import sys
import warnings
from pathlib import Path
from types import ModuleType
from typing import Any, Callable

from . import current_budget, distributed
from .augment import AugmentConfig
from .checkpoint import CHECKPOINT_NAME, RESUMABLE_CHANGES
from .config import BUDGETS, ConfigError
from .data import DatasetUnavailable
from .method import Method
from .run import preflight, run_recipe
from .train import TrainingDiverged

_TYPES = {"int": int, "float": float, "str": str, "bool": bool}
SUMMARY_KEYS = ("knn_acc", "linear_acc", "rankme", "raw_pixel_knn_acc", "random_init_knn_acc", "steps", "wall_s",
                "device")


def field_comments(cls) -> dict[str, str]:
    """``name: type = default  # comment`` lines of a dataclass (and its bases) -> {name: comment}."""
    comments: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        try:
            source = inspect.getsource(klass)
        except (OSError, TypeError):
            continue
        for match in re.finditer(r"^\s+(\w+):[^#\n]*#\s*(.+)$", source, re.M):
            comments[match.group(1)] = match.group(2).strip()
    return comments


def _add_fields(parser, cls, prefix: str = "") -> None:
    comments = field_comments(cls)
    for f in dataclasses.fields(cls):
        kind = str(f.type).replace(" ", "")
        base = kind.split("|")[0]
        if base not in _TYPES:
            continue  # tuples and nested configs have their own flags or none
        flag = "--" + (prefix + f.name).replace("_", "-")
        help_text = comments.get(f.name, "")
        if base == "bool":
            parser.add_argument(flag, dest=prefix + f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            parser.add_argument(flag, dest=prefix + f.name, type=_TYPES[base], default=None,
                                metavar=base.upper(), help=help_text)


def build_parser(recipe: ModuleType, prog: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=prog, description=(recipe.__doc__ or "").strip().split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="quick budget: toy data, a few hundred steps, CPU-friendly")
    parser.add_argument("--budget", choices=list(BUDGETS), default=None,
                        help="budget whose defaults to start from (default: quick with --quick or "
                             "COOKBOOK_QUICK=1, else cuda on a GPU, else cpu)")
    _add_fields(parser.add_argument_group("settings"), recipe.Config)
    _add_fields(parser.add_argument_group("augmentation"), AugmentConfig, prefix="aug_")
    return parser


def config_from_args(recipe: ModuleType, args: argparse.Namespace):
    budget = args.budget or current_budget(quick=True if args.quick else None)
    values = vars(args)
    overrides = {f.name: values[f.name] for f in dataclasses.fields(recipe.Config)
                 if values.get(f.name) is not None}
    config = recipe.Config.for_budget(budget, **overrides)
    augment_changes = {f.name: values["aug_" + f.name] for f in dataclasses.fields(AugmentConfig)
                       if values.get("aug_" + f.name) is not None}
    if augment_changes:
        config = dataclasses.replace(config, augment=config.augment.replace(**augment_changes))
    if config.out is None:
        config = dataclasses.replace(config, out=str(default_out(recipe, config, budget)))
    return config, budget


def recipe_name(recipe: ModuleType) -> str:
    """``simclr`` for ``recipes.simclr``, also when it runs as ``python -m recipes.simclr`` (``__main__``)."""
    spec = getattr(recipe, "__spec__", None)
    return (spec.name if spec is not None else recipe.__name__).rsplit(".", 1)[-1]


def default_out(recipe: ModuleType, config, budget: str) -> Path:
    """``runs/NAME-DATASET-BUDGET``, then ``-fieldVALUE`` for each setting that differs from the
    budget's own config (augmentation settings as ``-aug_fieldVALUE``), in field order. Settings
    that a resumed run may change (steps, cadence, device) are left out of the name."""
    name = recipe_name(recipe)
    parts = [f"{name}-{Path(config.dataset).name}-{budget}"]
    reference = recipe.Config.for_budget(budget, steps=config.steps)  # the same warmup as this run's
    for f in dataclasses.fields(config):
        if f.name in RESUMABLE_CHANGES or f.name in ("dataset", "augment"):
            continue
        if getattr(config, f.name) != getattr(reference, f.name):
            parts.append(f"{f.name}{getattr(config, f.name)}")
    for f in dataclasses.fields(AugmentConfig):
        if getattr(config.augment, f.name) != getattr(reference.augment, f.name):
            parts.append(f"aug_{f.name}{getattr(config.augment, f.name)}")
    return Path("runs") / re.sub(r"[^\w.=+-]", "_", "-".join(parts))


def one_line_warning(message, category, filename, lineno, file=None, line=None) -> None:
    """On the command line a warning (a skipped image file, say) is one line that says what
    happened, not Python's two lines that quote the source of the call that raised it."""
    print("warning: " + " ".join(str(message).split()), file=sys.stderr)


def main(recipe: ModuleType, argv: list[str] | None = None, prog: str | None = None) -> int:
    parser = build_parser(recipe, prog)
    args = parser.parse_args(argv)
    try:
        config, budget = config_from_args(recipe, args)
        preflight(config)  # a damaged checkpoint or a file in the way: say so before anything starts
        checkpoint = Path(config.out) / CHECKPOINT_NAME
        if config.resume and checkpoint.exists():
            print(f"resuming from {checkpoint} (pass --no-resume to start over)", file=sys.stderr)
        rank, size = distributed.world()
        if size > 1 and rank == 0:
            print(f"{size} processes (torchrun) train one model: {config.batch_size // size} images each of the global "
                  f"batch of {config.batch_size}", file=sys.stderr)
        if rank == 0:
            print(f"{recipe_name(recipe)} | budget {budget} | dataset {config.dataset} | backbone {config.backbone} | "
                  f"{config.steps} steps of {config.batch_size} | out {config.out}", file=sys.stderr)
        with warnings.catch_warnings():  # restores the default display afterwards (main is also called in-process)
            warnings.showwarning = one_line_warning
            metrics = recipe.train(config)
    except (ConfigError, DatasetUnavailable, TrainingDiverged, ValueError, OSError) as err:
        print("error: " + " ".join(str(err).split()), file=sys.stderr)  # one line, whatever the message
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted: a checkpoint is in {config.out}; run the same command again to resume", file=sys.stderr)
        return 130
    if distributed.world()[0] != 0:  # under torchrun the processes hold one model: rank 0 reports it
        return 0
    summary = {k: metrics[k] for k in SUMMARY_KEYS}
    print(json.dumps(summary, indent=2))
    print(f"wrote {Path(config.out) / 'metrics.json'} and {Path(config.out) / 'curves.png'}", file=sys.stderr)
    return 0


def entry_points(model_class: type[Method]) -> tuple[Callable, Callable, Callable]:
    """``build_model, train, main`` for the recipe module that defines ``model_class`` and ``Config``.

    - ``build_model(config, data)``: the model for this config and data;
    - ``train(config=None)``: :func:`cookbook.run.run_recipe` with this recipe (default: the
      current budget), returning the run's metrics;
    - ``main(argv=None)``: the command line (``python -m recipes.NAME``).
    """
    module = sys.modules[model_class.__module__]

    def build_model(config, data) -> Method:
        return model_class(config, data)

    def train(config=None) -> dict[str, Any]:
        return run_recipe(module, config or module.Config.for_budget())

    def command_line(argv: list[str] | None = None) -> int:
        return main(module, argv, prog=f"python -m recipes.{model_class.name}")

    build_model.__doc__ = f"A {model_class.name} model for ``config`` and ``data``."
    train.__doc__ = f"Train {model_class.name} and return its metrics (see :func:`cookbook.run.run_recipe`)."
    return build_model, train, command_line
