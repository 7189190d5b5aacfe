"""recipes.lejepa: SIGReg against a hand-written quadrature, its Gaussian and collapsed values,
the invariance term by hand, the weighting, and the errors."""
import math

import pytest
import torch

from cookbook.config import ConfigError
from recipes import lejepa


def epps_pulley_by_hand(xs: list[float], knots: int = 17) -> float:
    """N * 2 * trapezoid on [0, 3] of |phi_N(t) - g(t)|^2 g(t), g(t) = exp(-t^2/2), written out point by point."""
    n, step = len(xs), 3.0 / (knots - 1)
    total = 0.0
    for k in range(knots):
        t = k * step
        g = math.exp(-t * t / 2)
        real = sum(math.cos(t * x) for x in xs) / n
        imag = sum(math.sin(t * x) for x in xs) / n
        integrand = ((real - g) ** 2 + imag ** 2) * g
        total += integrand * step * (0.5 if k in (0, knots - 1) else 1.0)
    return n * 2 * total


def test_one_point_at_the_origin_by_hand():
    # phi_1(t) = 1, so the integrand is (1 - g)^2 g: zero at t = 0, largest near t = 1.5.
    z = torch.zeros(1, 1)
    got = lejepa.sigreg(z, torch.ones(1, 1)).item()
    assert got == pytest.approx(epps_pulley_by_hand([0.0]), rel=1e-5)
    assert got == pytest.approx(0.402, abs=2e-3)  # close to the exact integral on [-3, 3], 0.4022


def test_two_points_along_one_direction_by_hand():
    # Projected on (1, 0), the rows give x = +0.7 and -0.7: phi_2(t) = cos(0.7 t), no imaginary part.
    z = torch.tensor([[0.7, 5.0], [-0.7, -3.0]])
    direction = torch.tensor([[1.0], [0.0]])
    assert lejepa.sigreg(z, direction).item() == pytest.approx(epps_pulley_by_hand([0.7, -0.7]), rel=1e-5)
    # A diagonal direction projects the rows to (0.7 + 5) / sqrt(2) and (-0.7 - 3) / sqrt(2).
    diagonal = torch.tensor([[1.0], [1.0]]) / math.sqrt(2)
    xs = [5.7 / math.sqrt(2), -3.7 / math.sqrt(2)]
    assert lejepa.sigreg(z, diagonal).item() == pytest.approx(epps_pulley_by_hand(xs), rel=1e-5)
    # With both directions the statistic is the mean over the slices.
    both = torch.cat([direction, diagonal], dim=1)
    mean = (epps_pulley_by_hand([0.7, -0.7]) + epps_pulley_by_hand(xs)) / 2
    assert lejepa.sigreg(z, both).item() == pytest.approx(mean, rel=1e-5)


def test_the_number_of_knots_is_the_quadrature_resolution():
    z = torch.tensor([[0.3], [-1.2], [2.0]])
    assert lejepa.sigreg(z, torch.ones(1, 1), knots=5).item() == pytest.approx(
        epps_pulley_by_hand([0.3, -1.2, 2.0], knots=5), rel=1e-5)


def test_gaussian_samples_score_about_one_and_collapsed_ones_about_n():
    # E[N |phi_N(t) - phi(t)|^2] = 1 - exp(-t^2) for Gaussian samples, so the expected statistic is
    # int (1 - exp(-t^2)) exp(-t^2/2) dt over [-3, 3], about 1.05, whatever N. The slices of one batch
    # share its samples, so the mean is taken over several batches.
    torch.manual_seed(0)
    directions = lejepa.random_directions(16, 512)
    for n in (64, 512):
        gaussian = torch.stack([lejepa.sigreg(torch.randn(n, 16), directions) for _ in range(10)]).mean()
        assert gaussian.item() == pytest.approx(1.05, abs=0.25)
        assert lejepa.sigreg(torch.zeros(n, 16), directions).item() == pytest.approx(0.402 * n, rel=0.01)
        assert lejepa.sigreg(torch.ones(n, 16), directions).item() > 0.4 * n
    # A Gaussian squeezed to a line (dimensional collapse) is far from isotropic too.
    line = torch.randn(512, 1) * torch.ones(1, 16) / 4
    assert lejepa.sigreg(line, directions).item() > 20


def test_random_directions_are_unit_columns():
    directions = lejepa.random_directions(8, 100)
    assert directions.shape == (8, 100)
    assert torch.allclose(directions.norm(dim=0), torch.ones(100))


def test_gradients_flow_and_stay_finite_for_a_collapsed_batch():
    z = torch.zeros(32, 4, requires_grad=True)
    lejepa.sigreg(z + 1e-3 * torch.randn(32, 4), lejepa.random_directions(4, 16)).backward()
    assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0


def test_invariance_by_hand_and_the_weighting():
    # Two views of one image in one dimension, at 0 and 2: the mean is 1, each view is 1 away,
    # so the invariance (a mean of squared distances) is 1.
    z = torch.tensor([[[0.0]], [[2.0]]])
    directions = torch.ones(1, 1)
    terms = lejepa.lejepa_terms(z, directions)
    assert terms["invariance"].item() == pytest.approx(1.0)
    # SIGReg is averaged over the views: here each view is a single point, at 0 and at 2.
    sig = (epps_pulley_by_hand([0.0]) + epps_pulley_by_hand([2.0])) / 2
    assert terms["sigreg"].item() == pytest.approx(sig, rel=1e-5)
    assert lejepa.lejepa_loss(z, directions, lambd=0.25).item() == pytest.approx(0.25 * sig + 0.75 * 1.0, rel=1e-5)
    assert lejepa.lejepa_loss(z, directions, lambd=0.0).item() == pytest.approx(1.0)


def test_identical_views_have_no_invariance_cost():
    torch.manual_seed(1)
    view = torch.randn(64, 8)
    z = torch.stack([view, view, view])
    directions = lejepa.random_directions(8, 32)
    terms = lejepa.lejepa_terms(z, directions)
    assert terms["invariance"].item() == pytest.approx(0.0, abs=1e-12)
    assert terms["sigreg"].item() == pytest.approx(lejepa.sigreg(view, directions).item(), rel=1e-5)


def test_bad_inputs_are_refused():
    z = torch.randn(16, 4)
    with pytest.raises(ValueError, match="unit vectors"):
        lejepa.sigreg(z, torch.randn(4, 8) * 3)
    with pytest.raises(ValueError, match=r"\(N, D\) and directions \(D, S\)"):
        lejepa.sigreg(z, lejepa.random_directions(3, 8))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        lejepa.sigreg(z[0], lejepa.random_directions(4, 8))
    with pytest.raises(ValueError, match="knots"):
        lejepa.sigreg(z, lejepa.random_directions(4, 8), knots=1)
    with pytest.raises(ValueError, match="at least 2 views"):
        lejepa.lejepa_terms(z[None], lejepa.random_directions(4, 8))
    with pytest.raises(ValueError, match="lambd"):
        lejepa.lejepa_loss(torch.stack([z, z]), lejepa.random_directions(4, 8), lambd=1.5)


def test_config_errors_say_what_to_change():
    with pytest.raises(ConfigError, match="lambd"):
        lejepa.Config.for_budget("quick", lambd=-0.1)
    with pytest.raises(ConfigError, match="num_slices=0"):
        lejepa.Config.for_budget("quick", num_slices=0)
    with pytest.raises(ConfigError, match="num_views"):
        lejepa.Config.for_budget("quick", num_views=1)


def test_forward_trains_with_lejepa_loss_and_logs_its_unweighted_terms(tiny_toy):
    config = lejepa.Config.for_budget("quick", batch_size=16, num_views=3, num_slices=32, width=4,
                                      proj_hidden_dim=32, proj_dim=8, lambd=0.3, device="cpu")
    model = lejepa.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:16]
    torch.manual_seed(4)
    out = model(images)
    # The same draws by hand: three views in one pass, then the random directions.
    torch.manual_seed(4)
    z = torch.stack(model.embed_views(images, 3))
    directions = lejepa.random_directions(8, 32)
    assert out["loss"].item() == pytest.approx(lejepa.lejepa_loss(z, directions, lambd=0.3).item(), rel=1e-6)
    terms = lejepa.lejepa_terms(z, directions)
    assert out["sigreg"].item() == pytest.approx(terms["sigreg"].item(), rel=1e-6)
    assert out["invariance"].item() == pytest.approx(terms["invariance"].item(), rel=1e-6)
    # Only the loss carries a gradient; the logged terms are detached.
    assert out["loss"].requires_grad and not out["sigreg"].requires_grad and not out["invariance"].requires_grad
