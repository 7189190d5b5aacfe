"""Chapter 12's readings of its sweeps: what batch size, optimizer, weight decay, warmup, temperature and the
learning rate did to SimCLR in 300 steps, stated as checked claims.

Every sweep read here trains SimCLR on the toy shapes for 300 steps with three seeds of each setting, from the
same base config (AdamW, batch 128, lr 0.016, 25 warmup steps, weight decay 1e-4, temperature 0.2); each
function draws or tabulates one of them beside the references (chance, raw pixels, the untrained network) and
states what its seeds support through :mod:`cookbook.book.claims`, so a sentence the data stop supporting fails
the book's build. The last part pools the sweeps on one axis, the run's mean learning rate, to ask how much of
what the knobs do goes through the size of the step.
"""
from __future__ import annotations

import dataclasses
import json
import statistics
from typing import Any

from cookbook import evaluate, optim, registry
from cookbook.book import baselines, chapter, claims, guide, plots, sweeps

DEFAULT = "batch 128, lr 0.016"  # the lr-scaling sweep's base point: the quick settings every other sweep varies
BATCHES = (16, 32, 64, 256)
RULES = ("linear", "square root")


def _knn(sweep: dict[str, Any], label: str, measure: str = "kNN") -> list[float]:
    return sweeps.seed_values(sweep, label, measure)


def _versus(sweep: dict[str, Any], first: str, second: str, names: tuple[str, str] | None = None,
            measure: str = "kNN", other: dict[str, Any] | None = None) -> claims.Comparison:
    """``measure`` of the setting ``first`` of ``sweep`` against ``second`` (of ``other``, default the same
    sweep), seed range against seed range."""
    return claims.compare(_knn(sweep, first, measure), _knn(other or sweep, second, measure),
                          names=names or (first, second), measure=measure,
                          percent=sweeps.display_scale(measure) == 100)


def base_settings(sweep: dict[str, Any]) -> None:
    """The settings every run of ``sweep`` shares unless its point changes them: the quick budget's, with the
    sweep's own (300 steps), as a small table."""
    chapter.settings(run_config(sweep, {}), ["optimizer", "lr", "batch_size", "steps", "warmup_steps",
                                             "weight_decay", "temperature", "n_train", "dataset"],
                     title=f"what every run of {sweep['sweep']} has unless its setting says otherwise")


# The settings that decide a run's training and test images and its kNN probe: the references depend on these only.
PROBE_FIELDS = sweeps.DATA_FIELDS + ("eval_bank", "knn_k", "knn_temperature")
_REFERENCES: dict[tuple, dict[str, dict[str, float]]] = {}


def references(sweep: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{"chance": {"kNN": ...}, "raw pixels": {"kNN": ...}}``: the class's chance and raw-pixel kNN on the test
    images of ``sweep``, measured as :func:`cookbook.book.sweeps.references` measures them (the sweep's images,
    its kNN probe and memory bank), for the class only, and once for every sweep of the chapter that trains on
    the same images: the chapter reads no nuisance factor, and each factor's probe would cost as much again."""
    config = run_config(sweep, {})
    key = tuple(getattr(config, name) for name in PROBE_FIELDS) + (sweep["base_config"]["seed"],)
    if key not in _REFERENCES:
        data, _ = sweeps.point_data(registry.get(sweep["recipe"]), sweep["shared"], sweep["base_config"]["seed"])
        bank = config.eval_bank or len(data.train_x)
        raw = evaluate.knn_accuracy(evaluate.pixels(data.train_x[:bank]), data.train_y[:bank],
                                    evaluate.pixels(data.test_x), data.test_y, config.knn_k, config.knn_temperature)
        _REFERENCES[key] = {"chance": {"kNN": baselines.chance_on(data)["kNN"]}, "raw pixels": {"kNN": raw}}
    return _REFERENCES[key]


def _described(values: list[float]) -> str:
    """Runs' kNN as the claims word it: "30.7% (3 seeds, 29.2-31.9%)"."""
    return claims.Comparison("kNN", ("", ""), (tuple(values), ())).described(0)


def _pixels(sweep: dict[str, Any], label: str, name: str | None = None) -> claims.Comparison:
    return claims.compare(_knn(sweep, label), references(sweep)["raw pixels"]["kNN"],
                          names=(name or label, "raw pixels"))


def levels(sweep: dict[str, Any]) -> dict[str, float]:
    """The class kNN of chance, raw pixels and the untrained network (the mean over the seeds of the sweep's
    first setting: a setting here changes the training, never the network) on the test images every run of the
    chapter is measured on."""
    first = sweeps.summary(sweep)[0]["label"]
    return {**{name: values["kNN"] for name, values in references(sweep).items()},
            "untrained network": statistics.fmean(sweeps.seed_values(sweep, first, untrained=True))}


def with_references(figure, sweep: dict[str, Any], ncols: int = 3):
    """``figure``'s first panel with the class kNN references drawn across it as horizontal lines, and one
    legend under the panels (the figure's own legend, if any, replaced)."""
    ax = figure.axes[0]
    for name, level in levels(sweep).items():
        ax.axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
    for legend in list(figure.legends):
        legend.remove()
    plots.legend_below(figure, [ax], ncols=ncols)
    return figure


def table(sweep: dict[str, Any], columns=("kNN", "RankMe")) -> None:
    """The sweep's table, the mean over seeds with their range, with chance, raw pixels and the untrained
    network under it (its RankMe too: what training starts from)."""
    first = sweeps.summary(sweep)[0]["label"]
    refs = [{"label": name, **{key: (value, value, value) for key, value in values.items()}}
            for name, values in references(sweep).items()]
    ranks = sweeps.seed_values(sweep, first, "RankMe", untrained=True)
    untrained = {**guide.untrained_row(sweep, first, "untrained network"),
                 "RankMe": (statistics.fmean(ranks), min(ranks), max(ranks))}
    guide.table(sweep, rows=guide.summary(sweep) + refs + [untrained], columns=columns)


# ----------------------------------------------------------------------------- batch size and the lr rule

def _rule(row: dict[str, Any]):
    return row["label"].split(", ")[1] if row["settings"] else RULES  # batch 128 belongs to both rules


def scaling_figure(scaling: dict[str, Any]):
    """kNN against the batch size, one line per rule (batch 128 on both), with the references."""
    steps = scaling["shared"]["steps"]
    return with_references(guide.series(scaling, "batch_size", _rule, log_x=True,
                                        title=f"SimCLR (AdamW), {steps} steps: kNN by batch size and rule"), scaling)


def scaling_reading(scaling: dict[str, Any]) -> None:
    """The batch sweep: its table with the references, and :func:`scaling_figure`."""
    guide.introduce(scaling)
    table(scaling, columns=("kNN", "RankMe", "CPU seconds"))
    chapter.display(scaling_figure(scaling))


def scaling_findings(scaling: dict[str, Any]) -> None:
    """Which rule did better at each batch, which batches learned more than raw pixels, and what batch 256
    bought over batch 128."""
    for batch in BATCHES:
        _versus(scaling, f"batch {batch}, square root", f"batch {batch}, linear").states(
            "no difference", f"At batch {batch}, the square root's {'larger' if batch < 128 else 'smaller'} rate and "
                             f"the linear rule's end level")
    small = {label: _pixels(scaling, label) for label in (f"batch {b}, {r}" for b in BATCHES if b < 128 for r in RULES)}
    claims.claim("None of the runs below batch 128 rises above raw pixels ("
                 + "; ".join(f"{c.names[0]} {c.described(0)}" for c in small.values())
                 + f"; raw pixels {next(iter(small.values())).described(1)}): these runs cannot say which rule helps.",
                 all(c.verdict != "higher" for c in small.values()))
    _versus(scaling, "batch 256, square root", DEFAULT).states(
        "higher", "Batch 256 with the square-root rule learns more than batch 128, in the same steps and twice the "
                  "images")
    _versus(scaling, "batch 256, linear", DEFAULT).states(
        "no difference", "with the linear rule's larger rate it ends level with batch 128")


def rerun_finding(result: dict[str, Any], sweep: dict[str, Any], label: str) -> None:
    """The point ``label`` of ``sweep`` that :func:`cookbook.book.guide.again` trained here: does it end below
    raw pixels again, as its kept run did? A live run: on another machine it may come out otherwise, within the
    seeds' spread, and the claim then prints a note instead of stopping the notebook."""
    raw = references(sweep)["raw pixels"]["kNN"]
    knn = result["after"]["knn_acc"]
    claims.claim(f"Trained again here, {label} ends below raw pixels again (kNN {knn:.1%} against {raw:.1%}).",
                 knn < raw, live=True)


# ----------------------------------------------------------------------------- the optimizer

OPTIMIZER_RATES = {"adamw": (0.004, 0.016, 0.064), "lars": (0.1, 0.4, 1.6), "sgd": (0.03, 0.1, 0.3)}


def optimizer_figure(optimizers: dict[str, Any]):
    """kNN against the learning rate, one line per optimizer, with the references."""
    steps = optimizers["shared"]["steps"]
    return with_references(guide.series(optimizers, "lr", lambda row: row["settings"]["optimizer"], log_x=True,
                                        title=f"SimCLR, batch 128, {steps} steps: kNN by optimizer and learning rate"),
                           optimizers)


def optimizer_reading(optimizers: dict[str, Any]) -> None:
    """The optimizer sweep: its table with the references (RankMe too), and :func:`optimizer_figure`."""
    guide.introduce(optimizers)
    table(optimizers, columns=("kNN", "RankMe", "kNN gain"))
    chapter.display(optimizer_figure(optimizers))


def optimizer_findings(optimizers: dict[str, Any]) -> None:
    """Where each optimizer's best rate lies in its range, how the three compare at their best, and what
    LARS's smallest rate did to RankMe without doing anything for the class."""
    def rate(name, lr):
        return f"{name}, lr {lr:g}"

    best = {}
    for name, rates in OPTIMIZER_RATES.items():
        means = {lr: statistics.fmean(_knn(optimizers, rate(name, lr))) for lr in rates}
        best[name] = max(means, key=means.get)
    claims.claim("Each optimizer's highest mean kNN came at an end of the three rates it was given (AdamW at "
                 f"{best['adamw']:g}, LARS at {best['lars']:g}, SGD at {best['sgd']:g}).",
                 all(best[name] in (rates[0], rates[-1]) for name, rates in OPTIMIZER_RATES.items()))
    _versus(optimizers, rate("adamw", 0.004), rate("adamw", 0.016)).states(
        "no difference", "AdamW's two smaller rates end level")
    _versus(optimizers, rate("adamw", 0.064), rate("adamw", 0.004)).states("lower", "and its largest learns less")
    _versus(optimizers, rate("lars", 1.6), rate("lars", 0.4)).states(
        "higher", "LARS is still rising at the top of its range: 1.6 learns more than 0.4")
    sgd = [rate("sgd", lr) for lr in OPTIMIZER_RATES["sgd"]]
    pairs = [_versus(optimizers, a, b) for i, a in enumerate(sgd) for b in sgd[i + 1:]]
    claims.claim("SGD's three rates end level with each other ("
                 + "; ".join(f"{label} {_described(_knn(optimizers, label))}" for label in sgd) + ").",
                 all(c.verdict == "no difference" for c in pairs))
    top = {name: rate(name, lr) for name, lr in best.items()}
    _versus(optimizers, top["adamw"], top["sgd"]).states("higher", "AdamW's best rate learns more than SGD's")
    _versus(optimizers, top["adamw"], top["lars"]).states(
        "no difference", "but ends level with LARS's best, which may lie above the rates tried")
    _versus(optimizers, rate("sgd", 0.1), rate("lars", 0.1)).states(
        "higher", "The same number, 0.1, is a different step for SGD than for LARS: SGD at 0.1 learns more")
    lars = rate("lars", 0.1)
    claims.compare(_knn(optimizers, lars, "RankMe"), sweeps.seed_values(optimizers, lars, "RankMe", untrained=True),
                   names=(lars, "its untrained network"), measure="RankMe", percent=False).states(
        "higher", "At its smallest rate LARS raises the features' RankMe above the untrained network's")
    _pixels(optimizers, lars).states("lower", "while its kNN stays below raw pixels")
    claims.compare(_knn(optimizers, lars), sweeps.seed_values(optimizers, lars, untrained=True),
                   names=(lars, "its untrained network")).states(
        "no difference", "and level with the untrained network's")


# ----------------------------------------------------------------------------- weight decay and warmup

def decay_findings(decay: dict[str, Any]) -> None:
    """The weight-decay sweep against the quick settings' 1e-4: a change table, then one claim for all."""
    guide.introduce(decay)
    table(decay, columns=("kNN", "RankMe", "normalised std"))
    base = "weight decay 0.0001"
    changes = guide.change_table(decay, base)
    claims.claim("No weight decay from 0 to 0.5 moves kNN beyond the seeds' spread of the default 1e-4 ("
                 + "; ".join(f"{label} {c['kNN'].described(0)}" for label, c in changes.items())
                 + f"; 1e-4 {next(iter(changes.values()))['kNN'].described(1)}).",
                 all(c["kNN"].verdict == "no difference" for c in changes.values()))


def _grid_heatmap(sweep: dict[str, Any], x: str) -> None:
    """Introduce an ``x`` by lr grid and draw its kNN heatmap, the seeds and the references in the title."""
    guide.introduce(sweep)
    refs = ", ".join(f"{name} {level:.1%}" for name, level in levels(sweep).items())
    seeds = len({p["seed"] for p in sweep["points"]})
    chapter.display(guide.heatmap(sweep, x, "lr", "kNN", title=(
        f"SimCLR, {sweep['shared']['steps']} steps: kNN, mean of {seeds} seeds\n({refs})")))


def warmup_reading(warmup: dict[str, Any]) -> None:
    """The warmup x lr grid: a heatmap of kNN with the references in its title, and its table."""
    _grid_heatmap(warmup, "warmup_steps")
    table(warmup, columns=("kNN", "RankMe"))


def warmup_findings(warmup: dict[str, Any], scaling: dict[str, Any]) -> None:
    """What warmup did at both rates, against raw pixels and the quick settings' 25 steps (``scaling``'s
    default point, the same settings)."""
    def point(lr, steps):
        return f"lr {lr:g}, warmup_steps {steps}"

    for lr in (0.016, 0.064):
        _versus(warmup, point(lr, 0), point(lr, 50)).states(
            "lower", f"At lr {lr:g}, no warmup learns less than 50 steps of it")
        _pixels(warmup, point(lr, 0)).states("lower", "and ends below raw pixels")
    _versus(warmup, point(0.064, 0), point(0.064, 50), measure="RankMe").states(
        "lower", "At lr 0.064 no warmup also leaves fewer effective dimensions")
    _versus(warmup, point(0.016, 50), DEFAULT, names=("50 warmup steps", "25 (the quick settings)"),
            other=scaling).states("no difference", "At lr 0.016, 50 warmup steps end level with the usual 25")
    for lr in (0.016, 0.064):
        _versus(warmup, point(lr, 150), point(lr, 50)).states(
            "no difference", f"At lr {lr:g}, 150 warmup steps, half the run, end level with 50")


# ----------------------------------------------------------------------------- temperature with the rate

def temperature_reading(hyper: dict[str, Any]) -> None:
    """The temperature x lr grid: a heatmap of kNN with the references in its title."""
    _grid_heatmap(hyper, "temperature")


def temperature_findings(hyper: dict[str, Any]) -> None:
    """How the temperature's effect depends on the rate, checked on the grid's seeds."""
    def point(lr, t):
        return f"lr {lr:g}, temperature {t:g}"

    _versus(hyper, point(0.004, 0.5), point(0.004, 0.1)).states(
        "no difference", "At lr 0.004, temperatures 0.5 and 0.1 end level")
    _versus(hyper, point(0.016, 0.5), point(0.016, 0.2)).states(
        "lower", "At lr 0.016, SimCLR's quick rate, temperature 0.5 learns less than the quick settings' 0.2")
    _versus(hyper, point(0.016, 0.1), point(0.016, 0.2)).states("no difference", "and 0.1 ends level with it")
    for t, verdict in ((0.1, "no difference"), (0.2, "lower"), (0.5, "lower")):
        _versus(hyper, point(0.064, t), point(0.004, t)).states(
            verdict, f"At temperature {t:g}, lr 0.064 against lr 0.004: "
                     + ("no measurable loss" if verdict == "no difference" else "it learns less"))
    _pixels(hyper, point(0.064, 0.5)).states("lower", "At lr 0.064 and temperature 0.5 the run ends below raw pixels")


# ----------------------------------------------------------------------------- one axis: the mean learning rate

POOLED = ("lr-scaling-simclr", "optimizer-simclr", "warmup-simclr", "hyper-simclr")  # the sweeps lr_pool reads

# Settings that decide when the run is measured or where it is written, not what it trains.
NOT_TRAINING = ("log_every", "eval_every", "eval_bank", "out", "checkpoint_every", "resume", "progress", "device",
                "backend", "knn_k", "knn_temperature", "seed")


def run_config(sweep: dict[str, Any], settings: dict[str, Any]):
    """The recipe config a sweep point trained with: the quick budget, the sweep's shared settings, its own."""
    recipe = registry.get(sweep["recipe"])
    return recipe.Config.for_budget("quick", **sweeps.config_overrides(recipe, {**sweep["shared"], **settings}))


def mean_lr(config) -> float:
    """The learning rate averaged over the run's steps, under the schedule every run uses
    (:func:`cookbook.optim.learning_rate`: a linear warmup, then a cosine decay to 0). It is the run's
    typical step size in one number; for this schedule it is about half the peak rate whatever the warmup,
    since a linear ramp and a cosine half-period both average half their height."""
    return statistics.fmean(optim.learning_rate(step, config) for step in range(config.steps))


ONLY_RATE = "only the rate changed (quick settings otherwise)"


def _group(config, base) -> str | None:
    """Which knob a pooled run turned besides the rate (None: LARS and SGD, whose rates are on other scales)."""
    if config.optimizer != "adamw":
        return None
    if config.batch_size != base.batch_size:
        return "batch 256" if config.batch_size > base.batch_size else "batch 16, 32 or 64"
    if config.warmup_steps != base.warmup_steps:
        return "no warmup" if config.warmup_steps == 0 else f"{config.warmup_steps} warmup steps"
    if config.temperature != base.temperature:
        return f"temperature {config.temperature:g}"
    return ONLY_RATE


def _name(config, base) -> str:
    """A pooled run by its settings: "batch 32, lr 0.004", with its warmup or temperature where not the base's."""
    name = f"batch {config.batch_size}, lr {config.lr:.3g}"
    if config.warmup_steps != base.warmup_steps:
        name += f", {config.warmup_steps} warmup steps"
    if config.temperature != base.temperature:
        name += f", temperature {config.temperature:g}"
    return name


def lr_pool(pooled: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """Every AdamW setting of the sweeps ``pooled`` ({name: sweep}), once each: ``{"sweep", "label" (its settings,
    by :func:`_name`), "group", "mean lr", "lr", "batch", "kNN", "copies"}`` (kNN: one value per seed). A setting
    two sweeps share (the quick settings are in all of them) is kept from the first sweep that has it; "copies"
    holds the other sweeps' kNN of it, seed by seed: a copy trained again rather than kept from the other sweep
    may differ in the last bits of its float arithmetic (another number of threads), and so in its kNN. LARS's
    and SGD's rows are left out: their rates are not steps on AdamW's scale (LARS's multiplies a trust ratio of
    each layer's norms, SGD's the raw gradient)."""
    rows, seen = [], {}
    for name, sweep in pooled.items():
        base = run_config(sweep, {})
        for row in sweeps.summary(sweep):
            config = run_config(sweep, row["settings"])
            group = _group(config, base)
            if group is None:
                continue
            key = json.dumps({k: v for k, v in dataclasses.asdict(config).items() if k not in NOT_TRAINING},
                             sort_keys=True, default=str)
            values = sweeps.seed_values(sweep, row["label"])
            if key in seen:
                seen[key]["copies"].append(values)
                continue
            seen[key] = {"sweep": name, "label": _name(config, base), "group": group, "lr": config.lr,
                         "batch": config.batch_size, "mean lr": mean_lr(config), "kNN": values,
                         "copies": []}
            rows.append(seen[key])
    return rows


GROUP_STYLES = {"only the rate changed": ("C0", "o"), "batch 16, 32 or 64": ("C4", "v"), "batch 256": ("C5", "^"),
                "no warmup": ("C3", "X"), "50 warmup steps": ("C1", "s"), "150 warmup steps": ("C2", "D"),
                "temperature 0.1": ("C6", "<"), "temperature 0.5": ("C8", ">")}


def lr_figure(pool: list[dict[str, Any]], references: dict[str, float], title: str | None = None):
    """Each pooled setting's kNN (the mean over its seeds, a bar over their range) against its mean learning
    rate on a log axis, coloured by the knob it turned besides the rate; the runs where only the rate changed
    joined by a line; chance, raw pixels and the untrained network across. Settings at one mean rate are drawn
    a little apart, so that their seed ranges stay visible."""
    fig = plots.new_figure(plots.column_width(7.5), 4.8)
    ax = fig.subplots()
    groups = sorted(dict.fromkeys(row["group"] for row in pool), key=lambda g: g != ONLY_RATE)
    for i, group in enumerate(groups):
        colour, marker = next((v for k, v in GROUP_STYLES.items() if group.startswith(k)), (f"C{i}", "o"))
        rows = sorted((r for r in pool if r["group"] == group), key=lambda r: r["mean lr"])
        shift = 1.035 ** ((i + 1) // 2 * (-1) ** i)  # the runs where only the rate changed stay where they are
        xs = [r["mean lr"] * shift for r in rows]
        means = [100 * statistics.fmean(r["kNN"]) for r in rows]
        ax.plot(xs, means, marker, ls="-" if group == ONLY_RATE else "none", color=colour, ms=6, label=group)
        ax.vlines(xs, [100 * min(r["kNN"]) for r in rows], [100 * max(r["kNN"]) for r in rows], color=colour,
                  lw=1.5, alpha=0.6)
        if group.startswith("batch"):  # which batch each point is
            for x, y, r in zip(xs, means, rows):
                ax.annotate(str(r["batch"]), (x, y), xytext=(5, -3), textcoords="offset points", fontsize=8,
                            color=colour)
    for name, level in references.items():
        ax.axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
    ax.plot([], [], color="0.5", lw=1.5, label="bar: range of the seeds")
    plots.readable_log_axis(ax)
    ax.set_xlabel("mean learning rate over the run's steps (AdamW)")
    ax.set_ylabel("kNN accuracy (%)")
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=10)
    plots.legend_below(fig, [ax], ncols=3)
    return fig


def lr_reading(pooled: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """The pool, its figure (with the references of the first sweep: every sweep here is measured on the same
    test images), and a sentence on what it holds; returns the pool for :func:`lr_findings`."""
    pool = lr_pool(pooled)
    first = next(iter(pooled.values()))
    total = sum(len(sweeps.summary(s)) for s in pooled.values())
    seeds = sorted({p.get("seed") or 0 for s in pooled.values() for p in s["points"]})
    gaps = [abs(a - b) for row in pool for copy in row["copies"] for a, b in zip(row["kNN"], copy)]
    same = sum(g < 5e-4 for g in gaps)
    print(f"{len(pool)} AdamW settings from {len(pooled)} sweeps ({total} settings, less LARS's and SGD's and the "
          f"settings two sweeps share), seeds {', '.join(map(str, seeds))} of each. Of the {len(gaps)} runs a second "
          f"sweep holds of a shared setting, {same} measured the same kNN as the run drawn; the other "
          f"{len(gaps) - same} were trained separately and differ from it by {100 * max(gaps, default=0):.1f} "
          f"points or less.")
    chapter.display(lr_figure(pool, levels(first), title=(
        f"SimCLR, {first['shared']['steps']} steps: kNN against the mean learning rate")))
    return pool


def lr_findings(pool: list[dict[str, Any]], references: dict[str, float]) -> None:
    """What the mean rate explains and what it does not, checked on the seeds: settings at one mean rate that
    end apart, the one curve where only the rate changed, what no batch-128 setting beat, and which pooled
    settings do not rise above raw pixels."""
    def find(group, lr, batch=128):
        rows = [r for r in pool if r["group"].startswith(group) and r["lr"] == lr and r["batch"] == batch]
        if len(rows) != 1:
            raise KeyError(f"{group}, lr {lr}, batch {batch}: {len(rows)} pooled settings")
        return rows[0]

    def versus(first, second):
        return claims.compare(first["kNN"], second["kNN"], names=(first["label"], second["label"]))

    quick = find("only the rate", 0.016)
    warm = [find("no warmup", 0.016), quick] + [find(f"{steps} warmup steps", 0.016) for steps in (50, 150)]
    spread = max(r["mean lr"] for r in warm) / min(r["mean lr"] for r in warm) - 1
    claims.claim(f"At the peak rate 0.016, the warmup lengths 0, 25, 50 and 150 give mean rates within "
                 f"{100 * spread:.1f}% of each other.", spread < 0.01)
    versus(quick, warm[0]).states("higher", "At that one mean rate, 25 warmup steps learn more than none")
    same = (find("batch 16, 32 or 64", 0.004, batch=32), find("only the rate", 0.004))
    claims.claim(f"{same[0]['label']} and {same[1]['label']} share a mean rate "
                 f"({same[0]['mean lr']:.4f} and {same[1]['mean lr']:.4f}).",
                 abs(same[0]["mean lr"] / same[1]["mean lr"] - 1) < 0.01)
    versus(same[1], same[0]).states("higher", "At that mean rate, batch 128 learns more than batch 32")
    versus(find("temperature 0.5", 0.016), quick).states(
        "lower", "At the quick rate, temperature 0.5 learns less than the quick settings' 0.2")
    curve = sorted((r for r in pool if r["group"] == ONLY_RATE), key=lambda r: r["lr"])
    versus(curve[0], curve[-1]).states(
        "higher", "Where only the rate changed, the smallest mean rate learns more than the largest")
    others = [versus(r, quick) for r in pool if r["batch"] == quick["batch"] and r is not quick]
    claims.claim(f"None of the {len(others)} other settings at batch 128 learns more than the quick settings "
                 f"({quick['label']}, {_described(quick['kNN'])}); the highest mean among them, "
                 + max(others, key=lambda c: c.mean(0)).names[0] + ", "
                 + max(others, key=lambda c: c.mean(0)).described(0) + ".",
                 all(c.verdict != "higher" for c in others))
    raw = references["raw pixels"]
    below = [r for r in pool if claims.compare(r["kNN"], raw, names=(r["label"], "raw pixels")).verdict != "higher"]
    claims.claim(f"{len(below)} of the {len(pool)} pooled settings do not rise above raw pixels ("
                 + "; ".join(f"{r['label']}, mean rate {r['mean lr']:.4f}" for r in below) + ").", bool(below))
