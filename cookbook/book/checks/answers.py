"""The multiple-choice exercises, checked by their label: ``checks.check_answer("ex-colour", answer)``.

Each chapter topic's module keeps its exercises' keys in ``KEYS`` (label -> :class:`~cookbook.book.checks.core.Choice`),
next to that chapter's other checkers; this module gathers them. The student's cell names the exercise, not
the right letter, so the answer is not on the page before the question is tried."""
from __future__ import annotations

from cookbook.book.checks import (
    basics,
    correlation,
    distillation,
    guide,
    masked,
    metric_learning,
    pretext,
    speed,
    tuning,
    unified,
)
from cookbook.book.checks.core import Choice, Feedback

__all__ = ["check_answer", "KEYS"]


def _gather(*modules) -> dict[str, Choice]:
    keys: dict[str, Choice] = {}
    for module in modules:
        repeated = keys.keys() & module.KEYS.keys()
        if repeated:
            raise ValueError(f"{module.__name__} repeats the exercise labels {sorted(repeated)}")
        keys.update(module.KEYS)
    return keys


KEYS = _gather(basics, pretext, metric_learning, distillation, correlation, masked, unified, guide, tuning, speed)


def check_answer(label: str, answer: str) -> Feedback:
    """Check the letter ``answer`` to the multiple-choice exercise labelled ``label``: right, or why not."""
    if label not in KEYS:
        raise KeyError(f"no multiple-choice exercise is labelled {label!r}; the labels are {', '.join(sorted(KEYS))}")
    return KEYS[label].check(answer)
