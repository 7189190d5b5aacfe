"""Backbones and heads shared by every recipe.

A backbone maps float images in ``[0, 1]`` to a feature vector (it standardises its input
itself, so callers never forget). ``backbone.dim`` is the feature size. Heads are MLPs:
the *projector* maps features to the space the loss sees, the *predictor* (BYOL, SimSiam)
maps one branch's projection onto the other's.

- ``small_cnn``: four conv blocks, fast enough for a CPU chapter in quick mode;
- ``resnet18``: torchvision's ResNet-18 with the CIFAR stem (3x3 first conv, no max-pool),
  the usual SSL baseline on 32x32 images;
- ``vit_tiny``: a small Vision Transformer (patch embedding + pre-norm encoder), whose
  patch tokens the masked-image-modelling recipes use; they build :class:`TinyViT` directly
  (narrower and shallower in quick mode) with mean-pooled patch tokens as the feature.
"""
from __future__ import annotations

import torch
from torch import nn

BACKBONES = ("small_cnn", "resnet18", "vit_tiny")


class Standardize(nn.Module):
    def __init__(self, mean, std):
        super().__init__()
        self.register_buffer("mean", torch.tensor(mean, dtype=torch.float32).view(1, -1, 1, 1))
        self.register_buffer("std", torch.tensor(std, dtype=torch.float32).view(1, -1, 1, 1))

    def forward(self, x):
        return (x - self.mean) / self.std


def _conv_block(c_in: int, c_out: int, stride: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
                         nn.BatchNorm2d(c_out), nn.ReLU(inplace=True))


class SmallCNN(nn.Module):
    """Four Conv-BN-ReLU blocks doubling the width, then average pooling.

    The first conv already has stride 2: on two CPU cores it makes a training step about four
    times faster than a full-resolution stem, which is what lets a chapter train in a minute.
    """

    def __init__(self, width: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__()
        self.dim = 8 * width
        self.standardize = Standardize(mean, std)
        self.features = nn.Sequential(
            _conv_block(3, width, 2), _conv_block(width, 2 * width, 2),
            _conv_block(2 * width, 4 * width, 2), _conv_block(4 * width, 8 * width, 1),
            nn.AdaptiveAvgPool2d(1), nn.Flatten())

    def forward(self, x):
        return self.features(self.standardize(x))


class ResNet18(nn.Module):
    """torchvision ResNet-18 with the CIFAR stem: 3x3 stride-1 first conv and no max-pool."""

    def __init__(self, mean=(0.5,) * 3, std=(0.25,) * 3, cifar_stem: bool = True):
        super().__init__()
        import torchvision

        net = torchvision.models.resnet18(weights=None)
        if cifar_stem:
            net.conv1 = nn.Conv2d(3, 64, 3, stride=1, padding=1, bias=False)
            net.maxpool = nn.Identity()
        self.dim = net.fc.in_features
        net.fc = nn.Identity()
        self.standardize = Standardize(mean, std)
        self.net = net

    def forward(self, x):
        return self.net(self.standardize(x))


def sincos_pos_embed(grid_size: int, dim: int) -> torch.Tensor:
    """Fixed 2-D sine-cosine positions of a ``grid_size x grid_size`` patch grid: ``(grid_size**2, dim)``,
    rows in the row-major order of the patches. Half the channels encode the row, half the column,
    each as sines and cosines of geometrically spaced frequencies (MAE and I-JEPA use these)."""
    if dim % 4:
        raise ValueError(f"dim={dim}: 2-D sine-cosine positions need a multiple of 4 channels")
    frequencies = 1.0 / 10000 ** (torch.arange(dim // 4, dtype=torch.float32) / (dim // 4))
    rows, cols = torch.meshgrid(torch.arange(grid_size, dtype=torch.float32),
                                torch.arange(grid_size, dtype=torch.float32), indexing="ij")
    angles = [coord.reshape(-1, 1) * frequencies for coord in (rows, cols)]
    return torch.cat([f(a) for a in angles for f in (torch.sin, torch.cos)], dim=1)


def transformer(dim: int, depth: int, heads: int, mlp_ratio: float = 4.0) -> nn.TransformerEncoder:
    """``depth`` pre-norm transformer blocks of width ``dim`` (GELU MLPs, no dropout), batch first:
    the ViT encoder, and the MAE decoder and I-JEPA predictor built the same way."""
    layer = nn.TransformerEncoderLayer(dim, heads, int(dim * mlp_ratio), dropout=0.0, activation="gelu",
                                       batch_first=True, norm_first=True)
    # The nested-tensor fast path only applies to inference with padding masks, and warns for pre-norm layers.
    return nn.TransformerEncoder(layer, depth, enable_nested_tensor=False)


def check_transformer_sizes(config, *prefixes: str, sincos: tuple[str, ...] = ()) -> None:
    """Raise ValueError for transformer sizes a recipe's ``config`` cannot build: for each prefix
    (``"vit"``, ``"decoder"``, ``"pred"``), ``<prefix>_heads`` must divide ``<prefix>_dim`` and
    ``<prefix>_depth`` be at least 1; the widths named in ``sincos`` carry 2-D sine-cosine
    positions, so they must be multiples of 4 (see :func:`sincos_pos_embed`)."""
    for prefix in prefixes:
        dim, heads, depth = (getattr(config, f"{prefix}_{k}") for k in ("dim", "heads", "depth"))
        if heads < 1 or dim % heads:
            raise ValueError(f"{prefix}_heads={heads} must be >= 1 and divide {prefix}_dim={dim}")
        if depth < 1:
            raise ValueError(f"{prefix}_depth={depth} must be >= 1")
    for name in sincos:
        if getattr(config, name) % 4:
            raise ValueError(f"{name}={getattr(config, name)} must be a multiple of 4 "
                             "(its 2-D sine-cosine positions split the channels in four)")


class TinyViT(nn.Module):
    """A small pre-norm Vision Transformer. ``forward`` returns the [CLS] feature, or with
    ``pool="mean"`` the mean of the patch tokens (what MAE and I-JEPA evaluate: their losses never
    look at the [CLS] token); ``tokens`` returns all tokens (CLS first) for masked-image-modelling recipes."""

    def __init__(self, image_size: int = 32, patch_size: int = 4, dim: int = 192, depth: int = 6,
                 heads: int = 3, mlp_ratio: float = 4.0, mean=(0.5,) * 3, std=(0.25,) * 3, pool: str = "cls"):
        super().__init__()
        if image_size % patch_size:
            raise ValueError(f"image_size={image_size} is not a multiple of patch_size={patch_size}")
        if pool not in ("cls", "mean"):
            raise ValueError(f"pool={pool!r}: choose 'cls' (the [CLS] token) or 'mean' (mean of the patch tokens)")
        self.dim, self.patch_size, self.pool = dim, patch_size, pool
        self.grid_size = image_size // patch_size
        self.num_patches = (image_size // patch_size) ** 2
        self.standardize = Standardize(mean, std)
        self.patch_embed = nn.Conv2d(3, dim, patch_size, stride=patch_size)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, dim))
        self.pos_embed = nn.Parameter(torch.randn(1, self.num_patches + 1, dim) * 0.02)
        self.encoder = transformer(dim, depth, heads, mlp_ratio)
        self.norm = nn.LayerNorm(dim)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 3, H, W) -> (B, num_patches, dim) patch embeddings with positions added."""
        patches = self.patch_embed(self.standardize(x)).flatten(2).transpose(1, 2)
        return patches + self.pos_embed[:, 1:]

    def tokens(self, x: torch.Tensor, keep: torch.Tensor | None = None) -> torch.Tensor:
        """All output tokens (B, 1 + P, dim); with ``keep`` (B, K) patch indices, only those patches."""
        patches = self.patchify(x)
        if keep is not None:
            patches = patches.gather(1, keep[..., None].expand(-1, -1, self.dim))
        cls = (self.cls_token + self.pos_embed[:, :1]).expand(len(x), -1, -1)
        return self.norm(self.encoder(torch.cat([cls, patches], dim=1)))

    def forward(self, x):
        tokens = self.tokens(x)
        return tokens[:, 1:].mean(dim=1) if self.pool == "mean" else tokens[:, 0]


def build_backbone(name: str, *, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3, width: int = 32) -> nn.Module:
    """Build a backbone by name; ``mean``/``std`` are the dataset's channel statistics."""
    if name == "small_cnn":
        return SmallCNN(width=width, mean=mean, std=std)
    if name == "resnet18":
        return ResNet18(mean=mean, std=std, cifar_stem=image_size <= 64)
    if name == "vit_tiny":
        patch = 4 if image_size <= 64 else 8
        return TinyViT(image_size=image_size, patch_size=patch, mean=mean, std=std)
    raise ValueError(f"unknown backbone {name!r}: choose one of {', '.join(BACKBONES)}")


def mlp(in_dim: int, hidden_dim: int, out_dim: int, depth: int = 2, *, batch_norm: bool = True,
        last_batch_norm: bool = False) -> nn.Sequential:
    """An MLP head with ``depth`` linear layers: (Linear-BN-ReLU) x (depth-1), then Linear.

    ``depth=1`` is a linear projector; SimCLR uses depth 2, BYOL's projector and predictor
    depth 2 with hidden width 4096, Barlow Twins and VICReg depth 3 with wide outputs.
    ``last_batch_norm`` adds an affine-free BatchNorm on the output (SimSiam's projector).
    """
    if depth < 1:
        raise ValueError(f"an MLP head needs depth >= 1, got {depth}")
    layers: list[nn.Module] = []
    dims = [in_dim] + [hidden_dim] * (depth - 1) + [out_dim]
    for i, (d_in, d_out) in enumerate(zip(dims[:-1], dims[1:])):
        last = i == depth - 1
        layers.append(nn.Linear(d_in, d_out, bias=not (batch_norm and not last) and not (last and last_batch_norm)))
        if not last:
            if batch_norm:
                layers.append(nn.BatchNorm1d(d_out))
            layers.append(nn.ReLU(inplace=True))
    if last_batch_norm:
        layers.append(nn.BatchNorm1d(out_dim, affine=False))
    return nn.Sequential(*layers)


def projector(in_dim: int, hidden_dim: int = 512, out_dim: int = 128, depth: int = 2, **kwargs) -> nn.Sequential:
    return mlp(in_dim, hidden_dim, out_dim, depth, **kwargs)


def predictor(dim: int, hidden_dim: int = 512, depth: int = 2) -> nn.Sequential:
    return mlp(dim, hidden_dim, dim, depth)
