"""recipes.moco: the InfoNCE loss by hand, with and without a queue, the queue and the momentum encoder."""
import math

import pytest
import torch
from torch import nn

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


@pytest.mark.parametrize("setting, match", [({"temperature": -0.1}, "temperature"), ({"momentum": 1.5}, "momentum"),
                                            ({"queue_size": 64}, "queue_size"), ({"bn_splits": 3}, "bn_splits")])
def test_config_errors_say_what_to_do(setting, match):
    with pytest.raises(moco.training.ConfigError, match=match):
        moco.Config.for_budget("quick", **setting)


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


@pytest.mark.parametrize("queue_size", [64, 0], ids=["v2-queue", "v3-in-batch"])
def test_moco_trains_a_few_steps(tiny_toy, queue_size):
    from cookbook.train import Trainer

    config = tiny(queue_size=queue_size)
    model = moco.build_model(config, tiny_toy)
    assert isinstance(model.predictor, nn.Identity) == (queue_size > 0)  # the predictor is MoCo v3's
    records = list(Trainer(model, tiny_toy, config).run())
    assert [r["step"] for r in records] == [1, 2, 3]
    assert all(math.isfinite(r["loss"]) for r in records)
    if queue_size:
        assert model.queue_ptr.item() == 3 * 16 % queue_size
