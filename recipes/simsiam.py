"""SimSiam: predict one view's embedding from the other's, and never let the gradient reach the target.

Two views of an image go through the same backbone and projector. A small predictor MLP maps
one view's projection onto the other's, and the loss is their negative cosine similarity.
The other view's projection is treated as a constant (stop-gradient): there are no negatives,
no momentum encoder and no large batch, yet the embeddings do not collapse. Without the
stop-gradient, or without the predictor, they do (Chen & He, 2021, figure 2 and table 1).

Chen and He, "Exploring Simple Siamese Representation Learning", CVPR 2021 (arXiv:2011.10566).
Cookbook section 2.3 (self-distillation).

With ``z_k`` the projection of view ``k``, ``p_k`` its prediction and ``sg`` the stop-gradient::

    D(p, z) = - cos(p, sg(z))                  (averaged over the batch)
    loss    = [D(p1, z2) + D(p2, z1)] / 2
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import evaluate, models, train as training

NAME = "simsiam"


@dataclass
class Config(training.TrainConfig):
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 512             # dimension of the projections z (the projector ends in BatchNorm)
    proj_depth: int = 2             # linear layers in the projector (2 on CIFAR, 3 on ImageNet)
    pred_hidden_dim: int = 128      # width of the predictor's hidden layer: a bottleneck, proj_dim / 4
    predictor: bool = True          # False: no predictor (p = z), and SimSiam collapses
    stop_gradient: bool = True      # False: gradients flow through the target branch too, and SimSiam collapses

    BUDGETS = {
        "quick": {**training.TrainConfig.BUDGETS["quick"], "lr": 4e-3},
        "cpu": training.TrainConfig.BUDGETS["cpu"],
        # SimSiam's CIFAR-10 setting (Chen & He, 2021, appendix D): SGD, lr 0.03 x batch/256, weight decay
        # 5e-4, a 2-layer 2048-wide projector and a 512-wide predictor bottleneck.
        "cuda": {**training.TrainConfig.BUDGETS["cuda"], "optimizer": "sgd", "lr": 0.06, "weight_decay": 5e-4,
                 "proj_hidden_dim": 2048, "proj_dim": 2048, "pred_hidden_dim": 512},
    }

    def validate(self) -> None:
        super().validate()
        if self.pred_hidden_dim < 1:
            raise training.ConfigError(f"pred_hidden_dim={self.pred_hidden_dim} must be >= 1 "
                                       f"(SimSiam uses a bottleneck of proj_dim / 4 = {self.proj_dim // 4})")


def negative_cosine(p: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
    """SimSiam's ``D(p, z) = - cos(p, z)``, averaged over the batch: a scalar in ``[-1, 1]``.

    ``p``: ``(N, D)`` predictions from one view; ``z``: ``(N, D)`` projections of the other view
    (row ``i`` of each is the same image). The caller detaches ``z`` (the stop-gradient);
    this function only measures. Chen & He, 2021, equation 1.
    """
    if p.shape != z.shape or p.ndim != 2:
        raise ValueError(f"p and z must both be (N, D); got {tuple(p.shape)} and {tuple(z.shape)}")
    if len(p) == 0:
        raise ValueError("an empty batch has no cosine to average: pass at least one pair")
    return -F.cosine_similarity(p.float(), z.float(), dim=1).mean()


class SimSiam(models.TwoViewEncoder):
    """Backbone + projector (ending in BatchNorm) + predictor; one network for both views."""

    name = NAME

    def __init__(self, config: Config, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__(config, image_size, mean, std)
        # SimSiam's projector normalises its output with an affine-free BatchNorm.
        self.projector = models.projector(self.backbone.dim, config.proj_hidden_dim, config.proj_dim,
                                          config.proj_depth, last_batch_norm=True)
        self.predictor = (models.predictor(config.proj_dim, config.pred_hidden_dim)
                          if config.predictor else nn.Identity())

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        if self.config.stop_gradient:
            z1, z2 = z1.detach(), z2.detach()
        loss = (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2
        # The collapse diagnostic of the paper's figure 2: near 1/sqrt(proj_dim) when healthy, 0 when collapsed.
        return {"loss": loss, "z_std": evaluate.feature_std(z1).mean()}


def build_model(config: Config, data) -> SimSiam:
    return SimSiam(config, data.image_size, data.mean, data.std)


def train(config: Config | None = None) -> dict:
    """Train SimSiam and return its metrics (see :func:`cookbook.train.run_recipe`)."""
    config = config or Config.for_budget()
    return training.run_recipe(config, lambda data: build_model(config, data), name=NAME)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"pred_hidden_dim": (8, 512, 8), "proj_dim": (32, 1024, 32), "predictor": bool,
                "stop_gradient": bool}


if __name__ == "__main__":
    import sys

    from cookbook import cli

    sys.exit(cli.main(sys.modules[__name__], prog="python -m recipes.simsiam"))
