"""Chapter 3's checkers: MoCo's InfoNCE against a queue and NNCLR's nearest-neighbour lookup.

Each accepts the recipe's own function, rejects the usual mistakes with a message that names
them, and answers an unfinished exercise helpfully."""
from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from cookbook.book import checks
from recipes import moco, nnclr

# ----------------------------------------------------------------------------- InfoNCE with a queue

def info_nce_reference(q, k, queue, t):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = torch.cat([(q * k).sum(dim=1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))


def info_nce_not_normalised(q, k, queue, t):
    logits = torch.cat([(q * k).sum(dim=1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long))


def info_nce_positive_not_in_denominator(q, k, queue, t):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    return (torch.logsumexp(q @ queue.T / t, dim=1) - (q * k).sum(dim=1) / t).mean()


def info_nce_targets_are_row_numbers(q, k, queue, t):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    logits = torch.cat([(q * k).sum(dim=1, keepdim=True), q @ queue.T], dim=1) / t
    return F.cross_entropy(logits, torch.arange(len(q)))


def info_nce_summed(q, k, queue, t):
    return info_nce_reference(q, k, queue, t) * len(q)


def info_nce_temperature_multiplies(q, k, queue, t):
    return info_nce_reference(q, k, queue, 1 / t)


def info_nce_batch_keys_and_queue(q, k, queue, t):
    q, k = F.normalize(q, dim=1), F.normalize(k, dim=1)
    return F.cross_entropy(torch.cat([q @ k.T, q @ queue.T], dim=1) / t, torch.arange(len(q)))


def test_info_nce_checker_accepts_the_recipe_and_a_reference():
    assert checks.check_info_nce_queue(moco.info_nce_loss)
    feedback = checks.check_info_nce_queue(info_nce_reference)
    assert feedback and "matches" in feedback.message


@pytest.mark.parametrize("wrong, words", [
    (info_nce_not_normalised, "normalised"),
    (info_nce_positive_not_in_denominator, "denominator"),
    (info_nce_targets_are_row_numbers, "target index"),
    (info_nce_summed, "summed"),
    (info_nce_temperature_multiplies, "multiplies"),
    (lambda q, k, queue, t: moco.info_nce_loss(q, k, None, t), "queue is not used"),
    (info_nce_batch_keys_and_queue, "other keys of the batch are"),
])
def test_info_nce_checker_names_the_mistake(wrong, words):
    feedback = checks.check_info_nce_queue(wrong)
    assert not feedback and words in feedback.message and "expected" in feedback.message


@pytest.mark.parametrize("unfinished, words", [
    (lambda q, k, queue, t: None, "return"),
    (lambda q, k, queue, t: (_ for _ in ()).throw(NotImplementedError), "NotImplementedError"),
    (lambda q, k, queue, t: torch.zeros(len(q)), "scalar"),
])
def test_info_nce_checker_helps_with_an_unfinished_answer(unfinished, words):
    feedback = checks.check_info_nce_queue(unfinished)
    assert not feedback and words in feedback.message


def test_info_nce_checker_says_when_no_known_mistake_matches():
    feedback = checks.check_info_nce_queue(lambda q, k, queue, t: torch.tensor(123.0))
    assert not feedback and "differs from MoCo's InfoNCE" in feedback.message


# ----------------------------------------------------------------------------- NNCLR's nearest neighbour

def neighbour_reference(z, support):
    support = F.normalize(support, dim=1)
    return support[(F.normalize(z, dim=1) @ support.T).argmax(dim=1)]


def test_nearest_neighbour_checker_accepts_the_recipe_and_a_reference():
    assert checks.check_nearest_neighbour(nnclr.nearest_neighbour)
    feedback = checks.check_nearest_neighbour(neighbour_reference)
    assert feedback and "matches" in feedback.message


@pytest.mark.parametrize("wrong, words", [
    (lambda z, s: s[(F.normalize(z, dim=1) @ F.normalize(s, dim=1).T).argmax(dim=1)], "not L2-normalised"),
    (lambda z, s: F.normalize(s, dim=1)[(F.normalize(z, dim=1) @ F.normalize(s, dim=1).T).argmin(dim=1)],
     "least"),
    (lambda z, s: F.normalize(s, dim=1)[(z @ s.T).argmax(dim=1)], "raw dot product"),
    (lambda z, s: F.normalize(s, dim=1)[torch.cdist(z, s).argmin(dim=1)], "Euclidean"),
    (lambda z, s: F.normalize(z, dim=1), "embeddings themselves"),
])
def test_nearest_neighbour_checker_names_the_mistake(wrong, words):
    feedback = checks.check_nearest_neighbour(wrong)
    assert not feedback and words in feedback.message


@pytest.mark.parametrize("unfinished, words", [
    (lambda z, s: None, "return"),
    (lambda z, s: (_ for _ in ()).throw(NotImplementedError), "NotImplementedError"),
    (lambda z, s: (F.normalize(z, dim=1) @ F.normalize(s, dim=1).T).argmax(dim=1), "index of the neighbour"),
    (lambda z, s: [0, 1], "return a tensor"),
    (lambda z, s: z @ s.T, "shape"),
])
def test_nearest_neighbour_checker_helps_with_an_unfinished_answer(unfinished, words):
    feedback = checks.check_nearest_neighbour(unfinished)
    assert not feedback and words in feedback.message


def test_nearest_neighbour_checker_says_when_no_known_mistake_matches():
    feedback = checks.check_nearest_neighbour(lambda z, s: F.normalize(s, dim=1)[: len(z)])
    assert not feedback and "differ from the recipe's" in feedback.message
