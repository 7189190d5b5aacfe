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

from cookbook import models, train as training
from cookbook.augment import views

NAME = "lejepa"
T_MAX = 3.0  # the integral stops at t = 3, where the Gaussian weight exp(-t^2/2) is down to 1 %


@dataclass
class Config(training.TrainConfig):
    lambd: float = 0.05             # weight of SIGReg; 1 - lambd weighs the invariance (0 lets the embeddings collapse)
    num_slices: int = 256           # random 1-D directions SIGReg tests per step
    num_views: int = 4              # views per image (the invariance pulls each one to their mean)
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 16              # dimension of the embeddings the loss sees
    proj_depth: int = 3             # linear layers in the projector

    BUDGETS = {
        # Four views of 64 images cost what two of 128 do and gave a steadier quick-run kNN (mean of seeds 0-2
        # on a GPU): 0.45 with 16-d embeddings and 256 slices, 0.42 with 128 slices, 0.36 with 64, 0.39 with
        # 64-d embeddings and 128 slices; two views of 128 images: 0.39 (64-d, 256 slices). lambda 0.05 beat
        # 0.02 (0.38) and 0.1 (0.41). SIGReg's cos/sin over N x slices x 17 knots is most of the extra time per
        # step on a CPU.
        "quick": {**training.TrainConfig.BUDGETS["quick"], "lr": 4e-3, "batch_size": 64},
        # Half the shared batch: four views of 128 images are as many as the other recipes' two of 256.
        "cpu": {**training.TrainConfig.BUDGETS["cpu"], "batch_size": 128},
        # The authors' minimal example (github.com/rbalestr-lab/lejepa, MINIMAL.md): AdamW, lr 2e-3, weight
        # decay 0.05, batch 256, 4 views, lambda 0.02, a 2048-wide 3-layer projector to 16 dimensions.
        "cuda": {**training.TrainConfig.BUDGETS["cuda"], "lr": 2e-3, "weight_decay": 5e-2, "batch_size": 256,
                 "lambd": 0.02, "proj_hidden_dim": 2048},
    }

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.lambd <= 1.0:
            raise training.ConfigError(f"lambd={self.lambd} must be in [0, 1]: it splits the loss between SIGReg "
                                       "(lambd) and the invariance (1 - lambd); the paper uses about 0.05")
        if self.num_slices < 1:
            raise training.ConfigError(f"num_slices={self.num_slices}: SIGReg needs at least one random direction "
                                       "(a few hundred in practice)")
        if self.num_views < 2:
            raise training.ConfigError(f"num_views={self.num_views}: the invariance term compares views, "
                                       "so use at least 2")


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


class LeJEPA(models.TwoViewEncoder):
    """Backbone + projector; ``forward`` makes ``num_views`` views of a batch and returns the loss and its terms."""

    name = NAME

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        c = self.config
        # One pass over all the views: BatchNorm sees the whole V * N batch.
        z = self.projector(self.backbone(torch.cat(views(images, c.num_views, c.augment))))
        z = z.view(c.num_views, len(images), -1)
        terms = lejepa_terms(z, random_directions(z.shape[-1], c.num_slices, z.device))
        return {"loss": c.lambd * terms["sigreg"] + (1 - c.lambd) * terms["invariance"], **terms}


def build_model(config: Config, data) -> LeJEPA:
    return LeJEPA(config, data.image_size, data.mean, data.std)


def train(config: Config | None = None) -> dict:
    """Train LeJEPA and return its metrics (see :func:`cookbook.train.run_recipe`)."""
    config = config or Config.for_budget()
    return training.run_recipe(config, lambda data: build_model(config, data), name=NAME)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"lambd": (0.0, 1.0, 0.01)}


if __name__ == "__main__":
    import sys

    from cookbook import cli

    sys.exit(cli.main(sys.modules[__name__], prog="python -m recipes.lejepa"))
