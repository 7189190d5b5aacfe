"""The figure checker (tests/figure_checks.py) catches what a reader sees go wrong, and the book's figure
functions, drawn from small fake sweeps and runs, pass it: no colliding tick labels, no legend over data or
text, nothing cut off, no text too small once the HTML fits the figure to its column, one quantity per axis."""
import json

import figure_checks as checks
import pytest
import torch

from cookbook.book import (
    chapter,
    comparison,
    frontier,
    guide,
    plots,
    projector,
    report,
    selection,
    spectral,
    speed,
    teacher_views,
    views,
)
from cookbook.book import hyper as chapter12  # the name hyper is book_figures' fake sweeps
from cookbook.book import longtail as chapter11  # the name longtail is book_figures' fake sweeps
from cookbook.curves import new_figure
from cookbook.data import make_toy
from recipes import rotnet, simclr

LAMBDAS = [0.0, 0.005, 0.02, 0.05, 0.1, 0.2, 1.0]


# ----------------------------------------------------------------------------- the checker catches bad figures

def test_a_linear_axis_of_values_that_span_decades_has_colliding_tick_labels():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.plot(LAMBDAS, range(len(LAMBDAS)), "o-")
    ax.set_xticks(LAMBDAS, [f"{v:g}" for v in LAMBDAS])  # chapter 15's old axis: "0.00.02.05"
    found = checks.overlapping_tick_labels(fig)
    assert "axes 0: x tick labels '0' and '0.005' collide" in found and len(found) >= 3
    # the same values on the setting axis (symlog here): every label apart
    fig = new_figure(4, 3)
    ax = fig.subplots()
    at = plots.setting_axis(ax, LAMBDAS, "lambda")
    ax.plot([at[v] for v in LAMBDAS], range(len(LAMBDAS)), "o-")
    assert ax.get_xscale() == "symlog" and checks.overlapping_tick_labels(fig) == []
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0", "0.005", "0.02", "0.05", "0.1", "0.2", "1"]


def test_a_log_axis_with_minor_labels_collides_and_readable_log_ticks_do_not():
    fig = new_figure(7.5, 3.2)
    ax = fig.subplots()
    ax.barh(["torchvision v2, per image, 0 workers", "lightly SimCLRTransform, per image, 2 workers",
             "cookbook.augment, batched, 2 threads (cpu)"], [2134, 4775, 41207])
    ax.set_xscale("log")  # chapter 14's old axis: "2x10^3 3x10^3 4x10^3 6x10^3"
    assert any("10^{3}" in problem for problem in checks.overlapping_tick_labels(fig))
    plots.readable_log_axis(ax)
    assert checks.overlapping_tick_labels(fig) == []
    assert {"5,000", "10,000"} <= {t.get_text() for t in ax.get_xticklabels()}


def test_a_legend_over_a_line_is_found_and_one_under_the_axes_is_not():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.plot([0, 1], [1, 1], label="flat at the top")
    ax.plot([0, 1], [0, 0.5], label="rising")
    ax.set_ylim(0, 1.1)
    ax.legend(loc="upper center")
    assert checks.legend_over_data(fig) == ["the legend of axes 0 covers 'flat at the top' in axes 0"]
    ax.get_legend().remove()
    plots.legend_below(fig, [ax])
    assert checks.legend_over_data(fig) == [] and checks.legend_over_text(fig) == []


def test_a_legend_over_bars_or_scatter_points_is_found():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.bar([0, 1, 2], [9, 10, 9], label="tall bars")
    ax.legend(loc="upper center")
    assert checks.legend_over_data(fig) == ["the legend of axes 0 covers 'tall bars' in axes 0"]
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.scatter([0.5], [0.9], label="a point")
    ax.scatter([0.1], [0.1], label="another")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper center", markerscale=0.1)
    assert checks.legend_over_data(fig) == ["the legend of axes 0 covers 'a point' in axes 0"]


def test_a_reference_line_counts_only_when_asked():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 0.2], label="run")
    ax.axhline(0.9, color="grey", label="chance")
    ax.set_ylim(0, 1)
    ax.legend(loc="upper right")
    assert checks.legend_over_data(fig) == []
    assert checks.legend_over_data(fig, reference_lines=True) == ["the legend of axes 0 covers 'chance' in axes 0"]


def test_a_legend_over_a_title_text_cut_off_and_colliding_titles_are_found():
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1])
    ax.set_title("what the features keep")
    ax.legend(["a curve"], loc="lower center", bbox_to_anchor=(0.5, 0.97))  # chapter 8's legend over its title
    assert checks.legend_over_text(fig) == ["the legend of axes 0 ('what the features keep') covers 'what the features "
                                            "keep' of axes 0 ('what the features keep')"]
    fig = new_figure(4, 3)
    ax = fig.subplots()
    ax.legend(["far away"], loc="upper left", bbox_to_anchor=(1.5, 1.0))
    fig.set_layout_engine("none")
    assert checks.outside_figure(fig) == ["the legend of axes 0 is cut off at the edge of the figure"]
    fig = new_figure(4, 2)
    left, right = fig.subplots(1, 2)
    left.set_title("a title far too long for its half of the figure")
    right.set_title("and its neighbour")
    assert any("overlap" in problem for problem in checks.colliding_text(fig))


def test_text_too_small_once_the_page_shrinks_the_figure_and_two_units_on_one_axis():
    fig = new_figure(12, 3)  # shown at 690 px: a 7 pt legend comes out under 6 px
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], label="a run")
    ax.legend(fontsize=7)
    ax.set_ylabel("kNN accuracy (%) and RankMe")
    assert checks.shown_scale(fig) == pytest.approx(690 / 1080)
    assert any("'a run'" in problem for problem in checks.small_text(fig))
    assert checks.mixed_units(fig) == ["axes 0 ('kNN accuracy (%) and RankMe'): the y axis is labelled "
                                       "'kNN accuracy (%) and RankMe': one quantity per axis"]


@pytest.mark.parametrize("values, scale, labels", [
    (LAMBDAS, "symlog", ["0", "0.005", "0.02", "0.05", "0.1", "0.2", "1"]),
    ([8, 16, 32, 64, 128, 256, 512], "log", ["8", "16", "32", "64", "128", "256", "512"]),
    ([0.0, 0.9, 0.99, 0.999], "category", ["0", "0.9", "0.99", "0.999"]),
    ([0, 2, 6], "linear", ["0", "2", "6"]),
    (["constant", "cosine"], "category", ["constant", "cosine"]),
])
def test_the_setting_axis_puts_a_tick_at_each_value_on_a_scale_that_spreads_them(values, scale, labels):
    fig = new_figure(3.8, 2.5)
    ax = fig.subplots()
    at = plots.setting_axis(ax, values, "setting")
    ax.plot([at[v] for v in values], range(len(values)), "o-")
    assert ax.get_xscale() == ("linear" if scale in ("category", "linear") else scale)
    assert [t.get_text() for t in ax.get_xticklabels()] == labels
    assert ax.get_xlabel() == ("setting (evenly spaced)" if scale == "category" and values[0] != "constant"
                               else "setting")
    assert checks.problems(fig) == []


def test_untangle_turns_crowded_labels_vertical_then_leaves_some_out():
    fig = new_figure(3, 2)
    ax = fig.subplots()
    values = [0.004, 0.016, 0.03, 0.064, 0.1, 0.3, 0.4, 1.6]
    at = plots.setting_axis(ax, values, "lr", scale="log")
    ax.plot([at[v] for v in values], range(len(values)))
    assert checks.overlapping_tick_labels(fig)
    plots.untangle_tick_labels(fig)
    assert checks.overlapping_tick_labels(fig) == [] and ax.xaxis.get_ticklabels()[0].get_rotation() == 90


# ----------------------------------------------------------------------------- the book's figures pass it

def _after(i: int, seed: int) -> dict:
    """Measures of a fake run that differ from point to point and seed to seed, without randomness."""
    wave = (i * 37 % 11) / 11
    return {"knn_acc": 0.2 + 0.3 * wave + 0.02 * seed, "rankme": 10 + 25 * wave - seed, "step": 300,
            "fg_hue_bin_knn_acc": 0.5 - 0.2 * wave, "bg_hue_bin_knn_acc": 0.3 + 0.1 * wave,
            "position_cell_knn_acc": 0.25 + 0.05 * seed, "scale_bin_knn_acc": 0.6 - 0.1 * wave,
            "mean_std": 0.05 + 0.02 * wave, "std_if_uniform": 0.09}


def fake_sweep(settings: list[dict], seeds=(0, 1), recipe: str = "simclr", base: dict | None = None) -> dict:
    """A kept sweep as ``report.load_sweep`` gives it: one point per settings and seed."""
    points = []
    for i, values in enumerate(settings):
        label = ", ".join(f"{k.removeprefix('augment.')} {v}" for k, v in values.items()) or "default"
        for seed in seeds:
            after = _after(i, seed)
            layers = [{"layer": name, "dim": 128, "knn_acc": after["knn_acc"] - 0.03 * j,
                       "linear_acc": after["knn_acc"] + 0.1 - 0.04 * j, "rankme": after["rankme"] - j}
                      for j, name in enumerate(("backbone", "projector 1", "projector 2"))]
            points.append({"label": f"{label}, seed {seed}", "settings": values, "seed": seed, "after": after,
                           "before": {"knn_acc": 0.13, "rankme": 30.0}, "seconds": 20.0 + i, "cpu_seconds": 35.0 + i,
                           "history": [{"step": s, "loss": 5.0 - 0.01 * s - 0.1 * i} for s in range(0, 301, 50)],
                           "spectrum": [1.0 / (1 + k) ** (1 + 0.1 * i) for k in range(64)], "layers": layers})
    return {"sweep": "fake", "recipe": recipe, "shared": {"steps": 300}, "seconds": 100.0,
            "base_config": {"seed": 0, **(base or {})},
            "command": "python benchmarks/sweep.py fake", "points": points}


def grid(**axes) -> list[dict]:
    combos = [{}]
    for name, values in axes.items():
        combos = [{**c, name: v} for c in combos for v in values]
    return combos


def history(knn: float) -> list[dict]:
    return [{"step": s, "loss": 5.0 - s / 150, **({"knn_acc": knn * s / 600 + 0.1, "rankme": 20 + s / 30}
                                                  if s % 100 == 0 else {})} for s in range(0, 601, 20)]


def quick_rows() -> list[dict]:
    names = ["rotnet", "jigsaw", "simclr", "nnclr", "moco", "byol", "simsiam", "dino", "vicreg", "barlow_twins",
             "swav", "wmse", "mae", "ijepa", "lejepa", "diet"]
    return [{"method": n, "family": "", "dataset": "toy", "backbone": "small_cnn", "knn_acc": 0.2 + 0.03 * (i % 9),
             "random_init_knn_acc": 0.13, "raw_pixel_knn_acc": 0.236, "knn_gain": 0.07 + 0.03 * (i % 9),
             "linear_acc": 0.3 + 0.03 * (i % 9), "rankme": 20.0 + 2 * i, "feature_dim": 128, "steps": 600,
             "wall_s": 20.0, "process_s": 25.0, "device": "cpu"} for i, n in enumerate(names)]


def book_figures():
    """Each figure function the chapters call, with arguments shaped like the chapters' own."""
    lam = fake_sweep(grid(lambd=LAMBDAS), recipe="lejepa")
    moco = fake_sweep(grid(momentum=[0.0, 0.9, 0.99, 0.999]), recipe="moco")
    proj = {name: fake_sweep(grid(proj_dim=[16, 128, 512, 2048]) + grid(proj_depth=[0, 1, 2, 3])) for name in
            ("simclr", "vicreg")}
    crops = fake_sweep(grid(n_local_crops=[0, 2, 6]), recipe="dino")
    rule = fake_sweep([{}] + grid(batch_size=[16, 32, 64, 256], lr_rule=["linear", "square root"]),
                      base={"batch_size": 128})
    optimizers = fake_sweep(grid(optimizer=["adamw"], lr=[0.004, 0.016, 0.064])
                            + grid(optimizer=["sgd"], lr=[0.03, 0.1, 0.3])
                            + grid(optimizer=["lars"], lr=[0.1, 0.4, 1.6]))
    strength = fake_sweep(grid(**{"augment.crop_min_scale": [0.1, 0.25, 0.5, 0.8],
                                  "augment.jitter_strength": [0.0, 0.5, 1.0, 1.5]}))
    byol = fake_sweep(grid(momentum_schedule=["constant", "cosine"], momentum=[0.9, 0.98, 0.996]), recipe="byol")
    ablation = fake_sweep([{}, {"augment.crop": False}, {"augment.jitter_p": 0.0}, {"augment.gray_p": 0.0},
                           {"augment.flip_p": 0.0}, {"augment.blur_p": 1.0}, {"augment.rotate_degrees": 0}])
    hyper = {m: fake_sweep(grid(temperature=[0.1, 0.2, 0.5], lr=[0.004, 0.016, 0.064]), recipe=m.lower())
             for m in ("SimCLR", "VICReg", "LeJEPA")}
    longtail = {}
    for method in ("simclr", "swav", "vicreg", "byol"):
        counts = {1: [200] * 10, 10: [int(400 / 10 ** (c / 9)) for c in range(10)],
                  100: [int(1000 / 100 ** (c / 9)) for c in range(10)]}
        sweep = fake_sweep(grid(**{"data.class_ratio": [1, 10, 100]}), seeds=(0, 1, 2))
        for point in sweep["points"]:
            ratio, seed = point["settings"]["data.class_ratio"], point["seed"]
            scores = {"knn_acc": [0.3 + 0.02 * c + 0.01 * seed for c in range(10)],
                      "linear_acc": [0.4 + 0.02 * c - 0.001 * ratio for c in range(10)]}
            point.update(label=f"ratio {ratio}, seed {seed}", per_class={"train_counts": counts[ratio], **scores},
                         per_class_balanced=scores)
        longtail[method] = sweep
    tail_changes = {labels: {probe: {**{m: [-0.4 + 0.02 * s - 0.05 * i for s in range(3)] for i, m in
                                        enumerate(("SimCLR", "SwAV", "VICReg", "BYOL"))},
                                     "raw pixels": None if probe == "linear" else [-0.15],
                                     "untrained network": [-0.1, -0.08, -0.12]} for probe in ("kNN", "linear")}
                    for labels in ("long-tailed", "balanced")}
    per_class_references = {"raw pixels": {"knn_acc": [0.2 + 0.01 * c for c in range(10)]},
                            "untrained network": {"knn_acc": [0.15] * 10, "linear_acc": [0.18] * 10}}
    generator = torch.Generator().manual_seed(0)
    z = torch.randn(200, 32, generator=generator)
    classes = ("disk", "ring", "square", "triangle", "cross", "star", "half-disk", "frame", "L-shape", "bars")
    throughput = json.loads((report.RESULTS.parent / "benchmarks" / "augment-throughput.json").read_text())
    levers = json.loads((report.RESULTS.parent / "benchmarks" / "step-levers.json").read_text())
    toy = quick_rows()
    by_t = {t: {"knn_acc": 0.2 + t / 4, "rankme": 30 - 10 * t} for t in (0.05, 0.2, 0.5, 1.0)}
    by_b = {b: {"knn_acc": 0.15 + b / 1000, "rankme": 18 + b / 20} for b in (8, 32, 128)}
    yield "guide.lines, lambda (symlog)", lambda: guide.lines({"LeJEPA, 300 steps": (lam, "lambd")})
    yield "guide.lines, momentum (evenly spaced)", lambda: guide.lines({"MoCo, 300 steps": (moco, "momentum")})
    yield "guide.lines, two sweeps of output sizes", lambda: guide.lines(
        {f"{n}: output size": (s, "proj_dim") for n, s in proj.items()}, metrics=("linear probe", "RankMe"))
    yield "guide.lines, cost", lambda: guide.lines({"DINO, 900 steps": (crops, "n_local_crops")},
                                                   metrics=("kNN", "CPU seconds"))
    yield "views.multicrop_figure", lambda: views.multicrop_figure(report.load_sweep("multicrop-dino"))
    yield "teacher_views.momentum_figure", lambda: teacher_views.momentum_figure(
        {"BYOL": report.load_sweep("ema-byol"), "MoCo": report.load_sweep("momentum-moco")})
    yield "teacher_views.collapse_map", lambda: teacher_views.collapse_map(report.load_sweep("ema-dino"))
    yield "guide.series, batch sizes", lambda: guide.series(
        rule, "batch_size", lambda row: row["settings"].get("lr_rule", ("linear", "square root")), log_x=True,
        title="SimCLR, 300 steps: kNN by batch size and rule")
    yield "guide.series, learning rates", lambda: guide.series(
        optimizers, "lr", lambda row: row["settings"]["optimizer"], log_x=True, title="kNN by optimizer and lr")
    yield "hyper.scaling_figure", lambda: chapter12.scaling_figure(report.load_sweep("lr-scaling-simclr"))
    yield "hyper.optimizer_figure", lambda: chapter12.optimizer_figure(report.load_sweep("optimizer-simclr"))
    yield "hyper.lr_figure", lambda: chapter12.lr_figure(
        chapter12.lr_pool({name: report.load_sweep(name) for name in chapter12.POOLED}),
        chapter12.levels(report.load_sweep("lr-scaling-simclr")), title="SimCLR: kNN against the mean learning rate")
    yield "guide.heatmap", lambda: guide.heatmap(strength, "augment.jitter_strength", "augment.crop_min_scale",
                                                 "kNN", title="SimCLR, 300 steps: kNN")
    yield "guide.heatmap, names", lambda: guide.heatmap(byol, "momentum_schedule", "momentum", "kNN",
                                                        title="BYOL, 400 steps: kNN accuracy")
    yield "guide.class_and_nuisances", lambda: guide.class_and_nuisances(ablation, title="what the features keep")
    chapter9 = {name: projector.tidy(report.load_sweep(sweep)) for name, sweep in projector.METHODS.items()}
    chapter9["BYOL"] = report.load_sweep(projector.BYOL[0])
    yield "projector.layer_figure", lambda: projector.layer_figure(
        projector.defaults(chapter9), title="Where to cut: the default projectors, three seeds each")
    yield "projector.shape_figure", lambda: projector.shape_figure(chapter9, title="Each projector setting alone")
    yield "projector.spectra_figure", lambda: projector.spectra_figure(chapter9, title="The backbone's spectrum")
    measures = ["kNN", *projector.NUISANCES]
    layers = ("backbone", "projector 1", "projector 2")
    yield "projector.nuisance_figure", lambda: projector.nuisance_figure(
        {"trained": {layer: {m: 0.3 + 0.05 * i for i, m in enumerate(measures)} for layer in layers},
         "untrained": {layer: {m: [0.2, 0.22, 0.25] for m in measures} for layer in layers},
         "chance": dict.fromkeys(measures, 0.12), "raw pixels": dict.fromkeys(measures, 0.4), "seed": 0,
         "seeds": [0, 1, 2]}, title="What each layer keeps")
    yield "longtail.class_figure", lambda: chapter11.class_figure(
        longtail, "knn_acc", "balanced", per_class_references, 0.1, "kNN of each class, balanced labels")
    yield "longtail.class_figure, long-tailed labels", lambda: chapter11.class_figure(
        longtail, "linear_acc", "long-tailed", chance=0.1)
    yield "longtail.change_figure", lambda: chapter11.change_figure(tail_changes, "the tail's change")
    yield "guide.projections", lambda: guide.projections({"LeJEPA": z, "untrained": z ** 3})
    yield "frontier.lambda_figure", lambda: frontier.lambda_figure(report.load_sweep("lejepa-lambda"))
    yield "frontier.loss_figure", lambda: frontier.loss_figure(
        {m: report.load_sweep(f"hyper-{m.lower()}") for m in ("LeJEPA", "SimCLR", "VICReg")},
        {"LeJEPA": "lambd", "SimCLR": "temperature", "VICReg": "cov_coeff"})
    yield "frontier.diet_figure", lambda: frontier.diet_figure(
        frontier.diet_rows(report.load_sweep("diet-size"), report.load_sweep("diet-size-simclr")))
    yield "plots.knn_rankme_sweeps", lambda: plots.knn_rankme_sweeps(
        {"temperature": by_t, "batch size": by_b}, titles={"temperature": "batch 128, 600 steps"},
        stars={"batch size": (32, by_b[32], "kNN, batch 32 with the images of batch 128")}, title="SimCLR")
    yield "plots.overlaid_training_curves", lambda: plots.overlaid_training_curves(
        {"byol": history(0.2), "simsiam": history(0.25), "dino": history(0.3)}, log_loss=False,
        baselines={"untrained network": 0.133})
    yield "plots.spectrum_panels", lambda: plots.spectrum_panels(
        {"BYOL: spectrum of the probe's embeddings": {"default": z, "no predictor": z[:, :3]},
         "SimSiam: spectrum of the probe's embeddings": {"default": z, "no predictor": z * 1e-3}}, absolute=True)
    yield "plots.prototype_usage", lambda: plots.prototype_usage({"DINO": z, "no centering": z * 10}, 0.04,
                                                                 title="DINO: the average distribution")
    yield "plots.linear_regime_panels", lambda: plots.linear_regime_panels(
        spectral.linear_regime(spectral.make_problem(n=60, seed=1), steps=20, log_every=10))
    yield "plots.lab_dashboard", lambda: plots.lab_dashboard(
        history(0.3), z, torch.arange(200) % 10, classes, title="SimCLR lab",
        previous=[("run 1: lr=0.1", history(0.2))],
        nuisance={name: [(0, 0.3), (300, 0.4 + i / 10), (600, 0.5)] for i, name in
                  enumerate(("shape colour", "background colour", "position", "size"))})
    yield "chapter.curves's figure", lambda: plots.overlaid_training_curves(
        {"simclr": history(0.3)}, log_loss=False, title="simclr on toy",
        baselines={"raw pixels": 0.236, "untrained network": 0.133})
    yield "selection.regret_figure", lambda: selection.regret_figure(hyper, "RankMe", "kNN")
    yield "selection.regret_figure, one method", lambda: selection.regret_figure({"SimCLR": hyper["SimCLR"]})
    yield "selection.regret_figure, no untrained measure", lambda: selection.regret_figure(
        hyper, "embedding RankMe", "linear probe")
    yield "selection.loss_figure", lambda: selection.loss_figure(
        hyper, {"SimCLR": "temperature", "VICReg": "temperature", "LeJEPA": "lr"})
    seeded = [{"method": n, "backbone": "CNN, width 16", "knn": [0.3 + 0.02 * i, 0.32 + 0.02 * i, 0.35 + 0.02 * i]
               if i % 3 else [0.3 + 0.02 * i], "untrained": [0.13] * (3 if i % 3 else 1), "raw pixels": 0.236,
               "chance": 0.117} for i, n in enumerate(r["method"] for r in toy)]
    yield "comparison.figure", lambda: comparison.figure(seeded, title="quick runs on the toy shapes: kNN accuracy")
    yield "report.comparison_figure", lambda: report.comparison_figure(toy, title="quick budget on the toy shapes")
    images = make_toy(32, 8, seed=0).train_x
    yield "plots.image_grid", lambda: plots.image_grid(
        images[:20], 5, 4, cell=1.3,
        col_labels=["original\n(colour target)", "colourization\ninput", "inpainting\ninput", "inpainting\ntarget"])
    yield "plots.augmentation_gallery", lambda: plots.augmentation_gallery(
        images[:4], simclr.Config.for_budget("quick").augment, n_views=6)
    yield "plots.rotation_grid", lambda: plots.rotation_grid(images[:3], rotnet.rotate_batch, title="rotations")
    yield "speed.augment_figure", lambda: speed.augment_figure(throughput)
    yield "speed.step_figure", lambda: speed.step_figure(levers["rows"])
    yield "speed.lever_figure", lambda: speed.lever_figure(levers)


@pytest.mark.parametrize("name, draw", list(book_figures()), ids=[name for name, _ in book_figures()])
def test_the_books_figures_pass_the_checks(name, draw):
    assert checks.problems(draw()) == []


def test_chapter_curves_draws_the_books_figure(monkeypatch):
    shown = []
    monkeypatch.setattr(chapter, "display", shown.append)
    chapter.curves({"method": "simclr", "dataset": "toy", "history": history(0.3), "raw_pixel_knn_acc": 0.236,
                    "random_init_knn_acc": 0.133})
    [fig] = shown
    assert fig.get_figwidth() <= plots.COLUMN_WIDTH and checks.problems(fig) == []
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["simclr", "raw pixels", "untrained network"]
