"""recipes.swav: Sinkhorn-Knopp's balanced codes, the swapped prediction by hand, the frozen
prototypes, and the errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from cookbook.augment import multi_crop
from cookbook.config import ConfigError
from recipes import swav


def tiny_config(**overrides):
    values = dict(steps=3, batch_size=8, width=4, proj_hidden_dim=16, proj_dim=8, n_prototypes=6, local_size=16,
                  eval_every=0, log_every=1, progress=False)
    return swav.Config.for_budget("quick", **{**values, **overrides})


def test_sinkhorn_rows_are_distributions_and_columns_share_the_batch_equally():
    torch.manual_seed(0)
    scores = F.normalize(torch.randn(64, 8), dim=1) @ F.normalize(torch.randn(8, 16), dim=0)
    codes = swav.sinkhorn(scores, epsilon=0.05, iterations=50)
    assert codes.shape == (64, 16) and (codes >= 0).all()
    assert torch.allclose(codes.sum(dim=1), torch.ones(64), atol=1e-5)
    assert torch.allclose(codes.sum(dim=0), torch.full((16,), 64 / 16), rtol=1e-2)
    # Three iterations, SwAV's default, are already close to equipartition.
    three = swav.sinkhorn(scores, 0.05, 3).sum(dim=0)
    assert (three - 4).abs().max() < (F.softmax(scores / 0.05, dim=1).sum(dim=0) - 4).abs().max()


def test_sinkhorn_spreads_a_batch_that_prefers_one_prototype():
    # Every image likes prototype 0 best: a softmax sends them all there, Sinkhorn spreads them out.
    scores = torch.tensor([[1.0, 0.9, 0.8]] * 6) + 0.01 * torch.arange(18.0).view(6, 3).sin()
    softmax = F.softmax(scores / 0.05, dim=1)
    codes = swav.sinkhorn(scores, 0.05, 20)
    assert softmax.argmax(dim=1).tolist() == [0] * 6
    assert torch.allclose(codes.sum(dim=0), torch.full((3,), 2.0), atol=1e-3)


def test_sinkhorn_without_iterations_is_the_tempered_softmax_and_epsilon_sharpens():
    torch.manual_seed(1)
    scores = torch.randn(5, 4)
    assert torch.allclose(swav.sinkhorn(scores, 0.5, 0), F.softmax(scores / 0.5, dim=1))
    sharp, soft = swav.sinkhorn(scores, 0.01, 3), swav.sinkhorn(scores, 1.0, 3)
    assert sharp.max(dim=1).values.mean() > soft.max(dim=1).values.mean()


def test_sinkhorn_is_stable_for_tiny_epsilon():
    scores = torch.tensor([[1.0, -1.0], [-1.0, 1.0]])
    codes = swav.sinkhorn(scores, epsilon=1e-4, iterations=3)   # exp(1 / 1e-4) overflows outside log space
    assert torch.isfinite(codes).all() and torch.allclose(codes, torch.eye(2), atol=1e-4)


def test_swapped_prediction_by_hand():
    # One image, K = 2, two crops. Codes (1, 0) and (0, 1); scores (ln 3, 0) for both crops at temperature 1:
    # p = (3/4, 1/4). Pair (0, 1): -ln 3/4; pair (1, 0): -ln 1/4. The loss is their mean.
    scores = torch.tensor([math.log(3.0), 0.0]).expand(2, 1, 2)
    codes = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]]])
    expected = -(math.log(0.75) + math.log(0.25)) / 2
    assert swav.swapped_prediction_loss(scores, codes, temperature=1.0).item() == pytest.approx(expected, rel=1e-5)
    # A third (local) crop with uniform scores adds the pairs (0, 2) and (1, 2), each ln 2.
    scores3 = torch.cat([scores, torch.zeros(1, 1, 2)])
    expected3 = (-math.log(0.75) - math.log(0.25) + 2 * math.log(2)) / 4
    assert swav.swapped_prediction_loss(scores3, codes, 1.0).item() == pytest.approx(expected3, rel=1e-5)


def test_swapped_prediction_sends_no_gradient_into_the_codes():
    scores = torch.randn(2, 4, 3, requires_grad=True)
    codes = swav.sinkhorn(scores[0].detach(), 0.05, 3).unsqueeze(0).repeat(2, 1, 1).requires_grad_(True)
    swav.swapped_prediction_loss(scores, codes, 0.1).backward()
    assert codes.grad is None and scores.grad is not None and scores.grad.abs().sum() > 0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="epsilon"):
        swav.sinkhorn(torch.zeros(4, 3), epsilon=0.0)
    with pytest.raises(ValueError, match=r"\(N, K\)"):
        swav.sinkhorn(torch.zeros(4))
    with pytest.raises(ValueError, match="positive temperature"):
        swav.swapped_prediction_loss(torch.zeros(2, 4, 3), torch.zeros(2, 4, 3), 0.0)
    with pytest.raises(ValueError, match="V >= G"):
        swav.swapped_prediction_loss(torch.zeros(1, 4, 3), torch.zeros(2, 4, 3))
    with pytest.raises(ConfigError, match="at least 2 clusters"):
        tiny_config(n_prototypes=1)
    with pytest.raises(ConfigError, match="epsilon=0.0 must be > 0"):
        tiny_config(epsilon=0.0)


@pytest.mark.parametrize("setting, value, words", [
    ("sinkhorn_iterations", 0, "sinkhorn_iterations=0 must be >= 1"),
    ("temperature", 0.0, "temperature=0.0 must be > 0"),
    ("n_prototypes", 0, "n_prototypes=0 must be >= 1"),
    ("proj_dim", 0, "proj_dim=0 must be >= 1"),
    ("local_size", 0, "local_size=0 must be >= 1"),
    ("local_max_scale", 1.5, "local crop scales"),
])
def test_settings_that_cannot_work_are_refused(setting, value, words):
    with pytest.raises(ConfigError, match=words):
        tiny_config(**{setting: value})


def test_zero_frozen_steps_and_zero_local_crops_are_allowed():
    config = tiny_config(freeze_prototypes_steps=0, n_local_crops=0)
    assert (config.freeze_prototypes_steps, config.n_local_crops) == (0, 0)


def test_forward_is_the_swapped_prediction_loss_of_the_sinkhorn_codes(tiny_toy):
    config = tiny_config()
    model = swav.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:8]
    torch.manual_seed(3)
    out = model(images)
    torch.manual_seed(3)
    global_views, local_views = multi_crop(images, config.augment, 2, 2, 16, (0.05, 0.4))
    features = [model.backbone(torch.cat(global_views)), model.backbone(torch.cat(local_views))]
    z = F.normalize(model.projector(torch.cat(features)), dim=1)
    scores = (z @ model.prototypes.weight.T).view(4, 8, 6)
    codes = torch.stack([swav.sinkhorn(s, config.epsilon, config.sinkhorn_iterations) for s in scores[:2]])
    assert out["loss"].item() == pytest.approx(swav.swapped_prediction_loss(scores, codes, 0.1).item(), abs=1e-6)
    assert out["prototypes_used"].item() == len(set(scores[0].argmax(dim=1).tolist()))


def test_swav_trains_with_frozen_then_moving_unit_prototypes(tiny_toy):
    from cookbook.train import Trainer

    config = tiny_config(steps=4, freeze_prototypes_steps=2)
    model = swav.build_model(config, tiny_toy)
    start = model.prototypes.weight.detach().clone()
    trainer = Trainer(model, tiny_toy, config)
    records = list(trainer.run(steps=2))
    assert torch.allclose(model.prototypes.weight, start)          # frozen for the first steps
    records += list(trainer.run())
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert not torch.allclose(model.prototypes.weight, start)
    assert torch.allclose(model.prototypes.weight.norm(dim=1), torch.ones(6), atol=1e-5)
