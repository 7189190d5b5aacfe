"""Chapter 6's checkers: the MAE loss and random masking accept the recipe's answer and name the usual mistakes."""
import pytest
import torch

from cookbook.book import checks
from recipes import mae

# ----------------------------------------------------------------------------- the MAE loss

def reference_loss(images, pred, mask, patch_size):
    return mae.mae_loss(pred, mae.normalize_patches(mae.patchify(images, patch_size)), mask)


def all_patches(images, pred, mask, patch_size):
    target = mae.normalize_patches(mae.patchify(images, patch_size))
    return (pred - target).pow(2).mean()


def raw_pixels(images, pred, mask, patch_size):
    return mae.mae_loss(pred, mae.patchify(images, patch_size), mask)


def channel_first_patches(images, pred, mask, patch_size):
    # torch's unfold flattens each patch as (channel, row, column), not the recipe's (row, column, channel)
    patches = torch.nn.functional.unfold(images, patch_size, stride=patch_size).transpose(1, 2)
    return mae.mae_loss(pred, mae.normalize_patches(patches), mask)


def plain_reshape(images, pred, mask, patch_size):
    patches = images.reshape(len(images), mask.shape[1], -1)
    return mae.mae_loss(pred, mae.normalize_patches(patches), mask)


def biased_variance(images, pred, mask, patch_size):
    x = mae.patchify(images, patch_size)
    target = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False) + 1e-6).sqrt()
    return mae.mae_loss(pred, target, mask)


def per_image_mean(images, pred, mask, patch_size):
    target = mae.normalize_patches(mae.patchify(images, patch_size))
    per_patch = (pred - target).pow(2).mean(-1)
    return ((per_patch * mask).sum(1) / mask.sum(1)).mean()


def test_mae_loss_checker_accepts_the_recipe():
    feedback = checks.check_mae_loss(reference_loss)
    assert feedback, feedback.message


@pytest.mark.parametrize("wrong, words", [
    (all_patches, "all patches"),
    (raw_pixels, "not normalised per patch"),
    (channel_first_patches, "(channel, row, column)"),
    (plain_reshape, "plain reshape"),
    (biased_variance, "biased variance"),
    (per_image_mean, "image by image"),
    (lambda images, pred, mask, p: None, "return"),
    (lambda images, pred, mask, p: (_ for _ in ()).throw(NotImplementedError), "NotImplementedError"),
    (lambda images, pred, mask, p: pred.mean(-1), "scalar"),
])
def test_mae_loss_checker_names_the_mistake(wrong, words):
    feedback = checks.check_mae_loss(wrong)
    assert not feedback and words in feedback.message, feedback.message


# ----------------------------------------------------------------------------- random masking

def reference_masking(batch_size, num_patches, mask_ratio):
    keep, mask, _ = mae.random_masking(batch_size, num_patches, mask_ratio)
    return keep, mask


def same_mask_for_all(batch_size, num_patches, mask_ratio):
    keep, mask = reference_masking(1, num_patches, mask_ratio)
    return keep.expand(batch_size, -1), mask.expand(batch_size, -1)


def flipped_mask(batch_size, num_patches, mask_ratio):
    keep, mask = reference_masking(batch_size, num_patches, mask_ratio)
    return keep, 1 - mask


def keeps_the_masked_count(batch_size, num_patches, mask_ratio):
    num_masked = num_patches - int(num_patches * (1 - mask_ratio))
    keep = torch.rand(batch_size, num_patches).argsort(dim=1)[:, :num_masked]
    return keep, torch.ones(batch_size, num_patches).scatter_(1, keep, 0.0)


def rounded_count(batch_size, num_patches, mask_ratio):
    num_keep = round(num_patches * (1 - mask_ratio))
    keep = torch.rand(batch_size, num_patches).argsort(dim=1)[:, :num_keep]
    return keep, torch.ones(batch_size, num_patches).scatter_(1, keep, 0.0)


def repeated_draws(batch_size, num_patches, mask_ratio):
    num_keep = int(num_patches * (1 - mask_ratio))
    keep = torch.randint(0, num_patches, (batch_size, num_keep))
    return keep, torch.ones(batch_size, num_patches).scatter_(1, keep, 0.0)


def fixed_seed(batch_size, num_patches, mask_ratio):
    keep, mask, _ = mae.random_masking(batch_size, num_patches, mask_ratio,
                                       generator=torch.Generator().manual_seed(0))
    return keep, mask


def biased_towards_the_top(batch_size, num_patches, mask_ratio):
    # noise that grows along the patch index: the top-left patches are kept far more often
    num_keep = int(num_patches * (1 - mask_ratio))
    noise = torch.rand(batch_size, num_patches) + torch.linspace(0, 1, num_patches)
    keep = noise.argsort(dim=1)[:, :num_keep]
    return keep, torch.ones(batch_size, num_patches).scatter_(1, keep, 0.0)


def test_random_masking_checker_accepts_the_recipe():
    feedback = checks.check_random_masking(reference_masking)
    assert feedback, feedback.message


@pytest.mark.parametrize("wrong, words", [
    (same_mask_for_all, "same mask"),
    (flipped_mask, "1 = hidden"),
    (keeps_the_masked_count, "VISIBLE"),
    (rounded_count, "truncated"),
    (repeated_draws, "same patch twice"),
    (fixed_seed, "fixed seed"),
    (biased_towards_the_top, "not uniform"),
    (lambda n, p, r: None, "return"),
    (lambda n, p, r: (_ for _ in ()).throw(NotImplementedError), "NotImplementedError"),
    (lambda n, p, r: torch.zeros(n, p), "two tensors"),
])
def test_random_masking_checker_names_the_mistake(wrong, words):
    feedback = checks.check_random_masking(wrong)
    assert not feedback and words in feedback.message, feedback.message
