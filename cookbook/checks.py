"""Answer checkers for the exercises: accept a correct answer, explain a wrong one.

Each ``check_*`` function takes the student's answer (usually a function), compares it
with the library's own implementation on several inputs, and returns a :class:`Feedback`
that is truthy when the answer is right. For a wrong answer it tries the usual mistakes
and names the one that matches, so the message says *what* is wrong, not just *that* it is.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch
import torch.nn.functional as F

from . import evaluate, registry


@dataclass
class Feedback:
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("correct: " if self.passed else "not yet: ") + self.message

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.passed else "❌"
        return f"{mark} **{'Correct' if self.passed else 'Not yet'}**: {self.message}"

    def __repr__(self) -> str:
        return str(self)


def _value(fn: Callable, *args):
    """Call the student's function; turn a crash or a non-number into a message."""
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, "the function still raises NotImplementedError: fill in its body"
    except Exception as err:  # the student's code may fail in any way; report it, do not crash the page
        return None, f"calling it raised {type(err).__name__}: {err}"
    if out is None:
        return None, "it returned None: did you forget `return`?"
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            return None, f"it returned a tensor of shape {tuple(out.shape)}; the answer is a single number (a scalar)"
        out = out.item()
    try:
        return float(out), None
    except (TypeError, ValueError):
        return None, f"it returned {type(out).__name__}, not a number"


def _close(a: float, b: float, tol: float = 1e-4) -> bool:
    return math.isfinite(a) and abs(a - b) <= tol * max(1.0, abs(b))


def _first_matching(value: float, mistakes: dict[str, float]) -> str | None:
    return next((why for why, wrong in mistakes.items() if _close(value, wrong)), None)


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

def check_rankme(fn: Callable[[torch.Tensor], float]) -> Feedback:
    """Check an implementation of RankMe, ``exp(entropy(sigma / sum(sigma)))``."""
    generator = torch.Generator().manual_seed(3)
    cases = [torch.randn(64, 16, generator=generator) @ torch.diag(torch.linspace(0.1, 3, 16)),
             torch.randn(40, 8, generator=generator) @ torch.randn(8, 8, generator=generator)]
    for z in cases:
        sigma = torch.linalg.svdvals(z.double())
        p = sigma / sigma.sum()
        entropy = -(p * p.log()).sum()
        sq = sigma ** 2 / (sigma ** 2).sum()
        mistakes = {
            "the exponential is missing: RankMe is exp(entropy), not the entropy itself": entropy.item(),
            "the entropy uses squared singular values (variances); RankMe normalises the singular values "
            "themselves": torch.exp(-(sq * sq.log()).sum()).item(),
            "2 ** entropy with a natural-log entropy mixes bases: use exp with log, or 2 ** with log2":
                (2 ** entropy).item(),
            "the singular values are not normalised to sum to one before the entropy": torch.exp(
                -(sigma * sigma.log()).sum()).item(),
            "that is the number of non-zero singular values (the rank), not the effective rank":
                float(torch.linalg.matrix_rank(z)),
        }
        expected = evaluate.rankme(z)
        got, error = _value(fn, z.clone())
        if error:
            return Feedback(False, error)
        if not _close(got, expected, tol=1e-3):
            why = _first_matching(got, mistakes)
            return Feedback(False, (why or "the value differs from RankMe")
                            + f" (on a {tuple(z.shape)} matrix: expected {expected:.3f}, got {got:.3f})")
    return Feedback(True, "your RankMe matches `cookbook.evaluate.rankme` on two matrices.")


# ------------------------------------------------------------------------- multiple choice

def check_choice(answer: str, correct: str, explanations: dict[str, str]) -> Feedback:
    """A multiple-choice answer: ``explanations`` maps each wrong option to why it is wrong."""
    options = sorted({correct, *explanations})
    key = str(answer).strip().lower()
    if key == correct.lower():
        return Feedback(True, explanations.get(correct, "that is it."))
    for option, why in explanations.items():
        if key == option.lower():
            return Feedback(False, why)
    return Feedback(False, f"{answer!r} is not one of the options {', '.join(options)}")
