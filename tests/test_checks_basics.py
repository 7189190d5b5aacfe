"""Chapter 1's RankMe checker tries the cases its exercise names: D for the identity, 1 at rank one
(with singular values exactly 0), and the library's RankMe on random matrices."""
import torch

from cookbook import evaluate
from cookbook.book import checks


def rankme_with_zeros_dropped(z):
    sigma = torch.linalg.svdvals(z)
    p = sigma / sigma.sum()
    p = p[p > 0]
    return torch.exp(-(p * torch.log(p)).sum())


def rankme_with_nan_at_zero(z):
    sigma = torch.linalg.svdvals(z)
    p = sigma / sigma.sum()
    return torch.exp(-(p * torch.log(p)).sum())


def test_a_rankme_that_leaves_out_zero_singular_values_passes_and_gives_the_named_values():
    assert checks.check_rankme(rankme_with_zeros_dropped)
    assert checks.check_rankme(evaluate.rankme)
    assert abs(float(rankme_with_zeros_dropped(torch.eye(8))) - 8) < 1e-4
    assert abs(float(rankme_with_zeros_dropped(torch.ones(8, 8))) - 1) < 1e-4


def test_nan_at_rank_one_is_named_with_its_cause():
    assert torch.isnan(rankme_with_nan_at_zero(torch.ones(8, 8)))  # the case the exercise names
    feedback = checks.check_rankme(rankme_with_nan_at_zero)
    assert not feedback
    assert "0 * log 0" in feedback.message and "torch.ones(8, 8)" in feedback.message, feedback.message


def test_a_wrong_value_on_each_named_case_fails_and_names_the_case():
    def wrong_on(matrix, value):
        return lambda z: value if z.shape == matrix.shape and torch.equal(z, matrix) else evaluate.rankme(z)

    identity = checks.check_rankme(wrong_on(torch.eye(8), 7.0))
    assert not identity and "identity" in identity.message and "expected 8.000" in identity.message
    rank_one = checks.check_rankme(wrong_on(torch.ones(8, 8), 2.0))
    assert not rank_one and "rank one" in rank_one.message and "expected 1.000" in rank_one.message
    line = checks.check_rankme(lambda z: 2.0 if int(torch.linalg.matrix_rank(z)) == 1 else evaluate.rankme(z))
    assert not line and "rank one" in line.message


def test_the_usual_mistakes_are_named_before_the_special_cases():
    def unnormalised(z):
        sigma = torch.linalg.svdvals(z)
        return torch.exp(-(sigma * sigma.log()).sum())

    def base_two(z):
        sigma = torch.linalg.svdvals(z)
        p = sigma / sigma.sum()
        return 2 ** -(p * p.log()).sum()

    assert "not normalised" in checks.check_rankme(unnormalised).message
    assert "mixes bases" in checks.check_rankme(base_two).message
    assert "NotImplementedError" in checks.check_rankme(lambda z: (_ for _ in ()).throw(NotImplementedError)).message
