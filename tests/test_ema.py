"""The EMA helper that BYOL, MoCo and DINO build on."""
import copy

import pytest
import torch
from torch import nn

from cookbook.ema import cosine_momentum, ema_update


def _pair():
    torch.manual_seed(0)
    online = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    online(torch.randn(8, 3))  # changes the BatchNorm running statistics
    return online, target


def test_ema_interpolates_parameters_and_buffers():
    online, target = _pair()
    before = [t.clone() for t in target.parameters()]
    ema_update(target, online, momentum=0.75)
    for b, t, o in zip(before, target.parameters(), online.parameters()):
        assert torch.allclose(t, 0.75 * b + 0.25 * o)
    assert torch.equal(target[1].num_batches_tracked, online[1].num_batches_tracked)


def test_ema_momentum_zero_copies_and_one_freezes():
    online, target = _pair()
    frozen = copy.deepcopy(target)
    ema_update(frozen, online, momentum=1.0)
    assert all(torch.equal(a, b) for a, b in zip(frozen.parameters(), target.parameters()))
    ema_update(target, online, momentum=0.0)
    assert all(torch.equal(a, b) for a, b in zip(target.parameters(), online.parameters()))
    assert torch.allclose(target[1].running_mean, online[1].running_mean)


def test_ema_rejects_momentum_outside_unit_interval():
    online, target = _pair()
    with pytest.raises(ValueError, match="momentum"):
        ema_update(target, online, momentum=1.5)


def test_cosine_momentum_schedule_endpoints():
    assert cosine_momentum(0, 100, base=0.99) == pytest.approx(0.99)
    assert cosine_momentum(100, 100, base=0.99) == pytest.approx(1.0)
    assert 0.99 < cosine_momentum(50, 100, base=0.99) < 1.0


def test_cosine_momentum_from_zero_stays_zero_a_copy_at_every_step():
    assert all(cosine_momentum(step, 100, base=0.0) == 0.0 for step in (0, 1, 50, 99, 100))


def test_momentum_schedules_constant_keeps_the_base_and_cosine_reaches_one():
    from cookbook.ema import momentum_at

    assert [momentum_at(s, 100, 0.9, "constant") for s in (0, 50, 100)] == [0.9, 0.9, 0.9]
    assert momentum_at(0, 100, 0.9) == pytest.approx(0.9) and momentum_at(100, 100, 0.9) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="cosine, constant"):
        momentum_at(0, 100, 0.9, "linear")
