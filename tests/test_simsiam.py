"""recipes.simsiam: the loss by hand and its invariants, its errors, and collapse without
the predictor or the stop-gradient."""
import functools
import math

import pytest
import torch

from cookbook.collapse import is_collapsed, train_and_probe
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
    with pytest.raises(simsiam.training.ConfigError, match="pred_hidden_dim"):
        simsiam.Config.for_budget("quick", pred_hidden_dim=0)


def test_switches_shape_the_model(tiny_toy):
    config = simsiam.Config.for_budget("quick", width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=4)
    model = simsiam.build_model(config, tiny_toy)
    assert isinstance(model.projector[-1], torch.nn.BatchNorm1d) and not model.projector[-1].affine
    assert model.predictor[0].out_features == 4
    no_predictor = simsiam.build_model(simsiam.Config.for_budget("quick", width=4, predictor=False), tiny_toy)
    assert isinstance(no_predictor.predictor, torch.nn.Identity)


def test_simsiam_trains_a_few_steps(tiny_toy):
    from cookbook.train import Trainer

    config = simsiam.Config.for_budget("quick", steps=3, batch_size=16, width=4, proj_hidden_dim=32, proj_dim=16,
                                       pred_hidden_dim=8, eval_every=0, log_every=1, progress=False)
    records = list(Trainer(simsiam.build_model(config, tiny_toy), tiny_toy, config).run())
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(-1.0 <= r["loss"] <= 1.0 and 0.0 <= r["z_std"] <= 1.0 for r in records)


# ----------------------------------------------------------------------------- collapse switches

@functools.lru_cache(maxsize=None)
def probe(**switch) -> dict[str, float]:
    """One run of cookbook.collapse (cached: the default run serves every switch). SimSiam's projector
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
