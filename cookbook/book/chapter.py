"""The chapters' toolkit: what every chapter does, written once (d2l's ``#@save``, as a module).

A chapter opens with :func:`preamble`, shows a recipe's own code with :func:`show`, trains
with :func:`train` (its budget's run: the toy shapes in quick mode, CIFAR-10 for minutes on a
GPU, through the ``chapter`` budget) or :func:`short_run` (a short quick-budget run measured
before and after), and reports with :func:`results`, :func:`knn_table` and
:func:`collapse_table`. Every run goes through :func:`cookbook.run.prepare`, the same setup
path as the command line, the collapse probe and the lab.
"""
from __future__ import annotations

import dataclasses
import inspect
import platform
from types import ModuleType
from typing import Any

import torch

from cookbook import __version__, current_budget, evaluate, pick_device
from cookbook.book import cache, collapse, probes, report
from cookbook.book.plots import overlaid_training_curves
from cookbook.checkpoint import CHECKPOINT_NAME, load_checkpoint
from cookbook.config import ConfigError
from cookbook.run import prepare, recipe_module, run_recipe
from cookbook.train import Trainer


def budget() -> str:
    """The budget a chapter trains with: ``quick`` in quick mode, ``chapter`` (CIFAR-10 for a
    few minutes) on a GPU, else ``cpu``."""
    name = current_budget()
    return "chapter" if name == "cuda" else name


def preamble() -> tuple[str, torch.device]:
    """Print the chapter's budget, device and versions; return ``(budget, device)``."""
    import ipywidgets

    name, device = budget(), pick_device()
    print(f"budget: {name} | device: {device} | torch {torch.__version__} | ipywidgets {ipywidgets.__version__} | "
          f"ssl-cookbook {__version__} | Python {platform.python_version()}")
    return name, device


def display(*objects) -> None:
    from IPython.display import display as show_in_notebook

    show_in_notebook(*objects)


class Listing:
    """Source code shown as a notebook output: highlighted, in a block that scrolls sideways where a
    line is wider than the page (the package's lines run to 120 columns; the book's column holds
    about 88), so that no line is cut off in the HTML book or in Colab. Plain text where no HTML is
    shown."""

    def __init__(self, source: str, language: str = "python"):
        self.source, self.language = source, language

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict[str, str]:
        from IPython.display import Code

        highlighted = Code(self.source, language=self.language)._repr_html_()
        return {"text/plain": self.source,
                "text/html": f'<div class="cookbook-listing" style="overflow-x: auto; max-width: 100%;">'
                             f'{highlighted}</div>'}


def show(*objects) -> None:
    """Show the source of functions and classes as they are in the package: never a copy that drifts.
    Each is a :class:`Listing`: long lines scroll sideways instead of running off the page."""
    for obj in objects:
        display(Listing(inspect.getsource(obj)))


def markdown(text: str) -> None:
    """Show Markdown (a table of results) as the cell's output; the HTML book lets a table wider than
    its column scroll sideways (book/_static/cookbook.css)."""
    from IPython.display import Markdown

    display(Markdown(text))


def _cell(value: Any, spec: str = "") -> str:
    """One table cell: ``value`` formatted with ``spec``, a float as typed (``0.005``, ``1e-05``), a pair as
    ``(0.75, 1.33)``, pipes escaped."""
    if spec:
        text = format(value, spec)
    elif isinstance(value, float):
        text = f"{value:g}"
    elif isinstance(value, (tuple, list)):
        text = "(" + ", ".join(f"{v:.3g}" if isinstance(v, float) else _cell(v) for v in value) + ")"
    else:
        text = str(value)
    return text.replace("|", "\\|")


def _flat_settings(values: Any, prefix: str = "") -> dict[str, Any]:
    """A config, a dataclass or a dict as ``{name: value}``, nested configs as ``outer.inner`` names."""
    if dataclasses.is_dataclass(values) and not isinstance(values, type):
        values = {f.name: getattr(values, f.name) for f in dataclasses.fields(values)}
    flat = {}
    for name, value in dict(values).items():
        if (dataclasses.is_dataclass(value) and not isinstance(value, type)) or isinstance(value, dict):
            flat.update(_flat_settings(value, f"{prefix}{name}."))
        else:
            flat[f"{prefix}{name}"] = value
    return flat


def settings_markdown(values: Any, keys: Any = None, *, differ_from: Any = None, notes: dict[str, str] | None = None,
                      header: tuple[str, str] = ("setting", "value")) -> str:
    """:func:`settings` as Markdown text."""
    flat = _flat_settings(values)
    if keys is not None:
        missing = [k for k in keys if k not in flat]
        if missing:
            raise KeyError(f"no setting {', '.join(map(repr, missing))}; the settings are {', '.join(flat)}")
        flat = {k: flat[k] for k in keys}
    if differ_from is not None:
        base = _flat_settings(differ_from)
        flat = {k: v for k, v in flat.items() if base.get(k, object()) != v}
    notes = notes or {}
    lines = [f"| {header[0]} | {header[1]} |" + (" note |" if notes else ""), "|---|---|" + ("---|" if notes else "")]
    lines += [f"| `{k}` | {_cell(v)} |" + (f" {_cell(notes.get(k, ''))} |" if notes else "") for k, v in flat.items()]
    return "\n".join(lines)


def settings(values: Any, keys: Any = None, *, title: str | None = None, differ_from: Any = None,
             notes: dict[str, str] | None = None) -> None:
    """A few settings as a small two-column Markdown table (setting, value) instead of a raw dict or
    dataclass dump: ``values`` is a dict, a recipe's ``Config`` or any dataclass, nested configs
    flattened (``augment.jitter_strength``). ``keys``: only these, in this order; ``differ_from``:
    only the settings whose value differs from that config's (what a variant changed); ``notes``:
    setting -> a third column's comment; ``title``: a bold line above.
    ``settings(vicreg.Config(), ["sim_coeff", "std_coeff", "cov_coeff"])``"""
    markdown((f"**{title}**\n\n" if title else "") + settings_markdown(values, keys, differ_from=differ_from,
                                                                      notes=notes))


def config(recipe: ModuleType | str, quick: dict[str, Any] | None = None, **overrides):
    """The recipe's config on the chapter's :func:`budget`, with ``overrides``; ``quick`` holds
    overrides for the quick budget only (a shorter run on the toy shapes that the GPU run needs not)."""
    name = budget()
    return recipe_module(recipe).Config.for_budget(name, **{**overrides, **((quick or {}) if name == "quick" else {})})


def train(recipe: ModuleType | str, quick: dict[str, Any] | bool | None = None, **overrides) -> dict[str, Any] | None:
    """Train ``recipe`` on the chapter's budget (see :func:`config`) and return its metrics,
    after one line that says what is being trained. An identical run that finished before (same
    settings, same code, :mod:`cookbook.book.cache`) is reused instead of trained again: the book's
    own benchmark run when the settings are the recipe's quick defaults, which is why chapters
    train those and not shortened variants. ``quick=False``
    skips the run on the quick budget (it returns None and says so): for a method whose quick run
    would cost the chapter more than the minute it has, and that the chapter trains elsewhere, in a
    lab or the probes."""
    recipe = recipe_module(recipe)
    name = recipe.__name__.rsplit(".", 1)[-1]
    if quick is False:
        if budget() == "quick":
            print(f"{name}: not trained here on the quick budget (its own quick run: "
                  f"{recipe.Config.for_budget('quick').steps} steps)")
            return None
        quick = None
    run_config = config(recipe, quick, **overrides)
    what = (f"{name}: {run_config.dataset}, {run_config.backbone}, {run_config.steps} steps of "
            f"{run_config.batch_size} images")

    def trained_here() -> dict[str, Any]:
        print(f"{what}: training", flush=True)
        return run_recipe(recipe, run_config)

    metrics = cache.cached_run(recipe, run_config, pick_device(run_config.device), trained_here)
    if "committed" in metrics:  # one line, with the seconds the table shows (the run's own wall time)
        made = metrics["committed"]
        print(f"{what}: this exact run (same settings, same training code) ships with the book, trained by "
              f"benchmarks/recipes_table.py on {made.get('date', 'an earlier day')} in {metrics['wall_s']:.0f} s "
              f"({made.get('machine', 'machine not recorded')}); `python -m recipes {name} --quick` trains it "
              f"again, and so does COOKBOOK_CACHE=off here")
    elif metrics.get("cached"):
        print(f"{what}: the same run (same settings, same code) finished earlier, in another chapter or an "
              f"earlier execution, in {metrics['wall_s']:.0f} s; its result is reused (COOKBOOK_CACHE=off trains "
              f"it again)")
    return metrics


def short_run(recipe: ModuleType | str, data=None, probe_layers: bool = False, per_class: bool = False,
              balanced=None, keep_model: bool = False, **overrides) -> dict[str, Any]:
    """A short quick-budget run of ``recipe`` (``overrides`` on top, no evaluation on the way unless
    ``eval_every`` asks for it, no files), with its backbone measured before and after training:
    ``{"before": ..., "after": ..., "history": [...], "spectrum": [...]}``. ``before`` and ``after``
    are each the kNN accuracy (the class's, ``knn_acc``, and each nuisance factor's,
    ``<factor>_knn_acc``), RankMe and :func:`cookbook.evaluate.collapse_report` of the test
    features, ``after`` also the last record's training outputs (loss, pretext accuracy);
    ``history`` the training records (loss every ``log_every`` steps, kNN and RankMe every
    ``eval_every``); ``spectrum`` the singular values of the final test features over the largest
    (what the lab's spectrum panel draws). ``data`` reuses already loaded data across a sweep.
    ``probe_layers=True`` adds ``layers``: :func:`cookbook.book.probes.layer_probes` of the trained model,
    kNN, linear probe and RankMe at the backbone and after each projector layer. ``per_class=True`` adds
    ``per_class``: :func:`cookbook.book.probes.per_class_scores`, each class's training images and its kNN
    and linear-probe accuracy; with ``balanced`` (a long-tailed ``data``'s balanced twin,
    :func:`cookbook.book.guide.point_data`) also ``per_class_balanced``, the same probes with balanced labels,
    which measure the features alone. ``keep_model=True`` adds the trained ``model`` and its ``data``, for a
    chapter to ask more of them than the measures (chapter 13 fine-tunes the backbone)."""
    recipe = recipe_module(recipe)
    run_config = recipe.Config.for_budget("quick", **{"eval_every": 0, "progress": False, "out": None, **overrides})
    data, model = prepare(recipe, run_config, data)
    trainer = Trainer(model, data, run_config)

    def measured() -> tuple[dict[str, float], torch.Tensor]:
        z = evaluate.embed(model.backbone, data.test_x)
        nuisances = evaluate.bank_knn_scores(model.backbone, data, run_config.eval_bank, run_config.knn_k,
                                             run_config.knn_temperature)
        return {**nuisances, **trainer.evaluate(), **evaluate.collapse_report(z)}, z

    before, _ = measured()
    last = list(trainer.run())[-1]
    after, z = measured()
    sigma = evaluate.singular_values(z)
    result = {"before": before, "after": {**last, **after}, "history": [dict(r) for r in trainer.history],
              "spectrum": [round(float(v), 6) for v in sigma / sigma[0]]}
    if probe_layers:
        result["layers"] = probes.layer_probes(model, data, bank=run_config.eval_bank, k=run_config.knn_k,
                                               temperature=run_config.knn_temperature, seed=run_config.seed)
    if per_class:
        for key, labelled in (("per_class", data), ("per_class_balanced", balanced)):
            if labelled is not None:
                result[key] = probes.per_class_scores(model.backbone, labelled, bank=run_config.eval_bank,
                                                      k=run_config.knn_k, temperature=run_config.knn_temperature,
                                                      seed=run_config.seed)
    if keep_model:
        result.update(model=model, data=data)
    return result


def results(runs: dict[str, dict] | list[dict], figure: str | None = None) -> list[dict[str, Any]]:
    """The standard result table of finished runs (their metrics), and with a ``figure`` title the
    comparison figure; returns the table's rows."""
    rows = [report.row(m) for m in (runs.values() if isinstance(runs, dict) else runs)]
    markdown(report.markdown_table(rows))
    if figure:
        display(report.comparison_figure(rows, title=figure))
    return rows


def curves(metrics: dict[str, Any], title: str | None = None) -> None:
    """A run's training curves (loss, kNN accuracy, RankMe), with the raw-pixel and untrained-network
    kNN as reference lines, one legend under the panels (:func:`cookbook.book.plots.overlaid_training_curves`
    with one run: the book's column width, no legend over a curve)."""
    display(overlaid_training_curves({metrics["method"]: metrics["history"]}, log_loss=False,
                                     title=title or f"{metrics['method']} on {metrics['dataset']}",
                                     baselines={"raw pixels": metrics["raw_pixel_knn_acc"],
                                                "untrained network": metrics["random_init_knn_acc"]}))


def knn_table(runs: dict[str, dict], factor: str = "fg_hue_bin", factor_name: str = "shape colour") -> None:
    """What the features kept and dropped: kNN accuracy for the class and for a nuisance factor
    (on the toy shapes, the shape's colour), for each run, its untrained network and raw pixels."""
    lines = [f"| features | kNN accuracy: the class | kNN accuracy: {factor_name} |", "|---|---|---|"]

    def line(label, metrics, prefix=""):
        nuisance = metrics.get(f"{prefix}{factor}_knn_acc")  # only datasets that record the factor have it
        lines.append(f"| {label} | {metrics[prefix + 'knn_acc']:.1%} | "
                     f"{'n/a' if nuisance is None else f'{nuisance:.1%}'} |")

    for label, metrics in runs.items():
        line(label, metrics)
        line(f"{label}, untrained", metrics, "random_init_")
    line("raw pixels", next(iter(runs.values())), "raw_pixel_")
    markdown("\n".join(lines))


def collapse_table(rows: list[dict], title: str | None = None) -> None:
    """The collapse probes' table (:func:`cookbook.book.collapse.markdown_table`), then one line per
    variant that says how far it moved from the first row (the default) and whether it collapsed."""
    markdown((f"**{title}**\n\n" if title else "") + collapse.markdown_table(rows))
    default = rows[0]
    for row in rows[1:]:
        print(f"{row['run']}: RankMe {default['rankme']:.2f} -> {row['rankme']:.2f}, normalised std "
              f"{collapse.normalised_std(default):.3f} -> {collapse.normalised_std(row):.3f}, final loss "
              f"{default['loss']:.3f} -> {row['loss']:.3f} | {'collapsed' if row['collapsed'] else 'not collapsed'}")


def first_image_of_each(data, *class_names: str) -> torch.Tensor:
    """The first training image of each named class, as one batch ``(len(class_names), C, H, W)``
    (uint8, on the data's device), in the order given.

    A figure that shows what a transformation does (a rotation, a hole, a grid of patches) is
    easiest to read on a few chosen classes, and taking the first image of each keeps the same
    examples every time the chapter runs: ``first_image_of_each(toy, "cross", "ring")``."""
    unknown = [name for name in class_names if name not in data.classes]
    if unknown:
        raise ValueError(f"{data.name} has no class {', '.join(map(repr, unknown))}; "
                         f"its classes are {', '.join(data.classes)}")
    images = []
    for name in class_names:
        of_class = data.train_x[data.train_y == data.classes.index(name)]
        if not len(of_class):
            raise ValueError(f"{data.name} holds no training image of {name!r}: load more images (n_train)")
        images.append(of_class[0])
    return torch.stack(images)


def short_run_table(runs: dict[str, dict], accuracy_key: str, n_classes: int) -> None:
    """The table of a pretext task's :func:`short_run` results, then one line per run.

    ``runs``: label -> what :func:`short_run` returned (``{"before": ..., "after": ...}``);
    ``accuracy_key``: the pretext accuracy the recipe records (``"rotation_acc"``);
    ``n_classes``: how many answers the pretext question has. Each row shows the final pretext
    loss and accuracy against chance (``ln n_classes`` and ``1 / n_classes``: a network that
    cannot answer the question), then the backbone's kNN accuracy, RankMe and normalised std
    (:func:`cookbook.book.collapse.normalised_std`, 1 is the healthy ``1/sqrt(D)``) before -> after.
    Each line says where the loss ended against chance and whether kNN accuracy and RankMe rose:
    a pretext loss stuck at chance means the question has no answer in the data."""
    import math

    chance_loss = math.log(n_classes)
    lines = [f"| run | pretext loss (chance: ln {n_classes} = {chance_loss:.3f}) | pretext accuracy "
             f"(chance {1 / n_classes:.1%}) | kNN accuracy | RankMe | std / (1/sqrt(D)) |",
             "|---|---:|---:|---:|---:|---:|"]
    for label, run in runs.items():
        b, a = run["before"], run["after"]
        lines.append(f"| {label} | {a['loss']:.3f} | {a[accuracy_key]:.1%} | {b['knn_acc']:.1%} → "
                     f"{a['knn_acc']:.1%} | {b['rankme']:.1f} → {a['rankme']:.1f} / {a['dim']} | "
                     f"{collapse.normalised_std(b):.2f} → {collapse.normalised_std(a):.2f} |")
    markdown("\n".join(lines))
    for label, run in runs.items():
        b, a = run["before"], run["after"]
        points = 100 * (a["knn_acc"] - b["knn_acc"])  # a change of a few tenths is noise, so say how large it is
        print(f"{label}: the final loss is {a['loss'] / chance_loss:.1%} of ln {n_classes}; kNN accuracy "
              f"{'rose' if points > 0 else 'fell'} by {abs(points):.1f} points "
              f"({b['knn_acc']:.1%} -> {a['knn_acc']:.1%}); "
              f"RankMe {'rose' if a['rankme'] > b['rankme'] else 'fell'} ({b['rankme']:.1f} -> {a['rankme']:.1f})")


def model_from_checkpoint(recipe: ModuleType | str, run_config) -> tuple[Any, torch.nn.Module]:
    """The data and the trained model of a finished run, rebuilt from the checkpoint it wrote.

    ``run_config``: the config the run trained with (:func:`config`, with ``out`` set: the run's
    folder, which holds ``checkpoint.pt`` with its final weights). The model is built the way the
    run built it (:func:`cookbook.run.prepare`: same seed, same data) and loaded with
    :func:`cookbook.checkpoint.load_checkpoint`, so a chapter can ask the trained network
    something the metrics do not hold (MAE's reconstructions). Returns ``(data, model)``.
    """
    from pathlib import Path

    if not run_config.out or not (Path(run_config.out) / CHECKPOINT_NAME).exists():
        raise ConfigError(f"out={run_config.out!r} holds no {CHECKPOINT_NAME}: train with this config and out set "
                          "(chapter.train(recipe, out=folder)) before loading its model")
    data, model = prepare(recipe, run_config)
    model.load_state_dict(load_checkpoint(Path(run_config.out) / CHECKPOINT_NAME, data.device)["model"])
    return data, model


def table(rows: list[dict[str, Any]], formats: dict[str, str] | None = None) -> None:
    """Rows of numbers that a library function returned (dicts with the same keys, in order) as a
    Markdown table, the keys as its header: each value formatted with ``formats[key]`` (a format
    spec such as ``".1f"`` or ``".1%"``, default ``str``), numeric columns right-aligned.
    ``table(spectral.spread_and_squeezed(), {"RankMe": ".1f"})``"""
    formats = formats or {}
    keys = list(rows[0])
    numeric = {key: all(isinstance(r[key], (int, float)) and not isinstance(r[key], bool) for r in rows)
               for key in keys}
    lines = ["| " + " | ".join(keys) + " |", "|" + "|".join("---:" if numeric[key] else "---" for key in keys) + "|"]
    lines += ["| " + " | ".join(format(r[key], formats.get(key, "")) for key in keys) + " |" for r in rows]
    markdown("\n".join(lines))
