"""cookbook.evaluate: RankMe, kNN, linear probe and the collapse diagnostics on synthetic features."""
from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from cookbook import evaluate


def clusters(n_per_class: int, classes: int, dim: int, spread: float, seed: int):
    """Gaussian blobs around random well-separated centres."""
    g = torch.Generator().manual_seed(seed)
    centres = 5 * torch.randn(classes, dim, generator=g)
    y = torch.arange(classes).repeat_interleave(n_per_class)
    z = centres[y] + spread * torch.randn(len(y), dim, generator=g)
    return z, y


# ----------------------------------------------------------------------------- RankMe

def test_rankme_of_an_isotropic_matrix_is_its_dimension():
    assert evaluate.rankme(torch.eye(16)) == pytest.approx(16, abs=1e-3)
    q, _ = torch.linalg.qr(torch.randn(64, 32, generator=torch.Generator().manual_seed(0)))
    assert evaluate.rankme(q * 3.0) == pytest.approx(32, abs=1e-2)  # orthonormal columns, any scale


def test_rankme_of_a_rank_one_matrix_is_one():
    u, v = torch.randn(100, 1), torch.randn(1, 32)
    assert evaluate.rankme(u @ v) == pytest.approx(1, abs=1e-3)


def test_rankme_counts_the_dimensions_in_use():
    z = torch.zeros(200, 32)
    z[:, :4] = torch.randn(200, 4)  # four active dimensions of comparable size
    assert 3.0 < evaluate.rankme(z) <= 4.01
    uneven = torch.eye(8) * torch.tensor([1.0, 1, 1, 1, 0.01, 0.01, 0.01, 0.01])
    assert 4.0 < evaluate.rankme(uneven) < 5.0


def test_singular_values_are_sorted_float64_and_centred_by_default():
    z = torch.randn(50, 6) + 10.0
    sigma = evaluate.singular_values(z)
    assert sigma.dtype == torch.float64 and sigma.shape == (6,)
    assert (sigma[:-1] >= sigma[1:]).all()
    # Centring removes the common offset, which otherwise dominates the top singular value.
    assert evaluate.singular_values(z, center=False)[0] > 5 * sigma[0]


# ----------------------------------------------------------------------------- kNN

def test_knn_is_perfect_on_separable_clusters():
    z, y = clusters(30, 5, 16, 0.1, seed=0)
    test_z, test_y = clusters(10, 5, 16, 0.1, seed=0)
    assert evaluate.knn_accuracy(z, y, test_z, test_y, k=5) == 1.0


def test_knn_predicts_the_majority_label_of_the_neighbourhood():
    train_z = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.95, -0.05], [0.0, 1.0], [0.1, 0.9]])
    train_y = torch.tensor([2, 2, 2, 0, 0])
    pred = evaluate.knn_predict(train_z, train_y, torch.tensor([[1.0, 0.02], [0.02, 1.0]]), k=3, temperature=0.1)
    assert pred.tolist() == [2, 0]


def test_knn_is_near_chance_on_random_labels():
    g = torch.Generator().manual_seed(1)
    train_z, test_z = torch.randn(2000, 32, generator=g), torch.randn(1000, 32, generator=g)
    train_y, test_y = torch.randint(0, 10, (2000,), generator=g), torch.randint(0, 10, (1000,), generator=g)
    assert 0.05 < evaluate.knn_accuracy(train_z, train_y, test_z, test_y) < 0.17


def test_knn_uses_cosine_similarity():
    z, y = clusters(20, 4, 8, 0.1, seed=2)
    test_z, test_y = clusters(5, 4, 8, 0.1, seed=2)
    scales = torch.rand(len(test_z), 1) * 100 + 0.01
    assert evaluate.knn_accuracy(z, y, test_z * scales, test_y, k=5) == 1.0


@pytest.mark.parametrize("tau", [0.0, -1.0])
def test_knn_temperature_must_be_positive(tau):
    z, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
    with pytest.raises(ValueError, match="temperature"):
        evaluate.knn_accuracy(z, y, z, y, k=3, temperature=tau)


def test_knn_needs_a_neighbour():
    z, y = torch.randn(10, 4), torch.randint(0, 2, (10,))
    with pytest.raises(ValueError, match="neighbour"):
        evaluate.knn_predict(z, y, z, k=0)


def test_knn_with_more_neighbours_than_training_points():
    z, y = clusters(2, 3, 4, 0.1, seed=3)
    assert evaluate.knn_accuracy(z, y, z, y, k=50) == pytest.approx(1.0)


# ----------------------------------------------------------------------------- linear probe

def test_linear_probe_separates_linearly_separable_data():
    g = torch.Generator().manual_seed(4)
    w = torch.randn(20, 3, generator=g)
    train_z, test_z = torch.randn(300, 20, generator=g), torch.randn(100, 20, generator=g)
    train_y, test_y = (train_z @ w).argmax(dim=1), (test_z @ w).argmax(dim=1)
    assert evaluate.linear_probe_accuracy(train_z, train_y, test_z, test_y) > 0.9


def test_linear_probe_is_near_chance_on_random_labels_and_deterministic():
    g = torch.Generator().manual_seed(5)
    train_z, test_z = torch.randn(300, 20, generator=g), torch.randn(300, 20, generator=g)
    train_y, test_y = torch.randint(0, 4, (300,), generator=g), torch.randint(0, 4, (300,), generator=g)
    acc = evaluate.linear_probe_accuracy(train_z, train_y, test_z, test_y, seed=0)
    assert acc < 0.4
    assert acc == evaluate.linear_probe_accuracy(train_z, train_y, test_z, test_y, seed=0)


# ----------------------------------------------------------------------------- collapse

def test_feature_std_is_near_zero_for_collapsed_embeddings():
    z = torch.randn(1, 32).repeat(100, 1) + 1e-4 * torch.randn(100, 32)
    assert evaluate.feature_std(z).max() < 1e-3


def test_feature_std_is_about_one_over_sqrt_dim_for_spread_embeddings():
    z = torch.randn(4000, 64)
    std = evaluate.feature_std(z)
    assert std.shape == (64,)
    assert std.mean().item() == pytest.approx(1 / math.sqrt(64), rel=0.05)


def test_collapse_report():
    collapsed = evaluate.collapse_report(torch.ones(50, 8) + 1e-6 * torch.randn(50, 8))
    healthy = evaluate.collapse_report(torch.randn(500, 8))
    assert collapsed["dim"] == 8 and collapsed["std_if_uniform"] == pytest.approx(8 ** -0.5)
    assert collapsed["rankme"] < 1.1 and collapsed["mean_std"] < 1e-3
    assert healthy["rankme"] > 7 and healthy["mean_std"] > 0.3


# ----------------------------------------------------------------------------- helpers

def test_embed_batches_restores_the_mode_and_scales_uint8():
    model = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5), nn.BatchNorm1d(5))
    model.train()
    images = torch.randint(0, 256, (10, 3, 4, 4), dtype=torch.uint8)
    z = evaluate.embed(model, images, batch_size=3)
    assert z.shape == (10, 5) and z.dtype == torch.float32 and not z.requires_grad
    assert model.training  # put back in training mode
    model.eval()
    with torch.no_grad():
        assert torch.allclose(z, model(images.float() / 255), atol=1e-6)


def test_pixels_are_centred_per_image():
    images = torch.randint(0, 256, (4, 3, 8, 8), dtype=torch.uint8)
    p = evaluate.pixels(images)
    assert p.shape == (4, 192)
    assert torch.allclose(p.mean(dim=1), torch.zeros(4), atol=1e-6)
    assert torch.allclose(p, evaluate.pixels(images.float() / 255), atol=1e-6)


def test_figures_show_themselves_as_png_in_a_notebook():
    from cookbook.curves import training_curves

    fig = training_curves([{"step": 0, "knn_acc": 0.1, "rankme": 3.0}, {"step": 5, "loss": 1.0}])
    formats = __import__("IPython").core.formatters.PNGFormatter()
    assert formats(fig)[:8] == b"\x89PNG\r\n\x1a\n"
