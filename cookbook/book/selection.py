"""Choosing hyperparameters without labels: RankMe selection, its regret, and rank correlations.

RankMe (Garrido, Balestriero, Najman and LeCun, ICML 2023, arXiv:2210.02885) is the effective rank
of a batch of embeddings, computed without labels (:func:`cookbook.evaluate.rankme`). The paper's
claim: among the runs of *one* method that differ by their hyperparameters, the run of highest
RankMe is nearly as good downstream as the run that labels would pick. The measure of "nearly" is
the **regret**: the accuracy of the run picked by labels minus the accuracy of the run picked by
RankMe, in points (0 when both pick the same run). Across methods, RankMe is not expected to rank
the runs: a method whose loss spreads the embeddings more has a higher rank without being better.

:func:`regret` and :func:`spearman` are the arithmetic; :func:`selection_rows` applies them to the
sweeps a chapter loaded (:func:`cookbook.book.report.load_sweep`), one row per method, and compares
the two picks over their seeds by the book's rule (:func:`cookbook.book.claims.compare`): a regret is
a gap between two means, and only a gap outside both picks' seed ranges is a loss the seeds can see.
:func:`regret_figure` draws it: each setting's accuracy against its RankMe, both picks with their
seed ranges, the regret as an arrow between them, beside chance, raw pixels and the untrained network.
:func:`cookbook.book.spectral.alpha_req` is the other label-free measure the Cookbook names (section
3.7), the decay of the eigenvalue spectrum (Agrawal et al., NeurIPS 2022); it has an optimum near 1
rather than a direction, so it selects through a score (:func:`closest_to_one`).

The last part holds chapter 13's readings of its three sweeps, each finding a checked claim.
"""
from __future__ import annotations

import math
import statistics
from typing import Any, Callable, Mapping, Sequence

from cookbook.book.chapter import markdown
from cookbook.book.claims import MIN_SEEDS, claim, compare
from cookbook.book.guide import introduce, table
from cookbook.book.plots import COLUMN_WIDTH, legend_below, new_figure, wrap
from cookbook.book.sweeps import display_scale, measures, reference_rows, references, seed_values, summary


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


# How a setting reads in a table cell: the swept coefficients by their symbols in the chapter's prose.
SHORT = {"temperature ": "τ ", "lambd ": "λ ", "cov_coeff ": "cov_coeff "}


def short_label(label: str) -> str:
    """"lr 0.002, lambd 0.2" -> "lr 0.002, λ 0.2": a setting short enough for a table cell."""
    for long, short in SHORT.items():
        label = label.replace(long, short)
    return label


def closest_to_one(value: float) -> float:
    """The score that ranks an alpha-ReQ by its distance to 1, the decay Agrawal et al. (2022) found in the
    best representations: the closer, the higher."""
    return -abs(value - 1.0)


def _per_seed_spearman(sweep: dict[str, Any], labels: Sequence[str], selector: str, target: str,
                       score: Callable[[float], float]) -> list[float]:
    """Spearman's correlation of the selector's score and the target over the settings ``labels``, once per
    seed (seed s of every setting): whether the ranking holds seed by seed, not just for the means."""
    by_selector = [seed_values(sweep, label, selector) for label in labels]
    by_target = [seed_values(sweep, label, target) for label in labels]
    seeds = min(len(v) for v in by_selector)
    return [spearman([score(v[s]) for v in by_selector], [v[s] for v in by_target]) for s in range(seeds)]


def selection_rows(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
                   pooled: str = "all methods", score: Callable[[float], float] | None = None) -> list[dict[str, Any]]:
    """For each method's sweep (``{method: sweep}``), over its settings' means across seeds
    (:func:`cookbook.book.sweeps.summary`): the setting ``selector`` picks (its highest ``score`` of the
    mean, default the mean itself), the one ``target`` picks, the regret in points (``target`` is an
    accuracy), Spearman's correlation of the two over the settings, and the same correlation seed by seed
    (``"spearman by seed"``). ``"seeds"`` holds each pick's ``target`` over its seeds, and
    ``"comparison"`` the two picks compared by the book's rule (:func:`cookbook.book.claims.compare`:
    the target's pick against the selector's, "higher" when their seed ranges do not overlap): None
    when both pick the same setting or a setting has fewer than three seeds. The regret is the gap of
    the means; whether the seeds can tell it from noise is the comparison's verdict, setting by setting.
    The last row, named ``pooled``, ranks every setting of every sweep together: its pick and regret
    are those of choosing across methods too."""
    score = score or (lambda value: value)
    rows, every_setting = [], {}
    for method, sweep in sweeps.items():
        settings = summary(sweep)
        missing = [s["label"] for s in settings if selector not in s or target not in s]
        if missing:
            raise KeyError(f"{method}: the sweep {sweep['sweep']!r} has no {selector!r} or {target!r} for "
                           f"{', '.join(missing)} (a linear probe needs a sweep declared with probe_layers)")
        by_selector = {s["label"]: score(s[selector][0]) for s in settings}
        by_target = {s["label"]: s[target][0] for s in settings}
        every_setting.update({(method, label): (by_selector[label], by_target[label]) for label in by_selector})
        seeds = min(len(s["seeds"]) for s in settings)
        rows.append({"method": method, "settings": len(settings), "seeds": seeds,
                     "by selector": select(by_selector), "by target": select(by_target),
                     "regret": 100 * regret(by_selector, by_target),
                     "spearman": spearman(list(by_selector.values()), list(by_target.values())),
                     "spearman by seed": _per_seed_spearman(sweep, list(by_selector), selector, target, score)
                     if seeds > 1 else None})
        rows[-1]["sweeps"] = {method: sweep}
    if len(sweeps) > 1:
        by_selector = {f"{m}: {label}": v[0] for (m, label), v in every_setting.items()}
        by_target = {f"{m}: {label}": v[1] for (m, label), v in every_setting.items()}
        rows.append({"method": pooled, "settings": len(every_setting),
                     "seeds": min(r["seeds"] for r in rows), "by selector": select(by_selector),
                     "by target": select(by_target), "regret": 100 * regret(by_selector, by_target),
                     "spearman": spearman(list(by_selector.values()), list(by_target.values())),
                     "spearman by seed": None, "sweeps": dict(sweeps)})
    for row in rows:
        row["seeds of picks"] = {key: _seeds(row["sweeps"], row[key], target) for key in ("by selector", "by target")}
        same = row["by selector"] == row["by target"]
        enough = min(len(v) for v in row["seeds of picks"].values()) >= MIN_SEEDS
        row["comparison"] = None if same or not enough else compare(
            row["seeds of picks"]["by target"], row["seeds of picks"]["by selector"],
            names=(f"{target}'s pick ({short_label(row['by target'])})",
                   f"{selector}'s pick ({short_label(row['by selector'])})"),
            measure=target, percent=display_scale(target) == 100)
        del row["sweeps"]
    return rows


def _seeds(sweeps: Mapping[str, dict[str, Any]], pick: str, measure: str) -> list[float]:
    """``measure`` over the seeds of the picked setting: "lr 0.1" of the only sweep, or "SimCLR: lr 0.1"."""
    method, _, label = pick.partition(": ") if len(sweeps) > 1 else (next(iter(sweeps)), "", pick)
    return seed_values(sweeps[method], label, measure)


def _range(values: Sequence[float], scale: int) -> str:
    mean = statistics.fmean(values)
    return f"{scale * mean:.1f} ({scale * min(values):.1f}-{scale * max(values):.1f})"


def selection_table(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
                    pooled: str = "all methods", score: Callable[[float], float] | None = None,
                    selector_name: str | None = None) -> list[dict[str, Any]]:
    """:func:`selection_rows` as a Markdown table, each pick with its ``target`` over the seeds (mean and
    range); returns the rows. ``selector_name``: how the header names the selector (default: its name)."""
    rows = selection_rows(sweeps, selector, target, pooled, score)
    name, scale = selector_name or selector, display_scale(target)
    unit = " (%)" if scale == 100 else ""
    lines = [f"| method | picked by {name} | its {target}{unit} | picked by {target} | its {target}{unit} "
             f"| regret (points) | Spearman |", "|---|---|---:|---|---:|---:|---:|"]
    for r in rows:
        picks = r["seeds of picks"]
        lines.append(f"| {r['method']} | {short_label(r['by selector'])} | {_range(picks['by selector'], scale)} "
                     f"| {short_label(r['by target'])} | {_range(picks['by target'], scale)} | {r['regret']:.1f} "
                     f"| {r['spearman']:+.2f} |")
    markdown("\n".join(lines) + f"\n\nEach pick's {target}: the mean over its seeds and (their range). Spearman: "
             f"the rank correlation of {name} and {target} over the settings' means.")
    return rows


def _untrained(sweep: dict[str, Any], measure: str) -> float | None:
    """The untrained network's ``measure``, the mean over the seeds of the sweep's first setting; None where
    the sweep measured it on trained networks only (the linear probe, the embedding's RankMe)."""
    try:
        return statistics.fmean(seed_values(sweep, summary(sweep)[0]["label"], measure, untrained=True))
    except KeyError:
        return None


def _regret_panel(ax, sweeps: Mapping[str, dict[str, Any]], colours: Mapping[str, str], row: dict[str, Any],
                  selector: str, target: str) -> None:
    """One panel of :func:`regret_figure`: the settings of ``sweeps``, the two picks of ``row`` with their
    seed ranges, and the regret between them as an arrow."""
    xs_scale, ys_scale = display_scale(selector), display_scale(target)
    settings = {}
    for method, sweep in sweeps.items():
        for s in summary(sweep):
            key = s["label"] if len(sweeps) == 1 else f"{method}: {s['label']}"
            settings[key] = (method, s)
    for method in sweeps:
        chosen = [s for m, s in settings.values() if m == method]
        xs = [xs_scale * s[selector][0] for s in chosen]
        ax.vlines(xs, [ys_scale * s[target][1] for s in chosen], [ys_scale * s[target][2] for s in chosen],
                  color=colours[method], alpha=0.35, lw=1)
        ax.scatter(xs, [ys_scale * s[target][0] for s in chosen], s=14, color=colours[method], label=method)
    for key, style in (("by target", dict(marker="s", color="C2", label=f"picked by {target}")),
                       ("by selector", dict(marker="o", color="C3", label=f"picked by {selector}"))):
        _, s = settings[row[key]]
        x, (y, low, high) = xs_scale * s[selector][0], [ys_scale * v for v in s[target]]
        x_low, x_high = xs_scale * s[selector][1], xs_scale * s[selector][2]
        ax.errorbar([x], [y], yerr=[[y - low], [high - y]], xerr=[[x - x_low], [x_high - x]], fmt=style["marker"],
                    ms=9, mfc="none", mec=style["color"], ecolor=style["color"], elinewidth=1.8, capsize=3, mew=1.8,
                    label=style["label"] + " (bars: its seeds)", zorder=3)
    if row["by selector"] != row["by target"]:
        x = xs_scale * settings[row["by selector"]][1][selector][0]
        top = ys_scale * settings[row["by target"]][1][target][0]
        bottom = ys_scale * settings[row["by selector"]][1][target][0]
        ax.axhline(top, color="C2", lw=0.8, ls=(0, (4, 3)))
        ax.annotate("", xy=(x, bottom), xytext=(x, top), zorder=4,
                    arrowprops=dict(arrowstyle="<->", color="black", lw=1.3, shrinkA=0, shrinkB=0))
        ax.plot([], [], color="black", marker=r"$\updownarrow$", ls="none", ms=10, label="the regret")


def _verdict_line(row: dict[str, Any]) -> str:
    """A panel title's second line: whether the seeds can see the regret (the two picks' seed ranges)."""
    if row["by selector"] == row["by target"]:
        return "\nboth pick the same setting"
    if row["comparison"] is None:
        return ""
    return ("\nthe picks' seed ranges overlap: no difference" if row["comparison"].verdict == "no difference"
            else "\nthe picks' seed ranges do not overlap: a loss")


def regret_figure(sweeps: Mapping[str, dict[str, Any]], selector: str = "RankMe", target: str = "kNN",
                  rows: list[dict[str, Any]] | None = None, title: str | None = None):
    """What :func:`selection_rows` computes, drawn: ``target`` against ``selector`` for every setting of
    each method's sweep (the mean over seeds, a thin bar over their range), one panel per method and a
    last panel with every method pooled. In each panel the setting ``selector`` picks (circle) and the one
    ``target`` picks (square) carry their seed ranges on both axes, and an arrow from the first up to the
    second's level is the regret; its size and Spearman's correlation head the panel. Chance, raw pixels
    (:func:`cookbook.book.sweeps.references`) and the untrained network stand as horizontal lines, the
    untrained network also as a cross at its own ``selector``: a network that learned nothing, placed
    where the selector puts it."""
    rows = rows or selection_rows(sweeps, selector, target)
    colours = {method: f"C{i}" for i, method in enumerate(sweeps)} if len(sweeps) < 2 else \
        dict(zip(sweeps, ("C0", "C1", "C4", "C5", "C6", "C8")))
    panels = [({m: s}, r) for (m, s), r in zip(sweeps.items(), rows)] + ([(dict(sweeps), rows[-1])]
                                                                          if len(sweeps) > 1 else [])
    columns = 2 if len(panels) > 1 else 1
    fig = new_figure(COLUMN_WIDTH if columns == 2 else 5.2, 3.0 * -(-len(panels) // columns) + 1.2)
    axes = fig.subplots(-(-len(panels) // columns), columns, squeeze=False, sharex=True, sharey=True).ravel()
    first = next(iter(sweeps.values()))
    refs = references(first)
    untrained = _untrained(first, selector), _untrained(first, target)
    ys_scale, xs_scale = display_scale(target), display_scale(selector)
    for ax, (chosen, row) in zip(axes, panels):
        for name, level, style in (("chance", refs["chance"].get(target), ":"),
                                   ("raw pixels", refs["raw pixels"].get(target), "--"),
                                   ("untrained network", untrained[1], "-.")):
            if level is not None:
                ax.axhline(ys_scale * level, color="0.45", ls=style, lw=1, label=name)
        if None not in untrained:
            ax.plot([xs_scale * untrained[0]], [ys_scale * untrained[1]], "x", color="0.3", ms=8, mew=1.8,
                    label=f"untrained network, at its {selector}")
        _regret_panel(ax, chosen, colours, row, selector, target)
        ax.set_title(f"{row['method']}: regret {row['regret']:.1f} points, Spearman {row['spearman']:+.2f}"
                     + _verdict_line(row), fontsize=9)
        ax.grid(alpha=0.3)
    axes = fig.axes
    for ax in axes[len(panels):]:
        ax.set_visible(False)
    for i, ax in enumerate(axes[:len(panels)]):
        if i + columns >= len(panels):  # nothing drawn below it: its x axis is read here
            ax.set_xlabel(selector + ("" if xs_scale == 1 else " (%)"))
            ax.xaxis.set_tick_params(labelbottom=True)
        if i % columns == 0:
            ax.set_ylabel(target + ("" if ys_scale == 1 else " (%)"))
    handles = {label: handle for ax in axes[:len(panels)] for handle, label in zip(*ax.get_legend_handles_labels())}
    order = list(sweeps) + [k for k in handles if k not in sweeps and "untrained" not in k and k not in
                            ("chance", "raw pixels")] + ["chance", "raw pixels", "untrained network",
                                                         f"untrained network, at its {selector}"]
    legend_below(fig, handles=[handles[k] for k in order if k in handles], labels=[k for k in order if k in handles],
                 ncols=columns + 1)
    fig.suptitle(wrap(title or f"{target} against {selector}: each dot a setting; circled, the pick by {selector}; "
                      f"squared, the pick by {target}", fig.get_figwidth(), 9), fontsize=9)
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


# ----------------------------------------------------------------------------- chapter 13's readings
# What chapter 13 reads off its sweeps (hyper-simclr, hyper-vicreg, hyper-lejepa: three seeds of every
# setting), each finding a checked claim (cookbook.book.claims): the sentence fails the book's build when
# the sweeps stop supporting it. The prose around the calls says why; these say what the runs show.

def sweep_tables(sweeps: Mapping[str, dict[str, Any]], columns: Sequence[str] = ("kNN", "linear probe", "RankMe")):
    """Each method's sweep introduced and tabulated (mean over seeds, their range), chance, raw pixels and the
    untrained network under its settings: three columns, so that a row fits the page on one line."""
    for sweep in sweeps.values():
        introduce(sweep)
        rows = [{**row, "label": short_label(row["label"])} for row in summary(sweep)]
        table(sweep, rows=rows + reference_rows(sweep), columns=columns)


def split_by(sweep: dict[str, Any], setting: str) -> dict[str, dict[str, Any]]:
    """``sweep`` cut into one sweep per value of ``setting``, named "<setting> = <value>" ("λ = 0.2"): the
    selection at a fixed value of a coefficient, where only the other settings vary."""
    values = sorted({p["settings"][setting] for p in sweep["points"]})
    symbol = SHORT.get(setting + " ", setting + " ").strip()
    return {f"{symbol} = {v:g}": {**sweep, "points": [p for p in sweep["points"] if p["settings"][setting] == v]}
            for v in values}


def ladder_table(ladder: list[dict[str, Any]], sweep: dict[str, Any], label: str) -> None:
    """:func:`cookbook.book.probes.evaluation_ladder`'s rows, and under them what the same kNN probe reads on
    the same test images without any pretraining: chance, raw pixels and the untrained network (over the
    seeds of the sweep's setting ``label``)."""
    refs = references(sweep, label)
    untrained = seed_values(sweep, label, "kNN", untrained=True)
    lines = ["| evaluation | trains | accuracy |", "|---|---|---:|"]
    lines += [f"| {r['evaluation']} | {r['trains']} | {100 * r['accuracy']:.1f}% |" for r in ladder]
    lines += [f"| chance (the most common class) | nothing | {100 * refs['chance']['kNN']:.1f}% |",
              f"| kNN on the raw pixels | nothing | {100 * refs['raw pixels']['kNN']:.1f}% |",
              f"| kNN, the untrained network | nothing | {100 * statistics.fmean(untrained):.1f}% "
              f"({100 * min(untrained):.1f}-{100 * max(untrained):.1f}) |"]
    markdown("\n".join(lines))


def ladder_findings(sweep: dict[str, Any], label: str) -> None:
    """The two rungs the sweep measured on three seeds (kNN and the linear probe on the frozen backbone),
    against raw pixels and against each other."""
    knn, linear = seed_values(sweep, label), seed_values(sweep, label, "linear probe")
    compare(knn, references(sweep, label)["raw pixels"]["kNN"], names=(label, "raw pixels")).states(
        "higher", "In the sweep's three seeds of this setting, kNN on the pretrained features beats kNN on the raw "
                  "pixels: these features learned something worth scoring")
    compare(linear, knn, names=("the linear probe", "kNN"), measure="accuracy on the same frozen features").states(
        "higher", "and the linear probe reads more of the class off them than kNN does")


def _picks(row: dict[str, Any], verdict: str, sentence: str, also: bool = True, evidence: str = "") -> None:
    """Claim ``verdict`` of the labels' pick against the selector's ("higher": choosing by the selector lost
    accuracy the seeds can see; "no difference": whatever it lost is inside their spread), and ``also``, what
    else the sentence says of the picks. Where both pick the same setting, the regret is 0 and only "no
    difference" holds."""
    comparison = row["comparison"]
    if comparison is not None:
        claim(f"{sentence} ({comparison.words()}).", comparison.verdict == verdict and also,
              evidence=evidence or f"the data say {comparison.verdict!r}, the sentence {verdict!r}")
        return
    same = row["by selector"] == row["by target"]
    claim(f"{sentence} (both pick {short_label(row['by target'])}: a regret of 0).",
          same and verdict == "no difference" and also,
          evidence="the picks differ but a side has fewer than three seeds" if not same else evidence)


def _every_seed(row: dict[str, Any], sign: int) -> bool:
    return row["spearman by seed"] is not None and all(sign * r > 0 for r in row["spearman by seed"])


def _spearman_words(row: dict[str, Any]) -> str:
    return ", ".join(f"{r:+.2f}" for r in row["spearman by seed"])


def knn_findings(sweeps: Mapping[str, dict[str, Any]], by_knn: list[dict[str, Any]]) -> None:
    """RankMe's picks against kNN's, method by method and pooled (the rows of :func:`selection_table`)."""
    knn = {r["method"]: r for r in by_knn}
    _picks(knn["SimCLR"], "no difference", "**SimCLR**: choosing by RankMe costs nothing that three seeds can see")
    _picks(knn["VICReg"], "no difference", "**VICReg**: the same")
    _picks(knn["LeJEPA"], "higher", "**LeJEPA**: choosing by RankMe loses kNN accuracy, far outside the seeds' spread")
    lejepa = knn["LeJEPA"]
    compare(lejepa["seeds of picks"]["by selector"], references(sweeps["LeJEPA"])["raw pixels"]["kNN"],
            names=(f"RankMe's pick ({short_label(lejepa['by selector'])})", "raw pixels")).states(
        "lower", "RankMe's pick in LeJEPA does not even reach raw pixels")
    claim(f"Over LeJEPA's {lejepa['settings']} settings, RankMe and kNN rank the runs in opposite orders, seed by seed "
          f"(Spearman {_spearman_words(lejepa)}, one per seed), while they agree for SimCLR "
          f"({_spearman_words(knn['SimCLR'])}) and VICReg ({_spearman_words(knn['VICReg'])}).",
          _every_seed(lejepa, -1) and _every_seed(knn["SimCLR"], 1) and _every_seed(knn["VICReg"], 1))
    pooled = knn["all methods"]
    _picks(pooled, "higher", "**Pooled across the three methods**, RankMe picks that same LeJEPA run, and loses "
                             "kNN accuracy too", also=pooled["by selector"] == f"LeJEPA: {lejepa['by selector']}",
           evidence=f"the pooled pick is {pooled['by selector']}")


def knob_findings(sweep: dict[str, Any], knob: str, low: float, high: float) -> None:
    """A coefficient that sets the rank: at every value of the sweep's other settings, raising ``knob`` from
    ``low`` to ``high`` raises RankMe and lowers kNN, each beyond the seeds' spread (LeJEPA's λ)."""
    symbol = SHORT.get(knob + " ", knob + " ").strip()
    others = sorted({tuple((k, v) for k, v in p["settings"].items() if k != knob) for p in sweep["points"]})
    found, holds = [], True
    for other in others:
        labels = {value: _label_of(sweep, {**dict(other), knob: value}) for value in (low, high)}
        rank, knn = (compare(seed_values(sweep, labels[high], m), seed_values(sweep, labels[low], m),
                             names=(labels[high], labels[low]), measure=m, percent=m == "kNN")
                     for m in ("RankMe", "kNN"))
        holds &= rank.verdict == "higher" and knn.verdict == "lower"
        found.append(f"{', '.join(f'{k} {v:g}' for k, v in other)}: RankMe {rank.mean(1):.1f} → {rank.mean(0):.1f}, "
                     f"kNN {100 * knn.mean(1):.1f}% → {100 * knn.mean(0):.1f}%")
    claim(f"At each {' and '.join(k for k, _ in others[0])}, raising {symbol} from {low:g} to {high:g} raises RankMe "
          f"and lowers kNN, both beyond the seeds' spread ({'; '.join(found)}: means over the seeds).", holds)


def _label_of(sweep: dict[str, Any], settings: dict[str, Any]) -> str:
    """The label of the setting of ``sweep`` with these ``settings``."""
    for s in summary(sweep):
        if s["settings"] == settings:
            return s["label"]
    raise KeyError(f"the sweep {sweep['sweep']!r} has no setting {settings}")


def linear_findings(by_linear: list[dict[str, Any]]) -> None:
    """The paper's pairing: the embedding's RankMe against the linear probe, method by method and pooled."""
    linear = {r["method"]: r for r in by_linear}
    _picks(linear["SimCLR"], "no difference", "**SimCLR**: choosing by the embedding's RankMe loses nothing the seeds "
                                              "can see")
    _picks(linear["VICReg"], "higher", "**VICReg**: it loses linear-probe accuracy that the seeds can see")
    _picks(linear["LeJEPA"], "higher", "**LeJEPA**: it loses again, far outside the seeds' spread")
    pooled = linear["all methods"]
    _picks(pooled, "higher", "**Pooled**, the embedding's RankMe lands on VICReg's own pick, not on a LeJEPA run, "
                             "and loses what VICReg's row loses",
           also=pooled["by selector"] == f"VICReg: {linear['VICReg']['by selector']}",
           evidence=f"the pooled pick is {pooled['by selector']}")


def lambda_findings(sweep: dict[str, Any], rows: list[dict[str, Any]]) -> None:
    """LeJEPA at a fixed λ (the rows of :func:`selection_table` over :func:`split_by`): RankMe choosing among
    the learning rates only. Where no run beats raw pixels, there is nothing worth choosing: the regret
    there is not a finding about RankMe."""
    at = {row["method"]: row for row in rows[:-1]}
    _picks(at["λ = 0.02"], "higher", "At λ = 0.02, RankMe's choice of learning rate loses kNN accuracy that the "
                                     "seeds can see")
    _picks(at["λ = 0.05"], "no difference", "At λ = 0.05, the seeds cannot tell its choice from the labels'")
    raw = references(sweep)["raw pixels"]["kNN"]
    high = [s for s in summary(sweep) if s["settings"]["lambd"] == 0.2]
    verdicts = {s["label"]: compare(seed_values(sweep, s["label"]), raw, names=(s["label"], "raw pixels")).verdict
                for s in high}
    words = {"lower": "below", "no difference": "no different", "higher": "above"}
    found = "; ".join(f"{short_label(label)}: {words[v]}" for label, v in verdicts.items())
    claim(f"At λ = 0.2, no learning rate beats raw pixels ({found}, by the seeds' ranges against {100 * raw:.1f}%), "
          f"so there is nothing worth choosing there, and what RankMe's choice costs says nothing about what helps.",
          "higher" not in verdicts.values())


def untrained_findings(sweeps: Mapping[str, dict[str, Any]]) -> None:
    """RankMe is a necessary condition, not a sufficient one: the untrained network has a higher RankMe than
    trained settings whose features beat raw pixels, which it does not."""
    first = next(iter(sweeps.values()))
    label = summary(first)[0]["label"]
    rank, knn = (seed_values(first, label, m, untrained=True) for m in ("RankMe", "kNN"))
    raw = references(first)["raw pixels"]["kNN"]
    compare(knn, raw, names=("the untrained network", "raw pixels")).states(
        "lower", "The untrained network's features are worse than the raw pixels for kNN")
    learned, total = [], 0
    for method, sweep in sweeps.items():
        for s in summary(sweep):
            total += 1
            out_ranked = compare(rank, seed_values(sweep, s["label"], "RankMe"), names=("untrained", s["label"]),
                                 measure="RankMe", percent=False).verdict == "higher"
            above_raw = compare(seed_values(sweep, s["label"]), raw, names=(s["label"], "raw pixels")).verdict
            if out_ranked and above_raw == "higher":
                learned.append((s["kNN"][0], f"{method} at {short_label(s['label'])}"))
    best = max(learned, default=(0.0, ""))
    claim(f"yet its RankMe ({_range(rank, 1)} over its seeds) is higher, seed for seed, than that of {len(learned)} "
          f"of the {total} trained settings whose kNN beats raw pixels in every seed, among them {best[1]} "
          f"({100 * best[0]:.1f}% kNN on average).", bool(learned))


def alpha_findings(sweeps: Mapping[str, dict[str, Any]], by_alpha: list[dict[str, Any]]) -> None:
    """alpha-ReQ against the optimum near 1 that Agrawal et al. (2022) report."""
    values = [v for sweep in sweeps.values() for s in summary(sweep)
              for v in seed_values(sweep, s["label"], "alpha-ReQ")]
    claim(f"Every one of the {len(values)} runs has an α-ReQ between {min(values):.2f} and {max(values):.2f}: its "
          f"spectrum falls at least half again as steeply as the paper's optimum near 1.", min(values) >= 1.5)
    alpha = {r["method"]: r for r in by_alpha}
    _picks(alpha["SimCLR"], "no difference", "Choosing the α-ReQ closest to 1: **SimCLR** loses nothing the seeds "
                                             "can see")
    _picks(alpha["VICReg"], "no difference", "**VICReg** neither")
    _picks(alpha["LeJEPA"], "higher", "**LeJEPA** loses accuracy")
    lejepa, sweep = alpha["LeJEPA"], sweeps["LeJEPA"]
    by_rankme = select({s["label"]: s["RankMe"][0] for s in summary(sweep)})
    compare(lejepa["seeds of picks"]["by selector"], seed_values(sweep, by_rankme),
            names=(f"α-ReQ's pick ({short_label(lejepa['by selector'])})", f"RankMe's pick ({short_label(by_rankme)})"),
            ).states("higher", "but less than RankMe lost: in LeJEPA, α-ReQ's pick beats RankMe's")


def lab_reading(lab) -> None:
    """RankMe against kNN over the lab's run: the evaluations, their Spearman correlation, and the first steps."""
    agreement = lab.rankme_vs_knn()
    rho = agreement["spearman"]
    print(f"evaluations at steps {agreement['steps']}\n  RankMe {[round(r, 1) for r in agreement['rankme']]}\n"
          f"  kNN    {[round(100 * a, 1) for a in agreement['knn']]} (%)\n"
          f"  Spearman(RankMe, kNN) over the run: {'undefined' if rho is None else f'{rho:+.2f}'}")
    rankme, knn = agreement["rankme"], agreement["knn"]
    claim("Over the whole run RankMe and kNN rise together: their Spearman correlation is above 0.5.",
          rho is not None and rho > 0.5, live=True)
    claim("Yet at the first evaluation after step 0, kNN has already risen while RankMe has fallen below the "
          "untrained network's: the first steps narrow the spectrum while the class emerges.",
          len(rankme) > 1 and knn[1] > knn[0] and rankme[1] < rankme[0], live=True)
