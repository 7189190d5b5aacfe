"""Batched augmentations with per-sample random parameters, on the tensors' own device.

Self-supervised methods learn what the augmentations leave unchanged, so the views are the
most important hyperparameter of all (Cookbook section 3.1). Each function here draws one
parameter set *per image* and applies them all in one batched call: crops, flips and
rotations through ``affine_grid``/``grid_sample``, colour through arithmetic, the pretext tasks'
grid of patches (:func:`grid_patches`) through indexing. That keeps the
whole pipeline on the GPU (as in KellerJordan's cifar10-airbench) instead of a DataLoader of
per-image PIL transforms; ``benchmarks/augment_throughput.py`` measures the difference.

Images are float tensors ``(B, C, H, W)`` with values in ``[0, 1]``; :func:`views` also
accepts the ``uint8`` tensors that :mod:`cookbook.data` stores.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

import torch
import torch.nn.functional as F

from . import ConfigError


@dataclass(frozen=True)
class AugmentConfig:
    """The knobs of one view pipeline. Defaults follow SimCLR's CIFAR-10 setting (Chen et al., 2020)."""

    crop_min_scale: float = 0.2       # smallest crop area, as a fraction of the image (1.0 = no cropping)
    crop_ratio: tuple[float, float] = (3 / 4, 4 / 3)  # range of crop aspect ratios
    flip_p: float = 0.5               # probability of a horizontal flip
    rotate_degrees: float = 0.0       # each view turned by an angle drawn from [-r, r] degrees (0: never turned)
    jitter_strength: float = 0.5      # SimCLR's colour strength s: brightness/contrast/saturation 0.8s, hue 0.2s
    jitter_p: float = 0.8             # probability that an image gets colour jitter at all
    gray_p: float = 0.2               # probability of converting to grayscale
    blur_p: float = 0.0               # probability of a Gaussian blur (SimCLR uses 0.5 on ImageNet, 0 on CIFAR)
    blur_sigma: tuple[float, float] = (0.1, 2.0)  # blur sigma range in pixels at 224 px, scaled to the image
    solarize_p: float = 0.0           # probability of solarizing (BYOL's second view uses 0.2)
    noise_std: float = 0.0            # std of additive Gaussian pixel noise
    output_size: int | None = None    # side of the output views (None: same as the input)

    def __post_init__(self) -> None:
        probabilities = {k: getattr(self, k) for k in ("flip_p", "jitter_p", "gray_p", "blur_p", "solarize_p")}
        for name, p in probabilities.items():
            if not 0.0 <= p <= 1.0:
                raise ValueError(f"AugmentConfig.{name}={p} is not a probability: choose a value in [0, 1]")
        if not 0.0 < self.crop_min_scale <= 1.0:
            raise ValueError(f"AugmentConfig.crop_min_scale={self.crop_min_scale} must be in (0, 1]")
        if not 0.0 < self.blur_sigma[0] <= self.blur_sigma[1]:
            raise ValueError(f"AugmentConfig.blur_sigma={self.blur_sigma} must be (low, high) with 0 < low <= high")
        if self.output_size is not None and self.output_size < 1:
            raise ValueError(f"AugmentConfig.output_size={self.output_size} must be >= 1 "
                             "(leave it unset for views the size of the input)")
        if self.jitter_strength < 0 or self.noise_std < 0:
            raise ValueError("AugmentConfig.jitter_strength and noise_std must be >= 0")
        if not 0.0 <= self.rotate_degrees <= 180.0:
            raise ValueError(f"AugmentConfig.rotate_degrees={self.rotate_degrees} must be in [0, 180] "
                             "(180: any angle)")

    def replace(self, **changes) -> "AugmentConfig":
        return replace(self, **changes)

    def as_dict(self) -> dict:
        return asdict(self)


NO_AUGMENTATION = AugmentConfig(crop_min_scale=1.0, flip_p=0.0, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0)


def _uniform(n: int, low: float, high: float, device) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, device=device)


def _chosen(n: int, p: float, device) -> torch.Tensor:
    """(n,) boolean: which images get an augmentation applied with probability p."""
    return torch.rand(n, device=device) < p


def random_resized_crop(x: torch.Tensor, size: int | None = None, min_scale: float = 0.2,
                        ratio: tuple[float, float] = (3 / 4, 4 / 3), flip_p: float = 0.5, *,
                        max_scale: float = 1.0, rotate_degrees: float = 0.0) -> torch.Tensor:
    """Crop a random box of area in ``[min_scale, max_scale]`` and aspect ratio in ``ratio`` from each
    image, flip it horizontally with probability ``flip_p``, turn it by an angle drawn from
    ``[-rotate_degrees, rotate_degrees]``, and resize it to ``size`` (bilinear). The turn is part of
    the same affine map as the crop, so it costs nothing extra; corners that a turn brings in from
    outside the image are filled by reflection."""
    b, c, h, w = x.shape
    size = size or h
    area = _uniform(b, min_scale, max_scale, x.device)
    log_ratio = _uniform(b, math.log(ratio[0]), math.log(ratio[1]), x.device)
    # Keep the aspect ratio in [area, 1/area] so the box fits inside the image without
    # clamping one side (which would stretch it): a full-area crop is then the whole image.
    aspect = torch.minimum(torch.maximum(torch.exp(log_ratio), area), 1 / area)
    # Box width and height as fractions of the image (the affine grid spans [-1, 1]).
    box_w = torch.sqrt(area * aspect).clamp(max=1.0)
    box_h = torch.sqrt(area / aspect).clamp(max=1.0)
    centre_x = (2 * torch.rand(b, device=x.device) - 1) * (1 - box_w)
    centre_y = (2 * torch.rand(b, device=x.device) - 1) * (1 - box_h)
    flip = torch.where(_chosen(b, flip_p, x.device), -1.0, 1.0)
    theta = torch.zeros(b, 2, 3, device=x.device, dtype=x.dtype)
    theta[:, 0, 2] = centre_x
    theta[:, 1, 2] = centre_y
    if rotate_degrees:
        angle = torch.deg2rad(_uniform(b, -rotate_degrees, rotate_degrees, x.device))
        cos, sin = torch.cos(angle), torch.sin(angle)
        theta[:, 0, 0], theta[:, 0, 1] = box_w * flip * cos, -box_h * sin
        theta[:, 1, 0], theta[:, 1, 1] = box_w * flip * sin, box_h * cos
    else:
        theta[:, 0, 0] = box_w * flip
        theta[:, 1, 1] = box_h
    grid = F.affine_grid(theta, (b, c, size, size), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="reflection", align_corners=False)


def _gray(x: torch.Tensor) -> torch.Tensor:
    """(B, 3, H, W) -> (B, 1, H, W) luma with the ITU-R 601 weights torchvision uses."""
    return (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) if x.shape[1] == 3 else x


# RGB <-> YIQ: a hue shift is a rotation of the (I, Q) chroma plane around the grey axis.
_RGB_TO_YIQ = torch.tensor([[0.299, 0.587, 0.114], [0.596, -0.274, -0.322], [0.211, -0.523, 0.312]])


def _hue_rotation(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Rotate each image's hue by ``shift`` (B,) turns (1.0 = a full turn)."""
    to_yiq = _RGB_TO_YIQ.to(x.device, x.dtype)
    angle = 2 * math.pi * shift
    cos, sin = torch.cos(angle), torch.sin(angle)
    rotation = torch.zeros(len(x), 3, 3, device=x.device, dtype=x.dtype)
    rotation[:, 0, 0] = 1
    rotation[:, 1, 1], rotation[:, 1, 2] = cos, -sin
    rotation[:, 2, 1], rotation[:, 2, 2] = sin, cos
    matrix = torch.linalg.inv(to_yiq) @ rotation @ to_yiq  # (B, 3, 3)
    return torch.einsum("bij,bjhw->bihw", matrix, x)


def color_jitter(x: torch.Tensor, strength: float = 0.5, p: float = 0.8) -> torch.Tensor:
    """SimCLR-style colour distortion of strength ``s``: brightness, contrast and saturation
    factors in ``[1 - 0.8s, 1 + 0.8s]`` and a hue shift in ``[-0.2s, 0.2s]`` turns, applied (in
    that order) to a random fraction ``p`` of the images."""
    if strength == 0 or p == 0 or x.shape[1] != 3:
        return x
    b = len(x)
    on = _chosen(b, p, x.device).to(x.dtype)

    def factor(spread):  # identity (1.0) for the images that are not jittered
        return (1 + on * _uniform(b, -spread, spread, x.device)).clamp_min(0).view(b, 1, 1, 1)

    s = 0.8 * strength
    x = (x * factor(s)).clamp(0, 1)                                       # brightness
    mean = _gray(x).mean(dim=(1, 2, 3), keepdim=True)
    x = ((x - mean) * factor(s) + mean).clamp(0, 1)                       # contrast
    gray = _gray(x)
    x = ((x - gray) * factor(s) + gray).clamp(0, 1)                       # saturation
    hue_shift = on * _uniform(b, -0.2 * strength, 0.2 * strength, x.device)
    return _hue_rotation(x, hue_shift).clamp(0, 1)                        # hue


def random_grayscale(x: torch.Tensor, p: float = 0.2) -> torch.Tensor:
    if p == 0 or x.shape[1] != 3:
        return x
    on = _chosen(len(x), p, x.device).view(-1, 1, 1, 1)
    return torch.where(on, _gray(x).expand_as(x), x)


def gaussian_blur(x: torch.Tensor, p: float = 0.5, sigma: tuple[float, float] = (0.1, 2.0)) -> torch.Tensor:
    """Blur a random fraction ``p`` of the images with a per-image sigma drawn from ``sigma``
    (in pixels; one separable kernel per image, applied as a grouped convolution)."""
    if p == 0:
        return x
    b, c, h, w = x.shape
    sig = _uniform(b, sigma[0], sigma[1], x.device)
    radius = max(1, int(math.ceil(3 * sigma[1])))
    radius = min(radius, (min(h, w) - 1) // 2)
    taps = torch.arange(-radius, radius + 1, device=x.device, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (taps[None] / sig[:, None]) ** 2)
    kernel = (kernel / kernel.sum(dim=1, keepdim=True)).repeat_interleave(c, dim=0)  # (B*C, K)
    flat = x.reshape(1, b * c, h, w)
    flat = F.conv2d(F.pad(flat, (radius, radius, 0, 0), mode="reflect"), kernel[:, None, None, :], groups=b * c)
    flat = F.conv2d(F.pad(flat, (0, 0, radius, radius), mode="reflect"), kernel[:, None, :, None], groups=b * c)
    on = _chosen(b, p, x.device).view(-1, 1, 1, 1)
    return torch.where(on, flat.view(b, c, h, w), x)


def random_solarize(x: torch.Tensor, p: float = 0.2, threshold: float = 0.5) -> torch.Tensor:
    if p == 0:
        return x
    on = _chosen(len(x), p, x.device).view(-1, 1, 1, 1)
    return torch.where(on & (x >= threshold), 1 - x, x)


def gaussian_noise(x: torch.Tensor, std: float = 0.05) -> torch.Tensor:
    if std == 0:
        return x
    return (x + std * torch.randn_like(x)).clamp(0, 1)


def crop(x: torch.Tensor, config: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """The geometric half of :func:`augment`: a random resized crop and flip of every image in ``x``
    (uint8 or float in [0, 1]), resized to ``config.output_size`` (default: the input's side)."""
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    return random_resized_crop(x, config.output_size or x.shape[-1], config.crop_min_scale, config.crop_ratio,
                               config.flip_p, rotate_degrees=config.rotate_degrees)


def recolour(x: torch.Tensor, config: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """The photometric half of :func:`augment`, on float images in [0, 1]: colour jitter, grayscale,
    blur (its sigma scaled to the images' side), solarization and noise, each as ``config`` says."""
    x = color_jitter(x, config.jitter_strength, config.jitter_p)
    x = random_grayscale(x, config.gray_p)
    scaled_sigma = tuple(s * x.shape[-1] / 224 for s in config.blur_sigma)
    x = gaussian_blur(x, config.blur_p, scaled_sigma)
    x = random_solarize(x, config.solarize_p)
    return gaussian_noise(x, config.noise_std)


def augment(x: torch.Tensor, config: AugmentConfig = AugmentConfig()) -> torch.Tensor:
    """One random view of every image in ``x`` (uint8 or float in [0, 1]) -> float in [0, 1]:
    :func:`crop`, then :func:`recolour`."""
    return recolour(crop(x, config), config)


def views(x: torch.Tensor, n: int = 2, config: AugmentConfig = AugmentConfig()) -> list[torch.Tensor]:
    """``n`` independent random views of a batch: a list of ``n`` float tensors."""
    if n < 1:
        raise ValueError(f"views(n={n}): ask for at least one view")
    return [augment(x, config) for _ in range(n)]


def check_multi_crop(n_local: int, local_size: int | None, local_scale: tuple[float, float], n_global: int = 2) -> None:
    """Raise ConfigError (a ValueError), saying what to change, for multi-crop settings :func:`multi_crop`
    cannot use (the recipes that use it call this from their ``Config.validate``, so a bad value fails at once)."""
    low, high = local_scale
    if not 0.0 < low <= high <= 1.0:
        raise ConfigError(f"local crop scales ({low}, {high}) must satisfy 0 < low <= high <= 1 "
                          "(fractions of the image area; multi-crop papers use about 0.05 to 0.4)")
    if n_global < 1 or n_local < 0:
        raise ConfigError(f"n_global={n_global}, n_local={n_local}: ask for at least one global view and no "
                          "negative number of local views")
    if local_size is not None and local_size < 1:
        raise ConfigError(f"local_size={local_size} must be at least 1 pixel")


def multi_crop(x: torch.Tensor, config: AugmentConfig = AugmentConfig(), n_global: int = 2, n_local: int = 4,
               local_size: int | None = None, local_scale: tuple[float, float] = (0.05, 0.4)
               ) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    """SwAV's multi-crop (Caron et al., 2020): ``n_global`` views as :func:`augment` makes them, plus
    ``n_local`` small views, each a crop of area in ``local_scale`` resized to ``local_size`` pixels
    (default: half the global side) and then coloured like the global views.

    Small crops are cheap (a quarter of the pixels at half the side), so a model can compare many
    more views per image; matching a local view to a global one teaches "local-to-global"
    correspondence. Returns ``(global_views, local_views)``, two lists of float tensors.
    """
    check_multi_crop(n_local, local_size, local_scale, n_global)
    low, high = local_scale
    if x.dtype == torch.uint8:
        x = x.float().div_(255)
    local_size = local_size or max(1, (config.output_size or x.shape[-1]) // 2)
    global_views = views(x, n_global, config)
    local_views = [recolour(random_resized_crop(x, local_size, low, config.crop_ratio, config.flip_p, max_scale=high,
                                                rotate_degrees=config.rotate_degrees), config)
                   for _ in range(n_local)]
    return global_views, local_views


def grid_span(patch_size: int, gap: int, jitter: int) -> int:
    """Pixels a 3x3 grid of patches needs along each side, jitter included (see :func:`grid_patches`)."""
    return 3 * patch_size + 2 * gap + 2 * jitter


def grid_patches(images: torch.Tensor, patch_size: int, gap: int = 2, jitter: int = 1) -> torch.Tensor:
    """Cut a 3x3 grid of square patches out of every image: ``(N, C, H, W)`` -> ``(N, 9, C, p, p)``
    (the puzzle of context prediction, Doersch et al., 2015, and of the jigsaw, Noroozi and Favaro, 2016).

    Patch ``g`` (row-major: 0 top-left, 4 the middle, 8 bottom-right) starts
    ``(g // 3, g % 3) * (patch_size + gap)`` pixels from the grid's origin, which is placed at
    random wherever the grid fits; each patch then moves by its own random offset in
    ``[-jitter, jitter]`` along each axis. Every image draws its own origin and offsets.
    """
    n, c, h, w = images.shape
    span = grid_span(patch_size, gap, jitter)
    if span > min(h, w):
        raise ValueError(f"a 3x3 grid of {patch_size} px patches with {gap} px gaps and {jitter} px jitter needs "
                         f"{span} px, more than these {h}x{w} images: lower patch_size, gap or jitter")
    device = images.device
    starts = torch.arange(3, device=device) * (patch_size + gap)

    def corners(room: int, grid_starts: torch.Tensor) -> torch.Tensor:  # (N, 9) first pixel along one axis
        origin = jitter + torch.randint(0, room - span + 1, (n, 1), device=device)
        return origin + grid_starts + torch.randint(-jitter, jitter + 1, (n, 9), device=device)

    top = corners(h, starts.repeat_interleave(3))   # rows of the grid: 0 0 0 1 1 1 2 2 2
    left = corners(w, starts.repeat(3))             # columns:          0 1 2 0 1 2 0 1 2
    pixels = torch.arange(patch_size, device=device)
    rows = (top[..., None] + pixels)[..., :, None]   # (N, 9, p, 1)
    cols = (left[..., None] + pixels)[..., None, :]  # (N, 9, 1, p)
    batch = torch.arange(n, device=device).view(n, 1, 1, 1)
    # Advanced indexing puts the broadcast (N, 9, p, p) first and the channels last.
    return images[batch, :, rows, cols].permute(0, 1, 4, 2, 3)
