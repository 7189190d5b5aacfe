"""Barlow Twins: make the cross-correlation matrix of two views' embeddings the identity.

Each embedding dimension is standardised over the batch; the ``D x D`` cross-correlation
between the two views should then have ones on its diagonal (the views agree, dimension by
dimension) and zeros elsewhere (different dimensions carry different information). The
off-diagonal part is what prevents dimensional collapse; there are no negatives and no
momentum encoder.

Zbontar, Jing, Misra, LeCun and Deny, "Barlow Twins: Self-Supervised Learning via Redundancy
Reduction", ICML 2021 (arXiv:2103.03230). Cookbook section 2.4.

With ``C_ij = 1/N sum_b zn1_bi zn2_bj`` for embeddings standardised over the batch::

    loss = sum_i (1 - C_ii)^2 + lambda sum_i sum_{j != i} C_ij^2
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from cookbook import cli, distributed
from cookbook.config import TrainConfig, need
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    lambd: float = 5e-3             # weight of the off-diagonal (redundancy) term; 0 allows dimensional collapse
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 512             # dimension of the embeddings the loss sees
    proj_depth: int = 3             # linear layers in the projector

    BUDGETS = {
        "quick": {"lr": 2e-3},
        # The paper's ImageNet recipe uses LARS and an 8192-wide projector; 2048 is the usual CIFAR size.
        "cuda": {"optimizer": "lars", "lr": 0.3, "weight_decay": 1.5e-6, "proj_hidden_dim": 2048, "proj_dim": 2048},
    }

    def validate(self) -> None:
        super().validate()
        need(self.lambd >= 0, f"lambd={self.lambd} must be >= 0 (the paper uses 5e-3)")


def standardize(z: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Each column of ``(N, D)`` to mean 0 and (biased) variance 1, like an affine-free BatchNorm."""
    return (z - z.mean(dim=0)) / torch.sqrt(z.var(dim=0, unbiased=False) + eps)


def barlow_twins_loss(z1: torch.Tensor, z2: torch.Tensor, lambd: float = 5e-3) -> torch.Tensor:
    """The Barlow Twins loss of two ``(N, D)`` embedding batches (row ``i`` of each is the same image):
    ``sum_i (1 - C_ii)^2 + lambd * sum_{i != j} C_ij^2``, with ``C`` the ``(D, D)`` cross-correlation
    of the batch-standardised embeddings. Returns a scalar."""
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    if len(z1) < 2:
        raise ValueError("Barlow Twins standardises each dimension over the batch: use at least 2 images per batch")
    c = standardize(z1.float()).T @ standardize(z2.float()) / len(z1)
    on_diagonal = (1 - c.diagonal()).pow(2).sum()
    off_diagonal = c.pow(2).sum() - c.diagonal().pow(2).sum()
    return on_diagonal + lambd * off_diagonal


class BarlowTwins(TwoViewMethod):
    """Backbone + projector; ``forward`` makes two views of a batch and returns the loss."""

    name = "barlow_twins"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        # Under torchrun, every process's embeddings: the cross-correlation is the global batch's.
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
        return {"loss": barlow_twins_loss(z1, z2, self.config.lambd)}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"lambd": (0.0, 0.05, 0.001)}

build_model, train, main = cli.entry_points(BarlowTwins)

if __name__ == "__main__":
    raise SystemExit(main())
