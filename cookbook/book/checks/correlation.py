"""Checkers of chapter 5, canonical correlation (VICReg, Barlow Twins, SwAV, W-MSE): VICReg's
variance and covariance terms, and the Barlow Twins loss; and the keys of the chapter's multiple-choice
exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from cookbook import registry
from cookbook.book.checks.core import Choice, Feedback, _close, _first_matching, _value

__all__ = ["check_vicreg_variance", "check_vicreg_covariance", "check_barlow_twins"]

VICREG_EPS = 1e-4  # the eps inside VICReg's square root (vicreg.vicreg_terms' default)


def _embedding_batches(seed: int, shapes) -> list[torch.Tensor]:
    """Seeded ``(N, D)`` batches whose columns have non-zero means and spreads on both sides of 1,
    so that forgetting the centring, the hinge or the square root changes the answer."""
    generator = torch.Generator().manual_seed(seed)
    batches = []
    for n, d in shapes:
        scales = torch.linspace(0.3, 2.5, d)
        offsets = torch.randn(d, generator=generator) * 2
        mixing = torch.eye(d) + 0.5 * torch.randn(d, d, generator=generator)  # correlated columns
        batches.append(torch.randn(n, d, generator=generator) @ mixing * scales + offsets)
    return batches


def _report(fn, args, expected, mistakes, what, detail, also_right: float | None = None) -> Feedback | None:
    """None when ``fn(*args)`` matches ``expected`` (or the equally right ``also_right``); else the
    Feedback naming the matching mistake."""
    got, error = _value(fn, *args)
    if error:
        return Feedback(False, error)
    if not (_close(got, expected) or (also_right is not None and _close(got, also_right))):
        why = _first_matching(got, mistakes)
        return Feedback(False, (why or f"the value differs from {what}")
                        + f" ({detail}: expected {expected:.5f}, got {got:.5f})")
    return None


# ------------------------------------------------------------------------- VICReg: the variance term

def _variance_variants(z):
    """The recipe's variance term of one branch and the values the common mistakes give."""
    vicreg = registry.get("vicreg")
    # The recipe averages the term over its two branches: with the same batch twice, that is v(z).
    reference = vicreg.vicreg_terms(z, z.clone(), VICREG_EPS)["variance"].item()
    var, biased = z.var(dim=0), z.var(dim=0, unbiased=False)
    std = torch.sqrt(var + VICREG_EPS)
    return reference, {
        "the hinge is missing: VICReg penalises only dimensions whose std is *below* 1, "
        "max(0, 1 - std), so a wide dimension must not earn a negative penalty": (1 - std).mean().item(),
        "that is the mean standard deviation itself: the term is the hinge max(0, 1 - std), "
        "averaged over the dimensions": std.mean().item(),
        "the variance is the biased one (divided by N): VICReg uses the unbiased estimate, divided by N - 1 "
        "(torch's default `z.var(dim=0)`)": F.relu(1 - torch.sqrt(biased + VICREG_EPS)).mean().item(),
        "the eps inside the square root is missing: use sqrt(Var + 1e-4), which also keeps the gradient of "
        "a constant dimension finite": F.relu(1 - torch.sqrt(var)).mean().item(),
        "the hinge is applied to the variance, not to the standard deviation: take sqrt(Var + eps) first":
            F.relu(1 - (var + VICREG_EPS)).mean().item(),
        "the hinges are summed over the dimensions: average them (divide by D)":
            F.relu(1 - std).sum().item(),
        "the variance is taken over each embedding's dimensions (dim=1): VICReg measures every dimension's "
        "spread over the batch (dim=0)": F.relu(1 - torch.sqrt(z.var(dim=1) + VICREG_EPS)).mean().item(),
    }


def check_vicreg_variance(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    """Check ``fn(z)``, VICReg's variance term of one ``(N, D)`` branch,
    ``1/D sum_j max(0, 1 - sqrt(Var(z^j) + 1e-4))``, against the recipe's ``vicreg_terms``."""
    batches = _embedding_batches(5, ((8, 4), (16, 6), (5, 3)))
    batches[-1][:, 1] = 0.7  # a constant dimension: the eps inside the square root matters there
    for z in batches:
        expected, mistakes = _variance_variants(z)
        failed = _report(fn, (z.clone(),), expected, mistakes, "VICReg's variance term",
                         f"on a batch of N={z.shape[0]} embeddings of dimension D={z.shape[1]}")
        if failed is not None:
            return failed
    return Feedback(True, "your variance term matches the recipe's `vicreg_terms` on three batches, "
                          "one with a constant dimension.")


# ------------------------------------------------------------------------- VICReg: the covariance term

def _covariance_variants(z):
    """The recipe's covariance term of one branch and the values the common mistakes give."""
    vicreg = registry.get("vicreg")
    # The recipe sums the term over its two branches: with the same batch twice, that is 2 c(z).
    reference = vicreg.vicreg_terms(z, z.clone(), VICREG_EPS)["covariance"].item() / 2
    n, d = z.shape
    centred = z - z.mean(dim=0)
    cov = centred.T @ centred / (n - 1)
    off = ~torch.eye(d, dtype=torch.bool)

    def off_diagonal_squares(matrix):
        return matrix[off].pow(2).sum().item()

    standardised = centred / z.std(dim=0)
    return reference, {
        "the embeddings are not centred: subtract each dimension's batch mean before z.T @ z":
            off_diagonal_squares(z.T @ z / (n - 1)) / d,
        "the covariance is the biased one (divided by N): VICReg divides z.T @ z by N - 1":
            off_diagonal_squares(centred.T @ centred / n) / d,
        "the diagonal is included: the variances are the variance term's business; the covariance term "
        "sums the squares of the off-diagonal entries only (j != k)": cov.pow(2).sum().item() / d,
        "the sum is divided by D ** 2: VICReg divides it by D": off_diagonal_squares(cov) / d ** 2,
        "that is the mean over the D (D - 1) off-diagonal entries: VICReg divides their sum by D only":
            off_diagonal_squares(cov) / (d * (d - 1)),
        "the sum is not divided by D": off_diagonal_squares(cov),
        "the entries are not squared: the term is the sum of squared covariances":
            cov[off].abs().sum().item() / d,
        "that uses correlations (standardised columns): VICReg penalises the covariances themselves":
            off_diagonal_squares(standardised.T @ standardised / (n - 1)) / d,
    }


def check_vicreg_covariance(fn: Callable[[torch.Tensor], torch.Tensor]) -> Feedback:
    """Check ``fn(z)``, VICReg's covariance term of one ``(N, D)`` branch,
    ``1/D sum_{j != k} C(z)_jk^2`` with the unbiased covariance ``C``, against the recipe's ``vicreg_terms``."""
    for z in _embedding_batches(9, ((8, 4), (16, 6), (6, 3))):
        expected, mistakes = _covariance_variants(z)
        failed = _report(fn, (z.clone(),), expected, mistakes, "VICReg's covariance term",
                         f"on a batch of N={z.shape[0]} embeddings of dimension D={z.shape[1]}")
        if failed is not None:
            return failed
    return Feedback(True, "your covariance term matches the recipe's `vicreg_terms` on three batches.")


# ------------------------------------------------------------------------- Barlow Twins

def _barlow_twins_variants(z1, z2, lambd):
    """The recipe's Barlow Twins loss, the same without its eps, and the values the common mistakes give."""
    bt = registry.get("barlow_twins")
    reference = bt.barlow_twins_loss(z1, z2, lambd).item()  # the recipe's own function
    n, d = z1.shape
    eye = torch.eye(d, dtype=torch.bool)

    def loss(c, on_weight=1.0, off_weight=lambd, include_diagonal=False, mean=False):
        on = (1 - c.diagonal()).pow(2)
        off = c.pow(2) if include_diagonal else c[~eye].pow(2)
        return (on_weight * (on.mean() if mean else on.sum()) + off_weight * (off.mean() if mean else off.sum())).item()

    def centred(z):
        return z - z.mean(dim=0)

    s1, s2 = bt.standardize(z1), bt.standardize(z2)
    unbiased1, unbiased2 = centred(z1) / z1.std(dim=0), centred(z2) / z2.std(dim=0)
    rows1 = (z1 - z1.mean(dim=1, keepdim=True)) / z1.std(dim=1, unbiased=False, keepdim=True)
    rows2 = (z2 - z2.mean(dim=1, keepdim=True)) / z2.std(dim=1, unbiased=False, keepdim=True)
    c = s1.T @ s2 / n
    # The recipe's eps (1e-5, as in BatchNorm) only guards the division: an answer without it is right too.
    without_eps = loss(bt.standardize(z1, eps=0.0).T @ bt.standardize(z2, eps=0.0) / n)
    return reference, without_eps, {
        "the embeddings are not standardised: centre each dimension over the batch and divide it by its "
        "std before the cross-correlation": loss(z1.T @ z2 / n),
        "the embeddings are centred but not scaled to unit variance: divide each dimension by its std":
            loss(centred(z1).T @ centred(z2) / n),
        "the standardisation uses the unbiased std (torch's default `z.std(dim=0)`) while the "
        "cross-correlation divides by N: use the biased std (`unbiased=False`, as BatchNorm does)":
            loss(unbiased1.T @ unbiased2 / n),
        "the cross-correlation is divided by N - 1: the recipe averages over the N images (divide by N)":
            loss(s1.T @ s2 / (n - 1)),
        "the cross-correlation is not divided by the batch size N": loss(s1.T @ s2),
        "the diagonal is in the redundancy term too: lambda multiplies the off-diagonal entries only (i != j)":
            loss(c, include_diagonal=True),
        "lambda weights the wrong term: the invariance term sum_i (1 - C_ii)^2 has weight 1, the "
        "off-diagonal term has weight lambda": loss(c, on_weight=lambd, off_weight=1.0),
        "the terms are averaged: Barlow Twins sums them over the entries of C": loss(c, mean=True),
        "each embedding is standardised over its own dimensions (dim=1): standardise every dimension over "
        "the batch (dim=0)": loss(rows1.T @ rows2 / n),
        "that correlates a view with itself: C compares the first view's dimensions with the second's":
            loss(s1.T @ s1 / n),
    }


def check_barlow_twins(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    """Check ``fn(z1, z2, lambd)``, the Barlow Twins loss, against the recipe's ``barlow_twins_loss``."""
    generator = torch.Generator().manual_seed(13)
    for z1, lambd in zip(_embedding_batches(13, ((8, 4), (16, 6), (6, 3))), (0.5, 0.1, 5e-3)):
        z2 = z1 + 0.8 * torch.randn(z1.shape, generator=generator) * z1.std(dim=0)
        expected, also_right, mistakes = _barlow_twins_variants(z1, z2, lambd)
        failed = _report(fn, (z1.clone(), z2.clone(), lambd), expected, mistakes, "the Barlow Twins loss",
                         f"on N={z1.shape[0]} pairs of dimension D={z1.shape[1]}, lambda {lambd}", also_right)
        if failed is not None:
            return failed
    return Feedback(True, "your Barlow Twins loss matches the recipe's `barlow_twins_loss` on three batches.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-no-invariance": Choice("c", {
        "a": "shrinking to a point is exactly what the variance term forbids: every dimension whose std falls below "
             "1 is penalised, and that term is still on.",
        "b": "copying dimensions is what the covariance term forbids, and it is still on.",
        "c": "the two remaining terms are met by any embedding that is spread out and decorrelated, random ones "
             "included. Only the invariance term ties the views together, so without it nothing is learned about "
             "what the views share.",
    }),
    "ex-whitening-size": Choice("a", {
        "a": "after centring, N embeddings span at most N - 1 directions, so with N <= D their D x D covariance has "
             "rank below D: some direction has zero variance, cannot be scaled to 1, and the Cholesky factor to "
             "invert does not exist.",
        "b": "a smaller sub-batch is cheaper to whiten, not dearer; the problem is mathematical.",
        "c": "the loss compares two views; it is not forced to 0. The whitening step itself fails first.",
    }),
}
