"""recipes.barlow_twins: the loss by hand, its zero, and its errors."""
import pytest
import torch

from cookbook.augment import views
from cookbook.config import ConfigError
from recipes import barlow_twins as bt


def decorrelated(n: int = 8, d: int = 4) -> torch.Tensor:
    """(n, d) with zero-mean, unit (biased) variance, mutually uncorrelated columns."""
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=torch.Generator().manual_seed(0)))
    basis = q[:, 1:d + 1]  # orthonormal columns orthogonal to q[:, 0] ...
    basis = basis - basis.mean(dim=0)  # ... made exactly zero-mean
    q2, _ = torch.linalg.qr(torch.cat([torch.ones(n, 1), basis], dim=1))
    return q2[:, 1:] * n ** 0.5


def test_identical_standardised_decorrelated_views_give_zero():
    z = decorrelated()
    assert bt.barlow_twins_loss(z, z.clone()).item() == pytest.approx(0.0, abs=1e-4)


def test_a_small_case_by_hand():
    # One dimension, two images: standardised, both views are (+1, -1) or its negative.
    z1 = torch.tensor([[2.0], [0.0]])   # standardises to (+1, -1)
    z2 = torch.tensor([[0.0], [5.0]])   # standardises to (-1, +1): C = -1, loss (1 - (-1))^2 = 4
    assert bt.barlow_twins_loss(z1, z2).item() == pytest.approx(4.0, rel=1e-4)
    # Two perfectly correlated dimensions in both views: C = all ones, on-diagonal 0, off-diagonal 2.
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    assert bt.barlow_twins_loss(z, z.clone(), lambd=0.5).item() == pytest.approx(0.5 * 2, rel=1e-4)
    assert bt.barlow_twins_loss(z, z.clone(), lambd=0.0).item() == pytest.approx(0.0, abs=1e-4)


def test_loss_ignores_the_scale_and_shift_of_each_dimension():
    torch.manual_seed(0)
    z1, z2 = torch.randn(32, 6), torch.randn(32, 6)
    scaled = z1 * torch.linspace(0.5, 4.0, 6) + 3.0
    assert bt.barlow_twins_loss(scaled, z2).item() == pytest.approx(bt.barlow_twins_loss(z1, z2).item(), rel=1e-4)


def test_independent_views_pay_about_d_on_the_diagonal():
    torch.manual_seed(0)
    z1, z2 = torch.randn(4096, 8), torch.randn(4096, 8)
    assert bt.barlow_twins_loss(z1, z2, lambd=0.0).item() == pytest.approx(8.0, rel=0.05)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        bt.barlow_twins_loss(torch.ones(1, 3), torch.ones(1, 3))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        bt.barlow_twins_loss(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ConfigError, match="lambd=-1.0 must be >= 0"):
        bt.Config.for_budget("quick", lambd=-1.0)
    with pytest.raises(ConfigError, match="proj_dim=0 must be >= 1"):
        bt.Config.for_budget("quick", proj_dim=0)


def test_forward_is_the_barlow_twins_loss_of_two_views(tiny_toy):
    config = bt.Config.for_budget("quick", width=4, proj_hidden_dim=32, proj_dim=16, lambd=0.1)
    model = bt.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:16]
    torch.manual_seed(3)
    loss = model(images)["loss"]
    torch.manual_seed(3)
    z1, z2 = model.embed(torch.cat(views(images, 2, config.augment))).chunk(2)
    assert loss.item() == pytest.approx(bt.barlow_twins_loss(z1, z2, 0.1).item(), rel=1e-6)
    assert loss.item() != pytest.approx(bt.barlow_twins_loss(z1, z2, 0.0).item(), rel=1e-3)  # lambd is used
