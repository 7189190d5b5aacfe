"""Chapter 9's readings: where to cut a network trained with a projector, what each layer keeps of the nuisance
factors, what the projector's shape changes, and what the backbone looks like without one.

The chapter reads three sweeps of ``benchmarks/sweep.py``: ``projector-simclr`` and ``projector-vicreg`` change
the projector's depth, width and output size one at a time from the recipe's default, and ``ema-byol``
(chapter 10's) holds BYOL's default run; every run was probed at every layer, from the backbone to the
embedding the loss sees (:func:`cookbook.book.probes.layer_probes`).

- :func:`introduce` says what they trained; :func:`tidy` makes each projector sweep name its default once (the
  default projector is both "depth 2" and "output 128" of SimCLR's sweep: the same settings, trained twice).
- :func:`layer_table`, :func:`layer_figure`: every layer's kNN, linear probe and RankMe over the seeds,
  beside chance, raw pixels and the untrained network; :func:`cut_comparisons`: each layer against the backbone.
- :func:`kept_run`, :func:`layer_nuisances`, :func:`nuisance_table`, :func:`nuisance_figure`: what each layer of
  one trained model keeps of the class and of the toy shapes' nuisance factors (colours, position, size),
  beside the same layers untrained (three seeds: building a network costs no training), chance and raw pixels.
  The model is SimCLR's default run at seed 0 as the package keeps it (the chapter's lab run, whose settings
  :func:`kept_run` checks against the sweep's), so the chapter trains nothing to draw it; :func:`again` trains
  it once more instead.
- :func:`sweep_table`, :func:`shape_figure`, :func:`learned`, :func:`change_tables`: the projector's shape,
  one setting at a time, with references, and each setting that learned against the default over the seeds.
- :func:`tail_counts`, :func:`spectra_figure`, :func:`collapse_table`: the backbone's spectrum by projector
  depth, and how many of its directions are dead (:data:`TAIL`), which RankMe barely registers.

The findings (:func:`cut_findings`, :func:`position_findings`, :func:`width_finding`, :func:`shape_findings`,
:func:`collapse_findings`) are stated with :mod:`cookbook.book.claims`, over three seeds of every setting. Each
verdict is typed where it is stated (:data:`CUTS`, :data:`POSITION`, :data:`NO_PROJECTOR`, :data:`SHAPE`), as
the seeds gave it: a retrain whose seeds say otherwise fails the chapter's build, so that its sentences get
rewritten from the new seeds rather than left standing.
"""
from __future__ import annotations

import dataclasses
import re
import statistics
from typing import Any, Iterable

import torch

from cookbook import evaluate, registry
from cookbook.book import baselines, claims, guide, lab_runs, plots, probes, sweeps
from cookbook.book.chapter import markdown
from cookbook.book.collapse import collapsed
from cookbook.book.plots import column_width, legend_below, new_figure, setting_axis
from cookbook.run import prepare

METHODS = {"SimCLR": "projector-simclr", "VICReg": "projector-vicreg"}
BYOL = ("ema-byol", "momentum 0.98, momentum_schedule cosine")  # BYOL's quick default: momentum 0.98 along a cosine
PROJECTOR = ("proj_depth", "proj_hidden_dim", "proj_dim")  # the three settings the projector sweeps change
SETTING_NAMES = {"proj_depth": "depth (linear layers)", "proj_hidden_dim": "width (hidden units)",
                 "proj_dim": "output size (the embedding's dimensions)"}
PROBES = {"kNN": "knn_acc", "linear probe": "linear_acc"}  # a layer row's key for each probe
NUISANCES = ("shape colour", "background colour", "position", "size")

# A singular value of the backbone's test features below this share of the largest marks a dead direction:
# its variance is a millionth of the top direction's, far below what a kNN vote or a linear probe can read,
# and near the float32 rounding of features whose largest singular value is of order one. The spectra are kept
# rounded to 1e-6 of the largest, so a direction below 5e-7 is stored as an exact 0.
TAIL = 1e-3

Runs = dict[str, tuple[dict[str, Any], str]]  # a run's name -> (its sweep, the setting's label)


# ----------------------------------------------------------------------------- the sweeps, each default named once

def default_name(sweep: dict[str, Any]) -> str:
    """The label :func:`tidy` gives a projector sweep's default: "default (depth 2, width 512, output 128)"."""
    base = sweep["base_config"]
    return f"default (depth {base['proj_depth']}, width {base['proj_hidden_dim']}, output {base['proj_dim']})"


def tidy(sweep: dict[str, Any]) -> dict[str, Any]:
    """A copy of a projector sweep with its default setting once: the first setting whose values are all the
    recipe's own ("depth 2" of SimCLR's sweep) renamed :func:`default_name`, and every other such setting
    ("output 128", the same settings trained again) left out. The other settings keep their labels."""
    base = sweep["base_config"]
    defaults = list(dict.fromkeys(sweeps._setting_label(p) for p in sweep["points"]
                                  if all(base.get(k) == v for k, v in p["settings"].items())))
    if not defaults:
        return sweep
    name = default_name(sweep)
    points = []
    for point in sweep["points"]:
        label = sweeps._setting_label(point)
        if label == defaults[0]:
            point = {**point, "label": name + point["label"][len(label):]}
        elif label in defaults:
            continue
        points.append(point)
    return {**sweep, "points": points}


def introduce(loaded: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """The chapter's sweeps, ``{"SimCLR": ..., "VICReg": ..., "BYOL": ...}`` as loaded
    (:func:`cookbook.book.report.load_sweep` of :data:`METHODS` and of :data:`BYOL`'s sweep), each introduced
    (:func:`cookbook.book.guide.introduce`) and the projector sweeps tidied (:func:`tidy`)."""
    for sweep in loaded.values():
        guide.introduce(sweep)
    return {name: tidy(sweep) if name in METHODS else sweep for name, sweep in loaded.items()}


def defaults(loaded: dict[str, dict[str, Any]]) -> Runs:
    """Each method's default run: ``{"SimCLR": (sweep, its default's label), ...}``."""
    return {name: (sweep, default_name(sweep) if name in METHODS else BYOL[1]) for name, sweep in loaded.items()}


def _points(sweep: dict[str, Any], label: str) -> list[dict[str, Any]]:
    return sorted((p for p in sweep["points"] if sweeps._setting_label(p) == label), key=lambda p: p.get("seed") or 0)


def _spread(values: list[float]) -> tuple[float, float, float]:
    return statistics.fmean(values), min(values), max(values)


# ----------------------------------------------------------------------------- every layer probed

def layer_names(sweep: dict[str, Any], label: str) -> list[str]:
    """The probed layers of a setting: "backbone", "projector 1", ... (the last is the loss's embedding)."""
    return [row["layer"] for row in _points(sweep, label)[0]["layers"]]


def layer_seeds(sweep: dict[str, Any], label: str, layer: str, key: str = "knn_acc") -> list[float]:
    """``key`` (``knn_acc``, ``linear_acc``, ``rankme``) at ``layer`` of every seed of the setting ``label``,
    in seed order; ``layer="embedding"``: the last layer, whatever its number."""
    values = []
    for point in _points(sweep, label):
        rows = point["layers"]
        row = rows[-1] if layer == "embedding" else next((r for r in rows if r["layer"] == layer), None)
        if row is None:
            raise KeyError(f"{label!r} of {sweep['sweep']!r} has no layer {layer!r}: it has "
                           f"{', '.join(r['layer'] for r in rows)}")
        values.append(row[key])
    return values


def references(runs: Runs) -> dict[str, Any]:
    """What the layers' accuracies stand beside, on the same test images and probe: chance (for both probes:
    the same labels), raw pixels (the kNN probe on the images) and, per run, its untrained network's backbone
    over the seeds (kNN; the sweeps measured the untrained network at the backbone only)."""
    sweep, label = next(iter(runs.values()))
    refs = sweeps.references(sweep, label)
    return {"chance": refs["chance"]["kNN"], "raw pixels": refs["raw pixels"]["kNN"],
            "untrained": {name: sweeps.seed_values(s, lab, untrained=True) for name, (s, lab) in runs.items()}}


def _cell(values: list[float], percent: bool = True) -> str:
    """A table cell: the mean over the seeds and (their range); one seed's value alone."""
    mean, low, high = _spread(values)
    if low == high:
        return f"{mean:.1%}" if percent else f"{mean:.1f}"
    if percent:
        return f"{100 * mean:.1f}% ({100 * low:.1f}-{100 * high:.1f})"
    return f"{mean:.1f} ({low:.1f}-{high:.1f})"


def layer_table(runs: Runs) -> None:
    """Each run's probes at every layer as a Markdown table, the mean over seeds and (their range), then
    chance, raw pixels and each run's untrained backbone on the same test images."""
    lines = ["| run | probed after | width | kNN | linear probe | RankMe |", "|---|---|---:|---:|---:|---:|"]
    for name, (sweep, label) in runs.items():
        names = layer_names(sweep, label)
        for layer in names:
            width = next(r["dim"] for r in _points(sweep, label)[0]["layers"] if r["layer"] == layer)
            shown = layer + (" (the loss's embedding)" if layer == names[-1] and len(names) > 1 else "")
            lines.append(f"| {name} | {shown} | {width} | " + " | ".join(
                _cell(layer_seeds(sweep, label, layer, key), key != "rankme")
                for key in ("knn_acc", "linear_acc", "rankme")) + " |")
    refs = references(runs)
    lines.append(f"| chance | | | {refs['chance']:.1%} | {refs['chance']:.1%} | |")
    lines.append(f"| raw pixels | | | {refs['raw pixels']:.1%} | | |")
    lines += [f"| {name}, untrained | backbone | | {_cell(values)} | | |" for name, values in refs["untrained"].items()]
    markdown("\n".join(lines) + "\n\nEach cell: the mean over the seeds and (their range), or the value of a run "
             "with one seed.")


def layer_figure(runs: Runs, title: str | None = None):
    """kNN (left) and linear-probe (right) accuracy after every layer, one colour per run: each seed a dot,
    their mean a line; chance in both panels, raw pixels and each run's untrained backbone (its mean over
    seeds, at the backbone) in the kNN panel. One legend under the panels."""
    refs = references(runs)
    fig = new_figure(column_width(7.6), 4.2)
    axes = fig.subplots(1, 2, sharey=True)
    longest = max((layer_names(s, label) for s, label in runs.values()), key=len)
    for i, (name, (sweep, label)) in enumerate(runs.items()):
        names = layer_names(sweep, label)
        for ax, key in zip(axes, PROBES.values()):
            seeds = [[100 * v for v in layer_seeds(sweep, label, layer, key)] for layer in names]
            ax.plot(range(len(names)), [statistics.fmean(s) for s in seeds], "o-", color=f"C{i}", label=name)
            for x, values in enumerate(seeds):
                ax.plot([x] * len(values), values, ".", color=f"C{i}", alpha=0.5)
        untrained = 100 * statistics.fmean(refs["untrained"][name])
        axes[0].plot([0], [untrained], "x", ms=8, mew=2, color=f"C{i}", label=f"{name}, untrained (backbone)")
    for ax, probe in zip(axes, PROBES):
        ax.axhline(100 * refs["chance"], color="0.4", ls=guide.REFERENCE_STYLES["chance"], lw=1, label="chance")
        ax.set_xticks(range(len(longest)), [layer.replace("projector ", "proj. ") for layer in longest], fontsize=8)
        ax.set_title(probe, fontsize=10)
        ax.grid(alpha=0.3)
        ax.set_xlabel("probed after (the last layer: the loss's embedding)", fontsize=8)
    axes[0].axhline(100 * refs["raw pixels"], color="0.4", ls=guide.REFERENCE_STYLES["raw pixels"], lw=1,
                    label="raw pixels (kNN)")
    axes[0].set_ylabel("accuracy on the class (%)")
    legend_below(fig, axes, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def cut_comparisons(runs: Runs) -> dict[tuple[str, str, str], claims.Comparison]:
    """Every projector layer of every run against its backbone, by each probe over the seeds:
    ``(run, probe, layer) -> compare(layer, backbone)``, with ``layer`` also "embedding" for the last one."""
    found = {}
    for name, (sweep, label) in runs.items():
        names = layer_names(sweep, label)
        for probe, key in PROBES.items():
            backbone = layer_seeds(sweep, label, "backbone", key)
            for layer in names[1:] + ["embedding"]:
                shown = "the embedding" if layer == "embedding" else layer
                found[name, probe, layer] = claims.compare(layer_seeds(sweep, label, layer, key), backbone,
                                                           names=(f"{name} after {shown}", f"{name}'s backbone"),
                                                           measure=probe)
    return found


# ----------------------------------------------------------------------------- what each layer keeps (one model)

def _config(sweep: dict[str, Any], label: str, seed: int):
    recipe = registry.get(sweep["recipe"])
    point = _points(sweep, label)[0]
    settings = {**sweep["shared"], **point["settings"], "seed": seed}
    return recipe, recipe.Config.for_budget("quick", **sweeps.config_overrides(recipe, settings))


def layer_scores(model: torch.nn.Module, data, config) -> dict[str, dict[str, float]]:
    """kNN accuracy of the class ("kNN") and of each nuisance factor at every layer of ``model`` (its backbone,
    then after each projector block), with the memory bank and vote of ``config``'s evaluation."""
    bank = config.eval_bank or len(data.train_x)
    in_bank = dataclasses.replace(data, train_x=data.train_x[:bank], train_y=data.train_y[:bank],
                                  train_factors={name: v[:bank] for name, v in data.train_factors.items()})
    model.eval()
    train, test = probes.layer_features(model, in_bank.train_x), probes.layer_features(model, data.test_x)
    return {layer: baselines.named(evaluate.knn_scores(train[layer], test[layer], in_bank, config.knn_k,
                                                    config.knn_temperature)) for layer in train}


def again(sweep: dict[str, Any]) -> dict[str, Any]:
    """Train the default projector's first seed of a tidied projector sweep once more, in front of the reader
    (:func:`cookbook.book.guide.again`, which prints its kNN and RankMe beside the kept ones), keeping the model
    for :func:`layer_nuisances`. About 30 s on a CPU: :func:`kept_run` loads the same run instead."""
    return guide.again(sweep, _points(sweep, default_name(sweep))[0]["label"], keep_model=True)


# The committed lab run of SimCLR's quick run (benchmarks/lab_runs.py), the run this chapter's lab shows.
LAB_RUN = "simclr-projector"
# Settings that say when a run measures itself, not what it learns: the trainer draws each step's views and
# batch from a seed of that step alone (cookbook/train.py) and evaluates without gradients, so evaluating
# more or less often leaves the weights as they are. The lab evaluates every chunk, the sweep only at the end.
SCHEDULE = frozenset({"eval_every", "log_every"})


def _sweep_config(sweep: dict[str, Any], point: dict[str, Any]):
    """The config a sweep's point trained with: its settings on the quick budget, as
    :func:`cookbook.book.chapter.short_run` resolves them for ``benchmarks/sweep.py`` (no evaluation on the way)."""
    recipe = registry.get(sweep["recipe"])
    settings = {**sweep["shared"], **point["settings"], "seed": point.get("seed") or 0}
    return recipe, settings, recipe.Config.for_budget(
        "quick", **{"eval_every": 0, "progress": False, "out": None, **sweeps.config_overrides(recipe, settings)})


def kept_run(sweep: dict[str, Any], name: str = LAB_RUN) -> dict[str, Any]:
    """The default projector's first seed of a tidied projector sweep, as the package keeps it: the committed
    lab run ``name`` (:mod:`cookbook.book.lab_runs`, its weights read with ``weights_only=True``), rebuilt on
    the sweep's images, ``{"model", "data"}`` for :func:`layer_nuisances`. It trains nothing.

    The run stands in for the sweep's only if it is the same run: a claim checks that its settings are the
    sweep point's in everything but :data:`SCHEDULE` and that the code on disk trained it
    (:func:`cookbook.book.lab_runs.is_current`); it prints its kNN and RankMe beside the sweep's kept ones.
    The two may differ a little all the same: a run's numbers change with the CPU threads that summed them."""
    label = default_name(sweep)
    point = _points(sweep, label)[0]
    recipe, settings, config = _sweep_config(sweep, point)
    record = lab_runs.committed().get(name)
    if record is None:
        raise FileNotFoundError(f"no committed lab run {name!r}: train it with python benchmarks/lab_runs.py {name}")
    ours, theirs = lab_runs.settings_key(config), record["config"]
    differ = {k: (ours.get(k), theirs.get(k)) for k in sorted(set(ours) | set(theirs)) if ours.get(k) != theirs.get(k)}
    named = ", ".join(f"`{k}` ({a} in the sweep, {b} in the lab run)" for k, (a, b) in differ.items())
    same = (record["recipe"] == sweep["recipe"] and set(differ) <= SCHEDULE
            and lab_runs.is_current(record, recipe))
    claims.claim(f"The committed run `{name}` is the sweep's `{label}` at seed {settings['seed']}: the same recipe "
                 f"and settings, trained by the code on disk"
                 + (f"; they differ only in {named}, which says when a run measures itself, not what it learns."
                    if differ else "."), same)
    data, _ = sweeps.point_data(recipe, settings, sweep["base_config"]["seed"])
    _, model = prepare(recipe, config, data)
    lab_runs.load_weights(record, model)
    kept = point["after"]
    print(f"{label}, seed {settings['seed']}: kNN {record['knn_acc']:.1%} in the committed run ({record['command']}), "
          f"{kept['knn_acc']:.1%} in the sweep's | RankMe {record['rankme']:.2f} and {kept['rankme']:.2f}")
    return {"model": model, "data": data, "record": record}


def layer_nuisances(run: dict[str, Any], sweep: dict[str, Any], seeds: Iterable[int] = (0, 1, 2)) -> dict[str, Any]:
    """What every layer keeps of the class and of each nuisance factor: ``{"trained": {layer: {measure:
    kNN}}`` of ``run`` (:func:`kept_run` or :func:`again`: the default projector's first seed), ``"untrained":
    {layer: {measure: [kNN per seed]}}`` of the same network built with each of ``seeds`` and not trained
    (building it costs no training, so this reference has its seeds), ``"chance"`` and ``"raw pixels"`` (the
    same kNN probe on the images)."""
    label = default_name(sweep)
    seed = _points(sweep, label)[0].get("seed") or 0
    recipe, config = _config(sweep, label, seed)
    trained = layer_scores(run["model"], run["data"], config)
    untrained: dict[str, dict[str, list[float]]] = {}
    for s in seeds:
        _, fresh = _config(sweep, label, s)
        _, model = prepare(recipe, fresh, run["data"])
        for layer, scores in layer_scores(model, run["data"], fresh).items():
            for measure, value in scores.items():
                untrained.setdefault(layer, {}).setdefault(measure, []).append(value)
    refs = sweeps.references(sweep, label)
    return {"trained": trained, "untrained": untrained, "chance": refs["chance"], "raw pixels": refs["raw pixels"],
            "seed": seed, "seeds": list(seeds)}


def nuisance_table(found: dict[str, Any]) -> None:
    """:func:`layer_nuisances` as a Markdown table: per layer, the trained run's kNN on each factor and, under
    it, the untrained network's mean and (range over seeds); chance and raw pixels in the last rows."""
    measures = ["kNN"] + [m for m in NUISANCES if m in found["chance"]]
    header = ["class" if m == "kNN" else m for m in measures]
    lines = ["| probed after | network | " + " | ".join(header) + " |", "|---|---|" + "---:|" * len(measures)]
    for layer, scores in found["trained"].items():
        lines.append(f"| {layer} | trained (seed {found['seed']}) | "
                     + " | ".join(f"{scores[m]:.1%}" for m in measures) + " |")
        lines.append(f"| | untrained ({len(found['seeds'])} seeds) | "
                     + " | ".join(_cell(found["untrained"][layer][m]) for m in measures) + " |")
    lines += [f"| {ref} | | " + " | ".join(f"{found[ref][m]:.1%}" for m in measures) + " |"
              for ref in ("chance", "raw pixels")]
    markdown("\n".join(lines))


def nuisance_figure(found: dict[str, Any], title: str | None = None):
    """One panel per measure (the class, then each nuisance factor): kNN accuracy after every layer of the
    trained run (a line), of the same network untrained (its seeds' mean, their range as a band), chance and
    raw pixels (the same probe on the images: one level for every layer)."""
    measures = ["kNN"] + [m for m in NUISANCES if m in found["chance"]]
    layers = list(found["trained"])
    fig = new_figure(column_width(7.6), 2.3 * ((len(measures) + 2) // 3) + 1.3)
    grid = fig.subplots((len(measures) + 2) // 3, 3, squeeze=False)
    for ax, measure in zip(grid.flat, measures):
        xs = range(len(layers))
        untrained = [[100 * v for v in found["untrained"][layer][measure]] for layer in layers]
        ax.fill_between(xs, [min(u) for u in untrained], [max(u) for u in untrained], color="C7", alpha=0.3)
        ax.plot(xs, [statistics.fmean(u) for u in untrained], "s--", color="C7", ms=4,
                label=f"untrained (mean and range of {len(found['seeds'])} seeds)")
        ax.plot(xs, [100 * found["trained"][layer][measure] for layer in layers], "o-", color="C0",
                label=f"trained (seed {found['seed']})")
        for ref in ("chance", "raw pixels"):
            ax.axhline(100 * found[ref][measure], color="0.4", ls=guide.REFERENCE_STYLES[ref], lw=1, label=ref)
        ax.set_title("the class" if measure == "kNN" else measure, fontsize=10)
        ax.set_xticks(list(xs), [layer.replace("projector ", "proj. ") for layer in layers], fontsize=8)
        ax.grid(alpha=0.3)
    for ax in grid.flat[len(measures):]:
        ax.axis("off")
    for ax in grid[:, 0]:
        ax.set_ylabel("kNN accuracy (%)")
    legend_below(fig, grid.flat[:1], ncols=2)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


# ----------------------------------------------------------------------------- the projector's shape

def sweep_table(sweep: dict[str, Any], columns: Iterable[str] = ("kNN", "linear probe", "position", "RankMe")) -> None:
    """A tidied projector sweep's table (:func:`cookbook.book.guide.table`) with chance (for both probes),
    raw pixels and the untrained network under it."""
    chance, *others = sweeps.reference_rows(sweep, default_name(sweep))
    guide.table(sweep, rows=guide.summary(sweep) + [{**chance, "linear probe": chance["kNN"]}, *others],
                columns=list(columns))


def _one_setting(sweep: dict[str, Any], setting: str) -> list[str]:
    """The labels of the settings that differ from the recipe's default in ``setting`` alone (or in nothing)."""
    base = sweep["base_config"]
    return [row["label"] for row in guide.summary(sweep)
            if all(k == setting or base.get(k) == v for k, v in row["settings"].items())]


def shape_figure(loaded: dict[str, dict[str, Any]], settings: Iterable[str] = PROJECTOR, title: str | None = None):
    """A row of panels per projector setting, a column per method: kNN and linear probe against the
    setting's values (each changed alone from the default), every seed a dot and their mean a line, beside
    chance (both probes), raw pixels and the untrained network (kNN). Each panel's axis starts at 0, so a
    gap is drawn to its size. One legend under the panels."""
    settings = list(settings)
    methods = {name: sweep for name, sweep in loaded.items() if name in METHODS}
    fig = new_figure(column_width(7.6), 2.5 * len(settings) + 1.6)
    grid = fig.subplots(len(settings), len(methods), squeeze=False, sharey=True)
    top = 0.0
    for column, (name, sweep) in enumerate(methods.items()):
        default = default_name(sweep)
        refs = sweeps.references(sweep, default)
        untrained = statistics.fmean(sweeps.seed_values(sweep, default, untrained=True))
        for row, setting in enumerate(settings):
            ax = grid[row, column]
            labels = _one_setting(sweep, setting)
            value = {label: {**sweep["base_config"], **_points(sweep, label)[0]["settings"]}[setting]
                     for label in labels}
            at = setting_axis(ax, list(value.values()), SETTING_NAMES[setting], fontsize=8)
            labels.sort(key=lambda label: at[value[label]])
            xs = [at[value[label]] for label in labels]
            for i, measure in enumerate(PROBES):
                seeds = [[100 * v for v in sweeps.seed_values(sweep, label, measure)] for label in labels]
                top = max(top, *map(max, seeds))
                ax.plot(xs, [statistics.fmean(s) for s in seeds], "o-" if i == 0 else "s--", color=f"C{i}",
                        label=measure)
                for x, s in zip(xs, seeds):
                    ax.plot([x] * len(s), s, ".", color=f"C{i}", alpha=0.5)
            star = at[value[default]]
            ax.axvline(star, color="0.8", lw=3, zorder=0, label="the recipe's default")
            for ref, level in (("chance", refs["chance"]["kNN"]), ("raw pixels", refs["raw pixels"]["kNN"]),
                               ("untrained network", untrained)):
                ax.axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[ref], lw=1,
                           label=ref if ref == "chance" else f"{ref} (kNN)")
            ax.grid(alpha=0.3)
            if row == 0:
                ax.set_title(f"{name}, {sweep['shared']['steps']} steps", fontsize=10)
    for ax in grid[:, 0]:
        ax.set_ylabel("accuracy (%)")
    grid[0, 0].set_ylim(0, top + 5)
    legend_below(fig, grid[:1, :1].flat, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    plots.untangle_tick_labels(fig)
    return fig


# ----------------------------------------------------------------------------- no projector: the spectrum's tail

def tail_counts(sweep: dict[str, Any], label: str, tail: float = TAIL) -> list[int]:
    """For every seed of the setting ``label``: how many singular values of its backbone's test features lie
    below ``tail`` times the largest (dead directions, :data:`TAIL`)."""
    counts = []
    for point in _points(sweep, label):
        spectrum = point["spectrum"]
        counts.append(sum(1 for s in spectrum if s < tail * spectrum[0]))
    return counts


def depth_labels(sweep: dict[str, Any]) -> list[str]:
    """A projector sweep's settings that change the depth alone, shallowest first (the default among them)."""
    labels = _one_setting(sweep, "proj_depth")
    return sorted(labels, key=lambda label: {**sweep["base_config"], **_points(sweep, label)[0]["settings"]}
                  ["proj_depth"])


def collapse_table(loaded: dict[str, dict[str, Any]]) -> None:
    """For each method and projector depth: the backbone's dead directions in each seed (:func:`tail_counts`),
    its RankMe and linear probe over the seeds, and how many seeds collapsed by the book's rule."""
    lines = ["| method | setting | dead directions, per seed | RankMe | linear probe | collapsed (chapter 1's rule) |",
             "|---|---|---:|---:|---:|---:|"]
    for name, sweep in loaded.items():
        if name not in METHODS:
            continue
        for label in depth_labels(sweep):
            ranks = sweeps.seed_values(sweep, label, "RankMe")
            spreads = sweeps.seed_values(sweep, label, "normalised std")
            fell = sum(map(collapsed, ranks, spreads))
            lines.append(f"| {name} | {label} | {', '.join(map(str, tail_counts(sweep, label)))} of "
                         f"{len(_points(sweep, label)[0]['spectrum'])} | {_cell(ranks, False)} | "
                         f"{_cell(sweeps.seed_values(sweep, label, 'linear probe'))} | {fell} of {len(ranks)} |")
    markdown("\n".join(lines))


def spectra_figure(loaded: dict[str, dict[str, Any]], title: str | None = None):
    """One panel per method: the singular values of the backbone's test features over the largest (log
    scale), one colour per projector depth, every seed drawn; the dashed line is :data:`TAIL`, under which a
    direction is dead. A value stored as 0 is drawn at the panel's floor."""
    methods = {name: sweep for name, sweep in loaded.items() if name in METHODS}
    fig = new_figure(column_width(7.6), 3.9)
    axes = fig.subplots(1, len(methods), sharey=True, squeeze=False)[0]
    floor = 1e-7
    for ax, (name, sweep) in zip(axes, methods.items()):
        for label in depth_labels(sweep):
            depth = {**sweep["base_config"], **_points(sweep, label)[0]["settings"]}["proj_depth"]
            for point in _points(sweep, label):
                spectrum = [max(s, floor) for s in point["spectrum"]]
                ax.semilogy(range(1, len(spectrum) + 1), spectrum, color=f"C{depth}", lw=1.2, alpha=0.8,
                            label=f"projector depth {depth}" + (" (none)" if depth == 0 else ""))
        ax.axhline(TAIL, color="0.3", ls="--", lw=1, label="a thousandth of the largest (dead below)")
        ax.set_ylim(floor / 2, 2)
        ax.set_xlabel("singular value index")
        ax.set_title(f"{name} (default depth {sweep['base_config']['proj_depth']}): the backbone's features",
                     fontsize=9)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("singular value / largest")
    legend_below(fig, axes, ncols=3)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig



# ----------------------------------------------------------------------------- the chapter's findings, checked

def _in_seeds(n: int) -> str:
    return "in its one seed" if n == 1 else f"in each of its {n} seeds"


def _seeds(values: list[float]) -> str:
    """Accuracies over the seeds, as :meth:`cookbook.book.claims.Comparison.described` words them."""
    return claims.compare(values, 0.0, names=("runs", "zero")).described(0)


def _and(words: list[str]) -> str:
    return words[0] if len(words) == 1 else ", ".join(words[:-1]) + " and " + words[-1]


def _outcome(comparison: claims.Comparison) -> str:
    """"no difference", or "higher by 5.2 points": a comparison's verdict, short."""
    if comparison.verdict == "no difference":
        return "no difference"
    gap = abs(comparison.gap) * (100 if comparison.percent else 1)
    return f"{comparison.verdict} by {gap:.1f}{' points' if comparison.percent else ''}"


# Each projector layer of the default runs against their backbone, by each probe over the three seeds
# (cut_comparisons), as the seeds gave it: the verdicts cut_findings states.
CUTS = {
    ("SimCLR", "kNN"): {"projector 1": "no difference", "projector 2": "no difference"},
    ("SimCLR", "linear probe"): {"projector 1": "no difference", "projector 2": "no difference"},
    ("VICReg", "kNN"): {"projector 1": "no difference", "projector 2": "higher", "projector 3": "no difference"},
    ("VICReg", "linear probe"): {"projector 1": "no difference", "projector 2": "no difference",
                                 "projector 3": "lower"},
}


def cut_findings(runs: Runs) -> None:
    """Where to cut, by the seeds: BYOL's run against raw pixels at every layer, then each layer of SimCLR's
    and VICReg's default projectors against their backbone by each probe (:data:`CUTS`, :func:`cut_comparisons`),
    and what that says about where to cut."""
    raw = references(runs)["raw pixels"]
    sweep, label = runs["BYOL"]
    below = {layer: claims.compare(layer_seeds(sweep, label, layer), raw, names=(f"BYOL after {layer}", "raw pixels"))
             for layer in layer_names(sweep, label)}
    claims.claim(f"**BYOL**'s {sweep['shared']['steps']}-step run stays below raw pixels on the kNN probe at every "
                 "layer (" + "; ".join(f"{layer} {c.described(0)}" for layer, c in below.items())
                 + f"; raw pixels {next(iter(below.values())).described(1)}), so it cannot say where to cut.",
                 all(c.verdict == "lower" for c in below.values()))
    found = cut_comparisons({name: runs[name] for name in METHODS})
    every = True
    for (name, probe), expected in CUTS.items():
        sweep, label = runs[name]
        layers = layer_names(sweep, label)[1:]
        said = {layer: found[name, probe, layer] for layer in layers}
        holds = {layer: c.verdict for layer, c in said.items()} == expected
        every &= holds
        shown = {layer: layer + (" (the embedding)" if layer == layers[-1] else "") for layer in layers}
        higher, lower, level = ([shown[layer] for layer in layers if expected.get(layer) == verdict]
                                for verdict in claims.VERDICTS)
        words = []
        if higher:
            words.append(f"{_and(higher)} beats the backbone")
        if lower:
            words.append(f"{_and(lower)} falls below {'it' if words else 'the backbone'}")
        if level:
            words.append(f"{_and(level)} {'does' if len(level) == 1 else 'do'} not differ from it" if words
                         else "no layer of the projector differs from the backbone")
        backbone = next(iter(said.values())).described(1)
        claims.claim(f"**{name}, {probe}**: {'; '.join(words)} (backbone {backbone}; "
                     + "; ".join(f"{shown[layer]} {c.described(0)}: {_outcome(c)}"
                                 for layer, c in said.items()) + ").", holds)
    narrower = {name: claims.compare(layer_seeds(*runs[name], "embedding", "rankme"),
                                     layer_seeds(*runs[name], layer_names(*runs[name])[-2], "rankme"),
                                     names=(f"{name}'s embedding", f"its {layer_names(*runs[name])[-2]}"),
                                     measure="RankMe", percent=False) for name in METHODS}
    claims.claim("**RankMe**: in both default runs the embedding the loss sees uses fewer effective directions than "
                 "the projector layer before it (" + "; ".join(c.words() for c in narrower.values()) + ").",
                 all(c.verdict == "lower" for c in narrower.values()))
    claims.claim("So where to cut depends on the method and on the probe. SimCLR's three seeds cannot tell its "
                 "layers apart by either probe. VICReg's linear probe finds the embedding the loss sees worse than "
                 "the backbone, the Guillotine effect, and no layer better than the backbone; its kNN vote finds the "
                 "second projector layer better than the backbone. By the linear probe, no layer of either projector "
                 "beats its backbone: keeping the backbone loses nothing here, and for VICReg it avoids the "
                 "embedding's loss.", every)


# Chapter 1's rule for a factor (claims.factor_verdict) on the backbone's position kNN over the three seeds,
# trained without a projector ("depth 0") and with the default one: the verdicts position_findings states.
POSITION = {
    "SimCLR": {"depth 0": "drops it", "default": "keeps more of it than the untrained network"},
    "VICReg": {"depth 0": "keeps it as the untrained network does",
               "default": "keeps more of it than the untrained network"},
}


def position_findings(loaded: dict[str, dict[str, Any]]) -> None:
    """The projector's use in one measurement: the backbone's kNN on the position trained without a projector
    against trained with the default one, and each by the book's rule for a factor (:data:`POSITION`): dropped
    (every seed within :data:`cookbook.book.claims.DROP_MARGIN` of chance), or kept more, less or as much as
    by the untrained network."""
    for name in METHODS:
        sweep = loaded[name]
        default = default_name(sweep)

        def position(label, untrained=False):
            return sweeps.seed_values(sweep, label, "position", untrained=untrained)

        claims.compare(position("depth 0"), position(default), names=(f"{name} without a projector",
                                                                      f"{name} with its default projector"),
                       measure="position kNN").states(
            "lower", f"**{name}**'s backbone keeps less of the position without a projector than with its default one")
        chance = sweeps.references(sweep, default)["chance"]["position"]
        said = {key: claims.factor_verdict(position(label), chance, position(label, untrained=True))
                for key, label in (("depth 0", "depth 0"), ("default", default))}
        untrained = {_seeds(position(label, untrained=True)) for label in ("depth 0", default)}
        verdicts = {key: re.sub(r"\bit\b", "the position", verdict) for key, verdict in POSITION[name].items()}
        claims.claim(f"By the book's rule for a factor, without a projector {name}'s backbone "
                     f"{verdicts['depth 0']}, and with the default projector it {verdicts['default']} "
                     f"(the untrained network: {' and '.join(sorted(untrained))}; chance {chance:.1%}; a factor is "
                     f"dropped when every seed is within {100 * claims.DROP_MARGIN:.0f} points of chance).",
                     said == POSITION[name])


def learned(sweep: dict[str, Any]) -> list[str]:
    """The settings of a projector sweep whose kNN beats raw pixels on the class in every seed (the seed range
    above them): the runs that can say what helps. A setting that does not teaches nothing about it
    (chapter 1's rule 3), however it ranks against the others."""
    raw = sweeps.references(sweep, default_name(sweep))["raw pixels"]["kNN"]
    labels = dict.fromkeys(row["label"] for row in guide.summary(sweep))
    return [label for label in labels
            if claims.compare(sweeps.seed_values(sweep, label), raw, names=(label, "raw pixels")).verdict == "higher"]


# The settings whose runs do not beat raw pixels on the class over their seeds, as the seeds gave them:
# width_finding states each, and that every other setting of both sweeps does beat them.
FAILED = {"SimCLR": (), "VICReg": ("width 2048", "output 2048")}
_WHAT = {"proj_hidden_dim": "hidden layers {} units wide", "proj_dim": "a {}-dimensional output",
         "proj_depth": "a projector {} layers deep"}


def width_finding(loaded: dict[str, dict[str, Any]]) -> None:
    """The settings that broke a method's training, each named for what it changes (the projector's hidden
    width is not its output size), against raw pixels over the seeds (:data:`FAILED`); then that every other
    setting beats raw pixels. A run that does not beat raw pixels teaches nothing about what helps (chapter 1's
    rule 3), so the chapter compares only the others (:func:`change_tables`)."""
    every = True
    for name in METHODS:
        sweep = loaded[name]
        base, default = sweep["base_config"], default_name(sweep)
        refs = sweeps.references(sweep, default)
        raw, chance = refs["raw pixels"]["kNN"], refs["chance"]["kNN"]
        failed = [label for label in dict.fromkeys(row["label"] for row in guide.summary(sweep))
                  if label not in learned(sweep)]
        every &= tuple(failed) == FAILED[name]
        for label in FAILED[name]:
            settings = _points(sweep, label)[0]["settings"]
            changed = " and ".join(_WHAT[k].format(v) for k, v in settings.items())
            kept = "; ".join(_WHAT[k].format(base[k]) for k in PROJECTOR if k not in settings and k != "proj_depth")
            knn = sweeps.seed_values(sweep, label)
            linear = sweeps.seed_values(sweep, label, "linear probe")
            below = sum(v < raw for v in knn)
            claims.compare(knn, raw, names=(f"{name}, {label}", "raw pixels")).states(
                "no difference", f"**{name} with {changed}** ({kept}, as by default) does not rise above raw pixels on "
                f"the class: {below} of its {len(knn)} seeds end{'s' * (below == 1)} below them, and its linear probe "
                f"reaches {seed_range_percent(linear)} (chance {chance:.1%}). At the recipe's learning rate its "
                "training is unstable, and the setting teaches nothing about what such a projector does")
    claims.claim("Every other setting of both sweeps beats raw pixels on the class in every seed: those are the "
                 "settings the tables below compare with the default.", every)


def change_tables(loaded: dict[str, dict[str, Any]],
                  measures: Iterable[str] = ("kNN", "linear probe", "position", "RankMe")) -> dict[str, Any]:
    """Each method's settings that learned (:func:`learned`) against its default, over the seeds, as a table of
    changes (:func:`cookbook.book.guide.change_table`); returns ``{method: {setting: {measure: Comparison}}}``
    for :func:`shape_findings`."""
    found = {}
    for name in METHODS:
        sweep = loaded[name]
        keep = set(learned(sweep))
        markdown(f"**{name}**, each setting that beats raw pixels against the default, over "
                 f"{min(len(row['seeds']) for row in guide.summary(sweep))} seeds:")
        found[name] = guide.change_table({**sweep, "points": [p for p in sweep["points"]
                                                               if sweeps._setting_label(p) in keep]},
                                         default_name(sweep), measures)
    return found


# Each setting against its method's default by both probes, as the seeds gave it: the output size
# (OUTPUT), the depth and width (OTHERS), and the position the backbone keeps by projector depth (DEPTH_POSITION).
OUTPUT = {"SimCLR": {"output 16": "no difference", "output 512": "no difference", "output 2048": "no difference"},
          "VICReg": {"output 16": "lower", "output 128": "no difference"}}
OTHERS = {"SimCLR": dict.fromkeys(("depth 1", "depth 3", "width 64", "width 2048"), "no difference"),
          "VICReg": dict.fromkeys(("depth 1", "depth 2", "width 64"), "no difference")}
DEPTH_POSITION = {"SimCLR": {"depth 1": "lower", "depth 3": "no difference"},
                  "VICReg": {"depth 1": "lower", "depth 2": "lower"}}


def shape_findings(found: dict[str, Any]) -> None:
    """What the projector's shape changes, from :func:`change_tables`' comparisons: whether VICReg is more
    sensitive to the output size than SimCLR (:data:`OUTPUT`), what the depth and width change in either probe
    (:data:`OTHERS`), and the position the backbone keeps by projector depth (:data:`DEPTH_POSITION`)."""
    probes_ = list(PROBES)

    def said(name: str, label: str, measures: Iterable[str] = probes_) -> set[str]:
        return {found[name][label][m].verdict for m in measures}

    def holds(expected: dict[str, dict[str, str]], measures: Iterable[str] = probes_) -> bool:
        return all(said(name, label, measures) == {verdict} for name, verdicts in expected.items()
                   for label, verdict in verdicts.items())

    def both(name: str, label: str) -> str:
        return "; ".join(f"{m} {c.described(0)} against {c.described(1)}" for m, c in found[name][label].items()
                         if m in PROBES)

    failed = [label for label in FAILED["VICReg"] if label.startswith("output")]
    lower = [label for label, verdict in OUTPUT["VICReg"].items() if verdict == "lower"]
    level = [label for label, verdict in OUTPUT["VICReg"].items() if verdict == "no difference"]
    claims.claim(f"**The output size.** VICReg is more sensitive to it than SimCLR here: with {_and(lower)} its "
                 f"backbone falls below its default by both probes ({'; '.join(both('VICReg', x) for x in lower)}), "
                 f"and with {_and(level)} it does not differ from it; no output size SimCLR's sweep tried "
                 f"({_and(list(OUTPUT['SimCLR']))}) changes SimCLR's backbone by either probe. VICReg's "
                 f"{_and(failed)}, which failed above, says nothing either way.",
                 holds(OUTPUT))
    claims.claim("**The depth and the width.** Apart from removing the projector (the next section), no depth or width "
                 f"either sweep tried changes the backbone by either probe: SimCLR's {_and(list(OTHERS['SimCLR']))}, "
                 f"VICReg's {_and(list(OTHERS['VICReg']))}, each no different from its default over the seeds.",
                 holds(OTHERS))
    claims.claim("**The depth and the position.** A projector shallower than the default leaves less of the position "
                 "in the backbone, and a deeper one no more: "
                 + "; ".join(f"{name}'s {label} {_outcome(c)} ({c.described(0)} against {c.described(1)})"
                             for name, verdicts in DEPTH_POSITION.items() for label in verdicts
                             for c in [found[name][label]["position"]])
                 + ". One reading: the projector's layers take on the invariance the loss asks for, and the fewer "
                   "they are, the more of it reaches the backbone, down to no projector at all (the position "
                   "findings above).",
                 holds(DEPTH_POSITION, ["position"]))


# Each method's backbone trained without a projector against with its default projector, over the three seeds:
# the verdicts collapse_findings states.
NO_PROJECTOR = {
    "SimCLR": {"kNN": "higher", "linear probe": "higher", "RankMe": "no difference"},
    "VICReg": {"kNN": "no difference", "linear probe": "lower", "RankMe": "lower"},
}


def collapse_findings(loaded: dict[str, dict[str, Any]]) -> None:
    """The backbone without a projector, run by run: SimCLR's dead directions (:func:`tail_counts`) against its
    runs with a projector, why neither RankMe nor the book's collapse rule shows them, and VICReg's spectrum,
    which has none; then each method's backbone without a projector against its default projector's, in both
    probes and RankMe over the seeds (:data:`NO_PROJECTOR`)."""
    simclr, vicreg = loaded["SimCLR"], loaded["VICReg"]
    dead = tail_counts(simclr, "depth 0")
    others = {label: tail_counts(simclr, label) for label in dict.fromkeys(r["label"] for r in guide.summary(simclr))
              if label != "depth 0"}
    zeros = [sum(1 for v in p["spectrum"] if v == 0) for p in _points(simclr, "depth 0")]
    claims.claim(f"**SimCLR's backbone trained without a projector** has {seed_range(dead)} of its "
                 f"{len(_points(simclr, 'depth 0')[0]['spectrum'])} directions dead {_in_seeds(len(dead))} "
                 f"(singular values below a thousandth of the largest; {seed_range(zeros)} of them stored as "
                 f"exact zeros): a dimensional collapse of the spectrum's tail. None of its {len(others)} settings "
                 "with a projector has a single dead direction in any seed.",
                 min(dead) > 0 and not any(map(any, others.values())))
    ranks = sweeps.seed_values(simclr, "depth 0", "RankMe")
    spreads = sweeps.seed_values(simclr, "depth 0", "normalised std")
    alive = [rankme_of([v for v in p["spectrum"] if v >= TAIL]) for p in _points(simclr, "depth 0")]
    whole = [rankme_of(p["spectrum"]) for p in _points(simclr, "depth 0")]
    claims.claim(f"Neither RankMe nor chapter 1's rule sees it: its RankMe is {seed_range(ranks, '.1f')} and its "
                 f"normalised std {seed_range(spreads, '.2f')}, not collapsed by the rule; and taking the "
                 f"{seed_range(dead)} dead directions out of the spectrum drawn above lowers the RankMe computed from "
                 f"it by {seed_range([w - a for a, w in zip(alive, whole)], '.2f')}, less than one effective "
                 "dimension.", not any(map(collapsed, ranks, spreads)) and all(w - a < 1 for a, w in zip(alive, whole)))
    none = tail_counts(vicreg, "depth 0")
    claims.claim(f"**VICReg's backbone trained without a projector** has no dead direction in any of its "
                 f"{len(none)} seed{'s' * (len(none) > 1)} "
                 f"({seed_range(none)} below a thousandth of the largest).", max(none) == 0)
    for name in METHODS:
        sweep = loaded[name]
        default = default_name(sweep)
        said = {m: claims.compare(sweeps.seed_values(sweep, "depth 0", m), sweeps.seed_values(sweep, default, m),
                                  names=("without a projector", "with the default"), measure=m,
                                  percent=sweeps.display_scale(m) == 100)
                for m in NO_PROJECTOR[name]}
        words = {"higher": "higher", "lower": "lower", "no difference": "no different"}
        spread = {"no difference": ", inside the seeds' spread"}
        claims.claim(f"**{name}'s backbone without a projector, against its default projector's**: "
                     + "; ".join(f"{words[NO_PROJECTOR[name][m]]} in {m} ({c.described(0)} against {c.described(1)}"
                                 f"{spread.get(c.verdict, '')})" for m, c in said.items()) + ".",
                     {m: c.verdict for m, c in said.items()} == NO_PROJECTOR[name])


def rankme_of(spectrum: Iterable[float]) -> float:
    """RankMe (chapter 1) of features whose singular values are ``spectrum`` (any scale: RankMe depends on their
    shares only), with :func:`cookbook.evaluate.rankme`'s epsilon: ``exp(-sum p_k log p_k)``,
    ``p_k = sigma_k / sum sigma + eps``."""
    sigma = torch.tensor([float(v) for v in spectrum], dtype=torch.float64)
    p = sigma / sigma.sum() + 1e-7
    return float(torch.exp(-(p * p.log()).sum()))


def seed_range(values: list[float], spec: str = "g") -> str:
    """``[3, 0, 5]`` -> "0-5" (one value: "3"), for a sentence that quotes a count or a measure over the seeds."""
    low, high = min(values), max(values)
    return f"{low:{spec}}" if low == high else f"{low:{spec}}-{high:{spec}}"


def seed_range_percent(values: list[float]) -> str:
    """Accuracies over the seeds in a sentence: "16.6%" for one seed, "16.1-17.0%" for several."""
    low, high = min(values), max(values)
    return f"{low:.1%}" if low == high else f"{100 * low:.1f}-{high:.1%}"
