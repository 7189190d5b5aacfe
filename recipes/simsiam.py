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

from cookbook import cli, distributed, evaluate, models
from cookbook.config import BatchScaledLR, TrainConfig
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 512             # dimension of the projections z (the projector ends in BatchNorm)
    proj_depth: int = 2             # linear layers in the projector (2 on CIFAR, 3 on ImageNet)
    pred_hidden_dim: int = 128      # width of the predictor's hidden layer: a bottleneck, proj_dim / 4
    predictor: bool = True          # False: no predictor (p = z), and SimSiam collapses
    stop_gradient: bool = True      # False: gradients flow through the target branch too, and SimSiam collapses

    BUDGETS = {
        "quick": {"lr": 2e-3},
        # SimSiam's CIFAR-10 setting (Chen & He, 2021, appendix D): SGD, lr 0.03 x batch/256, weight decay
        # 5e-4, a 2-layer 2048-wide projector and a 512-wide predictor bottleneck.
        "cuda": {"optimizer": "sgd", "lr": BatchScaledLR(0.03), "weight_decay": 5e-4,
                 "proj_hidden_dim": 2048, "proj_dim": 2048, "pred_hidden_dim": 512},
    }


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


class SimSiam(TwoViewMethod):
    """Backbone + projector (ending in BatchNorm) + predictor; one network for both views.
    ``embed`` is the projection ``z``, the predictor's input and the stop-gradient target."""

    name = "simsiam"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        # SimSiam's projector normalises its output with an affine-free BatchNorm. (It replaces the one
        # TwoViewMethod built, after it: the random draws, and so the initial weights, stay as they were.)
        self.projector = models.projector(self.backbone.dim, config.proj_hidden_dim, config.proj_dim,
                                          config.proj_depth, last_batch_norm=True)
        self.predictor = (models.predictor(config.proj_dim, config.pred_hidden_dim)
                          if config.predictor else nn.Identity())

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        # Under torchrun, every process's predictions and targets: the loss and z_std are the global batch's.
        p1, p2, z1, z2 = (distributed.gather(t) for t in (p1, p2, z1, z2))
        if self.config.stop_gradient:
            z1, z2 = z1.detach(), z2.detach()
        loss = (negative_cosine(p1, z2) + negative_cosine(p2, z1)) / 2
        # The collapse diagnostic of the paper's figure 2: near 1/sqrt(proj_dim) when healthy, 0 when collapsed.
        return {"loss": loss, "z_std": evaluate.feature_std(z1).mean()}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"pred_hidden_dim": (8, 512, 8), "proj_dim": (32, 1024, 32), "predictor": bool,
                "stop_gradient": bool}

build_model, train, main = cli.entry_points(SimSiam)

if __name__ == "__main__":
    raise SystemExit(main())
