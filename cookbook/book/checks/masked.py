"""Checkers of chapter 6, masked image modeling (MAE, I-JEPA): the MAE loss and random masking; and the keys
of the chapter's multiple-choice exercises."""
from __future__ import annotations

from typing import Callable

import torch

from cookbook import registry
from cookbook.book.checks.core import Choice, Feedback, _close, _first_matching, _returned, _value

__all__ = ["check_mae_loss", "check_random_masking"]


# ------------------------------------------------------------------------- the MAE loss

def _mae_cases():
    """Seeded (images, predictions, mask, patch size) cases. The last mask hides a different number
    of patches in each image, so averaging per image first gives a different value from the recipe's."""
    generator = torch.Generator().manual_seed(11)
    cases = []
    for n, size, patch, ratio in ((3, 8, 4, 0.75), (2, 12, 4, 0.5), (4, 8, 2, 0.0)):
        images = torch.rand(n, 3, size, size, generator=generator)
        patches = (size // patch) ** 2
        pred = torch.randn(n, patches, patch * patch * 3, generator=generator)
        if ratio:
            hidden = int(patches * ratio)
            order = torch.rand(n, patches, generator=generator).argsort(dim=1)
            mask = torch.zeros(n, patches).scatter_(1, order[:, :hidden], 1.0)
        else:
            mask = (torch.rand(n, patches, generator=generator) < torch.linspace(0.2, 0.8, n)[:, None]).float()
            mask[:, 0] = 1.0  # every image hides at least one patch
        cases.append((images, pred, mask, patch))
    return cases


def _mae_loss_variants(images, pred, mask, patch):
    """The recipe's loss on normalised patches, and the values the usual mistakes give."""
    mae = registry.get("mae")
    patches = mae.patchify(images, patch)
    target = mae.normalize_patches(patches)
    reference = mae.mae_loss(pred, target, mask).item()
    per_patch = (pred - target).pow(2).mean(dim=-1)
    n, c, h, w = images.shape

    def loss_against(wrong_target):
        return mae.mae_loss(pred, wrong_target, mask).item()

    def biased(x):
        return (x - x.mean(dim=-1, keepdim=True)) / (x.var(dim=-1, keepdim=True, unbiased=False) + 1e-6).sqrt()

    channel_first = images.reshape(n, c, h // patch, patch, w // patch, patch).permute(0, 2, 4, 1, 3, 5)
    column_major = images.reshape(n, c, h // patch, patch, w // patch, patch).permute(0, 4, 2, 3, 5, 1)
    plain_reshape = images.reshape(n, (h // patch) * (w // patch), -1)
    per_image = ((per_patch * mask).sum(dim=1) / mask.sum(dim=1)).mean().item()
    return reference, {
        "the loss is averaged over all patches: MAE counts only the masked ones (divide by the number of "
        "masked patches, not by N * P)": per_patch.mean().item(),
        "the loss is averaged over the visible patches: the mask is 1 where a patch is HIDDEN, and only "
        "those patches count": ((per_patch * (1 - mask)).sum() / (1 - mask).sum().clamp_min(1)).item(),
        "the target is not normalised per patch: subtract each patch's mean and divide by the square root "
        "of its variance plus 1e-6 (norm_pix_loss)": loss_against(patches),
        "each patch is normalised with the biased variance (dividing by d): torch's default `var` divides "
        "by d - 1, as the recipe's normalize_patches does": loss_against(biased(patches)),
        "the images were normalised as a whole, not patch by patch: take the mean and variance over the "
        "values of each patch (the last dimension)": loss_against(mae.patchify(
            (images - images.mean(dim=(1, 2, 3), keepdim=True)) / (images.var(dim=(1, 2, 3), keepdim=True)
                                                                 + 1e-6).sqrt(), patch)),
        "the squared error is summed over a patch's values instead of averaged: divide by patch_dim":
            ((pred - target).pow(2).sum(dim=-1) * mask).sum().item() / mask.sum().item(),
        "the loss is averaged image by image, then over images: the recipe divides the sum over all masked "
        "patches of the batch by their total number": per_image,
        "patchify flattens each patch as (channel, row, column): the recipe's order is (row, column, "
        "channel), the layout of the ViT's patch embedding": loss_against(
            mae.normalize_patches(channel_first.reshape(n, -1, patch * patch * c))),
        "patchify walks the grid column by column: patches are numbered row by row, like the ViT's tokens":
            loss_against(mae.normalize_patches(column_major.reshape(n, -1, patch * patch * c))),
        "patchify is a plain reshape of the image: move the grid axes in front with a permute before "
        "flattening, or the 'patches' are strips of one channel": loss_against(mae.normalize_patches(plain_reshape)),
    }


def check_mae_loss(fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]) -> Feedback:
    """Check ``fn(images, pred, mask, patch_size)``: MAE's loss with ``norm_pix_loss``, that is the
    recipe's ``mae_loss(pred, normalize_patches(patchify(images, patch_size)), mask)``."""
    for images, pred, mask, patch in _mae_cases():
        expected, mistakes = _mae_loss_variants(images, pred, mask, patch)
        got, error = _value(fn, images.clone(), pred.clone(), mask.clone(), patch)
        if error:
            return Feedback(False, error)
        if not _close(got, expected):
            why = _first_matching(got, mistakes)
            detail = (f" (on {len(images)} images of {images.shape[-1]}x{images.shape[-1]} pixels in "
                      f"{patch}x{patch} patches, {int(mask.sum())} of {mask.numel()} patches masked: "
                      f"expected {expected:.4f}, got {got:.4f})")
            return Feedback(False, (why or "the value differs from the MAE loss") + detail)
    return Feedback(True, "your loss matches the recipe's `mae_loss` on normalised patches, for three batches "
                          "(including one whose images hide different numbers of patches).")


# ------------------------------------------------------------------------- random masking

def _masks_of(fn, batch_size, num_patches, mask_ratio):
    """Call the student's masking function; return ``((keep, mask), None)`` or ``(None, what went wrong)``."""
    out, error = _returned(fn, batch_size, num_patches, mask_ratio)
    if error:
        return None, error
    if not (isinstance(out, tuple) and len(out) == 2 and all(isinstance(t, torch.Tensor) for t in out)):
        return None, "return two tensors, `keep` (N, K) and `mask` (N, P), as a tuple: `return keep, mask`"
    return out, None


def check_random_masking(fn: Callable[[int, int, float], tuple[torch.Tensor, torch.Tensor]]) -> Feedback:
    """Check ``fn(batch_size, num_patches, mask_ratio) -> (keep, mask)`` against the rules of the
    recipe's ``random_masking``: ``K = int(P * (1 - mask_ratio))`` visible patches per image, drawn
    independently and uniformly for every image, ``mask`` 1 where a patch is hidden."""
    for n, p, ratio in ((8, 16, 0.75), (6, 10, 0.25), (4, 64, 0.9)):
        num_keep = int(p * (1 - ratio))
        out, error = _masks_of(fn, n, p, ratio)
        if error:
            return Feedback(False, error)
        keep, mask = out
        where = f" (N={n} images, P={p} patches, mask_ratio={ratio})"
        if keep.ndim != 2 or keep.shape[0] != n:
            return Feedback(False, f"keep has shape {tuple(keep.shape)}: it should be (N, K) = ({n}, {num_keep}), "
                                   "the indices of each image's visible patches" + where)
        if keep.shape[1] != num_keep:
            if keep.shape[1] == p - num_keep:
                return Feedback(False, "keep holds as many patches as are hidden: K counts the VISIBLE ones, "
                                       "int(P * (1 - mask_ratio))" + where)
            return Feedback(False, f"keep has {keep.shape[1]} patches per image; K should be int(P * (1 - mask_ratio))"
                                   f" = {num_keep}, truncated as the recipe does" + where)
        if tuple(mask.shape) != (n, p):
            return Feedback(False, f"mask has shape {tuple(mask.shape)}: it should be (N, P) = ({n}, {p})" + where)
        if keep.dtype not in (torch.int64, torch.int32) or not ((keep >= 0) & (keep < p)).all():
            return Feedback(False, f"keep should hold integer patch indices from 0 to {p - 1} (use argsort)" + where)
        if any(len(set(row)) != num_keep for row in keep.tolist()):
            return Feedback(False, "an image keeps the same patch twice: take the first K of a random "
                                   "permutation (argsort of noise), not K random draws" + where)
        if mask.sum(dim=1).tolist() == [float(num_keep)] * n and num_keep != p - num_keep:
            return Feedback(False, "the mask is 1 on the visible patches: MAE's convention is 1 = hidden "
                                   "(the loss multiplies by it), 0 = visible" + where)
        if not (mask.float().gather(1, keep.long()) == 0).all() or mask.float().sum().item() != n * (p - num_keep):
            return Feedback(False, "mask and keep disagree: mask must be 0 exactly at the kept patches and 1 "
                                   "at the other P - K" + where)
        if n > 1 and all(torch.equal(keep[0].sort().values, row.sort().values) for row in keep):
            return Feedback(False, "every image has the same mask: draw new noise for each image "
                                   "(torch.rand(N, P)), so each one hides different patches" + where)
    out, error = _masks_of(fn, 4000, 16, 0.75)
    if error:
        return Feedback(False, error)
    visible_share = 1 - out[1].float().mean(dim=0)
    if (visible_share - 0.25).abs().max() > 0.05:
        worst = int((visible_share - 0.25).abs().argmax())
        return Feedback(False, f"the masks are not uniform: over 4000 images patch {worst} stays visible "
                               f"{visible_share[worst]:.0%} of the time instead of 25%; rank the patches by "
                               "uniform noise (torch.rand) and keep the first K")
    again, _ = _masks_of(fn, 4000, 16, 0.75)
    if again is not None and torch.equal(again[1], out[1]):
        return Feedback(False, "two calls gave the same masks: a fixed seed inside the function makes every "
                               "step hide the same patches")
    return Feedback(True, "your masking keeps int(P * (1 - mask_ratio)) patches per image, independently and "
                          "uniformly, with mask = 1 on the hidden ones, like the recipe's `random_masking`.")


# ------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-masked-only": Choice("a", {
        "a": "a visible patch can be copied through the encoder and decoder; the hidden ones must be inferred from "
             "the rest of the image, and that inference is what trains the features.",
        "b": "the decoder does output every position (look at `MAE.predict`: visible tokens and mask tokens both go "
             "through it); the loss then ignores the visible ones. The savings are in the encoder.",
        "c": "a pixel target does not depend on the network, so a constant cannot meet it whatever is counted; the "
             "visible patches would only add an easy copying task.",
    }),
    "ex-latent-ema": Choice("a", {
        "a": "the target is a representation, so only what is predictable from the context needs to be in it; the "
             "slow, gradient-free target is the guard that BYOL also uses against the trivial answer in which every "
             "patch gets the same feature.",
        "b": "if the target encoder were trained by the same gradient, the easiest way to lower the loss would be to "
             "make every target feature the same constant: collapse. The EMA and the stop-gradient are what prevent "
             "that, not a memory trick (the EMA copy costs memory).",
        "c": "the pixels are cheap to predict (MAE does it); the reason is what the target contains. And the EMA "
             "matters: with momentum 1 the target encoder never changes from its random start.",
    }),
}
