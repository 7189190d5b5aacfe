"""The one figure a run writes (``curves.png``: loss, kNN accuracy and RankMe against the step), and
the headless figure every drawing of the book starts from.

Figures are made on matplotlib's Agg canvas, without pyplot, so nothing depends on a display, a
thread or a notebook backend; :func:`to_png` turns one into PNG bytes.
"""
from __future__ import annotations

import io
from pathlib import Path

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


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
    fig = NotebookFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def to_png(fig: Figure, dpi: int = 90) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def plot_metric(ax, history, key, label, color, baselines=None):
    """One metric of a run's ``history`` against the step on ``ax``, with ``baselines`` as grey lines."""
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
    plot_metric(axes[0], history, "loss", "training loss", "C0")
    plot_metric(axes[1], history, "knn_acc", "kNN accuracy", "C1", baselines)
    if baselines:
        axes[1].legend(fontsize=8)
    plot_metric(axes[2], history, "rankme", "RankMe (effective rank)", "C2")
    if title:
        fig.suptitle(title)
    return fig


def save_training_curves(history: list[dict], path: Path, **kwargs) -> None:
    training_curves(history, **kwargs).savefig(path, dpi=100)
