"""Claims as code: a chapter's sentence about its own runs and the check behind it, made one thing.

A chapter never types a number about its runs or a verdict on them. It compares runs over their
seeds with :func:`compare`, whose :class:`Comparison` words its own verdict ("higher by 5.2 points,
seed ranges 49.0-54.2% against 41.0-47.1%", or "no difference here"), and states the sentence with
:func:`claim` (or :meth:`Comparison.states`), which shows it as Markdown in the page and checks it:

- **Building the book** (``make test``, ``make book``: ``COOKBOOK_STRICT_CLAIMS=1``): a claim the data
  does not support raises :class:`ClaimFailed` with its text, so the chapter's execution fails.
- **A reader's kernel** (Colab, a laptop): a claim about committed data (the sweeps and runs shipped
  with the package) still raises, since that data is the same everywhere; a claim about a run the
  chapter trains live (``live=True``) may come out otherwise on another CPU or a GPU, within the
  seeds' spread, so it prints a visible note saying so instead of stopping the notebook.

The rules of evidence, stated once (chapter 1 introduces them; every chapter uses them):

- **A difference** between two sets of runs needs at least :data:`MIN_SEEDS` seeds on each side, and
  counts only when their seed ranges do not overlap; otherwise it is "no difference here", whatever
  the means say. A reference measured without seeds (chance, raw pixels) is a range of one value.
- **Collapsed** is :func:`cookbook.book.collapse.is_collapsed` (RankMe <= 3, or a normalised std under 0.1).
- **Keeps / drops a factor**: features *drop* a nuisance factor when every seed's kNN accuracy on it is
  within :data:`DROP_MARGIN` of chance (:func:`factor_verdict`); whether training *removed* or *added*
  information about it is a comparison against the untrained network, by the first rule.

Every claim shown is recorded in the executed notebook (the output's metadata ``cookbook_claim``), so
``tools/claims_report.py`` lists each chapter's checked claims from the executed notebooks.
"""
from __future__ import annotations

import os
import statistics
from dataclasses import dataclass
from typing import Sequence

from IPython.display import Markdown
from IPython.display import display as show_in_notebook

STRICT_ENV = "COOKBOOK_STRICT_CLAIMS"  # "1" while the book is built: a false claim fails the build
METADATA_KEY = "cookbook_claim"  # where an executed notebook records each claim it showed
MIN_SEEDS = 3
# A factor's kNN this close to chance counts as chance: on the toy shapes' 1,000 test images the
# standard error of an accuracy near 1/6 is about 1.2 points, so 5 points is about four of them.
DROP_MARGIN = 0.05
VERDICTS = ("higher", "lower", "no difference")

LEDGER: list[dict] = []  # the claims this kernel has shown, in order


class ClaimFailed(AssertionError):
    """A chapter's sentence that its data does not support; the message quotes the sentence."""


def strict() -> bool:
    """True while the book is built (``COOKBOOK_STRICT_CLAIMS=1``): every false claim raises."""
    return os.environ.get(STRICT_ENV, "") == "1"


def _percent(value: float) -> str:
    return f"{100 * value:.1f}"


@dataclass(frozen=True)
class Comparison:
    """``measure`` of the runs ``names[0]`` against the runs ``names[1]``, one value per seed each
    (``percent``: accuracies in [0, 1], worded in percent and points)."""

    measure: str
    names: tuple[str, str]
    values: tuple[tuple[float, ...], tuple[float, ...]]
    percent: bool = True

    def mean(self, side: int) -> float:
        return statistics.fmean(self.values[side])

    def span(self, side: int) -> tuple[float, float]:
        return min(self.values[side]), max(self.values[side])

    @property
    def gap(self) -> float:
        """Mean of the first runs minus mean of the second."""
        return self.mean(0) - self.mean(1)

    @property
    def verdict(self) -> str:
        """"higher" or "lower" when the seed ranges do not overlap, else "no difference"."""
        (low_a, high_a), (low_b, high_b) = self.span(0), self.span(1)
        return "higher" if low_a > high_b else "lower" if high_a < low_b else "no difference"

    def number(self, value: float) -> str:
        return f"{_percent(value)}%" if self.percent else f"{value:.3g}"

    def described(self, side: int) -> str:
        """A side's mean and, for several seeds, their range: "53.1% (seeds 51.9-54.0%)"."""
        low, high = self.span(side)
        if len(self.values[side]) == 1:
            return self.number(low)
        spread = (f"{_percent(low)}-{_percent(high)}%" if self.percent else f"{low:.3g}-{high:.3g}")
        return f"{self.number(self.mean(side))} ({len(self.values[side])} seeds, {spread})"

    def words(self) -> str:
        """The verdict with the numbers behind it, as a sentence's second half."""
        gap = abs(self.gap)
        size = f"{_percent(gap)} points" if self.percent else f"{gap:.3g}"
        both = f"{self.measure} {self.described(0)} for {self.names[0]} against {self.described(1)} for {self.names[1]}"
        if self.verdict == "no difference":
            return f"{both}: no difference here, the gap of {size} is inside the seeds' spread"
        return f"{both}: {self.verdict} by {size}"

    __str__ = words

    def states(self, verdict: str, sentence: str, live: bool = False) -> bool:
        """Show ``sentence`` followed by this comparison's words, and check that its verdict is
        ``verdict`` ("higher", "lower" or "no difference"): :func:`claim`."""
        if verdict not in VERDICTS:
            raise ValueError(f"verdict={verdict!r}: a comparison's verdict is one of {', '.join(VERDICTS)}")
        return claim(f"{sentence} ({self.words()}).", self.verdict == verdict, live=live,
                     evidence=f"the data say {self.verdict!r}, the sentence {verdict!r}")


def _values(values: Sequence[float] | float, name: str, reference: bool) -> tuple[float, ...]:
    if isinstance(values, (int, float)):
        if not reference:
            raise ValueError(f"{name}: one number is a reference (chance, raw pixels); runs need one value per "
                             f"seed, at least {MIN_SEEDS}")
        return (float(values),)
    values = tuple(float(v) for v in values)
    if not reference and len(values) < MIN_SEEDS:
        raise ValueError(f"{name}: {len(values)} seed(s) ({', '.join(f'{v:.3g}' for v in values)}); a comparison "
                         f"needs at least {MIN_SEEDS} seeds of each run, or reference=True for a measure without seeds")
    if not values:
        raise ValueError(f"{name}: no values to compare")
    return values


def compare(first: Sequence[float], second: Sequence[float] | float, *, names: tuple[str, str],
            measure: str = "kNN", percent: bool = True, reference: bool = False) -> Comparison:
    """Compare ``measure`` of the runs ``first`` (one value per seed) with ``second``: other runs, one
    value per seed, or a reference without seeds (a number: chance, raw pixels; or values with
    ``reference=True``). Fewer than :data:`MIN_SEEDS` seeds of runs is refused."""
    return Comparison(measure, tuple(names), (_values(first, names[0], False),
                                              _values(second, names[1], reference or isinstance(second, (int, float)))),
                      percent)


def claim(sentence: str, holds: bool, live: bool = False, evidence: str = "") -> bool:
    """Show ``sentence`` (Markdown) and check it: ``holds`` is what the data say of it. A false claim
    raises :class:`ClaimFailed` while the book is built and for committed data anywhere; a false claim
    about a run trained here (``live``) outside the build prints a note instead. Returns ``holds``."""
    holds = bool(holds)
    record = {"sentence": sentence, "holds": holds, "live": live}
    LEDGER.append(record)
    if not holds and (strict() or not live):
        raise ClaimFailed(f"the chapter claims: {sentence!r}, and its data do not support it"
                          f"{' (' + evidence + ')' if evidence else ''}. Rewrite the sentence from the data, "
                          f"or find what changed the runs.")
    text = sentence if holds else (f"{sentence}\n\n> **On this machine the run came out differently**: "
                                   f"{evidence or 'the data above do not support this sentence'}. Live runs "
                                   f"differ between CPUs and GPUs within the seeds' spread; the book's "
                                   f"sentence is about the run it was built with.")
    show_in_notebook(Markdown(text), metadata={METADATA_KEY: record})
    return holds


def factor_verdict(trained: Sequence[float], chance: float, untrained: Sequence[float]) -> str:
    """The book's rule for what features do with a nuisance factor, from its kNN accuracy over the
    seeds of the trained runs and of their untrained networks: "drops it" when every trained seed is
    within :data:`DROP_MARGIN` of ``chance``; otherwise "keeps it", and then "keeps more of it than
    the untrained network" or "keeps less of it ..." when the seed ranges do not overlap."""
    trained = _values(trained, "trained", False)
    if max(trained) <= chance + DROP_MARGIN:
        return "drops it"
    versus = compare(trained, untrained, names=("trained", "untrained")).verdict
    return {"higher": "keeps more of it than the untrained network",
            "lower": "keeps less of it than the untrained network"}.get(versus,
                                                                      "keeps it as the untrained network does")
