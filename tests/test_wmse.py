"""recipes.wmse: whitening's identity covariance, the loss by hand, its invariants and its errors."""
import math

import pytest
import torch

from cookbook.config import ConfigError
from recipes import wmse


def test_whitened_embeddings_have_zero_mean_and_identity_covariance():
    torch.manual_seed(0)
    mixing = torch.randn(8, 8)
    z = torch.randn(64, 8) @ mixing + 5.0  # correlated, shifted columns
    w = wmse.whiten(z).double()
    assert w.mean(dim=0).abs().max().item() < 1e-5
    assert torch.allclose(torch.cov(w.T), torch.eye(8, dtype=torch.float64), atol=1e-5)
    assert w.dtype == torch.float64 and wmse.whiten(z).dtype == z.dtype


def test_whitening_by_hand_in_one_dimension():
    # Values 0, 2, 4: mean 2, unbiased variance (4 + 0 + 4) / 2 = 4, so L = 2 and w = (z - 2) / 2.
    z = torch.tensor([[0.0], [2.0], [4.0]])
    assert wmse.whiten(z).flatten().tolist() == pytest.approx([-1.0, 0.0, 1.0])
    # eps = 0.5 shrinks the variance to 0.5 * 4 + 0.5 * 1 = 2.5: w = (z - 2) / sqrt(2.5).
    assert wmse.whiten(z, eps=0.5).flatten().tolist() == pytest.approx([-2 / math.sqrt(2.5), 0.0, 2 / math.sqrt(2.5)])


def test_whitening_ignores_an_invertible_linear_map_up_to_a_rotation():
    # Cov(whiten(z A)) = I as well, and Cholesky whitening is lower-triangular: for a lower-triangular
    # A with positive diagonal the result is the same matrix.
    torch.manual_seed(1)
    z = torch.randn(32, 4)
    a = torch.tril(torch.rand(4, 4) + 0.5)
    assert torch.allclose(wmse.whiten(z @ a.T), wmse.whiten(z), atol=1e-4)


def test_identical_views_give_zero_and_opposite_views_give_four():
    torch.manual_seed(0)
    z = torch.randn(32, 4)
    assert wmse.wmse_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-6)
    # Whitening is linear, so -z whitens to -w: cos = -1 for every image, 2 - 2 * (-1) = 4.
    assert wmse.wmse_loss(z, -z).item() == pytest.approx(4.0, abs=1e-6)


def test_a_small_case_by_hand():
    # One dimension, three images. z1 = (0, 2, 4) whitens to (-1, 0, 1); z2 = (4, 2, 0) to (1, 0, -1).
    # Unit-normalised: (-1, 0, 1) and (1, 0, -1) (a zero row stays zero: cos = 0).
    # Per image 2 - 2 cos: 4, 2, 4; mean 10 / 3.
    z1 = torch.tensor([[0.0], [2.0], [4.0]])
    z2 = torch.tensor([[4.0], [2.0], [0.0]])
    assert wmse.wmse_loss(z1, z2).item() == pytest.approx(10 / 3, rel=1e-5)


def test_loss_is_symmetric_and_ignores_shift_and_scale_of_each_view():
    torch.manual_seed(2)
    z1, z2 = torch.randn(48, 6), torch.randn(48, 6)
    base = wmse.wmse_loss(z1, z2).item()
    assert wmse.wmse_loss(z2, z1).item() == pytest.approx(base, rel=1e-5)
    assert wmse.wmse_loss(3 * z1 + 1, z2 - 7).item() == pytest.approx(base, rel=1e-5)


def test_sub_batches_are_whitened_separately():
    torch.manual_seed(3)
    z1, z2 = torch.randn(40, 3), torch.randn(40, 3)
    halves = (wmse.wmse_loss(z1[:20], z2[:20]) + wmse.wmse_loss(z1[20:], z2[20:])) / 2
    assert wmse.wmse_loss(z1, z2, w_size=20).item() == pytest.approx(halves.item(), rel=1e-5)


def test_gradients_flow_through_the_whitening():
    torch.manual_seed(4)
    z1 = torch.randn(16, 3, requires_grad=True)
    wmse.wmse_loss(z1, torch.randn(16, 3)).backward()
    assert z1.grad is not None and torch.isfinite(z1.grad).all() and z1.grad.abs().sum() > 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="more samples than dimensions: raise batch_size"):
        wmse.whiten(torch.randn(8, 8))
    with pytest.raises(ValueError, match="more samples than dimensions"):
        wmse.wmse_loss(torch.randn(32, 8), torch.randn(32, 8), w_size=8)
    with pytest.raises(ValueError, match="singular"):
        wmse.whiten(torch.ones(16, 2))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        wmse.wmse_loss(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="divides the batch"):
        wmse.wmse_loss(torch.randn(30, 2), torch.randn(30, 2), w_size=8)
    with pytest.raises(ValueError, match="eps"):
        wmse.whiten(torch.randn(16, 2), eps=1.0)


def test_config_errors_say_what_to_change():
    with pytest.raises(ConfigError, match="more samples than dimensions"):
        wmse.Config.for_budget("quick", proj_dim=128, w_size=128)
    with pytest.raises(ConfigError, match="multiple of w_size"):
        wmse.Config.for_budget("quick", batch_size=96, w_size=128)
    with pytest.raises(ConfigError, match="w_iter=0"):
        wmse.Config.for_budget("quick", w_iter=0)
    with pytest.raises(ConfigError, match="w_eps"):
        wmse.Config.for_budget("quick", w_eps=-0.1)


def test_forward_averages_the_loss_over_w_iter_random_splits(tiny_toy):
    config = wmse.Config.for_budget("quick", batch_size=32, w_size=16, w_iter=2, width=4, proj_hidden_dim=32,
                                    proj_dim=8, device="cpu")
    model = wmse.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:32]
    torch.manual_seed(5)
    loss = model(images)["loss"]
    # The same draws by hand: two views, then one permutation per split, each cut into two sub-batches of 16.
    torch.manual_seed(5)
    z1, z2 = model.embed_views(images)
    by_hand = 0.0
    for _ in range(2):
        order = torch.randperm(32)
        by_hand = by_hand + wmse.wmse_loss(z1[order], z2[order], 16)
    assert loss.item() == pytest.approx(by_hand.item() / 2, rel=1e-6)
    # Whitening one sub-batch of 32 is another loss: the sub-batch size matters.
    assert loss.item() != pytest.approx(wmse.wmse_loss(z1, z2).item(), rel=1e-3)
