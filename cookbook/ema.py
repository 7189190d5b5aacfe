"""Exponential moving averages: the slow target networks of BYOL, MoCo, DINO and I-JEPA."""
from __future__ import annotations

import math

import torch
from torch import nn

from . import ConfigError


@torch.no_grad()
def ema_update(target: nn.Module, online: nn.Module, momentum: float) -> None:
    """``target <- momentum * target + (1 - momentum) * online``, parameters and buffers alike.

    ``momentum=0`` copies the online network (BYOL's collapse switch), ``momentum=1`` freezes
    the target.
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


MOMENTUM_SCHEDULES = ("cosine", "constant")


def check_momentum_schedule(schedule: str) -> None:
    """Raise ConfigError for a schedule :func:`momentum_at` does not know (a recipe's ``Config.validate``)."""
    if schedule not in MOMENTUM_SCHEDULES:
        raise ConfigError(f"momentum_schedule={schedule!r}: choose one of {', '.join(MOMENTUM_SCHEDULES)}")


def momentum_at(step: int, total_steps: int, base: float, schedule: str = "cosine") -> float:
    """The EMA momentum after ``step`` of ``total_steps``: ``base`` throughout (``"constant"``, MoCo's
    choice) or :func:`cosine_momentum` from ``base`` to 1 (``"cosine"``, BYOL's and DINO's)."""
    if schedule == "constant":
        return base
    if schedule == "cosine":
        return cosine_momentum(step, total_steps, base)
    raise ValueError(f"momentum schedule {schedule!r}: choose one of {', '.join(MOMENTUM_SCHEDULES)}")


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
