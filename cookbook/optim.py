"""Optimizers and the learning-rate schedule.

Weight decay (and LARS adaptation) applies to weight matrices and kernels only, not to biases
and norms. The schedule is a linear warmup then a cosine decay, computed from the step alone,
so a resumed run needs no scheduler state.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .config import TrainConfig


def learning_rate(step: int, config: TrainConfig) -> float:
    """Linear warmup to ``config.lr`` over ``warmup_steps``, then cosine decay to 0 at ``steps``."""
    if step < config.warmup_steps:
        return config.lr * (step + 1) / config.warmup_steps
    progress = (step - config.warmup_steps) / max(1, config.steps - config.warmup_steps)
    return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def linear_ramp(step: int, ramp_steps: int, start: float, end: float) -> float:
    """``start`` at step 0, linearly to ``end`` at ``ramp_steps``, then ``end`` (DINO's teacher
    temperature warmup: too sharp a teacher early on makes the start unstable, Caron et al., 2021)."""
    if step >= ramp_steps:
        return end
    return start + step / ramp_steps * (end - start)


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


def build_optimizer(model: nn.Module, config: TrainConfig) -> torch.optim.Optimizer:
    """``config.optimizer`` over the trainable parameters, with weight decay on matrices and kernels only.

    A model may give some submodules their own learning rate as a multiple of the schedule's:
    ``model.lr_scales = {"predictor": 10.0}`` (SimSiam's and BYOL's predictor ablations). Each group
    keeps its ``lr_scale``; :class:`cookbook.train.Trainer` sets ``lr = lr_scale * learning_rate(step)``.
    """
    scales = getattr(model, "lr_scales", {})
    scaled = {id(p): scale for name, scale in scales.items() for p in getattr(model, name).parameters()}
    groups = []
    for scale in sorted({1.0, *scales.values()}):
        mine = [p for p in model.parameters() if p.requires_grad and scaled.get(id(p), 1.0) == scale]
        decay, no_decay = [p for p in mine if p.ndim > 1], [p for p in mine if p.ndim <= 1]
        if config.optimizer == "lars":
            pair = [{"params": decay}, {"params": no_decay, "weight_decay": 0.0, "lars": False}]
        else:
            pair = [{"params": decay, "weight_decay": config.weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
        groups += [{**group, "lr_scale": scale} for group in pair if group["params"] or scale == 1.0]
    if config.optimizer == "adamw":
        return torch.optim.AdamW(groups, lr=config.lr)
    if config.optimizer == "sgd":
        return torch.optim.SGD(groups, lr=config.lr, momentum=0.9)
    return LARS(groups, lr=config.lr, weight_decay=config.weight_decay)
