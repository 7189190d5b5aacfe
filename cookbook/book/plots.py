"""Figure helpers: augmentation galleries, spectra, embedding maps, training curves and the lab's dashboard
(the ``curves.png`` a run writes is the engine's, :mod:`cookbook.curves`; a chapter draws a run's curves
with :func:`overlaid_training_curves`).

Every function draws into a matplotlib figure (created with the non-interactive Agg canvas,
so nothing depends on a display) and returns it; :func:`to_png` turns one into PNG bytes
for an ``ipywidgets.Image``.

What every figure of the book keeps to (``tests/figure_checks.py`` checks it on each function): at most
:data:`COLUMN_WIDTH` wide, so the HTML shows it at its own size and its text stays readable; legends
outside the axes (:func:`legend_below`, :func:`legend_beside`), never over a curve, a bar or a title;
one quantity per axis (kNN and RankMe in two panels, not on one axis); the values a sweep tried on a
:func:`setting_axis` (a tick at each value, labelled as typed, on a log or symlog axis where they span
decades), and counts or rates on a :func:`readable_log_axis` (``5,000``, not ``5x10^3``), with
:func:`untangle_tick_labels` for labels that would still touch.
"""
from __future__ import annotations

import math
import textwrap
from typing import Any, Iterable, Sequence

import torch
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, LogLocator, NullFormatter, NullLocator

from cookbook import augment as augment_module
from cookbook import evaluate, registry
from cookbook.curves import new_figure, plot_metric, to_png  # noqa: F401  (to_png: the chapters' plots.to_png)

# ----------------------------------------------------------------------------- layout: what every figure shares

# The width of the book's content column, in inches of a figure drawn at to_png's 90 dpi (about 690 px): a
# figure up to this wide shows at its own size in the HTML; a wider one is shrunk, and its text with it.
COLUMN_WIDTH = 7.6


def column_width(inches: float) -> float:
    """``inches``, or the content column's width if that is less: a figure's width in the book."""
    return min(inches, COLUMN_WIDTH)


def wrap(text: str, inches: float, fontsize: float = 10) -> str:
    """``text`` broken into lines that fit ``inches`` at ``fontsize`` points (a panel's title)."""
    return textwrap.fill(text, max(12, int(inches * 72 / (0.55 * fontsize))))


def _labelled(axes: Iterable) -> tuple[list, list[str]]:
    """The labelled artists of ``axes`` (twin axes included), each label once, in drawing order."""
    handles, labels = [], []
    for ax in axes:
        for handle, label in zip(*ax.get_legend_handles_labels()):
            if label not in labels:
                handles.append(handle)
                labels.append(label)
    return handles, labels


def legend_below(fig: Figure, axes: Iterable | None = None, *, handles: Sequence | None = None,
                 labels: Sequence[str] | None = None, ncols: int | None = None, fontsize: float = 8, **kwargs):
    """One legend for the whole figure, under its panels, where it covers no data: the labelled
    artists of ``axes`` (default: every axes of the figure), each label once, or ``handles`` and
    ``labels`` as given. Returns the legend, or None when nothing is labelled."""
    if handles is None:
        handles, labels = _labelled(fig.axes if axes is None else axes)
    if not handles:
        return None
    ncols = ncols or min(len(handles), 3)
    return fig.legend(handles, labels, loc="outside lower center", ncols=ncols, fontsize=fontsize, frameon=False,
                      **kwargs)


def legend_beside(ax, *, fontsize: float = 8, **kwargs):
    """``ax``'s legend to the right of the axes, outside them (the figure's layout makes room for it)."""
    return ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0, frameon=False,
                     fontsize=fontsize, **kwargs)


def plain_number(value: float) -> str:
    """A tick label as a reader types the number: ``0.005``, ``512``, ``41,000``, never ``5x10^-3``."""
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:g}"


def _spread(positions: Sequence[float]) -> float:
    """The smallest gap between neighbours, as a share of even spacing (1: evenly spread)."""
    span = positions[-1] - positions[0]
    if len(positions) < 2 or span <= 0:
        return 1.0
    return min(b - a for a, b in zip(positions, positions[1:])) / (span / (len(positions) - 1))


def _symlog(value: float, threshold: float, linscale: float) -> float:
    """matplotlib's symlog transform (base 10), to see where a symlog axis would put ``value``."""
    scale = linscale / (1 - 1 / 10)
    if abs(value) <= threshold:
        return value * scale / threshold
    return math.copysign(scale + math.log10(abs(value) / threshold), value)


def _setting_order(value: Any) -> tuple:
    """Numbers in order, then names, then anything else (None, True and False) by its name."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value, "")
    return (1 if isinstance(value, str) else 2, 0, str(value))


# A swept setting's values are put on a log or symlog axis only where that spreads them: the closest two
# must be at least this share of the even spacing apart, or the axis shows them evenly spaced instead.
MIN_SPREAD = 0.2
SYMLOG_LINSCALE = 0.6


def setting_axis(ax, values: Iterable[Any], label: str | None = None, *, scale: str | None = None,
                 which: str = "x", fontsize: float | None = None) -> dict[Any, float]:
    """Put the values a sweep tried of one setting on ``ax``'s ``which`` axis: a tick at each value,
    labelled as typed (``0.005``, ``512``), without minor ticks, and return ``{value: position}``
    to draw at.

    ``scale`` (default: chosen): ``"log"`` for positive values that span a decade or more (batch
    sizes 8 to 512, learning rates), ``"symlog"`` for such values with a 0 among them (lambda 0,
    0.005 ... 1: linear up to the smallest positive value, logarithmic above), ``"linear"``, or
    ``"category"``: evenly spaced in order, for names and for values that no scale spreads
    apart (momentum 0, 0.9, 0.99, 0.999); the axis label then says "(evenly spaced)". Asked for
    ``"log"`` with a 0 among the values, the axis is symlog."""
    values = sorted(set(values), key=_setting_order)
    numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
    positive = [v for v in values if numeric and v > 0]
    threshold = min(positive) if positive else 1.0
    if scale is None:
        if not numeric:
            scale = "category"
        elif len(positive) > 1 and max(positive) / min(positive) >= 10 and min(values) >= 0:
            scale = "log" if len(positive) == len(values) else "symlog"
        else:
            scale = "linear"
        if scale != "category":
            transform = {"log": math.log10, "symlog": lambda v: _symlog(v, threshold, SYMLOG_LINSCALE),
                         "linear": float}[scale]
            if _spread([transform(v) for v in values]) < MIN_SPREAD:
                scale = "category"
    elif scale == "log" and min(values) <= 0:
        scale = "symlog"
    axis = ax.xaxis if which == "x" else ax.yaxis
    if scale == "category" or not numeric:
        positions = {v: float(i) for i, v in enumerate(values)}
        scale = "category"
    else:
        positions = {v: float(v) for v in values}
        if scale == "log":
            (ax.set_xscale if which == "x" else ax.set_yscale)("log")
        elif scale == "symlog":
            (ax.set_xscale if which == "x" else ax.set_yscale)("symlog", linthresh=threshold,
                                                                linscale=SYMLOG_LINSCALE)
    axis.set_major_locator(FixedLocator(list(positions.values())))
    axis.set_major_formatter(FuncFormatter(
        lambda x, _: next((plain_number(v) if numeric else str(v) for v, p in positions.items()
                           if math.isclose(p, x, rel_tol=1e-9, abs_tol=1e-12)), "")))
    axis.set_minor_locator(NullLocator())
    if fontsize:
        axis.set_tick_params(labelsize=fontsize)
    if label is not None:
        axis.set_label_text(label + (" (evenly spaced)" if scale == "category" and numeric else ""))
    if scale == "category":
        (ax.set_xlim if which == "x" else ax.set_ylim)(-0.5, len(values) - 0.5)
    return positions


# Tick labels closer than this (in pixels of the drawn figure) read as one: "0.30.4".
TICK_LABEL_GAP = 4.0


def _crowded(boxes: list, gap: float) -> bool:
    return any(a.x1 + gap > b.x0 and b.x1 + gap > a.x0 and a.y1 + gap > b.y0 and b.y1 + gap > a.y0
               for a, b in zip(boxes, boxes[1:]))


def untangle_tick_labels(fig: Figure, gap: float = TICK_LABEL_GAP) -> None:
    """Draw ``fig`` once and, on each axis whose tick labels would touch (values a sweep tried that lie
    close on their scale, 0.3 and 0.4 on a log axis), turn the x labels vertical; where labels still
    touch, leave out the label of each tick too close to the last one kept (its tick stays). Call it
    last, once everything that takes room (titles, legends) is in place."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for ax in fig.axes:
        for which in ("x", "y"):
            axis = ax.xaxis if which == "x" else ax.yaxis
            if not axis.get_visible():
                continue

            def shown():
                low, high = sorted(axis.get_view_interval())
                ticks = [t for t in axis.get_major_ticks() if low <= t.get_loc() <= high
                         and t.label1.get_visible() and t.label1.get_text()]
                return sorted(ticks, key=lambda t: t.get_loc())

            if not _crowded([t.label1.get_window_extent(renderer) for t in shown()], gap):
                continue
            if which == "x" and ax.xaxis.get_ticklabels() and not ax.xaxis.get_ticklabels()[0].get_rotation():
                ax.tick_params(axis="x", labelrotation=90)
                fig.canvas.draw()
            kept, hidden = None, set()
            for tick in shown():
                box = tick.label1.get_window_extent(renderer)
                if kept is not None and _crowded([kept, box], gap):
                    hidden.add(tick.get_loc())
                else:
                    kept = box
            if hidden:
                old = axis.get_major_formatter()
                axis.set_major_formatter(FuncFormatter(
                    lambda x, pos, old=old, hidden=frozenset(hidden): "" if x in hidden else old(x, pos)))


def readable_log_axis(ax, which: str = "x") -> None:
    """A log axis with ticks at 1, 2 and 5 times each power of ten, labelled as plain numbers
    (``2,000``, ``5,000``, ``10,000``): no ``2x10^3`` labels that collide with their neighbours."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    (ax.set_xscale if which == "x" else ax.set_yscale)("log")
    axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    axis.set_major_formatter(FuncFormatter(lambda x, _: plain_number(x)))
    axis.set_minor_locator(LogLocator(base=10, subs=tuple(range(2, 10))))
    axis.set_minor_formatter(NullFormatter())


def as_image(x: torch.Tensor):
    """(3, H, W) uint8 or float image -> (H, W, 3) float array for imshow."""
    x = x.detach().cpu()
    x = x.float() / 255 if x.dtype == torch.uint8 else x.float()
    return x.clamp(0, 1).permute(1, 2, 0).numpy()


def image_grid(images: torch.Tensor, rows: int, cols: int, *, row_labels: Sequence[str] = (),
               col_labels: Sequence[str] = (), title: str | None = None, cell: float = 1.1) -> Figure:
    """Images ``(rows * cols, 3, H, W)`` laid out row by row."""
    fig = new_figure(cols * cell, rows * cell + (0.3 if title else 0))
    axes = fig.subplots(rows, cols, squeeze=False)
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i < len(images):
            ax.imshow(as_image(images[i]), interpolation="nearest")
    for r, label in enumerate(row_labels):
        axes[r, 0].set_ylabel(label, fontsize=8)
    for c, label in enumerate(col_labels):
        axes[0, c].set_title(label, fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    return fig


def augmentation_gallery(images: torch.Tensor, config: augment_module.AugmentConfig = augment_module.AugmentConfig(),
                         n_views: int = 5, seed: int | None = 0, labels: Sequence[str] = ()) -> Figure:
    """Each row: an original image, then ``n_views`` random views of it under ``config``."""
    if seed is not None:
        torch.manual_seed(seed)
    x = images.float() / 255 if images.dtype == torch.uint8 else images
    views = augment_module.views(x, n_views, config)
    grid = torch.stack([x] + [v.to(x.dtype) for v in views], dim=1).flatten(0, 1)
    return image_grid(grid, len(x), n_views + 1, row_labels=labels,
                      col_labels=["original"] + [f"view {i + 1}" for i in range(n_views)])


def spectrum(ax, z: torch.Tensor, label: str | None = None, *, absolute: bool = False) -> None:
    """Normalised singular values of the embeddings on a log scale (collapse shows as a cliff).

    By default each spectrum is divided by its largest value: that shows its shape, and
    dimensional collapse as a cliff after a few indices. Complete collapse keeps its shape and
    only shrinks, so ``absolute=True`` plots instead the singular values of the L2-normalised,
    centred embeddings over ``sqrt(N)`` (their squares add up to the spread of the unit
    embeddings, at most 1): a collapsed run then lies orders of magnitude below a healthy one.
    """
    if absolute:
        sigma = evaluate.singular_values(torch.nn.functional.normalize(z.detach().float(), dim=1)) / len(z) ** 0.5
    else:
        sigma = evaluate.singular_values(z)
        sigma = sigma / sigma[0].clamp_min(1e-12)
    ax.semilogy(range(1, len(sigma) + 1), sigma.clamp_min(1e-8).numpy(), label=label)
    ax.set_xlabel("index")
    ax.set_ylabel("singular value / sqrt(N)" if absolute else "singular value / largest")
    ax.grid(alpha=0.3)


def pca_scatter(ax, z: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str] = (),
                max_points: int = 1000, legend_ax=None) -> None:
    """The embeddings projected on their first two principal components, coloured by class.

    The classes' legend goes to the right of ``ax``, outside it, or into ``legend_ax`` (an axes of its
    own, such as an empty panel), at its lower left: never over the points."""
    z, labels = z[:max_points].detach().float().cpu(), labels[:max_points].cpu()
    z = z - z.mean(dim=0)
    _, _, v = torch.linalg.svd(z, full_matrices=False)
    xy = (z @ v[:2].T).numpy()
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels.numpy(), cmap="tab10", s=6, vmin=0, vmax=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if class_names and len(class_names) <= 10:
        handles, _ = scatter.legend_elements(num=len(class_names))
        if legend_ax is None:
            legend_beside(ax, handles=handles, labels=list(class_names), markerscale=0.6)
        else:
            legend_ax.legend(handles, class_names, loc="lower left", ncols=3, fontsize=7.5, markerscale=0.6,
                             frameon=False, borderaxespad=0.0, borderpad=0.0, columnspacing=0.8, handletextpad=0.1)


# What ``model.embed`` returns, as the lab's numbers name it: for the two-view methods the embedding their loss
# compares; the masked models' losses compare predicted pixels or patch features, and ``embed`` is the features the
# recipe evaluates (mean-pooled patch tokens), the same as the backbone's above them.
EMBEDDING_NAMES = {None: "embedding (what the loss sees)",
                   "mae": "encoder features (pooled)",
                   "ijepa": "target encoder (pooled)"}


def lab_dashboard(history: list[dict], z: torch.Tensor | None, labels: torch.Tensor | None,
                  class_names: Sequence[str] = (), title: str | None = None,
                  previous: Sequence[tuple[str, list[dict]]] = (),
                  nuisance: dict[str, list[tuple[int, float]]] | None = None,
                  probe: dict[str, list[tuple[int, float]]] | None = None,
                  embedding: str = EMBEDDING_NAMES[None]) -> Figure:
    """The lab's picture: loss, kNN accuracy, RankMe, the singular-value spectrum and a 2-D PCA.

    ``previous``: earlier runs as ``(label, history)``, drawn faded under this run's curves, each
    in its own colour, so that a change of settings shows as two curves side by side.
    ``nuisance``: kNN accuracy on nuisance factors (name -> ``(step, accuracy)``), drawn dotted
    in the kNN panel next to the class's: what the features keep that the views vary.
    ``probe``: the class kNN measured elsewhere than the backbone (``"kNN at projector 2"`` ->
    ``(step, accuracy)``), drawn solid in the same panel. The kNN panel's legend goes under the
    panels and the classes' into the empty last panel, below the numbers: none covers a curve.
    ``embedding``: what ``z`` (``model.embed``) is, in the numbers' panel (:data:`EMBEDDING_NAMES`).
    """
    fig = new_figure(8.4, 6.2)
    axes = fig.subplots(2, 3)
    # The curves measure the backbone's features (what a run tracks); the bottom row the embedding the
    # loss sees, where collapse shows first. Their RankMe differ, so each panel says which it is.
    curves = ((axes[0, 0], "loss", "training loss", "C0"), (axes[0, 1], "knn_acc", "kNN accuracy (backbone)", "C1"),
              (axes[0, 2], "rankme", "RankMe (backbone)", "C2"))
    for number, (label, old) in enumerate(previous):
        colour = f"C{(number + 3) % 10}"
        for ax, key, _, _ in curves:
            points = [(r["step"], r[key]) for r in old if key in r]
            if points:
                ax.plot(*zip(*points), color=colour, alpha=0.45, lw=1.2, ls="--", label=label)
    for ax, key, label, colour in curves:
        plot_metric(ax, history, key, label, colour)
    if (previous or nuisance or probe) and any("knn_acc" in r for r in history):
        axes[0, 1].get_lines()[-1].set_label("this run: the class" if previous else "the class")
        for label, points in (probe or {}).items():
            axes[0, 1].plot(*zip(*points), "-", marker="o", ms=3, color="C2", label=f"{label}: the class")
        for colour, (name, points) in zip(("C1", "C3", "C4", "C5", "C6", "C8"), (nuisance or {}).items()):
            if points:
                axes[0, 1].plot(*zip(*points), ls=":", marker="x", ms=3, color=colour, label=f"{name} (a nuisance)")
        axes[0, 1].set_title("kNN accuracy (backbone)", fontsize=10)
        legend_below(fig, [axes[0, 1]], ncols=2)
    axes[1, 2].axis("off")
    if z is not None:
        spectrum(axes[1, 0], z)
        axes[1, 0].set_title("singular-value spectrum (embedding)", fontsize=10)
        pca_scatter(axes[1, 1], z, labels, class_names, legend_ax=axes[1, 2])
        axes[1, 1].set_title("embeddings (PCA)", fontsize=10)
        report = evaluate.collapse_report(z)
        last = next((r for r in reversed(history) if "knn_acc" in r), {})
        lines = [f"step {history[-1]['step'] if history else 0}",
                 "backbone",
                 f"  kNN accuracy {last.get('knn_acc', float('nan')):.3f}",
                 f"  RankMe       {last.get('rankme', float('nan')):.1f}",
                 embedding,
                 f"  RankMe       {report['rankme']:.1f} / {report['dim']}",
                 f"  mean std     {report['mean_std']:.3f}",
                 f"  1/sqrt(d)    {report['std_if_uniform']:.3f}"]
        axes[1, 2].text(0.0, 1.0, "\n".join(lines), va="top", family="monospace", fontsize=8)
    else:
        axes[1, 0].axis("off")
        axes[1, 1].axis("off")
    if title:
        fig.suptitle(title)
    return fig


def patches_only(image: torch.Tensor, patch_indices: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``image`` ``(C, H, W)`` (uint8 or float) as floats in [0, 1], with every patch that is not in
    ``patch_indices`` painted grey: what a masked model's encoder is shown. Patches of
    ``patch_size`` pixels are numbered row by row over the grid, the order of a ViT's tokens."""
    x = image.detach().float().cpu()
    x = x / 255 if image.dtype == torch.uint8 else x
    grid_h, grid_w = x.shape[-2] // patch_size, x.shape[-1] // patch_size
    shown = torch.zeros(grid_h * grid_w, dtype=torch.bool)
    shown[torch.as_tensor(patch_indices).cpu().long()] = True
    pixels = shown.view(grid_h, grid_w).repeat_interleave(patch_size, 0).repeat_interleave(patch_size, 1)
    return torch.where(pixels, x, torch.tensor(0.5))


def context_and_target_blocks(images: torch.Tensor, sample_blocks, patch_size: int, *, seed: int = 0,
                              title: str | None = None, **block_settings) -> Figure:
    """One row per image: the image, then its context block and each target block, every other
    patch grey (:func:`patches_only`): what I-JEPA's encoder sees and what its predictor must fill in.

    ``images``: ``(N, C, H, W)`` square images; ``sample_blocks``: the recipe's block sampler (I-JEPA's
    ``sample_blocks``), called once per image as ``sample_blocks(grid_size, generator=...,
    **block_settings)`` and returning ``context`` ``(C,)`` and ``targets`` ``(M, T)``, patch indices on
    the ``grid_size x grid_size`` grid of ``patch_size`` px patches. ``seed`` fixes the draws.
    """
    grid_size = images.shape[-1] // patch_size
    generator = torch.Generator().manual_seed(seed)
    panels = []
    for image in images.cpu():
        context, targets = sample_blocks(grid_size, generator=generator, **block_settings)
        panels += [patches_only(image, torch.arange(grid_size ** 2), patch_size),
                   patches_only(image, context, patch_size)] + [patches_only(image, b, patch_size) for b in targets]
    cols = len(panels) // len(images)
    return image_grid(torch.stack(panels), len(images), cols,
                      col_labels=["original", "context"] + [f"target {i + 1}" for i in range(cols - 2)],
                      title=title or f"context and target blocks on a {grid_size} x {grid_size} patch grid")


def reconstructions(reconstruct, images: torch.Tensor, *, title: str | None = None, seed: int | None = 0) -> Figure:
    """Each column an image: the original, what the encoder saw (hidden patches grey) and the
    reconstruction: how much of a masked image a masked autoencoder paints back in.

    ``reconstruct``: the model's own method (MAE's ``reconstruct``), ``(N, C, H, W)`` images ->
    (masked input, reconstruction), both ``(N, C, H, W)`` floats in [0, 1]. Its masks are random,
    so torch's generator is seeded with ``seed`` first (``None``: not), for the same figure every run.
    """
    if seed is not None:
        torch.manual_seed(seed)
    masked, reconstruction = reconstruct(images)
    originals = images.detach().float().cpu()
    originals = originals / 255 if images.dtype == torch.uint8 else originals
    grid = torch.cat([originals, masked.detach().float().cpu(), reconstruction.detach().float().cpu()])
    return image_grid(grid, 3, len(images), row_labels=["original", "masked", "reconstruction"], title=title)


def rotation_grid(images: torch.Tensor, rotate_batch, title: str | None = None) -> Figure:
    """Each image in its four rotations, one image per row, each column titled with the label
    the rotation classifier must give it: what RotNet's network sees, and whether anything in
    an image tells which way is up.

    ``images``: ``(N, C, H, W)``; ``rotate_batch``: the recipe's own batch builder (RotNet's
    ``rotate_batch``), mapping them to ``(4N, C, H, W)`` rotated images, block ``k`` turned by
    ``k`` quarter turns counter-clockwise, and their ``(4N,)`` labels ``k``.
    """
    rotated, labels = rotate_batch(images)
    n = len(images)
    turns = len(rotated) // n
    by_image = rotated.view(turns, n, *images.shape[1:]).transpose(0, 1).flatten(0, 1)
    return image_grid(by_image, n, turns, title=title,
                      col_labels=[f"label {int(labels[k * n])}: {90 * int(labels[k * n])}°" for k in range(turns)])


def relative_position_patches(image: torch.Tensor, config, recipe: str = "jigsaw") -> Figure:
    """One image and the 3x3 grid of patches that the relative-position recipe cuts from it, each
    patch titled with its label (the middle patch has none): the puzzle as the network sees it,
    gaps and jitter included.

    ``image``: ``(C, H, W)``; ``config``: the recipe's config (``patch_size``, ``gap``, ``jitter``).
    The recipe (looked up in :mod:`cookbook.registry`) cuts the patches (``grid_patches``: ``(1, C, H, W)``
    -> ``(1, 9, C, p, p)``, row by row) and numbers the neighbours (``CENTRE``, ``NEIGHBOURS``).
    """
    jigsaw = registry.get(recipe)
    patches = jigsaw.grid_patches(image[None], config.patch_size, config.gap, config.jitter)[0]
    fig = new_figure(6.5, 3)
    left, right = fig.subfigures(1, 2, width_ratios=[1, 1.1])
    ax = left.subplots()
    ax.imshow(as_image(image), interpolation="nearest")
    ax.set_title("the image", fontsize=9)
    ax.axis("off")
    for g, ax in enumerate(right.subplots(3, 3).flat):
        ax.imshow(as_image(patches[g]), interpolation="nearest")
        ax.set_title("middle" if g == jigsaw.CENTRE else f"label {jigsaw.NEIGHBOURS.index(g)}", fontsize=8)
        ax.axis("off")
    right.suptitle(f"{config.patch_size} px patches, {config.gap} px gaps, jitter {config.jitter} px", fontsize=9)
    return fig


def overlaid_training_curves(histories: dict[str, list[dict]], *, baselines: dict | None = None,
                             log_loss: bool = True, title: str | None = None) -> Figure:
    """:func:`training_curves` of several runs on the same three axes (loss, kNN accuracy, RankMe),
    one colour per run, to compare methods trained for the same steps.

    ``histories``: run label -> its ``history`` (the records ``train`` returns); ``baselines``:
    name -> kNN accuracy, drawn once as grey lines (the untrained network). Losses of different
    methods live on different scales, hence ``log_loss``: only their trends compare. One legend,
    under the three panels, names the runs and the baselines."""
    fig = new_figure(COLUMN_WIDTH, 3.2)
    axes = fig.subplots(1, 3)
    for i, (label, history) in enumerate(histories.items()):
        for ax, key in zip(axes, ("loss", "knn_acc", "rankme")):
            plot_metric(ax, history, key, label, f"C{i}", baselines if key == "knn_acc" and i == 0 else None)
    for ax, name in zip(axes, ("training loss", "kNN accuracy", "RankMe (effective rank)")):
        ax.set_title(name, fontsize=10)
    if log_loss:
        axes[0].set_yscale("log")
    legend_below(fig, axes, ncols=4)
    if title:
        fig.suptitle(title, fontsize=11)
    return fig


def spectrum_panels(panels: dict[str, dict[str, torch.Tensor]], *, absolute: bool = False,
                    height: float = 3, log_index: bool = False, floor: float | None = None) -> Figure:
    """One :func:`spectrum` panel per title, each with one curve per run: the collapse probes'
    spectra side by side (``collapse.compare_embeddings`` returns the embeddings of one panel).

    ``panels``: title -> {run label -> its ``(N, D)`` embeddings}; ``absolute`` as in :func:`spectrum`.
    ``log_index`` puts the index on a log scale from 1 to ``N - 1`` (centred, ``N`` embeddings span
    at most ``N - 1`` directions), where a dimensional collapse shows as an early cliff; ``floor``
    cuts the y axis below that value, so a collapsed run's round-off tail does not squash the rest.
    A run keeps its colour in every panel, and one legend under the panels names them."""
    runs = list(dict.fromkeys(label for embeddings in panels.values() for label in embeddings))
    fig = new_figure(column_width(3.8 * len(panels)), height)
    for ax, (title, embeddings) in zip(fig.subplots(1, len(panels), squeeze=False)[0], panels.items()):
        for label, z in embeddings.items():
            spectrum(ax, z, label, absolute=absolute)
            ax.get_lines()[-1].set_color(f"C{runs.index(label) % 10}")
        if log_index:
            ax.set_xscale("log")
            ax.set_xlim(1, max(2, min(len(z) for z in embeddings.values()) - 1))
        if floor is not None:
            ax.set_ylim(bottom=floor)
        ax.set_title(wrap(title, fig.get_figwidth() / len(panels) - 0.8), fontsize=10)
    legend_below(fig, ncols=min(len(runs), 4))
    return fig


def cluster_scatter(ax, xy: torch.Tensor, labels: torch.Tensor, title: str | None = None) -> None:
    """2-D points ``xy`` ``(n, 2)`` coloured by their ``labels`` ``(n,)`` (up to ten classes), as
    they are (no projection, unlike :func:`pca_scatter`) and without ticks: only the clusters matter."""
    xy = xy.detach().cpu()
    ax.scatter(xy[:, 0].numpy(), xy[:, 1].numpy(), c=labels.cpu().numpy(), cmap="tab10", s=6, vmin=0, vmax=9)
    if title:
        ax.set_title(title, fontsize=9)
    ax.set_xticks([])
    ax.set_yticks([])


def linear_regime_panels(fit) -> Figure:
    """Chapter 7's linear-regime figure from a :class:`cookbook.book.spectral.LinearRegime` ``fit``: four
    scatters of the samples coloured by cluster (their content, PCA of the raw data, the closed
    form, the trained encoder rotated onto the closed form: ``fit.embeddings()``) in a row, then under
    them the trained encoder's population loss against the closed form's (left axis) and its largest
    principal angle to the closed form (right axis, log scale) along training."""
    embeddings = fit.embeddings()
    fig = new_figure(COLUMN_WIDTH, 5.4)
    grid = fig.add_gridspec(2, len(embeddings), height_ratios=[1, 1.15])
    for i, (title, xy) in enumerate(embeddings.items()):
        cluster_scatter(fig.add_subplot(grid[0, i]), xy, fit.problem.labels, title.replace(" (", "\n("))
    loss_ax = fig.add_subplot(grid[1, :])
    steps = [h["step"] for h in fit.history]
    loss_ax.plot(steps, [h["loss"] for h in fit.history], color="C0", label="trained (loss)")
    loss_ax.axhline(fit.optimum, color="C0", ls="--", lw=1, label="closed form (loss)")
    loss_ax.set_xlabel("step")
    loss_ax.set_ylabel("spectral contrastive loss", color="C0")
    angle_ax = loss_ax.twinx()
    angle_ax.semilogy(steps, [h["angle"] for h in fit.history], color="C3", label="trained (angle, right axis)")
    angle_ax.set_ylabel("largest angle to\nclosed form (deg)", color="C3")
    readable_log_axis(angle_ax, "y")
    legend_below(fig, [loss_ax, angle_ax])
    return fig


def knn_rankme_sweeps(sweeps: dict[str, dict[float, dict[str, float]]], *, titles: dict[str, str] | None = None,
                      stars: dict[str, tuple[float, dict[str, float], str]] | None = None,
                      title: str | None = None) -> Figure:
    """One column of panels per swept setting: the kNN accuracy (in %, top) and the RankMe (below)
    that short runs ended with, against the setting's values (:func:`setting_axis`: a tick at each
    value, on a log axis where they span decades), to read a hyperparameter's effect at a glance.

    ``sweeps``: setting name (the x label) -> {value -> a run's results with ``knn_acc`` and
    ``rankme``, such as ``cookbook.book.chapter.short_run(...)["after"]``}, drawn in order of value;
    ``titles``: setting name -> the column's title (what was held fixed); ``stars``: setting name ->
    ``(value, results, label)``, one more run drawn as a star at its kNN accuracy (a run that
    differs in something else, e.g. as many images in more, smaller batches), named in a legend
    under the panels."""
    fig = new_figure(column_width(3.8 * len(sweeps)), 5.0)
    axes = fig.subplots(2, len(sweeps), squeeze=False, sharex="col")
    for (knn_ax, rank_ax), (name, runs) in zip(axes.T, sweeps.items()):
        star = (stars or {}).get(name)
        at = setting_axis(rank_ax, [*runs, *([star[0]] if star else [])], name)
        xs = sorted(runs)
        knn_ax.plot([at[x] for x in xs], [100 * runs[x]["knn_acc"] for x in xs], "o-", color="C1",
                    label="kNN accuracy")
        rank_ax.plot([at[x] for x in xs], [runs[x]["rankme"] for x in xs], "s--", color="C2", label="RankMe")
        if star:
            x, results, label = star
            knn_ax.plot([at[x]], [100 * results["knn_acc"]], "*", ms=12, color="C1", ls="none", label=label)
        for ax in (knn_ax, rank_ax):
            ax.grid(alpha=0.3)
        knn_ax.set_title((titles or {}).get(name, name), fontsize=10)
    axes[0, 0].set_ylabel("kNN accuracy (%)")
    axes[1, 0].set_ylabel("RankMe")
    stars_drawn = [line for ax in axes[0] for line in ax.get_lines()[1:]]
    if stars_drawn:
        legend_below(fig, handles=stars_drawn, labels=[line.get_label() for line in stars_drawn], ncols=1)
    if title:
        fig.suptitle(title, fontsize=11)
    untangle_tick_labels(fig)
    return fig


def prototype_usage(logits: dict[str, torch.Tensor], temperature: float, *, title: str | None = None) -> Figure:
    """How a prototype head spreads its images over its ``K`` prototypes, one curve per run: the
    softmax of each image's logits at ``temperature``, averaged over the images, sorted from the
    most chosen prototype down, on a log scale.

    ``logits``: run label -> ``(N, K)`` logits (DINO's head output, its ``embed``; the collapse
    probes' embeddings). A head that uses many prototypes gives a flat curve near ``1/K``; one
    prototype that wins for every image (DINO without centering) gives a first point near 1 and a
    cliff after it."""
    fig = new_figure(6.4, 3.2)
    ax = fig.subplots()
    for label, z in logits.items():
        average = torch.softmax(z.detach().float().cpu() / temperature, dim=1).mean(dim=0).sort(descending=True).values
        ax.semilogy(range(1, len(average) + 1), average.clamp_min(1e-12).numpy(), label=label)
    ax.set(xlabel="prototype, most chosen first", ylabel="average probability")
    ax.grid(alpha=0.3)
    legend_beside(ax)
    if title:
        ax.set_title(title, fontsize=10)
    return fig
