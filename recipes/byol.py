"""BYOL: predict a slowly moving target network's embedding of the other view.

An online network (backbone, projector, predictor) sees one view and predicts the target
network's projection of the other view. The target is not trained by gradients: after each
step its weights move a little towards the online weights (an exponential moving average,
EMA). There are no negatives; the predictor and the slow, gradient-free target keep the two
branches from agreeing on a constant.

Grill, Strub, Altché, Tallec, Richemond, Buchatskaya, Doersch, Avila Pires, Guo, Gheshlaghi
Azar, Piot, Kavukcuoglu, Munos and Valko, "Bootstrap Your Own Latent: A New Approach to
Self-Supervised Learning", NeurIPS 2020 (arXiv:2006.07733). Cookbook section 2.3
(self-distillation).

With ``p_k`` the online prediction for view ``k``, ``z'_k`` the target's projection of it,
``sg`` the stop-gradient and ``m`` the momentum at step ``t`` of ``T``::

    byol_loss(p, z') = 2 - 2 cos(p, sg(z'))                 (averaged over the batch)
    loss             = [byol_loss(p1, z'2) + byol_loss(p2, z'1)] / 2
    target          <- m * target + (1 - m) * online,   m = 1 - (1 - momentum) (cos(pi t / T) + 1) / 2
                                                    (momentum 0: m = 0 throughout, the target is a copy)
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed, evaluate, models
from cookbook.augment import views
from cookbook.config import BatchScaledLR, TrainConfig, need
from cookbook.ema import check_momentum_schedule, ema_update, momentum_at
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    momentum: float = 0.99          # the target's EMA momentum at step 0, raised to 1 along a cosine (0: a copy)
    momentum_schedule: str = "cosine"  # cosine: from `momentum` to 1 over the run | constant: `momentum` throughout
    proj_hidden_dim: int = 512      # width of the projector's hidden layer
    proj_dim: int = 128             # dimension of the projections and predictions
    proj_depth: int = 2             # linear layers in the projector
    pred_hidden_dim: int = 512      # width of the predictor's hidden layer
    pred_lr_scale: float = 1.0      # the predictor's learning rate as a multiple of the encoder's (as in SimSiam)
    predictor: bool = True          # False: no predictor (p = z), the online projection must match the target's
    stop_gradient: bool = True      # False: no target network; the online network is its own target, with gradients

    BUDGETS = {
        # BYOL is slow to start: a faster target and twice the steps (benchmarks/results/tuning/byol.md).
        "quick": {"lr": 2e-3, "momentum": 0.98, "steps": 1200, "warmup_steps": 100, "eval_every": 400,
                  "checkpoint_every": 400},
        # BYOL's setting (Grill et al., 2020, section 3.2 and appendix J): LARS with lr 0.2 x batch/256, weight
        # decay 1.5e-6, base momentum 0.996, 4096-wide hidden layers and 256-d projections.
        "cuda": {"optimizer": "lars", "lr": BatchScaledLR(0.2), "weight_decay": 1.5e-6, "momentum": 0.996,
                 "proj_hidden_dim": 4096, "proj_dim": 256, "pred_hidden_dim": 4096},
    }

    def validate(self) -> None:
        super().validate()
        need(0.0 <= self.momentum <= 1.0, f"momentum={self.momentum}: the EMA momentum must be in [0, 1] "
             "(0.99 to 0.996 is usual; 0 copies the online network every step)")
        check_momentum_schedule(self.momentum_schedule)
        need(self.pred_lr_scale > 0, f"pred_lr_scale={self.pred_lr_scale}: the predictor's learning rate multiple must "
             "be > 0 (1: the encoder's; SimSiam found 10 or a fixed lr works)")


def byol_loss(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """BYOL's regression loss ``2 - 2 cos(p, z)``, averaged over the batch: a scalar in ``[0, 4]``.

    ``p``: ``(N, D)`` online predictions for one view; ``z``: ``(N, D)`` target projections of
    the other view (row ``i`` of each is the same image). It equals the squared distance between
    the L2-normalised ``p`` and ``z`` (Grill et al., 2020, equation 2). The caller detaches ``z``.
    """
    if p.shape != z.shape or p.ndim != 2:
        raise ValueError(f"p and z must both be (N, D); got {tuple(p.shape)} and {tuple(z.shape)}")
    if len(p) == 0:
        raise ValueError("an empty batch has no loss to average: pass at least one pair")
    return (2 - 2 * F.cosine_similarity(p.float(), z.float(), dim=1)).mean()


class BYOL(TwoViewMethod):
    """Online backbone + projector + predictor, and the target: an EMA copy of backbone + projector."""

    name = "byol"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.predictor = (models.predictor(config.proj_dim, config.pred_hidden_dim)
                          if config.predictor else nn.Identity())
        self.target = copy.deepcopy(nn.Sequential(self.backbone, self.projector)).requires_grad_(False)
        self.lr_scales = {"predictor": config.pred_lr_scale}  # read by cookbook.optim.build_optimizer

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        both = torch.cat(views(images, 2, self.config.augment))
        z = self.embed(both)
        p1, p2 = self.predictor(z).chunk(2)
        if self.config.stop_gradient:
            with torch.no_grad():
                z = self.target(both)
        z1, z2 = z.chunk(2)
        # Under torchrun, every process's predictions and targets: the loss is the global batch's mean.
        p1, p2, z1, z2 = (distributed.gather(t) for t in (p1, p2, z1, z2))
        loss = (byol_loss(p1, z2) + byol_loss(p2, z1)) / 2
        # Near 1/sqrt(proj_dim) while the target embeddings are spread out, 0 once they collapse.
        return {"loss": loss, "z_std": evaluate.feature_std(torch.cat([z1, z2])).mean()}

    def after_step(self, step: int, total_steps: int) -> None:
        momentum = momentum_at(step, total_steps, self.config.momentum, self.config.momentum_schedule)
        ema_update(self.target, nn.Sequential(self.backbone, self.projector), momentum)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"momentum": (0.0, 1.0, 0.01), "predictor": bool, "stop_gradient": bool}

build_model, train, main = cli.entry_points(BYOL)

if __name__ == "__main__":
    raise SystemExit(main())
