"""Checkers of chapter 7, the unified view (collapse, spectral embedding), and the keys of its multiple-choice
exercises."""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from cookbook.book import spectral
from cookbook.book.checks.core import Choice, Feedback, _close, _first_matching, _returned, _value

__all__ = ["check_spectral_contrastive_loss", "check_spectral_embedding"]


# ------------------------------------------------------------------------- spectral contrastive loss

def _spectral_loss_variants(z1: torch.Tensor, z2: torch.Tensor) -> tuple[float, dict[str, float]]:
    """The module's spectral contrastive loss and the values the common mistakes give."""
    n = len(z1)
    cross = z1 @ z2.T
    off = ~torch.eye(n, dtype=torch.bool)
    attraction = cross.diagonal().mean()
    repulsion = cross[off].pow(2).mean()
    same_view = (z1 @ z1.T)[off].pow(2).mean()
    u1, u2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    cosine = u1 @ u2.T
    reference = spectral.spectral_contrastive_loss(z1, z2).item()
    return reference, {
        "the repulsive term includes the positive pairs (the diagonal i = j): average (z1_i . z2_j)^2 over "
        "i != j only": (-2 * attraction + cross.pow(2).mean()).item(),
        "the repulsive term is divided by N^2 although it sums only the N (N - 1) pairs i != j":
            (-2 * attraction + cross[off].pow(2).sum() / n ** 2).item(),
        "the factor 2 in front of the attractive term is missing": (-attraction + repulsion).item(),
        "the dot products in the repulsive term are not squared": (-2 * attraction + cross[off].mean()).item(),
        "the embeddings are L2-normalised: the spectral contrastive loss uses raw dot products, and their "
        "length is what the repulsive term controls":
            (-2 * cosine.diagonal().mean() + cosine[off].pow(2).mean()).item(),
        "the repulsive term compares the first view with itself (z1 z1^T): it compares z1_i with z2_j":
            (-2 * attraction + same_view).item(),
        "the attraction has the wrong sign: the loss should fall as positive pairs align":
            (2 * attraction + repulsion).item(),
    }


def check_spectral_contrastive_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> Feedback:
    """Check ``loss(z1, z2)`` against :func:`cookbook.book.spectral.spectral_contrastive_loss`."""
    generator = torch.Generator().manual_seed(11)
    for n, d in ((5, 3), (8, 6), (4, 10)):
        z1 = torch.randn(n, d, generator=generator) * 0.7
        z2 = z1 + 0.4 * torch.randn(n, d, generator=generator)
        expected, mistakes = _spectral_loss_variants(z1, z2)
        got, error = _value(fn, z1.clone(), z2.clone())
        if error:
            return Feedback(False, error)
        if not _close(got, expected):
            why = _first_matching(got, mistakes)
            detail = f" (on N={n} pairs of dimension {d}: expected {expected:.4f}, got {got:.4f})"
            return Feedback(False, (why or "the value differs from the spectral contrastive loss") + detail)
    return Feedback(True, "your loss matches `cookbook.book.spectral.spectral_contrastive_loss` on three random "
                          "batches.")


# ------------------------------------------------------------------------- closed-form spectral embedding

def _test_graphs() -> list[tuple[torch.Tensor, int]]:
    """Two augmentation graphs with clusters of unequal density (so the degrees differ) and clear
    gaps after the eigenvalues asked for."""
    small = spectral.make_problem(n=60, clusters=3, view_scale=0.6, seed=1).adjacency
    large = spectral.make_problem(n=90, clusters=5, view_scale=0.5, seed=2).adjacency
    return [(small, 2), (large, 4)]


def _spectral_embedding_mistakes(adjacency: torch.Tensor, k: int) -> dict[str, torch.Tensor]:
    """The subspaces that the usual mistakes give, with what to say about each."""
    a = adjacency.double()
    degree = a.sum(dim=1)
    _, normalised = torch.linalg.eigh(spectral.normalized_adjacency(a))
    _, raw = torch.linalg.eigh(a)
    _, laplacian = torch.linalg.eigh(torch.diag(degree) - a)
    right = normalised[:, -k - 1:-1]
    return {
        "these are eigenvectors of the adjacency A itself: normalise it first, D^-1/2 A D^-1/2 with D the "
        "diagonal matrix of degrees, or the densest nodes dominate": raw[:, -k - 1:-1],
        "these are eigenvectors of the adjacency A itself, and the top one is kept: normalise A first "
        "(D^-1/2 A D^-1/2), then drop its trivial top eigenvector": raw[:, -k:],
        "these are the eigenvectors of the unnormalised Laplacian D - A: use the normalised adjacency "
        "D^-1/2 A D^-1/2": laplacian[:, 1:k + 1],
        "these are the eigenvectors with the SMALLEST eigenvalues: torch.linalg.eigh sorts them in "
        "ascending order, so the largest are the last columns": normalised[:, :k],
        "these are the smallest eigenvalues, after skipping the first: the largest are the last columns "
        "of torch.linalg.eigh": normalised[:, 1:k + 1],
        "the trivial eigenvector (eigenvalue 1, proportional to sqrt(degree)) is still in: it gives every "
        "node the same embedding; take the k after it": normalised[:, -k:],
        "these are D^-1/2 times the eigenvectors asked for (the random-walk matrix D^-1 A, or L y = lambda D y): "
        "a valid embedding too, but the exercise asks for the eigenvectors of D^-1/2 A D^-1/2 themselves":
            degree.rsqrt()[:, None] * right,
        "these are ROWS of the eigenvector matrix: torch.linalg.eigh returns the eigenvectors as its "
        "columns, vectors[:, i]": normalised[-k - 1:-1, :].T,
    }


def _same_span(a: torch.Tensor, b: torch.Tensor, tolerance_degrees: float = 1.0) -> bool:
    return float(spectral.principal_angles(a, b).max()) < tolerance_degrees


def check_spectral_embedding(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> Feedback:
    """Check ``embedding(adjacency, k)``: an ``(n, k)`` matrix whose columns span the top ``k``
    non-trivial eigenvectors of ``D^-1/2 A D^-1/2`` (any basis of that subspace is accepted)."""
    for adjacency, k in _test_graphs():
        n = len(adjacency)
        got, error = _returned(fn, adjacency.clone(), k)
        if error:
            return Feedback(False, error)
        try:
            got = torch.as_tensor(got).detach().double()
        except (TypeError, ValueError, RuntimeError):
            return Feedback(False, f"it returned {type(got).__name__}, not a matrix (a tensor of shape ({n}, {k}))")
        if got.shape != (n, k):
            return Feedback(False, f"on a graph of {n} nodes with k={k} it returned shape {tuple(got.shape)}; "
                                   f"expected ({n}, {k}): one row per node, one column per eigenvector")
        if not torch.isfinite(got).all() or torch.linalg.matrix_rank(got) < k:
            return Feedback(False, f"its {k} columns do not span {k} dimensions (repeated, zero or NaN columns)")
        expected = spectral.spectral_embedding(adjacency, k)
        if _same_span(got, expected):
            continue
        why = next((message for message, wrong in _spectral_embedding_mistakes(adjacency, k).items()
                    if _same_span(got, wrong)), None)
        worst = float(spectral.principal_angles(got, expected).max())
        return Feedback(False, (why or "its columns span a different subspace from the top non-trivial "
                                "eigenvectors of D^-1/2 A D^-1/2")
                        + f" (graph of {n} nodes, k={k}: largest principal angle to the answer {worst:.1f} degrees)")
    return Feedback(True, "your embedding spans the top non-trivial eigenvectors of the normalised adjacency "
                          "on two graphs.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-collapse-kind": Choice("b", {
        "a": "complete collapse puts every embedding at the same point, so the normalised std would be near 0, not "
             "0.95.",
        "b": "the spread is healthy along the directions that are used, but RankMe says only about three of 512 are: "
             "the spectrum has a cliff after the first few singular values.",
        "c": "the std only sees complete collapse. A RankMe of 3 means that almost all directions are unused, which "
             "wastes the embedding and usually the downstream accuracy.",
    }),
    "ex-duality": Choice("a", {
        "a": "both have rank at most min(N, D) = 256, and their non-zero eigenvalues are the same: the squared "
             "singular values of Z.",
        "b": "Z Z^T is 256 x 256, so it cannot have more than 256 non-zero eigenvalues; and Z^T Z shares them.",
        "c": "Z^T Z is 2048 x 2048, but its rank is that of Z, at most 256: a batch cannot fill more directions than "
             "it has embeddings.",
    }),
}
