"""One training loop for every recipe, written as a generator of metric records.

The :class:`Trainer` owns a :class:`cookbook.method.Method`, the optimizer and the step
counter. :meth:`Trainer.run` trains chunk by chunk: a chunk ends at the next step where
something is due (a log record, an evaluation, a checkpoint, the end), and yields one record
there, so a notebook can draw between chunks (see :mod:`cookbook.book.lab`). Around it:

- mixed precision (bfloat16 where supported, else float16 with a gradient scaler) and
  channels_last, on CUDA;
- a guard that stops a diverging run with a diagnosis instead of training on NaNs;
- checkpoints (:mod:`cookbook.checkpoint`) every ``checkpoint_every`` steps, at the end and
  on Ctrl-C, from which a resumed run continues exactly;
- kNN accuracy and RankMe every ``eval_every`` steps (:mod:`cookbook.evaluate`) and a
  ``tqdm.auto`` progress bar.

Batches are drawn from a per-epoch permutation seeded by ``(seed, epoch)``.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Iterator

import torch

from . import distributed, evaluate
from .checkpoint import CHECKPOINT_NAME, atomic_save, check_out_is_folder, check_same_run, load_checkpoint
from .config import ConfigError, TrainConfig
from .data import ImageData
from .method import Method
from .optim import build_optimizer, learning_rate


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the message holds a diagnosis."""


def check_world(config: TrainConfig) -> None:
    """Refuse, before any work, a torchrun launch the run cannot split: a global batch that the
    number of processes does not divide (also when resuming: a checkpoint holds the global batch,
    and resumes on any number of processes that divides it)."""
    _, size = distributed.world()
    if size > 1 and config.batch_size % size:
        divisors = [str(k) for k in range(1, min(config.batch_size, 64) + 1) if config.batch_size % k == 0]
        fits = " or ".join([", ".join(divisors[:-1]), divisors[-1]] if len(divisors) > 1 else divisors)
        resuming = config.out and config.resume and (Path(config.out) / CHECKPOINT_NAME).exists()
        raise ConfigError(f"batch_size={config.batch_size} is the global batch, split over WORLD_SIZE={size} "
                          f"processes, and {size} does not divide it. "
                          + (f"The checkpoint in {config.out} trains with that global batch: resume it on "
                             f"{fits} processes (--nproc_per_node), or pass --no-resume to start over."
                             if resuming else
                             f"Use {fits} processes, or a global batch that is a multiple of {size} (for example "
                             f"{config.batch_size // size * size or size})."))


class Trainer:
    """Owns the model, the optimizer and the step counter; :meth:`run` trains in chunks."""

    def __init__(self, model: Method, data: ImageData, config: TrainConfig):
        check_world(config)
        if len(data.pretrain_x) < config.batch_size:
            raise ConfigError(f"batch_size={config.batch_size} is larger than the {len(data.pretrain_x)} "
                              f"training images of {data.name!r}: lower batch_size")
        self.config, self.data = config, data
        self.device = data.device
        self.is_cuda = self.device.type == "cuda"
        # Under torchrun: one model over every process (cookbook.distributed). Alone: rank 0 of 1.
        if distributed.world()[1] > 1 and not model.distributed_ready:
            raise ConfigError(f"{model.name} cannot train across processes yet: its loss couples the images of a "
                              f"batch and has not been made to see the global batch (cookbook.distributed). Run it "
                              f"as one process (python -m recipes {model.name} ...)")
        self.rank, self.world_size = distributed.start(self.device, config.backend)
        if self.world_size > 1:
            model = distributed.global_batch_norm(model)
            torch.manual_seed(config.seed * 1009 + self.rank)  # each process draws its own views
        self.model = model.to(self.device)
        if config.channels_last and self.device.type in ("cuda", "cpu"):
            # Convolutions run faster on channels_last tensors on GPUs and on CPUs alike (oneDNN's
            # native layout): a 256-image step of the quick small CNN took 53 ms -> 47 ms at 32 px and
            # 23 ms -> 17 ms at 16 px on two cores (benchmarks/step_levers.py).
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
        if config.out:
            check_out_is_folder(config.out)
        self.checkpoint_path = Path(config.out) / CHECKPOINT_NAME if config.out else None
        if self.checkpoint_path and config.resume and self.checkpoint_path.exists():
            self.load(self.checkpoint_path)

    # -- state -------------------------------------------------------------------------
    def state_dict(self) -> dict:
        state = {
            "model": self.model.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scaler": self.scaler.state_dict(), "step": self.step, "history": self.history,
            "config": self.config.to_dict(), "wall_s": self.wall_s,
            "rng_cpu": torch.get_rng_state(), "world_size": self.world_size,
        }
        if self.is_cuda:
            state["rng_cuda"] = torch.cuda.get_rng_state(self.device)
        return state

    def load(self, path: Path) -> None:
        state = load_checkpoint(path, self.device)
        check_same_run(path, state.get("config", {}), self.config.to_dict())
        self.model.load_state_dict(state["model"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.scaler.load_state_dict(state["scaler"])
        self.step, self.history = state["step"], list(state["history"])
        self.elapsed_before = state.get("wall_s", 0.0)
        torch.set_rng_state(state["rng_cpu"].cpu())
        saved_world = state.get("world_size", 1)
        if saved_world != self.world_size and self.rank == 0:
            print(f"resuming a run of {saved_world} process(es) on {self.world_size}: the same global batch, "
                  f"split {self.config.batch_size // self.world_size} images per process", file=sys.stderr)
        if self.world_size > 1:  # rank 0's generator was saved: each process draws its own views again
            torch.manual_seed(self.config.seed * 1009 + self.rank + 7919 * self.step)
        if self.is_cuda and "rng_cuda" in state:
            torch.cuda.set_rng_state(state["rng_cuda"].cpu(), self.device)

    def save(self) -> None:
        if self.checkpoint_path is not None and self.rank == 0:  # the copies are identical: one writes
            atomic_save(self.state_dict(), self.checkpoint_path)

    @property
    def wall_s(self) -> float:
        return self.elapsed_before + time.perf_counter() - self.started

    # -- one step ----------------------------------------------------------------------
    def batch_indices(self, step: int) -> torch.Tensor:
        """The images of ``step``: a slice of the permutation of its epoch (drop_last semantics)."""
        n, batch = len(self.data.pretrain_x), self.config.batch_size
        epoch, position = divmod(step, n // batch)
        order = torch.randperm(n, generator=torch.Generator().manual_seed(self.config.seed * 100_003 + epoch))
        indices = order[position * batch:(position + 1) * batch]
        if self.world_size > 1:  # this process's slice of the global batch: no image on two processes
            indices = indices.chunk(self.world_size)[self.rank]
        return indices

    def train_step(self) -> dict[str, torch.Tensor]:
        if self.world_size == 1:
            return self._train_step()
        try:
            return self._train_step()
        except RuntimeError as error:
            if distributed.is_peer_failure(error):  # a collective whose peer died: say so, do not hang
                raise distributed.PeerLost(self.rank, self.world_size, self.step, error) from None
            raise

    def _train_step(self) -> dict[str, torch.Tensor]:
        lr = learning_rate(self.step, self.config)
        for group in self.optimizer.param_groups:
            group["lr"] = lr * group.get("lr_scale", 1.0)
        indices = self.batch_indices(self.step).to(self.device)
        with torch.autocast(self.device.type, dtype=self.amp_dtype, enabled=self.amp_dtype is not None):
            outputs = self.model(self.data.pretrain_x[indices], indices)
        self.optimizer.zero_grad(set_to_none=True)
        self.scaler.scale(outputs["loss"]).backward()
        distributed.average_gradients(self.model)
        self.scaler.step(self.optimizer)
        self.scaler.update()
        self.step += 1
        self.model.after_step(self.step, self.config.steps)
        logged = distributed.mean_over_processes({k: v.detach().float() for k, v in outputs.items()})
        return logged | {"lr": torch.tensor(lr)}

    # -- the loop ----------------------------------------------------------------------
    def evaluate(self) -> dict[str, float]:
        """kNN accuracy of the backbone features (memory bank: ``eval_bank`` images) and their RankMe."""
        c = self.config
        return evaluate.knn_and_rankme(self.model.backbone, self.data, c.eval_bank, c.knn_k, c.knn_temperature)

    def _due(self, step: int, every: int) -> bool:
        return bool(every) and step % every == 0

    def next_stop(self, target: int) -> int:
        """The first step after the current one at which a record is due (log, evaluation,
        checkpoint, the end of the run), capped at ``target``."""
        c = self.config
        periods = [c.log_every] + [p for p in (c.eval_every, c.checkpoint_every if self.checkpoint_path else 0) if p]
        return min([target, c.steps] + [(self.step // p + 1) * p for p in periods])

    def run(self, steps: int | None = None) -> Iterator[dict[str, float]]:
        """Train until ``steps`` (default ``config.steps``), yielding a record at every stop.

        Evaluation records (with ``knn_acc`` and ``rankme``) come at step 0, every
        ``eval_every`` steps and at the end. The generator may be abandoned at any yield and
        :meth:`run` called again later: the state lives in the trainer.
        """
        c = self.config
        target = min(c.steps if steps is None else steps, c.steps)
        self.model.train()
        if self.step == 0 and c.eval_every and not self.history:
            self.history.append({"step": 0, **self.evaluate()})
            yield self.history[-1]
        bar = None
        if c.progress and self.step < target and self.rank == 0:  # one bar, not one per process
            from tqdm.auto import tqdm
            bar = tqdm(total=target, initial=self.step, desc=self.model.name, unit="step", dynamic_ncols=True)
        try:
            while self.step < target:
                record = self.train_until(self.next_stop(target))
                at_end = self.step == c.steps
                if at_end or self._due(self.step, c.eval_every):
                    record.update(self.evaluate())
                self.history.append(record)
                if at_end or self._due(self.step, c.checkpoint_every):
                    self.save()
                if bar is not None:
                    bar.update(self.step - bar.n)
                    bar.set_postfix({k: f"{record[k]:.3g}" for k in ("loss", "knn_acc") if k in record})
                yield record
        except KeyboardInterrupt:
            self.save()  # nothing is lost: the next run with resume=True continues from here
            raise
        finally:
            if bar is not None:
                bar.close()

    def train_until(self, stop: int) -> dict[str, float]:
        """Train to step ``stop``; the record of the chunk: its outputs averaged over its steps.
        The values stay on the device until the end of the chunk: one synchronisation per chunk."""
        first, sums = self.step + 1, {}
        while self.step < stop:
            for k, v in self.train_step().items():
                sums[k] = sums.get(k, 0) + v.to(self.device)
        record = {"step": self.step, **{k: (v / (self.step - first + 1)).item() for k, v in sums.items()}}
        if not torch.isfinite(torch.tensor(record["loss"])):
            raise self._diagnose(record, first)
        return record

    def _diagnose(self, record: dict, first_bad: int) -> TrainingDiverged:
        c = self.config
        last_good = next((r["loss"] for r in reversed(self.history) if "loss" in r), None)
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
