"""LeJEPA: the views of an image agree, and the embeddings look like an isotropic Gaussian.

Each image gives ``V`` random views; an encoder and an MLP projector map them to embeddings
``z``. Two terms, one trade-off ``lambda``: the *invariance* term pulls every view's embedding
towards the mean embedding of its image's views; *SIGReg* (Sketched Isotropic Gaussian
Regularization) pushes the batch of embeddings towards a standard Gaussian in every direction.
SIGReg projects the embeddings on random unit directions (a new draw every step) and measures,
for each 1-D projection, how far its empirical characteristic function is from the Gaussian's
(the Epps-Pulley test statistic). A collapsed batch fails that test badly, so no
negatives, stop-gradients, predictors or teachers are needed.

Balestriero and LeCun, "LeJEPA: Provable and Scalable Self-Supervised Learning Without the
Heuristics", 2025 (arXiv:2511.08544). A frontier method after the Cookbook (Balestriero et al.,
2023, arXiv:2304.12210), which it extends from section 2.4's variance-covariance criteria to
the whole embedding distribution.

With ``x = z a`` the projections of the ``N`` embeddings of one view on a unit direction ``a``,
``phi_N(t) = 1/N sum_n exp(i t x_n)`` and ``A`` the ``S`` random directions::

    EP(x)      = N * int_{-3}^{3} |phi_N(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt
                 (the trapezoid rule on 17 knots over [0, 3], doubled: the integrand is even in t)
    SIGReg(Z)  = 1/S sum_{a in A} EP(Z a)
    invariance = 1/(V N D) sum_v sum_n ||z_vn - mean_v' z_v'n||^2
    loss       = lambda * 1/V sum_v SIGReg(Z_v) + (1 - lambda) * invariance
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from cookbook import cli, distributed
from cookbook.config import TrainConfig, need
from cookbook.method import TwoViewMethod

T_MAX = 3.0  # the integral stops at t = 3, where the Gaussian weight exp(-t^2/2) is down to 1 %


@dataclass
class Config(TrainConfig):
    lambd: float = 0.05             # weight of SIGReg; 1 - lambd weighs the invariance (0 lets the embeddings collapse)
    num_slices: int = 256           # random 1-D directions SIGReg tests per step
    num_views: int = 4              # views per image (the invariance pulls each one to their mean)
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 16              # dimension of the embeddings the loss sees
    proj_depth: int = 3             # linear layers in the projector

    BUDGETS = {
        # Four views of 64 images cost what two of 128 do and gave a steadier kNN (benchmarks/results/tuning/lejepa.md).
        "quick": {"lr": 8e-3, "batch_size": 64},
        # Half the shared batch: four views of 128 images are as many as the other recipes' two of 256.
        "cpu": {"batch_size": 128},
        # The authors' minimal example (github.com/rbalestr-lab/lejepa, MINIMAL.md): AdamW, lr 2e-3, weight
        # decay 0.05, batch 256, 4 views, lambda 0.02, a 2048-wide 3-layer projector to 16 dimensions.
        "cuda": {"lr": 2e-3, "weight_decay": 5e-2, "batch_size": 256, "lambd": 0.02, "proj_hidden_dim": 2048},
    }

    def validate(self) -> None:
        super().validate()
        need(0.0 <= self.lambd <= 1.0, f"lambd={self.lambd} must be in [0, 1]: it splits the loss between SIGReg "
             "(lambd) and the invariance (1 - lambd); the paper uses about 0.05")
        need(self.num_views >= 2, f"num_views={self.num_views}: the invariance term compares views, so use at least 2")


def random_directions(dim: int, num_slices: int, device=None) -> torch.Tensor:
    """``(dim, num_slices)`` directions drawn uniformly on the unit sphere, from torch's global RNG
    (so a run's seed, and a resumed checkpoint's RNG state, decide them)."""
    directions = torch.randn(dim, num_slices, device=device)
    return directions / directions.norm(dim=0)


def sigreg(z: torch.Tensor, directions: torch.Tensor, knots: int = 17) -> torch.Tensor:
    """SIGReg: the Epps-Pulley statistic of ``z`` ``(N, D)`` along each unit column of
    ``directions`` ``(D, S)``, averaged over the ``S`` slices. Returns a scalar.

    For the projections ``x = z @ directions`` ``(N, S)`` and the empirical characteristic function
    ``phi_N(t) = mean_n exp(i t x_n)``, each slice contributes
    ``N * int |phi_N(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt`` over ``t`` in ``[-3, 3]``. The integrand is
    even in ``t``, so, as in the authors' code, it is integrated on ``[0, 3]`` with the trapezoid rule
    on ``knots`` equally spaced points and doubled. Its expected value is about 1.05 for standard
    Gaussian samples of any ``N``; it grows like ``N`` for a collapsed batch (about ``0.4 N`` when
    every embedding sits at the origin).
    """
    if z.ndim != 2 or directions.ndim != 2 or directions.shape[0] != z.shape[1]:
        raise ValueError(f"sigreg expects z (N, D) and directions (D, S); got {tuple(z.shape)} and "
                         f"{tuple(directions.shape)}")
    if knots < 2:
        raise ValueError(f"knots={knots}: the trapezoid rule needs at least 2 points")
    norms = directions.detach().float().norm(dim=0)
    if not torch.allclose(norms, torch.ones_like(norms), atol=1e-4):
        raise ValueError("the columns of directions must be unit vectors (the statistic compares each projection "
                         "with a *standard* Gaussian); divide each column by its norm, as random_directions does")
    n = len(z)
    # cos/sin of t * x need float32: bfloat16 would blur the characteristic function at t = 3.
    with torch.autocast(z.device.type, enabled=False):
        x = z.float() @ directions.float()                                    # (N, S)
        t = torch.linspace(0, T_MAX, knots, device=z.device)
        gaussian = torch.exp(-t.square() / 2)                                 # its characteristic function
        tx = x.unsqueeze(-1) * t                                              # (N, S, knots)
        # sum / n rather than mean: the backward pass then divides the (S, knots) sums, not the (N, S, knots) terms.
        error = (tx.cos().sum(0) / n - gaussian).square() + (tx.sin().sum(0) / n).square()
        step = T_MAX / (knots - 1)
        weights = torch.full((knots,), 2 * step, device=z.device)             # trapezoid on [0, 3], doubled
        weights[[0, -1]] = step
        return n * (error @ (weights * gaussian)).mean()


def lejepa_terms(z: torch.Tensor, directions: torch.Tensor, knots: int = 17) -> dict[str, torch.Tensor]:
    """The two LeJEPA terms, unweighted, of ``z`` ``(V, N, D)``: ``V`` views of ``N`` images.

    ``sigreg``: :func:`sigreg` of each view's ``(N, D)`` embeddings with the same ``directions``,
    averaged over the views. ``invariance``: the squared distance of each view's embedding to the
    mean of its image's ``V`` embeddings, averaged over views, images and dimensions.
    """
    if z.ndim != 3 or len(z) < 2:
        raise ValueError(f"z must be (V, N, D) with at least 2 views; got shape {tuple(z.shape)}")
    invariance = (z.float() - z.float().mean(dim=0)).square().mean()
    regulariser = torch.stack([sigreg(view, directions, knots) for view in z]).mean()
    return {"sigreg": regulariser, "invariance": invariance}


def lejepa_loss(z: torch.Tensor, directions: torch.Tensor, lambd: float = 0.05, knots: int = 17) -> torch.Tensor:
    """The LeJEPA loss ``lambd * sigreg + (1 - lambd) * invariance`` of ``z`` ``(V, N, D)`` (see
    :func:`lejepa_terms` for the terms and :func:`sigreg` for ``directions`` and ``knots``)."""
    if not 0.0 <= lambd <= 1.0:
        raise ValueError(f"lambd={lambd} must be in [0, 1]")
    terms = lejepa_terms(z, directions, knots)
    return lambd * terms["sigreg"] + (1 - lambd) * terms["invariance"]


class LeJEPA(TwoViewMethod):
    """Backbone + projector; ``forward`` makes ``num_views`` views of a batch and returns the loss and its terms."""

    name = "lejepa"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        z = torch.stack(self.embed_views(images, c.num_views))                    # (V, N, D)
        # Under torchrun: SIGReg tests the global batch's embeddings, along the same directions everywhere.
        z = distributed.gather(z, dim=1)
        directions = distributed.from_rank0(random_directions(z.shape[-1], c.num_slices, z.device))
        with torch.no_grad():  # logged only: the loss below is the one that trains
            terms = lejepa_terms(z.detach(), directions)
        return {"loss": lejepa_loss(z, directions, c.lambd), **terms}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"lambd": (0.0, 1.0, 0.01)}

build_model, train, main = cli.entry_points(LeJEPA)

if __name__ == "__main__":
    raise SystemExit(main())
