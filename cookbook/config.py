"""What a run is told: the settings every recipe shares, and budgets as layers of data.

A recipe's ``Config`` subclasses :class:`TrainConfig` and adds its own hyperparameters. A run's
values come from four layers, each overriding the one before (:meth:`TrainConfig.for_budget`):

1. the base budget: how big a run is (``BASE_BUDGETS[budget]``: data, steps, batch, cadence);
2. the recipe's own fields: every field its ``Config`` declares, with its default. A recipe
   that owns ``dataset``, ``augment`` or ``backbone`` (RotNet's upright shapes, MAE's ViT)
   keeps it on every budget; no base budget silently replaces it;
3. the recipe's budget: ``Config.BUDGETS[budget]``, only what differs for this recipe;
4. the caller's overrides (keyword arguments, command-line flags).

The ``chapter`` budget is the ``cuda`` budget cut to a chapter's minutes: it is built from the
``cuda`` layers, then its own. Learning rates that papers scale with the batch are written as
:class:`BatchScaledLR` and resolved against the final batch size.
"""
from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

# ConfigError is defined in the package's __init__, below every module that raises it; it is
# imported from here by the recipes, as part of what a config is.
from . import ConfigError, check_device_name, current_budget
from .augment import AugmentConfig
from .models import BACKBONES

OPTIMIZERS = ("adamw", "lars", "sgd")
BUDGETS = ("quick", "chapter", "cpu", "cuda")
# A budget built on top of another: its layers come after every layer of its parent.
PARENT_BUDGET = {"chapter": "cuda"}


@dataclass(frozen=True)
class BatchScaledLR:
    """``lr = base_lr * batch_size / 256``, the linear scaling rule of Goyal et al. (2017) that
    SimCLR, BYOL and Barlow Twins state their learning rates in."""

    base_lr: float

    def at(self, batch_size: int) -> float:
        return self.base_lr * batch_size / 256


# The toy shapes' nuisance colours span the whole hue circle: strong colour jitter and frequent
# grayscale make colour useless to the loss, and crops of at least half the image keep the shape.
# The shapes are drawn at any angle, so views turned by any angle teach what the data varies anyway:
# SimCLR's quick kNN rose from 46.9% to 54.2% with it, at no cost per step (the turn is part of
# the crop's affine map). benchmarks/results/tuning/levers.md has the measurements.
TOY_AUGMENT = AugmentConfig(crop_min_scale=0.5, jitter_strength=1.0, gray_p=0.5, rotate_degrees=180)

BASE_BUDGETS: dict[str, dict[str, Any]] = {
    # A chapter's run on two CPU cores: well under a minute. Each recipe's quick learning rate (its
    # BUDGETS["quick"]) was chosen by benchmarks/tune_quick.py: benchmarks/results/tuning/quick-own-data.md.
    "quick": dict(dataset="toy", n_train=4000, n_test=1000, width=16, steps=600, batch_size=128, lr=4e-3,
                  warmup_steps=50, log_every=20, eval_every=300, eval_bank=4000, checkpoint_every=300,
                  augment=TOY_AUGMENT),
    # Minutes on a CPU.
    "cpu": dict(dataset="toy", n_train=8000, n_test=2000, width=32, steps=1500, batch_size=256, lr=4e-3,
                warmup_steps=100, eval_every=500, augment=TOY_AUGMENT),
    # The ResNet-18 CIFAR-10 baseline on one GPU.
    "cuda": dict(dataset="cifar10", backbone="resnet18", steps=20000, batch_size=512, lr=2e-3,
                 weight_decay=1e-4, warmup_steps=1000, log_every=50, eval_every=2000, checkpoint_every=2000),
    # What a chapter trains on a GPU (Colab): CIFAR-10 for minutes, not the full baseline.
    "chapter": dict(steps=2000, warmup_steps=100, eval_every=500, checkpoint_every=500, download=True),
}


def need(ok: bool, message: str) -> None:
    """Raise ConfigError with ``message`` (which names the setting and the fix) unless ``ok``."""
    if not ok:
        raise ConfigError(message)


@dataclass
class TrainConfig:
    """What every recipe's ``Config`` shares: data, backbone, optimisation, evaluation, output."""

    dataset: str = "toy"            # toy | toy_upright | toy_gray | digits | cifar10 | cifar100 | stl10 | a folder
    backbone: str = "small_cnn"     # small_cnn | resnet18 | vit_tiny | pixel_mlp
    width: int = 32                 # channel width of small_cnn (features = 8 * width)
    steps: int = 3000               # optimizer steps
    batch_size: int = 256           # images per step (each gives two or more views)
    optimizer: str = "adamw"        # adamw | lars | sgd
    lr: float = 2e-3                # peak learning rate, reached after the warmup
    weight_decay: float = 1e-4      # decoupled weight decay (not applied to biases and norms)
    warmup_steps: int = 100         # linear warmup, then cosine decay to zero
    seed: int = 0                   # seeds data order, initialisation and augmentations
    device: str = "auto"            # auto | cpu | cuda | cuda:N | mps
    amp: bool = True                # mixed precision on CUDA (ignored elsewhere)
    channels_last: bool = True      # channels_last memory format for the model (CUDA and CPU)
    n_train: int | None = None      # use only the first n training images (None: all)
    n_test: int | None = None       # use only the first n test images (None: all)
    image_size: int | None = None   # side in pixels: toy shapes are drawn at it, other images resized (None: native)
    data_root: str | None = None    # where CIFAR/STL-10 live (default ~/.cache/ssl-cookbook)
    download: bool = False          # let torchvision download CIFAR/STL-10 when missing
    log_every: int = 25             # yield a record (and update the progress bar) every k steps
    eval_every: int = 500           # kNN accuracy and RankMe every k steps (0: only at the end)
    eval_bank: int = 5000           # training images in the kNN memory bank during training
    knn_k: int = 20                 # neighbours in the kNN vote
    knn_temperature: float = 0.07   # temperature of the kNN vote weights
    out: str | None = None          # folder for checkpoint.pt, metrics.json and plots (None: none)
    checkpoint_every: int = 500     # write a checkpoint every k steps when `out` is set
    resume: bool = True             # continue from out/checkpoint.pt when it exists
    progress: bool = True           # show a tqdm progress bar
    backend: str = "auto"           # under torchrun: auto (NCCL on GPUs, gloo on CPUs) | nccl | gloo
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # how views are made

    # A recipe's own budget layer (3 in the module docstring): only what differs for this recipe.
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {}
    # Integer settings for which 0 means something (off, none); every other integer must be >= 1.
    ZERO_ALLOWED: ClassVar[frozenset[str]] = frozenset({"warmup_steps", "eval_every", "seed"})

    @classmethod
    def own_fields(cls) -> dict[str, Any]:
        """Layer 2: the fields a recipe's ``Config`` classes declare themselves, with their defaults."""
        defaults = {f.name: (f.default_factory() if f.default_factory is not dataclasses.MISSING else f.default)
                    for f in dataclasses.fields(cls)}
        owned = set()
        for klass in cls.__mro__:
            if klass is TrainConfig:
                break
            owned |= set(vars(klass).get("__annotations__", {}))
        return {name: defaults[name] for name in owned if name in defaults}

    @classmethod
    def layers(cls, budget: str) -> list[dict[str, Any]]:
        """The budget's layers 1-3, first to last (see the module docstring)."""
        if budget in PARENT_BUDGET:
            return cls.layers(PARENT_BUDGET[budget]) + [BASE_BUDGETS[budget], cls.BUDGETS.get(budget, {})]
        return [BASE_BUDGETS[budget], cls.own_fields(), cls.BUDGETS.get(budget, {})]

    @classmethod
    def for_budget(cls, budget: str | None = None, **overrides):
        """A config with the layers of ``budget`` (default: the current one), then ``overrides``."""
        budget = budget or current_budget()
        if budget not in BASE_BUDGETS:
            raise ConfigError(f"unknown budget {budget!r}: choose one of {', '.join(BUDGETS)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"{cls.__module__}.{cls.__qualname__} has no setting {', '.join(unknown)}; "
                              f"known settings: {', '.join(sorted(known))}")
        budget_values: dict[str, Any] = {}
        for layer in cls.layers(budget):
            budget_values.update(layer)
        values = {**budget_values, **overrides}
        if "steps" in overrides and "warmup_steps" not in overrides:
            # A shorter run (--steps 4) keeps the budget's warmup fraction instead of failing validation.
            defaults = {f.name: f.default for f in dataclasses.fields(cls)}
            budget_steps = budget_values.get("steps", defaults["steps"])
            budget_warmup = budget_values.get("warmup_steps", defaults["warmup_steps"])
            values["warmup_steps"] = min(budget_warmup, budget_warmup * max(0, values["steps"]) // budget_steps)
        if isinstance(values.get("lr"), BatchScaledLR):
            values["lr"] = values["lr"].at(values.get("batch_size", cls.batch_size))
        return cls(**values)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        """Reject values that cannot work, each with a message that names the setting and the fix.
        A recipe extends it with its own rules (call ``super().validate()`` first)."""
        need(self.backend in ("auto", "nccl", "gloo"), f"backend={self.backend!r}: choose auto (NCCL on GPUs, gloo on "
             f"CPUs), nccl or gloo")
        need(not (self.backend == "nccl" and self.device == "cpu"), "backend='nccl' needs GPUs and device='cpu' "
             "trains on the CPU: use backend='gloo' (or auto)")

        need(self.batch_size >= 2, f"batch_size={self.batch_size}: self-supervised losses compare images "
                                   "within a batch, so use at least 2 (64 or more in practice)")
        need(self.lr > 0 and math.isfinite(self.lr), f"lr={self.lr}: the learning rate must be a positive number")
        need(self.weight_decay >= 0, f"weight_decay={self.weight_decay} must be >= 0")
        need(self.warmup_steps <= self.steps,
             f"warmup_steps={self.warmup_steps} is longer than the run (steps={self.steps}): lower it")
        need(self.optimizer in OPTIMIZERS, f"optimizer={self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        need(self.backbone in BACKBONES, f"backbone={self.backbone!r}: choose one of {', '.join(BACKBONES)}")
        try:
            check_device_name(self.device)
        except ValueError as err:
            raise ConfigError(str(err)) from None
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool):
                continue
            if isinstance(value, int):
                least = 0 if f.name in self.ZERO_ALLOWED else 1
                if value < least:
                    hint = {"n_train": " (leave it unset to use every image)",
                            "n_test": " (leave it unset to use every image)"}.get(f.name, "")
                    raise ConfigError(f"{f.name}={value} must be >= {least}{hint}")
            elif isinstance(value, float) and not math.isfinite(value):
                raise ConfigError(f"{f.name}={value} must be a finite number")
        need(self.knn_temperature > 0, f"knn_temperature={self.knn_temperature} must be > 0")
        need(self.n_train is None or self.n_train >= self.batch_size,
             f"n_train={self.n_train} is smaller than batch_size={self.batch_size}: use more images or a smaller batch")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)
