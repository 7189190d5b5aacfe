"""cookbook.augment: per-sample randomness, shapes, devices, value ranges and each transform."""
from __future__ import annotations

import itertools

import pytest
import torch

from cookbook import augment
from cookbook.augment import AugmentConfig

# Everything on at full strength: the harshest pipeline for range checks.
EVERYTHING = AugmentConfig(crop_min_scale=0.2, flip_p=0.5, jitter_strength=1.0, jitter_p=1.0, gray_p=0.5,
                           blur_p=1.0, blur_sigma=(0.1, 20.0), solarize_p=0.5, noise_std=0.2)
# Every transform switched off and crops without aspect-ratio jitter: must be the identity.
OFF = AugmentConfig(crop_min_scale=1.0, crop_ratio=(1.0, 1.0), flip_p=0.0, jitter_strength=0.0, jitter_p=0.0,
                    gray_p=0.0, blur_p=0.0, solarize_p=0.0, noise_std=0.0)


@pytest.fixture
def image() -> torch.Tensor:
    """One (3, 16, 16) float image with structure in every direction and colour in every channel."""
    ys, xs = torch.meshgrid(torch.linspace(0, 1, 16), torch.linspace(0, 1, 16), indexing="ij")
    return torch.stack([xs, ys, (xs * ys) ** 0.5]).clamp(0, 1)


def copies(image: torch.Tensor, n: int = 8) -> torch.Tensor:
    return image.unsqueeze(0).repeat(n, 1, 1, 1)


def assert_all_different(batch: torch.Tensor, atol: float = 1e-4) -> None:
    for i, j in itertools.combinations(range(len(batch)), 2):
        assert (batch[i] - batch[j]).abs().max() > atol, f"images {i} and {j} of the batch got the same parameters"


# ----------------------------------------------------------------------------- randomness

def test_each_image_of_a_batch_gets_its_own_random_view(image):
    out = augment.augment(copies(image), AugmentConfig())
    assert_all_different(out)


@pytest.mark.parametrize("transform", [
    lambda x: augment.random_resized_crop(x, min_scale=0.2, flip_p=0.0),
    lambda x: augment.color_jitter(x, strength=0.5, p=1.0),
    lambda x: augment.gaussian_blur(x, p=1.0, sigma=(0.3, 3.0)),
    lambda x: augment.gaussian_noise(x, std=0.1),
], ids=["crop", "jitter", "blur", "noise"])
def test_each_transform_draws_parameters_per_image(image, transform):
    assert_all_different(transform(copies(image)))


def test_flip_and_grayscale_are_decided_per_image(image):
    x = copies(image, 32)
    flipped = augment.random_resized_crop(x, min_scale=1.0, ratio=(1.0, 1.0), flip_p=0.5)
    is_flipped = [torch.allclose(v, image.flip(-1), atol=1e-5) for v in flipped]
    is_same = [torch.allclose(v, image, atol=1e-5) for v in flipped]
    assert all(a != b for a, b in zip(is_flipped, is_same)), "each view is either the image or its mirror"
    assert 0 < sum(is_flipped) < 32
    gray = augment.random_grayscale(x, p=0.5)
    is_gray = [bool((v[0] == v[1]).all() and (v[1] == v[2]).all()) for v in gray]
    assert 0 < sum(is_gray) < 32


def test_two_calls_give_different_views(image):
    x = copies(image, 4)
    a, b = augment.augment(x), augment.augment(x)
    assert not torch.allclose(a, b)


def test_views_are_reproducible_from_the_global_seed(image):
    x = copies(image, 4)
    torch.manual_seed(123)
    a = augment.views(x, 2)
    torch.manual_seed(123)
    b = augment.views(x, 2)
    assert all(torch.equal(u, v) for u, v in zip(a, b))


# ----------------------------------------------------------------------------- shapes, dtypes, devices

def test_views_returns_n_independent_tensors(image):
    x = copies(image, 4)
    out = augment.views(x, 3)
    assert isinstance(out, list) and len(out) == 3
    assert all(v.shape == x.shape for v in out)
    assert not torch.allclose(out[0], out[1]) and not torch.allclose(out[1], out[2])


def test_views_needs_at_least_one(image):
    with pytest.raises(ValueError, match="at least one"):
        augment.views(copies(image), 0)


def test_output_size(image):
    x = copies(image, 3)  # 16 x 16
    assert augment.augment(x, AugmentConfig(output_size=8)).shape == (3, 3, 8, 8)
    assert augment.augment(x, AugmentConfig(output_size=24)).shape == (3, 3, 24, 24)
    assert augment.random_resized_crop(x, size=12).shape == (3, 3, 12, 12)
    assert augment.augment(x).shape == x.shape


@pytest.mark.parametrize("device", [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
])
@pytest.mark.parametrize("dtype", [torch.uint8, torch.float32])
def test_output_stays_on_the_input_device(device, dtype):
    x = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    x = (x if dtype == torch.uint8 else x.float() / 255).to(device)
    for out in augment.views(x, 2, EVERYTHING):
        assert out.device == x.device
        assert out.dtype == torch.float32


@pytest.mark.parametrize("kind", ["uint8", "float"])
def test_values_stay_in_unit_range(kind):
    x = torch.randint(0, 256, (16, 3, 16, 16), dtype=torch.uint8)
    if kind == "float":
        x = x.float() / 255
    for config in (AugmentConfig(), EVERYTHING):
        out = augment.augment(x, config)
        assert out.dtype.is_floating_point
        assert out.min() >= 0 and out.max() <= 1
        assert torch.isfinite(out).all()


def test_uint8_input_is_scaled_to_unit_range():
    x = torch.randint(0, 256, (2, 3, 8, 8), dtype=torch.uint8)
    out = augment.augment(x, OFF)
    assert torch.allclose(out, x.float() / 255, atol=1e-5)


# ----------------------------------------------------------------------------- identities at strength 0 / p = 0

def test_everything_off_is_the_identity(image):
    x = copies(image, 4)
    assert torch.allclose(augment.augment(x, OFF), x, atol=1e-5)


def test_crop_of_the_whole_image_without_flip_is_the_identity(image):
    x = copies(image, 4)
    out = augment.random_resized_crop(x, min_scale=1.0, ratio=(1.0, 1.0), flip_p=0.0)
    assert torch.allclose(out, x, atol=1e-5)


def test_crop_with_flip_p_1_is_the_mirror_image(image):
    x = copies(image, 4)
    out = augment.random_resized_crop(x, min_scale=1.0, ratio=(1.0, 1.0), flip_p=1.0)
    assert torch.allclose(out, x.flip(-1), atol=1e-5)


def test_no_augmentation_is_the_identity(image):
    x = copies(image, 8)
    assert torch.allclose(augment.augment(x, augment.NO_AUGMENTATION), x, atol=1e-5)


@pytest.mark.parametrize("transform", [
    lambda x: augment.color_jitter(x, strength=0.0, p=1.0),
    lambda x: augment.color_jitter(x, strength=1.0, p=0.0),
    lambda x: augment.random_grayscale(x, p=0.0),
    lambda x: augment.gaussian_blur(x, p=0.0),
    lambda x: augment.random_solarize(x, p=0.0),
    lambda x: augment.gaussian_noise(x, std=0.0),
], ids=["jitter-strength-0", "jitter-p-0", "gray-p-0", "blur-p-0", "solarize-p-0", "noise-0"])
def test_each_transform_at_strength_or_p_zero_is_the_identity(image, transform):
    x = copies(image, 4)
    assert torch.equal(transform(x), x)


# ----------------------------------------------------------------------------- what each transform does

def test_grayscale_makes_the_channels_equal(image):
    out = augment.random_grayscale(copies(image, 4), p=1.0)
    assert torch.allclose(out[:, 0], out[:, 1]) and torch.allclose(out[:, 1], out[:, 2])
    assert not torch.allclose(image[0], image[1])  # the input was coloured


def test_solarize_inverts_only_the_bright_pixels(image):
    x = copies(image, 2)
    out = augment.random_solarize(x, p=1.0, threshold=0.5)
    bright = x >= 0.5
    assert torch.allclose(out[bright], 1 - x[bright])
    assert torch.equal(out[~bright], x[~bright])


def test_blur_reduces_the_variance_of_noise():
    torch.manual_seed(0)
    noise = torch.rand(4, 3, 32, 32)
    blurred = augment.gaussian_blur(noise, p=1.0, sigma=(1.5, 2.0))
    assert blurred.var() < 0.25 * noise.var()
    assert torch.allclose(blurred.mean(), noise.mean(), atol=0.02)  # a blur moves no brightness around on average


def test_colour_jitter_changes_colours_but_keeps_the_range(image):
    torch.manual_seed(0)
    x = copies(image, 8)
    out = augment.color_jitter(x, strength=1.0, p=1.0)
    assert (out - x).abs().amax(dim=(1, 2, 3)).min() > 1e-3
    assert out.min() >= 0 and out.max() <= 1


def test_blur_sigma_must_be_a_positive_range():
    with pytest.raises(ValueError, match="blur_sigma"):
        AugmentConfig(blur_sigma=(0.0, 0.0))


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("name", ["flip_p", "jitter_p", "gray_p", "blur_p", "solarize_p"])
@pytest.mark.parametrize("value", [1.5, -0.1])
def test_a_probability_outside_0_1_is_refused(name, value):
    with pytest.raises(ValueError, match=rf"{name}.*probability.*\[0, 1\]"):
        AugmentConfig(**{name: value})


@pytest.mark.parametrize("changes, word", [
    (dict(crop_min_scale=0.0), "crop_min_scale"),
    (dict(crop_min_scale=1.5), "crop_min_scale"),
    (dict(jitter_strength=-1.0), "jitter_strength"),
    (dict(noise_std=-0.1), "noise_std"),
    (dict(rotate_degrees=-5.0), "rotate_degrees"),
    (dict(rotate_degrees=270.0), "rotate_degrees"),
])
def test_other_invalid_settings_are_refused(changes, word):
    with pytest.raises(ValueError, match=word):
        AugmentConfig(**changes)


def test_replace_validates_and_keeps_other_values():
    config = AugmentConfig(jitter_strength=1.0)
    changed = config.replace(gray_p=0.5)
    assert changed.gray_p == 0.5 and changed.jitter_strength == 1.0 and config.gray_p == 0.2
    assert changed.as_dict()["gray_p"] == 0.5
    with pytest.raises(ValueError):
        config.replace(gray_p=2.0)


# ----------------------------------------------------------------------------- multi-crop

def test_multi_crop_makes_global_and_half_size_local_views_in_range(image):
    x = (copies(image, 6) * 255).round().to(torch.uint8)
    global_views, local_views = augment.multi_crop(x, EVERYTHING, n_global=2, n_local=3)
    assert len(global_views) == 2 and len(local_views) == 3
    assert all(v.shape == (6, 3, 16, 16) and v.dtype == torch.float32 for v in global_views)
    assert all(v.shape == (6, 3, 8, 8) for v in local_views)  # default: half the global side
    assert all(0.0 <= v.min() and v.max() <= 1.0 for v in global_views + local_views)
    _, sized = augment.multi_crop(x, EVERYTHING, n_local=1, local_size=12)
    assert sized[0].shape == (6, 3, 12, 12)
    assert augment.multi_crop(x, EVERYTHING, n_local=0)[1] == []


def test_local_crops_are_small_parts_of_the_image(image):
    # A full-area crop of a smooth gradient spans it all; a crop of at most 10% of the area cannot.
    x = copies(image, 32)
    _, (local,) = augment.multi_crop(x, OFF, n_local=1, local_size=8, local_scale=(0.05, 0.1))
    whole = augment.random_resized_crop(x, 8, 1.0, (1.0, 1.0), 0.0)
    span = lambda v: (v[:, 0].amax(dim=(1, 2)) - v[:, 0].amin(dim=(1, 2)))  # noqa: E731 (range of the x ramp)
    assert (span(local) < 0.5 * span(whole)).all()
    # The local crops of different images are placed independently.
    assert not torch.allclose(local[0], local[1])


def test_multi_crop_settings_are_checked_with_a_clear_message(image):
    x = copies(image, 2)
    with pytest.raises(ValueError, match="local crop scales"):
        augment.multi_crop(x, OFF, local_scale=(0.5, 0.2))
    with pytest.raises(ValueError, match="at least one global view"):
        augment.multi_crop(x, OFF, n_global=0)
    with pytest.raises(ValueError, match="at least 1 pixel"):
        augment.check_multi_crop(2, 0, (0.05, 0.4))
    # A ConfigError (a ValueError): the multi-crop recipes call it from Config.validate without a wrapper.
    from cookbook.config import ConfigError

    with pytest.raises(ConfigError, match="local crop scales"):
        augment.check_multi_crop(2, 16, (0.5, 0.2))


def test_the_grid_of_patches_is_the_relative_position_recipes():
    from recipes import jigsaw

    assert jigsaw.grid_patches is augment.grid_patches and jigsaw.grid_span is augment.grid_span
    assert augment.grid_span(8, 2, 1) == 30
    images = torch.rand(3, 3, 32, 32)
    torch.manual_seed(0)
    patches = augment.grid_patches(images, 8, gap=2, jitter=1)
    torch.manual_seed(0)
    assert patches.shape == (3, 9, 3, 8, 8) and torch.equal(patches, augment.grid_patches(images, 8, 2, 1))


def test_augment_is_crop_then_recolour(image):
    x = (copies(image, 6) * 255).round().to(torch.uint8)
    torch.manual_seed(3)
    whole = augment.augment(x, EVERYTHING)
    torch.manual_seed(3)
    halves = augment.recolour(augment.crop(x, EVERYTHING), EVERYTHING)
    assert torch.equal(whole, halves)
    # With every photometric transform off, recolour leaves the pixels alone.
    floats = copies(image, 3)
    assert torch.equal(augment.recolour(floats, OFF), floats)


# ----------------------------------------------------------------------------- rotation

def test_a_turn_by_a_tiny_angle_leaves_the_view_unchanged(image):
    x = copies(image, 4)
    out = augment.random_resized_crop(x, min_scale=1.0, ratio=(1.0, 1.0), flip_p=0.0, rotate_degrees=1e-4)
    assert torch.allclose(out, x, atol=1e-4)


def test_a_disk_looks_the_same_at_any_angle_and_a_bar_does_not():
    ys, xs = torch.meshgrid(torch.linspace(-1, 1, 32), torch.linspace(-1, 1, 32), indexing="ij")
    disk = ((xs ** 2 + ys ** 2) < 0.4).float().expand(3, -1, -1)
    bar = ((xs.abs() < 0.8) & (ys.abs() < 0.15)).float().expand(3, -1, -1)
    kwargs = dict(min_scale=1.0, ratio=(1.0, 1.0), flip_p=0.0, rotate_degrees=180.0)
    turned_disks = augment.random_resized_crop(copies(disk), **kwargs)
    turned_bars = augment.random_resized_crop(copies(bar), **kwargs)
    # Resampling softens the disk's rim a little, nothing more; the bar points elsewhere in most views.
    assert (turned_disks - disk).abs().mean() < 0.04
    assert (turned_bars - bar).abs().mean(dim=(1, 2, 3)).max() > 0.1
    assert_all_different(turned_bars)


def test_rotation_is_in_the_crop_of_the_pipeline(image):
    config = OFF.replace(rotate_degrees=90.0)
    assert not torch.allclose(augment.augment(copies(image), config), copies(image), atol=1e-3)
