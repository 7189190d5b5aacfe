"""Chapter 8's readings of its sweeps: what the views teach, stated as checked claims.

Each function draws or tabulates one sweep of the chapter and states the findings its seeds support
through :mod:`cookbook.book.claims` (a sentence the data stop supporting fails the book's build). The
sweeps with one seed (:data:`benchmarks.sweep.NOT_YET_SEEDED`) get tables and one-seed observations, never
a verdict.
"""
from __future__ import annotations

from typing import Any

from cookbook.book import chapter, claims, collapse, guide, sweeps

MEASURES = ["kNN", "shape colour", "background colour", "position", "size"]
BASE = "all augmentations"
CROP, JITTER = "augment.crop_min_scale", "augment.jitter_strength"
BACKBONES = ("small_cnn", "vit_tiny", "pixel_mlp")


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
    """DINO with 0, 2 and 6 local crops, one seed: the table, kNN and CPU time against the crops (with the
    class kNN's references), and each setting's extra CPU time."""
    guide.introduce(multicrop)
    guide.table(multicrop, rows=guide.summary(multicrop) + sweeps.reference_rows(multicrop, "0 local crops"),
                columns=("kNN", "shape colour", "position", "RankMe", "CPU seconds"))
    steps = {**multicrop["base_config"], **multicrop["shared"]}["steps"]
    figure = guide.lines({f"DINO, {steps} steps, one seed": (multicrop, "n_local_crops")},
                         metrics=("kNN", "CPU seconds"))
    levels = {**{name: values["kNN"] for name, values in sweeps.references(multicrop).items()},
              "untrained network": sweeps.seed_values(multicrop, "0 local crops", untrained=True)[0]}
    for name, level in levels.items():
        figure.axes[0].axhline(100 * level, color="0.4", ls=guide.REFERENCE_STYLES[name], lw=1, label=name)
    figure.axes[0].legend(fontsize=7, loc="lower right")
    chapter.display(figure)
    cost = {row["label"]: row["CPU seconds"][0] for row in guide.summary(multicrop)}
    print("CPU time: " + " | ".join(f"{label} {seconds:.0f} s ({seconds / cost['0 local crops'] - 1:+.0%} over none)"
                                    for label, seconds in cost.items()))


def _setting(backbone: str, crop_scale: float = 0.5, jitter_p: float = 0.8) -> str:
    return f"backbone {backbone}, augment.crop_min_scale {crop_scale}, augment.jitter_p {jitter_p}"


def _brief(label: str) -> str:
    return (label.replace("backbone ", "").replace("augment.crop_min_scale", "crop")
            .replace("augment.jitter_p", "jitter p"))


def interplay_reading(interplay: dict[str, Any]) -> None:
    """The same views on three backbones, one seed: the table with each backbone's untrained network, the
    heatmaps of class, position and background-colour kNN, and one line per backbone against its references."""
    guide.introduce(interplay)
    references = sweeps.reference_rows(interplay, _setting("small_cnn"))[:2]  # chance, raw pixels: the same images
    untrained = {b: guide.untrained_row(interplay, _setting(b), f"untrained {b}") for b in BACKBONES}
    guide.table(interplay, rows=[{**row, "label": _brief(row["label"])} for row in guide.summary(interplay)]
                + references + list(untrained.values()),
                columns=["kNN", "shape colour", "background colour", "position", "RankMe"])
    for metric, name in (("kNN", "the class"), ("position", "the position"),
                         ("background colour", "the background colour")):
        levels = ", ".join(f"{row['label']} {row[metric][0]:.1%}" for row in references)
        chapter.display(guide.heatmap(interplay, "augment.crop_min_scale", "backbone", metric,
                                      where={"augment.jitter_p": 0.8},
                                      title=f"SimCLR with colour jitter, {interplay['shared']['steps']} steps, one "
                                            f"seed\nkNN accuracy on {name} (%)\n({levels})"))
    raw = references[1]

    def against(measure, value, backbone):  # "14.1% (below its untrained network's 17.1%, below raw pixels' 23.6%)"
        levels = (("its untrained network's", untrained[backbone][measure][0]), ("raw pixels'", raw[measure][0]))
        return f"{value:.1%} (" + ", ".join(f"{'above' if value > level else 'below'} {name} {level:.1%}"
                                            for name, level in levels) + ")"

    for b in BACKBONES:
        run = {m: sweeps.seed_values(interplay, _setting(b), m)[0]
               for m in ("kNN", "background colour", "position", "RankMe", "normalised std")}
        without = sweeps.seed_values(interplay, _setting(b, jitter_p=0.0))[0]
        fell = collapse.collapsed(run["RankMe"], run["normalised std"])
        chapter.markdown(
            f"- **{b}**, one seed: the class {against('kNN', run['kNN'], b)}, and {without:.1%} without colour "
            f"jitter; the background colour {against('background colour', run['background colour'], b)}; the "
            f"position {against('position', run['position'], b)}; RankMe {run['RankMe']:.1f}, "
            + ("collapsed by chapter 1's rule." if fell else "not collapsed by chapter 1's rule."))


def democratizing_tables(democratizing: dict[str, dict[str, Any]]) -> dict[str, dict]:
    """Each democratizing sweep's table with its references (chance for the linear probe too); returns the
    toy sweep's changes from its default."""
    for name, sweep in democratizing.items():
        guide.introduce(sweep)
        chance, *others = sweeps.reference_rows(sweep, "default")
        guide.table(sweep, rows=guide.summary(sweep) + [{**chance, "linear probe": chance["kNN"]}, *others],
                    columns=["kNN", "linear probe"] + (["background colour", "position"] if name == "toy" else [])
                    + ["RankMe"])
    return guide.change_table(democratizing["toy"], "default", ["kNN", "linear probe", "background colour", "position"])


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


def digits_line(digits: dict[str, Any]) -> None:
    """The digits sweep, one seed: the range of its variants against raw pixels and the untrained network."""
    refs = {row["label"]: row["kNN"][0] for row in sweeps.reference_rows(digits, "default")}
    rows = {row["label"]: row for row in guide.summary(digits)}
    above = [label for label, row in rows.items() if row["kNN"][0] > refs["raw pixels"]]
    chapter.markdown(
        f"Digits, one seed each: the variants' kNN runs from {min(r['kNN'][0] for r in rows.values()):.1%} to "
        f"{max(r['kNN'][0] for r in rows.values()):.1%} and their linear probes from "
        f"{min(r['linear probe'][0] for r in rows.values()):.1%} to "
        f"{max(r['linear probe'][0] for r in rows.values()):.1%}; raw pixels' kNN is {refs['raw pixels']:.1%} "
        f"and the untrained network's {refs['untrained network']:.1%}. "
        + (f"{', '.join(above)} end above raw pixels' kNN." if above else "No variant's kNN is above raw pixels'."))
