"""What every checker shares: the :class:`Feedback` it returns, calling the student's code
safely, comparing numbers, and the multiple-choice checker."""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Callable

import torch


@dataclass
class Feedback:
    passed: bool
    message: str

    def __bool__(self) -> bool:
        return self.passed

    def __str__(self) -> str:
        return ("correct: " if self.passed else "not yet: ") + self.message

    def _repr_markdown_(self) -> str:
        mark = "✅" if self.passed else "❌"
        return f"{mark} **{'Correct' if self.passed else 'Not yet'}**: {self.message}"

    def __repr__(self) -> str:
        return str(self)


def _returned(fn: Callable, *args):
    """Call the student's function; return ``(output, None)`` or ``(None, what went wrong)``."""
    try:
        out = fn(*args)
    except NotImplementedError:
        return None, "the function still raises NotImplementedError: fill in its body"
    except Exception as err:  # the student's code may fail in any way; report it, do not crash the page
        return None, f"calling it raised {type(err).__name__}: {err}"
    if out is None:
        return None, "it returned None: did you forget `return`?"
    return out, None


def _value(fn: Callable, *args):
    """Call the student's function; turn a crash or a non-number into a message."""
    out, error = _returned(fn, *args)
    if error:
        return None, error
    if isinstance(out, torch.Tensor):
        if out.numel() != 1:
            return None, f"it returned a tensor of shape {tuple(out.shape)}; the answer is a single number (a scalar)"
        out = out.item()
    try:
        return float(out), None
    except (TypeError, ValueError):
        return None, f"it returned {type(out).__name__}, not a number"


def _close(a: float, b: float, tol: float = 1e-4) -> bool:
    return math.isfinite(a) and abs(a - b) <= tol * max(1.0, abs(b))


def _first_matching(value: float, mistakes: dict[str, float]) -> str | None:
    return next((why for why, wrong in mistakes.items() if _close(value, wrong)), None)


# ------------------------------------------------------------------------- multiple choice

@dataclass(frozen=True)
class Choice:
    """The key of a multiple-choice exercise, kept in this package rather than in the chapter, where the
    student's cell would show it: the right letter, and for each option what the student reads on choosing
    it (for the right one, why it is right)."""
    correct: str
    why: dict[str, str]

    def check(self, answer: str) -> Feedback:
        return check_choice(answer, self.correct, self.why)


def check_choice(answer: str, correct: str, explanations: dict[str, str]) -> Feedback:
    """A multiple-choice answer: ``explanations`` maps each wrong option to why it is wrong (and may say,
    for the right one, why it is right). A chapter calls ``checks.check_answer(label, answer)`` instead,
    which finds the key by the exercise's label, so that the right letter is not in the student's cell."""
    options = sorted({correct, *explanations})
    key = str(answer).strip().lower()
    if key == correct.lower():
        return Feedback(True, explanations.get(correct, "that is it."))
    for option, why in explanations.items():
        if key == option.lower():
            return Feedback(False, why)
    return Feedback(False, f"{answer!r} is not one of the options {', '.join(options)}")
