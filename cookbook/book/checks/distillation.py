"""Checkers of chapter 4, self-distillation (BYOL, SimSiam, DINO): the EMA update of a target
network, and DINO's centred, sharpened teacher distribution; and the keys of the chapter's multiple-choice
exercises."""
from __future__ import annotations

import copy
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import ema, registry
from cookbook.book.checks.core import Choice, Feedback

__all__ = ["check_ema_update", "check_dino_targets"]


def _call(fn: Callable, *args):
    """Call the student's function; return ``(output, None)`` or ``(None, message)`` when it fails."""
    try:
        return fn(*args), None
    except NotImplementedError as err:
        if not str(err) or "not implemented for" not in str(err):  # the placeholder, not a torch kernel's refusal
            return None, "the function still raises NotImplementedError: fill in its body"
        return None, _crash_message(err)
    except Exception as err:  # the student's code may fail in any way; report it, do not crash the page
        return None, _crash_message(err)


def _crash_message(err: Exception) -> str:
    message = f"calling it raised {type(err).__name__}: {err}"
    if "Long" in str(err) or "integer" in str(err).lower():
        message += (" (BatchNorm's `num_batches_tracked` is an integer buffer: average only the "
                    "floating-point buffers, copy the others)")
    return message


# ------------------------------------------------------------------------- the EMA update

def _ema_pair(seed: int) -> tuple[nn.Module, nn.Module]:
    """A target and an online network with different weights and BatchNorm statistics; the target
    takes no gradients, as in the recipes."""
    generator = torch.Generator().manual_seed(seed)

    def net():
        module = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
        with torch.no_grad():
            for tensor in list(module.parameters()) + [module[1].running_mean, module[1].running_var]:
                tensor.copy_(torch.rand(tensor.shape, generator=generator) + 0.5)
            module[1].num_batches_tracked.fill_(int(torch.randint(1, 100, (), generator=generator)))
        return module

    return net().requires_grad_(False), net()


def _flat(tensors) -> torch.Tensor:
    return torch.cat([t.detach().flatten().double() for t in tensors])


def _float_buffers(module: nn.Module) -> list[torch.Tensor]:
    return [b for b in module.buffers() if b.is_floating_point()]


def _ema_mistake(got: torch.Tensor, target: torch.Tensor, online: torch.Tensor, m: float, what: str) -> str:
    """Name the update that turned ``target`` into ``got`` (``what``: "parameters" or "buffers")."""
    def same(a):
        return torch.allclose(got, a, rtol=1e-5, atol=1e-6)

    if same(target):
        if what == "buffers":
            return ("the parameters are right, but the buffers (BatchNorm's running mean and variance) did not "
                    "move: average the floating-point buffers too, or the target normalises with stale statistics")
        return ("the target did not change. Update it in place (`t.mul_(m).add_(o, alpha=1 - m)`, `t.copy_(...)` "
                "or `t.lerp_(o, 1 - m)`): rebinding the loop variable (`t = ...`) changes nothing")
    if same(online):
        return (f"the target's {what} are now a copy of the online network's: that is momentum 0. Keep a "
                "fraction `momentum` of the old target")
    if same((1 - m) * target + m * online):
        return (f"the momentum is on the wrong side: the target's {what} should keep `momentum` of themselves "
                "and take `1 - momentum` of the online network (target <- m * target + (1 - m) * online)")
    if same(target + (1 - m) * online):
        return (f"`(1 - m) * online` was added to the target's {what} without first scaling the target by `m`: "
                "the result is not an average")
    if same(m * target + online):
        return f"the online {what} were added without the factor `1 - m`: the result is not an average"
    return f"the target's {what} are not m * target + (1 - m) * online"


def check_ema_update(fn: Callable[[nn.Module, nn.Module, float], None]) -> Feedback:
    """Check ``fn(target, online, momentum)``, which must move ``target`` in place towards ``online``
    like :func:`cookbook.ema.ema_update` (parameters and floating-point buffers alike)."""
    for seed, momentum in ((1, 0.9), (2, 0.7)):
        target, online = _ema_pair(seed)
        expected = copy.deepcopy(target)
        ema.ema_update(expected, online, momentum)  # the library's own update
        before_target, before_online = copy.deepcopy(target), copy.deepcopy(online)
        _, error = _call(fn, target, online, momentum)
        if error:
            return Feedback(False, error)
        if not torch.equal(_flat(online.parameters()), _flat(before_online.parameters())) or not torch.equal(
                _flat(_float_buffers(online)), _flat(_float_buffers(before_online))):
            return Feedback(False, "the online network changed: the EMA moves the target towards the online "
                                   "network and leaves the online network to the optimizer")
        if any(p.requires_grad or p.grad_fn is not None for p in target.parameters()):
            return Feedback(False, "the target's parameters are now part of the autograd graph: do the update under "
                                   "`torch.no_grad()` (or with `o.detach()`), the target gets no gradients")
        detail = f" (momentum {momentum})"
        for what, tensors in (("parameters", lambda net: list(net.parameters())), ("buffers", _float_buffers)):
            got = _flat(tensors(target))
            if not torch.allclose(got, _flat(tensors(expected)), rtol=1e-5, atol=1e-6):
                why = _ema_mistake(got, _flat(tensors(before_target)), _flat(tensors(online)), momentum, what)
                return Feedback(False, why + detail)
        counters = [(t, o) for t, o in zip(target.buffers(), online.buffers()) if not t.is_floating_point()]
        if any(not torch.equal(t, o) for t, o in counters):
            return Feedback(False, "the floating-point parameters and buffers are right, but the integer buffer "
                                   "(BatchNorm's `num_batches_tracked`) was not copied from the online network: "
                                   "an integer count is not averaged, it is copied" + detail)
    return Feedback(True, "your update matches `cookbook.ema.ema_update` on parameters and BatchNorm statistics, "
                          "averaged, and on BatchNorm's step counter, copied, for two momenta.")


# ------------------------------------------------------------------------- DINO's teacher targets

def _dino_target_mistakes(logits: torch.Tensor, center: torch.Tensor, t: float) -> dict[str, torch.Tensor]:
    """The targets the usual mistakes give, for ``(N, K)`` teacher logits."""
    return {
        "the centre is missing: subtract it from the logits before the softmax (without it, one prototype can win "
        "for every image)": F.softmax(logits / t, dim=-1),
        "the centre was subtracted after the softmax: centre the logits, then take the softmax, so the output is "
        "still a probability distribution": F.softmax(logits / t, dim=-1) - center,
        "the centre was subtracted after dividing by the temperature: subtract it first, `(logits - center) / t`":
            F.softmax(logits / t - center, dim=-1),
        "the centre was added: subtract it": F.softmax((logits + center) / t, dim=-1),
        "the logits were centred with this batch's mean; DINO subtracts the running centre it is given":
            F.softmax((logits - logits.mean(dim=0, keepdim=True)) / t, dim=-1),
        "the temperature multiplies the logits; divide by it (a low temperature sharpens)":
            F.softmax((logits - center) * t, dim=-1),
        "the temperature is missing: divide the centred logits by it (that is the sharpening)":
            F.softmax(logits - center, dim=-1),
        "the softmax runs over the batch (dim=0); each image's distribution is over the K prototypes (dim=-1)":
            F.softmax((logits - center) / t, dim=0),
        "these are log-probabilities (log_softmax); the targets are probabilities (softmax)":
            F.log_softmax((logits - center) / t, dim=-1),
    }


def check_dino_targets(fn: Callable[[torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    """Check ``fn(teacher_logits, center, teacher_temp)``: DINO's teacher distribution
    ``softmax((teacher_logits - center) / teacher_temp)`` over the prototypes, detached; compared
    with the targets inside the recipe's own :func:`recipes.dino.dino_loss`."""
    dino = registry.get("dino")
    generator = torch.Generator().manual_seed(11)
    for n, k, t in ((6, 10, 0.5), (5, 16, 0.07)):
        logits = (torch.rand(n, k, generator=generator) * 2 - 1).requires_grad_(True)  # cosine logits in [-1, 1]
        center = 0.5 * torch.randn(1, k, generator=generator)
        detail = f" (on {n} images and {k} prototypes, teacher temperature {t})"
        got, error = _call(fn, logits, center.clone(), t)
        if error:
            return Feedback(False, error)
        if got is None:
            return Feedback(False, "it returned None: did you forget `return`?")
        if not isinstance(got, torch.Tensor) or got.shape != (n, k):
            shape = tuple(got.shape) if isinstance(got, torch.Tensor) else type(got).__name__
            return Feedback(False, f"it returned {shape}; the targets are an (N, K) = {(n, k)} tensor, one "
                                   "distribution over the prototypes per image" + detail)
        expected = F.softmax((logits.detach() - center) / t, dim=-1)
        # The recipe's own loss: with one teacher crop and the student's second crop, dino_loss is the
        # cross-entropy of these targets with the student's log-probabilities.
        student = torch.randn(2, n, k, generator=generator)
        reference_loss = dino.dino_loss(student, logits.detach().unsqueeze(0), center, 0.1, t).item()
        got_loss = -(got.detach().float() * F.log_softmax(student[1] / 0.1, dim=-1)).sum().item() / n
        if not (torch.allclose(got.detach().float(), expected, rtol=1e-4, atol=1e-6)
                and abs(got_loss - reference_loss) <= 1e-4 * max(1.0, abs(reference_loss))):
            why = next((why for why, wrong in _dino_target_mistakes(logits.detach(), center, t).items()
                        if torch.allclose(got.detach().float(), wrong, rtol=1e-4, atol=1e-6)),
                       "these are not softmax((logits - center) / temperature) over the prototypes")
            return Feedback(False, why + detail)
        if got.requires_grad:
            return Feedback(False, "the values are right, but the targets carry gradients back into the teacher's "
                                   "logits: detach them (`logits.detach()`), the teacher is not trained by gradients")
    return Feedback(True, "your targets match the teacher distribution inside `dino.dino_loss` on two batches: "
                          "centred, sharpened, and detached.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-momentum-zero": Choice("b", {
        "a": "a frozen target is momentum 1: the target never moves. With momentum 0 it takes all of the online "
             "network's weights after every step.",
        "b": "with momentum 0 the update copies the online weights into the target after every step, but the target "
             "is still a separate, detached network: the stop-gradient remains. That is SimSiam with BYOL's loss "
             "(and without SimSiam's BatchNorm after the projector).",
        "c": "that is `stop_gradient=False`. A copy made with momentum 0 holds the same weights, but the loss sees "
             "its output as a constant, so no gradient flows through the target branch.",
    }),
    "ex-sharpening": Choice("b", {
        "a": "that is what happens without centering: centering subtracts each prototype's running mean logit, which "
             "takes away the advantage of a prototype that wins everywhere.",
        "b": "centering favours no prototype, so on its own it pushes the teacher towards the uniform distribution; "
             "only a low temperature makes each image's target peaked. Uniform targets are the same for every image, "
             "so the student learns little about the image: the other collapse.",
        "c": "centering stops one kind of collapse (one prototype for everything) and encourages the other (a uniform "
             "output). DINO needs the sharpening to balance it.",
    }),
}
