"""Chapter 10's readings of its sweeps: the teacher's momentum (BYOL, MoCo), BYOL's predictor and DINO's
teacher, stated as checked claims.

Every sweep read here trains on the toy shapes with three seeds of each setting and is probed on the same
1,000 test images with the same kNN probe, so one set of references (chance, raw pixels, the untrained
network) stands beside all of them. The chapter's runs are short (300 or 400 steps): each function draws or
tabulates a sweep beside those references and states only what its seeds support, through
:mod:`cookbook.book.claims`, so a sentence the data stop supporting fails the book's build. Where no setting of
a sweep rises above raw pixels, the sweep says what *breaks* a method, never which setting *helps*: a gap
between two runs that both learn less than the pixels themselves is no lesson about features.

DINO's teacher is read from the two entropies its model logs (:mod:`cookbook.book.teachers` reads the same two
numbers from logits): the mean over the images of each image's target distribution's entropy, and the entropy
of the batch's average distribution, both over log K. The collapse map (:func:`collapse_map`) plots one
against the other; its two failures sit in opposite corners.
"""
from __future__ import annotations

import math
import statistics
from typing import Any

from matplotlib.patches import Rectangle

from cookbook.book import chapter, claims, collapse, guide, plots, sweeps, teachers

# The teacher's state from its two entropies over log K, by the thresholds of cookbook.book.teachers.
ONE_PROTOTYPE, UNIFORM, BETWEEN = "one prototype", "uniform", "between the corners"
PER_IMAGE, AVERAGE = teachers.PER_IMAGE, teachers.AVERAGE


# ----------------------------------------------------------------------------- references

def levels(sweep: dict[str, Any]) -> dict[str, float]:
    """The class kNN of chance, raw pixels (:func:`cookbook.book.sweeps.references`) and the untrained
    network (the mean over the seeds of the sweep's first setting: the settings here change the training,
    never the network) on the test images every run of the chapter is measured on."""
    first = sweeps.summary(sweep)[0]["label"]
    return {**{name: values["kNN"] for name, values in sweeps.references(sweep).items()},
            "untrained network": statistics.fmean(sweeps.seed_values(sweep, first, untrained=True))}


def _knn(sweep: dict[str, Any], label: str, measure: str = "kNN", untrained: bool = False) -> list[float]:
    return sweeps.seed_values(sweep, label, measure, untrained=untrained)


def _labels(sweep: dict[str, Any]) -> list[str]:
    return [row["label"] for row in sweeps.summary(sweep)]


def _versus_pixels(sweep: dict[str, Any], label: str) -> claims.Comparison:
    return claims.compare(_knn(sweep, label), sweeps.references(sweep)["raw pixels"]["kNN"],
                          names=(label, "raw pixels"))


def _versus_untrained(sweep: dict[str, Any], label: str) -> claims.Comparison:
    return claims.compare(_knn(sweep, label), _knn(sweep, label, untrained=True),
                          names=(label, "its untrained network"))


def none_above_pixels(sweep: dict[str, Any], method: str) -> bool:
    """Claim that no setting of ``sweep`` rises above raw pixels on the class, each setting's seeds listed."""
    found = {label: _versus_pixels(sweep, label) for label in _labels(sweep)}
    first = next(iter(found.values()))
    return claims.claim(f"No setting of {method}'s sweep rises above raw pixels on the class ("
                        + "; ".join(f"{short_byol_label(label)} {c.described(0)}" for label, c in found.items())
                        + f"; raw pixels {first.described(1)}).", all(c.verdict != "higher" for c in found.values()))


def table(sweep: dict[str, Any], columns=("kNN", "kNN gain", "RankMe", "normalised std"),
          rename: dict[str, str] | None = None, extra: dict[str, dict[str, tuple]] | None = None) -> None:
    """The sweep's table, the mean over seeds with their range, under chance, raw pixels and the untrained
    network: ``rename`` shortens the settings' labels, ``extra[label]`` adds columns to a setting's row."""
    rows = [{**row, **(extra or {}).get(row["label"], {}), "label": (rename or {}).get(row["label"], row["label"])}
            for row in sweeps.summary(sweep)]
    guide.table(sweep, rows=rows + sweeps.reference_rows(sweep), columns=columns)


# ----------------------------------------------------------------------------- the momentum: BYOL and MoCo

def memory(momentum: float) -> float:
    """How many steps an EMA with this momentum remembers, ``1 / (1 - m)``: 10 for 0.9, 1,000 for 0.999, 1 for
    0 (a copy of the student). Under the cosine schedule it is the memory at the start, growing to the run's
    length."""
    return math.inf if momentum >= 1 else 1 / (1 - momentum)


def _schedule(sweep: dict[str, Any], row: dict[str, Any]) -> str:
    return row["settings"].get("momentum_schedule", sweep["base_config"].get("momentum_schedule") or "constant")


def short_byol_label(label: str) -> str:
    """ "momentum 0.9, momentum_schedule constant" -> "momentum 0.9, constant" """
    return label.replace("momentum_schedule ", "")


def momentum_figure(panels: dict[str, dict[str, Any]]):
    """One panel per sweep (``{title: sweep}``, a sweep over the teacher's ``momentum``): class kNN against the
    momentum, placed at the teacher's memory :func:`memory` on a log axis (ticks "0.9 / 10"), every seed
    drawn, one line per schedule (the mean of the seeds), beside chance, raw pixels and the untrained
    network, and a vertical line at the run's length: a teacher whose memory is longer than the run has
    barely left its initialisation. The y axis shares one scale across the panels and holds the references,
    so the gaps between settings are seen at the size of the gap to raw pixels."""
    fig = plots.new_figure(plots.column_width(9.0), 4.3)
    axes = fig.subplots(1, len(panels), squeeze=False, sharey=True)[0]
    for ax, (title, sweep) in zip(axes, panels.items()):
        steps = {**sweep["base_config"], **sweep["shared"]}["steps"]
        groups: dict[str, list[dict]] = {}
        for row in sweeps.summary(sweep):
            groups.setdefault(_schedule(sweep, row), []).append(row)
        for i, (schedule, rows) in enumerate(groups.items()):
            rows = sorted(rows, key=lambda r: r["settings"]["momentum"])
            shift = 1.08 ** (i - (len(groups) - 1) / 2)  # side by side on the log axis, not over each other
            xs = [memory(r["settings"]["momentum"]) * shift for r in rows]
            seeds = [[100 * v for v in _knn(sweep, r["label"])] for r in rows]
            ax.plot(xs, [statistics.fmean(s) for s in seeds], "o-", color=f"C{i}", label=f"{schedule} momentum")
            for x, values in zip(xs, seeds):
                ax.plot([x] * len(values), values, ".", color=f"C{i}", alpha=0.6)
        ax.plot([], [], ".", color="0.3", label="one seed")
        for name, level in levels(sweep).items():
            ax.axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
        ax.axvline(steps, color="C3", ls=(0, (1, 2)), lw=1.2, label="the run's length in steps")
        ax.set_xscale("log")
        momenta = sorted({r["settings"]["momentum"] for r in sweeps.summary(sweep)})
        ax.set_xticks([memory(m) for m in momenta], [f"{m:g}\n{memory(m):,.0f}" for m in momenta])
        ax.minorticks_off()
        ax.set_xlabel("momentum m, over its memory 1/(1-m) in steps", fontsize=9)
        ax.set_xlim(min(memory(m) for m in momenta) / 2, max(steps, *(memory(m) for m in momenta)) * 2)
        seeds_count = len({p.get("seed") for p in sweep["points"]})
        ax.set_title(f"{title}, {steps} steps, {seeds_count} seeds", fontsize=10)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("kNN accuracy on the class (%)")
    plots.legend_below(fig, axes, ncols=3)
    return fig


def momentum_reading(byol: dict[str, Any], moco: dict[str, Any]) -> None:
    """Both momentum sweeps: what was trained, their tables with the references, and the figure."""
    for sweep in (byol, moco):
        guide.introduce(sweep)
    table(byol, rename={label: short_byol_label(label) for label in _labels(byol)})
    table(moco)
    chapter.display(momentum_figure({"BYOL": byol, "MoCo": moco}))


def byol_findings(byol: dict[str, Any]) -> None:
    """What the BYOL momentum sweep can and cannot say, checked on its seeds."""
    none_above_pixels(byol, "BYOL")
    learned = {label: _versus_untrained(byol, label) for label in _labels(byol)}
    claims.claim("Every setting still learns something: each ends above its untrained network ("
                 + "; ".join(f"{short_byol_label(label)} {c.described(0)}" for label, c in learned.items())
                 + f"; untrained {next(iter(learned.values())).described(1)}).",
                 all(c.verdict == "higher" for c in learned.values()))


def moco_findings(moco: dict[str, Any]) -> None:
    """MoCo with momentum 0 against its untrained network and each other momentum (class kNN, then RankMe),
    and every momentum against raw pixels, checked on the seeds."""
    zero = "momentum 0.0"
    others = [label for label in _labels(moco) if label != zero]
    _versus_untrained(moco, zero).states(
        "no difference", "**MoCo with momentum 0** ends where its untrained network started")
    for measure, words in (("kNN", "It ends below every other momentum on the class"),
                           ("RankMe", "Its features also span fewer directions than with any of them")):
        found = {label: claims.compare(_knn(moco, zero, measure), _knn(moco, label, measure), names=(zero, label),
                                       measure=measure, percent=measure == "kNN") for label in others}
        first = next(iter(found.values()))
        claims.claim(f"{words} ({measure} {first.described(0)} at momentum 0; "
                     + "; ".join(f"{c.described(1)} at {label}" for label, c in found.items()) + ").",
                     all(c.verdict == "lower" for c in found.values()))
    none_above_pixels(moco, "MoCo")


def queue(moco: dict[str, Any]) -> str:
    """The MoCo sweep's queue in words, from its base config: how many keys, how many batches of how many
    images, and how many steps the runs trained."""
    run = moco["base_config"] | moco["shared"]
    return (f"{run['steps']} steps; a queue of {run['queue_size']} keys, the last "
            f"{run['queue_size'] // run['batch_size']} batches of {run['batch_size']} images")


# ----------------------------------------------------------------------------- BYOL's predictor

def predictor_findings(predictor: dict[str, Any]) -> None:
    """BYOL's predictor sweep: without one against its untrained network, and every setting against raw
    pixels, checked on the seeds."""
    _versus_untrained(predictor, "no predictor").states(
        "no difference", "**Without a predictor**, BYOL ends no better than its own untrained network")
    none_above_pixels(predictor, "BYOL's predictor")


# ----------------------------------------------------------------------------- DINO's teacher

def entropies(sweep: dict[str, Any], point: dict[str, Any]) -> tuple[float, float]:
    """A DINO run's teacher at the end of training, as ``(per image, of the average)``: the mean over images
    of each target distribution's entropy, and the entropy of the batch's average distribution, each over
    log K and averaged over the run's last :data:`cookbook.book.sweeps.LAST_RECORDS` logged steps (one
    batch's value moves from step to step). K is the run's ``out_dim``."""
    records = [r for r in point["history"] if "teacher_entropy" in r][-sweeps.LAST_RECORDS:]
    if not records:
        raise ValueError(f"{point['label']}: no teacher entropies logged (only DINO's model logs them)")
    log_k = math.log({**sweep["base_config"], **point["settings"]}["out_dim"])
    return (statistics.fmean(r["teacher_entropy"] for r in records) / log_k,
            statistics.fmean(r["teacher_batch_entropy"] for r in records) / log_k)


def state(per_image: float, average: float) -> str:
    """The teacher's corner: :data:`ONE_PROTOTYPE` when the average distribution's entropy is under
    :data:`cookbook.book.teachers.ONE_PROTOTYPE` of log K (every image picks the same prototype),
    :data:`UNIFORM` when the entropy per image is at least :data:`cookbook.book.teachers.UNIFORM` of log K
    (every image's target nearly uniform), else :data:`BETWEEN`. The tests of chapter 4
    (:func:`cookbook.book.teachers.kind`), on the logged entropies."""
    if average < teachers.ONE_PROTOTYPE:
        return ONE_PROTOTYPE
    return UNIFORM if per_image >= teachers.UNIFORM else BETWEEN


def teacher_seeds(sweep: dict[str, Any], label: str) -> list[tuple[float, float]]:
    """:func:`entropies` of every seed of the setting ``label``, in seed order."""
    points = [p for p in sweep["points"] if p["label"].rsplit(", seed ", 1)[0] == label]
    if not points:
        raise KeyError(f"the sweep {sweep['sweep']!r} has no setting {label!r}")
    return [entropies(sweep, p) for p in points]


def entropy_columns(sweep: dict[str, Any]) -> dict[str, dict[str, tuple[float, float, float]]]:
    """Each setting's two entropies over log K as :func:`table` columns: ``(mean, low, high)`` over seeds."""
    columns = {}
    for label in _labels(sweep):
        pairs = teacher_seeds(sweep, label)
        columns[label] = {name: (statistics.fmean(v), min(v), max(v))
                          for name, v in ((PER_IMAGE, [p for p, _ in pairs]), (AVERAGE, [a for _, a in pairs]))}
    return columns


def dino_reading(dino: dict[str, Any]) -> None:
    """The DINO sweep: what was trained, K, its table with the references and the teacher's two entropies."""
    guide.introduce(dino)
    k = dino["base_config"]["out_dim"]
    print(f"K = {k} prototypes: a uniform teacher has an entropy of log K = {math.log(k):.2f} nats, one that puts "
          f"everything on one prototype 0. The table gives both entropies over log K (100%: uniform), averaged over "
          f"each run's last {sweeps.LAST_RECORDS} logged steps.")
    table(dino, columns=("kNN", "RankMe", "normalised std", PER_IMAGE, AVERAGE), extra=entropy_columns(dino))


CORNERS = {ONE_PROTOTYPE: (0.0, 0.0), UNIFORM: (1.0, 1.0)}
MARKERS = "osD^vP*Xhp"


ZOOM_BELOW = 0.4  # draw a zoomed panel when every run outside the one-prototype corner lies above this


def collapse_map(sweep: dict[str, Any], title: str | None = None):
    """DINO's collapse map: each seed of each setting at its teacher's entropy per image (x) against the
    entropy of its batch's average (y), both over log K (:func:`entropies`). Below the diagonal is
    impossible (the average of distributions is never less uncertain than they are on average). The two
    failures are corners: one prototype for every image (both near 0) and a uniform target for every image
    (both near 1); a healthy teacher is sharp per image and spreads its images over many prototypes, towards
    the top left. The shaded bands are the thresholds of :func:`state`. Where the runs outside the
    one-prototype corner crowd near the uniform one (all above :data:`ZOOM_BELOW`), a second panel zooms on
    them, its frame drawn on the first. The legend sits under the panels."""
    pairs = {label: teacher_seeds(sweep, label) for label in _labels(sweep)}
    rest = [v for seeds in pairs.values() for pair in seeds if state(*pair) != ONE_PROTOTYPE for v in pair]
    low = math.floor(10 * min(rest)) / 10 if rest else 0.0
    zoom = low >= ZOOM_BELOW
    fig = plots.new_figure(plots.column_width(9.0 if zoom else 6.4), 5.6 if zoom else 6.6)
    axes = fig.subplots(1, 2 if zoom else 1, squeeze=False)[0]
    for n, ax in enumerate(axes):
        lo, hi = (-0.05, 1.05) if n == 0 else (low - 0.02, 1.01)
        ax.fill_between([lo, hi], [lo, hi], lo, color="0.85", lw=0)
        ax.axvspan(teachers.UNIFORM, hi, color="C3", alpha=0.12, lw=0)
        ax.axhspan(lo, teachers.ONE_PROTOTYPE, color="C0", alpha=0.12, lw=0)
        for i, (label, seeds) in enumerate(pairs.items()):
            ax.plot([p for p, _ in seeds], [a for _, a in seeds], MARKERS[i % len(MARKERS)], color=f"C{i % 10}",
                    ms=7, alpha=0.8, label=label if n == 0 else None, ls="none")
        ax.set_xlim(lo, hi)
        ax.set_ylim(lo, hi)
        ax.set_aspect("equal")
        ax.grid(alpha=0.3)
        ax.set_xlabel("entropy per image / log K")
    first = axes[0]
    first.text(0.70, 0.08, "impossible:\nthe average is never\nsharper than its images", fontsize=8, color="0.35",
               ha="center")
    first.annotate("one prototype\nfor every image", (0.0, 0.0), (0.06, 0.30), fontsize=8, color="C0",
                   arrowprops={"arrowstyle": "->", "color": "C0"})
    first.annotate("uniform target\nfor every image", (1.0, 1.0), (0.55, 0.38), fontsize=8, color="C3",
                   arrowprops={"arrowstyle": "->", "color": "C3"})
    first.text(0.02, 0.90, "healthy: sharp per image,\nmany prototypes used", fontsize=8, color="0.3")
    first.set_ylabel("entropy of the batch's average / log K")
    k, seeds = sweep["base_config"]["out_dim"], len({p.get("seed") for p in sweep["points"]})
    first.set_title(title or f"DINO's teacher, K = {k}, {seeds} seeds each", fontsize=10)
    if zoom:
        first.add_patch(Rectangle((low - 0.02, low - 0.02), 1.03 - low, 1.03 - low, fill=False, ec="0.3",
                                        lw=1, ls="--"))
        axes[1].set_title(f"the dashed square, zoomed ({low - 0.02:.2f} to 1)", fontsize=10)
    plots.legend_below(fig, [first], ncols=2)
    return fig


WORDS = {ONE_PROTOTYPE: "sits in the one-prototype corner", UNIFORM: "is uniform",
         BETWEEN: "sits between the two corners"}


def teacher_claims(sweep: dict[str, Any], expected: dict[str, str]) -> dict[str, list[str]]:
    """One claim per setting of ``expected`` (``{label: state}``, a :func:`state`): in every seed its teacher is
    in that state, with the two entropies' ranges. Returns every setting's states, seed by seed."""
    found = {label: [state(*pair) for pair in teacher_seeds(sweep, label)] for label in _labels(sweep)}
    for label, wanted in expected.items():
        pairs = teacher_seeds(sweep, label)
        per, avg = [p for p, _ in pairs], [a for _, a in pairs]
        claims.claim(f"**{label}**: the teacher {WORDS[wanted]} in every seed (entropy per image "
                     f"{min(per):.0%}-{max(per):.0%} of log K, of the average {min(avg):.0%}-{max(avg):.0%}).",
                     all(s == wanted for s in found[label]))
    return found


def _entropy_seeds(sweep: dict[str, Any], label: str, which: int = 0) -> list[float]:
    return [pair[which] for pair in teacher_seeds(sweep, label)]


DEFAULT = "momentum 0.98, cosine"  # the ema-dino point with the recipe's quick settings (teacher temperature 0.04)


def temperature_findings(sweep: dict[str, Any], verdicts: dict[str, str]) -> None:
    """The teacher's entropy per image at each swept teacher temperature against the default's (0.04):
    ``verdicts[label]`` is "higher", "lower" or "no difference", checked on the seeds."""
    base_temp = {**sweep["base_config"], **next(p for p in sweep["points"] if p["label"].startswith(DEFAULT))[
        "settings"]}["teacher_temp"]
    for label, verdict in verdicts.items():
        claims.compare(_entropy_seeds(sweep, label), _entropy_seeds(sweep, DEFAULT),
                       names=(label, f"the default {base_temp:g}"), measure="the entropy per image / log K").states(
            verdict, f"At {label}, the teacher's entropy per image against the default's")


def unsure_default(sweep: dict[str, Any]) -> bool:
    """Claim that at the recipe's quick settings (:data:`DEFAULT`) the teacher's entropy per image stays above
    half of log K in every seed: half of log K is the entropy of a uniform choice among sqrt(K) prototypes, so
    above it the teacher has not, on average, narrowed an image down to a few (chapter 4's reading)."""
    per_image = _entropy_seeds(sweep, DEFAULT)
    return claims.claim(f"At the recipe's quick settings ({DEFAULT}) the teacher's entropy per image ends above half "
                        f"of log K in every seed ({min(per_image):.0%}-{max(per_image):.0%}): it has not narrowed an "
                        f"image down to a few prototypes.", min(per_image) > 0.5)


def versus_default(sweep: dict[str, Any], label: str, verdict: str, sentence: str) -> bool:
    """``sentence`` about the class kNN of the setting ``label`` against :data:`DEFAULT`'s, checked on the seeds."""
    return claims.compare(_knn(sweep, label), _knn(sweep, DEFAULT), names=(label, DEFAULT)).states(verdict, sentence)


def one_prototype_loss(sweep: dict[str, Any], label: str = "no centring") -> bool:
    """Claim that the setting ``label`` ends with a training loss under 1% of log K in every seed, below every
    seed of every other setting: a student that predicts one prototype for every image matches a one-prototype
    teacher at no cost, so the loss alone would rank this run first."""
    losses = _knn(sweep, label, "loss")
    others = [v for other in _labels(sweep) if other != label for v in _knn(sweep, other, "loss")]
    log_k = math.log(sweep["base_config"]["out_dim"])
    return claims.claim(f"With {label}, the loss ends near zero in every seed ({min(losses):.2g} to "
                        f"{max(losses):.2g}, against log K = {log_k:.2f} for a uniform teacher), the lowest of the "
                        f"sweep (every other run ends between {min(others):.2f} and {max(others):.2f}).",
                        max(losses) < 0.01 * log_k and max(losses) < min(others))


# ----------------------------------------------------------------------------- what breaks each method

def breaking(sweeps_by_method: dict[str, dict[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """Every setting of every sweep (``{method: sweep}``) tested against the book's rules, as a Markdown table:
    does its class kNN rise above its untrained network's (:func:`cookbook.book.claims.compare` over the
    seeds), how many seeds collapsed (:func:`cookbook.book.collapse.collapsed`), and, for DINO, how many seeds'
    teachers sit in a corner of the collapse map (:func:`state`). Returns ``{(method, setting): {"breaks":
    reasons, "corner": ...}}``: the reasons the setting breaks training by the first two tests (empty: it does
    not), and its teacher's corners ("" when none), a flag of its own, since chapter 4's tests say what the
    teacher's targets look like, not whether the features learned."""
    found, lines = {}, ["| method | setting | kNN against its untrained network | collapsed seeds | teacher's corner |",
                        "|---|---|---|---:|---|"]
    for method, sweep in sweeps_by_method.items():
        logs_teacher = any("teacher_entropy" in r for r in sweep["points"][0]["history"])
        for label in _labels(sweep):
            versus = _versus_untrained(sweep, label)
            ranks, spreads = _knn(sweep, label, "RankMe"), _knn(sweep, label, "normalised std")
            fell = sum(map(collapse.collapsed, ranks, spreads))
            reasons = {"higher": [], "lower": ["below its untrained network"]}.get(
                versus.verdict, ["no better than its untrained network"])
            reasons += [f"collapsed in {fell} of {len(ranks)} seeds"] if fell else []
            corner = ""
            if logs_teacher:
                states = [state(*pair) for pair in teacher_seeds(sweep, label)]
                corners = [s for s in states if s != BETWEEN]
                corner = ", ".join(f"{s} in {corners.count(s)} of {len(states)} seeds" for s in dict.fromkeys(corners))
            found[method, label] = {"breaks": reasons, "corner": corner}
            verdict = "higher" if versus.verdict == "higher" else f"**{versus.verdict}**"
            lines.append(f"| {method} | {short_byol_label(label)} | {100 * versus.gap:+.1f} points, {verdict} | "
                         f"{fell} of {len(ranks)} | {corner or '-'} |")
    chapter.markdown("\n".join(lines) + "\n\nhigher / lower: the seed ranges do not overlap; no difference: they "
                     f"do. Collapsed: RankMe at most {collapse.RANKME_COLLAPSED:g} or a normalised std under "
                     f"{collapse.STD_COLLAPSED:g}. Teacher's corner: chapter 4's tests on the two entropies.")
    return found


def _listed(labels: list[str], words: dict[str, str]) -> str:
    return "; ".join(f"{short_byol_label(label)} ({words[label]})" for label in labels)


def breaks_findings(found: dict[tuple[str, str], dict[str, Any]], expected: dict[str, list[str]],
                    corners: dict[str, list[str]] | None = None) -> None:
    """One claim per method of ``expected`` (method -> the settings that break it, possibly none): exactly
    those settings break it, each with its reasons from :func:`breaking`; then one claim per method of
    ``corners`` (method -> the settings whose teacher sits in a corner in some seed): exactly those."""
    for method, labels in expected.items():
        broken = [label for (m, label), row in found.items() if m == method and row["breaks"]]
        words = {label: ", ".join(found[method, label]["breaks"]) or "it does not" for label in labels}
        sentence = (f"{method}: no setting breaks training." if not labels else
                    f"{method}: {'only ' if len(labels) == 1 else ''}{_listed(labels, words)} "
                    f"break{'s' if len(labels) == 1 else ''} training.")
        claims.claim(sentence, sorted(broken) == sorted(labels),
                     evidence=f"the settings that break {method}: {', '.join(broken) or 'none'}")
    for method, labels in (corners or {}).items():
        flagged = [label for (m, label), row in found.items() if m == method and row["corner"]]
        words = {label: found[method, label]["corner"] or "in neither" for label in labels}
        claims.claim(f"{method}'s teacher sits in a corner of the collapse map at {_listed(labels, words)}; at every "
                     f"other setting, in every seed, it sits between them.", sorted(flagged) == sorted(labels),
                     evidence=f"the settings in a corner: {', '.join(flagged) or 'none'}")
