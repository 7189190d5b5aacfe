"""recipes.simclr.nt_xent_loss against values worked out by hand and its invariances."""
from __future__ import annotations

import math

import pytest
import torch

from recipes.simclr import nt_xent_loss


def test_identical_views_of_two_orthogonal_images_by_hand():
    # z1 = z2 = the two unit vectors, tau = 1. Every embedding has its positive at cos = 1 and its two
    # negatives (the other image's views) at cos = 0: loss = -log(e / (e + 1 + 1)) for all four.
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    expected = math.log(1 + 2 / math.e)
    assert nt_xent_loss(z, z.clone(), temperature=1.0).item() == pytest.approx(expected, rel=1e-6)


def test_a_small_asymmetric_case_by_hand():
    # Unnormalised inputs: the loss must normalise them first.
    z1 = torch.tensor([[3.0, 0.0], [0.0, 2.0]])   # a = (1, 0), b = (0, 1)
    z2 = torch.tensor([[1.0, 1.0], [0.0, -1.0]])  # c = (1, 1)/sqrt 2, d = (0, -1)
    tau, r = 0.5, 1 / math.sqrt(2)
    e = lambda cos: math.exp(cos / tau)  # noqa: E731
    # cosines: a.b = 0, a.c = r, a.d = 0, b.c = r, b.d = -1, c.d = -r; positives a<->c, b<->d
    per_anchor = [
        -math.log(e(r) / (e(0) + e(r) + e(0))),     # a: others b, c, d
        -math.log(e(-1) / (e(0) + e(r) + e(-1))),   # b: others a, c, d
        -math.log(e(r) / (e(r) + e(r) + e(-r))),    # c: others a, b, d
        -math.log(e(-1) / (e(0) + e(-r) + e(-1))),  # d: others a, b, c
    ]
    expected = sum(per_anchor) / 4
    assert nt_xent_loss(z1, z2, temperature=tau).item() == pytest.approx(expected, rel=1e-5)


def test_all_identical_embeddings_give_log_of_2n_minus_1():
    n = 3
    z = torch.ones(n, 5)
    for tau in (0.1, 0.5, 2.0):
        assert nt_xent_loss(z, z.clone(), tau).item() == pytest.approx(math.log(2 * n - 1), rel=1e-5)


def test_loss_goes_to_zero_with_temperature_for_perfect_embeddings():
    """Identical views, orthogonal images: loss = log(1 + (2N - 2) exp(-1/tau)) -> 0 as tau -> 0."""
    n = 4
    z = torch.eye(n)
    losses = []
    for tau in (1.0, 0.5, 0.2, 0.1, 0.05):
        loss = nt_xent_loss(z, z.clone(), tau).item()
        assert loss == pytest.approx(math.log(1 + (2 * n - 2) * math.exp(-1 / tau)), rel=1e-4, abs=1e-7)
        losses.append(loss)
    assert all(a > b for a, b in zip(losses, losses[1:]))
    assert losses[-1] < 1e-6


def test_matching_views_beat_mismatched_ones():
    torch.manual_seed(0)
    z = torch.randn(8, 16)
    views = z + 0.05 * torch.randn(8, 16)
    shuffled = views[torch.roll(torch.arange(8), 1)]
    assert nt_xent_loss(z, views, 0.2) < nt_xent_loss(z, shuffled, 0.2)


def test_swapping_the_views_gives_the_same_loss():
    torch.manual_seed(1)
    z1, z2 = torch.randn(6, 8), torch.randn(6, 8)
    assert nt_xent_loss(z1, z2, 0.3).item() == pytest.approx(nt_xent_loss(z2, z1, 0.3).item(), rel=1e-6)


def test_reordering_the_images_gives_the_same_loss():
    torch.manual_seed(2)
    z1, z2 = torch.randn(6, 8), torch.randn(6, 8)
    perm = torch.randperm(6)
    assert nt_xent_loss(z1[perm], z2[perm], 0.3).item() == pytest.approx(nt_xent_loss(z1, z2, 0.3).item(), rel=1e-6)


def test_the_loss_ignores_the_length_of_each_embedding():
    torch.manual_seed(3)
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    scales = torch.tensor([0.01, 1.0, 7.0, 100.0, 0.5])[:, None]
    reference = nt_xent_loss(z1, z2, 0.5).item()
    assert nt_xent_loss(3 * z1, 0.25 * z2, 0.5).item() == pytest.approx(reference, rel=1e-5)
    assert nt_xent_loss(scales * z1, z2, 0.5).item() == pytest.approx(reference, rel=1e-5)


def test_gradients_are_finite_and_orthogonal_to_the_embeddings():
    torch.manual_seed(4)
    z1 = torch.randn(8, 16, requires_grad=True)
    z2 = torch.randn(8, 16, requires_grad=True)
    nt_xent_loss(z1, z2, 0.1).backward()
    for z in (z1, z2):
        assert torch.isfinite(z.grad).all() and z.grad.abs().sum() > 0
        # Scale invariance means no gradient along each embedding itself.
        assert torch.allclose((z.grad * z).sum(dim=1), torch.zeros(8), atol=1e-5)


def test_gradients_stay_finite_at_tiny_temperature_and_identical_inputs():
    z1 = torch.ones(4, 3, requires_grad=True)
    z2 = torch.ones(4, 3, requires_grad=True)
    loss = nt_xent_loss(z1, z2, 1e-3)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(z1.grad).all() and torch.isfinite(z2.grad).all()


def test_half_precision_inputs_give_a_float32_loss():
    torch.manual_seed(5)
    z1, z2 = torch.randn(4, 8), torch.randn(4, 8)
    half = nt_xent_loss(z1.half(), z2.half(), 0.5)
    assert half.dtype == torch.float32
    assert half.item() == pytest.approx(nt_xent_loss(z1, z2, 0.5).item(), rel=1e-2)


@pytest.mark.parametrize("tau", [0.0, -0.5])
def test_temperature_must_be_positive(tau):
    z = torch.randn(4, 8)
    with pytest.raises(ValueError, match="temperature"):
        nt_xent_loss(z, z, tau)


def test_a_single_pair_has_no_negatives():
    z = torch.randn(1, 8)
    with pytest.raises(ValueError, match="negatives"):
        nt_xent_loss(z, z, 0.5)


@pytest.mark.parametrize("shapes", [((4, 8), (3, 8)), ((4, 8), (4, 6)), ((8,), (8,))])
def test_shapes_must_match(shapes):
    a, b = torch.randn(*shapes[0]), torch.randn(*shapes[1])
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        nt_xent_loss(a, b, 0.5)


def test_a_single_negative_per_positive_by_hand():
    # Two images, identical views, tau = 1: each embedding's only two negatives are the other image's
    # views, both at cos = 0, so whichever one is drawn the loss is -log(e / (e + 1)).
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    assert nt_xent_loss(z, z.clone(), temperature=1.0, negatives=1).item() == pytest.approx(math.log(1 + 1 / math.e))


def test_all_negatives_drawn_is_nt_xent_and_fewer_is_a_random_subset():
    torch.manual_seed(0)
    z1, z2 = torch.randn(6, 4), torch.randn(6, 4)
    assert nt_xent_loss(z1, z2, 0.5, negatives=10).item() == pytest.approx(nt_xent_loss(z1, z2, 0.5).item(), rel=1e-5)
    one = {round(nt_xent_loss(z1, z2, 0.5, negatives=1).item(), 6) for _ in range(5)}
    assert len(one) > 1 and all(v < nt_xent_loss(z1, z2, 0.5).item() for v in one)  # fewer terms, a smaller sum
    with pytest.raises(ValueError, match="only 10 negatives"):
        nt_xent_loss(z1, z2, 0.5, negatives=11)


def test_the_config_refuses_more_negatives_than_a_batch_has():
    from cookbook.config import ConfigError
    from recipes import simclr

    with pytest.raises(ConfigError, match="negatives=300: a batch of 128 images has 254"):
        simclr.Config.for_budget("quick", negatives=300)
    with pytest.raises(ConfigError, match="negatives=-1"):
        simclr.Config.for_budget("quick", negatives=-1)
