"""The checkers of chapter 5: each accepts the recipe's own answer and names the usual mistakes."""
import torch
import torch.nn.functional as F

from cookbook.book import checks
from recipes import barlow_twins, vicreg


def not_yet(feedback, *words):
    """The answer was rejected and the message says why, in these words."""
    assert not feedback, feedback
    for word in words:
        assert word in feedback.message, (word, feedback.message)


# ----------------------------------------------------------------------------- VICReg: variance

def reference_variance(z):
    return F.relu(1 - torch.sqrt(z.var(dim=0) + 1e-4)).mean()


def test_variance_checker_accepts_the_recipe_and_a_student_solution():
    assert checks.check_vicreg_variance(lambda z: vicreg.vicreg_terms(z, z)["variance"])
    assert checks.check_vicreg_variance(reference_variance)


def test_variance_checker_names_common_mistakes():
    not_yet(checks.check_vicreg_variance(lambda z: (1 - torch.sqrt(z.var(dim=0) + 1e-4)).mean()), "hinge")
    not_yet(checks.check_vicreg_variance(lambda z: torch.sqrt(z.var(dim=0) + 1e-4).mean()), "mean standard deviation")
    not_yet(checks.check_vicreg_variance(lambda z: F.relu(1 - torch.sqrt(z.var(dim=0, unbiased=False) + 1e-4)).mean()),
            "biased", "N - 1")
    not_yet(checks.check_vicreg_variance(lambda z: F.relu(1 - z.std(dim=0)).mean()), "eps")
    not_yet(checks.check_vicreg_variance(lambda z: F.relu(1 - z.var(dim=0) - 1e-4).mean()), "variance, not")
    not_yet(checks.check_vicreg_variance(lambda z: F.relu(1 - torch.sqrt(z.var(dim=0) + 1e-4)).sum()), "divide by D")
    not_yet(checks.check_vicreg_variance(lambda z: F.relu(1 - torch.sqrt(z.var(dim=1) + 1e-4)).mean()), "dim=0")


def test_variance_checker_explains_an_unfinished_answer():
    not_yet(checks.check_vicreg_variance(lambda z: None), "return")

    def unfinished(z):
        raise NotImplementedError

    not_yet(checks.check_vicreg_variance(unfinished), "NotImplementedError")
    not_yet(checks.check_vicreg_variance(lambda z: z.var(dim=0)), "scalar")


# ----------------------------------------------------------------------------- VICReg: covariance

def reference_covariance(z):
    n, d = z.shape
    z = z - z.mean(dim=0)
    cov = z.T @ z / (n - 1)
    return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d


def test_covariance_checker_accepts_the_recipe_and_a_student_solution():
    assert checks.check_vicreg_covariance(lambda z: vicreg.vicreg_terms(z, z)["covariance"] / 2)
    assert checks.check_vicreg_covariance(reference_covariance)


def test_covariance_checker_names_common_mistakes():
    def uncentred(z):
        n, d = z.shape
        cov = z.T @ z / (n - 1)
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d

    def biased(z):
        n, d = z.shape
        z = z - z.mean(dim=0)
        cov = z.T @ z / n
        return (cov.pow(2).sum() - cov.diagonal().pow(2).sum()) / d

    def with_diagonal(z):
        z = z - z.mean(dim=0)
        return (z.T @ z / (len(z) - 1)).pow(2).sum() / z.shape[1]

    not_yet(checks.check_vicreg_covariance(uncentred), "centred")
    not_yet(checks.check_vicreg_covariance(biased), "biased", "N - 1")
    not_yet(checks.check_vicreg_covariance(with_diagonal), "diagonal")
    not_yet(checks.check_vicreg_covariance(lambda z: reference_covariance(z) / z.shape[1]), "D ** 2")
    not_yet(checks.check_vicreg_covariance(lambda z: reference_covariance(z) * z.shape[1]), "not divided by D")
    not_yet(checks.check_vicreg_covariance(lambda z: reference_covariance(z) / (z.shape[1] - 1)), "D (D - 1)")


def test_covariance_checker_explains_an_unfinished_answer():
    not_yet(checks.check_vicreg_covariance(lambda z: None), "return")
    not_yet(checks.check_vicreg_covariance(lambda z: 1 / 0), "ZeroDivisionError")


# ----------------------------------------------------------------------------- Barlow Twins

def test_barlow_twins_checker_accepts_the_recipe_with_or_without_its_eps():
    assert checks.check_barlow_twins(barlow_twins.barlow_twins_loss)

    def without_eps(z1, z2, lambd):
        c = barlow_twins.standardize(z1, eps=0.0).T @ barlow_twins.standardize(z2, eps=0.0) / len(z1)
        return (1 - c.diagonal()).pow(2).sum() + lambd * (c.pow(2).sum() - c.diagonal().pow(2).sum())

    assert checks.check_barlow_twins(without_eps)


def test_barlow_twins_checker_names_common_mistakes():
    def cross_correlation(z1, z2, std=lambda z: z.std(dim=0, unbiased=False)):
        return ((z1 - z1.mean(0)) / std(z1)).T @ ((z2 - z2.mean(0)) / std(z2)) / len(z1)

    def from_matrix(c, lambd, off_diagonal=lambda c: c.pow(2).sum() - c.diagonal().pow(2).sum()):
        return (1 - c.diagonal()).pow(2).sum() + lambd * off_diagonal(c)

    not_yet(checks.check_barlow_twins(lambda z1, z2, lambd: from_matrix(z1.T @ z2 / len(z1), lambd)), "standardised")
    not_yet(checks.check_barlow_twins(
        lambda z1, z2, lambd: from_matrix(cross_correlation(z1, z2, std=lambda z: z.std(dim=0)), lambd)),
        "unbiased", "unbiased=False")
    not_yet(checks.check_barlow_twins(
        lambda z1, z2, lambd: from_matrix(cross_correlation(z1, z2), lambd, off_diagonal=lambda c: c.pow(2).sum())),
        "diagonal")
    not_yet(checks.check_barlow_twins(
        lambda z1, z2, lambd: from_matrix(cross_correlation(z1, z2) * len(z1), lambd)), "not divided")
    not_yet(checks.check_barlow_twins(
        lambda z1, z2, lambd: from_matrix(cross_correlation(z1, z1), lambd)), "itself")


def test_barlow_twins_checker_explains_an_unfinished_answer():
    def unfinished(z1, z2, lambd):
        raise NotImplementedError

    not_yet(checks.check_barlow_twins(unfinished), "NotImplementedError")
    not_yet(checks.check_barlow_twins(lambda z1, z2, lambd: None), "return")


# ----------------------------------------------------------------------------- the chapter's spectrum

def test_absolute_spectrum_shows_complete_collapse_that_the_relative_one_hides():
    from cookbook.book import plots

    torch.manual_seed(0)
    healthy = torch.randn(64, 8)
    collapsed = torch.ones(64, 8) + 1e-3 * torch.randn(64, 8)  # every embedding nearly the same point
    fig = plots.new_figure()
    ax = fig.subplots()
    for z in (healthy, collapsed):
        plots.spectrum(ax, z, absolute=True)
        plots.spectrum(ax, z)
    healthy_abs, healthy_rel, collapsed_abs, collapsed_rel = (line.get_ydata() for line in ax.get_lines())
    assert collapsed_abs.max() < 1e-2 * healthy_abs.max()  # far below on the absolute scale
    assert collapsed_rel[0] == healthy_rel[0] == 1.0  # both start at 1 when rescaled to the largest
