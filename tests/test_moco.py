"""recipes.moco: the InfoNCE loss by hand, with and without a queue, the queue and the momentum encoder."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cookbook.augment import views
from cookbook.config import ConfigError
from recipes import moco


def test_info_nce_without_queue_by_hand():
    # Orthogonal queries equal to their keys, tau 1: logits are the identity, so each row's loss is
    # -log(e / (e + 1)) = log(1 + 1/e) = 0.3133.
    q = torch.eye(2)
    assert moco.info_nce_loss(q, q.clone(), None, 1.0).item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_info_nce_with_queue_by_hand():
    # q = k = (1, 0), negatives (0, 1) and (-1, 0), tau 0.5: logits (2, 0, -2) with the positive first,
    # loss = -log(e^2 / (e^2 + 1 + e^-2)) = log(1 + e^-2 + e^-4).
    q = torch.tensor([[1.0, 0.0]])
    queue = torch.tensor([[0.0, 1.0], [-1.0, 0.0]])
    expected = math.log(1 + math.exp(-2) + math.exp(-4))
    assert moco.info_nce_loss(q, q.clone(), queue, 0.5).item() == pytest.approx(expected)


def test_info_nce_normalises_its_inputs_and_ignores_an_empty_queue():
    torch.manual_seed(0)
    q, k, queue = torch.randn(8, 4), torch.randn(8, 4), torch.randn(16, 4)
    base = moco.info_nce_loss(q, k, queue, 0.2)
    assert moco.info_nce_loss(3 * q, 0.5 * k, 7 * queue, 0.2).item() == pytest.approx(base.item(), rel=1e-5)
    assert (moco.info_nce_loss(q, k, torch.empty(0, 4), 0.2).item()
            == pytest.approx(moco.info_nce_loss(q, k, None, 0.2).item()))


def test_queue_of_copies_of_the_key_gives_log_k_plus_one():
    # Every negative looks exactly like the positive: the softmax is uniform over K + 1 logits.
    k = torch.tensor([[0.6, 0.8]])
    assert moco.info_nce_loss(k, k.clone(), k.repeat(9, 1), 0.1).item() == pytest.approx(math.log(10), rel=1e-5)


def test_matching_keys_cost_less_than_random_ones():
    torch.manual_seed(1)
    q, queue = torch.randn(32, 16), torch.randn(64, 16)
    matching, random = q + 0.01 * torch.randn_like(q), torch.randn_like(q)
    assert moco.info_nce_loss(q, matching, queue) < moco.info_nce_loss(q, random, queue)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="temperature"):
        moco.info_nce_loss(torch.ones(4, 3), torch.ones(4, 3), None, 0.0)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        moco.info_nce_loss(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ValueError, match="queue"):
        moco.info_nce_loss(torch.ones(4, 3), torch.ones(4, 3), torch.ones(8, 2))
    with pytest.raises(ValueError, match="at least 2"):
        moco.info_nce_loss(torch.ones(1, 3), torch.ones(1, 3), None)


@pytest.mark.parametrize("setting, match", [
    ({"temperature": -0.1}, "temperature=-0.1"), ({"momentum": 1.5}, r"momentum=1.5.*\[0, 1\]"),
    ({"momentum": -0.1}, "momentum=-0.1"), ({"queue_size": 64}, "queue_size=64"), ({"queue_size": -1}, "queue_size=-1"),
    ({"bn_splits": 3}, "bn_splits=3 must divide"), ({"bn_splits": 0}, "bn_splits=0"),
    ({"batch_size": 8, "bn_splits": 8, "queue_size": 64}, "bn_splits=8 makes BatchNorm groups of 1 image"),
    ({"proj_dim": 0}, "proj_dim=0")])
def test_config_errors_say_what_to_do(setting, match):
    with pytest.raises(ConfigError, match=match):
        moco.Config.for_budget("quick", **setting)


def test_queue_size_zero_means_moco_v3():
    assert moco.Config.for_budget("quick", queue_size=0).queue_size == 0


def tiny(**overrides) -> moco.Config:
    values = dict(steps=3, batch_size=16, width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=32,
                  queue_size=64, bn_splits=2, eval_every=0, log_every=1, progress=False)
    return moco.Config.for_budget("quick", **{**values, **overrides})


def test_queue_is_a_ring_buffer_saved_with_the_model(tiny_toy):
    model = moco.build_model(tiny(queue_size=40), tiny_toy)
    assert {"queue", "queue_ptr"} <= set(model.state_dict())
    model.enqueue(torch.ones(32, 16))
    model.enqueue(-torch.ones(16, 16))  # 8 slots left at the end, then wraps: the oldest 8 are overwritten
    unit = 1 / math.sqrt(16)
    assert model.queue_ptr.item() == 8
    assert torch.allclose(model.queue[:8], torch.full((8, 16), -unit))
    assert torch.allclose(model.queue[8:32], torch.full((24, 16), unit))
    assert torch.allclose(model.queue[32:], torch.full((8, 16), -unit))


def test_momentum_encoder_gets_no_gradient_and_follows_the_online_one(tiny_toy):
    config = tiny(momentum=0.0)
    model = moco.build_model(config, tiny_toy)
    assert not any(p.requires_grad for p in model.momentum_encoder.parameters())
    with torch.no_grad():
        for p in model.backbone.parameters():
            p.add_(1.0)
    model.after_step(1, config.steps)  # momentum 0: the key encoder becomes a copy of the online one
    online = nn.Sequential(model.backbone, model.projector)
    assert all(torch.equal(a, b) for a, b in zip(model.momentum_encoder.parameters(), online.parameters()))


def test_shuffled_key_groups_come_back_in_order(tiny_toy):
    # In eval mode BatchNorm uses its running statistics, so the groups must not change the keys at all.
    model = moco.build_model(tiny(bn_splits=4), tiny_toy).eval()
    x = tiny_toy.train_x[:16].float() / 255
    assert torch.allclose(model.keys(x), model.momentum_encoder(x), atol=1e-5)


def test_v2_forward_contrasts_queries_with_shuffled_keys_and_the_queue_then_queues_the_keys(tiny_toy):
    model = moco.build_model(tiny(), tiny_toy)
    images = tiny_toy.train_x[:16]
    queue = model.queue.clone()
    torch.manual_seed(1)
    loss = model(images)["loss"]
    assert torch.equal(model.queue, queue) and model.queue_ptr.item() == 0  # forward leaves the queue alone
    torch.manual_seed(1)  # the same views and key shuffle, by hand
    view1, view2 = views(images, 2, model.config.augment)
    q = torch.cat([model.predictor(model.projector(model.backbone(part))) for part in view1.chunk(2)])
    k = model.keys(view2)
    assert loss.item() == pytest.approx(moco.info_nce_loss(q, k, queue, model.config.temperature).item(), rel=1e-6)
    model.after_step(1, 3)
    assert model.queue_ptr.item() == 16
    assert torch.allclose(model.queue[:16], F.normalize(k, dim=1), atol=1e-6)
    assert torch.equal(model.queue[16:], queue[16:])


def test_v3_forward_is_the_symmetric_in_batch_info_nce_with_a_predictor(tiny_toy):
    model = moco.build_model(tiny(queue_size=0), tiny_toy)
    assert not isinstance(model.predictor, nn.Identity)  # the predictor is MoCo v3's
    images = tiny_toy.train_x[:16]
    torch.manual_seed(1)
    loss = model(images)["loss"]
    torch.manual_seed(1)
    both = torch.cat(views(images, 2, model.config.augment))
    q1, q2 = model.predictor(model.projector(model.backbone(both))).chunk(2)
    k1, k2 = model.momentum_encoder(both).chunk(2)
    t = model.config.temperature
    expected = moco.info_nce_loss(q1, k2, None, t) + moco.info_nce_loss(q2, k1, None, t)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
