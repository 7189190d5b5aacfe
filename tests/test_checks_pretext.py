"""cookbook.book.checks.pretext: the chapter 2 checkers accept the recipes' own answers and name the usual mistakes."""
import pytest
import torch

from cookbook.book import checks
from recipes import jigsaw, rotnet


def block_labels(n):
    return torch.arange(4).repeat_interleave(n)


def test_rotate_batch_checker_accepts_the_recipe():
    feedback = checks.check_rotate_batch(rotnet.rotate_batch)
    assert feedback and "match" in feedback.message


def test_rotate_batch_checker_accepts_the_image_by_image_order_with_matching_labels():
    def image_by_image(x):
        rotated = torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)], dim=1).flatten(0, 1)
        return rotated, torch.arange(4).repeat(len(x))

    feedback = checks.check_rotate_batch(image_by_image)
    assert feedback and "order does not matter" in feedback.message


def wrong_dims(x):
    return torch.cat([torch.rot90(x, k, dims=(1, 2)) for k in range(4)]), block_labels(len(x))


def clockwise(x):
    return torch.cat([torch.rot90(x, -k, dims=(2, 3)) for k in range(4)]), block_labels(len(x))


def interleaved_labels(x):
    return rotnet.rotate_batch(x)[0], torch.arange(4).repeat(len(x))


def transposed(x):  # a quarter turn "by transposing": a mirror image
    turns = [x, x.transpose(2, 3), torch.rot90(x, 2, dims=(2, 3)), torch.rot90(x, 3, dims=(2, 3))]
    return torch.cat(turns), block_labels(len(x))


def float_labels(x):
    rotated, labels = rotnet.rotate_batch(x)
    return rotated, labels.float()


def stacked(x):
    return torch.stack([torch.rot90(x, k, dims=(2, 3)) for k in range(4)]), block_labels(len(x))


def one_based(x):
    rotated, labels = rotnet.rotate_batch(x)
    return rotated, labels + 1


@pytest.mark.parametrize("wrong, words", [
    (wrong_dims, "dims=(2, 3)"),
    (clockwise, "clockwise"),
    (interleaved_labels, "repeat_interleave"),
    (transposed, "mirror"),
    (float_labels, "torch.long"),
    (stacked, "new axis"),
    (one_based, "start at 0"),
    (lambda x: x, "pair"),
    (lambda x: (x, torch.zeros(len(x), dtype=torch.long)), "N images"),
], ids=["wrong-dims", "clockwise", "interleaved-labels", "transpose", "float-labels", "stacked", "one-based",
        "not-a-pair", "one-rotation"])
def test_rotate_batch_checker_names_the_mistake(wrong, words):
    feedback = checks.check_rotate_batch(wrong)
    assert not feedback and words in feedback.message, feedback.message


def test_rotate_batch_checker_explains_an_unfinished_answer():
    def unfinished(x):
        raise NotImplementedError

    assert "NotImplementedError" in checks.check_rotate_batch(unfinished).message
    assert "return" in checks.check_rotate_batch(lambda x: None).message
    assert "IndexError" in checks.check_rotate_batch(lambda x: x[99]).message


def recipe_label(row_offset, col_offset):
    return jigsaw.NEIGHBOURS.index(3 * (row_offset + 1) + (col_offset + 1))


def test_neighbour_label_checker_accepts_the_recipe_numbering():
    assert checks.check_neighbour_label(recipe_label)
    assert checks.check_neighbour_label(lambda dr, dc: torch.tensor(recipe_label(dr, dc)))  # a tensor is fine


@pytest.mark.parametrize("wrong, words", [
    (lambda dr, dc: 3 * (dr + 1) + (dc + 1), "middle patch"),
    (lambda dr, dc: recipe_label(dc, dr), "column by column"),
    (lambda dr, dc: recipe_label(-dr, -dc), "seen from the neighbour"),
    (lambda dr, dc: recipe_label(dr, dc) + 1, "start at 1"),
    (lambda dr, dc: 0, "row by row"),
], ids=["grid-position", "column-major", "reversed", "one-based", "constant"])
def test_neighbour_label_checker_names_the_mistake(wrong, words):
    feedback = checks.check_neighbour_label(wrong)
    assert not feedback and words in feedback.message, feedback.message


def test_neighbour_label_checker_explains_an_unfinished_answer():
    def unfinished(dr, dc):
        raise NotImplementedError

    assert "NotImplementedError" in checks.check_neighbour_label(unfinished).message
    assert "return" in checks.check_neighbour_label(lambda dr, dc: None).message


def test_rotate_batch_checker_names_wrong_axes_that_keep_the_shape():
    def height_and_channels(x):  # on images with as many channels as rows, the wrong axes keep the shape
        return torch.cat([torch.rot90(x, k, dims=(1, 3)) for k in range(4)]), block_labels(len(x))

    feedback = checks.check_rotate_batch(height_and_channels)
    assert not feedback and "dims=(2, 3)" in feedback.message
