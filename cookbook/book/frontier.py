"""Chapter 15's readings of its sweeps: LeJEPA's trade-off, its loss as a guide, DIET's cost as the data grow.

The chapter reads five committed sweeps, every setting trained with seeds 0, 1 and 2 (``tests/test_sweep.py``):

- ``lejepa-lambda``: LeJEPA's one trade-off λ, from 0 (the invariance alone) to 1 (SIGReg alone), 300 steps.
  :func:`lambda_table` and :func:`lambda_figure` show it beside chance, raw pixels and the untrained network,
  λ on a symlog axis (0, then decades from 0.005), and :func:`lambda_findings` states what the seeds support.
  Two things are measured, and the chapter keeps them apart: the **backbone's** features (what the kNN probe,
  RankMe and the normalised std read, 128 numbers per image) and the **embedding** the loss sees (16 numbers
  after the projector), of which the sweep keeps the two loss terms the recipe logs at every step, SIGReg's
  statistic included where λ = 0 does not train it.
- ``hyper-lejepa``, ``hyper-simclr``, ``hyper-vicreg``: each method over its learning rate and its loss's main
  coefficient. :func:`loss_tracking` asks, seed by seed, whether a run's final training loss ranks the runs as
  their kNN does (the LeJEPA paper's claim), and :func:`loss_findings` states the answer.
- ``diet-size`` and ``diet-size-simclr``: DIET, then SimCLR, on training sets of 500 to 8000 images at a fixed
  number of steps, and DIET on 8000 images at four times the steps. :func:`diet_table`, :func:`diet_figure`
  and :func:`diet_findings`. The kNN probe's memory bank is the training set (its first 4000 images when it
  has more), so raw pixels and the untrained network are measured per size, with the same bank.

Why the untrained network scores an Epps-Pulley statistic in the hundreds: :func:`origin_statistic` is the
statistic of a batch whose embeddings all sit at the origin, about 0.4 N, and :func:`untrained_reading` sets
the untrained network's beside it.
"""
from __future__ import annotations

import statistics
from typing import Any

import torch

from cookbook import evaluate, registry
from cookbook.book import claims, collapse, guide, lab_runs, plots, selection, sweeps
from cookbook.book.chapter import markdown
from cookbook.book.lab import Lab
from cookbook.book.plots import legend_below, new_figure, setting_axis

LAMBDAS = (0.0, 0.005, 0.02, 0.05, 0.2, 0.5, 1.0)  # lejepa-lambda's settings, "lambda <value>"
PAPER_LAMBDA = 0.05  # Balestriero and LeCun's recommendation
# A final training loss "tracks" kNN when Spearman's rank correlation between them, over a method's runs, is at
# most this: the lower the loss, the better the run, in a clear majority of the pairs of runs. The paper reports
# correlations beyond PAPER_SPEARMAN in magnitude.
TRACKS = -0.5
PAPER_SPEARMAN = 0.94
DIET_SIZES = (500, 1000, 2000, 4000, 8000)
LONG_DIET = "8000 images, 2400 steps"


def label(lam: float) -> str:
    """The lejepa-lambda setting of ``lam``: ``"lambda 0.05"``."""
    return f"lambda {lam}"


# ----------------------------------------------------------------------------- the embedding: SIGReg's statistic

def origin_statistic(n: int, dim: int = 16, slices: int = 256) -> float:
    """The Epps-Pulley statistic (LeJEPA's ``sigreg``) of ``n`` embeddings that all sit at the origin: about
    0.4 ``n``, since each slice's characteristic function is then 1 at every t instead of the Gaussian's
    exp(-t^2/2). A batch far narrower than the unit Gaussian scores about this too: it is the statistic's
    value for a collapse to one point, and grows with ``n`` (a Gaussian sample scores about 1 at any ``n``)."""
    directions = torch.randn(dim, slices, generator=torch.Generator().manual_seed(0))
    return float(registry.get("lejepa").sigreg(torch.zeros(n, dim), directions / directions.norm(dim=0)))


LAB = {"steps": 600, "chunk": 100}  # the chapter's LeJEPA lab: the recipe's quick run


def trained_run(lambdas: dict[str, Any], setting: str = "lambda 0.05, seed 0") -> dict[str, Any]:
    """A trained LeJEPA model and its images, for :func:`embeddings`, without a minute of training where the book
    ships one: the committed run of the chapter's lab (:data:`LAB`, the recipe's quick run at λ = 0.05, weights
    kept with the package, :mod:`cookbook.book.lab_runs`) when it is current; otherwise the sweep's ``setting``
    trained again here (:func:`cookbook.book.guide.again`). Prints which."""
    lab = Lab("lejepa", autorun=False, **LAB)
    record = lab_runs.find(lab.recipe, lab.config(), lab.layer)
    if record is None:
        print("no current committed run of the lab: the sweep's run is trained again here")
        return guide.again(lambdas, setting, keep_model=True)
    model = lab.recipe.build_model(lab.config(), lab.data).to(lab.data.device)
    lab_runs.load_weights(record, model)
    print(f"the lab's quick run, {record['steps']} steps at λ = {lab.config().lambd:g}, its weights as the book ships "
          f"them ({record['command']}: kNN {record['knn_acc']:.1%}, raw pixels {record['raw_pixel_knn_acc']:.1%})")
    return {"model": model, "data": lab.data}


def embeddings(run: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The three sets of 16-dimensional embeddings of the test images the chapter draws against SIGReg's
    target (:func:`cookbook.book.guide.projections`): samples of N(0, I), the untrained network (the trained
    run's recipe and config, freshly initialised) and the trained run of ``run``
    (:func:`cookbook.book.guide.again` with ``keep_model=True``)."""
    model, data = run["model"], run["data"]
    untrained = registry.get("lejepa").build_model(model.config, data).to(data.device)
    n, steps = len(data.test_x), model.config.steps
    return {"samples of N(0, I)": torch.randn(n, model.config.proj_dim, generator=torch.Generator().manual_seed(0)),
            "untrained network": evaluate.embed(untrained, data.test_x, call=untrained.embed),
            f"LeJEPA, λ = {model.config.lambd:g}, {steps} steps": evaluate.embed(model, data.test_x, call=model.embed)}


def untrained_reading(found: dict[str, torch.Tensor], slices: int = 3, seed: int = 0) -> None:
    """Why the untrained network's statistic is in the hundreds: print each set's spread (the standard deviation
    of its projections on the slices of :func:`cookbook.book.guide.projections`, 1 for the Gaussian target) and
    mean statistic over those slices, beside :func:`origin_statistic` for as many embeddings, then check what the
    chapter reads from them (runs trained here: ``live`` claims). ``found``: :func:`embeddings`."""
    sigreg = registry.get("lejepa").sigreg
    rows = {}
    for name, z in found.items():
        z = z.detach().float().cpu()
        directions = torch.randn(z.shape[1], slices, generator=torch.Generator().manual_seed(seed))
        directions = directions / directions.norm(dim=0)
        rows[name] = {"spread": float((z @ directions).std(0).mean()), "statistic": float(sigreg(z, directions)),
                      "origin": origin_statistic(len(z), z.shape[1]), "n": len(z)}
        print(f"{name}: standard deviation of a projection {rows[name]['spread']:.2g} (the target's: 1), statistic "
              f"{rows[name]['statistic']:.1f} ({len(z)} embeddings at the origin: {rows[name]['origin']:.1f})")
    gaussian, untrained, trained = rows.values()
    claims.claim(f"The untrained network puts every test image at nearly one point: a projection's standard deviation "
                 f"is {untrained['spread']:.2g}, under a hundredth of the target's, and its statistic is within 1% of "
                 f"that of {untrained['n']} embeddings all at the origin.",
                 untrained["spread"] < 0.01 and abs(untrained["statistic"] / untrained["origin"] - 1) < 0.01, live=True)
    claims.claim(f"Trained, the embeddings spread out towards the target (a projection's standard deviation "
                 f"{trained['spread']:.2g}), and the statistic falls from {untrained['statistic']:.1f} to "
                 f"{trained['statistic']:.1f}, still above the Gaussian sample's {gaussian['statistic']:.1f}.",
                 untrained["statistic"] > trained["statistic"] > gaussian["statistic"]
                 and trained["spread"] > 10 * untrained["spread"], live=True)


def last_term(point: dict[str, Any], term: str) -> float:
    """A run's final value of a logged loss term (``"sigreg"``, ``"invariance"``): the mean of its last
    :data:`cookbook.book.sweeps.LAST_RECORDS` records, as the final loss is."""
    values = [r[term] for r in point["history"] if term in r]
    if not values:
        raise KeyError(f"the run {point['label']!r} logged no {term!r}")
    return statistics.fmean(values[-sweeps.LAST_RECORDS:])


def term_values(sweep: dict[str, Any], setting: str, term: str) -> list[float]:
    """:func:`last_term` of every seed of ``setting``, in seed order."""
    return [last_term(p, term) for p in sweep["points"] if sweeps._setting_label(p) == setting]


# ----------------------------------------------------------------------------- λ: table, figure, findings

def _span(values: list[float], spec: str) -> str:
    mean, low, high = statistics.fmean(values), min(values), max(values)
    return f"{mean:{spec}}" if low == high else f"{mean:{spec}} ({low:{spec}}-{high:{spec}})"


def lambda_table(lambdas: dict[str, Any]) -> None:
    """The λ sweep in two tables. The backbone: class kNN, its gain over the untrained network, RankMe and
    the normalised std, each the mean over seeds (their range), with chance, raw pixels and the untrained
    network (its RankMe and normalised std too) under it. The embedding: the two loss terms at the end of
    each run (SIGReg's statistic is logged at λ = 0 too, where it is not trained), beside the statistic of a
    Gaussian sample (about 1) and of a batch at the origin."""
    first = label(LAMBDAS[0])
    untrained = {m: seed_range(sweeps.seed_values(lambdas, first, m, untrained=True))
                 for m in ("kNN", "RankMe", "normalised std")}
    refs = sweeps.reference_rows(lambdas, first)[:2] + [{"label": "untrained network", **untrained}]
    seeds = len({p.get("seed") for p in lambdas["points"]})
    markdown(f"**The backbone's features** (128 numbers per image), LeJEPA after {_steps(lambdas)} steps, "
             f"mean of {seeds} seeds (their range):")
    guide.table(lambdas, rows=guide.summary(lambdas) + refs,
                columns=("kNN", "kNN gain", "RankMe", "normalised std"))
    batch = {**lambdas["base_config"], **lambdas["shared"]}["batch_size"]
    lines = [f"**The embedding the loss sees** (16 numbers per image): the two terms at the end of each run, "
             f"over a batch of {batch} images per view",
             "", "| setting | SIGReg statistic | invariance |", "|---|---:|---:|"]
    lines += [f"| {label(lam)} | {_span(term_values(lambdas, label(lam), 'sigreg'), '.2f')} | "
              f"{_span(term_values(lambdas, label(lam), 'invariance'), '.3f')} |" for lam in LAMBDAS]
    lines += ["| a Gaussian sample | about 1 | |",
              f"| {batch} embeddings at the origin | {origin_statistic(batch):.2f} | 0 |"]
    markdown("\n".join(lines))


def seed_range(values: list[float]) -> tuple[float, float, float]:
    """``(mean, low, high)`` of a measure's seeds: a :func:`cookbook.book.sweeps.summary` cell."""
    return statistics.fmean(values), min(values), max(values)


def _steps(sweep: dict[str, Any]) -> int:
    return {**sweep["base_config"], **sweep["shared"]}["steps"]


def lambda_figure(lambdas: dict[str, Any]):
    """Three panels against λ on a symlog axis (0, then decades from 0.005), every seed a dot and the mean a
    line, λ = 0 apart from the line (no SIGReg at all is another kind of run, not the end of a trend): the
    backbone's class kNN beside chance, raw pixels and the untrained network; the backbone's RankMe beside the
    untrained network's; the embedding's final SIGReg statistic (log scale) beside a Gaussian sample's and a
    batch at the origin's."""
    batch = {**lambdas["base_config"], **lambdas["shared"]}["batch_size"]
    first = label(LAMBDAS[0])
    panels = [("kNN", "backbone: class kNN (%)",
               lambda lam: [100 * v for v in sweeps.seed_values(lambdas, label(lam))]),
              ("RankMe", "backbone: RankMe", lambda lam: sweeps.seed_values(lambdas, label(lam), "RankMe")),
              ("sigreg", "embedding: SIGReg\nstatistic (log)", lambda lam: term_values(lambdas, label(lam), "sigreg"))]
    references = {
        "kNN": {**{name: 100 * values["kNN"] for name, values in sweeps.references(lambdas).items()},
                "untrained network": 100 * statistics.fmean(sweeps.seed_values(lambdas, first, untrained=True))},
        "RankMe": {"untrained network": statistics.fmean(sweeps.seed_values(lambdas, first, "RankMe",
                                                                            untrained=True))},
        "sigreg": {"a Gaussian sample": 1.05, f"{batch} embeddings at the origin": origin_statistic(batch)}}
    styles = {**guide.REFERENCE_STYLES, "a Gaussian sample": "-", f"{batch} embeddings at the origin": "--"}
    colors = {f"{batch} embeddings at the origin": "C3"}
    fig = new_figure(plots.COLUMN_WIDTH, 7.4)
    axes = fig.subplots(len(panels), 1, sharex=True)
    for ax, (key, name, values) in zip(axes, panels):
        at = setting_axis(ax, LAMBDAS, "λ (symlog axis: 0, then a log scale from 0.005)")
        seeds = {lam: values(lam) for lam in LAMBDAS}
        positive = [lam for lam in LAMBDAS if lam > 0]
        ax.plot([at[lam] for lam in positive], [statistics.fmean(seeds[lam]) for lam in positive], "o-", color="C0",
                label="mean of the seeds")
        ax.plot([at[0.0]], [statistics.fmean(seeds[0.0])], "D", color="C3", ms=7,
                label="λ = 0: the invariance alone (mean)")
        for lam in LAMBDAS:
            ax.plot([at[lam]] * len(seeds[lam]), seeds[lam], ".", color="0.2", alpha=0.6,
                    label="each seed" if lam == LAMBDAS[0] else None)
        for ref, level in references[key].items():
            ax.axhline(level, color=colors.get(ref, "0.45"), ls=styles.get(ref, "-"), lw=1, label=ref)
        if key == "sigreg":
            plots.readable_log_axis(ax, "y")
        ax.set_ylabel(name, fontsize=9)
        ax.grid(alpha=0.3)
    for ax in axes[:-1]:
        ax.set_xlabel("")
    axes[0].set_title(f"LeJEPA's trade-off λ, {_steps(lambdas)} steps, seeds "
                      f"{', '.join(str(s) for s in sorted({p.get('seed') for p in lambdas['points']}))}", fontsize=10)
    legend_below(fig, list(axes), ncols=3)
    plots.untangle_tick_labels(fig)
    return fig


def lambda_comparisons(lambdas: dict[str, Any]) -> dict[Any, claims.Comparison]:
    """The λ sweep's comparisons, by :func:`cookbook.book.claims.compare` on the seeds: each λ's class kNN
    against the untrained network (``(lam, "untrained")``), raw pixels (``(lam, "raw pixels")``) and the best
    λ, the one of highest mean kNN (``(lam, "best")``); ``"best"`` itself is the best λ."""
    knn = {lam: sweeps.seed_values(lambdas, label(lam)) for lam in LAMBDAS}
    before = sweeps.seed_values(lambdas, label(LAMBDAS[0]), untrained=True)
    raw = sweeps.references(lambdas)["raw pixels"]["kNN"]
    best = max(LAMBDAS, key=lambda lam: statistics.fmean(knn[lam]))
    found: dict[Any, Any] = {"best": best}
    for lam in LAMBDAS:
        name = f"λ = {lam:g}"
        found[lam, "untrained"] = claims.compare(knn[lam], before, names=(name, "the untrained network"))
        found[lam, "raw pixels"] = claims.compare(knn[lam], raw, names=(name, "raw pixels"))
        if lam != best:
            found[lam, "best"] = claims.compare(knn[lam], knn[best], names=(name, f"λ = {best:g}"))
    return found


def lambda_findings(lambdas: dict[str, Any]) -> dict[Any, claims.Comparison]:
    """What the λ sweep supports, checked on its seeds: where the class kNN peaks, how far the plateau (the values
    level with the best) reaches, what its neighbours and the two ends do to the backbone, and what the two loss
    terms of the embedding say about why each side of the plateau falls off."""
    found = lambda_comparisons(lambdas)
    best = found["best"]
    where = ("the paper's recommendation" if best == PAPER_LAMBDA
             else f"the value tried next to the paper's recommendation of {PAPER_LAMBDA:g}")
    claims.claim(f"The highest mean kNN is at λ = {best:g}, {where}.",
                 abs(LAMBDAS.index(best) - LAMBDAS.index(PAPER_LAMBDA)) <= 1)
    found[best, "raw pixels"].states("higher", "There the backbone recognises the shape better than raw pixels")
    plateau = [lam for lam in LAMBDAS if lam == best or found[lam, "best"].verdict == "no difference"]
    for lam in plateau:
        if lam != best:
            found[lam, "best"].states("no difference", f"λ = {lam:g} is level with it")
            found[lam, "raw pixels"].states("higher", "and above raw pixels too")
    low, high = min(plateau), max(plateau)
    below, above = LAMBDAS[LAMBDAS.index(low) - 1], LAMBDAS[LAMBDAS.index(high) + 1]
    claims.claim(f"So the plateau, the values level with the best, runs from λ = {low:g} to {high:g} here: a factor of "
                 f"{high / low:g}, less than one decade.", high / low < 10 and 0 < below and above < 1)
    found[below, "best"].states("lower", f"One step below it, λ = {below:g} learns less of the class")
    found[below, "raw pixels"].states("lower", "and less than raw pixels")
    found[above, "best"].states("lower", f"One step above it, λ = {above:g} learns less of the class too")
    found[above, "raw pixels"].states("no difference", "and no more than raw pixels")
    for term, lam, sentence in (
            ("sigreg", below, f"Below the plateau SIGReg is too weak to bring the embedding near the Gaussian in "
                              f"{_steps(lambdas)} steps: at λ = {below:g} its statistic ends higher than at {best:g}"),
            ("invariance", above, f"Above it the views of an image agree less: at λ = {above:g} the invariance term "
                                  f"ends higher than at {best:g}")):
        claims.compare(term_values(lambdas, label(lam), term), term_values(lambdas, label(best), term),
                       names=(f"λ = {lam:g}", f"λ = {best:g}"), measure=f"final {term}", percent=False).states(
            "higher", sentence)
    for lam in (1.0, 0.5):
        found[lam, "untrained"].states("no difference", f"At λ = {lam:g} the backbone learns nothing of the class "
                                                        f"beyond the untrained network")
    found[0.0, "untrained"].states("no difference", "At λ = 0, the invariance alone, it learns nothing of the "
                                                    "class either")
    return found


def lambda_zero(lambdas: dict[str, Any]) -> None:
    """What λ = 0 does to the embedding the loss sees and to the backbone under it, checked on the seeds:
    the embedding's SIGReg statistic against a batch at the origin's; the backbone's collapse verdict by the
    book's rule and its RankMe and normalised std against the untrained network's."""
    zero, batch = label(0.0), {**lambdas["base_config"], **lambdas["shared"]}["batch_size"]
    statistic, origin = term_values(lambdas, zero, "sigreg"), origin_statistic(batch)
    claims.claim(f"At λ = 0 the embedding the loss sees shrinks onto the origin: every seed's final SIGReg "
                 f"statistic ({', '.join(f'{v:.2f}' for v in statistic)}) is within 2% of that of {batch} "
                 f"embeddings all at the origin ({origin:.2f}), and the invariance it minimises reaches "
                 f"{max(term_values(lambdas, zero, 'invariance')):.1g} at most.",
                 all(abs(v / origin - 1) < 0.02 for v in statistic))
    rank, spread = (sweeps.seed_values(lambdas, zero, m) for m in ("RankMe", "normalised std"))
    fell = sum(collapse.collapsed(r, s) for r, s in zip(rank, spread))
    claims.claim(f"The backbone under it does not collapse by the book's rule in any seed (RankMe "
                 f"{min(rank):.1f}-{max(rank):.1f}, normalised std {min(spread):.2f}-{max(spread):.2f}).", fell == 0)
    for measure, verdict, sentence in (
            ("RankMe", "lower", "but its features use fewer effective dimensions than the untrained network's"),
            ("normalised std", "higher", "while they spread more around their mean, not less")):
        claims.compare(sweeps.seed_values(lambdas, zero, measure),
                       sweeps.seed_values(lambdas, zero, measure, untrained=True),
                       names=("λ = 0", "the untrained network"), measure=measure,
                       percent=False).states(verdict, sentence)


# ----------------------------------------------------------------------------- does the loss track kNN?

def _seed_spearman(sweep: dict[str, Any], seed: int, target: str = "kNN") -> float:
    """Spearman's correlation of the final loss and ``target`` over one seed's runs of every setting."""
    measured = [sweeps.measures(p) for p in sweep["points"] if p.get("seed") == seed]
    return selection.spearman([m["loss"] for m in measured], [m[target] for m in measured])


def loss_tracking(runs: dict[str, dict[str, Any]], coefficient: dict[str, str]) -> dict[str, dict[str, Any]]:
    """For each method's sweep: Spearman's correlation of the final training loss with kNN over the runs of
    each seed (``"by seed"``: one value per seed), and, seeds pooled, the mean correlation at a fixed value of
    the loss's coefficient (``"within"``: there the losses are on one scale;
    :func:`cookbook.book.selection.loss_tracking_rows`). Shown as a Markdown table."""
    pooled = {row["method"]: row for row in selection.loss_tracking_rows(runs, coefficient)}
    found = {}
    for method, sweep in runs.items():
        seeds = sorted({p.get("seed") for p in sweep["points"]})
        found[method] = {"by seed": [_seed_spearman(sweep, s) for s in seeds], "seeds": seeds,
                         "runs": len(sweep["points"]), **{k: pooled[method][k] for k in ("within", "groups")},
                         "coefficient": coefficient[method]}
    lines = ["| method | runs | Spearman(final loss, kNN) over one seed's runs: mean (range of seeds) | "
             "the same at a fixed coefficient, seeds pooled (mean over its values) | the coefficient |",
             "|---|---:|---:|---:|---|"]
    for method, row in found.items():
        by_seed = row["by seed"]
        lines.append(f"| {method} | {row['runs']} | {statistics.fmean(by_seed):+.2f} ({min(by_seed):+.2f} to "
                     f"{max(by_seed):+.2f}) | {row['within']:+.2f} | {row['coefficient']} ({row['groups']} values) |")
    markdown("\n".join(lines) + "\n\n-1: the lower a run's final loss, the higher its kNN, always; 0: no relation.")
    return found


def loss_figure(runs: dict[str, dict[str, Any]], coefficient: dict[str, str]):
    """:func:`cookbook.book.selection.loss_figure` (kNN against the final loss, one panel per method, a point per
    run) with each panel's references: chance and raw pixels on its test images, and the method's untrained
    network over the seeds, added to the panel's legend."""
    fig = selection.loss_figure(runs, coefficient)
    for panel, sweep in zip(fig.subfigs.flat if hasattr(fig.subfigs, "flat") else fig.subfigs, runs.values()):
        ax, first = panel.axes[0], sweeps.summary(sweep)[0]["label"]
        levels = {**{name: values["kNN"] for name, values in sweeps.references(sweep, first).items()},
                  "untrained network": statistics.fmean(sweeps.seed_values(sweep, first, untrained=True))}
        for name, level in levels.items():
            ax.axhline(100 * level, color="0.45", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
        title = panel.legends[0].get_title().get_text()
        panel.legends[0].remove()
        panel.legend(*ax.get_legend_handles_labels(), loc="outside lower center", ncols=2, fontsize=8, frameon=False,
                     title=title, title_fontsize=8, columnspacing=1.0, handletextpad=0.2)
    return fig


def loss_findings(tracking: dict[str, dict[str, Any]]) -> None:
    """The paper's two claims, LeJEPA's loss tracks accuracy and other methods' do not, checked seed by
    seed: a loss tracks when its correlation is at most :data:`TRACKS` in every seed."""
    lejepa = tracking["LeJEPA"]["by seed"]
    claims.claim(f"LeJEPA's final loss tracks kNN across its runs in every seed (Spearman "
                 f"{', '.join(f'{v:+.2f}' for v in lejepa)}, all at most {TRACKS:+.1f}).", max(lejepa) <= TRACKS)
    every = [v for row in tracking.values() for v in row["by seed"]] + [row["within"] for row in tracking.values()]
    claims.claim(f"No correlation here reaches the paper's {PAPER_SPEARMAN} in magnitude (the strongest: "
                 f"{min(every):+.2f}).", min(every) > -PAPER_SPEARMAN)
    for method, verdict, sentence in (
            ("SimCLR", "no difference", "SimCLR's loss tracks its kNN no worse than LeJEPA's does"),
            ("VICReg", "higher", "VICReg's, across its covariance weight, tracks it less well")):
        claims.compare(tracking[method]["by seed"], lejepa, names=(method, "LeJEPA"), measure="Spearman",
                       percent=False).states(verdict, sentence)
    within = tracking["VICReg"]["within"]
    claims.claim(f"At a fixed covariance weight VICReg's loss does track its kNN (mean Spearman {within:+.2f}).",
                 within <= TRACKS)


# ----------------------------------------------------------------------------- DIET as the data grow

def _size_label(n: int) -> str:
    return f"{n} images"


def _config(sweep: dict[str, Any], setting: str) -> dict[str, Any]:
    point = next(p for p in sweep["points"] if sweeps._setting_label(p) == setting)
    return {**sweep["base_config"], **sweep["shared"], **point["settings"]}


def diet_rows(sizes: dict[str, Any], simclr: dict[str, Any]) -> list[dict[str, Any]]:
    """One row per DIET setting: its training images, steps, visits per image (steps x batch / images),
    classifier weights (images x feature size), and the class kNN over the seeds of DIET, of SimCLR on the
    same images where it was trained, of DIET's untrained network, and of raw pixels, with the same memory
    bank (the training set's first ``eval_bank`` images)."""
    width = registry.get("diet").Config.for_budget("quick").width * 8  # the small CNN's feature size
    simclr_labels = {sweeps._setting_label(p) for p in simclr["points"]}
    rows, measured = [], {}
    for setting in dict.fromkeys(sweeps._setting_label(p) for p in sizes["points"]):
        c = _config(sizes, setting)
        size = _size_label(c["n_train"])
        if c["n_train"] not in measured:  # the same images and bank at any number of steps: measured once
            measured[c["n_train"]] = sweeps.references(sizes, setting)
        rows.append({"setting": setting, "images": c["n_train"], "steps": c["steps"],
                     "visits": c["steps"] * c["batch_size"] / c["n_train"], "weights": c["n_train"] * width,
                     "DIET": sweeps.seed_values(sizes, setting),
                     "SimCLR": sweeps.seed_values(simclr, size) if size in simclr_labels and c["steps"] == _config(
                         simclr, size)["steps"] else None,
                     "untrained": sweeps.seed_values(sizes, setting, untrained=True),
                     "raw pixels": measured[c["n_train"]]["raw pixels"]["kNN"],
                     "chance": measured[c["n_train"]]["chance"]["kNN"]})
    return rows


def _accuracy(values: list[float] | float | None) -> str:
    if values is None:
        return ""
    if isinstance(values, float):
        return f"{100 * values:.1f}%"
    return f"{100 * statistics.fmean(values):.1f}% ({100 * min(values):.1f}-{100 * max(values):.1f})"


def diet_table(sizes: dict[str, Any], simclr: dict[str, Any]) -> list[dict[str, Any]]:
    """:func:`diet_rows` as a Markdown table with its caption; returns the rows."""
    rows = diet_rows(sizes, simclr)
    seeds = len({p.get("seed") for p in sizes["points"]})
    lines = [f"**DIET as the training set grows**: class kNN, mean of {seeds} seeds (their range); SimCLR, where "
             f"trained, on the same images at the same steps; DIET's untrained network, raw pixels and chance on the "
             f"same test images, with the same kNN memory bank (each size draws its own test images).", "",
             "| training images | steps | visits per image | classifier weights | DIET | SimCLR | untrained network "
             "| raw pixels | chance |", "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['images']:,} | {r['steps']:,} | {r['visits']:.0f} | {r['weights'] / 1e6:.2f} M | "
              f"{_accuracy(r['DIET'])} | {_accuracy(r['SimCLR'])} | {_accuracy(r['untrained'])} | "
              f"{_accuracy(r['raw pixels'])} | {_accuracy(r['chance'])} |" for r in rows]
    markdown("\n".join(lines))
    return rows


def diet_figure(rows: list[dict[str, Any]]):
    """Class kNN against the training images (a log axis) at the quick steps: DIET's and SimCLR's seeds and
    means, DIET at four times the steps as a star, and the references measured per size with the same bank:
    raw pixels and DIET's untrained network (both change with the bank), chance."""
    fig = new_figure(plots.COLUMN_WIDTH, 4.2)
    ax = fig.subplots()
    short = [r for r in rows if r["steps"] == min(row["steps"] for row in rows)]
    at = setting_axis(ax, [r["images"] for r in rows], "training images (log axis)", scale="log")
    xs = [at[r["images"]] for r in short]
    for name, color in (("DIET", "C0"), ("SimCLR", "C1")):
        chosen = [r for r in short if r[name] is not None]
        ax.plot([at[r["images"]] for r in chosen], [100 * statistics.fmean(r[name]) for r in chosen], "o-",
                color=color, label=f"{name}, {chosen[0]['steps']} steps (mean)")
        for r in chosen:
            ax.plot([at[r["images"]]] * len(r[name]), [100 * v for v in r[name]], ".", color=color, alpha=0.6)
    for r in rows:
        if r not in short:
            ax.plot([at[r["images"]]], [100 * statistics.fmean(r["DIET"])], "*", ms=13, color="C3",
                    label=f"DIET, {r['steps']} steps (mean)")
            ax.plot([at[r["images"]]] * len(r["DIET"]), [100 * v for v in r["DIET"]], ".", color="C3", alpha=0.6)
    ax.plot(xs, [100 * r["raw pixels"] for r in short], color="0.45", ls="--", lw=1, label="raw pixels")
    ax.plot(xs, [100 * statistics.fmean(r["untrained"]) for r in short], color="0.45", ls="-.", lw=1,
            label="untrained network")
    ax.plot(xs, [100 * r["chance"] for r in short], color="0.45", ls=":", lw=1, label="chance")
    ax.set_ylabel("class kNN (%)")
    ax.grid(alpha=0.3)
    ax.set_title("DIET and SimCLR as the training set grows (dots: seeds)", fontsize=10)
    legend_below(fig, [ax], ncols=3)
    plots.untangle_tick_labels(fig)
    return fig


def diet_findings(rows: list[dict[str, Any]]) -> None:
    """DIET against SimCLR, the untrained network and raw pixels as the images grow at fixed steps, and what
    four times the steps give it on the largest set, checked on the seeds. Accuracies on different training sets
    are compared as gains over each seed's own untrained network, measured with the same memory bank."""
    by = {r["setting"]: r for r in rows}

    def row(n: int) -> dict[str, Any]:
        return by[_size_label(n)]

    def gains(r: dict[str, Any]) -> list[float]:
        return [a - b for a, b in zip(r["DIET"], r["untrained"])]

    for n in (500, 2000):
        claims.compare(row(n)["DIET"], row(n)["raw pixels"], names=(f"DIET on {n} images", "raw pixels")).states(
            "higher", f"On {n} images, at the quick run's 600 steps, DIET's features recognise the shape better than "
                      f"raw pixels")
    claims.compare(row(500)["DIET"], row(500)["SimCLR"], names=("DIET", "SimCLR")).states(
        "no difference", "On 500 images they do as well as SimCLR's")
    claims.compare(row(2000)["DIET"], row(2000)["SimCLR"], names=("DIET", "SimCLR")).states(
        "lower", "On 2000 images SimCLR is ahead")
    claims.compare(row(4000)["DIET"], row(4000)["untrained"], names=("DIET on 4000 images", "its untrained network")
                   ).states("higher", "On 4000 images DIET still learns something")
    claims.compare(row(4000)["DIET"], row(4000)["raw pixels"], names=("DIET on 4000 images", "raw pixels")).states(
        "lower", "but ends below raw pixels")
    claims.compare(row(8000)["DIET"], row(8000)["untrained"], names=("DIET on 8000 images", "its untrained network")
                   ).states("lower", "On 8000 images it ends below its own untrained network")
    claims.compare(row(8000)["SimCLR"], row(8000)["raw pixels"], names=("SimCLR on 8000 images", "raw pixels")).states(
        "higher", "while SimCLR, with the same steps and images, rises above raw pixels")
    claims.compare(gains(row(8000)), gains(row(2000)), names=("8000 images", "2000 images"), measure="kNN gain").states(
        "lower", "At equal steps, then, DIET gains less on 8000 images than on 2000")
    long = by[LONG_DIET]
    claims.compare(long["DIET"], row(8000)["DIET"], names=(LONG_DIET, "8000 images, 600 steps")).states(
        "higher", "Four times the steps rescue it on 8000 images")
    claims.compare(long["DIET"], row(8000)["SimCLR"], names=(LONG_DIET, "SimCLR, 8000 images, 600 steps")).states(
        "no difference", "up to the level of SimCLR on the same images, which had a quarter of the steps")
    claims.compare(gains(long), gains(row(2000)), names=(LONG_DIET, "2000 images, 600 steps"),
                   measure="kNN gain").states(
        "higher", "Those steps give each of the 8000 images as many visits as 2000 images got in 600 steps, and at "
                  "equal visits the larger set gains more over its untrained network")
