"""Answer checkers for the exercises: accept a correct answer, explain a wrong one.

Each ``check_*`` function takes the student's answer (usually a function), compares it
with the library's own implementation on several inputs, and returns a :class:`Feedback`
that is truthy when the answer is right. For a wrong answer it tries the usual mistakes
and names the one that matches, so the message says *what* is wrong, not just *that* it is.

The checkers live in one module per chapter topic and are all importable from here
(``from cookbook.book import checks; checks.check_nt_xent(fn)``). A new checker joins its topic's
module and that module's ``__all__``; shared machinery (``Feedback``, ``_value``, ``_close``,
``_first_matching``) is in :mod:`cookbook.book.checks.core`.

A multiple-choice exercise is checked by its label, ``checks.check_answer("ex-colour", answer)``
(:mod:`cookbook.book.checks.answers`): its key (the right letter, and what each option's choice is told)
sits in its topic's module as ``KEYS``, not in the chapter, where the student's cell would show it.
"""
from cookbook.book.checks.answers import check_answer as check_answer
from cookbook.book.checks.basics import *  # noqa: F401,F403  chapter 1: NT-Xent, RankMe
from cookbook.book.checks.core import Feedback as Feedback
from cookbook.book.checks.core import check_choice as check_choice
from cookbook.book.checks.correlation import *  # noqa: F401,F403  chapter 5: VICReg, Barlow Twins, SwAV, W-MSE
from cookbook.book.checks.distillation import *  # noqa: F401,F403  chapter 4: BYOL, SimSiam, DINO
from cookbook.book.checks.guide import *  # noqa: F401,F403  chapters 8-10: the cook's guide
from cookbook.book.checks.masked import *  # noqa: F401,F403  chapter 6: MAE, I-JEPA
from cookbook.book.checks.metric_learning import *  # noqa: F401,F403  chapter 3: SimCLR, NNCLR, MoCo
from cookbook.book.checks.pretext import *  # noqa: F401,F403  chapter 2: pretext tasks
from cookbook.book.checks.speed import *  # noqa: F401,F403  chapter 14: speed
from cookbook.book.checks.tuning import *  # noqa: F401,F403  chapters 11-13 and 15
from cookbook.book.checks.unified import *  # noqa: F401,F403  chapter 7: the unified view
