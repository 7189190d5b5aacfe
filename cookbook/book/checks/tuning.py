"""Checkers of chapters 11 to 13 and 15 (the uniform prior, hyperparameters, evaluation without labels,
the frontier).

The long-tailed class counts (chapter 11), the scaled learning rate (12), the regret of choosing a
setting by RankMe (13) and LeJEPA's Epps-Pulley statistic (15); and the keys of these chapters'
multiple-choice exercises."""
from __future__ import annotations

import math
import numbers
from typing import Callable

import torch

from cookbook import registry
from cookbook.book.checks.core import Choice, Feedback, _first_matching, _returned, _value
from cookbook.book.collapse import RANKME_COLLAPSED
from cookbook.book.selection import regret
from cookbook.config import BatchScaledLR
from cookbook.imbalance import class_counts

__all__ = ["check_selection_regret", "check_epps_pulley", "check_scaled_lr", "check_class_counts"]


# ----------------------------------------------------------------------------- chapter 11: the uniform prior

def _shares(n_classes: int, exponent: Callable[[int], float]) -> list[float]:
    raw = [exponent(c) for c in range(n_classes)]
    return [r / sum(raw) for r in raw]


def _near(got: list[int], ideal: list[float]) -> bool:
    """Each count within 1 image of the ideal (real-valued) count: rounding conventions may differ."""
    return len(got) == len(ideal) and all(abs(g - i) <= 1 + 1e-9 for g, i in zip(got, ideal))


def check_class_counts(fn: Callable[[int, int, float], list[int]]) -> Feedback:
    """``fn(n_classes, train_images, class_ratio)``: images per class of a long-tailed training set,
    head first, ``n_c`` proportional to ``class_ratio ** (-c / (n_classes - 1))`` and summing exactly
    to ``train_images``. Any rounding is accepted that keeps each count within 1 of its share.
    The reference is :func:`cookbook.imbalance.class_counts`."""
    for n_classes, total, ratio in ((10, 2000, 10), (10, 2000, 100), (5, 500, 1), (4, 103, 7)):
        detail = f" (n_classes={n_classes}, train_images={total}, class_ratio={ratio})"
        out, problem = _returned(fn, n_classes, total, ratio)
        if problem:
            return Feedback(False, problem + detail)
        if hasattr(out, "tolist"):  # a tensor or an array
            out = out.tolist()
        if not isinstance(out, (list, tuple)):
            return Feedback(False, f"it returned {type(out).__name__}: return a list of {n_classes} whole numbers, "
                                   "the images of each class" + detail)
        got = list(out)
        if len(got) != n_classes:
            return Feedback(False, f"it returned {len(got)} counts: there is one per class, {n_classes}" + detail)
        bad = next((v for v in got if isinstance(v, bool) or not isinstance(v, numbers.Integral)), None)
        if bad is not None:
            return Feedback(False, f"the counts must be whole numbers (int), one number of images per class; it "
                                   f"returned {bad!r} ({type(bad).__name__}): round the shares and convert them "
                                   f"with int()" + detail)
        got = [int(v) for v in got]
        ideal = [total * s for s in _shares(n_classes, lambda c: ratio ** (-c / (n_classes - 1)))]
        reference = class_counts(n_classes, total, ratio)
        off = sum(got) - total
        if _near(got, ideal):
            if off == 0:
                continue
            return Feedback(False, f"the counts sum to {sum(got)}, not train_images={total} ({abs(off)} image(s) "
                                   f"{'too many' if off > 0 else 'too few'}): rounding each share on its own does "
                                   f"not keep the total; hand the images that rounding lost (or added) to some "
                                   f"classes, e.g. one each from the head" + detail)
        head_tail = ideal[0] / ideal[-1]
        wrong_exponent = [total * s for s in _shares(n_classes, lambda c: ratio ** (-c / n_classes))]
        linear = [total * s for s in _shares(n_classes, lambda c: 1 + (1 / ratio - 1) * c / (n_classes - 1))]
        mistakes = {
            "the tail comes first: the counts rise; the head class (class 0) is the most frequent, so they fall":
                list(reversed(ideal)),
            f"the exponent is -c / n_classes: then the head is only {wrong_exponent[0] / wrong_exponent[-1]:.2f} "
            f"times as frequent as the tail, not class_ratio={ratio:g} times; use -c / (n_classes - 1), so "
            f"that the last class c = n_classes - 1 gets 1 / class_ratio of the head's share": wrong_exponent,
            "the counts fall along a straight line: the fall is geometric, each class "
            f"class_ratio ** (-1 / (n_classes - 1)) = {ratio ** (-1 / (n_classes - 1)):.3f} times the one before":
                linear,
        }
        why = next((why for why, wrong in mistakes.items() if _near(got, wrong)), None)
        if why is None and off:
            why = (f"the counts sum to {sum(got)}, not train_images={total} ({abs(off)} image(s) "
                   f"{'too many' if off > 0 else 'too few'})")
        if why is None:
            c = max(range(n_classes), key=lambda k: abs(got[k] - ideal[k]))
            why = (f"class {c} has {got[c]} images, expected about {ideal[c]:.1f} (head/tail {head_tail:g}); "
                   f"expected for instance {reference}, got {got}")
        return Feedback(False, why + detail)
    return Feedback(True, "the counts fall geometrically from the head to the tail and add up to the total: only the "
                          "balance changes with class_ratio, never the number of images.")


# ----------------------------------------------------------------------------- chapter 12: hyperparameters

def check_scaled_lr(fn: Callable[[float, int, str], float]) -> Feedback:
    """``fn(base_lr, batch_size, rule)``: the learning rate for ``batch_size``, from the one stated
    for a batch of 256: ``base_lr * batch_size / 256`` for ``"linear"`` (Goyal et al., 2017; the
    library's :class:`cookbook.config.BatchScaledLR`), ``base_lr * sqrt(batch_size / 256)`` for
    ``"square root"``."""
    cases = [(base, batch, rule) for rule in ("linear", "square root")
             for base, batch in ((0.3, 1024), (0.05, 64), (2.0, 4096), (0.3, 256))]
    for base, batch, rule in cases:
        got, problem = _value(fn, base, batch, rule)
        if problem:
            return Feedback(False, problem)
        linear, root = BatchScaledLR(base).at(batch), base * math.sqrt(batch / 256)
        expected = linear if rule == "linear" else root
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-12):
            continue
        reference_128 = "the reference batch is 256, not 128: the base learning rate is stated for a batch of 256"
        if rule == "linear":
            mistakes = {
                reference_128: base * batch / 128,
                "'linear' multiplies base_lr by batch_size / 256 itself, not by its square root: are the rules "
                "swapped?": root,
                "batch_size / 256 is squared: 'linear' multiplies base_lr by batch_size / 256":
                    base * (batch / 256) ** 2,
            }
        else:
            mistakes = {
                reference_128: base * math.sqrt(batch / 128),
                "'square root' multiplies base_lr by sqrt(batch_size / 256), not by batch_size / 256: is the rule "
                "ignored (always linear)?": linear,
                "the square root is taken of the learning rate too: sqrt(base_lr * batch_size / 256); only the batch "
                "ratio is square-rooted, base_lr * sqrt(batch_size / 256)": math.sqrt(base * batch / 256),
                "batch_size / 256 is squared, not square-rooted: the square root is (batch_size / 256) ** 0.5":
                    base * (batch / 256) ** 2,
            }
        why = _first_matching(got, mistakes)
        return Feedback(False, (why or f"got {got:.6g}, expected {expected:.6g}") +
                        f" (base_lr {base}, batch_size {batch}, rule {rule!r})")
    return Feedback(True, "both rules are right: with the linear rule the learning rate grows as fast as the batch, "
                          "with the square root rule half as fast on a log scale.")


# ----------------------------------------------------------------------------- chapter 13: evaluation without labels

_SELECTION_CASES = (
    # (RankMe, accuracy) per setting; the first's RankMe pick is not the best by accuracy.
    ({"lr 0.01": 11.2, "lr 0.03": 17.9, "lr 0.1": 25.4, "lr 0.3": 31.8, "lr 1": 22.6, "lr 3": 6.3},
     {"lr 0.01": 0.412, "lr 0.03": 0.468, "lr 0.1": 0.533, "lr 0.3": 0.517, "lr 1": 0.472, "lr 3": 0.291}),
    ({"t 0.05": 40.2, "t 0.1": 47.9, "t 0.2": 52.3, "t 0.5": 44.1, "t 1": 17.0, "t 2": 18.8},
     {"t 0.05": 0.581, "t 0.1": 0.604, "t 0.2": 0.637, "t 0.5": 0.598, "t 1": 0.522, "t 2": 0.437}),
    ({"wd 0": 9.1, "wd 1e-5": 12.4, "wd 1e-4": 19.6, "wd 1e-3": 14.0, "wd 1e-2": 35.5, "wd 1e-1": 3.2},
     {"wd 0": 0.355, "wd 1e-5": 0.372, "wd 1e-4": 0.418, "wd 1e-3": 0.404, "wd 1e-2": 0.247, "wd 1e-1": 0.188}),
)


def check_selection_regret(fn: Callable[[dict[str, float], dict[str, float]], float]) -> Feedback:
    """``fn(rankme, accuracy)``: the regret of choosing a setting by RankMe, ``max(accuracy) -
    accuracy[the setting of highest RankMe]``, in the accuracy's units; never negative. The reference
    is :func:`cookbook.book.selection.regret`."""
    for rankme, accuracy in _SELECTION_CASES:
        got, problem = _value(fn, dict(rankme), dict(accuracy))
        if problem:
            return Feedback(False, problem)
        expected = regret(rankme, accuracy)
        if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-6):  # float32 is fine
            continue
        pick = max(rankme, key=rankme.__getitem__)
        lowest = min(rankme, key=rankme.__getitem__)
        best = max(accuracy, key=accuracy.__getitem__)
        mistakes = {
            "the pick is the setting of LOWEST RankMe: RankMe picks the highest effective rank (max, not min)":
                max(accuracy.values()) - accuracy[lowest],
            "that is the accuracy of the RankMe pick; the regret is the best accuracy minus it":
                accuracy[pick],
            "the sign is reversed (pick minus best): the regret is the best accuracy minus the pick's, never "
            "negative": accuracy[pick] - max(accuracy.values()),
            "the pick is compared with the WORST accuracy: the regret is measured against the best one, the "
            "setting labels would pick": accuracy[pick] - min(accuracy.values()),
            "these are RankMe values, not accuracies: the regret is counted in the accuracy of the settings, "
            "max(accuracy) - accuracy[RankMe's pick]": max(rankme.values()) - rankme[best],
            "the regret is in the accuracy's own units (a fraction), not in points: do not multiply by 100":
                100 * expected,
        }
        why = _first_matching(got, mistakes)
        return Feedback(False, (why or f"got {got:.4f}, expected {expected:.4f}") +
                        f" (RankMe picks {pick!r}, the accuracy picks {best!r})")
    return Feedback(True, "that is the regret: what choosing by RankMe, without labels, costs against choosing by "
                          "the labels themselves; 0 when both pick the same setting.")


# ----------------------------------------------------------------------------- chapter 15: the frontier

def _epps_pulley(x: torch.Tensor, knots: int, n_factor=True, weight=True, doubled=True, sine=True, target=0.5,
                 rule="trapezoid") -> float:
    """The Epps-Pulley statistic of ``x`` (N,), and its usual mistakes, in float64."""
    x = x.double()
    n = len(x)
    t = torch.linspace(0, 3, knots, dtype=torch.float64)
    tx = x[:, None] * t
    error = (tx.cos().mean(0) - torch.exp(-target * t.square())).square()
    if sine:
        error = error + tx.sin().mean(0).square()
    integrand = error * (torch.exp(-t.square() / 2) if weight else 1)
    step = 3 / (knots - 1)
    if rule == "trapezoid":
        weights = torch.full((knots,), step, dtype=torch.float64)
        weights[[0, -1]] = step / 2
        integral = (integrand * weights).sum()
    elif rule == "riemann":
        integral = step * integrand.sum()
    else:  # the mean of the integrand times the interval's length
        integral = 3 * integrand.mean()
    return float((n if n_factor else 1) * (2 if doubled else 1) * integral)


def _epps_pulley_samples() -> list[tuple[str, torch.Tensor]]:
    g = torch.Generator().manual_seed(14)
    return [("a Gaussian of mean 0.5 and std 0.6", 0.5 + 0.6 * torch.randn(200, generator=g)),
            ("a standard Gaussian sample", torch.randn(200, generator=g)),
            ("a nearly collapsed sample (std 0.01)", 0.01 * torch.randn(100, generator=g))]


def check_epps_pulley(fn: Callable[[torch.Tensor, int], torch.Tensor]) -> Feedback:
    """``fn(x, knots)``: the Epps-Pulley statistic of the 1-D sample ``x`` ``(N,)`` against the
    standard Gaussian, ``N * int_{-3}^{3} |phi_N(t) - exp(-t^2/2)|^2 exp(-t^2/2) dt`` with
    ``phi_N(t) = mean_n exp(i t x_n)``, by the trapezoid rule on ``knots`` equally spaced points of
    ``[0, 3]``, doubled. The reference is :func:`recipes.lejepa.sigreg` along one direction."""
    sigreg = registry.get("lejepa").sigreg
    samples = _epps_pulley_samples()
    cases = [(name, x, knots) for knots in (17, 5) for name, x in samples]
    for name, x, knots in cases:
        got, problem = _value(fn, x.clone(), knots)
        if problem:
            return Feedback(False, problem)
        expected = sigreg(x[:, None], torch.ones(1, 1), knots).item()
        if math.isclose(got, expected, rel_tol=1e-4, abs_tol=1e-5):
            continue
        mistakes = {
            "the factor N is missing: the statistic is N times the integral, so that it does not shrink with the "
            "batch (a Gaussian sample scores about 1 at any N)": _epps_pulley(x, knots, n_factor=False),
            "the Gaussian weight exp(-t^2/2) is missing from the integrand: |phi_N(t) - exp(-t^2/2)|^2 is "
            "multiplied by it": _epps_pulley(x, knots, weight=False),
            "the integral is not doubled: the trapezoid rule covers [0, 3], and the integrand is even, so [-3, 3] "
            "gives twice that": _epps_pulley(x, knots, doubled=False),
            "the sine (imaginary) part of phi_N is missing: |phi_N(t) - exp(-t^2/2)|^2 = (mean cos(t x) - "
            "exp(-t^2/2))^2 + (mean sin(t x))^2": _epps_pulley(x, knots, sine=False),
            "the target is exp(-t^2); the characteristic function of the standard Gaussian is exp(-t^2/2)":
                _epps_pulley(x, knots, target=1.0),
            "the integral is a plain sum (step times the sum of all terms): the trapezoid rule halves the two end "
            "points' weights": _epps_pulley(x, knots, rule="riemann"),
            "the integral is the plain mean of the integrand times the interval's length: use the trapezoid "
            "rule's weights (step, with half a step at each end point)": _epps_pulley(x, knots, rule="mean"),
        }
        if knots != 17:
            mistakes["the knots argument is ignored: integrate on knots equally spaced points of [0, 3]"] = (
                sigreg(x[:, None], torch.ones(1, 1), 17).item())
        why = next((why for why, wrong in mistakes.items() if math.isclose(got, wrong, rel_tol=1e-4, abs_tol=1e-5)),
                   None)
        return Feedback(False, (why or f"got {got:.5g}, expected {expected:.5g}") + f" (on {name} of {len(x)} "
                                                                                     f"values, {knots} knots)")
    return Feedback(True, "that is the Epps-Pulley statistic: about 1 for a Gaussian sample, about 0.4 N for a "
                          "collapsed one. SIGReg averages it over random directions of the embeddings.")


# ----------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    # chapter 11
    "ex-equipartition": Choice("b", {
        "a": "Sinkhorn's row and column normalisations are exactly the balance constraint: every prototype gets B / K.",
        "b": "each prototype's column of the codes must sum to B / K, a tenth of the batch, so the class that fills "
             "80% of it must take about eight prototypes' shares, and the features learn to split it. This is "
             "Assran et al.'s argument: the balanced assignment is a prior on the data, right only when the data "
             "are balanced.",
        "c": "that is what happens *without* the constraint, the collapse that Sinkhorn exists to prevent.",
    }),
    "ex-balanced-test": Choice("b", {
        "a": "the long tail is made by subsampling; the test split could be subsampled just as easily.",
        "b": "with the same balanced test images at every ratio, what changes between runs is only what the model "
             "learned, and the overall accuracy is the mean of the per-class ones. Long-tailed benchmarks "
             "(CIFAR-10-LT, ImageNet-LT) are evaluated on balanced test sets for this reason.",
        "c": "a balanced test set usually scores *lower*: the tail, where accuracy is poor, counts as much as the "
             "head.",
    }),
    # chapter 12
    "ex-lars-rate": Choice("b", {
        "a": "0.2 is a rate on LARS's scale, a multiple of a trust ratio of each layer's weight norm. AdamW moves "
             "every weight by about its learning rate per step, whatever the gradient's size, so 0.2 is a huge step: "
             "it is about three times the largest AdamW rate this chapter's sweeps tried (0.064, at batch 128) and 400 "
             "times the Cookbook's largest AdamW base rate (5e-4 per 256 images).",
        "b": "LARS's rate multiplies a fraction of each layer's weight norm, AdamW's is a step in weight units per "
             "coordinate, so the number does not carry over. Where to start on AdamW's scale depends on the model "
             "and the run's length too: the Cookbook's AdamW recipes (ViTs, hundreds of epochs) use 1e-5 to 5e-4 "
             "per 256 images, while this chapter's 300-step runs of a small CNN were swept at 0.004 to 0.064 at "
             "batch 128, above that range. Start from AdamW rates of runs like yours, and sweep around them.",
        "c": "0.2 x 256 / 4096 = 0.0125 happens to fall inside the AdamW rates this chapter swept (0.004 to 0.064), "
             "but by accident: at batch 256 a rate written per 256 images needs no rescaling, and the 0.2 it starts "
             "from is a LARS rate, which means something else. Rescaling by the batch keeps an optimizer's own "
             "scale; it cannot turn one optimizer's rate into another's.",
    }),
    "ex-warmup": Choice("b", {
        "a": "warmup reaches the same peak rate; only the path there changes.",
        "b": "the first updates are taken while Adam's gradient statistics and BatchNorm's running statistics are "
             "still poor estimates, and warmup makes them small. Compare the warmup sweep's rows at its higher "
             "learning rate: the same peak, different first steps.",
        "c": "the run has the same number of steps; warmup is part of the schedule.",
    }),
    # chapter 13
    "ex-rankme-few-images": Choice("c", {
        "a": "the rank of a (256, 2048) matrix is at most 256: a RankMe of 250 on 256 images cannot tell 256 used "
             "dimensions from 2048.",
        "b": "250 is a lower bound here, not an estimate: 256 embeddings span at most 256 directions, so RankMe "
             "cannot exceed 256 on this batch, whatever the other 1792 dimensions hold.",
        "c": "256 embeddings span at most 256 directions, so RankMe cannot exceed 256 on this batch: 250 says the "
             "embeddings use at least about that many, and nothing about the rest. Measure RankMe on more images "
             "than the embedding has dimensions, or the bound min(N, D) decides it.",
        "d": "250 of a possible 256 is the opposite of collapse.",
    }),
    "ex-rankme-across": Choice("c", {
        "a": "RankMe's claim holds within a method; across methods it is not expected to order the runs, so a higher "
             "RankMe with a lower kNN says nothing against A.",
        "b": f"a RankMe of 30 is far above the book's collapse threshold ({RANKME_COLLAPSED:g}), and a kNN of 55% is "
             "far above chance: nothing in B's numbers looks like collapse.",
        "c": "RankMe ranks the runs of one method; two losses spread their embeddings differently, so their ranks are "
             "not comparable, and each run's numbers are those of a run that learned. The pooled rows of the "
             "selection tables above rank the three methods' runs together: what choosing across methods by RankMe "
             "would cost.",
        "d": "kNN is not measured wrongly because two runs disagree with RankMe; RankMe is the number that does not "
             "compare across methods.",
    }),
    # chapter 15
    "ex-lambda-zero": Choice("b", {
        "a": "a Gaussian is what SIGReg alone aims at, at λ = 1; at λ = 0 SIGReg is switched off.",
        "b": "only the invariance is left, and mapping every image to the same point meets it exactly. The λ = 0 row "
             "of the sweep shows it in the embedding the loss sees: its SIGReg statistic, logged but not trained, is "
             "that of a batch sitting at the origin, and its invariance and loss reach zero. The backbone's features "
             "under it are another layer: they do not collapse by the book's rule, and learn nothing of the class.",
        "c": "a loss whose minimum is a constant map does not diverge; it converges to the wrong place.",
    }),
    "ex-diet-cost": Choice("b", {
        "a": "the classifier has one output per training image: it grows with the dataset.",
        "b": "the classifier has one row per training image, and a fixed number of steps shows each image a quarter "
             "as often: the sweep's visits per image and classifier sizes above show both.",
        "c": "the backbone is the same network; only the classifier on top grows.",
    }),
}
