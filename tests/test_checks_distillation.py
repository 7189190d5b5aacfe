"""The checkers of chapter 4 (self-distillation): the reference passes, the usual mistakes are named."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cookbook import ema
from cookbook.book import checks

# ----------------------------------------------------------------------------- the EMA update

def ema_reference(target, online, momentum):
    ema.ema_update(target, online, momentum)


@torch.no_grad()
def ema_wrong_side(target, online, momentum):
    for t, o in zip(target.parameters(), online.parameters()):
        t.mul_(1 - momentum).add_(o, alpha=momentum)


@torch.no_grad()
def ema_rebinds(target, online, momentum):
    for t, o in zip(target.parameters(), online.parameters()):
        t = momentum * t + (1 - momentum) * o  # noqa: F841  a new tensor; the target keeps its weights


@torch.no_grad()
def ema_parameters_only(target, online, momentum):
    for t, o in zip(target.parameters(), online.parameters()):
        t.lerp_(o, 1 - momentum)


@torch.no_grad()
def ema_copies(target, online, momentum):
    target.load_state_dict(online.state_dict())


def ema_no_grad_missing(target, online, momentum):
    for t, o in zip(target.parameters(), online.parameters()):
        t.copy_(momentum * t + (1 - momentum) * o)  # o requires grad: the target joins the graph
    for t, o in zip(target.buffers(), online.buffers()):
        if t.is_floating_point():
            t.copy_(momentum * t + (1 - momentum) * o)


@torch.no_grad()
def ema_moves_online(target, online, momentum):
    for t, o in zip(target.parameters(), online.parameters()):
        o.lerp_(t, 1 - momentum)


@torch.no_grad()
def ema_all_buffers(target, online, momentum):
    for t, o in zip(list(target.parameters()) + list(target.buffers()),
                    list(online.parameters()) + list(online.buffers())):
        t.lerp_(o, 1 - momentum)  # fails on the integer num_batches_tracked


@torch.no_grad()
def ema_skips_the_counter(target, online, momentum):
    for t, o in zip(list(target.parameters()) + list(target.buffers()),
                    list(online.parameters()) + list(online.buffers())):
        if t.is_floating_point():  # right for every float, but num_batches_tracked is left behind
            t.lerp_(o, 1 - momentum)


def test_ema_checker_accepts_the_library_and_a_hand_written_update():
    assert checks.check_ema_update(ema_reference)

    @torch.no_grad()
    def by_hand(target, online, momentum):
        for t, o in zip(list(target.parameters()) + list(target.buffers()),
                        list(online.parameters()) + list(online.buffers())):
            if t.is_floating_point():
                t.mul_(momentum).add_(o, alpha=1 - momentum)
            else:
                t.copy_(o)

    assert checks.check_ema_update(by_hand)


@pytest.mark.parametrize("wrong, words", [
    (ema_wrong_side, "wrong side"),
    (ema_rebinds, "rebinding"),
    (ema_parameters_only, "buffers"),
    (ema_copies, "momentum 0"),
    (ema_no_grad_missing, "autograd graph"),
    (ema_moves_online, "online network changed"),
    (ema_all_buffers, "integer buffer"),
    (ema_skips_the_counter, "was not copied"),
    (lambda target, online, momentum: 1 / 0, "ZeroDivisionError"),
], ids=lambda x: getattr(x, "__name__", str(x)))
def test_ema_checker_names_the_mistake(wrong, words):
    feedback = checks.check_ema_update(wrong)
    assert not feedback and words in feedback.message, feedback.message


def test_ema_checker_explains_an_unimplemented_answer():
    def placeholder(target, online, momentum):
        raise NotImplementedError

    feedback = checks.check_ema_update(placeholder)
    assert not feedback and "NotImplementedError" in feedback.message
    feedback = checks.check_ema_update(lambda target, online, momentum: None)  # does nothing at all
    assert not feedback and "did not change" in feedback.message


# ----------------------------------------------------------------------------- DINO's teacher targets

def targets_reference(logits, center, temperature):
    return F.softmax((logits.detach() - center) / temperature, dim=-1)


def test_dino_targets_checker_accepts_the_reference():
    assert checks.check_dino_targets(targets_reference)
    with_no_grad = torch.no_grad()(lambda logits, center, t: torch.softmax((logits - center) / t, dim=1))
    assert checks.check_dino_targets(with_no_grad)


@pytest.mark.parametrize("wrong, words", [
    (lambda g, c, t: F.softmax(g.detach() / t, dim=-1), "centre is missing"),
    (lambda g, c, t: F.softmax(g.detach() / t, dim=-1) - c, "after the softmax"),
    (lambda g, c, t: F.softmax(g.detach() / t - c, dim=-1), "after dividing by the temperature"),
    (lambda g, c, t: F.softmax((g.detach() - c) * t, dim=-1), "multiplies"),
    (lambda g, c, t: F.softmax(g.detach() - c, dim=-1), "temperature is missing"),
    (lambda g, c, t: F.softmax((g.detach() - c) / t, dim=0), "over the batch"),
    (lambda g, c, t: F.softmax((g.detach() - g.detach().mean(0)) / t, dim=-1), "batch's mean"),
    (lambda g, c, t: F.log_softmax((g.detach() - c) / t, dim=-1), "log-probabilities"),
    (lambda g, c, t: F.softmax((g - c) / t, dim=-1), "detach"),
    (lambda g, c, t: F.softmax((g.detach() - c) / t, dim=-1).sum(0), "(N, K)"),
])
def test_dino_targets_checker_names_the_mistake(wrong, words):
    feedback = checks.check_dino_targets(wrong)
    assert not feedback and words in feedback.message, feedback.message


def test_dino_targets_checker_explains_an_unimplemented_answer():
    def placeholder(logits, center, temperature):
        raise NotImplementedError

    assert "NotImplementedError" in checks.check_dino_targets(placeholder).message
    assert "return" in checks.check_dino_targets(lambda g, c, t: None).message
