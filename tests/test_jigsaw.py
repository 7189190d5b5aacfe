"""recipes.jigsaw (relative patch position): the patch grid, the pairs, the loss by hand, and its errors."""
import math

import pytest
import torch
import torch.nn.functional as F

from cookbook.augment import crop, recolour
from cookbook.config import ConfigError
from recipes import jigsaw


def coordinate_images(n: int, size: int = 32) -> torch.Tensor:
    """(n, 2, size, size) images whose channel 0 holds each pixel's row and channel 1 its column."""
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return torch.stack([rows, cols]).float().expand(n, -1, -1, -1)


def corners(patches: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(N, 9) row and column of each patch's top-left pixel, read off coordinate images."""
    return patches[:, :, 0, 0, 0], patches[:, :, 1, 0, 0]


def test_patches_are_whole_crops_of_their_image():
    images = torch.rand(4, 3, 32, 32)
    torch.manual_seed(0)
    patches = jigsaw.grid_patches(images, patch_size=8, gap=2, jitter=1)
    assert patches.shape == (4, 9, 3, 8, 8)
    torch.manual_seed(0)  # the same random grid, cut from images that show where each pixel is
    top, left = corners(jigsaw.grid_patches(coordinate_images(4), 8, 2, 1))
    for i in range(4):
        for g in range(9):
            r, c = int(top[i, g]), int(left[i, g])
            assert torch.equal(patches[i, g], images[i, :, r:r + 8, c:c + 8])


def test_without_jitter_the_grid_keeps_exact_gaps():
    # Patches of 8 px with 3 px gaps: the grid starts are 11 px apart, and the grid (30 px) fits anywhere
    # in the 32 px image with an origin of 0, 1 or 2.
    top, left = corners(jigsaw.grid_patches(coordinate_images(64), patch_size=8, gap=3, jitter=0))
    grid_rows = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2])
    grid_cols = torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2])
    assert torch.equal(top - top[:, :1], 11 * grid_rows.expand(64, -1).float())
    assert torch.equal(left - left[:, :1], 11 * grid_cols.expand(64, -1).float())
    assert set(top[:, 0].tolist()) == {0.0, 1.0, 2.0}  # the origin is drawn per image


def test_jitter_moves_each_patch_by_at_most_its_size():
    top, left = corners(jigsaw.grid_patches(coordinate_images(256), patch_size=8, gap=2, jitter=1))
    grid = torch.tensor([0, 0, 0, 1, 1, 1, 2, 2, 2]) * 10
    # Relative to the middle patch, each patch is where the grid puts it, give or take 2 px (1 px each).
    offset = (top - top[:, 4:5]) - (grid - grid[4])
    assert offset.abs().max() == 2 and set(offset.flatten().tolist()) == {-2.0, -1.0, 0.0, 1.0, 2.0}
    assert top.min() >= 0 and left.min() >= 0 and top.max() <= 24 and left.max() <= 24  # inside the image


def test_neighbour_pairs_put_the_middle_patch_first_and_number_the_neighbours_row_by_row():
    z = torch.arange(2 * 9).float().view(2, 9, 1)  # patch g of image i has embedding 9i + g
    pairs, labels = jigsaw.neighbour_pairs(z)
    assert pairs.shape == (16, 2) and labels.tolist() == list(range(8)) * 2
    assert pairs[:8, 0].tolist() == [4.0] * 8 and pairs[:8, 1].tolist() == [0, 1, 2, 3, 5, 6, 7, 8]
    assert pairs[8:, 0].tolist() == [13.0] * 8 and pairs[8:, 1].tolist() == [9, 10, 11, 12, 14, 15, 16, 17]


def test_relative_position_loss_by_hand():
    # Uniform scores: probability 1/8 each, loss log 8.
    assert jigsaw.relative_position_loss(torch.zeros(8, 8), torch.arange(8)).item() == pytest.approx(math.log(8))
    # Score 3 on the right neighbour and 0 on the seven others: -log(e^3 / (e^3 + 7)) = log(1 + 7 e^-3) = 0.2988.
    logits = torch.zeros(1, 8)
    logits[0, 2] = 3.0
    assert jigsaw.relative_position_loss(logits, torch.tensor([2])).item() == pytest.approx(
        math.log(1 + 7 * math.exp(-3)))
    # The same scores with the wrong label: -log(1 / (e^3 + 7)) = log(e^3 + 7) = 3.2988.
    assert jigsaw.relative_position_loss(logits, torch.tensor([5])).item() == pytest.approx(math.log(math.exp(3) + 7))


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="needs 34 px"):
        jigsaw.grid_patches(torch.zeros(1, 3, 32, 32), patch_size=8, gap=4, jitter=1)
    with pytest.raises(ValueError, match=r"\(N, 9, D\)"):
        jigsaw.neighbour_pairs(torch.zeros(2, 8, 4))
    with pytest.raises(ValueError, match=r"\(M, 8\)"):
        jigsaw.relative_position_loss(torch.zeros(4, 9), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="one per row"):
        jigsaw.relative_position_loss(torch.zeros(4, 8), torch.zeros(3, dtype=torch.long))
    with pytest.raises(ValueError, match="neighbour numbers"):
        jigsaw.relative_position_loss(torch.zeros(2, 8), torch.tensor([0, 8]))


@pytest.mark.parametrize("setting, match", [
    ({"gap": -1}, "gap=-1"), ({"jitter": -1}, "jitter=-1"), ({"patch_size": 1}, "patch_size=1"),
    ({"patch_resize": -1}, "patch_resize=-1"), ({"patch_resize": 1}, "patch_resize=1 .*single pixel"),
    ({"proj_dim": 0}, "proj_dim=0"), ({"head_hidden_dim": 0}, "head_hidden_dim=0")])
def test_config_errors_name_the_setting(setting, match):
    with pytest.raises(ConfigError, match=match):
        jigsaw.Config.for_budget("quick", **setting)


def test_zero_gap_jitter_and_resize_mean_none():
    config = jigsaw.Config.for_budget("quick", gap=0, jitter=0, patch_resize=0)
    assert (config.gap, config.jitter, config.patch_resize) == (0, 0, 0)


def test_a_grid_that_does_not_fit_the_dataset_is_refused_when_the_model_is_built(tiny_toy):
    config = jigsaw.Config.for_budget("quick", patch_size=10, gap=2, jitter=1)
    with pytest.raises(ConfigError, match="needs 36 px but the images have 32"):
        jigsaw.build_model(config, tiny_toy)


def test_forward_is_the_relative_position_loss_of_the_pair_classifier(tiny_toy):
    config = jigsaw.Config.for_budget("quick", width=4, proj_hidden_dim=16, proj_dim=8, head_hidden_dim=16)
    model = jigsaw.RelativePosition(config, tiny_toy)
    images = tiny_toy.train_x[:4]
    torch.manual_seed(1)
    outputs = model(images)
    torch.manual_seed(1)  # the same crops, grids and colours, by hand
    patches = jigsaw.grid_patches(crop(images, config.augment), 8, 2, 1).flatten(0, 1)
    patches = recolour(F.interpolate(patches, size=16, mode="bilinear", align_corners=False), config.augment)
    z = model.projector(model.backbone(patches)).view(4, 9, -1)
    pairs, labels = jigsaw.neighbour_pairs(z)
    logits = model.classifier(pairs)
    assert outputs["loss"].item() == pytest.approx(jigsaw.relative_position_loss(logits, labels).item(), rel=1e-6)
    assert outputs["position_acc"].item() == (logits.argmax(dim=1) == labels).float().mean().item()
