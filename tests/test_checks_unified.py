"""Chapter 7's checkers: the reference answers pass, the usual mistakes are named, unfinished code gets a hint."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cookbook.book import checks, spectral


def assert_named(checker, cases):
    """Each wrong answer is rejected with a message that contains its words."""
    for wrong, words in cases:
        feedback = checker(wrong)
        assert not feedback and words in feedback.message, (wrong.__name__, feedback.message)


# ----------------------------------------------------------------------------- spectral contrastive loss

def _cross(z1, z2):
    return z1 @ z2.T, ~torch.eye(len(z1), dtype=torch.bool)


def test_spectral_contrastive_checker_accepts_the_module_and_names_common_mistakes():
    assert checks.check_spectral_contrastive_loss(spectral.spectral_contrastive_loss)

    def diagonal_in_repulsion(z1, z2):
        cross, _ = _cross(z1, z2)
        return -2 * cross.diagonal().mean() + cross.pow(2).mean()

    def no_factor_two(z1, z2):
        cross, off = _cross(z1, z2)
        return -cross.diagonal().mean() + cross[off].pow(2).mean()

    def cosine(z1, z2):
        return spectral.spectral_contrastive_loss(F.normalize(z1, dim=1), F.normalize(z2, dim=1))

    def same_view(z1, z2):
        cross, off = _cross(z1, z2)
        return -2 * cross.diagonal().mean() + (z1 @ z1.T)[off].pow(2).mean()

    assert_named(checks.check_spectral_contrastive_loss, ((diagonal_in_repulsion, "diagonal"),
                 (no_factor_two, "factor 2"), (cosine, "normalised"), (same_view, "itself")))


def unfinished(*args):
    raise NotImplementedError


@pytest.mark.parametrize("checker", [checks.check_spectral_contrastive_loss, checks.check_spectral_embedding])
def test_checkers_explain_unfinished_answers(checker):
    assert "NotImplementedError" in checker(unfinished).message
    assert "return" in checker(lambda *args: None).message


def test_spectral_contrastive_checker_wants_a_scalar():
    assert "scalar" in checks.check_spectral_contrastive_loss(lambda z1, z2: z1 @ z2.T).message


# ----------------------------------------------------------------------------- closed-form embedding

def _eigenvectors(adjacency):
    return torch.linalg.eigh(spectral.normalized_adjacency(adjacency))[1]


def test_spectral_embedding_checker_accepts_any_basis_of_the_right_subspace():
    assert checks.check_spectral_embedding(spectral.spectral_embedding)

    def from_the_laplacian(adjacency, k):  # smallest of I - D^-1/2 A D^-1/2, after the trivial one
        laplacian = torch.eye(len(adjacency), dtype=adjacency.dtype) - spectral.normalized_adjacency(adjacency)
        return torch.linalg.eigh(laplacian)[1][:, 1:k + 1]

    def mixed_basis(adjacency, k):  # the same span, another basis
        basis = spectral.spectral_embedding(adjacency, k)
        return basis @ torch.randn(k, k, generator=torch.Generator().manual_seed(0), dtype=basis.dtype)

    assert checks.check_spectral_embedding(from_the_laplacian)
    assert checks.check_spectral_embedding(mixed_basis)


def test_spectral_embedding_checker_names_common_mistakes():
    def unnormalised(adjacency, k):
        return torch.linalg.eigh(adjacency)[1][:, -k - 1:-1]

    def smallest(adjacency, k):
        return _eigenvectors(adjacency)[:, :k]

    def trivial_kept(adjacency, k):
        return _eigenvectors(adjacency)[:, -k:]

    def rows(adjacency, k):
        return _eigenvectors(adjacency)[-k - 1:-1].T

    def random_walk(adjacency, k):
        return adjacency.sum(dim=1).rsqrt()[:, None] * spectral.spectral_embedding(adjacency, k)

    assert_named(checks.check_spectral_embedding, ((unnormalised, "normalise it first"), (smallest, "SMALLEST"),
                 (trivial_kept, "trivial"), (rows, "ROWS"), (random_walk, "D^-1/2 times")))


def test_spectral_embedding_checker_explains_shapes_and_spans():
    assert "shape" in checks.check_spectral_embedding(lambda a, k: _eigenvectors(a)[-k - 1:-1]).message
    assert "span" in checks.check_spectral_embedding(lambda a, k: torch.ones(len(a), k)).message
