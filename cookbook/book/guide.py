"""The cook's guide's toolkit: what chapters 8 to 10 do with a sweep that ``benchmarks/sweep.py`` kept.

A chapter loads a sweep with :func:`cookbook.book.report.load_sweep`, then

- :func:`introduce` says what was trained, on which machine, in how many wall and CPU seconds, with
  which seeds, and the one command that trains it again;
- :func:`summary` and :func:`table` give each setting's class kNN, nuisance kNN (what the features
  kept of the factors the views vary), RankMe and cost, as the mean over seeds with their range;
- :func:`class_and_nuisances` draws the same as bars, :func:`heatmap` a grid over two settings,
  :func:`lines` a metric against one setting (chapter 9's probes at every layer live in
  :mod:`cookbook.book.projector`);
- :func:`again` trains one point once more, in front of the reader, to show that it reproduces.

A sweep's settings are the recipe's config fields, and ``augment.<field>`` for a field of its views'
:class:`cookbook.augment.AugmentConfig`; :func:`config_overrides` turns them into a config.
"""
from __future__ import annotations

import statistics
from typing import Any, Callable, Iterable

from cookbook.book import plots, report
from cookbook.book.chapter import markdown, short_run
from cookbook.book.claims import compare
from cookbook.book.plots import column_width, legend_below, new_figure, setting_axis
from cookbook.book.sweeps import (
    AUGMENT,
    PLAIN,
    config_overrides,
    display_scale,
    point_data,
    reference_rows,
    seed_values,
    summary,
)
from cookbook.registry import get


def introduce(sweep: dict[str, Any]) -> None:
    """One paragraph: what the sweep trained, where, at what cost, with which seeds, and how to redo it."""
    seeds = sorted({p["seed"] for p in sweep["points"] if p.get("seed") is not None})
    cpu = sweep.get("cpu_seconds")
    print(f"{sweep['sweep']}: {len(sweep['points'])} runs of {sweep['recipe']} "
          f"({', '.join(f'{k}={v}' for k, v in sweep['shared'].items()) or 'the quick budget'}), trained on "
          f"{sweep.get('date', '?')} ({sweep.get('machine', 'machine not recorded')}) in {sweep['seconds']:.0f} s "
          f"of wall time{f', {cpu:.0f} s of CPU time' if cpu else ''} | "
          f"seeds: {', '.join(map(str, seeds)) if seeds else 'the recipe default (0)'}\n"
          f"  to train it again: {sweep['command']}")


def _cell(key: str, value: tuple[float, float, float]) -> str:
    mean, low, high = value
    if key == "kNN gain":
        return f"{100 * mean:+.1f}" if low == high else f"{100 * mean:+.1f} ({100 * low:+.1f} to {100 * high:+.1f})"
    if key == "normalised std":
        return f"{mean:.2f}" if low == high else f"{mean:.2f} ({low:.2f}-{high:.2f})"
    if key in PLAIN:
        f = ".3f" if key in ("loss", "alpha-ReQ") else ".1f"
        return f"{mean:{f}}" if low == high else f"{mean:{f}} ({low:{f}}-{high:{f}})"
    return f"{100 * mean:.1f}%" if low == high else f"{100 * mean:.1f}% ({100 * low:.1f}-{100 * high:.1f})"


# What table() shows unless told: the accuracies and RankMe (a run's cost only where a chapter asks for it).
NOT_BY_DEFAULT = ("label", "settings", "seeds", "seconds", "CPU seconds", "kNN gain", "normalised std", "loss",
                  "alpha-ReQ", "embedding RankMe")


def table(sweep: dict[str, Any], rows: list[dict[str, Any]] | None = None,
          columns: Iterable[str] | None = None) -> None:
    """:func:`summary` as a Markdown table, in percent; with several seeds, the mean and (the range).
    ``columns``: the :func:`summary` keys to show (default: the accuracies and RankMe)."""
    rows = rows or summary(sweep)
    keys = list(columns) if columns else [k for k in rows[0] if k not in NOT_BY_DEFAULT]
    names = {"kNN": "kNN: the class", **{k: f"kNN: {k}" for k in report.FACTOR_NAMES.values()}}
    lines = ["| setting | " + " | ".join(names.get(k, k) for k in keys) + " |", "|---|" + "---:|" * len(keys)]
    lines += ["| " + row["label"] + " | " + " | ".join(_cell(k, row[k]) if k in row else "" for k in keys) + " |"
              for row in rows]
    markdown("\n".join(lines))


def class_and_nuisances(sweep: dict[str, Any], title: str | None = None, rows: list[dict[str, Any]] | None = None):
    """Bars of kNN accuracy per setting: the class, then each nuisance factor, with the range over
    seeds as an error bar and each probe's chance level (one over its number of values) dotted; the
    legend under the panel."""
    rows = rows or summary(sweep)
    keys = ["kNN"] + [k for k in report.FACTOR_NAMES.values() if k in rows[0]]
    chance = {"kNN": None, **{report.FACTOR_NAMES[f]: 1 / n for f, n in report.FACTOR_VALUES.items()}}
    fig = new_figure(column_width(max(6.0, 1.1 * len(rows) + 2)), 4.0)
    ax = fig.subplots()
    width = 0.8 / len(keys)
    for i, key in enumerate(keys):
        xs = [j + (i - (len(keys) - 1) / 2) * width for j in range(len(rows))]
        means = [100 * r[key][0] for r in rows]
        errors = [[100 * (r[key][0] - r[key][1]) for r in rows], [100 * (r[key][2] - r[key][0]) for r in rows]]
        ax.bar(xs, means, width, yerr=errors if any(map(any, errors)) else None, color=f"C{i}",
               label="the class" if key == "kNN" else f"{key} (nuisance)", capsize=2)
        if chance.get(key):
            ax.hlines(100 * chance[key], xs[0] - width / 2, xs[-1] + width / 2, colors=f"C{i}", linestyles=":", lw=1)
    if any(chance.get(key) for key in keys):
        ax.plot([], [], ls=":", lw=1, color="grey", label="chance (dotted, in each colour)")
    ax.set_xticks(range(len(rows)), [r["label"] for r in rows], rotation=35, ha="right", rotation_mode="anchor",
                  fontsize=8)
    ax.set_ylabel("kNN accuracy (%)")
    legend_below(fig, [ax], ncols=3)
    ax.grid(axis="y", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def heatmap(sweep: dict[str, Any], x: str, y: str, metric: str = "kNN", title: str | None = None,
            where: dict[str, Any] | None = None):
    """A seaborn heatmap of ``metric`` (a :func:`summary` key, mean over seeds) over a grid sweep's
    settings ``x`` (columns) and ``y`` (rows); ``where`` keeps only the points with those values of
    the grid's other settings."""
    import seaborn as sns

    rows = [r for r in summary(sweep) if all(r["settings"].get(k) == v for k, v in (where or {}).items())]
    xs = sorted({r["settings"][x] for r in rows})
    ys = sorted({r["settings"][y] for r in rows})
    scale = display_scale(metric)
    grid = [[next((scale * r[metric][0] for r in rows if r["settings"][x] == vx and r["settings"][y] == vy),
                  float("nan")) for vx in xs] for vy in ys]
    fig = new_figure(1.2 * len(xs) + 2.5, 0.7 * len(ys) + 1.6)
    ax = fig.subplots()
    sns.heatmap(grid, annot=True, fmt=".1f", cmap="viridis", xticklabels=[_tick(v) for v in xs],
                yticklabels=[_tick(v) for v in ys], ax=ax, cbar_kws={"label": metric + ("" if scale == 1 else " (%)")})
    ax.set_xlabel(x.removeprefix(AUGMENT))
    ax.set_ylabel(y.removeprefix(AUGMENT))
    ax.set_title(title or f"{sweep['recipe']}: {metric}", fontsize=10)
    return fig


def _tick(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def lines(panels: dict[str, tuple[dict[str, Any], str]], metrics: Iterable[str] = ("kNN", "RankMe"),
          title: str | None = None):
    """One column of panels per sweep: ``panels`` maps a column's title to ``(sweep, setting)``; its
    panels draw each of ``metrics`` (:func:`summary` keys; accuracies in %), one metric per panel and
    axis, against that setting (:func:`cookbook.book.plots.setting_axis`: a tick at each value tried,
    on a log axis where they span decades), with the seeds' range as a band."""
    metrics = list(metrics)
    fig = new_figure(column_width(3.8 * len(panels)), 2.1 * len(metrics) + 0.9)
    axes = fig.subplots(len(metrics), len(panels), squeeze=False, sharex="col")
    for column, (name, (sweep, setting)) in zip(axes.T, panels.items()):
        rows = [r for r in summary(sweep) if setting in r["settings"]]
        at = setting_axis(column[-1], [r["settings"][setting] for r in rows], setting.removeprefix(AUGMENT))
        rows = sorted(rows, key=lambda r: at[r["settings"][setting]])
        xs = [at[r["settings"][setting]] for r in rows]
        for i, (ax, metric) in enumerate(zip(column, metrics)):
            scale = display_scale(metric)
            mean = [scale * r[metric][0] for r in rows]
            low = [scale * r[metric][1] for r in rows]
            high = [scale * r[metric][2] for r in rows]
            ax.plot(xs, mean, "o-" if i == 0 else "s--", color=f"C{i + 1}", label=metric)
            if low != high:
                ax.fill_between(xs, low, high, color=f"C{i + 1}", alpha=0.2)
            ax.set_ylabel(metric + ("" if scale == 1 else " (%)"))
            ax.grid(alpha=0.3)
        column[0].set_title(name, fontsize=10)
    if title:
        fig.suptitle(title, fontsize=11)
    plots.untangle_tick_labels(fig)
    return fig


def again(sweep: dict[str, Any], label: str, keep_model: bool = False, loaded: dict | None = None) -> dict[str, Any]:
    """Train the point ``label`` of ``sweep`` once more with :func:`cookbook.book.chapter.short_run`
    (its settings, its seed) and print its kNN accuracy and RankMe here next to the kept ones.
    ``keep_model=True``: the result holds the trained ``model`` and its ``data`` too. ``loaded``: datasets
    a chapter already loaded (:func:`cookbook.book.sweeps.point_data`'s cache), not loaded again."""
    points = report.by_label(sweep)
    if label not in points:
        raise KeyError(f"the sweep {sweep['sweep']!r} has no point {label!r}; its points: {', '.join(points)}")
    kept = points[label]
    recipe = get(sweep["recipe"])
    settings = {**sweep["shared"], **kept["settings"],
                **({"seed": kept["seed"]} if kept.get("seed") is not None else {})}
    data, balanced = point_data(recipe, settings, sweep["base_config"]["seed"], loaded)  # the sweep's images
    per_class = sweep.get("declaration", {}).get("per_class", False)  # as benchmarks/sweep.py trained it
    result = short_run(recipe, data=data, per_class=per_class, balanced=balanced,
                       keep_model=keep_model, **config_overrides(recipe, settings))
    here, there = result["after"], kept["after"]
    print(f"{label}: kNN {here['knn_acc']:.1%} here, {there['knn_acc']:.1%} kept | RankMe {here['rankme']:.2f} here, "
          f"{there['rankme']:.2f} kept")
    return result


def series(sweep: dict[str, Any], x: str, by: Callable[[dict[str, Any]], Any], metric: str = "kNN",
           title: str | None = None, log_x: bool | None = None):
    """``metric`` (mean over seeds, with their range) against the setting ``x``, one line per group:
    ``by(row)`` names the group of each :func:`summary` row, or a tuple of names for a row that
    belongs to several (the shared default point of two scaling rules). The x axis has a tick at
    each value tried (:func:`cookbook.book.plots.setting_axis`); ``log_x``: True for a log axis
    (symlog with a 0), False for a linear one, None (default) to choose (log where the values span
    decades, such as learning rates). The legend sits under the panel."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for row in summary(sweep):
        names = by(row)
        for name in (names if isinstance(names, tuple) else (names,)):
            groups.setdefault(str(name), []).append(row)
    scale = display_scale(metric)
    default = sweep.get("base_config", {}).get(x)  # a row that does not set x has the sweep's value
    fig = new_figure(6.0, 3.8)
    ax = fig.subplots()
    at = setting_axis(ax, [r["settings"].get(x, default) for rows in groups.values() for r in rows],
                      x.removeprefix(AUGMENT), scale={True: "log", False: "linear", None: None}[log_x])
    for i, (name, rows) in enumerate(groups.items()):
        rows = sorted(rows, key=lambda r: at[r["settings"].get(x, default)])
        xs = [at[r["settings"].get(x, default)] for r in rows]
        mean = [scale * r[metric][0] for r in rows]
        ax.plot(xs, mean, "o-", color=f"C{i}", label=name)
        low, high = [scale * r[metric][1] for r in rows], [scale * r[metric][2] for r in rows]
        if low != high:
            ax.fill_between(xs, low, high, color=f"C{i}", alpha=0.2)
    ax.set_ylabel(metric + ("" if scale == 1 else " (%)"))
    legend_below(fig, [ax], ncols=4)
    ax.grid(alpha=0.3)
    ax.set_title(title or f"{sweep['recipe']}: {metric}", fontsize=10)
    plots.untangle_tick_labels(fig)
    return fig


# ----------------------------------------------------------------------------- class by class (chapter 11)

HEAD_TAIL = 3  # classes counted as the head (the most frequent) and as the tail (the rarest)


PROBE_LABELS = {"long-tailed": "per_class", "balanced": "per_class_balanced"}


def per_class_summary(counts: list[int], scores: dict[str, list]) -> dict[str, float]:
    """One set of per-class scores (:func:`cookbook.book.probes.per_class_scores`) summarised: the balanced
    accuracy by kNN and by the linear probe (the mean of the classes' accuracies, every class weighed alike),
    and the same over the :data:`HEAD_TAIL` most frequent and the :data:`HEAD_TAIL` rarest classes of
    ``counts`` (the training images of each class as the SSL run saw them; equal counts keep the class
    order, so the head and the tail are the same classes at every ratio of :mod:`cookbook.imbalance`).
    Scores without a linear probe (raw pixels) give the kNN keys only."""
    order = sorted(range(len(counts)), key=lambda c: -counts[c])  # most frequent first
    row = {}
    for probe, measure in (("kNN", "knn_acc"), ("linear", "linear_acc")):
        if measure in scores:
            values = scores[measure]
            row[probe] = statistics.fmean(values)
            row[f"{probe} head"] = statistics.fmean(values[c] for c in order[:HEAD_TAIL])
            row[f"{probe} tail"] = statistics.fmean(values[c] for c in order[-HEAD_TAIL:])
    return row


def per_class_rows(sweeps: dict[str, dict[str, Any]], labels: str = "long-tailed") -> list[dict[str, Any]]:
    """For each method's sweep trained with ``per_class`` (``{method: sweep}``) and each of its
    points (one per seed): the class ratio of its training images, its seed, and :func:`per_class_summary`
    of its classes' scores. ``labels``: the probes' labelled images, the run's own long-tailed ones (what a
    user of the data would have) or a balanced set of as many (what isolates the features: the tail is then
    not also short of labels). :mod:`cookbook.book.longtail` reads them over the seeds."""
    if labels not in PROBE_LABELS:
        raise ValueError(f"labels={labels!r}: choose {' or '.join(map(repr, PROBE_LABELS))}")
    key = PROBE_LABELS[labels]
    rows = []
    for method, sweep in sweeps.items():
        for point in sweep["points"]:
            if key not in point:
                raise KeyError(f"{method}: the sweep {sweep['sweep']!r} has no {labels} per-class scores: declare it "
                               f"with per_class=True (and data.class_ratio) in benchmarks/sweep.py and train it again")
            counts = point["per_class"]["train_counts"]  # the training images of each class, as the run saw them
            ratio = point["settings"].get("data.class_ratio", max(counts) / min(counts))
            rows.append({"method": method, "ratio": ratio, "label": point["label"], "seed": point.get("seed"),
                         **per_class_summary(counts, point[key])})
    return rows


# ----------------------------------------------------------------------------- LeJEPA's target (chapter 15)

def projections(embeddings: dict[str, Any], slices: int = 3, seed: int = 0, bins: int = 40):
    """What SIGReg tests: histograms of embeddings ``(N, D)`` (one row of panels per entry of
    ``embeddings``) projected on ``slices`` random unit directions, against the standard Gaussian's
    density, each titled with its Epps-Pulley statistic (LeJEPA's :func:`sigreg` on that one
    direction: about 1 for Gaussian samples, growing with N for anything else)."""
    import math

    import torch

    sigreg = get("lejepa").sigreg
    fig = new_figure(2.6 * slices, 2.2 * len(embeddings))
    axes = fig.subplots(len(embeddings), slices, squeeze=False)
    t = torch.linspace(-4, 4, 200)
    for row, (name, z) in zip(axes, embeddings.items()):
        z = z.detach().float().cpu()
        directions = torch.randn(z.shape[1], slices, generator=torch.Generator().manual_seed(seed))
        directions = directions / directions.norm(dim=0)
        for j, ax in enumerate(row):
            x = (z @ directions[:, j]).clamp(-6, 6)
            ax.hist(x.numpy(), bins=bins, range=(-6, 6), density=True, color="C0", alpha=0.6)
            ax.plot(t.numpy(), (torch.exp(-t ** 2 / 2) / math.sqrt(2 * math.pi)).numpy(), "k--", lw=1)
            statistic = float(sigreg(z, directions[:, j:j + 1]))
            ax.set_title(f"{name}\nslice {j + 1}: EP = {statistic:.1f}", fontsize=8)
            ax.set_yticks([])
    return fig


# ----------------------------------------------------------------------------- seeds beside references

REFERENCE_STYLES = {"chance": ":", "raw pixels": "--", "untrained network": "-."}


def seeded_panels(sweep: dict[str, Any], panels: dict[str, list[str]], x: dict[str, str],
                  references: dict[str, dict[str, float]], metric: str = "kNN",
                  extra: dict[str, str] | None = None, title: str | None = None):
    """One panel per swept setting: ``metric`` of each setting in ``panels[name]`` (sweep labels) against
    its value of the setting ``x[name]`` on a log axis, the mean over seeds with every seed drawn, beside
    horizontal lines for :func:`cookbook.book.sweeps.references` and the untrained network (the first
    label's). ``extra[name]``: one more setting drawn as a star at its own x (a run that differs in
    something else, e.g. the same images in more, smaller batches). The legend sits under the panels."""
    scale = display_scale(metric)
    fig = new_figure(4.5 * len(panels), 3.9)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, labels) in zip(axes, panels.items()):
        setting = x[name]
        points = {label: next(p for p in sweep["points"] if p["label"].rsplit(", seed ", 1)[0] == label)
                  for label in labels + ([extra[name]] if extra and name in extra else [])}
        value = {label: {**sweep["base_config"], **p["settings"]}[setting] for label, p in points.items()}
        xs = [value[label] for label in labels]
        runs = [[scale * v for v in seed_values(sweep, label, metric)] for label in labels]
        ax.plot(xs, [statistics.fmean(r) for r in runs], "o-", color="C0", label="mean over seeds")
        for x_value, seeds in zip(xs, runs):
            ax.plot([x_value] * len(seeds), seeds, ".", color="C0", alpha=0.5)
        ax.vlines(xs, [min(r) for r in runs], [max(r) for r in runs], color="C0", alpha=0.4, label="range of seeds")
        if extra and name in extra:
            seeds = [scale * v for v in seed_values(sweep, extra[name], metric)]
            ax.plot([value[extra[name]]], [statistics.fmean(seeds)], "*", ms=12, color="C3", label=extra[name])
            ax.vlines([value[extra[name]]], min(seeds), max(seeds), color="C3", alpha=0.5)
        lines = {**{k: v[metric] for k, v in references.items() if metric in v},
                 "untrained network": statistics.fmean(seed_values(sweep, labels[0], metric, untrained=True))}
        for ref, level in lines.items():
            ax.axhline(scale * level, color="0.4", ls=REFERENCE_STYLES.get(ref, "-"), lw=1, label=ref)
        ax.set_xscale("log")
        ax.set_xticks(xs, [f"{v:g}" for v in xs])
        ax.minorticks_off()
        ax.set_xlabel(name)
        ax.set_ylabel(metric + ("" if scale == 1 else " (%)"))
        ax.grid(alpha=0.3)
    handles, names = axes[0].get_legend_handles_labels()
    for ax in axes[1:]:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in names:
                handles.append(handle)
                names.append(label)
    fig.legend(handles, names, loc="outside lower center", ncol=min(len(names), 3), fontsize=9, frameon=False)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def change_table(sweep: dict[str, Any], base: str, measures: Iterable[str] = ("kNN",)) -> dict[str, dict[str, Any]]:
    """A Markdown table of every other setting's change from the setting ``base``, one column per measure:
    the gap of the means in points and, by the book's rule (:func:`cookbook.book.claims.compare`), "higher",
    "lower" or "=" (no difference: the seed ranges overlap). Returns the comparisons, ``{setting: {measure:
    Comparison}}``, for a chapter's claims to quote."""
    measures = list(measures)
    labels = [label for label in dict.fromkeys(row["label"] for row in summary(sweep)) if label != base]
    found = {label: {m: compare(seed_values(sweep, label, m), seed_values(sweep, base, m), names=(label, base),
                                measure=m, percent=display_scale(m) == 100) for m in measures} for label in labels}

    def cell(comparison) -> str:
        size = (100 if comparison.percent else 1) * comparison.gap
        word = {"higher": "**higher**", "lower": "**lower**"}.get(comparison.verdict, "=")
        return f"{size:+.1f} {word}"

    lines = [f"| change from {base} | " + " | ".join(measures) + " |", "|---|" + "---:|" * len(measures)]
    lines += [f"| {label} | " + " | ".join(cell(found[label][m]) for m in measures) + " |" for label in labels]
    markdown("\n".join(lines) + "\n\nEach cell: the change of the mean over seeds (points for accuracies); "
             "**higher** or **lower** when the seed ranges do not overlap, = when they do (no difference here).")
    return found


def untrained_row(sweep: dict[str, Any], label: str, name: str | None = None) -> dict[str, Any]:
    """A row shaped like :func:`summary`'s for a table's references: the untrained networks of the setting
    ``label`` (its seeds' networks before training), for the class and each nuisance factor they were
    measured on, named ``name`` (default: "untrained network, <label>"). A sweep whose settings change the
    network (the backbone) has one untrained network per setting; :func:`cookbook.book.sweeps.reference_rows`
    gives one."""
    values = seed_values(sweep, label, "kNN", untrained=True)  # an unknown setting raises here
    row: dict[str, Any] = {"label": name or f"untrained network, {label}",
                           "kNN": (statistics.fmean(values), min(values), max(values))}
    for key in report.FACTOR_NAMES.values():
        try:
            values = seed_values(sweep, label, key, untrained=True)
        except KeyError:  # a factor the sweep's data do not have
            continue
        row[key] = (statistics.fmean(values), min(values), max(values))
    return row


def side_by_side(sweeps_by_name: dict[str, dict[str, Any]], label: str = "quick run",
                 columns: Iterable[str] = ("kNN",)) -> dict[str, list[float]]:
    """The setting ``label`` of several sweeps (one recipe each, on the same data) as one :func:`table`, a row
    per sweep under its name, with the first sweep's references under them (chance, raw pixels, the
    untrained network); returns each sweep's class kNN over its seeds, for a chapter's claims."""
    first = next(iter(sweeps_by_name.values()))
    rows = [{**next(r for r in summary(sweep) if r["label"] == label), "label": name}
            for name, sweep in sweeps_by_name.items()]
    table(first, rows=rows + reference_rows(first, label), columns=list(columns))
    return {name: seed_values(sweep, label) for name, sweep in sweeps_by_name.items()}
