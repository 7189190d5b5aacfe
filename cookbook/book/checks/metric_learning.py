"""Checkers of chapter 3, deep metric learning (SimCLR, NNCLR, MoCo): MoCo's InfoNCE against a
queue, and NNCLR's nearest-neighbour lookup in the support set; and the key of the chapter's multiple-choice
exercise."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from cookbook import registry
from cookbook.book.checks.core import Choice, Feedback, _close, _first_matching, _returned, _value

__all__ = ["check_info_nce_queue", "check_nearest_neighbour"]


# ------------------------------------------------------------------------- MoCo: InfoNCE with a queue

def _info_nce_variants(q, k, queue, t):
    """The recipe's InfoNCE with a queue and the values the common mistakes give."""
    n = len(q)
    qn, kn, un = F.normalize(q, dim=1), F.normalize(k, dim=1), F.normalize(queue, dim=1)
    first = torch.zeros(n, dtype=torch.long)

    def xent(positive, negatives, targets=first, reduction="mean"):
        logits = torch.cat([positive[:, None], negatives], dim=1)
        return F.cross_entropy(logits, targets, reduction=reduction).item()

    positive, negatives = (qn * kn).sum(dim=1), qn @ un.T
    reference = registry.get("moco").info_nce_loss(q, k, queue, t).item()  # the recipe's own function
    return reference, {
        "the queries and keys are not L2-normalised: InfoNCE compares them by cosine similarity":
            xent((q * k).sum(dim=1) / t, q @ queue.T / t),
        "the positive is missing from the denominator: the softmax runs over the positive and the K "
        "negatives together (K + 1 logits)": (torch.logsumexp(negatives / t, dim=1) - positive / t).mean().item(),
        "the target index is wrong: with the positive logit in column 0, every query's target is 0, not "
        "its row number": xent(positive / t, negatives / t, torch.arange(n)),
        "the other keys of the batch are negatives too: MoCo v2 takes its negatives from the queue only":
            xent(positive / t, torch.cat([(qn @ kn.T / t).masked_fill(torch.eye(n, dtype=torch.bool), float("-inf")),
                                          negatives / t], dim=1)),
        "the queue is not used: the negatives are the other keys of the batch (MoCo v3); here they are the "
        "K entries of the queue": F.cross_entropy(qn @ kn.T / t, torch.arange(n)).item(),
        "the temperature multiplies the similarities; it should divide them": xent(positive * t, negatives * t),
        "the temperature is missing: divide the cosine similarities by tau": xent(positive, negatives),
        "the losses of the queries are summed: average them over the batch (divide by N)":
            xent(positive / t, negatives / t, reduction="sum"),
    }


def check_info_nce_queue(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    """Check ``fn(q, k, queue, temperature)``, MoCo's InfoNCE with a queue of negatives, against
    the recipe's ``moco.info_nce_loss``. The queue holds unit vectors, as MoCo's does."""
    generator = torch.Generator().manual_seed(11)
    for n, d, size, t in ((4, 8, 16, 0.2), (6, 5, 9, 0.07), (3, 16, 32, 1.0)):
        q = torch.randn(n, d, generator=generator) * 3
        k = q + 0.7 * torch.randn(n, d, generator=generator)
        queue = F.normalize(torch.randn(size, d, generator=generator), dim=1)
        expected, mistakes = _info_nce_variants(q, k, queue, t)
        got, error = _value(fn, q.clone(), k.clone(), queue.clone(), t)
        if error:
            return Feedback(False, error)
        if not _close(got, expected):
            why = _first_matching(got, mistakes)
            detail = (f" (on N={n} queries of dimension {d}, a queue of K={size} and temperature {t}: "
                      f"expected {expected:.4f}, got {got:.4f})")
            return Feedback(False, (why or "the value differs from MoCo's InfoNCE") + detail)
    return Feedback(True, "your InfoNCE matches the recipe's `moco.info_nce_loss` with a queue on three random "
                          "batches.")


# ------------------------------------------------------------------------- NNCLR: the nearest neighbour

def _nearest_neighbour_variants(z, support):
    """What the common mistakes return instead of the normalised nearest support row."""
    unit = F.normalize(support, dim=1)
    cosine = F.normalize(z, dim=1) @ unit.T
    return {
        "the neighbour is right but it is not L2-normalised: return the unit-length support row":
            support[cosine.argmax(dim=1)],
        "that is the support row *least* similar to each embedding (argmin): take the argmax of the cosine "
        "similarity": unit[cosine.argmin(dim=1)],
        "the similarity is a raw dot product, so long support vectors win: normalise both sides first "
        "(cosine similarity)": unit[(z @ support.T).argmax(dim=1)],
        "that is the nearest support row in Euclidean distance between raw vectors; NNCLR uses cosine "
        "similarity": unit[torch.cdist(z, support).argmin(dim=1)],
        "it returns the embeddings themselves: look up their neighbours in the support set instead":
            F.normalize(z, dim=1),
    }


def _tensor_answer(fn: Callable, *args) -> tuple[torch.Tensor | None, str | None]:
    """Call the student's function that should return a tensor; turn anything else into a message."""
    out, error = _returned(fn, *args)
    if error:
        return None, error
    if not isinstance(out, torch.Tensor):
        return None, f"it returned {type(out).__name__}; return a tensor of neighbours"
    return out.detach().float(), None


def check_nearest_neighbour(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    """Check ``fn(z, support)``, NNCLR's lookup: for each row of ``z`` the L2-normalised support
    row with the highest cosine similarity, against the recipe's ``nnclr.nearest_neighbour``."""
    generator = torch.Generator().manual_seed(5)
    recipe = registry.get("nnclr")
    for n, k, d in ((5, 12, 4), (8, 30, 6)):
        # Support rows of very different lengths, so that dot products, distances and cosines disagree.
        support = torch.randn(k, d, generator=generator) * torch.linspace(0.2, 5.0, k)[:, None]
        z = torch.randn(n, d, generator=generator) * 2
        expected = recipe.nearest_neighbour(z, support)
        got, error = _tensor_answer(fn, z.clone(), support.clone())
        if error:
            return Feedback(False, error)
        if got.shape != expected.shape:
            hint = " (is that the index of the neighbour rather than the neighbour itself?)" if got.ndim == 1 else ""
            return Feedback(False, f"for {n} embeddings and a support set of {k} rows of dimension {d} it returned "
                                   f"shape {tuple(got.shape)}; expected {tuple(expected.shape)}, one neighbour "
                                   f"per embedding{hint}")
        if not torch.allclose(got, expected, atol=1e-5):
            why = next((why for why, wrong in _nearest_neighbour_variants(z, support).items()
                        if torch.allclose(got, wrong, atol=1e-5)), None)
            wrong_rows = int((~torch.isclose(got, expected, atol=1e-5).all(dim=1)).sum())
            return Feedback(False, (why or "the neighbours differ from the recipe's")
                            + f" ({wrong_rows} of {n} rows differ, with a support set of {k} rows)")
    return Feedback(True, "your lookup matches the recipe's `nnclr.nearest_neighbour` on two support sets.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-queue-momentum": Choice("a", {
        "a": "the queue decouples the number of negatives from the batch size, and a slowly moving key encoder "
             "keeps the keys queued a hundred steps ago comparable with today's.",
        "b": "the momentum encoder makes the keys, positive and negatives alike; the negatives are the queue's "
             "stored keys, and the queue receives no gradient at all.",
        "c": "a large batch does give many negatives, but the momentum encoder also changes the targets: its keys "
             "move slowly. MoCo v3, which drops the queue for large batches, still keeps the momentum encoder.",
    }),
}
