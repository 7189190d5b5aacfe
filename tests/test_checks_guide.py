"""The cook's guide's checkers accept the right answer and name each usual mistake."""
import math

import torch
import torch.nn.functional as F
from torch import nn

from cookbook.book import checks
from cookbook.ema import momentum_at


def one_negative(z1, z2, negative, t, normalise=True, temperature=True, with_positive=True, reduce="mean", half=False):
    n = len(z1)
    z = torch.cat([z1, z2])
    z = F.normalize(z, dim=1) if normalise else z
    rows, positives = torch.arange(2 * n), torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    tau = t if temperature else 1.0
    pos, neg = (z[rows] * z[positives]).sum(1) / tau, (z[rows] * z[negative]).sum(1) / tau
    loss = -pos + (torch.logaddexp(pos, neg) if with_positive else neg)
    loss = loss[:n] if half else loss
    return loss.mean() if reduce == "mean" else loss.sum()


def test_one_negative_accepts_the_loss_and_names_each_mistake():
    assert checks.check_one_negative_loss(one_negative)
    for wrong, message in [(dict(normalise=False), "not normalised"),
                           (dict(temperature=False), "temperature is missing"),
                           (dict(with_positive=False), "positive is missing"), (dict(reduce="sum"), "summed"),
                           (dict(half=True), "first view")]:
        feedback = checks.check_one_negative_loss(lambda *a, w=wrong: one_negative(*a, **w))
        assert not feedback and message in feedback.message, (wrong, feedback.message)
    assert "NotImplementedError" in checks.check_one_negative_loss(
        lambda *a: (_ for _ in ()).throw(NotImplementedError)).message


def guillotine(head, k, mode="right"):
    linear = [i for i, m in enumerate(head) if isinstance(m, nn.Linear)]
    ends = [i - 1 for i in linear[1:]] + [len(head) - 1]
    if mode == "at_linear":
        return head[:linear[k - 1] + 1] if k else nn.Sequential()
    k = {"right": k, "more": k + 1, "fewer": k - 1}[mode]
    return head[:ends[k - 1] + 1] if k > 0 else nn.Sequential()


def test_guillotine_accepts_the_cut_and_names_each_mistake():
    assert checks.check_guillotine(guillotine)
    for mode, message in [("at_linear", "right after the Linear"), ("more", "too many"), ("fewer", "too few")]:
        feedback = checks.check_guillotine(lambda head, k, m=mode: guillotine(head, k, m))
        assert not feedback and message in feedback.message, (mode, feedback.message)
    assert "returned None" in checks.check_guillotine(lambda head, k: None).message


def test_momentum_schedule_accepts_both_schedules_and_names_each_mistake():
    assert checks.check_momentum_schedule(momentum_at)
    backwards = lambda s, t, b, sched: b if sched == "constant" else 1 - (1 - b) * (1 - math.cos(math.pi * s / t)) / 2  # noqa: E731
    linear = lambda s, t, b, sched: b if sched == "constant" else b + (1 - b) * s / t  # noqa: E731
    online_weight = lambda s, t, b, sched: 1 - b if sched == "constant" else momentum_at(s, t, b)  # noqa: E731
    always_cosine = lambda s, t, b, sched: momentum_at(s, t, b)  # noqa: E731
    for fn, message in [(backwards, "runs backwards"), (linear, "straight line"),
                        (online_weight, "weight of the online"), (always_cosine, "'constant' keeps base")]:
        feedback = checks.check_momentum_schedule(fn)
        assert not feedback and message in feedback.message, feedback.message
