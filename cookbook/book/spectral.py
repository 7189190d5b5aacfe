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
al. (2023), which penalise the Gram matrix ``Z Z^T`` and the covariance-like ``Z^T Z``;
:func:`gram_and_second_moment` and :func:`spread_and_squeezed` put their duality in numbers, and
:func:`linear_regime` runs the closed form, the trained encoder and PCA on one problem.
:func:`mean_abs_correlation` measures, on a trained network's embeddings, what a covariance term pushes
down: how strongly two dimensions move together (chapter 5).

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
from typing import Sequence

import torch
import torch.nn.functional as F

from cookbook import evaluate

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


def mean_abs_correlation(z: torch.Tensor) -> float:
    """The mean absolute correlation between two different dimensions of ``z`` ``(N, D)`` over its rows:
    the off-diagonal of the ``(D, D)`` correlation matrix, which a covariance or redundancy term pushes
    towards 0. Near 1 means the dimensions are copies of one number, up to sign and scale (dimensional
    collapse); constant dimensions, which have no correlation, are left out."""
    z = z.detach().double().cpu()
    z = z[:, z.std(dim=0) > 1e-12]
    d = z.shape[1]
    if d < 2:
        raise ValueError(f"{d} non-constant dimension(s): a correlation needs at least two")
    correlation = torch.corrcoef(z.T)
    return float((correlation.abs().sum() - correlation.diagonal().abs().sum()) / (d * (d - 1)))


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


def sample_pairs(adjacency: torch.Tensor, batch_size: int,
                 generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
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
    on :func:`spectral_contrastive_loss` of sampled positive pairs. Returns ``W`` and a history of the
    population loss and of the largest principal angle to the closed form, every ``log_every`` steps."""
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


# --------------------------------------------------------------------------- chapter 7's numbers


def gram_and_second_moment(z: torch.Tensor) -> dict[str, torch.Tensor | float]:
    """The duality of the two criteria, in numbers, for one ``(N, D)`` matrix ``z`` with ``N >= D``.

    Returns the eigenvalues of the ``(N, N)`` Gram matrix ``Z Z^T`` and of the ``(D, D)`` matrix
    ``Z^T Z`` (``gram_eigenvalues``, ``second_moment_eigenvalues``, largest first), the largest
    gap between the ``D`` eigenvalues they share (``largest_difference``), the largest of the
    ``N - D`` other eigenvalues of the Gram matrix (``largest_other``: zero up to rounding) and
    ``identity_gap``, what is left of ``L_c - L_nc = sum_k ||z^(k)||^4 - sum_i ||z_i||^4`` (column
    norms minus row norms): both are zero up to rounding because both matrices have the squared
    singular values of ``Z`` as eigenvalues."""
    z = z.double()
    gram = torch.linalg.eigvalsh(z @ z.T).flip(0)
    second_moment = torch.linalg.eigvalsh(z.T @ z).flip(0)
    d = len(second_moment)
    norms_gap = z.pow(2).sum(dim=0).pow(2).sum() - z.pow(2).sum(dim=1).pow(2).sum()
    return {"gram_eigenvalues": gram, "second_moment_eigenvalues": second_moment,
            "largest_difference": float((gram[:d] - second_moment).abs().max()),
            "largest_other": float(gram[d:].abs().max()) if len(gram) > d else 0.0,
            "identity_gap": float(sample_contrastive(z) - dimension_contrastive(z) - norms_gap)}


def spread_and_squeezed(n: int = 64, d: int = 16, squeezed_dims: int = 2,
                        generator: torch.Generator | None = None) -> list[dict[str, str | float]]:
    """Both criteria on two embeddings of ``n`` unit rows in ``d`` dimensions: one spread over all
    ``d`` (Gaussian rows), one squeezed into ``squeezed_dims`` (Gaussian rows through a random
    ``(squeezed_dims, d)`` map), both L2-normalised, so their total energy ``sum_k sigma_k^2 = n``
    is the same.

    One row each: ``embedding`` (a label), ``RankMe``, ``sum of sigma^4`` (``sum_k sigma_k^4``),
    ``L_c (rows as they are)`` (:func:`sample_contrastive` of the unit rows) and
    ``L_nc (columns standardised)`` (:func:`dimension_contrastive` of the columns centred and
    scaled to unit length). The squeezed embedding has the larger ``sum sigma^4``, and both
    criteria grow with it. ``generator`` draws the embeddings (default: seeded 0)."""
    generator = generator if generator is not None else torch.Generator().manual_seed(0)

    def gaussian(*shape):
        return torch.randn(*shape, generator=generator, dtype=torch.float64)

    embeddings = {f"{n} unit rows spread over {d} dimensions": F.normalize(gaussian(n, d), dim=1)}
    embeddings[f"{n} unit rows squeezed into {squeezed_dims} dimensions"] = F.normalize(
        gaussian(n, squeezed_dims) @ gaussian(squeezed_dims, d), dim=1)
    rows = []
    for label, z in embeddings.items():
        standardised = F.normalize(z - z.mean(dim=0), dim=0)
        rows.append({"embedding": label, "RankMe": evaluate.rankme(z),
                     "sum of sigma^4": float(torch.linalg.svdvals(z).pow(4).sum()),
                     "L_c (rows as they are)": float(sample_contrastive(z)),
                     "L_nc (columns standardised)": float(dimension_contrastive(standardised))})
    return rows


def procrustes_align(source: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """``source`` ``(n, k)`` rotated onto ``target`` ``(n, k)`` by the orthogonal ``(k, k)`` matrix
    that brings it closest (orthogonal Procrustes). The spectral contrastive loss cannot tell an
    embedding from its rotations, so a trained one is compared with the closed form after this."""
    u, _, vh = torch.linalg.svd(source.T @ target)
    return source @ (u @ vh)


@dataclass
class LinearRegime:
    """The linear-regime experiment on one :class:`Problem` (see :func:`linear_regime`).

    ``closed_form`` ``(d, k)`` and ``eigenvalues`` ``(d,)`` from :func:`linear_closed_form`,
    ``optimum`` its :func:`population_loss`; ``trained`` ``(d, k)`` and ``history`` from
    :func:`train_linear`; ``pca`` ``(d, k)``, the top ``k`` principal directions of the raw ``x``."""

    problem: Problem
    closed_form: torch.Tensor
    eigenvalues: torch.Tensor
    optimum: float
    trained: torch.Tensor
    history: list[dict]
    pca: torch.Tensor

    def angles(self) -> dict[str, torch.Tensor]:
        """Principal angles (degrees) of the three comparisons the chapter makes: the trained
        encoder against the closed form, and the closed form and PCA against the content directions."""
        content = self.problem.content_basis
        return {"trained encoder vs closed form": principal_angles(self.trained, self.closed_form),
                "closed form vs the content directions": principal_angles(self.closed_form, content),
                "top two principal components vs the content directions": principal_angles(self.pca, content)}

    def embeddings(self) -> dict[str, torch.Tensor]:
        """The ``(n, k)`` pictures of the samples: their content, their projection on the principal
        directions, the closed form's embedding and the trained encoder's, rotated onto the closed
        form's (:func:`procrustes_align`), since the loss does not fix a rotation."""
        x = self.problem.x
        closed = x @ self.closed_form
        return {"content (what views keep)": self.problem.content, "PCA of the raw x": x @ self.pca,
                "closed form": closed, "trained linear encoder": procrustes_align(x @ self.trained.double(), closed)}


def linear_regime(problem: Problem, k: int = 2, **train_settings) -> LinearRegime:
    """Solve ``problem`` in closed form for a ``k``-dimensional linear encoder, train one by SGD on
    sampled pairs (:func:`train_linear`, with ``train_settings``), and find the top ``k`` principal
    directions of ``x``: everything chapter 7 compares."""
    closed_form, eigenvalues = linear_closed_form(problem.x, problem.adjacency, k=k)
    trained, history = train_linear(problem, k=k, **train_settings)
    pca = torch.linalg.svd(problem.x - problem.x.mean(dim=0), full_matrices=False)[2][:k].T
    return LinearRegime(problem=problem, closed_form=closed_form, eigenvalues=eigenvalues,
                        optimum=population_loss(problem.x, problem.adjacency, closed_form),
                        trained=trained, history=history, pca=pca)


def alpha_req(spectrum: Sequence[float], floor: float = 1e-4) -> float:
    """alpha-ReQ (Agrawal et al., 2022): the power-law decay ``lambda_k ~ k^-alpha`` of the
    eigenvalues ``lambda_k = sigma_k^2`` of the features' covariance, from ``spectrum``, the singular
    values largest first (any scale; a sweep point's ``spectrum``). ``alpha`` is minus the slope of
    the least-squares line of ``log lambda_k`` against ``log k``, over the eigenvalues above
    ``floor`` times the largest (the rest is numerical noise). Small: a flat, high-rank spectrum;
    large: a few directions dominate. The paper finds the best features near ``alpha = 1``."""
    sigma = [float(s) for s in spectrum]
    if len(sigma) < 3 or not sigma[0] > 0:
        raise ValueError(f"alpha_req needs at least 3 singular values, the first positive; got {sigma[:5]}")
    eigen = [s * s for s in sigma if s * s > floor * sigma[0] ** 2]
    if len(eigen) < 3:
        raise ValueError(f"only {len(eigen)} eigenvalues above {floor:g} of the largest: the spectrum has collapsed "
                         f"to fewer than 3 directions, and a slope over them says nothing")
    xs, ys = [math.log(k) for k in range(1, len(eigen) + 1)], [math.log(e) for e in eigen]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    slope = sum((a - mx) * (b - my) for a, b in zip(xs, ys)) / sum((a - mx) ** 2 for a in xs)
    return -slope
