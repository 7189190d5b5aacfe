"""Figure helpers: training curves, augmentation galleries, spectra and embedding maps.

Every function draws into a matplotlib figure (created with the non-interactive Agg canvas,
so nothing depends on a display) and returns it; :func:`to_png` turns one into PNG bytes
for an ``ipywidgets.Image``.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Sequence

import torch
from matplotlib.figure import Figure

from . import augment as augment_module
from . import evaluate


class NotebookFigure(Figure):
    """A matplotlib figure that shows itself as a PNG in any notebook.

    Figures made without pyplot are not picked up by the inline backend's display hook, so a
    notebook (and the executed book) would show only ``<Figure size ...>``; ``_repr_png_``
    makes ``display(fig)`` draw the picture whatever the backend.
    """

    def _repr_png_(self) -> bytes:
        return to_png(self)


def new_figure(width: float = 8, height: float = 3) -> Figure:
    """A figure on the Agg canvas: safe in threads, headless kernels and the book build."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = NotebookFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = 90) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


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


def _plot_metric(ax, history, key, label, color, baselines=None):
    points = [(r["step"], r[key]) for r in history if key in r]
    if points:
        steps, values = zip(*points)
        ax.plot(steps, values, marker="o" if len(points) < 20 else None, ms=3, color=color, label=label)
    for (name, value), style in zip((baselines or {}).items(), ("--", ":", "-.")):
        if value is not None:
            ax.axhline(value, color="gray", ls=style, lw=1, label=name)
    ax.set_xlabel("step")
    ax.set_title(label, fontsize=10)
    ax.grid(alpha=0.3)


def training_curves(history: list[dict], *, title: str | None = None, baselines: dict | None = None) -> Figure:
    """Loss, kNN accuracy (with baselines as dashed lines) and RankMe against the step."""
    fig = new_figure(11, 3)
    axes = fig.subplots(1, 3)
    _plot_metric(axes[0], history, "loss", "training loss", "C0")
    _plot_metric(axes[1], history, "knn_acc", "kNN accuracy", "C1", baselines)
    if baselines:
        axes[1].legend(fontsize=8)
    _plot_metric(axes[2], history, "rankme", "RankMe (effective rank)", "C2")
    if title:
        fig.suptitle(title)
    return fig


def save_training_curves(history: list[dict], path: Path, **kwargs) -> None:
    training_curves(history, **kwargs).savefig(path, dpi=100)


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


def pca_scatter(ax, z: torch.Tensor, labels: torch.Tensor, class_names: Sequence[str] = (), max_points: int = 1000) -> None:
    """The embeddings projected on their first two principal components, coloured by class."""
    z, labels = z[:max_points].detach().float().cpu(), labels[:max_points].cpu()
    z = z - z.mean(dim=0)
    _, _, v = torch.linalg.svd(z, full_matrices=False)
    xy = (z @ v[:2].T).numpy()
    scatter = ax.scatter(xy[:, 0], xy[:, 1], c=labels.numpy(), cmap="tab10", s=6, vmin=0, vmax=9)
    ax.set_xticks([])
    ax.set_yticks([])
    if class_names and len(class_names) <= 10:
        handles, _ = scatter.legend_elements(num=len(class_names))
        ax.legend(handles, class_names, fontsize=6, loc="best", markerscale=0.6, ncol=2)


def lab_dashboard(history: list[dict], z: torch.Tensor | None, labels: torch.Tensor | None,
                  class_names: Sequence[str] = (), title: str | None = None) -> Figure:
    """The lab's picture: loss, kNN accuracy, RankMe, the singular-value spectrum and a 2-D PCA."""
    fig = new_figure(12, 5.2)
    axes = fig.subplots(2, 3)
    _plot_metric(axes[0, 0], history, "loss", "training loss", "C0")
    _plot_metric(axes[0, 1], history, "knn_acc", "kNN accuracy", "C1")
    _plot_metric(axes[0, 2], history, "rankme", "RankMe", "C2")
    axes[1, 2].axis("off")
    if z is not None:
        spectrum(axes[1, 0], z)
        axes[1, 0].set_title("singular-value spectrum", fontsize=10)
        pca_scatter(axes[1, 1], z, labels, class_names)
        axes[1, 1].set_title("embeddings (PCA)", fontsize=10)
        report = evaluate.collapse_report(z)
        last = next((r for r in reversed(history) if "knn_acc" in r), {})
        lines = [f"step {history[-1]['step'] if history else 0}",
                 f"kNN accuracy  {last.get('knn_acc', float('nan')):.3f}",
                 f"RankMe        {report['rankme']:.1f} / {report['dim']}",
                 f"mean std      {report['mean_std']:.3f} (1/sqrt(d) = {report['std_if_uniform']:.3f})"]
        axes[1, 2].text(0.02, 0.95, "\n".join(lines), va="top", family="monospace", fontsize=10)
    else:
        axes[1, 0].axis("off")
        axes[1, 1].axis("off")
    if title:
        fig.suptitle(title)
    return fig
