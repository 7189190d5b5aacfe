"""Checkers of chapter 1: NT-Xent and RankMe, and the key of its multiple-choice exercise."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F

from cookbook import evaluate, registry
from cookbook.book.checks.core import Choice, Feedback, _close, _first_matching, _value

__all__ = ["check_nt_xent", "check_rankme"]


# ------------------------------------------------------------------------- NT-Xent

def _nt_xent_variants(z1, z2, t):
    """The recipe's NT-Xent and the values the common mistakes give."""
    n = len(z1)
    z = F.normalize(torch.cat([z1, z2]), dim=1)
    raw = torch.cat([z1, z2])
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])

    def xent(logits, keep_diagonal=False):
        logits = logits.clone()
        if not keep_diagonal:
            logits.fill_diagonal_(float("-inf"))
        return F.cross_entropy(logits, positives).item()

    sim = z @ z.T
    reference = registry.get("simclr").nt_xent_loss(z1, z2, t).item()  # the recipe's own function
    masked = (sim / t).masked_fill(torch.eye(2 * n, dtype=torch.bool), float("-inf"))
    one_view_negatives = F.normalize(z1, dim=1) @ F.normalize(z2, dim=1).T / t
    return reference, {
        "the similarity of each embedding with itself is still in the denominator: mask the diagonal "
        "(e.g. fill it with -inf) before the softmax": xent(sim / t, keep_diagonal=True),
        "the embeddings are not L2-normalised: NT-Xent uses cosine similarity": xent(raw @ raw.T / t),
        "the temperature multiplies the similarities; it should divide them": xent(sim * t),
        "the temperature is missing: divide the cosine similarities by tau": xent(sim),
        "only the first view's N rows are averaged: NT-Xent averages over all 2N embeddings (both directions)":
            F.cross_entropy(masked[:n], positives[:n]).item(),
        "the negatives come only from the other view (an N x N matrix): SimCLR also uses the other "
        "images of the same view as negatives": F.cross_entropy(one_view_negatives, torch.arange(n)).item(),
    }


def check_nt_xent(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    """Check an implementation of ``nt_xent_loss(z1, z2, temperature)`` against the recipe's."""
    generator = torch.Generator().manual_seed(7)
    for n, d, t in ((4, 8, 0.5), (6, 3, 0.1), (3, 16, 1.0)):
        z1 = torch.randn(n, d, generator=generator) * 3
        z2 = z1 + 0.5 * torch.randn(n, d, generator=generator)
        expected, mistakes = _nt_xent_variants(z1, z2, t)
        got, error = _value(fn, z1.clone(), z2.clone(), t)
        if error:
            return Feedback(False, error)
        if not _close(got, expected):
            why = _first_matching(got, mistakes)
            detail = f" (on N={n} pairs of dimension {d}, temperature {t}: expected {expected:.4f}, got {got:.4f})"
            return Feedback(False, (why or "the value differs from NT-Xent") + detail)
    return Feedback(True, "your NT-Xent matches the recipe's `nt_xent_loss` on three random batches.")


# ------------------------------------------------------------------------- RankMe

def _rankme_mistakes(z: torch.Tensor) -> dict[str, float]:
    """What the usual mistakes give on ``z`` instead of RankMe (0 log 0 taken as 0, as RankMe does)."""
    sigma = torch.linalg.svdvals(z.double())
    p = sigma / sigma.sum()
    entropy = -torch.special.xlogy(p, p).sum()
    sq = sigma ** 2 / (sigma ** 2).sum()
    return {
        "the exponential is missing: RankMe is exp(entropy), not the entropy itself": entropy.item(),
        "the entropy uses squared singular values (variances); RankMe normalises the singular values "
        "themselves": torch.exp(-torch.special.xlogy(sq, sq).sum()).item(),
        "2 ** entropy with a natural-log entropy mixes bases: use exp with log, or 2 ** with log2":
            (2 ** entropy).item(),
        "the singular values are not normalised to sum to one before the entropy": torch.exp(
            -torch.special.xlogy(sigma, sigma).sum()).item(),
        "that is the number of non-zero singular values (the rank), not the effective rank":
            float(torch.linalg.matrix_rank(z)),
    }


def check_rankme(fn: Callable[[torch.Tensor], float]) -> Feedback:
    """Check an implementation of RankMe, ``exp(entropy(sigma / sum(sigma)))``, on the cases the chapter
    names: two random full-rank matrices against :func:`cookbook.evaluate.rankme` (first, since they tell
    the usual mistakes apart), then ``D`` for the ``D x D`` identity and 1 for matrices of rank one, one of
    them with exactly zero singular values (``torch.ones(8, 8)``), where ``0 log 0`` must count as 0."""
    generator = torch.Generator().manual_seed(3)
    random = [torch.randn(64, 16, generator=generator) @ torch.diag(torch.linspace(0.1, 3, 16)),
              torch.randn(40, 8, generator=generator) @ torch.randn(8, 8, generator=generator)]
    cases = [(f"a random {tuple(z.shape)} matrix of full rank", z, evaluate.rankme(z)) for z in random] + [
        ("the 8 x 8 identity, eight equally used directions", torch.eye(8), 8.0),
        ("torch.ones(8, 8), eight equal embeddings: rank one, with seven singular values exactly 0", torch.ones(8, 8),
         1.0),
        ("a (40, 6) matrix of rank one, every row a multiple of one vector",
         torch.outer(torch.randn(40, generator=generator), torch.randn(6, generator=generator)), 1.0)]
    for what, z, expected in cases:
        got, error = _value(fn, z.clone())
        if error:
            return Feedback(False, error + f" (on {what})")
        if _close(got, expected, tol=1e-3):
            continue
        detail = f" (on {what}: expected {expected:.3f}, got {got:.3f})"
        if math.isnan(got) and (torch.linalg.svdvals(z) == 0).any():
            return Feedback(False, "the zero singular values make p log p = 0 * log 0, which torch computes as nan; "
                                   "their share of the entropy is 0 (the limit of p log p), so leave them out "
                                   "(keep p[p > 0]) or use torch.special.xlogy(p, p)" + detail)
        why = _first_matching(got, _rankme_mistakes(z))
        return Feedback(False, (why or "the value differs from RankMe") + detail)
    return Feedback(True, "your RankMe gives 8 for the 8 x 8 identity, 1 for matrices of rank one, and matches "
                          "`cookbook.evaluate.rankme` on two random matrices.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-colour": Choice("b", {
        "a": "without colour changes, the two views of an image share their colours exactly, and matching colours "
             "is the easiest way to tell the positive from the other images. The features keep more colour and "
             "less shape, not the other way round.",
        "b": "colour is now the cheapest cue that identifies an image across its views, so the features keep it, "
             "and the loss no longer pushes them towards the shape.",
        "c": "the crops keep the colours of the shape and the background, and those identify an image well: colour "
             "becomes the shortcut, and what the features keep moves with it.",
    }),
}
