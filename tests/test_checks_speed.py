"""The speed chapter's checkers accept the right answer and name each usual mistake."""
from __future__ import annotations

import pytest

from cookbook.book import checks


def test_rank_slice_accepts_contiguous_parts_and_names_each_mistake():
    assert checks.check_rank_slice(lambda idx, world, rank: idx.chunk(world)[rank])
    n = lambda idx, world: len(idx) // world  # noqa: E731
    assert checks.check_rank_slice(lambda idx, world, rank: idx[rank * n(idx, world):(rank + 1) * n(idx, world)])
    mistakes = {
        "strided split": lambda idx, world, rank: idx[rank::world],
        "whole global batch": lambda idx, world, rank: idx,
        "on two processes": lambda idx, world, rank: idx[rank * n(idx, world) // 2:][:n(idx, world)],
        "parts have": lambda idx, world, rank: idx[rank * n(idx, world):(rank + 1) * n(idx, world) + 1],
        "not the global batch in its order": lambda idx, world, rank: idx.chunk(world)[world - 1 - rank],
        "NotImplementedError": lambda idx, world, rank: (_ for _ in ()).throw(NotImplementedError),
        "1-d tensor": lambda idx, world, rank: idx.tolist(),
    }
    for expected, fn in mistakes.items():
        feedback = checks.check_rank_slice(fn)
        assert not feedback and expected in str(feedback), (expected, str(feedback))


def test_epoch_seconds_accepts_the_arithmetic_and_names_each_mistake():
    right = lambda g, v, n, t: g * 1e9 * v * n / (t * 1e12)  # noqa: E731
    assert checks.check_epoch_seconds(right)
    assert right(3.34, 2, 50_000, 989.4) == pytest.approx(0.3376, abs=1e-3)
    mistakes = {
        "multiply by the views": lambda g, v, n, t: g * 1e9 * n / (t * 1e12),
        "1000 times too large": lambda g, v, n, t: g * v * n / t,
        "1000 times too small": lambda g, v, n, t: g * 1e6 * v * n / (t * 1e12),
        "does not multiply": lambda g, v, n, t: g * 1e9 * v * n * t * 1e12,
        "expected": lambda g, v, n, t: 1.0,
        "None": lambda g, v, n, t: None,
    }
    for expected, fn in mistakes.items():
        feedback = checks.check_epoch_seconds(fn)
        assert not feedback and expected in str(feedback), (expected, str(feedback))
