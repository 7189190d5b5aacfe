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

from cookbook import evaluate, models, train as training
from cookbook.augment import views

NAME = "byol"


@dataclass
class Config(training.TrainConfig):
    momentum: float = 0.99          # EMA momentum of the target at step 0, raised to 1 along a cosine (0: a copy every step)
    proj_hidden_dim: int = 512      # width of the projector's hidden layer
    proj_dim: int = 128             # dimension of the projections and predictions
    proj_depth: int = 2             # linear layers in the projector
    pred_hidden_dim: int = 512      # width of the predictor's hidden layer
    predictor: bool = True          # False: no predictor (p = z), the online projection must match the target's
    stop_gradient: bool = True      # False: no target network; the online network is its own target, with gradients

    BUDGETS = {
        # Quick-run kNN on the toy shapes (seed 0, random init 0.133): 600 steps reach 0.179 with momentum 0.99,
        # 0.226 with 0.98, 0.232 with 0.95, 0.191 with 0.9 and 0.174 with no EMA; lr 2e-3 or 8e-3, batch 256 and
        # smaller crops did not help. BYOL is slow to start: 1200 steps with momentum 0.98 reach 0.275.
        "quick": {**training.TrainConfig.BUDGETS["quick"], "lr": 4e-3, "momentum": 0.98, "steps": 1200,
                  "warmup_steps": 100, "eval_every": 400, "checkpoint_every": 400},
        "cpu": training.TrainConfig.BUDGETS["cpu"],
        # BYOL's setting (Grill et al., 2020, section 3.2 and appendix J): LARS with lr 0.2 x batch/256, weight
        # decay 1.5e-6, base momentum 0.996, 4096-wide hidden layers and 256-d projections.
        "cuda": {**training.TrainConfig.BUDGETS["cuda"], "optimizer": "lars", "lr": 0.4, "weight_decay": 1.5e-6,
                 "momentum": 0.996, "proj_hidden_dim": 4096, "proj_dim": 256, "pred_hidden_dim": 4096},
    }

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.momentum <= 1.0:
            raise training.ConfigError(f"momentum={self.momentum}: the EMA momentum must be in [0, 1] "
                                       "(0.99 to 0.996 is usual; 0 copies the online network every step)")
        if self.pred_hidden_dim < 1:
            raise training.ConfigError(f"pred_hidden_dim={self.pred_hidden_dim} must be >= 1")


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


class BYOL(models.TwoViewEncoder):
    """Online backbone + projector + predictor, and the target: an EMA copy of backbone + projector."""

    name = NAME

    def __init__(self, config: Config, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__(config, image_size, mean, std)
        self.predictor = (models.predictor(config.proj_dim, config.pred_hidden_dim)
                          if config.predictor else nn.Identity())
        self.target = copy.deepcopy(nn.Sequential(self.backbone, self.projector)).requires_grad_(False)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        both = torch.cat(views(images, 2, self.config.augment))
        z = self.projector(self.backbone(both))
        p1, p2 = self.predictor(z).chunk(2)
        if self.config.stop_gradient:
            with torch.no_grad():
                z = self.target(both)
        z1, z2 = z.chunk(2)
        loss = (byol_loss(p1, z2) + byol_loss(p2, z1)) / 2
        # Near 1/sqrt(proj_dim) while the target embeddings are spread out, 0 once they collapse.
        return {"loss": loss, "z_std": evaluate.feature_std(z).mean()}

    def after_step(self, step: int, total_steps: int) -> None:
        momentum = training.cosine_momentum(step, total_steps, self.config.momentum)
        training.ema_update(self.target, nn.Sequential(self.backbone, self.projector), momentum)


def build_model(config: Config, data) -> BYOL:
    return BYOL(config, data.image_size, data.mean, data.std)


def train(config: Config | None = None) -> dict:
    """Train BYOL and return its metrics (see :func:`cookbook.train.run_recipe`)."""
    config = config or Config.for_budget()
    return training.run_recipe(config, lambda data: build_model(config, data), name=NAME)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"momentum": (0.0, 1.0, 0.01), "predictor": bool, "stop_gradient": bool}


if __name__ == "__main__":
    import sys

    from cookbook import cli

    sys.exit(cli.main(sys.modules[__name__], prog="python -m recipes.byol"))
