"""recipes.nnclr: the neighbour lookup and the loss by hand, its invariants, the support-set queue."""
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cookbook.config import ConfigError
from recipes import nnclr


def test_nearest_neighbour_by_cosine():
    support = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    # By angle, (2, 1) is closest to (1, 0), (-1, 0.2) to (-1, 0) and (0.1, 5) to (0, 1); the support set
    # is scaled by 3 to show the neighbours come back unit-length.
    z = torch.tensor([[2.0, 1.0], [-1.0, 0.2], [0.1, 5.0]])
    assert torch.allclose(nnclr.nearest_neighbour(z, 3 * support), support[[0, 2, 1]])


def test_loss_by_hand():
    # Support (1, 0), (0, 1); tau 0.5; predictions p1 = p2 = identity rows.
    # View 1's neighbours are (1, 0), (0, 1): logits NN1 @ p2.T / tau = [[2, 0], [0, 2]], each row
    # -log(e^2 / (e^2 + 1)) = log(1 + e^-2).
    # View 2's neighbours are swapped, (0, 1), (1, 0): logits [[0, 2], [2, 0]], each row
    # -log(1 / (1 + e^2)) = log(1 + e^2) = 2 + log(1 + e^-2).
    # Mean of the two directions: 1 + log(1 + e^-2).
    support = torch.eye(2)
    z1 = torch.tensor([[0.9, 0.1], [0.2, 0.8]])
    z2 = torch.tensor([[0.1, 0.9], [0.7, 0.3]])
    p = torch.eye(2)
    loss = nnclr.nnclr_loss(z1, z2, support, 0.5, p1=p, p2=p.clone())
    assert loss.item() == pytest.approx(1 + math.log(1 + math.exp(-2)))


def test_with_itself_as_neighbour_it_is_the_cross_view_info_nce():
    # When each embedding's neighbour is itself, NNCLR falls back to contrasting view 1 against view 2.
    torch.manual_seed(0)
    z1, z2 = torch.randn(8, 4), torch.randn(8, 4)
    n1, n2 = F.normalize(z1, dim=1), F.normalize(z2, dim=1)
    targets = torch.arange(8)
    expected = (F.cross_entropy(n1 @ n2.T / 0.1, targets) + F.cross_entropy(n2 @ n1.T / 0.1, targets)) / 2
    assert nnclr.nnclr_loss(z1, z2, torch.cat([z1, z2]), 0.1).item() == pytest.approx(expected.item(), rel=1e-5)


def test_gradient_flows_through_the_predictions_only():
    torch.manual_seed(1)
    z1, z2 = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    p1, p2 = torch.randn(6, 4, requires_grad=True), torch.randn(6, 4, requires_grad=True)
    support = torch.randn(20, 4, requires_grad=True)
    nnclr.nnclr_loss(z1, z2, support, 0.1, p1, p2).backward()
    assert z1.grad is None and z2.grad is None and support.grad is None
    assert p1.grad.abs().sum() > 0 and p2.grad.abs().sum() > 0


def test_loss_is_scale_invariant_and_symmetric_in_the_views():
    torch.manual_seed(2)
    z1, z2, support = torch.randn(8, 4), torch.randn(8, 4), torch.randn(32, 4)
    base = nnclr.nnclr_loss(z1, z2, support, 0.2).item()
    assert nnclr.nnclr_loss(2 * z1, 5 * z2, 3 * support, 0.2).item() == pytest.approx(base, rel=1e-5)
    assert nnclr.nnclr_loss(z2, z1, support, 0.2).item() == pytest.approx(base, rel=1e-5)


def test_bad_inputs_are_refused():
    z = torch.ones(4, 3)
    with pytest.raises(ValueError, match="temperature"):
        nnclr.nnclr_loss(z, z, z, 0.0)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        nnclr.nnclr_loss(z, torch.ones(4, 2), z)
    with pytest.raises(ValueError, match="empty"):
        nnclr.nnclr_loss(z, z, torch.empty(0, 3))
    with pytest.raises(ValueError, match=r"support \(K, D\)"):
        nnclr.nearest_neighbour(z, torch.ones(5, 2))
    with pytest.raises(ValueError, match="at least 2"):
        nnclr.nnclr_loss(torch.ones(1, 3), torch.ones(1, 3), z)


@pytest.mark.parametrize("setting, match", [
    ({"temperature": 0.0}, "temperature=0.0"), ({"queue_size": 64}, "queue_size=64"),
    ({"queue_size": 0}, "queue_size=0"), ({"proj_dim": 0}, "proj_dim=0"),
    ({"pred_hidden_dim": 0}, "pred_hidden_dim=0")])
def test_config_errors_say_what_to_do(setting, match):
    with pytest.raises(ConfigError, match=match):
        nnclr.Config.for_budget("quick", **setting)


def tiny(**overrides) -> nnclr.Config:
    values = dict(steps=3, batch_size=16, width=4, proj_hidden_dim=32, proj_dim=16, pred_hidden_dim=32,
                  queue_size=40, eval_every=0, log_every=1, progress=False)
    return nnclr.Config.for_budget("quick", **{**values, **overrides})


def test_support_set_is_a_queue_saved_with_the_model(tiny_toy):
    model = nnclr.build_model(tiny(), tiny_toy)
    assert {"queue", "queue_count"} <= set(model.state_dict())
    model.enqueue(torch.ones(32, 16))
    model.enqueue(-torch.ones(16, 16))  # 8 slots left at the end, then wraps: the oldest 8 are overwritten
    unit = 1 / math.sqrt(16)
    assert model.queue_count.item() == 48
    assert torch.allclose(model.queue[:8], torch.full((8, 16), -unit))
    assert torch.allclose(model.queue[8:32], torch.full((24, 16), unit))


def test_forward_uses_the_support_set_and_queues_view_one_after_the_step(tiny_toy):
    model = nnclr.build_model(tiny(use_predictor=True), tiny_toy)
    model.enqueue(torch.randn(24, 16))
    images = tiny_toy.train_x[:16]
    torch.manual_seed(1)
    loss = model(images)["loss"]
    assert model.queue_count.item() == 24  # forward alone leaves the support set as it was
    torch.manual_seed(1)  # the same views, by hand
    z1, z2 = model.embed_views(images)
    p1, p2 = model.predictor(torch.cat([z1, z2])).chunk(2)
    expected = nnclr.nnclr_loss(z1, z2, model.queue[:24], model.config.temperature, p1, p2)
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    model.after_step(1, 3)
    assert model.queue_count.item() == 40
    assert torch.allclose(model.queue[24:40], F.normalize(z1.detach(), dim=1), atol=1e-6)


def test_nnclr_trains_a_few_steps_and_fills_its_support_set(tiny_toy):
    from cookbook.train import Trainer

    config = tiny()
    model = nnclr.build_model(config, tiny_toy)
    list(Trainer(model, tiny_toy, config).run())  # the first step runs on an empty support set
    assert model.queue_count.item() == 3 * 16
    assert torch.allclose(model.queue.norm(dim=1), torch.ones(40))


def test_predictor_can_be_switched_off(tiny_toy):
    assert isinstance(nnclr.build_model(tiny(use_predictor=False), tiny_toy).predictor, nn.Identity)
