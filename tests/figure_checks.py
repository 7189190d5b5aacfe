"""Checks on a drawn matplotlib figure: what a reader of the book would see go wrong in its PNG.

Each check draws the figure on the Agg canvas (the book's own, :func:`cookbook.curves.new_figure`), reads
where matplotlib put each piece in display coordinates (pixels of the PNG at the figure's dpi), and
returns one sentence per problem found, so that ``assert problems(fig) == []`` fails with the list:

- :func:`overlapping_tick_labels`: two tick labels of one axis that touch or overlap ("16128" for
  ticks at 16 and 128 on a linear axis, "0.00.02.05" for 0, 0.02 and 0.05 on a wide one);
- :func:`legend_over_data`: a legend drawn over a line, a marker, a scatter point or a bar of an axes;
- :func:`legend_over_text`: a legend over a title, an axis label, a tick label or a note;
- :func:`colliding_text`: two texts over each other (titles of neighbouring panels, a label over ticks);
- :func:`outside_figure`: a legend, a title or a label cut off at the edge of the picture;
- :func:`small_text`: text smaller than ``min_px`` pixels once the book's HTML shrinks the figure to its
  content column (a 12-inch figure at 90 dpi is scaled to about 0.64 there);
- :func:`mixed_units`: an axis label that names two quantities ("kNN accuracy (%) and RankMe").
"""
from __future__ import annotations

import itertools

import numpy as np
from matplotlib.axes import Axes
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.figure import Figure
from matplotlib.legend import Legend
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

# The book's content column, in CSS pixels (sphinx-book-theme at a 1280 px wide window), and the dpi the
# chapters' figures are drawn at (cookbook.curves.to_png).
COLUMN_PX = 690
BOOK_DPI = 90


def _draw(fig: Figure, renderer=None):
    """The figure drawn (its layout done) and the renderer that drew it; ``renderer``: drawn already."""
    if renderer is None:
        fig.canvas.draw()
        renderer = fig.canvas.get_renderer()
    return renderer


def _name(ax: Axes) -> str:
    title = ax.get_title() or ax.get_title("left") or ax.get_ylabel() or ax.get_xlabel()
    return f"axes {ax.figure.axes.index(ax)}" + (f" ({title!r})" if title else "")


def _shown(text: Text) -> bool:
    return text.get_visible() and bool(text.get_text().strip())


def _drawn_tick_labels(ax: Axes, which: str, renderer) -> list[tuple[str, Bbox]]:
    """The tick labels matplotlib drew on one axis of ``ax``: visible, non-empty and at a tick that lies
    inside the axis's view interval (matplotlib keeps label objects for ticks outside it, undrawn)."""
    axis = ax.xaxis if which == "x" else ax.yaxis
    scale = axis.get_transform()
    low, high = sorted(scale.transform(np.asarray(axis.get_view_interval(), dtype=float)))
    span = high - low
    found = []
    for tick in [*axis.get_major_ticks(), *axis.get_minor_ticks()]:
        with np.errstate(all="ignore"):
            loc = float(scale.transform(np.asarray([tick.get_loc()], dtype=float))[0])
        if not np.isfinite(loc) or not (low - 1e-9 * span <= loc <= high + 1e-9 * span):
            continue
        for label in (tick.label1, tick.label2):
            if _shown(label):
                found.append((label.get_text(), label.get_window_extent(renderer)))
    return found


def _overlap(a: Bbox, b: Bbox, gap: float) -> bool:
    return (min(a.x1, b.x1) - max(a.x0, b.x0) > -gap) and (min(a.y1, b.y1) - max(a.y0, b.y0) > -gap)


def overlapping_tick_labels(fig: Figure, gap: float = 3.0, renderer=None) -> list[str]:
    """Pairs of tick labels of one axis whose boxes overlap or come closer than ``gap`` pixels."""
    renderer = _draw(fig, renderer)
    problems = []
    for ax in fig.axes:
        if not ax.get_visible() or not ax.axison:
            continue
        for which in ("x", "y"):
            labels = _drawn_tick_labels(ax, which, renderer)
            for (a, box_a), (b, box_b) in itertools.combinations(labels, 2):
                if _overlap(box_a, box_b, gap):
                    problems.append(f"{_name(ax)}: {which} tick labels {a!r} and {b!r} collide")
    return problems


def _line_points(line: Line2D, density: float = 2.0) -> np.ndarray:
    """A line's points in display coordinates: its vertices and, where it is drawn as a line, points
    every ``density`` pixels along each segment (a legend can cover a segment between two vertices)."""
    xy = np.column_stack([np.asarray(line.get_xdata(), dtype=float), np.asarray(line.get_ydata(), dtype=float)])
    if not len(xy):
        return np.empty((0, 2))
    with np.errstate(all="ignore"):
        points = line.get_transform().transform(xy)
    points = points[np.isfinite(points).all(axis=1)]
    if line.get_linestyle() in ("None", "", " ", "none") or len(points) < 2:
        return points
    pieces = [points]
    for start, end in zip(points[:-1], points[1:]):
        steps = int(np.hypot(*(end - start)) // density)
        if steps > 1:
            t = np.linspace(0, 1, steps)[1:-1, None]
            pieces.append(start + t * (end - start))
    return np.concatenate(pieces)


def _data_boxes(ax: Axes, renderer, reference_lines: bool) -> list[tuple[str, np.ndarray | Bbox]]:
    """What a legend must not cover in ``ax``: its lines and markers (as points), scatters (their points),
    bars (their rectangles) and bands (their outlines). A line drawn in axes coordinates along one
    direction (``axhline``, ``axvline``: a reference level) counts only with ``reference_lines``."""
    found: list[tuple[str, np.ndarray | Bbox]] = []
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        if not reference_lines and not line.get_transform().contains_branch(ax.transData):
            continue
        found.append((line.get_label(), _line_points(line)))
    for collection in ax.collections:
        if not collection.get_visible():
            continue
        if isinstance(collection, PathCollection) and len(collection.get_offsets()):
            with np.errstate(all="ignore"):
                points = collection.get_offset_transform().transform(np.asarray(collection.get_offsets(), float))
            found.append((collection.get_label(), points[np.isfinite(points).all(axis=1)]))
        elif isinstance(collection, PolyCollection):
            for path in collection.get_paths():
                with np.errstate(all="ignore"):
                    points = collection.get_transform().transform(path.vertices)
                found.append((collection.get_label() or "a band", points[np.isfinite(points).all(axis=1)]))
    bar_labels = {id(patch): container.get_label() for container in ax.containers
                  for patch in getattr(container, "patches", [])}
    for patch in ax.patches:
        if isinstance(patch, Rectangle) and patch.get_visible() and patch.get_width() and patch.get_height():
            box = patch.get_window_extent(renderer)
            if np.isfinite(box.get_points()).all():
                found.append((bar_labels.get(id(patch)) or patch.get_label() or "a bar", box))
    return found


def _legends(fig: Figure) -> list[tuple[str, Legend]]:
    found = [(f"the legend of {_name(ax)}", ax.get_legend()) for ax in fig.axes if ax.get_legend() is not None]
    found += [("a figure legend", legend) for legend in fig.legends]
    for subfigure in fig.subfigs:
        found += [("a subfigure legend", legend) for legend in subfigure.legends]
    return [(name, legend) for name, legend in found if legend.get_visible()]


def legend_over_data(fig: Figure, reference_lines: bool = False, renderer=None) -> list[str]:
    """Each legend that covers a data point, a stretch of line or a bar of any axes in the figure."""
    renderer = _draw(fig, renderer)
    problems = []
    for name, legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        for ax in fig.axes:
            if not ax.get_visible() or not ax.bbox.overlaps(box):
                continue
            for label, data in _data_boxes(ax, renderer, reference_lines):
                if isinstance(data, Bbox):
                    covered = box.overlaps(data)
                else:
                    inside = ((data[:, 0] > box.x0) & (data[:, 0] < box.x1) & (data[:, 1] > box.y0)
                              & (data[:, 1] < box.y1))
                    covered = bool(inside.any())
                if covered:
                    shown = label if label and not label.startswith("_") else "unlabelled data"
                    problems.append(f"{name} covers {shown!r} in {_name(ax)}")
    return problems


def _texts(fig: Figure, renderer) -> list[tuple[str, Bbox]]:
    """Titles, axis labels, tick labels, texts and annotations written on an axes, and figure titles,
    each with its box."""
    found = []
    for ax in fig.axes:
        if not ax.get_visible():
            continue
        texts = [ax.title, ax._left_title, ax._right_title] if hasattr(ax, "_left_title") else [ax.title]
        texts += list(ax.texts)
        if ax.axison:
            texts += [ax.xaxis.label, ax.yaxis.label]
        for text in texts:
            if _shown(text):
                found.append((f"{text.get_text()!r} of {_name(ax)}", text.get_window_extent(renderer)))
        if ax.axison:
            for which in ("x", "y"):
                found += [(f"tick label {t!r} of {_name(ax)}", b) for t, b in _drawn_tick_labels(ax, which, renderer)]
    for figure in [fig, *fig.subfigs]:
        for text in (getattr(figure, "_suptitle", None), getattr(figure, "_supxlabel", None),
                     getattr(figure, "_supylabel", None)):
            if text is not None and _shown(text):
                found.append((f"the figure title {text.get_text()!r}", text.get_window_extent(renderer)))
    return found


def legend_over_text(fig: Figure, renderer=None) -> list[str]:
    """Each legend drawn over a title, an axis label or a tick label."""
    renderer = _draw(fig, renderer)
    texts = _texts(fig, renderer)
    problems = []
    for name, legend in _legends(fig):
        box = legend.get_window_extent(renderer)
        problems += [f"{name} covers {what}" for what, text_box in texts if _overlap(box, text_box, 0.0)]
    return problems


def colliding_text(fig: Figure, gap: float = 0.0, renderer=None) -> list[str]:
    """Pairs of texts that overlap: a title over its neighbour's, an axis label over tick labels of the
    next panel, a note over a title (two tick labels of one axis: :func:`overlapping_tick_labels`)."""
    renderer = _draw(fig, renderer)
    texts = _texts(fig, renderer)
    problems = []
    for (a, box_a), (b, box_b) in itertools.combinations(texts, 2):
        same_axis = a.startswith("tick label") and b.startswith("tick label") and a.split(" of ")[-1] == \
            b.split(" of ")[-1]
        if not same_axis and _overlap(box_a, box_b, gap):
            problems.append(f"{a} and {b} overlap")
    return problems


def outside_figure(fig: Figure, tolerance: float = 1.0, renderer=None) -> list[str]:
    """Legends, titles and labels that reach past the edge of the picture, where the PNG cuts them off."""
    renderer = _draw(fig, renderer)
    edge = fig.bbox
    boxes = [(name, legend.get_window_extent(renderer)) for name, legend in _legends(fig)] + _texts(fig, renderer)
    return [f"{name} is cut off at the edge of the figure" for name, box in boxes
            if box.x0 < edge.x0 - tolerance or box.y0 < edge.y0 - tolerance
            or box.x1 > edge.x1 + tolerance or box.y1 > edge.y1 + tolerance]


def shown_scale(fig: Figure, column_px: float = COLUMN_PX, dpi: float = BOOK_DPI) -> float:
    """How much the book's HTML shrinks the figure: its PNG at ``dpi`` is fitted to ``column_px``."""
    return min(1.0, column_px / (fig.get_figwidth() * dpi))


def small_text(fig: Figure, min_px: float = 8.5, column_px: float = COLUMN_PX, dpi: float = BOOK_DPI) -> list[str]:
    """Text (titles, labels, tick labels, legend entries, annotations) that is smaller than ``min_px``
    pixels on the page once the figure is drawn at ``dpi`` and fitted to the content column."""
    scale = shown_scale(fig, column_px, dpi) * dpi / 72
    small = {}
    for text in fig.findobj(Text):
        if _shown(text) and text.get_fontsize() * scale < min_px:
            small.setdefault(round(text.get_fontsize() * scale, 1), []).append(text.get_text())
    return [f"{len(texts)} text(s) at {px} px on the page (under {min_px}): {', '.join(map(repr, texts[:4]))}"
            for px, texts in sorted(small.items())]


def mixed_units(fig: Figure) -> list[str]:
    """Axis labels that put two quantities on one axis ("kNN accuracy (%) and RankMe")."""
    problems = []
    for ax in fig.axes:
        for which, label in (("x", ax.get_xlabel()), ("y", ax.get_ylabel())):
            if " and " in label or " & " in label:
                problems.append(f"{_name(ax)}: the {which} axis is labelled {label!r}: one quantity per axis")
    return problems


def problems(fig: Figure, *, min_px: float = 8.5) -> list[str]:
    """Every check above, in one list."""
    renderer = _draw(fig)
    return (overlapping_tick_labels(fig, renderer=renderer) + legend_over_data(fig, renderer=renderer)
            + legend_over_text(fig, renderer=renderer) + colliding_text(fig, renderer=renderer)
            + outside_figure(fig, renderer=renderer) + small_text(fig, min_px) + mixed_units(fig))
