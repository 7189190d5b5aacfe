"""Chapter 11's readings of the long-tail sweeps: what a class ratio of 100 does to each method's head and tail.

Four methods (SimCLR, SwAV and VICReg, whose losses spread the batch out, and BYOL, whose loss has no such
term) each trained their quick run on the same 2000 toy images at class ratios 1, 10 and 100
(:mod:`cookbook.imbalance`), over three seeds. Every run's classes were probed twice
(:func:`cookbook.book.guide.per_class_rows`): with the run's own long-tailed labels, what a user of such
data would have, and with a balanced set of as many labelled images, which scores the features alone.

This module turns those runs into the chapter's evidence:

- :func:`references` scores chance, raw pixels and the untrained networks class by class on the same images
  with the same probes, so that every accuracy of a run stands beside what needs no training;
- :func:`tables` shows each method and ratio over its seeds, :func:`class_figure` each class,
  :func:`change_table` and :func:`change_figure` the change from ratio 1 to ratio 100, head and tail;
- :func:`learning_findings`, :func:`label_findings`, :func:`feature_findings` and :func:`tail_findings` state
  what the seeds support as checked claims (:mod:`cookbook.book.claims`), a gap inside the seeds' spread being no
  difference: which runs learned (the control too, against raw pixels), what the long-tailed labels do, and
  whether each method's features lose their tail, against ratio 1 and against the control; :func:`held` sums
  the verdict up in one checked sentence;
- :func:`again` trains one kept run once more and sets it beside the kept one in the tables' own measures.

Why ratio 1 against ratio 100 only: the two ends carry the question (does the long tail change what a run
learns?), and with three seeds a middle point adds a comparison whose gap is rarely outside the spread.
The head and the tail are the same three classes at every ratio (:func:`cookbook.book.guide.per_class_summary`),
so a change of the tail is a change of the same classes' accuracy.
"""
from __future__ import annotations

import dataclasses
import statistics
from typing import Any

from cookbook import evaluate, registry
from cookbook.book import chapter, claims, guide, plots, probes, report
from cookbook.book.sweeps import config_overrides, point_data
from cookbook.run import prepare

METHODS = {"simclr": "SimCLR", "swav": "SwAV", "vicreg": "VICReg", "byol": "BYOL"}
CONTROL = "BYOL"  # the method whose loss has no term that spreads the batch
RATIOS = (1, 10, 100)
EVEN, SKEWED = 1, 100  # the two ends every comparison sets against each other
LABELS = ("long-tailed", "balanced")
MEASURES = ("kNN", "kNN head", "kNN tail", "linear", "linear head", "linear tail")
PROBES = {"kNN": "kNN", "linear": "linear probe"}
REFERENCES = ("raw pixels", "untrained network")
LOADED: dict = {}  # the datasets this chapter loaded (sweeps.point_data's cache), shared with the run trained again


def load() -> dict[str, dict[str, Any]]:
    """The four long-tail sweeps, ``{"SimCLR": sweep, ...}``."""
    return {name: report.load_sweep(f"longtail-{recipe}") for recipe, name in METHODS.items()}


def introduce(sweeps: dict[str, dict[str, Any]]) -> None:
    """Each sweep's paragraph (:func:`cookbook.book.guide.introduce`), then each method's training steps."""
    for sweep in sweeps.values():
        guide.introduce(sweep)
    print("training steps per run: " + ", ".join(
        f"{name} {sweep['base_config']['steps']}" for name, sweep in sweeps.items())
          + f" (batch {next(iter(sweeps.values()))['base_config']['batch_size']})")


# ----------------------------------------------------------------------------- the runs over their seeds

def seeded(sweeps: dict[str, dict[str, Any]], labels: str) -> dict[tuple[str, float], dict[str, list]]:
    """``{(method, ratio): {"seeds": [...], measure: [one value per seed]}}`` for each of :data:`MEASURES`
    probed with ``labels``, in seed order (so that the seeds of two ratios pair up)."""
    grouped: dict[tuple[str, float], dict[str, list]] = {}
    for row in sorted(guide.per_class_rows(sweeps, labels), key=lambda r: r["seed"] or 0):
        cell = grouped.setdefault((row["method"], row["ratio"]), {"seeds": []})
        cell["seeds"].append(row["seed"])
        for measure in MEASURES:
            cell.setdefault(measure, []).append(row[measure])
    return grouped


def _untrained_is_shared(sweeps: dict[str, dict[str, Any]]) -> None:
    """The four recipes build the same backbone (the small CNN) from the same seed, so one untrained network
    per seed stands for all four: their kept untrained kNN must agree, seed by seed and ratio by ratio."""
    before: dict[str, set] = {}
    for sweep in sweeps.values():
        if {**sweep["base_config"], **sweep["shared"]}.get("backbone") != "small_cnn":
            raise ValueError(f"{sweep['sweep']}: the references assume the small CNN every quick run uses")
        for point in sweep["points"]:
            before.setdefault(point["label"], set()).add(round(point["before"]["knn_acc"], 6))
    differ = [label for label, values in before.items() if len(values) > 1]
    if differ:
        raise ValueError(f"the sweeps' untrained networks differ at {', '.join(differ)}: score each method's own")


def references(sweeps: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """What needs no training, scored class by class like the runs (:func:`cookbook.book.guide.per_class_summary`)
    on the same images with the same probes: ``{"chance": value, labels: {ratio: {"raw pixels": {measure:
    value}, "untrained network": {measure: [one value per seed]}}}, "per class": {labels: {ratio: {name:
    [per class]}}}, "counts": {ratio: [training images per class]}}`` for ratios 1 and 100.

    - chance: a guess at random, 1 / classes on every class (head and tail alike);
    - raw pixels: the kNN probe on the images themselves (:func:`cookbook.evaluate.pixels`); the book's raw-pixel
      reference is a kNN one, and a linear probe on 3,072 pixels would cost this chapter seconds it has not;
    - the untrained network: each seed's backbone before training, by both probes (seeds 0, 1 and 2 at least,
      whatever the sweeps hold, so that what the labels alone do to it is a comparison by the book's rule).

    With balanced labels, a reference's features and labels are the same at every ratio (the balanced set is
    the ratio-1 training set), so its accuracy is the same too: the runs' change is then theirs alone."""
    _untrained_is_shared(sweeps)
    first = next(iter(sweeps.values()))
    recipe = registry.get(first["recipe"])
    # The untrained networks of the runs' seeds, and never fewer than the book's rule needs to compare them.
    seeds = sorted({p.get("seed") or 0 for p in first["points"]} | set(range(claims.MIN_SEEDS)))
    found: dict[str, Any] = {"per class": {labels: {} for labels in LABELS}}
    for ratio in (EVEN, SKEWED):
        settings = {**first["shared"], "data.class_ratio": ratio}
        data, _ = point_data(recipe, settings, first["base_config"]["seed"], LOADED)
        config = recipe.Config.for_budget("quick", **config_overrides(recipe, settings))
        probe = dict(bank=config.eval_bank, k=config.knn_k, temperature=config.knn_temperature)
        found["chance"] = 1 / len(data.classes)
        pixels = probes.per_class_of_features(evaluate.pixels(data.train_x), evaluate.pixels(data.test_x), data,
                                              linear=False, **probe)
        backbones = [prepare(recipe, dataclasses.replace(config, seed=seed), data).model.backbone for seed in seeds]
        untrained = [probes.per_class_scores(backbone, data, seed=seed, **probe)
                     for seed, backbone in zip(seeds, backbones)]
        counts = found.setdefault("counts", {})[ratio] = pixels["train_counts"]
        summaries = [guide.per_class_summary(counts, scores) for scores in untrained]
        found.setdefault("long-tailed", {})[ratio] = {
            "raw pixels": guide.per_class_summary(counts, pixels),
            "untrained network": {m: [s[m] for s in summaries] for m in MEASURES}}
        found["per class"]["long-tailed"][ratio] = {
            "raw pixels": {"knn_acc": pixels["knn_acc"]},
            "untrained network": {key: [statistics.fmean(s[key][c] for s in untrained) for c in range(len(counts))]
                                  for key in ("knn_acc", "linear_acc")}}
    found["balanced"] = {ratio: found["long-tailed"][EVEN] for ratio in (EVEN, SKEWED)}
    found["per class"]["balanced"] = {ratio: found["per class"]["long-tailed"][EVEN] for ratio in (EVEN, SKEWED)}
    return found


# ----------------------------------------------------------------------------- tables

def _cell(values: list[float] | float | None) -> str:
    """Percent, one decimal: a value, or the mean of the seeds with their range."""
    if values is None:
        return "-"
    if isinstance(values, (int, float)):
        return f"{100 * values:.1f}"
    mean, low, high = statistics.fmean(values), min(values), max(values)
    return f"{100 * mean:.1f}" if low == high else f"{100 * mean:.1f} ({100 * low:.1f}-{100 * high:.1f})"


def tables(sweeps: dict[str, dict[str, Any]], refs: dict[str, Any]) -> dict[str, dict]:
    """One table per kind of probe labels: each method and ratio, the mean of the seeds with their range, then
    chance, raw pixels and the untrained network. Returns :func:`seeded` per kind of labels."""
    runs = {labels: seeded(sweeps, labels) for labels in LABELS}
    titles = {"long-tailed": "**Probed with the long-tailed labels** (the features and the scarce labels together)",
              "balanced": "**Probed with balanced labels** (the features alone)"}
    for labels in LABELS:
        lines = ["| run | " + " | ".join(f"{m} (%)" for m in MEASURES) + " |", "|---|" + "---:|" * len(MEASURES)]
        for (method, ratio), cell in runs[labels].items():
            lines.append(f"| {method}, ratio {ratio:g} | " + " | ".join(_cell(cell[m]) for m in MEASURES) + " |")
        lines.append("| chance | " + " | ".join(_cell(refs["chance"]) for _ in MEASURES) + " |")
        at = (EVEN, SKEWED) if labels == "long-tailed" else (EVEN,)
        for name in REFERENCES:
            for ratio in at:
                where = f", ratio {ratio:g}" if labels == "long-tailed" else " (every ratio)"
                lines.append(f"| {name}{where} | " + " | ".join(_cell(refs[labels][ratio][name].get(m))
                                                                 for m in MEASURES) + " |")
        chapter.markdown(f"{titles[labels]}:\n\n" + "\n".join(lines) + "\n\nEach cell: the mean of the seeds and, in "
                         "brackets, their range; head and tail: the three most and the three least frequent classes. "
                         "Raw pixels are a kNN reference only (-).")
    return runs


# ----------------------------------------------------------------------------- from ratio 1 to ratio 100

def comparison(runs: dict[str, dict], labels: str, method: str, measure: str) -> claims.Comparison:
    """``measure`` of ``method``'s runs at ratio 100 against its runs at ratio 1, over their seeds."""
    return claims.compare(runs[labels][method, SKEWED][measure], runs[labels][method, EVEN][measure],
                          names=(f"{method}, ratio {SKEWED}", f"{method}, ratio {EVEN}"),
                          measure=f"{measure} ({labels} labels)")


def paired(runs: dict[str, dict], refs: dict[str, Any], labels: str, measure: str,
           references: bool = True) -> dict[str, list[float] | None]:
    """Each seed's change of ``measure`` from ratio 1 to ratio 100 (the same seed at both ends), for every method
    and, with ``references``, for the references of :func:`references` (raw pixels: one value; None where not
    measured)."""
    changes: dict[str, list[float] | None] = {}
    for method in dict.fromkeys(m for m, _ in runs[labels]):
        even, skewed = runs[labels][method, EVEN], runs[labels][method, SKEWED]
        if even["seeds"] != skewed["seeds"]:
            raise ValueError(f"{method}: seeds {even['seeds']} at ratio {EVEN} but {skewed['seeds']} at {SKEWED}")
        changes[method] = [b - a for a, b in zip(even[measure], skewed[measure])]
    for name in REFERENCES if references else ():
        even, skewed = refs[labels][EVEN][name].get(measure), refs[labels][SKEWED][name].get(measure)
        if even is None:
            changes[name] = None
        elif isinstance(even, list):
            changes[name] = [b - a for a, b in zip(even, skewed)]
        else:
            changes[name] = [skewed - even]
    return changes


def change_table(runs: dict[str, dict], refs: dict[str, Any]) -> dict[str, dict[str, dict[str, claims.Comparison]]]:
    """For each kind of labels, a table of each method's change from ratio 1 to ratio 100 on its head and its tail
    by both probes: the mean change of the seeds in points and the book's verdict (:func:`comparison`: **lower**
    or **higher** when the seed ranges at the two ratios do not overlap, = when they do), with the references'
    changes beneath. Returns the comparisons, ``{labels: {method: {measure: Comparison}}}``."""
    measures = ("kNN head", "kNN tail", "linear head", "linear tail")
    found: dict[str, dict[str, dict[str, claims.Comparison]]] = {}
    for labels in LABELS:
        methods = list(dict.fromkeys(m for m, _ in runs[labels]))
        changes = {m: paired(runs, refs, labels, m) for m in measures}
        found[labels] = {method: {m: comparison(runs, labels, method, m) for m in measures} for method in methods}
        lines = [f"| {labels} labels, ratio {SKEWED} minus ratio {EVEN} | " + " | ".join(measures) + " |",
                 "|---|" + "---:|" * len(measures)]
        for method in methods:
            cells = []
            for m in measures:
                c = found[labels][method][m]
                word = {"higher": "**higher**", "lower": "**lower**"}.get(c.verdict, "=")
                cells.append(f"{100 * c.gap:+.1f} {word}")
            lines.append(f"| {method} | " + " | ".join(cells) + " |")
        for name in REFERENCES:
            cells = ["-" if changes[m][name] is None else f"{100 * statistics.fmean(changes[m][name]):+.1f}"
                     for m in measures]
            lines.append(f"| {name} | " + " | ".join(cells) + " |")
        chapter.markdown("\n".join(lines))
    chapter.markdown("Each cell: the change of the mean over the seeds, in points; **higher** or **lower** when the "
                     "seeds' ranges at the two ratios do not overlap, = when they do (no difference here). "
                     "The references' changes are those of the same probes on features that never trained on these "
                     "images; with balanced labels they cannot change, their features and labels being the same.")
    return found


def _seeds_words(n: int) -> str:
    return "one seed" if n == 1 else f"mean of {n} seeds, bar: their range"


def change_figure(changes: dict[str, dict[str, dict[str, list[float] | None]]], title: str | None = None):
    """The tail's change from ratio 1 to ratio 100: one panel per kind of probe labels (``changes[labels][probe]
    [name]``: each seed's change, from :func:`paired`, None where not measured), one column per method and per
    reference, the kNN and the linear probe side by side: the mean of the seeds, each seed's own change (the
    same seed at both ratios) and their range. The references' changes are what the labels alone do to features
    that never saw the long tail; with balanced labels they are zero by construction."""
    panels = list(changes)
    names = list(dict.fromkeys(name for labels in panels for probe in changes[labels].values() for name in probe))
    fig = plots.new_figure(plots.column_width(3.8 * len(panels)), 4.1)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]  # each panel its own scale: the labels' drop dwarfs the rest
    for ax, labels in zip(axes, panels):
        for j, (probe, by_name) in enumerate(changes[labels].items()):
            offset = (j - (len(changes[labels]) - 1) / 2) * 0.28
            for i, name in enumerate(names):
                values = by_name.get(name)
                if not values:
                    continue
                x = i + offset
                points = [100 * v for v in values]
                ax.vlines(x, min(points), max(points), color=f"C{j}", lw=2, alpha=0.5)
                ax.plot([x] * len(points), points, ".", color=f"C{j}", ms=4, alpha=0.7)
                named = name not in REFERENCES  # the legend counts the runs' seeds
                ax.plot([x], [statistics.fmean(points)], "o", color=f"C{j}", ms=6,
                        label=f"{PROBES.get(probe, probe)}: {_seeds_words(len(values))}" if named else None)
        ax.axhline(0, color="0.4", lw=1, ls=":", label="no change")
        methods = sum(name not in REFERENCES for name in names)
        if methods < len(names):
            ax.axvline(methods - 0.5, color="0.7", lw=1)
        ax.set_xticks(range(len(names)), [name.replace(" ", "\n") for name in names], fontsize=8)
        ax.set_title(f"{labels} probe labels", fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    axes[0].set_ylabel(f"tail's accuracy, ratio {SKEWED}\nminus ratio {EVEN} (points)")
    plots.legend_below(fig, axes, ncols=2)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def tail_changes(runs: dict[str, dict], refs: dict[str, Any]) -> dict[str, dict[str, dict]]:
    """:func:`change_figure`'s argument: the tail's seed-paired changes by both probes, for both kinds of labels."""
    return {labels: {probe: paired(runs, refs, labels, f"{probe} tail") for probe in PROBES} for labels in LABELS}


# ----------------------------------------------------------------------------- class by class

def class_figure(sweeps: dict[str, dict[str, Any]], probe: str = "knn_acc", labels: str = "balanced",
                 references: dict[str, dict[str, list[float]]] | None = None, chance: float | None = None,
                 title: str | None = None):
    """One panel per method: each class's test accuracy (``probe``: ``"knn_acc"`` or ``"linear_acc"``, probed
    with ``labels``), the classes in the order of their training images at the largest ratio (head first, its
    count under each class), each ratio's mean of the seeds side by side with their range as a bar: every
    ratio's classes stand apart, none stacked on another, and no line joins classes that are no sequence.
    ``references`` (``{name: {probe: [per class]}}``, e.g. :func:`references`' ``"per class"`` for these labels)
    are drawn as grey marks per class, ``chance`` as a dotted line."""
    key = guide.PROBE_LABELS[labels]
    ratios = sorted({p["settings"].get("data.class_ratio", 1) for s in sweeps.values() for p in s["points"]})
    columns = min(len(sweeps), 2)
    rows = -(-len(sweeps) // columns)
    fig = plots.new_figure(plots.column_width(3.8 * columns), 2.7 * rows + 1.2)
    grid = fig.subplots(rows, columns, squeeze=False, sharey=True)
    for ax, (method, sweep) in zip(grid.flat, sweeps.items()):
        tallest = max(sweep["points"], key=lambda p: p["settings"].get("data.class_ratio", 1))
        counts = tallest["per_class"]["train_counts"]
        order = sorted(range(len(counts)), key=lambda c: -counts[c])
        for j, ratio in enumerate(ratios):
            points = [p for p in sweep["points"] if p["settings"].get("data.class_ratio", 1) == ratio]
            offset = (j - (len(ratios) - 1) / 2) * 0.26
            for i, c in enumerate(order):
                values = [100 * p[key][probe][c] for p in points]
                ax.vlines(i + offset, min(values), max(values), color=f"C{j}", lw=1.5, alpha=0.5)
                ax.plot([i + offset], [statistics.fmean(values)], "o", color=f"C{j}", ms=3.5,
                        label=f"ratio {ratio:g}: {_seeds_words(len(values))}")
        for (name, by_probe), marker in zip((references or {}).items(), ("x", "+")):
            if probe in by_probe:
                ax.plot(range(len(order)), [100 * by_probe[probe][c] for c in order], marker, color="0.35", ms=5,
                        label=name + (" (mean of the seeds)" if name == "untrained network" else ""))
        if chance is not None:
            ax.axhline(100 * chance, color="0.4", lw=1, ls=":", label="chance")
        ax.set_xticks(range(len(order)), [str(counts[c]) for c in order], fontsize=7)
        ax.set_xlabel(f"class, by its training images at ratio {max(ratios):g}", fontsize=8)
        ax.set_title(method, fontsize=10)
        ax.grid(alpha=0.3, axis="y")
    for ax in grid.flat[len(sweeps):]:
        ax.axis("off")
    for ax in grid[:, 0]:
        ax.set_ylabel(f"{PROBES['kNN' if probe == 'knn_acc' else 'linear']} accuracy\nof the class (%)")
    plots.legend_below(fig, grid.flat, ncols=2)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


# ----------------------------------------------------------------------------- one run trained again

def again(sweeps: dict[str, dict[str, Any]], method: str = "SimCLR", ratio: float = SKEWED) -> dict[str, Any]:
    """Train ``method``'s kept run at ``ratio`` (its first seed) once more (:func:`cookbook.book.guide.again`)
    and set it beside the kept run in the tables' own measures, both kinds of labels; then check that it
    reproduced (a live claim: on another kind of device the float kernels move it within the seeds' spread)."""
    sweep = sweeps[method]
    point = min((p for p in sweep["points"] if p["settings"].get("data.class_ratio") == ratio),
                key=lambda p: p.get("seed") or 0)
    result = guide.again(sweep, point["label"], loaded=LOADED)
    lines = ["| measure (%) | kept | trained here |", "|---|---:|---:|"]
    gaps = []
    for labels, key in guide.PROBE_LABELS.items():
        kept = guide.per_class_summary(point["per_class"]["train_counts"], point[key])
        here = guide.per_class_summary(result["per_class"]["train_counts"], result[key])
        for m in MEASURES:
            lines.append(f"| {m}, {labels} labels | {100 * kept[m]:.1f} | {100 * here[m]:.1f} |")
            gaps.append(abs(here[m] - kept[m]))
    chapter.markdown("The line above is the accuracy over all the test images; the tables average the classes. "
                     "In the tables' measures:\n\n" + "\n".join(lines))
    seed = f", seed {point['seed']}" if point.get("seed") is not None else ""
    # Not a claim: the kept runs were trained with one torch thread, and a run repeats to the decimal only with the
    # same threads on the same kind of CPU (with one thread here it did; with two, on an earlier kept run, it ended
    # 5.9 points away). Which gaps matter is the seeds' question, not this one run's.
    chapter.markdown(f"Trained again here, {method}'s run at ratio {ratio:g}{seed} lands at most "
                     f"{100 * max(gaps):.1f} points from the kept run's accuracies. A run repeats exactly only with "
                     "the same number of threads on the same kind of CPU; otherwise it can land a few points away, as "
                     "another seed would, and the tables' three seeds show how far the seed alone moves these numbers.")
    return result


# ----------------------------------------------------------------------------- what the seeds support

def _methods(runs: dict[str, dict]) -> list[str]:
    return list(dict.fromkeys(method for method, _ in runs["balanced"]))


def _gaps(found: dict[str, claims.Comparison]) -> str:
    """ "SimCLR -45.2, SwAV -44.9 ..." : each comparison's gap of the means, in points."""
    return ", ".join(f"{name} {100 * c.gap:+.1f}" for name, c in found.items())


def reference_findings(refs: dict[str, Any]) -> None:
    """What the long-tailed labels do to features that never saw the long tail: the untrained networks' head and
    tail from ratio 1 to ratio 100 under each ratio's own labels, over their seeds, by both probes. (A claim about
    networks built here, ``live``: on a GPU their features differ in the last float bits.)"""
    untrained = {ratio: refs["long-tailed"][ratio]["untrained network"] for ratio in (EVEN, SKEWED)}
    found = {f"{PROBES[probe]} of the {part}": claims.compare(untrained[SKEWED][f"{probe} {part}"],
                                                               untrained[EVEN][f"{probe} {part}"],
                                                               names=(f"ratio {SKEWED}", f"ratio {EVEN}"),
                                                               measure=f"{PROBES[probe]} of the {part}")
             for probe in PROBES for part in ("tail", "head")}
    claims.claim("Probed with each ratio's own long-tailed labels, the untrained network, whose features never saw "
                 f"the long tail, loses its tail from ratio {EVEN} to ratio {SKEWED} and gains on its head, by both "
                 f"probes: the scarce labels alone do this (at ratio {SKEWED} against ratio {EVEN}, "
                 + _pairs(found) + ").",
                 all(c.verdict == ("lower" if name.endswith("tail") else "higher") for name, c in found.items()),
                 live=True)


def _pairs(found: dict[str, claims.Comparison]) -> str:
    """ "SimCLR, kNN: 31.1% (3 seeds, 30.6-32.1%) against 0.3% (3 seeds, 0.0-0.8%); ..." """
    return "; ".join(f"{name}: {c.described(0)} against {c.described(1)}" for name, c in found.items())


def learning_findings(runs: dict[str, dict], refs: dict[str, Any]) -> None:
    """Which runs learned, at ratio 1 (where both kinds of labels are the same balanced set): the three methods that
    spread the batch against raw pixels; then the control against its untrained network and raw pixels (a control
    that does not beat raw pixels could carry no comparison), against the weakest of the three by both probes, and
    whether it ends nearer raw pixels than that method (then an unchanged tail may be a floor, not a resistance)."""
    even = runs["balanced"]
    reference = refs["balanced"][EVEN]
    spreading = [m for m in _methods(runs) if m != CONTROL]
    raw = reference["raw pixels"]["kNN"]
    pixels = {m: claims.compare(even[m, EVEN]["kNN"], raw, names=(m, "raw pixels")) for m in spreading}
    claims.claim(f"At a ratio of 1, {', '.join(spreading[:-1])} and {spreading[-1]} each recognise the shapes better "
                 f"than raw pixels do (" + "; ".join(c.words() for c in pixels.values()) + ").",
                 all(c.verdict == "higher" for c in pixels.values()))
    control = even[CONTROL, EVEN]
    weakest = min(spreading, key=lambda m: statistics.fmean(even[m, EVEN]["kNN"]))
    claims.compare(control["kNN"], reference["untrained network"]["kNN"], names=(CONTROL, "its untrained network")
                   ).states("higher", f"The control, {CONTROL}, learns something")
    claims.compare(control["kNN"], raw, names=(CONTROL, "raw pixels")).states(
        "higher", f"and every seed of it beats raw pixels, so {CONTROL} can carry a comparison")
    claims.compare(control["kNN"], even[weakest, EVEN]["kNN"], names=(CONTROL, weakest)).states(
        "lower", f"By kNN, though, it stays below {weakest}, the weakest of the other three")
    claims.compare(control["linear"], even[weakest, EVEN]["linear"], names=(CONTROL, weakest),
                   measure=PROBES["linear"]).states("lower", "and by the linear probe too")
    above, below = statistics.fmean(control["kNN"]) - raw, statistics.fmean(even[weakest, EVEN]["kNN"]) - raw
    claims.claim(f"{CONTROL}'s kNN ends nearer to raw pixels than to {weakest}'s: {100 * above:+.1f} points over raw "
                 f"pixels, where {weakest} is {100 * below:+.1f} over them (means of the seeds).", above < below / 2)


def label_findings(runs: dict[str, dict], refs: dict[str, Any], changes: dict[str, dict]) -> None:
    """What the long-tailed labels do to the runs, by the book's rule over the seeds: every method's tail falls from
    ratio 1 to 100 by both probes and its head rises, and the kNN tail ends below chance."""
    methods = _methods(runs)
    skewed = runs["long-tailed"]
    for part, verdict in (("tail", "lower"), ("head", "higher")):
        words = f"every method's {part} is {verdict} at ratio {SKEWED} than at ratio {EVEN}"
        found = {f"{m} ({PROBES[p]})": changes["long-tailed"][m][f"{p} {part}"] for m in methods for p in PROBES}
        claims.claim(f"With the long-tailed labels, {words}, by both probes, each outside the seeds' spread "
                     f"(change of the mean, points: {_gaps(found)}).",
                     all(c.verdict == verdict for c in found.values()))
    chance = {m: claims.compare(skewed[m, SKEWED]["kNN tail"], refs["chance"],
                                names=(f"{m} at ratio {SKEWED}", "chance"), measure="kNN of the tail") for m in methods}
    counts = sorted(refs["counts"][SKEWED])
    tail = ", ".join(map(str, counts[:guide.HEAD_TAIL - 1])) + f" and {counts[guide.HEAD_TAIL - 1]}"
    claims.claim(f"At ratio {SKEWED} every method's kNN tail is below chance: with {tail} labelled images in a bank of "
                 f"{sum(counts)}, a tail class almost never wins the vote of its nearest neighbours ("
                 + "; ".join(f"{m} {c.described(0)}" for m, c in chance.items())
                 + f"; chance {100 * refs['chance']:.1f}%).",
                 all(c.verdict == "lower" for c in chance.values()))


def feature_findings(runs: dict[str, dict], changes: dict[str, dict]) -> None:
    """What the features alone keep: at ratio 100 every method's tail scores higher with balanced labels than with
    its own long-tailed ones, by both probes (at ratio 1 the two are the same set), and most of the tail's loss
    under the long-tailed labels is theirs. Whether each method's features lose their tail is
    :func:`tail_findings`' question."""
    found = {f"{m}, {PROBES[p]}": claims.compare(runs["balanced"][m, SKEWED][f"{p} tail"],
                                                 runs["long-tailed"][m, SKEWED][f"{p} tail"],
                                                 names=("balanced labels", "long-tailed labels"),
                                                 measure=f"{m}'s {PROBES[p]} of the tail at ratio {SKEWED}")
             for m in _methods(runs) for p in PROBES}
    def drop(labels: str, m: str, p: str) -> float:  # the tail's loss from ratio 1 to 100, means of the seeds
        return (statistics.fmean(runs[labels][m, EVEN][f"{p} tail"])
                - statistics.fmean(runs[labels][m, SKEWED][f"{p} tail"]))

    # "most": with balanced labels every method's tail loses under half what it loses with the long-tailed ones
    most = all(drop("balanced", m, p) < drop("long-tailed", m, p) / 2 for m in _methods(runs) for p in PROBES)
    claims.claim(f"At ratio {SKEWED}, every method's tail scores higher with balanced labels than with its own "
                 "long-tailed ones, by both probes: most of what the tail loses under the long-tailed labels is the "
                 "labels' doing, not the features' (" + _pairs(found) + ").",
                 most and all(c.verdict == "higher" for c in found.values()))


# ----------------------------------------------------------------------------- the features alone, method by method

def _against_control(runs: dict[str, dict], method: str, measure: str) -> claims.Comparison:
    """``method``'s change of ``measure`` from ratio 1 to ratio 100 with balanced labels, seed by seed (each seed
    against itself, as :func:`change_figure` draws it), against the control's: the pairing takes out what a seed
    does to both of its runs, which is most of the spread where a method's seeds differ widely."""
    changes = {m: [b - a for a, b in zip(runs["balanced"][m, EVEN][measure], runs["balanced"][m, SKEWED][measure])]
               for m in (method, CONTROL)}
    return claims.compare(changes[method], changes[CONTROL], names=(method, CONTROL),
                          measure=f"change of the {PROBES[measure.split()[0]]} of the tail")


def _change_words(c: claims.Comparison) -> str:
    """ "SimCLR's seeds -14.4 to -12.2 points (mean -13.5), BYOL's -9.0 to +0.1 (mean -3.1): lower by 10.4 points" """
    sides = []
    for side, name in enumerate(c.names):
        low, high = c.span(side)
        sides.append(f"{name}'s seeds {100 * low:+.1f} to {100 * high:+.1f} points (mean {100 * c.mean(side):+.1f})")
    verdict = (f"no difference here, the gap of {100 * abs(c.gap):.1f} points is inside the seeds' spread"
               if c.verdict == "no difference" else f"{c.verdict} by {100 * abs(c.gap):.1f} points")
    return f"{c.measure} from ratio {EVEN} to ratio {SKEWED}: {', '.join(sides)}: {verdict}"


def _states_change(c: claims.Comparison, verdict: str, sentence: str) -> bool:
    """:meth:`cookbook.book.claims.Comparison.states` for a comparison of seed-paired changes, worded in points."""
    return claims.claim(f"{sentence} ({_change_words(c)}).", c.verdict == verdict,
                        evidence=f"the data say {c.verdict!r}, the sentence {verdict!r}")


def _margin(c: claims.Comparison) -> float:
    """How far apart the two sides' seed ranges are: the lowest of the second minus the highest of the first
    (positive when the first is lower by the book's rule)."""
    return c.span(1)[0] - c.span(0)[1]


def tail_findings(runs: dict[str, dict], refs: dict[str, Any],
                  changes: dict[str, dict]) -> dict[str, dict[str, claims.Comparison]]:
    """Does the long tail cost each method's tail classes in its features? Probed with balanced labels, each method's
    tail at ratio 100 against the same classes at ratio 1 (:func:`change_table`'s comparisons, the book's rule over
    the seeds), by both probes; then its seed-paired change against the control's (:func:`_against_control`); and
    the head, of which the long tail shows each run more images. The verdicts are the data's as trained:
    a retrain that changes one fails the chapter, whose sentences must then be rewritten from the new runs.
    Returns the comparisons against the control, ``{method: {measure: Comparison}}``."""
    tail = changes["balanced"]
    tail["SimCLR"]["kNN tail"].states("lower", "**SimCLR.** Probed with balanced labels, its tail classes score lower "
                                      f"at ratio {SKEWED} than the same classes at ratio {EVEN}, by kNN")
    tail["SimCLR"]["linear tail"].states("lower", "and by the linear probe: the long tail costs SimCLR's features "
                                         "their rare classes")
    tail["SwAV"]["kNN tail"].states("lower", f"**SwAV.** By kNN its tail classes score lower at ratio {SKEWED} than at "
                                    f"ratio {EVEN}")
    margin = _margin(tail["SwAV"]["kNN tail"])
    claims.claim(f"but only just: SwAV's best seed at ratio {SKEWED} is {100 * margin:.2f} points below its worst at "
                 f"ratio {EVEN}: a fourth seed could overturn the verdict.", 0 < margin < 0.005)
    tail["SwAV"]["linear tail"].states("no difference", "By the linear probe SwAV's tail shows no difference")
    tail["VICReg"]["kNN tail"].states("no difference", "**VICReg.** Its tail at ratio 100 shows no difference from its "
                                      "tail at ratio 1, by kNN")
    tail["VICReg"]["linear tail"].states("no difference", "nor by the linear probe")
    spans = {m: max(runs["balanced"][m, EVEN]["kNN"]) - min(runs["balanced"][m, EVEN]["kNN"]) for m in _methods(runs)}
    claims.claim(f"VICReg's seeds differ among themselves more than any other method's: at ratio {EVEN} its three "
                 f"seeds' kNN spans {100 * spans['VICReg']:.1f} points ("
                 + ", ".join(f"{m} {100 * v:.1f}" for m, v in spans.items() if m != "VICReg") + ").",
                 max(spans, key=spans.get) == "VICReg")
    tail[CONTROL]["kNN tail"].states("no difference", f"**{CONTROL}**, the control, shows no difference in its tail "
                                     f"from ratio {EVEN} to ratio {SKEWED}, by kNN")
    tail[CONTROL]["linear tail"].states("no difference", "nor by the linear probe")
    heads = {f"{m} ({PROBES[p]})": tail[m][f"{p} head"] for m in _methods(runs) for p in PROBES}
    head = sorted(refs["counts"][SKEWED], reverse=True)[:guide.HEAD_TAIL]
    claims.claim("With balanced labels no method's head moves beyond the seeds' spread from ratio "
                 f"{EVEN} to ratio {SKEWED}, by either probe, though at ratio {SKEWED} the runs train on "
                 f"{', '.join(map(str, head[:-1]))} and {head[-1]} images of those classes instead of "
                 f"{refs['counts'][EVEN][0]} each (change of the mean, points: {_gaps(heads)}).",
                 all(c.verdict == "no difference" for c in heads.values()))
    against = {m: {p: _against_control(runs, m, f"{p} tail") for p in PROBES} for m in _methods(runs) if m != CONTROL}
    _states_change(against["SimCLR"]["kNN"], "lower", f"**Against the control**, seed by seed: SimCLR's tail falls "
                   f"more than {CONTROL}'s by kNN")
    _states_change(against["SimCLR"]["linear"], "lower", "and by the linear probe")
    _states_change(against["SwAV"]["kNN"], "no difference", f"SwAV's tail does not fall more than {CONTROL}'s beyond "
                   "the seeds' spread, by kNN")
    _states_change(against["SwAV"]["linear"], "no difference", "nor by the linear probe")
    _states_change(against["VICReg"]["kNN"], "no difference", "Nor does VICReg's, by kNN")
    _states_change(against["VICReg"]["linear"], "lower", f"but by the linear probe every seed of VICReg loses more of "
                   f"its tail than any seed of {CONTROL}")
    return against


def held(changes: dict[str, dict], against: dict[str, dict[str, claims.Comparison]]) -> None:
    """The chapter's verdict in one checked sentence, from :func:`tail_findings`' comparisons: which methods' features
    lose their tail classes under the long tail, against the same classes at ratio 1 and against the control."""
    tail = changes["balanced"]

    def lost(method: str) -> set[str]:  # the probes by which the method's tail is lower at ratio 100 than at 1
        return {p for p in PROBES if tail[method][f"{p} tail"].verdict == "lower"}

    def more(method: str) -> set[str]:  # the probes by which it loses more of its tail than the control, seed by seed
        return {p for p in PROBES if against[method][p].verdict == "lower"}

    claims.claim(f"Over three seeds, with balanced labels: the long tail cost the features of SimCLR's rare classes, "
                 f"by both probes, against the same classes at ratio {EVEN} and against {CONTROL}'s; SwAV's by kNN "
                 f"alone, only just, and no more than {CONTROL}'s; VICReg's by neither probe against ratio {EVEN}, "
                 f"though seed by seed its linear-probe tail fell more than {CONTROL}'s. {CONTROL}'s own tail did "
                 "not move beyond its seeds' spread.",
                 lost("SimCLR") == more("SimCLR") == {"kNN", "linear"} and lost("SwAV") == {"kNN"}
                 and _margin(tail["SwAV"]["kNN tail"]) < 0.005 and not more("SwAV")
                 and not lost("VICReg") and more("VICReg") == {"linear"} and not lost(CONTROL))
