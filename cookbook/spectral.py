"""SSL in the linear regime: spectral embeddings of the augmentation graph, in closed form and trained.

Chapter 7 of the book uses this module to put a trained network next to the solution that
theory predicts for it. The setting is that of HaoChen et al. (2021) and Balestriero & LeCun
(2022): the *augmentation graph* has one node per sample and an edge weight ``w_ij`` that is
the probability that ``i`` and ``j`` come out as a positive pair (two views of one image). The
weights sum to one, ``w_i = sum_j w_ij`` is the degree of node ``i`` and ``D = diag(w_i)``.

- Without any constraint on the encoder, the minimisers of the spectral contrastive loss are
  the top eigenvectors of the normalised adjacency ``D^-1/2 A D^-1/2``
  (:func:`spectral_embedding`); the largest one, ``sqrt(w_i)``, only gives every node the same
  embedding and is dropped, as in Laplacian eigenmaps.
- With a linear encoder ``z = W^T x`` the same loss is minimised by the top ``k`` solutions of
  the generalised eigenproblem ``X^T A X w = lambda X^T D X w`` (:func:`linear_closed_form`).
- :func:`train_linear` trains that linear encoder by stochastic gradient descent on sampled
  positive pairs with :func:`spectral_contrastive_loss`; :func:`principal_angles` compares
  the subspace it finds with the closed form.

:func:`sample_contrastive` and :func:`dimension_contrastive` are the two criteria of Garrido et
al. (2023), which penalise the Gram matrix ``Z Z^T`` and the covariance-like ``Z^T Z``.

HaoChen, Wei, Gaidon and Ma, "Provable Guarantees for Self-Supervised Deep Learning with
Spectral Contrastive Loss", NeurIPS 2021 (arXiv:2106.04156). Balestriero and LeCun,
"Contrastive and Non-Contrastive Self-Supervised Learning Recover Global and Local Spectral
Embedding Methods", NeurIPS 2022 (arXiv:2205.11508). Garrido, Chen, Bardes, Najman and LeCun,
"On the Duality Between Contrastive and Non-Contrastive Self-Supervised Learning", ICLR 2023
(arXiv:2206.02574).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

# --------------------------------------------------------------------------- the two criteria


def sample_contrastive(z: torch.Tensor) -> torch.Tensor:
    """``sum_{i != j} (z_i . z_j)^2``: the off-diagonal of the ``(N, N)`` Gram matrix ``Z Z^T``
    (embeddings of different samples should be orthogonal, as contrastive losses ask)."""
    gram = z @ z.T
    return gram.pow(2).sum() - gram.diagonal().pow(2).sum()


def dimension_contrastive(z: torch.Tensor) -> torch.Tensor:
    """``sum_{k != l} (Z^T Z)_kl^2``: the off-diagonal of the ``(D, D)`` matrix ``Z^T Z``
    (different dimensions should be decorrelated, as VICReg's covariance term asks)."""
    cross = z.T @ z
    return cross.pow(2).sum() - cross.diagonal().pow(2).sum()


# --------------------------------------------------------------------------- the loss


def spectral_contrastive_loss(z1: torch.Tensor, z2: torch.Tensor) -> torch.Tensor:
    """The spectral contrastive loss of HaoChen et al. (2021) on a batch of positive pairs.

    ``z1``, ``z2``: ``(N, D)`` embeddings, row ``i`` of each from the same positive pair. The
    positive pairs are pulled together by their dot product; every pair of *different* rows
    ``i != j`` is pushed towards orthogonality::

        loss = - 2/N sum_i z1_i . z2_i  +  1/(N (N - 1)) sum_{i != j} (z1_i . z2_j)^2
    """
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    if n < 2:
        raise ValueError("the repulsive term needs at least 2 pairs per batch")
    cross = z1 @ z2.T
    attraction = cross.diagonal().mean()
    repulsion = (cross.pow(2).sum() - cross.diagonal().pow(2).sum()) / (n * (n - 1))
    return -2 * attraction + repulsion


# --------------------------------------------------------------------------- graph side


def normalized_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 A D^-1/2`` for a symmetric, non-negative ``(n, n)`` adjacency ``A``."""
    inv_sqrt_degree = adjacency.sum(dim=1).rsqrt()
    return inv_sqrt_degree[:, None] * adjacency * inv_sqrt_degree[None, :]


def spectral_embedding(adjacency: torch.Tensor, k: int) -> torch.Tensor:
    """The ``(n, k)`` eigenvectors of ``D^-1/2 A D^-1/2`` with the largest eigenvalues, after the
    trivial one (eigenvalue 1, eigenvector proportional to ``sqrt(degree)``), largest first."""
    _, vectors = torch.linalg.eigh(normalized_adjacency(adjacency.double()))  # eigenvalues ascending
    return vectors[:, -k - 1:-1].flip(1)


def orthonormal_basis(a: torch.Tensor) -> torch.Tensor:
    """An orthonormal basis of the column span of ``a`` (``(n, k)``, full column rank)."""
    q, _ = torch.linalg.qr(a.double())
    return q


def principal_angles(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Principal angles (degrees, smallest first) between the column spans of ``a`` and ``b``:
    all zero when the two span the same subspace, 90 for a direction of one orthogonal to the other."""
    cosines = torch.linalg.svdvals(orthonormal_basis(a).T @ orthonormal_basis(b)).clamp(-1.0, 1.0)
    return torch.rad2deg(torch.arccos(cosines))


# --------------------------------------------------------------------------- a small problem


@dataclass
class Problem:
    """Samples ``x`` ``(n, d)``, their augmentation graph ``adjacency`` ``(n, n)`` (sums to 1),
    the cluster ``labels`` and the ``content_basis`` ``(d, 2)``: the directions of ``x`` that the
    augmentations keep (the others they redraw)."""

    x: torch.Tensor
    adjacency: torch.Tensor
    labels: torch.Tensor
    content: torch.Tensor
    content_basis: torch.Tensor


def make_problem(n: int = 400, clusters: int = 4, nuisance_dims: int = 8, nuisance_scale: float = 3.0,
                 view_scale: float = 0.5, seed: int = 0) -> Problem:
    """A 2-D *content* (``clusters`` blobs on a circle) and ``nuisance_dims`` dimensions of louder
    noise, mixed by a random rotation into ``x``. An augmentation keeps the content up to about
    ``view_scale`` and redraws the nuisance, so the augmentation graph links ``i`` and ``j`` with
    weight ``exp(-|c_i - c_j|^2 / (2 view_scale^2))`` (no self-loops) whatever their nuisance.
    ``x`` is centred with the degrees as weights, so a linear encoder cannot output a constant."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % clusters
    angle = 2 * math.pi * labels.double() / clusters
    centres = 2.0 * torch.stack([angle.cos(), angle.sin()], dim=1)
    content = centres + 0.6 * torch.randn(n, 2, generator=g, dtype=torch.float64)
    nuisance = nuisance_scale * torch.randn(n, nuisance_dims, generator=g, dtype=torch.float64)
    rotation, _ = torch.linalg.qr(torch.randn(2 + nuisance_dims, 2 + nuisance_dims, generator=g,
                                              dtype=torch.float64))
    x = torch.cat([content, nuisance], dim=1) @ rotation.T
    distances = torch.cdist(content, content).pow(2)
    adjacency = torch.exp(-distances / (2 * view_scale ** 2)).fill_diagonal_(0.0)
    adjacency = adjacency / adjacency.sum()
    degree = adjacency.sum(dim=1)
    x = x - degree @ x / degree.sum()
    return Problem(x=x, adjacency=adjacency, labels=labels, content=content, content_basis=rotation[:, :2])


def sample_pairs(adjacency: torch.Tensor, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` positive pairs ``(i, j)`` drawn with probability ``w_ij`` (the edges of the graph)."""
    flat = torch.multinomial(adjacency.flatten(), batch_size, replacement=True, generator=generator)
    return flat // adjacency.shape[1], flat % adjacency.shape[1]


# --------------------------------------------------------------------------- linear encoder


def population_loss(x: torch.Tensor, adjacency: torch.Tensor, weight: torch.Tensor) -> float:
    """The spectral contrastive loss of the linear encoder ``z = x @ weight`` over the whole graph
    (its expectation over sampled pairs): ``-2 tr(W^T X^T A X W) + ||W^T X^T D X W||_F^2``."""
    x, adjacency, weight = x.double(), adjacency.double(), weight.double()
    z = x @ weight
    degree = adjacency.sum(dim=1)
    attraction = torch.trace(z.T @ adjacency @ z)
    second_moment = z.T @ (degree[:, None] * z)
    return float(-2 * attraction + second_moment.pow(2).sum())


def linear_closed_form(x: torch.Tensor, adjacency: torch.Tensor, k: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The linear encoder ``W`` ``(d, k)`` that minimises :func:`population_loss`, and the
    generalised eigenvalues of ``X^T A X w = lambda X^T D X w`` (largest first).

    With ``C = X^T D X = L L^T`` and ``B = L^-1 X^T A X L^-T`` the loss is ``||B - V V^T||^2`` up to
    a constant, with ``V = L^T W``; Eckart-Young gives ``V`` = top-``k`` eigenvectors of ``B``
    times the square roots of their (positive) eigenvalues, and the minimum ``-sum lambda_k^2``."""
    x, adjacency = x.double(), adjacency.double()
    degree = adjacency.sum(dim=1)
    cholesky = torch.linalg.cholesky(x.T @ (degree[:, None] * x))
    inv = torch.linalg.inv(cholesky)
    values, vectors = torch.linalg.eigh(inv @ (x.T @ adjacency @ x) @ inv.T)
    values, vectors = values.flip(0), vectors.flip(1)
    top = values[:k].clamp_min(0)
    return inv.T @ vectors[:, :k] * top.sqrt(), values


def train_linear(problem: Problem, k: int = 2, steps: int = 600, batch_size: int = 128, lr: float = 0.02,
                 seed: int = 0, log_every: int = 25) -> tuple[torch.Tensor, list[dict]]:
    """Train ``z = x @ W`` from a small random start with Adam (learning rate decaying along a cosine)
    on :func:`spectral_contrastive_loss` of sampled positive pairs. Returns ``W`` and a history of the population loss and of the largest
    principal angle to the closed form, every ``log_every`` steps."""
    g = torch.Generator().manual_seed(seed)
    x = problem.x.float()
    target, _ = linear_closed_form(problem.x, problem.adjacency, k)
    weight = (0.01 * torch.randn(x.shape[1], k, generator=g)).requires_grad_()
    optimizer = torch.optim.Adam([weight], lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    first, second = sample_pairs(problem.adjacency, steps * batch_size, g)  # all batches at once: cheaper
    history = []
    for step in range(steps + 1):
        if step % log_every == 0 or step == steps:
            w = weight.detach()
            history.append({"step": step, "loss": population_loss(problem.x, problem.adjacency, w),
                            "angle": float(principal_angles(w, target).max())})
        if step == steps:
            break
        i, j = (v[step * batch_size:(step + 1) * batch_size] for v in (first, second))
        loss = spectral_contrastive_loss(x[i] @ weight, x[j] @ weight)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
    return weight.detach(), history
