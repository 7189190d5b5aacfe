"""Checkers of the cook's guide (chapters 8 to 10): SimCLR with one negative, the guillotine cut of
a projector, and the EMA momentum schedules; and the keys of the three chapters' multiple-choice exercises."""
from __future__ import annotations

import math
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from cookbook.book.checks.core import Choice, Feedback, _first_matching, _value
from cookbook.book.probes import cut_points
from cookbook.ema import momentum_at
from cookbook.models import mlp

__all__ = ["check_one_negative_loss", "check_guillotine", "check_momentum_schedule"]


# ----------------------------------------------------------------------------- chapter 8: one negative

def _one_negative_case(seed: int, n: int = 6, dim: int = 5):
    g = torch.Generator().manual_seed(seed)
    z1, z2 = torch.randn(n, dim, generator=g) * 3, torch.randn(n, dim, generator=g) * 3
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    negative = torch.empty(2 * n, dtype=torch.long)
    for i in range(2 * n):  # any embedding but the anchor itself and its positive
        others = [k for k in range(2 * n) if k not in (i, int(positives[i]))]
        negative[i] = others[int(torch.randint(len(others), (1,), generator=g))]
    return z1, z2, negative, positives


def _one_negative_variants(z1, z2, negative, positives, t):
    n = len(z1)
    rows = torch.arange(2 * n)

    def loss(z, temperature=t, with_positive=True, reduce="mean", anchors=2 * n):
        s = z @ z.T
        pos, neg = s[rows, positives] / temperature, s[rows, negative] / temperature
        per_anchor = (-pos + torch.logsumexp(torch.stack([pos, neg], 1), 1)) if with_positive else (-pos + neg)
        per_anchor = per_anchor[:anchors]
        return float(per_anchor.mean() if reduce == "mean" else per_anchor.sum())

    unit = F.normalize(torch.cat([z1, z2]), dim=1)
    raw = torch.cat([z1, z2])
    expected = loss(unit)
    mistakes = {
        "the embeddings are not normalised to unit length: the similarity is a cosine, "
        "F.normalize(z, dim=1)": loss(raw),
        "the temperature is missing: divide the cosines by it": loss(unit, temperature=1.0),
        "the positive is missing from the denominator: the softmax runs over the positive and the negative": loss(
            unit, with_positive=False),
        "the loss is summed over the anchors: average it over all 2N of them": loss(unit, reduce="sum"),
        "only the first view's N embeddings are anchors: the second view's are anchors too (2N rows)": loss(
            unit, anchors=n),
    }
    return expected, mistakes


def check_one_negative_loss(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], torch.Tensor]) -> Feedback:
    """``fn(z1, z2, negative, temperature)``: NT-Xent in which each of the ``2N`` embeddings of
    ``cat([z1, z2])`` has its positive (the other view) and the one negative ``negative[i]``."""
    for seed, t in ((0, 0.5), (1, 0.1), (2, 1.0)):
        z1, z2, negative, positives = _one_negative_case(seed)
        got, problem = _value(fn, z1, z2, negative, t)
        if problem:
            return Feedback(False, problem)
        expected, mistakes = _one_negative_variants(z1, z2, negative, positives, t)
        if not math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            why = _first_matching(got, mistakes)
            return Feedback(False, (why or f"the loss is {got:.4f}, expected {expected:.4f}") + f" (temperature {t})")
    return Feedback(True, "that is SimCLR with one negative: a softmax over two candidates per anchor. With chance "
                          "at one half, the task is easy, and yet Bordes et al. found it is enough to learn.")


# ----------------------------------------------------------------------------- chapter 9: the guillotine

def _projector(depth: int) -> nn.Sequential:
    torch.manual_seed(depth)
    return mlp(6, 8, 4, depth).eval()


def _blocks_after(head: nn.Sequential, k: int, at_linear: bool = False) -> nn.Sequential:
    """The first ``k`` blocks of ``head`` (:func:`cookbook.book.probes.cut_points`), or cut right after
    the k-th Linear with ``at_linear``."""
    if k == 0:
        return nn.Sequential()
    if at_linear:
        linear = [i for i, m in enumerate(head) if isinstance(m, nn.Linear)]
        return head[:linear[k - 1] + 1]
    return head[:cut_points(head)[k - 1] + 1]


def check_guillotine(fn: Callable[[nn.Sequential, int], nn.Module]) -> Feedback:
    """``fn(projector, k)``: the network that maps the backbone's features to the projector's
    features after its first ``k`` blocks (a block: Linear, then BatchNorm and ReLU when it has
    them); ``k=0`` keeps nothing (the backbone's features), ``k=depth`` all of it."""
    x = torch.randn(16, 6, generator=torch.Generator().manual_seed(0))
    for depth in (2, 3):
        head = _projector(depth)
        for k in range(depth + 1):
            try:
                cut = fn(head, k)
                if cut is None:
                    return Feedback(False, "it returned None: did you forget `return`?")
                with torch.no_grad():
                    got = cut(x)
            except NotImplementedError:
                return Feedback(False, "not written yet: replace the `raise NotImplementedError` with your code")
            except Exception as err:  # the student's code: report its error, whatever it is
                return Feedback(False, f"for a projector of depth {depth} and k={k}, your function raised "
                                       f"{type(err).__name__}: {err}")
            if not isinstance(got, torch.Tensor):
                return Feedback(False, f"calling what fn(projector, {k}) returned gave {type(got).__name__}, "
                                       f"not a tensor: return a module (an nn.Sequential of the kept layers)")
            with torch.no_grad():
                expected = _blocks_after(head, k)(x)
                candidates = {
                    "the cut is right after the Linear layer: a block ends after its BatchNorm and ReLU": _blocks_after(
                        head, k, at_linear=True)(x) if k else None,
                    "one block too many: k=1 keeps the first block only":
                        _blocks_after(head, k + 1)(x) if k < depth else None,
                    "one block too few: k=1 keeps the first block, k=0 none":
                        _blocks_after(head, k - 1)(x) if k else None,
                }
            if got.shape == expected.shape and torch.allclose(got, expected, atol=1e-6):
                continue
            why = next((why for why, value in candidates.items() if value is not None and value.shape == got.shape
                        and torch.allclose(got, value, atol=1e-6)), None)
            return Feedback(False, (why or f"the output has shape {tuple(got.shape)}, expected {tuple(expected.shape)}"
                                    if got.shape != expected.shape else why or "the output differs from the features "
                                    "after the first k blocks") + f" (depth {depth}, k={k})")
    return Feedback(True, "that is the cut: probes.layer_features measures the features at every such k at once.")


# ----------------------------------------------------------------------------- chapter 10: EMA schedules

def check_momentum_schedule(fn: Callable[[int, int, float, str], float]) -> Feedback:
    """``fn(step, total_steps, base, schedule)``: ``base`` throughout for ``"constant"``; for
    ``"cosine"``, ``1 - (1 - base) (cos(pi step / total) + 1) / 2``, from ``base`` to 1."""
    cases = [(s, 100, b, sched) for sched in ("constant", "cosine") for b in (0.9, 0.99) for s in (0, 25, 50, 100)]
    for step, total, base, schedule in cases:
        got, problem = _value(fn, step, total, base, schedule)
        if problem:
            return Feedback(False, problem)
        expected = momentum_at(step, total, base, schedule)
        if math.isclose(got, expected, abs_tol=1e-6):
            continue
        progress = step / total
        mistakes = {
            "the cosine runs backwards: the momentum starts at base and rises to 1 at the end": 1 - (1 - base) * (
                1 - math.cos(math.pi * progress)) / 2,
            "the momentum rises along a straight line: the schedule is a cosine": base + (1 - base) * progress,
            "1 - base is the weight of the online network, not the momentum: return base": 1 - base,
            "the schedule is ignored: 'constant' keeps base at every step": momentum_at(step, total, base, "cosine"),
            "the schedule is ignored: 'cosine' rises from base to 1": base,
        }
        why = _first_matching(got, mistakes)
        return Feedback(False, (why or f"got {got:.5f}, expected {expected:.5f}") +
                        f" (step {step} of {total}, base {base}, {schedule})")
    return Feedback(True, "both schedules are right: a constant momentum keeps the target a fixed distance behind, "
                          "the cosine freezes it as training ends.")


# ----------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    # chapter 8
    "ex-colour-shortcut": Choice("b", {
        "a": "the jitter changes the hue, saturation and brightness of every pixel, background included, by up to its "
             "strength; at strength 1 the hue moves by up to a fifth of the circle.",
        "b": "the views differ, but not enough: one image's two views keep related colours, and two different images "
             "rarely share them. Matching by colour solves the loss; grayscale, which takes the colour out of some "
             "views altogether, is what breaks that shortcut.",
        "c": "the crop does keep most of the background, but it keeps the shape too; what matters is which of the two "
             "still identifies the image after the colour jitter.",
    }),
    "ex-interplay": Choice("c", {
        "a": "the MLP's class kNN gains nothing over its untrained network's: matching a shape across two crops needs "
             "invariances an MLP does not have, and 300 steps do not teach them.",
        "b": "the MLP's position kNN falls to about chance: the crop moves the shape by different amounts in the two "
             "views, and for an MLP a moved shape is a different input.",
        "c": "the average colour of an image is a linear function of its pixels, which an MLP's first layer computes "
             "at once, and colour jitter shifts it without removing it: for this architecture, the easiest thing "
             "two views share.",
    }),
    # chapter 9
    "ex-which-layer": Choice("b", {
        "a": "the embedding is the layer most specialised in the pretext task: invariant to the views, spread over the "
             "sphere. It is usually the worst place to cut, and worse the further the downstream task is.",
        "b": "Bordes et al. find that the gap between the backbone and the projector's layers grows with the mismatch "
             "between the pretraining and the downstream task, and that cutting earlier in the backbone can help "
             "when the mismatch is large: the last layers have specialised in the pretext task.",
        "c": "each layer is a function of the one before, so it can only lose information; the probes above measure "
             "different accuracies at different cuts.",
    }),
    "ex-no-projector": Choice("b", {
        "a": "the covariance term decorrelates the dimensions of what the loss sees, but the invariance term and the "
             "training dynamics still shrink its spectrum: without a projector, the backbone's features are what "
             "shrinks.",
        "b": "Jing et al. (2022) show that strong augmentations and the implicit bias of deep networks shrink the "
             "spectrum of the embedding the loss sees. With a projector, that embedding is the projector's output; "
             "without one, it is the backbone's features, and the collapse lands there.",
        "c": "the projector changes what the loss's gradient does to the backbone: the spectra above differ with its "
             "depth.",
    }),
    # chapter 10
    "ex-moco-zero": Choice("b", {
        "a": "MoCo's negatives keep it from collapsing with or without a predictor; what the momentum protects is the "
             "consistency of the queue.",
        "b": "He et al. (2020) make this argument: the queue only works if its keys come from nearly the same encoder. "
             "With a key encoder that changes at every step, the query can tell its own batch's key from the queue's "
             "older ones by when they were made, not by what they show.",
        "c": "momentum 1 freezes the key encoder; momentum 0 copies the query encoder at every step.",
    }),
    "ex-teacher-temperature": Choice("a", {
        "a": "a higher temperature flattens the softmax. With the teacher as flat as the student, nothing makes the "
             "targets sharper than the predictions, and centring pushes them further towards uniform.",
        "b": "a single winning prototype is what happens without centring, or with a very low temperature.",
        "c": "the centre shifts the logits, the temperature scales them; the entropy depends on both.",
    }),
}
