"""The linear-regime theory of cookbook.book.spectral: closed forms, the loss, and a trained encoder that finds them."""
from __future__ import annotations

import pytest
import torch

from cookbook.book import spectral


@pytest.fixture(scope="module")
def problem():
    return spectral.make_problem(n=200, seed=3)


def test_gram_and_second_moment_share_their_nonzero_eigenvalues_and_the_criteria_differ_by_norms():
    z = torch.randn(12, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    gram = torch.linalg.eigvalsh(z @ z.T).flip(0)
    second = torch.linalg.eigvalsh(z.T @ z).flip(0)
    assert torch.allclose(gram[:5], second) and gram[5:].abs().max() < 1e-10
    # sum_ij (Z Z^T)_ij^2 = sum_kl (Z^T Z)_kl^2 = sum sigma^4, so the off-diagonal parts differ by the diagonals
    rows, columns = z.pow(2).sum(dim=1), z.pow(2).sum(dim=0)
    difference = spectral.sample_contrastive(z) - spectral.dimension_contrastive(z)
    assert torch.isclose(difference, columns.pow(2).sum() - rows.pow(2).sum())


def test_spectral_contrastive_loss_by_hand():
    z1 = torch.tensor([[1.0, 0.0], [0.0, 2.0]])
    z2 = torch.tensor([[1.0, 1.0], [0.0, 1.0]])
    # attraction: (1 + 2) / 2; repulsion: ((z1_0 . z2_1)^2 + (z1_1 . z2_0)^2) / 2 = (0 + 4) / 2
    assert spectral.spectral_contrastive_loss(z1, z2).item() == pytest.approx(-3.0 + 2.0)
    with pytest.raises(ValueError):
        spectral.spectral_contrastive_loss(z1[:1], z2[:1])


def test_problem_graph_is_a_distribution_and_the_data_are_degree_centred(problem):
    a = problem.adjacency
    assert torch.allclose(a, a.T) and a.sum().item() == pytest.approx(1.0) and a.diagonal().abs().max() == 0
    assert (a.sum(dim=1) @ problem.x).abs().max() < 1e-10


def test_spectral_embedding_is_orthogonal_to_the_trivial_eigenvector(problem):
    k = 3
    u = spectral.spectral_embedding(problem.adjacency, k)
    trivial = problem.adjacency.sum(dim=1).sqrt()
    assert u.shape == (len(trivial), k) and (trivial @ u).abs().max() < 1e-8
    a_norm = spectral.normalized_adjacency(problem.adjacency)
    values = torch.diagonal(u.T @ a_norm @ u)
    assert (values[:-1] >= values[1:]).all() and values.max() < 1


def test_principal_angles():
    e = torch.eye(3, dtype=torch.float64)
    assert torch.allclose(spectral.principal_angles(e[:, :2], e[:, [1, 0]]), torch.zeros(2, dtype=torch.float64))
    assert spectral.principal_angles(e[:, :1], e[:, 1:2]).item() == pytest.approx(90.0)


def test_closed_form_reaches_minus_the_sum_of_squared_eigenvalues_and_finds_the_content(problem):
    weight, values = spectral.linear_closed_form(problem.x, problem.adjacency, 2)
    assert spectral.population_loss(problem.x, problem.adjacency, weight) == pytest.approx(
        -(values[:2] ** 2).sum().item())
    # a small perturbation only raises the loss (a minimum, not a saddle)
    nudged = weight + 1e-3 * torch.randn(weight.shape, generator=torch.Generator().manual_seed(1), dtype=weight.dtype)
    assert spectral.population_loss(problem.x, problem.adjacency, nudged) > spectral.population_loss(
        problem.x, problem.adjacency, weight)
    assert spectral.principal_angles(weight, problem.content_basis).max() < 5


def test_trained_linear_encoder_converges_to_the_closed_form(problem):
    weight, history = spectral.train_linear(problem, steps=300, log_every=100)
    assert [h["step"] for h in history] == [0, 100, 200, 300]
    assert history[0]["angle"] > 30 and history[-1]["angle"] < 5
    _, values = spectral.linear_closed_form(problem.x, problem.adjacency, 2)
    assert history[-1]["loss"] == pytest.approx(-(values[:2] ** 2).sum().item(), rel=0.02)


def test_gram_and_second_moment_in_numbers():
    z = torch.randn(20, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    duality = spectral.gram_and_second_moment(z)
    assert duality["gram_eigenvalues"].shape == (20,) and duality["second_moment_eigenvalues"].shape == (6,)
    assert duality["largest_difference"] < 1e-9 and duality["largest_other"] < 1e-9
    assert abs(duality["identity_gap"]) < 1e-9
    assert torch.allclose(duality["second_moment_eigenvalues"], torch.linalg.svdvals(z) ** 2)


def test_spread_and_squeezed_has_the_same_energy_and_squeezing_raises_both_criteria():
    spread, squeezed = spectral.spread_and_squeezed(64, 16, generator=torch.Generator().manual_seed(0))
    assert spread["embedding"] == "64 unit rows spread over 16 dimensions"
    assert squeezed["embedding"] == "64 unit rows squeezed into 2 dimensions"
    assert squeezed["RankMe"] <= 2.0 + 1e-6 < spread["RankMe"]
    for key in ("sum of sigma^4", "L_c (rows as they are)", "L_nc (columns standardised)"):
        assert squeezed[key] > spread[key]
    # unit rows: L_c = sum sigma^4 - N
    assert spread["L_c (rows as they are)"] == pytest.approx(spread["sum of sigma^4"] - 64)


def test_procrustes_align_undoes_a_rotation():
    a = torch.randn(30, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    angle = torch.tensor(0.7, dtype=torch.float64)
    rotation = torch.stack([torch.stack([angle.cos(), -angle.sin()]), torch.stack([angle.sin(), angle.cos()])])
    assert torch.allclose(spectral.procrustes_align(a @ rotation, a), a)


def test_linear_regime_gathers_the_closed_form_the_trained_encoder_and_pca(problem):
    fit = spectral.linear_regime(problem, k=2, steps=300, log_every=100)
    assert fit.closed_form.shape == fit.trained.shape == fit.pca.shape == (problem.x.shape[1], 2)
    assert fit.optimum == pytest.approx(-(fit.eigenvalues[:2] ** 2).sum().item())
    angles = fit.angles()
    assert angles["trained encoder vs closed form"].max() < 5
    assert angles["closed form vs the content directions"].max() < 5
    assert angles["top two principal components vs the content directions"].max() > 45  # PCA finds the nuisance
    assert [tuple(e.shape) for e in fit.embeddings().values()] == [(len(problem.x), 2)] * 4


def test_mean_abs_correlation_is_one_for_copies_and_small_for_independent_dimensions():
    g = torch.Generator().manual_seed(0)
    one_number = torch.randn(200, 1, generator=g) @ torch.tensor([[1.0, -2.0, 0.5, 3.0]])
    assert spectral.mean_abs_correlation(one_number) == pytest.approx(1.0)
    assert spectral.mean_abs_correlation(torch.randn(4000, 6, generator=g)) < 0.05
    with_constant = torch.cat([one_number, torch.ones(200, 1)], dim=1)  # a constant dimension is left out
    assert spectral.mean_abs_correlation(with_constant) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="at least two"):
        spectral.mean_abs_correlation(torch.ones(10, 3))
