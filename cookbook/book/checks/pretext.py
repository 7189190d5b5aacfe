"""Checkers of chapter 2, pretext tasks (RotNet, relative position), and the keys of its multiple-choice exercises."""
from __future__ import annotations

from typing import Callable

import torch

from cookbook import registry
from cookbook.book.checks.core import Choice, Feedback, _returned, _value

__all__ = ["check_rotate_batch", "check_neighbour_label"]


# ------------------------------------------------------------------------- RotNet's rotated batch

def _turns_of(block: torch.Tensor, images: torch.Tensor) -> str | int | None:
    """How ``block`` was made from ``images``: a number of counter-clockwise quarter turns (0..3),
    ``"mirror"`` for a flip or a transpose (not a rotation), or None when it is neither."""
    for k in range(4):
        if torch.equal(block, torch.rot90(images, k, dims=(2, 3))):
            return k
    mirrors = (images.flip(2), images.flip(3), images.transpose(2, 3), images.transpose(2, 3).flip(2, 3))
    return "mirror" if any(torch.equal(block, m) for m in mirrors) else None


def _block_problem(rotated: torch.Tensor, images: torch.Tensor) -> str | None:
    """What is wrong with the four blocks of ``rotated`` (stacked rotation by rotation), or None."""
    n = len(images)
    turns = [_turns_of(rotated[k * n:(k + 1) * n], images) for k in range(4)]
    if turns == [0, 1, 2, 3]:
        return None
    if turns == [0, 3, 2, 1]:
        return ("the images are turned clockwise, so blocks 1 and 3 are swapped: `torch.rot90(x, k, dims=(2, 3))` "
                "turns counter-clockwise (from the height axis towards the width axis), the recipe's convention "
                "for label k")
    if "mirror" in turns:
        k = turns.index("mirror")
        return (f"block {k} is a mirror image (a flip or a transpose) of the originals, not a rotation: a "
                "transpose or a flip along one axis reverses left and right; use `torch.rot90`")
    for k, got in enumerate(turns):
        if got is None:
            return (f"block {k} (rows {k * n} to {(k + 1) * n - 1}) does not hold the images turned {k} quarter "
                    f"turn{'s' if k != 1 else ''}: rotate over the height and width axes, `dims=(2, 3)`, and keep "
                    "the images in order")
        if got != k:
            return f"block {k} holds the images turned {got} quarter turns instead of {k}"
    return "the blocks are not the four rotations of the images"


def check_rotate_batch(fn: Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]) -> Feedback:
    """Check an implementation of RotNet's ``rotate_batch(images) -> (rotated, labels)`` against the recipe's.

    ``images`` is ``(N, C, H, H)``; ``rotated`` must be ``(4N, C, H, H)``, block ``k`` (rows ``k*N`` to
    ``(k+1)*N - 1``) holding every image turned ``k`` quarter turns counter-clockwise, and ``labels``
    the ``(4N,)`` integers ``k`` of each row.
    """
    rotate_batch = registry.get("rotnet").rotate_batch
    generator = torch.Generator().manual_seed(11)
    note = None  # set when the batch is right in another order than the recipe's
    for n, c, h in ((2, 4, 4), (3, 1, 5)):  # as many channels as rows first: wrong axes then keep the shape
        images = torch.rand(n, c, h, h, generator=generator)
        expected_images, expected_labels = rotate_batch(images)
        out, error = _returned(fn, images.clone())
        if error and "Sizes of tensors must match" in error:  # quarter turns over the wrong axes change the shape
            error += (". A quarter turn over the channel axis changes the images' shape: `torch.rot90` must turn "
                      "the height and width axes, `dims=(2, 3)`")
        if error:
            return Feedback(False, error)
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            return Feedback(False, "return a pair `(rotated, labels)`: the rotated images and their labels")
        rotated, labels = (torch.as_tensor(t) for t in out)
        where = f" (on {n} images of shape {(c, h, h)})"
        if rotated.shape == (n, 4, c, h, h) or rotated.shape == (4, n, c, h, h):
            return Feedback(False, f"the rotations are stacked on a new axis, shape {tuple(rotated.shape)}: "
                                   f"concatenate them into one batch of 4N images, `torch.cat`, shape "
                                   f"{tuple(expected_images.shape)}" + where)
        if rotated.shape == images.shape:
            return Feedback(False, "it returned N images: RotNet shows every image in all four rotations, "
                                   "4N images in all" + where)
        if rotated.shape != expected_images.shape:
            return Feedback(False, f"the rotated batch has shape {tuple(rotated.shape)}, not "
                                   f"{tuple(expected_images.shape)}: `torch.rot90` must turn the height and width "
                                   "axes, `dims=(2, 3)` (other axes mix the channels into the picture)" + where)
        if labels.shape != expected_labels.shape:
            return Feedback(False, f"the labels have shape {tuple(labels.shape)}; they should be one integer per "
                                   f"rotated image, shape {tuple(expected_labels.shape)}" + where)
        if labels.is_floating_point() or labels.dtype == torch.bool:
            return Feedback(False, f"the labels are {labels.dtype}: cross-entropy needs class indices, integers "
                                   "(`torch.long`, as `torch.arange` makes them)" + where)
        labels = labels.long()
        if torch.equal(labels, expected_labels + 1):
            return Feedback(False, "the labels run from 1 to 4: class indices start at 0 (no turn) and end at 3"
                            + where)
        # Each image's four rotations next to each other is as good for the loss, as long as the labels follow.
        interleaved_labels = torch.arange(4).repeat(n)
        image_by_image = rotated.reshape(n, 4, c, h, h).transpose(0, 1).flatten(0, 1)
        if torch.equal(labels, interleaved_labels) and _block_problem(image_by_image, images) is None:
            note = ("your batch goes image by image (each image's four rotations in a row) with matching labels. "
                    "The loss averages over all rows, so the order does not matter; the recipe's goes rotation "
                    "by rotation.")
            continue
        problem = _block_problem(rotated, images)
        if problem is None and torch.equal(labels, interleaved_labels):
            return Feedback(False, "the images are stacked rotation by rotation but the labels go 0, 1, 2, 3, 0, 1, "
                                   "...: the first N rows all have label 0, the next N label 1 (`repeat_interleave`, "
                                   "not `repeat`)" + where)
        if problem is None and not torch.equal(labels, expected_labels):
            return Feedback(False, f"the images are right but the labels are not: expected "
                                   f"{expected_labels.tolist()}, got {labels.tolist()}" + where)
        if problem is not None:
            return Feedback(False, problem + where)
    return Feedback(True, note or "your rotated batch and labels match the recipe's `rotate_batch` on two batches.")


# ------------------------------------------------------------------------- relative position's label

OFFSETS = [(dr, dc) for dr in (-1, 0, 1) for dc in (-1, 0, 1) if (dr, dc) != (0, 0)]


def _labels_of_offsets() -> dict[tuple[int, int], int]:
    """Read the labels off the recipe's own ``neighbour_pairs``: embed patch ``g`` of the 3x3 grid as the
    number ``g``, so the second half of each pair says which grid position label ``j`` stands for."""
    neighbour_pairs = registry.get("jigsaw").neighbour_pairs
    grid_numbers = torch.arange(9.0).view(1, 9, 1)
    pairs, labels = neighbour_pairs(grid_numbers)
    return {(int(g) // 3 - 1, int(g) % 3 - 1): int(j) for g, j in zip(pairs[:, 1], labels)}


def check_neighbour_label(fn: Callable[[int, int], int]) -> Feedback:
    """Check ``fn(row_offset, col_offset) -> label``: the relative-position label of the neighbour patch
    ``row_offset`` rows and ``col_offset`` columns (each -1, 0 or 1) away from the middle patch."""
    expected = _labels_of_offsets()
    got = {}
    for dr, dc in OFFSETS:
        value, error = _value(fn, dr, dc)
        if error:
            return Feedback(False, error + f" (for row_offset={dr}, col_offset={dc})")
        got[(dr, dc)] = value
    if all(got[o] == expected[o] for o in OFFSETS):
        return Feedback(True, "your labels match the recipe's `neighbour_pairs` for all eight neighbours.")
    grid_position = {(dr, dc): 3 * (dr + 1) + (dc + 1) for dr, dc in OFFSETS}
    mistakes = {
        "those are the positions in the 3x3 grid (0..8). The middle patch (position 4) is never a neighbour, "
        "so it has no label: the neighbours after it move down by one, labels 0..7": grid_position,
        "the labels go column by column; the recipe numbers the neighbours row by row (top-left 0, top 1, "
        "top-right 2, left 3, ...)": {(dr, dc): expected[(dc, dr)] for dr, dc in OFFSETS},
        "that is where the middle patch sits as seen from the neighbour: the label says where the neighbour "
        "sits as seen from the middle (row_offset -1 is the row above)": {(dr, dc): expected[(-dr, -dc)]
                                                                          for dr, dc in OFFSETS},
        "the labels start at 1: class indices start at 0 (the top-left neighbour)": {o: expected[o] + 1
                                                                                    for o in OFFSETS},
    }
    for why, wrong in mistakes.items():
        if all(got[o] == wrong[o] for o in OFFSETS):
            return Feedback(False, why)
    first = next(o for o in OFFSETS if got[o] != expected[o])
    return Feedback(False, f"for row_offset={first[0]}, col_offset={first[1]} the label is {expected[first]}, "
                           f"you gave {got[first]:g}: number the eight neighbours 0..7 row by row, skipping the middle")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-colourization-toy": Choice("b", {
        "a": "finding the shape would help only if the shape told you its colour. On the toy data the hue is drawn "
             "at random for every image, whatever the shape, so it does not.",
        "b": "what the gray image says about the colours it says pixel by pixel (a dark pixel is more likely blue "
             "than yellow), and the shape adds nothing to it: the hue is drawn at random for every image, as the "
             "angle is on `toy` for RotNet. The loss is as low as it gets without looking at the shapes.",
        "c": "more steps cannot help when the answer is not in the input: the hue is random whatever the shape, so "
             "there is nothing about shapes to learn however long you train.",
    }),
    "ex-shortcut": Choice("b", {
        "a": "patches side by side do not overlap even without a gap; the gap removes the pixels where they would "
             "touch.",
        "b": "without a gap, lines, edges and the lighting gradient run straight from one patch into the next, and "
             "matching them tells the position without recognising anything. The gap cuts that border out, so the "
             "network must use what the patches show.",
        "c": "the toy shapes have edges and a lighting gradient that cross patch borders too: compare the pretext "
             "and kNN accuracies of the run without its guards above.",
    }),
}
