"""Chapter 8's readings of its sweeps: what the views teach, stated as checked claims.

Each function draws or tabulates one sweep of the chapter and states the findings its seeds support
through :mod:`cookbook.book.claims` (a sentence the data stop supporting fails the book's build). Every
sweep read here has three seeds of every setting (``tests/test_sweep.py``).
"""
from __future__ import annotations

import statistics
from typing import Any

from cookbook.book import chapter, claims, collapse, guide, plots, sweeps

MEASURES = ["kNN", "shape colour", "background colour", "position", "size"]
BASE = "all augmentations"
CROP, JITTER = "augment.crop_min_scale", "augment.jitter_strength"
BACKBONES = ("small_cnn", "vit_tiny", "pixel_mlp")
NO_LOCAL = "0 local crops"


def ablation_tables(ablations: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """Each ablation sweep's table (with its references), then its changes from "all augmentations"."""
    for sweep in ablations.values():
        guide.introduce(sweep)
        guide.table(sweep, rows=guide.summary(sweep) + sweeps.reference_rows(sweep, BASE),
                    columns=MEASURES + ["RankMe"])
    return {name: guide.change_table(sweep, BASE, MEASURES) for name, sweep in ablations.items()}


def ablation_findings(ablations: dict[str, dict[str, Any]], changes: dict[str, dict]) -> None:
    """The four findings that hold for both methods, checked on their seeds."""
    for name, change in changes.items():
        sweep, method = ablations[name], ablations[name]["recipe"]
        raw_pixels = sweeps.references(sweep)["raw pixels"]["kNN"]
        change["no grayscale"]["kNN"].states("lower", f"{method} without grayscale learns less of the class")
        change["no grayscale"]["background colour"].states("higher", "and keeps more of the background colour")
        claims.compare(sweeps.seed_values(sweep, "no grayscale", "background colour"),
                       sweeps.seed_values(sweep, BASE, "background colour", untrained=True),
                       names=("no grayscale", "the untrained network"), measure="background-colour kNN").states(
            "higher", "more of it, even, than the untrained network")
        claims.compare(sweeps.seed_values(sweep, "no grayscale"), raw_pixels,
                       names=("no grayscale", "raw pixels")).states("lower", "so much less that it is below raw pixels")
        change["no colour jitter"]["kNN"].states("lower", f"{method} without colour jitter learns less of the class")
        change["no colour jitter"]["background colour"].states(
            "lower", "yet keeps *less* of the background colour, not more")
        change["no crop"]["position"].states("higher", f"{method} without the crop keeps more of the position")
        change["no crop"]["kNN"].states("no difference", "at no cost to the class in these runs")
        change["no flip"]["kNN"].states("no difference",
                                        f"Removing the flip changes nothing {method} learns of the class")


def _short(label: str) -> str:
    """ "augment.crop_min_scale 0.5, augment.jitter_strength 1.0" -> "crop 0.5, jitter 1.0" """
    return label.replace(CROP, "crop").replace(JITTER, "jitter")


def strength_grid(strength: dict[str, Any]) -> None:
    """The crop x jitter grid: heatmaps of class kNN and RankMe, then its table with the references."""
    guide.introduce(strength)
    references = sweeps.reference_rows(strength, f"{CROP} 0.5, {JITTER} 1.0")  # the toy views' own setting
    levels = ", ".join(f"{row['label']} {row['kNN'][0]:.1%}" for row in references)
    seeds = len({p["seed"] for p in strength["points"]})
    for metric, name in (("kNN", "class kNN"), ("RankMe", "RankMe")):
        chapter.display(guide.heatmap(strength, JITTER, CROP, metric, title=(
            f"SimCLR, {strength['shared']['steps']} steps, mean of {seeds} seeds: {name}"
            + (f"\n(class kNN of {levels})" if metric == "kNN" else ""))))
    guide.table(strength, rows=[{**row, "label": _short(row["label"])} for row in guide.summary(strength)]
                + references, columns=["kNN", "background colour", "position", "RankMe"])


def strength_findings(strength: dict[str, Any]) -> None:
    """The grid's clearest contrasts, checked on its seeds."""
    def point(c, j, measure="kNN"):
        return sweeps.seed_values(strength, f"{CROP} {c}, {JITTER} {j}", measure)

    def versus(first, second, measure="kNN"):
        return claims.compare(point(*first, measure), point(*second, measure), measure=measure,
                              names=tuple(f"crop {c:g}, jitter {j:g}" for c, j in (first, second)),
                              percent=sweeps.display_scale(measure) == 100)

    for c in (0.5, 1.0):
        versus((c, 0.0), (c, 1.0)).states("lower", f"At crop {c:g}, no colour jitter learns less of the class than "
                                                   f"the default jitter of 1")
        versus((c, 0.5), (c, 1.0)).states("higher", "half of it learns more")
        versus((c, 1.5), (c, 1.0)).states("lower", "and one and a half times it, less")
    versus((0.5, 0.0), (0.5, 1.0), "background colour").states(
        "lower", "Without jitter the background colour becomes less predictable, not more")
    for c, verdict in ((0.1, "lower"), (0.5, "lower"), (1.0, "no difference")):
        versus((c, 1.5), (c, 1.0), "RankMe").states(verdict, f"At crop {c:g}, jitter 1.5 against 1: " + (
            "fewer effective dimensions" if verdict == "lower" else "no change in the effective dimensions"))
    for j in (0.5, 1.0):
        versus((0.1, j), (0.5, j)).states("lower", f"At jitter {j:g}, the smallest crop learns less of the class "
                                                   f"than crop 0.5")
        versus((1.0, j), (0.5, j)).states("no difference", "and no crop at all changes nothing beyond the seeds' "
                                                           "spread")
    edges = [(c, j) for c in (0.1, 0.5, 1.0) for j in (0.0, 0.5, 1.0, 1.5) if c == 0.1 or j in (0.0, 1.5)]
    raw = sweeps.references(strength)["raw pixels"]["kNN"]
    pixels = {edge: claims.compare(point(*edge), raw, names=(f"crop {edge[0]:g}, jitter {edge[1]:g}", "raw pixels"))
              for edge in edges}
    claims.claim("None of the grid's edges (no jitter, jitter 1.5, the smallest crop) rises above raw pixels on the "
                 "class (" + "; ".join(f"{c.names[0]} {c.described(0)}" for c in pixels.values())
                 + f"; raw pixels {pixels[edges[0]].described(1)}).",
                 all(c.verdict != "higher" for c in pixels.values()))


def multicrop_reading(multicrop: dict[str, Any]) -> None:
    """DINO with 0, 2 and 6 local crops over its seeds: the table, kNN and CPU time against the crops (with
    the class kNN's references), and each setting's extra CPU time."""
    guide.introduce(multicrop)
    guide.table(multicrop, rows=guide.summary(multicrop) + sweeps.reference_rows(multicrop, NO_LOCAL),
                columns=("kNN", "shape colour", "position", "RankMe", "CPU seconds"))
    chapter.display(multicrop_figure(multicrop))
    cost = {row["label"]: row["CPU seconds"][0] for row in guide.summary(multicrop)}
    print("CPU time, mean of the seeds: " + " | ".join(
        f"{label} {seconds:.0f} s ({seconds / cost[NO_LOCAL] - 1:+.0%} over none)" for label, seconds in cost.items()))


def multicrop_figure(multicrop: dict[str, Any]):
    """kNN (with chance, raw pixels and the untrained network) and CPU time against the number of local
    crops, each with its seeds' range."""
    steps = {**multicrop["base_config"], **multicrop["shared"]}["steps"]
    seeds = len({p["seed"] for p in multicrop["points"]})
    figure = guide.lines({f"DINO, {steps} steps, {seeds} seeds": (multicrop, "n_local_crops")},
                         metrics=("kNN", "CPU seconds"))
    levels = {**{name: values["kNN"] for name, values in sweeps.references(multicrop).items()},
              "untrained network": statistics.fmean(sweeps.seed_values(multicrop, NO_LOCAL, untrained=True))}
    for name, level in levels.items():
        figure.axes[0].axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
    plots.legend_below(figure, [figure.axes[0]], ncols=2)  # inside the panel it would cover a reference line
    return figure


def multicrop_findings(multicrop: dict[str, Any]) -> None:
    """What the local crops buy and cost, checked on the sweep's seeds."""
    def crops(k, measure="kNN"):
        return sweeps.seed_values(multicrop, f"{k} local crops", measure)

    raw = sweeps.references(multicrop)["raw pixels"]["kNN"]
    claims.compare(crops(0), raw, names=(NO_LOCAL, "raw pixels")).states(
        "no difference", "Without local crops, DINO's quick run ends level with raw pixels on the class")
    for k in (2, 6):
        claims.compare(crops(k), raw, names=(f"{k} local crops", "raw pixels")).states(
            "higher", f"with {k} local crops it rises above them")
    claims.compare(crops(2), crops(0), names=("2 local crops", NO_LOCAL)).states(
        "higher", "Two local crops recognise the shape better than none")
    claims.compare(crops(6), crops(2), names=("6 local crops", "2 local crops")).states(
        "no difference", "and six no better than two")
    for k in (2, 6):
        claims.compare(crops(k, "CPU seconds"), crops(0, "CPU seconds"), names=(f"{k} local crops", NO_LOCAL),
                       measure="CPU seconds", percent=False).states(
            "higher", f"{k} local crops cost more CPU time than none")


def _setting(backbone: str, crop_scale: float = 0.5, jitter_p: float = 0.8) -> str:
    return f"backbone {backbone}, augment.crop_min_scale {crop_scale}, augment.jitter_p {jitter_p}"


def _brief(label: str) -> str:
    return (label.replace("backbone ", "").replace("augment.crop_min_scale", "crop")
            .replace("augment.jitter_p", "jitter p"))


def interplay_reading(interplay: dict[str, Any]) -> None:
    """The same views on three backbones over their seeds: the table with each backbone's untrained network,
    and the heatmaps of class, position and background-colour kNN (means of the seeds)."""
    guide.introduce(interplay)
    references = sweeps.reference_rows(interplay, _setting("small_cnn"))[:2]  # chance, raw pixels: the same images
    untrained = {b: guide.untrained_row(interplay, _setting(b), f"untrained {b}") for b in BACKBONES}
    guide.table(interplay, rows=[{**row, "label": _brief(row["label"])} for row in guide.summary(interplay)]
                + references + list(untrained.values()),
                columns=["kNN", "shape colour", "background colour", "position", "RankMe"])
    seeds = len({p["seed"] for p in interplay["points"]})
    for metric, name in (("kNN", "the class"), ("position", "the position"),
                         ("background colour", "the background colour")):
        levels = ", ".join(f"{row['label']} {row[metric][0]:.1%}" for row in references)
        chapter.display(guide.heatmap(interplay, "augment.crop_min_scale", "backbone", metric,
                                      where={"augment.jitter_p": 0.8},
                                      title=f"SimCLR with colour jitter, {interplay['shared']['steps']} steps, mean "
                                            f"of {seeds} seeds\nkNN accuracy on {name} (%)\n({levels})"))


def interplay_comparisons(interplay: dict[str, Any]) -> dict[tuple[str, str], claims.Comparison]:
    """Each backbone's run with the toy views (crop 0.5, colour jitter) over its seeds: ``(backbone, what)`` ->
    the comparison, for ``what`` in "raw pixels" and "untrained" (its class kNN against them), "no jitter" and
    "no crop" (the class kNN without that view against with it), and each nuisance factor (its kNN against
    the same networks untrained)."""
    def knn(label, measure="kNN", untrained=False):
        return sweeps.seed_values(interplay, label, measure, untrained=untrained)

    raw = sweeps.references(interplay, _setting("small_cnn"))["raw pixels"]
    found = {}
    for b in BACKBONES:
        toy = _setting(b)
        found[b, "raw pixels"] = claims.compare(knn(toy), raw["kNN"], names=(b, "raw pixels"))
        found[b, "untrained"] = claims.compare(knn(toy), knn(toy, untrained=True), names=(b, f"untrained {b}"))
        found[b, "no jitter"] = claims.compare(knn(_setting(b, jitter_p=0.0)), knn(toy),
                                               names=(f"{b} without colour jitter", f"{b} with it"))
        found[b, "no crop"] = claims.compare(knn(_setting(b, crop_scale=1.0)), knn(toy),
                                             names=(f"{b} without the crop", f"{b} with it"))
        for factor in ("shape colour", "background colour", "position"):
            found[b, factor] = claims.compare(knn(toy, factor), knn(toy, factor, untrained=True),
                                              names=(b, f"untrained {b}"), measure=f"{factor} kNN")
    return found


def interplay_findings(interplay: dict[str, Any]) -> None:
    """What the same views taught each backbone, checked on the sweep's seeds."""
    found = interplay_comparisons(interplay)
    found["small_cnn", "raw pixels"].states("higher", "**The CNN** recognises the shape better than raw pixels do")
    found["small_cnn", "no jitter"].states("lower", "and without colour jitter it recognises it less well")
    found["small_cnn", "no crop"].states("no difference", "while without the crop it loses nothing the seeds can see")
    found["small_cnn", "background colour"].states(
        "lower", "Its features keep less of the background colour than the same network before training")
    found["small_cnn", "position"].states("higher", "and more of the position")
    found["pixel_mlp", "untrained"].states(
        "lower", "**The MLP on pixels** ends below its own untrained network on the class")
    found["pixel_mlp", "no jitter"].states(
        "higher", "and colour jitter, which the CNN needed, hurts it: without jitter it recognises the shape better")
    found["pixel_mlp", "background colour"].states(
        "no difference", "Its features keep the background colour as the untrained network's do")
    found["pixel_mlp", "position"].states("lower", "and lose most of the position")
    found["pixel_mlp", "shape colour"].states("lower", "and some of the shape's colour")
    beat = [b for b in BACKBONES if found[b, "raw pixels"].verdict == "higher"]
    claims.claim("Of the three backbones, only the CNN's features beat raw pixels on the class (" + "; ".join(
        f"{b} {found[b, 'raw pixels'].described(0)}" for b in BACKBONES)
        + f"; raw pixels {found['small_cnn', 'raw pixels'].described(1)}).", beat == ["small_cnn"])
    found["vit_tiny", "untrained"].states("higher", "**The ViT** learns something of the class")
    found["vit_tiny", "raw pixels"].states("lower", "but stays below raw pixels")
    found["vit_tiny", "background colour"].states(
        "lower", "and, like the CNN, keeps less of the background colour than before training")
    found["vit_tiny", "no crop"].states("higher", "Without the crop it recognises the shape better")
    found["vit_tiny", "no jitter"].states("no difference", "while the colour jitter makes no difference to it")
    fell = interplay_collapse(interplay)
    rank = {b: sweeps.seed_values(interplay, _setting(b), "RankMe") for b in BACKBONES}
    claims.claim("No seed of any backbone collapsed by chapter 1's rule, though the ViT's features use few "
                 f"directions (RankMe {min(rank['vit_tiny']):.1f}-{max(rank['vit_tiny']):.1f}, against "
                 f"{min(rank['small_cnn']):.1f}-{max(rank['small_cnn']):.1f} for the CNN).",
                 not any(fell.values()) and max(rank["vit_tiny"]) < min(rank["small_cnn"]))


def interplay_collapse(interplay: dict[str, Any]) -> dict[str, int]:
    """How many seeds of each backbone's toy-views run collapsed by the book's rule."""
    def seeds(b, measure):
        return sweeps.seed_values(interplay, _setting(b), measure)

    return {b: sum(map(collapse.collapsed, seeds(b, "RankMe"), seeds(b, "normalised std"))) for b in BACKBONES}


def democratizing_tables(democratizing: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """Each democratizing sweep's table with its references (chance for the linear probe too), then its
    changes from its default; returns the changes, by dataset."""
    changes = {}
    for name, sweep in democratizing.items():
        guide.introduce(sweep)
        chance, *others = sweeps.reference_rows(sweep, "default")
        measures = ["kNN", "linear probe"] + (["background colour", "position"] if name == "toy" else [])
        guide.table(sweep, rows=guide.summary(sweep) + [{**chance, "linear probe": chance["kNN"]}, *others],
                    columns=measures + ["RankMe"])
        changes[name] = guide.change_table(sweep, "default", measures)
    return changes


def democratizing_findings(toy_sweep: dict[str, Any], changes: dict[str, dict]) -> None:
    """Bordes et al.'s three claims on the toy shapes, checked on three seeds."""
    def toy(label, measure="kNN", untrained=False):
        return sweeps.seed_values(toy_sweep, label, measure, untrained=untrained)

    pixels = sweeps.references(toy_sweep)["raw pixels"]
    changes["1 negative"]["linear probe"].states(
        "lower", "**One negative**: SimCLR's linear probe on the toy shapes falls behind the full softmax's")
    claims.compare(toy("1 negative"), toy("default", untrained=True),
                   names=("1 negative", "the untrained network")).states(
        "higher", "its kNN rises above the untrained network's")
    claims.compare(toy("1 negative"), pixels["kNN"], names=("1 negative", "raw pixels")).states(
        "no difference", "but not above raw pixels'")
    claims.compare(toy("noise only"), pixels["kNN"], names=("noise only", "raw pixels")).states(
        "lower", "**Noise as the only augmentation** ends below raw pixels on the class")
    claims.compare(toy("noise only", "background colour"), toy("default", "background colour", untrained=True),
                   names=("noise only", "the untrained network"), measure="background-colour kNN").states(
        "higher", "while its features keep more of the background colour than the untrained network")
    changes["batch 16"]["linear probe"].states(
        "lower", "**A batch of 16** at the default's number of steps, eight times fewer images, falls behind")
    changes["batch 16, the images of batch 128"]["kNN"].states(
        "no difference", "A batch of 16 trained on as many images as the default (eight times the steps) catches "
                         "up on the kNN probe")
    changes["batch 16, the images of batch 128"]["linear probe"].states("lower", "but not on the linear probe")


def digits_findings(digits: dict[str, Any], changes: dict[str, dict]) -> None:
    """The digits sweep over its seeds: every variant against raw pixels, and the two that fall behind."""
    raw = sweeps.references(digits)["raw pixels"]["kNN"]
    labels = [row["label"] for row in guide.summary(digits)]
    pixels = {label: claims.compare(sweeps.seed_values(digits, label), raw, names=(label, "raw pixels"))
              for label in labels}
    claims.claim("On digits no variant's kNN rises above raw pixels' " + f"{pixels['default'].described(1)} ("
                 + "; ".join(f"{label} {c.described(0)}" for label, c in pixels.items()) + ").",
                 all(c.verdict != "higher" for c in pixels.values()))
    changes["no augmentation"]["linear probe"].states(
        "lower", "Identical views fall behind the default on the linear probe")
    changes["noise only"]["linear probe"].states("no difference", "noise alone does not")
