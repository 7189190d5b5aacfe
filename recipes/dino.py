"""DINO: a student network learns to output the same distribution as its own slowly moving teacher.

A student (backbone + head) and its teacher (an exponential moving average, no gradients) turn an
image into a distribution over ``K`` "prototypes". The teacher sees the two large (global) crops;
the student sees those and small (local) ones, and matches the teacher on a *different* crop of the
same image. Against collapse, *centering* subtracts a running mean of the teacher's logits (no
prototype wins every image) and *sharpening* uses a low temperature (no uniform output).

Caron et al., "Emerging Properties in Self-Supervised Vision Transformers", ICCV 2021
(arXiv:2104.14294). Cookbook section 2.3 (self-distillation); multi-crop in section 3.1.

With ``g_t`` the teacher's logits for global crop ``t``, ``s_v`` the student's for crop ``v``,
``c`` the centre, ``tau_t < tau_s`` the temperatures and ``m`` the momenta::

    P_t(x) = softmax((g_t(x) - c) / tau_t),   P_s(x) = softmax(s_v(x) / tau_s)
    loss   = mean over pairs (t, v) with v != t of  - sum_k P_t,k log P_s,k      (and over the batch)
    c     <- m_c c + (1 - m_c) mean over the batch and global crops of g_t(x)
    teacher <- m teacher + (1 - m) student,   m from `momentum` to 1 along a cosine
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed, evaluate, models
from cookbook.augment import check_multi_crop, multi_crop
from cookbook.config import BatchScaledLR, TrainConfig, current_budget, need
from cookbook.ema import check_momentum_schedule, ema_update, momentum_at
from cookbook.method import Method
from cookbook.models import PrototypeHead
from cookbook.optim import linear_ramp


@dataclass
class Config(TrainConfig):
    out_dim: int = 256              # K: prototypes the distributions spread over (65536 in the paper)
    proj_hidden_dim: int = 512      # width of the head MLP's hidden layers
    proj_dim: int = 128             # bottleneck: the MLP's output, L2-normalised before the prototypes
    proj_depth: int = 3             # linear layers in the head MLP
    student_temp: float = 0.1       # tau_s of the student's softmax
    teacher_temp: float = 0.04      # tau_t after the warmup: lower than tau_s, so the teacher's targets are sharper
    warmup_teacher_temp: float = 0.04  # tau_t at step 0, raised linearly to teacher_temp
    warmup_teacher_temp_steps: int = 0  # steps of that linear warmup (0: teacher_temp from the start)
    centering: bool = True          # subtract a running mean of the teacher's logits (False: collapse to one prototype)
    center_momentum: float = 0.9    # m_c: EMA rate of the centre
    momentum: float = 0.996         # teacher EMA momentum at step 0, raised to 1 along a cosine
    momentum_schedule: str = "cosine"  # cosine: from `momentum` to 1 over the run | constant: `momentum` throughout
    freeze_prototypes_steps: int = 100  # steps during which the prototypes (last layer) get no updates (0: none)
    n_local_crops: int = 2          # small crops per image, seen by the student only (0: global crops only)
    local_size: int = 16            # side in pixels of the local crops
    local_min_scale: float = 0.05   # smallest local crop area, as a fraction of the image
    local_max_scale: float = 0.4    # largest local crop area (the global crops use augment.crop_min_scale to 1)

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"warmup_teacher_temp_steps", "freeze_prototypes_steps", "n_local_crops"}

    BUDGETS = {
        # A faster teacher, a higher lr, a longer run: benchmarks/results/tuning/dino.md and quick-own-data.md.
        "quick": {"lr": 1.6e-2, "momentum": 0.98, "steps": 900, "warmup_steps": 75, "eval_every": 300,
                  "checkpoint_every": 300},
        # No CIFAR model in the paper: solo-learn's CIFAR-10 DINO (LARS lr 0.3 x batch/256, weight decay 1e-6, hidden
        # 2048, 4096 prototypes, momentum 0.9995), with the paper's tau_t warmup 0.04 -> 0.07 over ~3000 steps.
        "cuda": {"optimizer": "lars", "lr": BatchScaledLR(0.3), "weight_decay": 1e-6,
                 "proj_hidden_dim": 2048, "proj_dim": 256, "out_dim": 4096, "momentum": 0.9995,
                 "teacher_temp": 0.07, "warmup_teacher_temp_steps": 3000, "n_local_crops": 6},
        # A chapter's 2000 steps cannot hold the 3000-step teacher warmup: a quarter of the run instead.
        "chapter": {"warmup_teacher_temp_steps": 500},
    }
    # The toy shapes' quick settings end below the untrained network on the digits (60-62% against 88-93%,
    # three seeds); a slower student under a slower teacher, without local crops, beats it on all three:
    # chosen by benchmarks/tune_settings.py, benchmarks/results/tuning/dino-digits.md.
    QUICK_ON = {"digits": {"lr": 4e-3, "momentum": 0.996, "n_local_crops": 0}}

    @classmethod
    def for_budget(cls, budget: str | None = None, **overrides):
        """The quick budget on a dataset with its own tuned settings (``QUICK_ON``) takes them; settings
        passed here still win."""
        if (budget or current_budget()) == "quick":
            overrides = {**cls.QUICK_ON.get(overrides.get("dataset"), {}), **overrides}
        return super().for_budget(budget, **overrides)

    def validate(self) -> None:
        super().validate()
        for name in ("student_temp", "teacher_temp", "warmup_teacher_temp"):
            need(getattr(self, name) > 0, f"{name}={getattr(self, name)}: temperatures must be > 0 "
                 "(DINO uses 0.1 for the student, 0.04 to 0.07 for the teacher)")
        need(self.warmup_teacher_temp_steps <= self.steps, f"warmup_teacher_temp_steps="
             f"{self.warmup_teacher_temp_steps} is longer than the run (steps={self.steps}): lower it")
        for name in ("momentum", "center_momentum"):
            need(0.0 <= getattr(self, name) <= 1.0, f"{name}={getattr(self, name)} must be in [0, 1] "
                 "(DINO uses 0.996 for the teacher and 0.9 for the centre)")
        need(not (self.centering and self.center_momentum == 1.0), "center_momentum=1.0 freezes the centre at 0, "
             "which is no centering: use a value below 1 (DINO uses 0.9), or centering=False to switch it off")
        check_momentum_schedule(self.momentum_schedule)
        need(self.out_dim >= 2, f"out_dim={self.out_dim}: the distributions need at least 2 prototypes")
        check_multi_crop(self.n_local_crops, self.local_size, (self.local_min_scale, self.local_max_scale))


def dino_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, center: torch.Tensor,
              student_temp: float = 0.1, teacher_temp: float = 0.04) -> torch.Tensor:
    """DINO's cross-entropy between the centred, sharpened teacher and the student, over pairs of crops.

    ``student_logits``: ``(S, N, K)``, the student's logits for ``S`` crops of ``N`` images;
    ``teacher_logits``: ``(T, N, K)``, the teacher's for ``T <= S`` global crops, which are also the
    student's first ``T`` crops, in the same order; ``center``: ``(K,)`` or ``(1, K)``. Each pair
    ``(t, s)`` with ``s != t`` (two different crops of the same image) contributes::

        H(t, s) = - 1/N sum_n sum_k softmax((teacher_logits[t, n] - center) / teacher_temp)_k
                                    * log_softmax(student_logits[s, n] / student_temp)_k

    and the loss is the mean of ``H`` over the ``T * S - T`` pairs. The teacher side is detached.
    """
    if student_temp <= 0 or teacher_temp <= 0:
        raise ValueError(f"student_temp={student_temp} and teacher_temp={teacher_temp} must both be > 0")
    if student_logits.ndim != 3 or teacher_logits.ndim != 3 or student_logits.shape[1:] != teacher_logits.shape[1:]:
        raise ValueError("student_logits must be (S, N, K) and teacher_logits (T, N, K) with the same N and K; got "
                         f"{tuple(student_logits.shape)} and {tuple(teacher_logits.shape)}")
    n_student, n_teacher, k = len(student_logits), len(teacher_logits), student_logits.shape[-1]
    if n_teacher > n_student or n_student < 2:
        raise ValueError(f"{n_student} student crop(s) and {n_teacher} teacher crop(s): the student sees every "
                         "teacher crop and at least one other, so use S >= T and S >= 2")
    if center.numel() != k:
        raise ValueError(f"center has {center.numel()} entries; it must be (K,) or (1, K) with K={k}")
    targets = F.softmax((teacher_logits.detach().float() - center.reshape(1, 1, k).float()) / teacher_temp, dim=-1)
    log_probs = F.log_softmax(student_logits.float() / student_temp, dim=-1)
    cross_entropy = -torch.einsum("tnk,snk->ts", targets, log_probs) / student_logits.shape[1]  # (T, S)
    other_crop = ~torch.eye(n_teacher, n_student, dtype=torch.bool, device=cross_entropy.device)
    return cross_entropy[other_crop].mean()


class DINO(Method):
    """Student backbone + prototype head, their EMA teacher, the centre and the step (for the temperature
    warmup). ``embed`` is the student's logits: the cosine similarities to the prototypes."""

    name = "dino"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.backbone = models.build_backbone(config.backbone, image_size=data.image_size, mean=data.mean,
                                              std=data.std, width=config.width)
        self.head = PrototypeHead(self.backbone.dim, config.proj_hidden_dim, config.proj_dim, config.out_dim,
                                  config.proj_depth)
        self.teacher = copy.deepcopy(nn.Sequential(self.backbone, self.head)).requires_grad_(False)
        # Buffers, so a checkpoint holds them and a resumed run continues with the same centre and temperature.
        self.register_buffer("center", torch.zeros(1, config.out_dim))
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.backbone(x))

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        global_views, local_views = multi_crop(images, c.augment, 2, c.n_local_crops, c.local_size,
                                               (c.local_min_scale, c.local_max_scale))
        # One backbone pass per resolution, then one head pass over all crops; rows are grouped crop by crop.
        features = [self.backbone(torch.cat(views)) for views in (global_views, local_views) if views]
        done = int(self.steps_done)
        student = self.head(torch.cat(features), done < c.freeze_prototypes_steps).view(-1, len(images), c.out_dim)
        with torch.no_grad():
            teacher = self.teacher(torch.cat(global_views)).view(len(global_views), len(images), c.out_dim)
        # Under torchrun, every process's outputs: the loss and the centre are the global batch's.
        student, teacher = distributed.gather(student, dim=1), distributed.gather(teacher, dim=1)
        temperature = linear_ramp(done, c.warmup_teacher_temp_steps, c.warmup_teacher_temp, c.teacher_temp)
        center = self.center if c.centering else torch.zeros_like(self.center)
        loss = dino_loss(student, teacher, center, c.student_temp, temperature)
        with torch.no_grad():
            targets = F.softmax((teacher.float() - center) / temperature, dim=-1)
            if c.centering:
                self.center.lerp_(teacher.float().mean(dim=(0, 1)).unsqueeze(0), 1 - c.center_momentum)
        # In nats: near 0 per image with the batch's average near log K is healthy; both near 0 or log K is collapse.
        batch_average = targets.mean(dim=(0, 1))
        return {"loss": loss, "teacher_entropy": evaluate.entropy(targets).mean(),
                "teacher_batch_entropy": evaluate.entropy(batch_average), "teacher_temp": torch.tensor(temperature)}

    def after_step(self, step: int, total_steps: int) -> None:
        self.steps_done.fill_(step)
        momentum = momentum_at(step, total_steps, self.config.momentum, self.config.momentum_schedule)
        ema_update(self.teacher, nn.Sequential(self.backbone, self.head), momentum)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"teacher_temp": (0.01, 0.2, 0.01), "center_momentum": (0.0, 0.99, 0.01),
                "momentum": (0.9, 1.0, 0.001), "n_local_crops": (0, 6, 1), "centering": bool}

build_model, train, main = cli.entry_points(DINO)

if __name__ == "__main__":
    raise SystemExit(main())
