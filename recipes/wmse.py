"""W-MSE: whiten the batch's embeddings, then pull the two views together.

Each image gives two random views; an encoder and an MLP projector map them to embeddings
``z``. Before the views are compared, the embeddings of each view are *whitened* over the
batch: centred and linearly transformed so that their covariance is the identity. Whitened
embeddings cannot all sit on one point, nor on a line, so the loss may simply pull the two
views of every image together (a mean squared error between unit vectors) without negatives,
predictors or momentum encoders. The whitening matrix is estimated on random sub-batches of
``w_size`` images, which must outnumber the embedding dimensions.

Ermolov, Siarohin, Sangineto and Sebe, "Whitening for Self-Supervised Representation Learning",
ICML 2021 (arXiv:2007.06346). Cookbook section 2.4 (Balestriero et al., 2023, arXiv:2304.12210).

With ``Whiten(Z) = (Z - mean(Z)) L^-T`` for the Cholesky factor ``L L^T = Cov(Z)`` of a sub-batch,
``w = Whiten(Z)`` and ``w' = Whiten(Z')`` row by row::

    loss = 1/N sum_i || w_i / ||w_i|| - w'_i / ||w'_i|| ||^2  =  1/N sum_i (2 - 2 cos(w_i, w'_i))
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
    w_size: int = 128               # images per whitening sub-batch: more than proj_dim, and a divisor of batch_size
    w_iter: int = 1                 # random splits into sub-batches per step (the loss is averaged over them)
    w_eps: float = 0.0              # shrinks the covariance towards the identity before whitening (0: exact whitening)
    proj_hidden_dim: int = 1024     # width of the projector's hidden layer
    proj_dim: int = 64              # dimension of the embeddings that are whitened (must be below w_size)
    proj_depth: int = 2             # linear layers in the projector

    BUDGETS = {
        # Small embeddings whitened in small sub-batches suit the toy shapes (benchmarks/results/tuning/wmse.md).
        "quick": {"lr": 8e-3, "proj_dim": 16, "w_size": 32, "w_iter": 2},
        # W-MSE 2 on CIFAR-10 in the authors' code (github.com/htdt/self-supervised): Adam, lr 3e-3, L2 1e-6,
        # batch 256, 64-d embeddings whitened in sub-batches of 128 behind a 1024-wide projector.
        "cuda": {"lr": 3e-3, "weight_decay": 1e-6, "batch_size": 256},
    }

    def validate(self) -> None:
        super().validate()
        need(self.w_size > self.proj_dim, f"w_size={self.w_size} with proj_dim={self.proj_dim}: whitening needs more "
             "samples than dimensions: raise batch_size and w_size, or lower proj_dim")
        need(self.batch_size % self.w_size == 0, f"batch_size={self.batch_size} is not a multiple of "
             f"w_size={self.w_size}: the batch is split into whitening sub-batches of w_size images")
        need(0.0 <= self.w_eps < 1.0, f"w_eps={self.w_eps} must be in [0, 1) (0 whitens exactly; try 1e-4 if the "
             "covariance is reported singular)")


def whiten(z: torch.Tensor, eps: float = 0.0) -> torch.Tensor:
    """Centre ``z`` ``(N, D)`` and decorrelate its columns: the result has mean 0 and (unbiased)
    covariance exactly the identity (for ``eps = 0``).

    Cholesky whitening as in W-MSE: ``C = (1 - eps) Cov(z) + eps I = L L^T``, then
    ``w = (z - mean) L^-T``, so ``Cov(w) = L^-1 C L^-T = I``. ``eps`` in ``[0, 1)`` shrinks the
    covariance towards the identity, which keeps ``L`` invertible for nearly degenerate batches.
    Computed in float64 (float32 on Apple's MPS, which has no float64), returned in ``z``'s dtype;
    gradients flow through the whitening matrix, as in the paper.
    """
    if z.ndim != 2:
        raise ValueError(f"whiten expects (N, D) embeddings; got shape {tuple(z.shape)}")
    n, d = z.shape
    if n <= d:
        raise ValueError(f"{n} samples of dimension {d}: whitening needs more samples than dimensions: "
                         "raise batch_size (and w_size) or lower proj_dim")
    if not 0.0 <= eps < 1.0:
        raise ValueError(f"eps={eps} must be in [0, 1)")
    # A Cholesky factorisation in reduced precision fails or is badly wrong for ill-conditioned batches.
    dtype = torch.float32 if z.device.type == "mps" else torch.float64
    with torch.autocast(z.device.type, enabled=False):
        centred = z.to(dtype) - z.to(dtype).mean(dim=0)
        cov = centred.T @ centred / (n - 1)
        cov = (1 - eps) * cov + eps * torch.eye(d, dtype=dtype, device=z.device)
        factor, info = torch.linalg.cholesky_ex(cov)
        if info.item() != 0:
            raise ValueError("the embeddings' covariance is singular (some dimensions are constant or linearly "
                             "dependent over the batch): whitening cannot invert it; use a small eps (w_eps=1e-4)")
        # Solving L w^T = centred^T is (z - mean) L^-T without forming the inverse.
        white = torch.linalg.solve_triangular(factor, centred.T, upper=False).T
    return white.to(z.dtype)


def wmse_loss(z1: torch.Tensor, z2: torch.Tensor, w_size: int | None = None, eps: float = 0.0) -> torch.Tensor:
    """The W-MSE loss of two views' embeddings ``z1``, ``z2`` ``(N, D)`` (row ``i`` of each is the same image).

    Rows are cut into consecutive sub-batches of ``w_size`` (default: all ``N`` rows at once;
    ``N`` must be a multiple of ``w_size``, and ``w_size > D``); each view of each sub-batch is
    whitened on its own (:func:`whiten`). Returns the mean over all ``N`` images of the squared
    distance between the unit-normalised whitened views, ``2 - 2 cos(w1_i, w2_i)``: 0 when the
    views agree, at most 4. Shuffle the rows (both views alike) beforehand for random sub-batches.
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    w_size = w_size or n
    if w_size < 1 or n % w_size:
        raise ValueError(f"{n} rows cannot be cut into whitening sub-batches of w_size={w_size}: "
                         "choose a w_size that divides the batch")
    w1 = torch.cat([whiten(chunk, eps) for chunk in z1.split(w_size)])
    w2 = torch.cat([whiten(chunk, eps) for chunk in z2.split(w_size)])
    cosine = F.cosine_similarity(w1.float(), w2.float(), dim=1)
    return (2 - 2 * cosine).mean()


class WMSE(TwoViewMethod):
    """Backbone + projector; ``forward`` makes two views of a batch and returns the W-MSE loss."""

    name = "wmse"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        # Under torchrun, every process's embeddings: the whitening sub-batches are drawn from the global batch.
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
        c = self.config
        loss = 0.0
        for _ in range(c.w_iter):
            # A fresh random split per iteration: each whitening matrix sees a different sub-batch.
            order = distributed.from_rank0(torch.randperm(len(z1), device=z1.device))  # one split everywhere
            loss = loss + wmse_loss(z1[order], z2[order], c.w_size, c.w_eps)
        return {"loss": loss / c.w_iter}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"w_eps": (0.0, 0.5, 0.01)}

build_model, train, main = cli.entry_points(WMSE)

if __name__ == "__main__":
    raise SystemExit(main())
