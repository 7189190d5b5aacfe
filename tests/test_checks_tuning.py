"""The checkers of chapters 11 to 14 accept the right answer and name each usual mistake."""
import math

import pytest
import torch

from cookbook.book import checks


def not_written(*args):
    raise NotImplementedError


def crashes(*args):
    return {}["no such key"]


def assert_names(check, fn, phrase):
    feedback = check(fn)
    assert not feedback and phrase in feedback.message, feedback.message


# ----------------------------------------------------------------------------- the regret of RankMe's pick

def regret(rankme, accuracy, mistake=None):
    pick = max(rankme, key=rankme.get)
    best = max(accuracy.values())
    if mistake == "lowest":
        return best - accuracy[min(rankme, key=rankme.get)]
    if mistake == "pick":
        return accuracy[pick]
    if mistake == "sign":
        return accuracy[pick] - best
    if mistake == "worst":
        return accuracy[pick] - min(accuracy.values())
    if mistake == "rankme":
        return max(rankme.values()) - rankme[max(accuracy, key=accuracy.get)]
    if mistake == "points":
        return 100 * (best - accuracy[pick])
    return best - accuracy[pick]


@pytest.mark.parametrize("mistake, phrase", [("lowest", "LOWEST RankMe"), ("pick", "accuracy of the RankMe pick"),
                                             ("sign", "sign is reversed"), ("worst", "WORST accuracy"),
                                             ("rankme", "RankMe values, not accuracies"), ("points", "not in points")])
def test_selection_regret_names_each_mistake(mistake, phrase):
    assert_names(checks.check_selection_regret, lambda r, a: regret(r, a, mistake), phrase)


def test_selection_regret_accepts_the_regret_and_reports_bad_code():
    assert checks.check_selection_regret(regret)
    assert checks.check_selection_regret(lambda r, a: torch.tensor(regret(r, a)))  # a 0-d tensor is a number
    assert "NotImplementedError" in checks.check_selection_regret(not_written).message
    assert "KeyError" in checks.check_selection_regret(crashes).message
    assert "returned None" in checks.check_selection_regret(lambda r, a: None).message
    assert "got" in checks.check_selection_regret(lambda r, a: 0.5).message


def test_selection_regret_cases_include_a_perfect_pick_and_imperfect_ones():
    from cookbook.book.checks.tuning import _SELECTION_CASES
    from cookbook.book.selection import regret as reference

    values = [reference(r, a) for r, a in _SELECTION_CASES]
    assert 0 in values and sum(v > 0 for v in values) >= 2


# ----------------------------------------------------------------------------- Epps-Pulley

def epps_pulley(x, knots=17, mistake=None):
    x = x.double()
    t = torch.linspace(0, 3, knots, dtype=torch.float64)
    target = torch.exp(-t**2) if mistake == "exp(-t^2)" else torch.exp(-t**2 / 2)
    real, imag = torch.cos(x[:, None] * t).mean(0), torch.sin(x[:, None] * t).mean(0)
    squared = (real - target) ** 2 + (0 if mistake == "no sine" else imag ** 2)
    integrand = squared * (1 if mistake == "no weight" else torch.exp(-t**2 / 2))
    h = 3 / (knots - 1)
    if mistake == "riemann":
        integral = h * integrand.sum()
    elif mistake == "mean":
        integral = 3 * integrand.mean()
    else:
        integral = h * (integrand.sum() - (integrand[0] + integrand[-1]) / 2)
    return (1 if mistake == "no N" else len(x)) * (1 if mistake == "not doubled" else 2) * integral


@pytest.mark.parametrize("mistake, phrase", [("no N", "factor N is missing"), ("no weight", "Gaussian weight"),
                                             ("not doubled", "not doubled"), ("no sine", "sine (imaginary)"),
                                             ("exp(-t^2)", "the target is exp(-t^2)"), ("riemann", "plain sum"),
                                             ("mean", "plain mean")])
def test_epps_pulley_names_each_mistake(mistake, phrase):
    assert_names(checks.check_epps_pulley, lambda x, knots=17: epps_pulley(x, knots, mistake), phrase)


def test_epps_pulley_accepts_the_statistic_and_reports_bad_code():
    assert checks.check_epps_pulley(epps_pulley)
    assert checks.check_epps_pulley(lambda x, knots=17: float(epps_pulley(x, knots)))
    assert_names(checks.check_epps_pulley, lambda x, knots=17: epps_pulley(x, 17), "knots argument is ignored")
    assert "NotImplementedError" in checks.check_epps_pulley(not_written).message
    assert "KeyError" in checks.check_epps_pulley(crashes).message
    assert "shape" in checks.check_epps_pulley(lambda x, knots=17: x).message  # a tensor, not a scalar


def test_epps_pulley_agrees_with_what_the_docstring_promises():
    """About 1.05 on average over Gaussian samples, about 0.4 N for a sample collapsed at the origin."""
    g = torch.Generator().manual_seed(0)
    mean = sum(float(epps_pulley(torch.randn(200, generator=g))) for _ in range(100)) / 100
    assert 0.8 < mean < 1.3
    assert float(epps_pulley(torch.zeros(500))) == pytest.approx(0.4 * 500, rel=0.05)


# ----------------------------------------------------------------------------- the scaled learning rate

def scaled_lr(base_lr, batch_size, rule, mistake=None):
    reference = 128 if mistake == "128" else 256
    ratio = batch_size / reference
    linear, root = base_lr * ratio, base_lr * math.sqrt(ratio)
    if mistake == "swapped":
        linear, root = root, linear
    if mistake == "sqrt of lr":
        root = math.sqrt(base_lr * ratio)
    if mistake == "squared":
        root = base_lr * ratio ** 2
    if mistake == "always linear":
        return linear
    return linear if rule == "linear" else root


@pytest.mark.parametrize("mistake, phrase", [("128", "not 128"), ("swapped", "rules swapped"),
                                             ("sqrt of lr", "learning rate too"), ("squared", "is squared"),
                                             ("always linear", "rule ignored")])
def test_scaled_lr_names_each_mistake(mistake, phrase):
    assert_names(checks.check_scaled_lr, lambda b, n, r: scaled_lr(b, n, r, mistake), phrase)


def test_scaled_lr_accepts_both_rules_and_reports_bad_code():
    assert checks.check_scaled_lr(scaled_lr)
    assert "NotImplementedError" in checks.check_scaled_lr(not_written).message
    assert "KeyError" in checks.check_scaled_lr(crashes).message
    assert "not a number" in checks.check_scaled_lr(lambda b, n, r: "fast").message


# ----------------------------------------------------------------------------- long-tailed class counts

def class_counts(n_classes, train_images, class_ratio, mistake=None):
    """Largest remainders: a rounding convention other than the library's."""
    exponent = n_classes if mistake == "exponent" else n_classes - 1
    if mistake == "linear":
        raw = [1 + (1 / class_ratio - 1) * c / (n_classes - 1) for c in range(n_classes)]
    else:
        raw = [class_ratio ** (-c / exponent) for c in range(n_classes)]
    ideal = [train_images * r / sum(raw) for r in raw]
    if mistake == "floor":
        return [math.floor(v) for v in ideal]
    counts = [math.floor(v) for v in ideal]
    for c in sorted(range(n_classes), key=lambda c: counts[c] - ideal[c])[:train_images - sum(counts)]:
        counts[c] += 1
    if mistake == "reversed":
        counts.reverse()
    if mistake == "plus one":
        counts[0] += 1
    return counts


@pytest.mark.parametrize("mistake, phrase", [("reversed", "tail comes first"), ("exponent", "-c / n_classes"),
                                             ("linear", "straight line"), ("floor", "too few"),
                                             ("plus one", "1 image(s) too many")])
def test_class_counts_names_each_mistake(mistake, phrase):
    assert_names(checks.check_class_counts, lambda *a: class_counts(*a, mistake=mistake), phrase)


def test_class_counts_accepts_any_rounding_that_keeps_the_total():
    from cookbook.imbalance import class_counts as reference

    assert checks.check_class_counts(class_counts)
    assert checks.check_class_counts(reference)
    assert checks.check_class_counts(lambda *a: torch.tensor(class_counts(*a)))  # an integer tensor is fine


def test_class_counts_reports_wrong_types_and_bad_code():
    assert_names(checks.check_class_counts, lambda n, t, r: class_counts(n, t, r)[:-1], "one per class")
    assert_names(checks.check_class_counts, lambda n, t, r: [float(c) for c in class_counts(n, t, r)], "whole numbers")
    assert_names(checks.check_class_counts, lambda n, t, r: 42, "return a list")
    assert "NotImplementedError" in checks.check_class_counts(not_written).message
    assert "KeyError" in checks.check_class_counts(crashes).message
    assert "returned None" in checks.check_class_counts(lambda *a: None).message
    # Right total, wrong shape: a generic message with the expected counts.
    assert_names(checks.check_class_counts, lambda n, t, r: [t - n + 1] + [1] * (n - 1), "expected about")
