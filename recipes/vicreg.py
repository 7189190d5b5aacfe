"""VICReg: two views agree, every embedding dimension keeps its spread, and dimensions decorrelate.

No negatives and no momentum encoder: collapse is prevented by the loss alone. The variance
term keeps the standard deviation of every embedding dimension above 1 over the batch (no
complete collapse); the covariance term pushes the off-diagonal covariances to 0 (no
dimensional collapse); the invariance term is the mean squared distance between the views.

Bardes, Ponce and LeCun, "VICReg: Variance-Invariance-Covariance Regularization for
Self-Supervised Learning", ICLR 2022 (arXiv:2105.04906). Cookbook section 2.4.

For embeddings ``Z, Z'`` of shape ``(N, D)``, with ``S(z) = sqrt(Var(z) + eps)`` per dimension
and ``C(Z)`` the ``D x D`` covariance matrix::

    s(Z, Z') = 1/N sum_i ||z_i - z'_i||^2 / D                (invariance, a mean over N and D)
    v(Z)     = 1/D sum_j max(0, 1 - S(z^j))                  (variance)
    c(Z)     = 1/D sum_{j != k} C(Z)_jk^2                    (covariance)
    loss     = lambda s(Z, Z') + mu [v(Z) + v(Z')] / 2 + nu [c(Z) + c(Z')]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cookbook import cli, distributed
from cookbook.config import TrainConfig, need
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    sim_coeff: float = 25.0         # lambda: weight of the invariance term
    std_coeff: float = 25.0         # mu: weight of the variance term (0 lets the embeddings collapse)
    cov_coeff: float = 1.0          # nu: weight of the covariance term (0 allows dimensional collapse)
    proj_hidden_dim: int = 512      # width of the projector's ("expander's") hidden layers
    proj_dim: int = 512             # dimension of the embeddings the loss sees
    proj_depth: int = 3             # linear layers in the projector (0: none, the loss sees the backbone's features)

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"proj_depth"}

    BUDGETS = {
        "quick": {"lr": 8e-3},
        # VICReg's CIFAR-style setting: LARS, wide 3-layer expander (Bardes et al., 2022, appendix).
        "cuda": {"optimizer": "lars", "lr": 0.3, "weight_decay": 1e-4, "proj_hidden_dim": 2048, "proj_dim": 2048},
    }

    def validate(self) -> None:
        super().validate()
        for name in ("sim_coeff", "std_coeff", "cov_coeff"):
            need(getattr(self, name) >= 0, f"{name}={getattr(self, name)} must be >= 0 (VICReg uses 25, 25 and 1)")
        need(not (self.sim_coeff == self.std_coeff == self.cov_coeff == 0), "sim_coeff, std_coeff and cov_coeff are "
             "all 0: the loss is 0 and nothing trains; give at least one a positive weight (VICReg uses 25, 25 and 1)")
        need(self.batch_size >= 3, f"batch_size={self.batch_size}: VICReg's variance and covariance are "
             "estimated over the batch; use at least 3 images (128 or more in practice)")


def vicreg_terms(z1: torch.Tensor, z2: torch.Tensor, eps: float = 1e-4) -> dict[str, torch.Tensor]:
    """The three VICReg terms, unweighted: ``invariance``, ``variance`` and ``covariance``.

    ``z1``, ``z2``: ``(N, D)`` embeddings of two views (row ``i`` of each is the same image).
    ``variance`` is averaged over the two branches, ``covariance`` summed over them, each
    divided by ``D``, as in the paper.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n, d = z1.shape
    if n < 2:
        raise ValueError(f"a batch of {n} image(s) has no variance to measure: VICReg needs at least 2 per batch")
    z1, z2 = z1.float(), z2.float()
    invariance = F.mse_loss(z1, z2)

    def variance(z):
        return F.relu(1 - torch.sqrt(z.var(dim=0) + eps)).mean()

    def covariance(z):
        z = z - z.mean(dim=0)
        cov = z.T @ z / (n - 1)
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d

    return {"invariance": invariance, "variance": (variance(z1) + variance(z2)) / 2,
            "covariance": covariance(z1) + covariance(z2)}


def vicreg_loss(z1: torch.Tensor, z2: torch.Tensor, sim_coeff: float = 25.0, std_coeff: float = 25.0,
                cov_coeff: float = 1.0, eps: float = 1e-4) -> torch.Tensor:
    """The VICReg loss: ``sim_coeff * invariance + std_coeff * variance + cov_coeff * covariance``
    (see :func:`vicreg_terms` for the terms and the tensor shapes)."""
    terms = vicreg_terms(z1, z2, eps)
    return sim_coeff * terms["invariance"] + std_coeff * terms["variance"] + cov_coeff * terms["covariance"]


class VICReg(TwoViewMethod):
    """Backbone + expander; ``forward`` makes two views of a batch and returns the loss and its terms."""

    name = "vicreg"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        # Under torchrun, every process's embeddings: the variance and covariance are the global batch's.
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
        c = self.config
        with torch.no_grad():  # the unweighted terms, for the log
            terms = {name: term.detach() for name, term in vicreg_terms(z1, z2).items()}
        return {"loss": vicreg_loss(z1, z2, c.sim_coeff, c.std_coeff, c.cov_coeff), **terms}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"sim_coeff": (0.0, 50.0, 1.0), "std_coeff": (0.0, 50.0, 1.0), "cov_coeff": (0.0, 10.0, 0.5)}

build_model, train, main = cli.entry_points(VICReg)

if __name__ == "__main__":
    raise SystemExit(main())
