"""One training loop for every recipe, written as a generator of metric records.

A recipe supplies a model whose ``forward(images)`` takes a batch of uint8 images, makes
its own views, and returns a dict with a scalar ``"loss"`` (plus any other scalars worth
logging). It exposes ``model.backbone`` for evaluation and may define
``model.after_step(step, total_steps)`` for work after the optimizer step (an EMA target,
a queue, a centre); a model with ``wants_indices = True`` is called as
``forward(images, indices)``, with the images' positions in the training set (DIET).
Everything else lives here:

- the optimizer (AdamW or LARS) with weight decay off for biases and norms, and a linear
  warmup followed by a cosine decay computed from the step (so resuming needs no scheduler);
- mixed precision (bfloat16 where supported, else float16 with a gradient scaler) and
  channels_last on CUDA;
- a guard that stops a diverging run with a diagnosis instead of training on NaNs;
- atomic checkpoints (write to a temporary file, then rename) that hold the model, the
  optimizer, the step and the random states, so a resumed run continues exactly where an
  uninterrupted one would have been; Ctrl-C writes one before stopping;
- periodic evaluation (kNN accuracy, RankMe) and a ``tqdm.auto`` progress bar.

``Trainer.run()`` yields a record every ``log_every`` steps, so a notebook can draw between
chunks (see :mod:`cookbook.lab`). Batches are drawn from a per-epoch permutation seeded by
``(seed, epoch)``, and each process of a future ``torchrun`` launch takes its own slice of it.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import random
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Iterator

import numpy as np
import torch
from torch import nn

from . import current_budget, pick_device
from . import data as data_module
from . import evaluate
from .augment import AugmentConfig
from .models import BACKBONES

OPTIMIZERS = ("adamw", "lars", "sgd")
CHECKPOINT_NAME = "checkpoint.pt"


class ConfigError(ValueError):
    """A configuration value that cannot work; the message says which and what to do."""


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message holds a diagnosis."""


@dataclass
class TrainConfig:
    """What every recipe's ``Config`` shares: data, backbone, optimisation, evaluation, output."""

    dataset: str = "toy"            # toy | digits | cifar10 | cifar100 | stl10 | path to an image folder
    backbone: str = "small_cnn"     # small_cnn | resnet18 | vit_tiny
    width: int = 32                 # channel width of small_cnn (features = 8 * width)
    steps: int = 3000               # optimizer steps
    batch_size: int = 256           # images per step (each gives two or more views)
    optimizer: str = "adamw"        # adamw | lars | sgd
    lr: float = 2e-3                # peak learning rate, reached after the warmup
    weight_decay: float = 1e-4      # decoupled weight decay (not applied to biases and norms)
    warmup_steps: int = 100         # linear warmup, then cosine decay to zero
    seed: int = 0                   # seeds data order, initialisation and augmentations
    device: str = "auto"            # auto | cpu | cuda | mps
    amp: bool = True                # mixed precision on CUDA (ignored elsewhere)
    channels_last: bool = True      # channels_last memory format on CUDA (ignored elsewhere)
    n_train: int | None = None      # use only the first n training images (None: all)
    n_test: int | None = None       # use only the first n test images (None: all)
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
    augment: AugmentConfig = field(default_factory=AugmentConfig)  # how views are made

    # Overrides per budget (see cookbook.current_budget); a recipe extends these. The quick and
    # cpu budgets train the small CNN on the toy shapes, whose nuisance colours span the whole hue
    # circle: strong colour jitter and frequent grayscale are what make colour useless to the
    # loss, and crops of at least half the image keep the shape in view.
    BUDGETS: ClassVar[dict[str, dict[str, Any]]] = {
        "quick": dict(dataset="toy", n_train=4000, n_test=1000, width=16, steps=600, batch_size=128, lr=4e-3,
                      warmup_steps=50, log_every=20, eval_every=200, eval_bank=4000, checkpoint_every=200,
                      augment=AugmentConfig(crop_min_scale=0.5, jitter_strength=1.0, gray_p=0.5)),
        "cpu": dict(dataset="toy", n_train=8000, n_test=2000, width=32, steps=1500, batch_size=256, lr=4e-3,
                    warmup_steps=100, eval_every=500,
                    augment=AugmentConfig(crop_min_scale=0.5, jitter_strength=1.0, gray_p=0.5)),
        "cuda": dict(dataset="cifar10", backbone="resnet18", steps=20000, batch_size=512, lr=2e-3,
                     weight_decay=1e-4, warmup_steps=1000, log_every=50, eval_every=2000, checkpoint_every=2000),
    }

    @classmethod
    def for_budget(cls, budget: str | None = None, **overrides):
        """A config with the values of ``budget`` (default: the current one), then ``overrides``."""
        budget = budget or current_budget()
        if budget not in cls.BUDGETS:
            raise ConfigError(f"unknown budget {budget!r}: choose one of {', '.join(cls.BUDGETS)}")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ConfigError(f"{cls.__module__}.{cls.__qualname__} has no setting {', '.join(unknown)}; "
                              f"known settings: {', '.join(sorted(known))}")
        values = {**cls.BUDGETS[budget], **overrides}
        if "steps" in overrides and "warmup_steps" not in overrides:
            # A shorter run (--steps 4) keeps the budget's warmup fraction instead of failing validation.
            defaults = {f.name: f.default for f in dataclasses.fields(cls)}
            budget_steps = cls.BUDGETS[budget].get("steps", defaults["steps"])
            budget_warmup = cls.BUDGETS[budget].get("warmup_steps", defaults["warmup_steps"])
            values["warmup_steps"] = min(budget_warmup, budget_warmup * max(0, values["steps"]) // budget_steps)
        return cls(**values)

    def __post_init__(self) -> None:
        self.validate()

    def validate(self) -> None:
        def need(ok: bool, message: str):
            if not ok:
                raise ConfigError(message)

        need(self.steps >= 1, f"steps={self.steps}: train for at least one step")
        need(self.batch_size >= 2, f"batch_size={self.batch_size}: self-supervised losses compare images "
                                   "within a batch, so use at least 2 (64 or more in practice)")
        need(self.lr > 0 and math.isfinite(self.lr), f"lr={self.lr}: the learning rate must be a positive number")
        need(self.weight_decay >= 0, f"weight_decay={self.weight_decay} must be >= 0")
        need(0 <= self.warmup_steps <= self.steps,
             f"warmup_steps={self.warmup_steps} is longer than the run (steps={self.steps}): lower it")
        need(self.optimizer in OPTIMIZERS, f"optimizer={self.optimizer!r}: choose one of {', '.join(OPTIMIZERS)}")
        need(self.backbone in BACKBONES, f"backbone={self.backbone!r}: choose one of {', '.join(BACKBONES)}")
        need(self.log_every >= 1, f"log_every={self.log_every} must be >= 1")
        need(self.eval_every >= 0, f"eval_every={self.eval_every} must be >= 0 (0 evaluates only at the end)")
        need(self.knn_k >= 1, f"knn_k={self.knn_k} must be >= 1")
        need(self.knn_temperature > 0, f"knn_temperature={self.knn_temperature} must be > 0")
        need(self.width >= 1, f"width={self.width} must be >= 1")
        need(self.checkpoint_every >= 1, f"checkpoint_every={self.checkpoint_every} must be >= 1")

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# ----------------------------------------------------------------------------- helpers

def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def distributed_rank_and_size() -> tuple[int, int]:
    """(rank, world size) from torchrun's environment; (0, 1) for a single process."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to ``config.lr`` over ``warmup_steps``, then cosine decay to 0 at ``steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


class LARS(torch.optim.Optimizer):
    """SGD with momentum and layer-wise adaptive rate scaling (You et al., 2017), as used by
    SimCLR, BYOL and Barlow Twins for large batches. Groups with ``lars=False`` (biases,
    norms) get plain SGD with momentum and no weight decay."""

    def __init__(self, params, lr: float, momentum: float = 0.9, weight_decay: float = 0.0, eta: float = 0.001):
        super().__init__(params, dict(lr=lr, momentum=momentum, weight_decay=weight_decay, eta=eta, lars=True))

    @torch.no_grad()
    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                update = p.grad
                if group["lars"]:
                    update = update.add(p, alpha=group["weight_decay"])
                    p_norm, u_norm = torch.norm(p), torch.norm(update)
                    trust = torch.where((p_norm > 0) & (u_norm > 0), group["eta"] * p_norm / u_norm,
                                        torch.ones_like(p_norm))
                    update = update.mul(trust)
                state = self.state[p]
                if "momentum" not in state:
                    state["momentum"] = torch.zeros_like(p)
                buf = state["momentum"].mul_(group["momentum"]).add_(update)
                p.add_(buf, alpha=-group["lr"])


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online``, parameters and buffers alike.

    The slow-moving target network of BYOL, MoCo and DINO. ``momentum=0`` copies the online
    network (BYOL's collapse switch), ``momentum=1`` freezes the target.
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"EMA momentum={momentum} must be in [0, 1]")
    for t, o in zip(target.parameters(), online.parameters()):
        t.lerp_(o.detach(), 1.0 - momentum)
    for t, o in zip(target.buffers(), online.buffers()):
        if t.is_floating_point():
            t.lerp_(o, 1.0 - momentum)
        else:
            t.copy_(o)


def cosine_momentum(step: int, total_steps: int, base: float = 0.996, final: float = 1.0) -> float:
    """BYOL's EMA momentum schedule: from ``base`` at step 0 to ``final`` at the end, along a cosine.

    ``base=0`` means no EMA at all: 0 at every step, so the target is a copy of the online network
    after each step. That is what the ablations mean by momentum 0; a cosine starting from 0 would
    instead slow the target down to a standstill over the run.
    """
    if base == 0:
        return 0.0
    progress = min(1.0, step / max(1, total_steps))
    return final - (final - base) * (math.cos(math.pi * progress) + 1) / 2


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """Weight decay (and LARS adaptation) only on weight matrices and kernels, not on biases and norms."""
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    if config.optimizer == "adamw":
        return torch.optim.AdamW([{"params": decay, "weight_decay": config.weight_decay},
                                  {"params": no_decay, "weight_decay": 0.0}], lr=config.lr)
    if config.optimizer == "sgd":
        return torch.optim.SGD([{"params": decay, "weight_decay": config.weight_decay},
                                {"params": no_decay, "weight_decay": 0.0}], lr=config.lr, momentum=0.9)
    return LARS([{"params": decay}, {"params": no_decay, "weight_decay": 0.0, "lars": False}],
                lr=config.lr, weight_decay=config.weight_decay)


def atomic_save(obj: Any, path: Path) -> None:
    """Write ``obj`` with torch.save to a temporary file, then rename: a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def load_checkpoint(path: Path, device: torch.device | str = "cpu") -> dict:
    """Load a checkpoint written by :class:`Trainer` with ``weights_only=True`` (no pickled code)."""
    return torch.load(path, map_location=device, weights_only=True)


# ----------------------------------------------------------------------------- the loop

class Trainer:
    """Owns the model, the optimizer and the step counter; :meth:`run` trains in chunks."""

    def __init__(self, model: nn.Module, data: data_module.ImageData, config: TrainConfig):
        self.config, self.data = config, data
        self.device = data.device
        self.rank, self.world_size = distributed_rank_and_size()
        self.is_cuda = self.device.type == "cuda"
        self.model = model.to(self.device)
        if self.is_cuda and config.channels_last:
            self.model = self.model.to(memory_format=torch.channels_last)
        self.amp_dtype = None
        if self.is_cuda and config.amp:
            self.amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        self.scaler = torch.amp.GradScaler("cuda", enabled=self.amp_dtype == torch.float16)
        self.optimizer = build_optimizer(self.model, config)
        self.step = 0
        self.history: list[dict[str, float]] = []
        self.started = time.perf_counter()
        self.elapsed_before = 0.0  # wall time of earlier sessions of a resumed run
        self.checkpoint_path = Path(config.out) / CHECKPOINT_NAME if config.out else None
        if self.checkpoint_path and config.resume and self.checkpoint_path.exists():
            self.load(self.checkpoint_path)
        if len(data.pretrain_x) < config.batch_size:
            raise ConfigError(f"batch_size={config.batch_size} is larger than the {len(data.pretrain_x)} "
                              f"training images of {data.name!r}: lower batch_size")

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "step": self.step, "history": self.history,
            "config": self.config.to_dict(), "wall_s": self.wall_s,
            "rng_cpu": torch.get_rng_state(),
        }
        if self.is_cuda:
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    # Settings that may change between the sessions of one resumed run.
    RESUMABLE_CHANGES = {"steps", "out", "resume", "progress", "log_every", "eval_every", "eval_bank",
                         "checkpoint_every", "device", "download", "data_root"}

    def load(self, path: Path) -> None:
        state = load_checkpoint(path, self.device)
        saved, current = state["config"], self.config.to_dict()
        changed = [k for k in current if k not in self.RESUMABLE_CHANGES and saved.get(k) != current[k]]
        if changed:
            details = ", ".join(f"{k}: {saved.get(k)!r} -> {current[k]!r}" for k in changed)
            raise ConfigError(f"{path} was written by a different configuration ({details}). "
                              "Use another output folder, or resume=False (--no-resume) to start over.")
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.history = state["step"], list(state["history"])
        self.elapsed_before = state.get("wall_s", 0.0)
        torch.set_rng_state(state["rng_cpu"].cpu())
        if self.is_cuda and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), self.device)

    def save(self) -> None:
        if self.checkpoint_path is not None and self.rank == 0:
            atomic_save(self.state_dict(), self.checkpoint_path)

    @property
    def wall_s(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    # -- data --------------------------------------------------------------------------
    def batch_indices(self, step: int) -> torch.Tensor:
        """The images of ``step``: a slice of the permutation of its epoch (drop_last semantics)."""
        n, global_batch = len(self.data.pretrain_x), self.config.batch_size * self.world_size
        per_epoch = n // global_batch
        epoch, position = divmod(step, per_epoch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.config.seed * 100_003 + epoch))
        start = position * global_batch + self.rank * self.config.batch_size
        return order[start:start + self.config.batch_size]

    # -- evaluation --------------------------------------------------------------------
    def evaluate(self, bank: int | None = None) -> dict[str, float]:
        """kNN accuracy of the backbone features and their RankMe on the test split."""
        return evaluate_backbone(self.model, self.data, self.config, bank)

    # -- training ----------------------------------------------------------------------
    def train_step(self) -> dict[str, torch.Tensor]:
        config = self.config
        lr = learning_rate(self.step, config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        indices = self.batch_indices(self.step).to(self.device)
        images = self.data.pretrain_x[indices]
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            # A model that learns per-image targets (DIET) asks for the images' dataset indices too.
            outputs = self.model(images, indices) if getattr(self.model, "wants_indices", False) else self.model(images)
        loss = outputs["loss"]
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(loss).backward()
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        if hasattr(self.model, "after_step"):
            self.model.after_step(self.step, config.steps)
        return {k: v.detach().float() for k, v in outputs.items()} | {"lr": torch.tensor(lr)}

    def _diagnose(self, record: dict, first_bad: int, last_good: float | None) -> TrainingDiverged:
        c = self.config
        hints = [f"lower the learning rate (lr={c.lr:g}, now {record['lr']:.3g})"]
        if c.warmup_steps < 0.05 * c.steps:
            hints.append(f"warm up for longer (warmup_steps={c.warmup_steps})")
        temperature = getattr(c, "temperature", None)
        if temperature is not None and temperature < 0.05:
            hints.append(f"raise the temperature ({temperature:g}): exp(sim / T) overflows for small T")
        if self.amp_dtype is torch.float16:
            hints.append("turn off mixed precision (amp=False): float16 overflows sooner")
        return TrainingDiverged(
            f"the loss became {record['loss']} between steps {first_bad} and {self.step} "
            f"(last finite logged loss: {last_good}). The model is no longer usable; the last checkpoint "
            f"(if any) is intact. Try: " + "; ".join(hints) + ".")

    def run(self, steps: int | None = None) -> Iterator[dict[str, float]]:
        """Train until ``steps`` (default ``config.steps``), yielding a record every ``log_every`` steps.

        Evaluation records (with ``knn_acc`` and ``rankme``) are yielded at step 0, every
        ``eval_every`` steps and at the end. The generator may be abandoned at any yield and
        :meth:`run` called again later: the state lives in the trainer.
        """
        config = self.config
        target = min(steps if steps is not None else config.steps, config.steps)
        self.model.train()
        if self.step == 0 and config.eval_every and not self.history:
            self.history.append({"step": 0, **self.evaluate(config.eval_bank)})
            yield self.history[-1]
        bar = None
        if config.progress and self.rank == 0 and self.step < target:
            from tqdm.auto import tqdm
            bar = tqdm(total=target, initial=self.step, desc=getattr(self.model, "name", "train"),
                       unit="step", dynamic_ncols=True, leave=True)
        sums: dict[str, torch.Tensor] = {}
        count, finite, chunk_start = 0, torch.tensor(True, device=self.device), self.step
        last_good = next((r["loss"] for r in reversed(self.history) if "loss" in r), None)
        try:
            while self.step < target:
                outputs = self.train_step()
                finite &= torch.isfinite(outputs["loss"])
                for k, v in outputs.items():
                    sums[k] = sums.get(k, 0) + v.to(self.device)
                count += 1
                at_end = self.step == config.steps
                at_eval = config.eval_every and self.step % config.eval_every == 0
                at_checkpoint = self.checkpoint_path is not None and self.step % config.checkpoint_every == 0
                if self.step % config.log_every and not (at_end or at_eval or at_checkpoint) and self.step != target:
                    continue
                record = {"step": self.step, **{k: (v / count).item() for k, v in sums.items()}}
                if not bool(finite):
                    raise self._diagnose(record, chunk_start + 1, last_good)
                last_good = record["loss"]
                if at_eval or at_end:
                    record.update(self.evaluate(config.eval_bank))
                if bar is not None:
                    bar.update(self.step - bar.n)
                    bar.set_postfix({k: f"{record[k]:.3g}" for k in ("loss", "knn_acc") if k in record})
                sums, count, chunk_start = {}, 0, self.step
                self.history.append(record)
                if self.checkpoint_path and (at_end or at_checkpoint):
                    self.save()
                yield record
        except KeyboardInterrupt:
            self.save()  # nothing is lost: the next run with resume=True continues from here
            raise
        finally:
            if bar is not None:
                bar.close()



# ----------------------------------------------------------------------------- a whole run

def load_data(config: TrainConfig) -> data_module.ImageData:
    return data_module.load(config.dataset, pick_device(config.device), root=config.data_root,
                            download=config.download, n_train=config.n_train, n_test=config.n_test,
                            seed=config.seed)


def evaluate_backbone(model: nn.Module, data: data_module.ImageData, config: TrainConfig,
                      bank: int | None = None) -> dict[str, float]:
    """kNN accuracy (memory bank: the first ``bank`` training images) and test-set RankMe of
    ``model.backbone`` (or of ``model`` itself when it has no backbone)."""
    backbone = getattr(model, "backbone", model)
    bank = bank or len(data.train_x)
    train_z = evaluate.embed(backbone, data.train_x[:bank])
    test_z = evaluate.embed(backbone, data.test_x)
    return {"knn_acc": evaluate.knn_accuracy(train_z, data.train_y[:bank], test_z, data.test_y,
                                             config.knn_k, config.knn_temperature),
            "rankme": evaluate.rankme(test_z)}


def knn_scores(train_z: torch.Tensor, test_z: torch.Tensor, data: data_module.ImageData,
               config: TrainConfig, prefix: str = "") -> dict[str, float]:
    """kNN accuracy for the class (``knn_acc``) and, where the dataset records discrete nuisance
    factors (the toy shapes' colour bin), for each of them (``<factor>_knn_acc``): high class and
    low nuisance accuracy mean the features kept what matters and dropped what does not."""
    def knn(train_labels, test_labels):
        return evaluate.knn_accuracy(train_z, train_labels, test_z, test_labels, config.knn_k, config.knn_temperature)

    scores = {f"{prefix}knn_acc": knn(data.train_y, data.test_y)}
    for name, values in data.train_factors.items():
        if not values.is_floating_point():
            scores[f"{prefix}{name}_knn_acc"] = knn(values, data.test_factors[name])
    return scores


def features(model: nn.Module, data: data_module.ImageData) -> tuple[torch.Tensor, torch.Tensor]:
    """Backbone features of the whole training and test splits."""
    backbone = getattr(model, "backbone", model)
    return evaluate.embed(backbone, data.train_x), evaluate.embed(backbone, data.test_x)


def final_metrics(trainer: Trainer) -> dict[str, Any]:
    """The numbers a run reports about its trained backbone, and the raw-pixel baseline."""
    config, data = trainer.config, trainer.data
    train_z, test_z = features(trainer.model, data)
    return {
        **knn_scores(train_z, test_z, data, config),
        "linear_acc": evaluate.linear_probe_accuracy(train_z, data.train_y, test_z, data.test_y, seed=config.seed),
        "rankme": evaluate.rankme(test_z),
        "feature_dim": train_z.shape[1],
        **knn_scores(evaluate.pixels(data.train_x), evaluate.pixels(data.test_x), data, config, prefix="raw_pixel_"),
        "steps": trainer.step,
        "wall_s": round(trainer.wall_s, 2),
        "device": str(trainer.device) + (f" ({torch.cuda.get_device_name(trainer.device)})" if trainer.is_cuda else ""),
        "dataset": data.name,
        "backbone": config.backbone,
    }


def run_recipe(config: TrainConfig, build_model: Callable[[data_module.ImageData], nn.Module],
               *, name: str = "recipe") -> dict[str, Any]:
    """Load the data, build the model, train it, and report (and, with ``config.out``, save) the metrics.

    The ``random_init_*`` baselines are the same model before training (same seed, so also on
    a resumed run), evaluated with the full memory bank like the trained one.
    """
    seed_everything(config.seed)
    data = load_data(config)
    seed_everything(config.seed)
    model = build_model(data).to(data.device)
    random_init = knn_scores(*features(model, data), data, config, prefix="random_init_")
    trainer = Trainer(model, data, config)
    for _ in trainer.run():
        pass
    metrics = {"method": name, **final_metrics(trainer), **random_init}
    metrics["config"] = config.to_dict()
    metrics["history"] = trainer.history
    if config.out and trainer.rank == 0:
        out = Path(config.out)
        out.mkdir(parents=True, exist_ok=True)
        (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
        from . import plots
        plots.save_training_curves(trainer.history, out / "curves.png", title=f"{name} on {data.name}",
                                   baselines={"raw pixels": metrics["raw_pixel_knn_acc"],
                                              "random init": metrics["random_init_knn_acc"]})
    return metrics
