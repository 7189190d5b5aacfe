"""recipes.simsiam: the loss by hand and its invariants, its errors, and collapse without
the predictor or the stop-gradient."""
import functools
import math

import pytest
import torch

from cookbook.augment import views
from cookbook.book.collapse import is_collapsed, train_and_probe
from cookbook.config import ConfigError
from recipes import simsiam


def test_a_small_case_by_hand():
    # Row 1: (1, 0) against (0, 1), cos 0. Row 2: (1, 0) against (1, 1), cos 1/sqrt(2).
    # Mean negative cosine: -(0 + 1/sqrt(2)) / 2.
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    z = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert simsiam.negative_cosine(p, z).item() == pytest.approx(-1 / (2 * math.sqrt(2)))


def test_identical_opposite_and_orthogonal_pairs():
    torch.manual_seed(0)
    p = torch.randn(16, 8)
    assert simsiam.negative_cosine(p, p.clone()).item() == pytest.approx(-1.0)
    assert simsiam.negative_cosine(p, -p).item() == pytest.approx(1.0)
    assert simsiam.negative_cosine(torch.eye(4)[:2], torch.eye(4)[2:]).item() == pytest.approx(0.0)


def test_loss_is_symmetric_and_ignores_the_length_of_each_vector():
    torch.manual_seed(1)
    p, z = torch.randn(32, 6), torch.randn(32, 6)
    base = simsiam.negative_cosine(p, z).item()
    assert simsiam.negative_cosine(z, p).item() == pytest.approx(base, abs=1e-6)
    lengths = torch.rand(32, 1) * 10 + 0.1
    assert simsiam.negative_cosine(p * lengths, 3 * z).item() == pytest.approx(base, abs=1e-6)


def test_a_constant_embedding_scores_perfectly():
    # Why SimSiam needs the stop-gradient and the predictor: collapse is a minimum of the loss.
    collapsed = torch.ones(64, 8)
    assert simsiam.negative_cosine(collapsed, collapsed).item() == pytest.approx(-1.0)


def test_the_detached_side_gets_no_gradient():
    torch.manual_seed(2)
    p, z = torch.randn(8, 4, requires_grad=True), torch.randn(8, 4, requires_grad=True)
    simsiam.negative_cosine(p, z.detach()).backward()
    assert p.grad is not None and p.grad.abs().sum() > 0 and z.grad is None


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        simsiam.negative_cosine(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        simsiam.negative_cosine(torch.ones(4), torch.ones(4))
    with pytest.raises(ValueError, match="at least one pair"):
        simsiam.negative_cosine(torch.ones(0, 3), torch.ones(0, 3))


@pytest.mark.parametrize("setting", ["proj_dim", "proj_hidden_dim", "proj_depth", "pred_hidden_dim"])
def test_a_zero_sized_head_is_refused(setting):
    with pytest.raises(ConfigError, match=f"{setting}=0 must be >= 1"):
        simsiam.Config.for_budget("quick", **{setting: 0})


def test_switches_shape_the_model(tiny_toy):
    config = simsiam.Config.for_budget("quick", width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=4)
    model = simsiam.build_model(config, tiny_toy)
    assert isinstance(model.projector[-1], torch.nn.BatchNorm1d) and not model.projector[-1].affine
    assert model.predictor[0].out_features == 4
    no_predictor = simsiam.build_model(simsiam.Config.for_budget("quick", width=4, predictor=False), tiny_toy)
    assert isinstance(no_predictor.predictor, torch.nn.Identity)


def tiny_model(data, **overrides):
    config = simsiam.Config.for_budget("quick", width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=4,
                                       **overrides)
    torch.manual_seed(0)
    return simsiam.build_model(config, data)


def test_forward_is_the_symmetrised_negative_cosine(tiny_toy):
    model, images = tiny_model(tiny_toy), tiny_toy.pretrain_x[:16]
    torch.manual_seed(3)
    loss = model(images)["loss"]
    torch.manual_seed(3)
    z1, z2 = model.embed(torch.cat(views(images, 2, model.config.augment))).chunk(2)
    p1, p2 = model.predictor(torch.cat([z1, z2])).chunk(2)
    expected = (simsiam.negative_cosine(p1, z2) + simsiam.negative_cosine(p2, z1)) / 2
    assert loss.item() == pytest.approx(expected.item(), abs=1e-6)


def test_the_stop_gradient_changes_the_gradient_and_not_the_loss(tiny_toy):
    losses, grads = [], []
    for stop_gradient in (True, False):
        model = tiny_model(tiny_toy, stop_gradient=stop_gradient)
        torch.manual_seed(3)
        loss = model(tiny_toy.pretrain_x[:16])["loss"]
        loss.backward()
        losses.append(loss.item())
        grads.append(model.projector[0].weight.grad)
    assert losses[0] == pytest.approx(losses[1], abs=1e-6)
    assert not torch.allclose(grads[0], grads[1])


# ----------------------------------------------------------------------------- collapse switches

@functools.lru_cache(maxsize=None)
def probe(**switch) -> dict[str, float]:
    """One run of cookbook.book.collapse (cached: the default run serves every switch). SimSiam's projector
    ends in BatchNorm, which holds the collapse off for a while: 100 steps leave RankMe near 3 with either
    switch, 300 steps bring it under 2 while the default stays above 9."""
    return train_and_probe(simsiam, steps=300, **switch)


@pytest.mark.parametrize("switch", [{"predictor": False}, {"stop_gradient": False}],
                         ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_switch_collapses_and_default_does_not(switch):
    default, switched = probe(), probe(**switch)
    assert not is_collapsed(default), f"SimSiam collapsed with its defaults: {default}"
    assert is_collapsed(switched), f"SimSiam with {switch} did not collapse: {switched} (default: {default})"
    assert default["rankme"] >= 3 * switched["rankme"] or default["mean_std"] >= 5 * switched["mean_std"]
