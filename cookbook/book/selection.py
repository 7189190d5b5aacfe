"""Choosing hyperparameters without labels: RankMe selection, its regret, and rank correlations.

RankMe (Garrido, Balestriero, Najman and LeCun, ICML 2023, arXiv:2210.02885) is the effective rank
of a batch of embeddings, computed without labels (:func:`cookbook.evaluate.rankme`). The paper's
claim: among the runs of *one* method that differ by their hyperparameters, the run of highest
RankMe is nearly as good downstream as the run that labels would pick. The measure of "nearly" is
the **regret**: the accuracy of the run picked by labels minus the accuracy of the run picked by
RankMe, in points (0 when both pick the same run). Across methods, RankMe is not expected to rank
the runs: a method whose loss spreads the embeddings more has a higher rank without being better.

:func:`regret` and :func:`spearman` are the arithmetic; :func:`selection_rows` applies them to the
sweeps a chapter loaded (:func:`cookbook.book.report.load_sweep`), one row per method, and
:func:`alpha_req` is the other label-free measure the Cookbook names (section 3.7), the decay of the
eigenvalue spectrum (Agrawal et al., NeurIPS 2022).
"""
from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

from cookbook.book.chapter import markdown
from cookbook.book.plots import COLUMN_WIDTH, legend_below, new_figure
from cookbook.book.sweeps import display_scale, measures, summary


def _finite(values: Mapping[str, float], name: str) -> None:
    if len(values) < 2:
        raise ValueError(f"{name} has {len(values)} setting(s): a selection needs at least 2 to choose between")
    bad = [label for label, v in values.items()
           if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)]
    if bad:
        raise ValueError(f"{name} has no finite value for {', '.join(map(repr, bad))}: drop those settings "
                         f"(a diverged run has no score to select by) or measure them again")


def select(values: Mapping[str, float]) -> str:
    """The label of the highest value (the first of equal ones, in the mapping's order)."""
    _finite(values, "the scores")
    return max(values, key=values.__getitem__)


def regret(selector: Mapping[str, float], target: Mapping[str, float]) -> float:
    """``max(target) - target[select(selector)]``: what choosing by ``selector`` (RankMe) costs in
    ``target`` (an accuracy, in its own units) against choosing by ``target`` itself. Both map the
    same setting labels to a value; higher is better for both. Never negative."""
    if set(selector) != set(target):
        raise ValueError(f"the selector and the target score different settings: only the selector has "
                         f"{sorted(set(selector) - set(target))}, only the target "
                         f"{sorted(set(target) - set(selector))}")
    _finite(selector, "the selector")
    _finite(target, "the target")
    return max(target.values()) - target[select(selector)]


def _ranks(values: Sequence[float]) -> list[float]:
    """Ranks from 1, ties sharing the mean of the ranks they span."""
    order = sorted(range(len(values)), key=values.__getitem__)
    ranks = [0.0] * len(values)
    start = 0
    while start < len(order):
        end = start
        while end + 1 < len(order) and values[order[end + 1]] == values[order[start]]:
            end += 1
        for i in order[start:end + 1]:
            ranks[i] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(x: Sequence[float], y: Sequence[float]) -> float:
    """Spearman's rank correlation of two paired sequences: the Pearson correlation of their ranks
    (ties get their mean rank). 1: ``y`` rises with ``x``, -1: it falls, 0: no monotone relation."""
    x, y = list(x), list(y)
    if len(x) != len(y):
        raise ValueError(f"spearman needs pairs: {len(x)} values against {len(y)}")
    if len(x) < 3:
        raise ValueError(f"spearman of {len(x)} pairs says nothing: give at least 3")
    if not all(math.isfinite(v) for v in x + y):
        raise ValueError("spearman got a NaN or infinite value: drop the runs that have no score")
    rx, ry = _ranks(x), _ranks(y)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    sxy = sum((a - mx) * (b - my) for a, b in zip(rx, ry))
    sxx, syy = sum((a - mx) ** 2 for a in rx), sum((b - my) ** 2 for b in ry)
    if sxx == 0 or syy == 0:
        raise ValueError("spearman of a constant sequence is undefined: every run has the same value")
    return sxy / math.sqrt(sxx * syy)


def selection_rows(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
                   pooled: str = "all methods") -> list[dict[str, Any]]:
    """For each method's sweep (``{method: sweep}``), its settings' :func:`cookbook.book.guide.summary`
    (seeds averaged), the setting ``selector`` picks, the one ``target`` picks, the regret in points
    (``target`` is an accuracy), the spread of ``target`` over the seeds (the largest high-low
    range of a setting: a regret below it is within noise; None with one seed) and Spearman's
    correlation of the two over the method's settings. The last row, named ``pooled``, correlates
    every setting of every sweep: its pick and regret are those of choosing across them too."""

    rows, every_setting = [], {}
    for method, sweep in sweeps.items():
        settings = summary(sweep)
        missing = [s["label"] for s in settings if selector not in s or target not in s]
        if missing:
            raise KeyError(f"{method}: the sweep {sweep['sweep']!r} has no {selector!r} or {target!r} for "
                           f"{', '.join(missing)} (a linear probe needs a sweep declared with probe_layers)")
        by_selector = {s["label"]: s[selector][0] for s in settings}
        by_target = {s["label"]: s[target][0] for s in settings}
        every_setting.update({(method, label): (by_selector[label], by_target[label]) for label in by_selector})
        seeds = min(len(s["seeds"]) for s in settings)
        rows.append({"method": method, "settings": len(settings), "seeds": seeds,
                     "by selector": select(by_selector), "by target": select(by_target),
                     "regret": 100 * regret(by_selector, by_target),
                     # unknown (None) with one seed: a spread of 0 would read as "no noise"
                     "seed spread": 100 * max(s[target][2] - s[target][1] for s in settings) if seeds > 1 else None,
                     "spearman": spearman(list(by_selector.values()), list(by_target.values()))})
    if len(sweeps) > 1:
        by_selector = {f"{m}: {label}": v[0] for (m, label), v in every_setting.items()}
        by_target = {f"{m}: {label}": v[1] for (m, label), v in every_setting.items()}
        rows.append({"method": pooled, "settings": len(every_setting), "seeds": None,
                     "by selector": select(by_selector), "by target": select(by_target),
                     "regret": 100 * regret(by_selector, by_target), "seed spread": None,
                     "spearman": spearman(list(by_selector.values()), list(by_target.values()))})
    return rows


def selection_table(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
                    pooled: str = "all methods") -> list[dict[str, Any]]:
    """:func:`selection_rows` as a Markdown table; returns the rows."""
    rows = selection_rows(sweeps, selector, target, pooled)
    lines = [f"| method | settings x seeds | picked by {selector} | picked by {target} | regret (points of {target}) "
             f"| largest seed spread | Spearman({selector}, {target}) |", "|---|---:|---|---|---:|---:|---:|"]
    for r in rows:
        size = f"{r['settings']} x {r['seeds']}" if r["seeds"] else f"{r['settings']}"
        spread = f"{r['seed spread']:.1f}" if r["seed spread"] is not None else ""
        lines.append(f"| {r['method']} | {size} | {r['by selector']} | {r['by target']} | {r['regret']:.1f} | {spread} "
                     f"| {r['spearman']:+.2f} |")
    markdown("\n".join(lines))
    return rows


def scatter(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
            title: str | None = None):
    """``target`` against ``selector`` for every setting of every method's sweep (seeds averaged),
    one colour per method, the setting each one picks circled: what :func:`selection_rows` reads."""
    fig = new_figure(6.0, 4.2)
    ax = fig.subplots()
    for i, (method, sweep) in enumerate(sweeps.items()):
        rows = summary(sweep)
        xs = [display_scale(selector) * r[selector][0] for r in rows]
        ys = [display_scale(target) * r[target][0] for r in rows]
        ax.scatter(xs, ys, color=f"C{i}", label=method, s=22)
        labels = [r["label"] for r in rows]
        pick = labels.index(select({r["label"]: r[selector][0] for r in rows}))  # the setting selection_rows picks
        ax.scatter([xs[pick]], [ys[pick]], s=140, facecolors="none", edgecolors=f"C{i}", lw=1.5)
    ax.set_xlabel(selector + ("" if display_scale(selector) == 1 else " (%)"))
    ax.set_ylabel(target + ("" if display_scale(target) == 1 else " (%)"))
    legend_below(fig, [ax], ncols=len(sweeps))
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{target} against {selector}: each point a setting, circled the one {selector} picks",
                 fontsize=9)
    return fig


def loss_tracking_rows(sweeps: Mapping[str, dict[str, Any]], coefficient: Mapping[str, str],
                       target: str = "kNN") -> list[dict[str, Any]]:
    """Does a method's final training loss say which of its runs is better downstream (LeJEPA's claim,
    Balestriero and LeCun, 2025)? For each method's sweep, Spearman's correlation between the final
    training loss and ``target`` over all its settings (-1: the lower the loss, the better, always),
    and the same within each value of ``coefficient[method]``, the setting that changes what the loss
    measures (its temperature, a term's weight), whose values make losses of different scales: the
    mean of those within-group correlations is the fair one."""

    rows = []
    for method, sweep in sweeps.items():
        points = sweep["points"]  # every run, seeds apart: a seed's loss goes with that seed's accuracy
        measured = [measures(p) for p in points]
        missing = [p["label"] for p, m in zip(points, measured) if "loss" not in m]
        if missing:
            raise KeyError(f"{method}: no training loss recorded for {', '.join(missing)}")
        losses, targets = [m["loss"] for m in measured], [m[target] for m in measured]
        groups: dict[Any, list[int]] = {}
        for i, p in enumerate(points):
            groups.setdefault(p["settings"].get(coefficient[method]), []).append(i)
        within = [spearman([losses[i] for i in g], [targets[i] for i in g]) for g in groups.values() if len(g) >= 3]
        rows.append({"method": method, "runs": len(points), "coefficient": coefficient[method],
                     "spearman": spearman(losses, targets),
                     "within": sum(within) / len(within) if within else None, "groups": len(within)})
    return rows


def loss_tracking_table(sweeps: Mapping[str, dict[str, Any]], coefficient: Mapping[str, str],
                        target: str = "kNN") -> list[dict[str, Any]]:
    """:func:`loss_tracking_rows` as a Markdown table; returns the rows."""
    rows = loss_tracking_rows(sweeps, coefficient, target)
    lines = [f"| method | runs | Spearman(final loss, {target}), all runs | mean Spearman at a fixed "
             f"loss coefficient | the coefficient (groups) |", "|---|---:|---:|---:|---|"]
    for r in rows:
        within = f"{r['within']:+.2f}" if r["within"] is not None else "n/a"
        lines.append(f"| {r['method']} | {r['runs']} | {r['spearman']:+.2f} | {within} | {r['coefficient']} "
                     f"({r['groups']}) |")
    markdown("\n".join(lines))
    return rows


def loss_figure(sweeps: Mapping[str, dict[str, Any]], coefficient: Mapping[str, str], target: str = "kNN"):
    """One panel per method: ``target`` against the final training loss of each run, coloured by
    the value of ``coefficient[method]`` (the setting that changes what the loss measures), in order
    of value; each panel's legend under it. Panels go three to a row."""
    columns = min(len(sweeps), 3)
    rows = -(-len(sweeps) // columns)
    fig = new_figure(min(COLUMN_WIDTH, 2.9 * columns), 3.4 * rows)
    panels = fig.subfigures(rows, columns, squeeze=False)
    for panel, (method, sweep) in zip(panels.flat, sweeps.items()):
        ax = panel.subplots()
        values = sorted({p["settings"].get(coefficient[method]) for p in sweep["points"]},
                        key=lambda v: (not isinstance(v, (int, float)), v if isinstance(v, (int, float)) else str(v)))
        for i, value in enumerate(values):
            chosen = [measures(p) for p in sweep["points"] if p["settings"].get(coefficient[method]) == value]
            ax.scatter([m["loss"] for m in chosen], [display_scale(target) * m[target] for m in chosen], color=f"C{i}",
                       s=18, label=f"{value:g}" if isinstance(value, float) else str(value))
        ax.set_xlabel("final training loss")
        ax.set_ylabel(target + ("" if display_scale(target) == 1 else " (%)"))
        ax.set_title(method, fontsize=10)
        ax.grid(alpha=0.3)
        panel.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=3, fontsize=8,
                     frameon=False, title=coefficient[method], title_fontsize=8, columnspacing=1.0,
                     handletextpad=0.2)
    return fig
