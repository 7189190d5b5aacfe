"""recipes.byol: the loss by hand and its invariants, the EMA target, its errors, collapse without
the predictor or the stop-gradient, and no collapse without the momentum."""
import functools
import math

import pytest
import torch
import torch.nn.functional as F

from cookbook import evaluate
from cookbook.augment import views
from cookbook.book.collapse import is_collapsed, train_and_probe
from cookbook.config import ConfigError
from recipes import byol


def test_a_small_case_by_hand():
    # Row 1: (1, 0) against (0, 1), cos 0: 2 - 0 = 2. Row 2: (1, 0) against (1, 1), cos 1/sqrt(2):
    # 2 - sqrt(2). Mean: (4 - sqrt(2)) / 2 = 2 - sqrt(2)/2.
    p = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    z = torch.tensor([[0.0, 1.0], [1.0, 1.0]])
    assert byol.byol_loss(p, z).item() == pytest.approx(2 - math.sqrt(2) / 2)


def test_identical_opposite_and_orthogonal_pairs():
    torch.manual_seed(0)
    p = torch.randn(16, 8)
    assert byol.byol_loss(p, p.clone()).item() == pytest.approx(0.0, abs=1e-6)
    assert byol.byol_loss(p, -p).item() == pytest.approx(4.0)
    assert byol.byol_loss(torch.eye(4)[:2], torch.eye(4)[2:]).item() == pytest.approx(2.0)


def test_loss_is_the_squared_distance_of_unit_vectors_and_ignores_their_lengths():
    torch.manual_seed(1)
    p, z = torch.randn(32, 6), torch.randn(32, 6)
    base = byol.byol_loss(p, z).item()
    assert base == pytest.approx((F.normalize(p, dim=1) - F.normalize(z, dim=1)).pow(2).sum(dim=1).mean().item())
    assert byol.byol_loss(z, p).item() == pytest.approx(base, rel=1e-5)
    assert byol.byol_loss(p * (torch.rand(32, 1) * 10 + 0.1), 3 * z).item() == pytest.approx(base, rel=1e-5)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        byol.byol_loss(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="at least one pair"):
        byol.byol_loss(torch.ones(0, 3), torch.ones(0, 3))


@pytest.mark.parametrize("setting, match", [
    ({"momentum": 1.5}, r"momentum=1.5.*\[0, 1\]"), ({"momentum": -0.5}, "momentum=-0.5"),
    ({"proj_dim": 0}, "proj_dim=0"), ({"proj_hidden_dim": 0}, "proj_hidden_dim=0"),
    ({"proj_depth": 0}, "proj_depth=0"), ({"pred_hidden_dim": 0}, "pred_hidden_dim=0")])
def test_config_errors_name_the_setting(setting, match):
    with pytest.raises(ConfigError, match=match):
        byol.Config.for_budget("quick", **setting)


def tiny(**overrides) -> byol.Config:
    values = dict(steps=3, batch_size=16, width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=32,
                  eval_every=0, log_every=1, progress=False)
    return byol.Config.for_budget("quick", **{**values, **overrides})


@pytest.mark.parametrize("stop_gradient", [True, False])
def test_forward_is_the_symmetric_byol_loss_against_the_target(tiny_toy, stop_gradient):
    model = byol.build_model(tiny(stop_gradient=stop_gradient), tiny_toy)
    with torch.no_grad():  # a target that differs from the online network, to tell the two apart
        for t in model.target.parameters():
            t.add_(0.1 * torch.randn_like(t))
    images = tiny_toy.train_x[:16]
    torch.manual_seed(1)
    outputs = model(images)
    torch.manual_seed(1)  # the same views, by hand
    both = torch.cat(views(images, 2, model.config.augment))
    z = model.projector(model.backbone(both))
    p1, p2 = model.predictor(z).chunk(2)
    if stop_gradient:
        z = model.target(both)
    z1, z2 = z.chunk(2)
    expected = (byol.byol_loss(p1, z2) + byol.byol_loss(p2, z1)) / 2
    assert outputs["loss"].item() == pytest.approx(expected.item(), rel=1e-6)
    assert outputs["z_std"].item() == pytest.approx(evaluate.feature_std(z).mean().item(), rel=1e-6)


def test_after_step_moves_the_target_by_the_cosine_momentum(tiny_toy):
    model = byol.build_model(tiny(momentum=0.5), tiny_toy)
    online = list(model.backbone.parameters()) + list(model.projector.parameters())
    start = [t.clone() for t in model.target.parameters()]
    with torch.no_grad():
        for p in online:
            p.add_(1.0)
    model.after_step(0, 10)  # at step 0 the momentum is the base 0.5: half-way towards the online network
    assert all(torch.allclose(t, b + 0.5) for t, b in zip(model.target.parameters(), start))
    model.after_step(10, 10)  # at the end the cosine has raised it to 1: the target stays where it is
    assert all(torch.allclose(t, b + 0.5) for t, b in zip(model.target.parameters(), start))


def test_the_target_follows_the_online_network_by_ema_not_by_gradients(tiny_toy):
    from cookbook.train import Trainer

    config = tiny()
    model = byol.build_model(config, tiny_toy)
    target = [t.clone() for t in model.target.parameters()]
    assert all(torch.equal(t, o) for t, o in zip(target, model.backbone.parameters()))  # starts as a copy
    trainer = Trainer(model, tiny_toy, config)
    optimized = {id(p) for group in trainer.optimizer.param_groups for p in group["params"]}
    assert not any(id(p) in optimized for p in model.target.parameters())
    list(trainer.run())
    online = list(model.backbone.parameters()) + list(model.projector.parameters())
    moved = [t for t, before in zip(model.target.parameters(), target) if not torch.equal(t, before)]
    assert moved and all(t.grad is None for t in model.target.parameters())
    assert not all(torch.equal(t, o) for t, o in zip(model.target.parameters(), online))  # lags behind


# ----------------------------------------------------------------------------- collapse switches

@functools.lru_cache(maxsize=None)
def probe(**switch) -> dict[str, float]:
    """One short run of cookbook.book.collapse (cached: the default run serves every switch)."""
    return train_and_probe(byol, **switch)


@pytest.mark.parametrize("switch", [{"predictor": False}, {"stop_gradient": False}],
                         ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()))
def test_switch_collapses_and_default_does_not(switch):
    default, switched = probe(), probe(**switch)
    assert not is_collapsed(default), f"BYOL collapsed with its defaults: {default}"
    assert is_collapsed(switched), f"BYOL with {switch} did not collapse: {switched} (default: {default})"
    assert default["rankme"] >= 3 * switched["rankme"] or default["mean_std"] >= 5 * switched["mean_std"]


def test_without_the_momentum_byol_still_does_not_collapse():
    # Momentum 0 makes the target a copy of the online network after every step: BYOL becomes SimSiam
    # without the projector's final BatchNorm. Grill et al. (2020, table 5a) saw that setting collapse;
    # Chen & He (2021) found that the predictor and the stop-gradient alone prevent collapse, and so does
    # this probe (measured: RankMe 7.2 against 7.6 for the default at 300 steps; no collapse with lr 3e-2,
    # weight decay 0.1 or 0.5, or LARS). The chapter shows it; the collapse switches are the other two.
    default, copied = probe(steps=300), probe(steps=300, momentum=0.0)
    assert not is_collapsed(default) and not is_collapsed(copied), (default, copied)
    assert copied["rankme"] > 0.5 * default["rankme"], (default, copied)


def test_the_predictor_can_learn_at_a_multiple_of_the_encoders_rate(tiny_toy):
    from cookbook.optim import learning_rate
    from cookbook.train import Trainer

    config = tiny(pred_lr_scale=10.0)
    model = byol.build_model(config, tiny_toy)
    trainer = Trainer(model, tiny_toy, config)
    predictor = {id(p) for p in model.predictor.parameters()}
    trainer.train_step()
    lr = learning_rate(0, config)
    for group in trainer.optimizer.param_groups:
        in_predictor = {id(p) in predictor for p in group["params"]}
        assert len(in_predictor) <= 1, "a group mixes predictor and encoder parameters"
        expected = 10 * lr if in_predictor == {True} else lr
        assert group["lr"] == pytest.approx(expected)
    assert sum(len(g["params"]) for g in trainer.optimizer.param_groups) == sum(
        1 for p in model.parameters() if p.requires_grad)


def test_a_constant_momentum_keeps_the_target_as_far_behind_at_the_end(tiny_toy):
    from cookbook.ema import momentum_at

    config = tiny(momentum=0.5, momentum_schedule="constant")
    assert momentum_at(config.steps, config.steps, config.momentum, config.momentum_schedule) == 0.5
    with pytest.raises(ConfigError, match="momentum_schedule='step'.*cosine, constant"):
        tiny(momentum_schedule="step")
    with pytest.raises(ConfigError, match="pred_lr_scale=0"):
        tiny(pred_lr_scale=0.0)
