"""Backbones and heads shared by every recipe, and the patch grid of the Vision Transformer.

A backbone maps float images in ``[0, 1]`` to a feature vector (it standardises its input
itself, so callers never forget). ``backbone.dim`` is the feature size. Most heads are MLPs:
the *projector* maps features to the space the loss sees, the *predictor* (BYOL, SimSiam)
maps one branch's projection onto the other's. :class:`PrototypeHead` (DINO) scores features
against learned unit prototypes; :class:`TokenPredictor` (MAE's decoder, I-JEPA's predictor)
fills hidden patches in from a ViT's visible tokens.

- ``small_cnn``: four conv blocks, fast enough for a CPU chapter in quick mode;
- ``resnet18``: torchvision's ResNet-18 with the CIFAR stem (3x3 first conv, no max-pool),
  the usual SSL baseline on 32x32 images;
- ``vit_tiny``: a small Vision Transformer (patch embedding + pre-norm encoder), whose
  patch tokens the masked-image-modelling recipes use; they build :class:`TinyViT` directly
  (narrower and shallower in quick mode) with mean-pooled patch tokens as the feature;
- ``pixel_mlp``: an MLP on the flattened pixels, with no notion of neighbouring pixels: the
  backbone with the weakest inductive bias, for the SSL interplay (Cabannes et al., 2023).

Patches: :func:`patchify` and :func:`unpatchify` convert between images and rows of patch values
in the order of the ViT's tokens, and :func:`normalize_patches` is MAE's per-patch target. Two
masks on the patch grid: :func:`random_masking` hides a random set of patches of every image
(MAE), :func:`sample_blocks` draws rectangular context and target blocks (I-JEPA).
The recipes' config checks (:func:`require_vit`, :func:`check_transformer_sizes`) raise
:class:`cookbook.config.ConfigError`.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from . import ConfigError

BACKBONES = ("small_cnn", "resnet18", "vit_tiny", "pixel_mlp")


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


class PixelMLP(nn.Module):
    """Flattened standardised pixels -> (Linear-BN-ReLU) x 2 -> ``8 * width`` features, as wide as
    :class:`SmallCNN`'s. It treats a pixel like any other input: whatever spatial structure it uses
    (that a shape moved by a few pixels is the same shape), it must learn from the views."""

    def __init__(self, image_size: int = 32, width: int = 32, hidden: int = 512, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__()
        self.dim = 8 * width
        self.standardize = Standardize(mean, std)
        self.features = nn.Sequential(
            nn.Flatten(), nn.Linear(3 * image_size * image_size, hidden, bias=False), nn.BatchNorm1d(hidden),
            nn.ReLU(inplace=True), nn.Linear(hidden, self.dim, bias=False), nn.BatchNorm1d(self.dim),
            nn.ReLU(inplace=True))

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


def require_vit(config, method: str) -> None:
    """Raise ConfigError unless ``config.backbone`` is ``"vit_tiny"``: ``method`` (MAE, I-JEPA) removes
    patch tokens, which only a Vision Transformer can do."""
    if config.backbone != "vit_tiny":
        raise ConfigError(f"backbone={config.backbone!r}: {method} removes patch tokens, which needs a Vision "
                          "Transformer; use backbone='vit_tiny' (sized by vit_dim, vit_depth, vit_heads)")


def check_transformer_sizes(config, *prefixes: str, sincos: tuple[str, ...] = ()) -> None:
    """Raise ConfigError (a ValueError) for transformer sizes a recipe's ``config`` cannot build: for each
    prefix (``"vit"``, ``"decoder"``, ``"pred"``), ``<prefix>_heads`` must divide ``<prefix>_dim`` and
    ``<prefix>_depth`` be at least 1; the widths named in ``sincos`` carry 2-D sine-cosine
    positions, so they must be multiples of 4 (see :func:`sincos_pos_embed`)."""
    for prefix in prefixes:
        dim, heads, depth = (getattr(config, f"{prefix}_{k}") for k in ("dim", "heads", "depth"))
        if heads < 1 or dim % heads:
            raise ConfigError(f"{prefix}_heads={heads} must be >= 1 and divide {prefix}_dim={dim}")
        if depth < 1:
            raise ConfigError(f"{prefix}_depth={depth} must be >= 1")
    for name in sincos:
        if getattr(config, name) % 4:
            raise ConfigError(f"{name}={getattr(config, name)} must be a multiple of 4 "
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


# ----------------------------------------------------------------------------- the patch grid

def patchify(images: torch.Tensor, patch_size: int) -> torch.Tensor:
    """``(N, C, H, W)`` images -> ``(N, P, patch_size**2 * C)`` patches, row-major over the grid
    (the order of the ViT's patch tokens), each patch flattened as (row, column, channel)."""
    n, c, h, w = images.shape
    if h % patch_size or w % patch_size:
        raise ValueError(f"images of {h}x{w} pixels do not split into {patch_size}x{patch_size} patches")
    x = images.reshape(n, c, h // patch_size, patch_size, w // patch_size, patch_size)
    return x.permute(0, 2, 4, 3, 5, 1).reshape(n, (h // patch_size) * (w // patch_size), patch_size ** 2 * c)


def unpatchify(patches: torch.Tensor, patch_size: int, channels: int = 3) -> torch.Tensor:
    """The inverse of :func:`patchify` for square images: ``(N, P, patch_size**2 * C)`` -> ``(N, C, H, W)``."""
    n, p, d = patches.shape
    grid = round(p ** 0.5)
    if grid * grid != p or d != patch_size ** 2 * channels:
        raise ValueError(f"{p} patches of {d} values are not a square grid of {patch_size}x{patch_size}x{channels} "
                         "patches")
    x = patches.reshape(n, grid, grid, patch_size, patch_size, channels)
    return x.permute(0, 5, 1, 3, 2, 4).reshape(n, channels, grid * patch_size, grid * patch_size)


def normalize_patches(patches: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Each patch minus its mean, over its std (MAE's ``norm_pix_loss`` target)."""
    mean, var = patches.mean(dim=-1, keepdim=True), patches.var(dim=-1, keepdim=True)
    return (patches - mean) / (var + eps).sqrt()


def random_masking(batch_size: int, num_patches: int, mask_ratio: float, device=None,
                   generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An independent random mask per image (MAE's masking, He et al., 2022).

    Each image ranks its patches by uniform noise and keeps the first ``K = int(P * (1 - mask_ratio))``.
    Returns ``keep`` ``(N, K)`` (the visible patches' indices, in random order), ``mask`` ``(N, P)``
    (1 = hidden, in the patches' own order) and ``restore`` ``(N, P)``, the permutation that puts
    ``[visible tokens, then mask tokens]`` back into patch order.
    """
    num_keep = int(num_patches * (1 - mask_ratio))
    if not 1 <= num_keep < num_patches:
        raise ValueError(f"mask_ratio={mask_ratio} of {num_patches} patches keeps {num_keep}: at least one patch "
                         "must stay visible and one be masked")
    noise = torch.rand(batch_size, num_patches, device=device, generator=generator)
    shuffle = noise.argsort(dim=1)
    restore = shuffle.argsort(dim=1)
    mask = torch.ones(batch_size, num_patches, device=device)
    mask[:, :num_keep] = 0
    return shuffle[:, :num_keep], mask.gather(1, restore), restore


def sample_blocks(grid_size: int, num_targets: int = 4, target_scale: tuple[float, float] = (0.15, 0.2),
                  target_aspect: tuple[float, float] = (0.75, 1.5), context_scale: tuple[float, float] = (0.85, 1.0),
                  min_context: int = 4, generator: torch.Generator | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Random target blocks and the context block around them, on a ``grid_size x grid_size`` patch grid
    (I-JEPA's multi-block masking, Assran et al., 2023).

    One block shape (area a fraction ``target_scale`` of the grid, height/width ``target_aspect``)
    is drawn for all ``num_targets`` targets, which are placed independently (they may overlap);
    the context is a square-ish block of area ``context_scale`` with every target patch removed,
    so predicting a target is never a copy. Redrawn until at least ``min_context`` patches remain.
    Returns ``context`` ``(C,)`` and ``targets`` ``(num_targets, T)``: patch indices, row-major.
    """
    if grid_size < 2 or num_targets < 1:
        raise ValueError(f"grid_size={grid_size}, num_targets={num_targets}: need a grid of at least 2x2 "
                         "and at least one target")
    for low, high in (target_scale, context_scale):
        if not 0 < low <= high <= 1:
            raise ValueError(f"scale range ({low}, {high}) must satisfy 0 < low <= high <= 1")

    def uniform(low, high):
        return low + (high - low) * torch.rand((), generator=generator).item()

    def block_shape(scale, aspect):
        area, ratio = uniform(*scale) * grid_size ** 2, uniform(*aspect)
        height = min(grid_size, max(1, round(math.sqrt(area * ratio))))
        width = min(grid_size, max(1, round(math.sqrt(area / ratio))))
        return height, width

    def place(height, width):
        top = torch.randint(0, grid_size - height + 1, (), generator=generator)
        left = torch.randint(0, grid_size - width + 1, (), generator=generator)
        return ((top + torch.arange(height))[:, None] * grid_size + left + torch.arange(width)).flatten()

    target_shape, context_shape = block_shape(target_scale, target_aspect), block_shape(context_scale, (1.0, 1.0))
    for _ in range(100):
        targets = torch.stack([place(*target_shape) for _ in range(num_targets)])
        context = place(*context_shape)
        context = context[~torch.isin(context, targets)]
        if len(context) >= min_context:
            return context, targets
    raise RuntimeError(f"{num_targets} targets of {target_shape[0]}x{target_shape[1]} patches leave fewer than "
                       f"{min_context} context patches on a {grid_size}x{grid_size} grid: use fewer or smaller targets")


class TokenPredictor(nn.Module):
    """A narrow transformer that predicts hidden patches from a ViT's tokens of the visible ones:
    MAE's pixel decoder and I-JEPA's feature predictor.

    ``embed`` maps encoder tokens (width ``dim``) to the predictor's width ``pred_dim``. Every hidden
    patch enters as the one learned ``mask_token`` plus its fixed 2-D sine-cosine position (``pos``,
    ``(grid_size**2, pred_dim)``): the mask tokens are identical, so their position is all that tells
    them apart. :meth:`head` runs ``depth`` transformer ``blocks``, a LayerNorm and ``out``, a linear
    map to ``out_dim`` (default ``dim``: features like the encoder's; MAE asks for a patch's pixels).
    """

    def __init__(self, dim: int, pred_dim: int, depth: int, heads: int, grid_size: int, out_dim: int | None = None):
        super().__init__()
        self.embed = nn.Linear(dim, pred_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, pred_dim))
        nn.init.normal_(self.mask_token, std=0.02)
        self.register_buffer("pos", sincos_pos_embed(grid_size, pred_dim))
        self.blocks = transformer(pred_dim, depth, heads)
        self.norm = nn.LayerNorm(pred_dim)
        self.out = nn.Linear(pred_dim, out_dim or dim)

    def head(self, tokens: torch.Tensor) -> torch.Tensor:
        """A sequence of ``(N, L, pred_dim)`` tokens, positions included -> ``(N, L, out_dim)``."""
        return self.out(self.norm(self.blocks(tokens)))

    def forward(self, tokens: torch.Tensor, positions: torch.Tensor, queries: torch.Tensor) -> torch.Tensor:
        """``tokens`` ``(N, C, dim)`` of the patches ``positions`` ``(C,)``; ``queries``: the indices of the
        patches to predict, any shape (I-JEPA: ``(M, T)``, ``T`` patches of each of ``M`` blocks) ->
        ``(N, *queries.shape, out_dim)``.

        The I-JEPA authors run the predictor once per target block; here all the queries' mask tokens go
        in one pass, which costs about half as much. Nothing leaks: a mask token holds only its position,
        so seeing the other blocks' mask tokens reveals no target content.
        """
        n = len(tokens)
        visible = self.embed(tokens) + self.pos[positions]                         # (N, C, pred_dim)
        masked = (self.mask_token + self.pos[queries.flatten()]).expand(n, -1, -1)  # (N, Q, pred_dim)
        out = self.blocks(torch.cat([visible, masked], dim=1))[:, -masked.shape[1]:]
        return self.out(self.norm(out)).reshape(n, *queries.shape, -1)


# ----------------------------------------------------------------------------- backbones by name, and heads

def build_backbone(name: str, *, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3, width: int = 32) -> nn.Module:
    """Build a backbone by name; ``mean``/``std`` are the dataset's channel statistics. ``width``
    sizes the small CNN and the MLP (``8 * width`` features); below 32 (the quick budget's 16) it
    also narrows the ViT to ``4 * width`` wide and 4 blocks deep, else the ViT is 192 wide and 6 deep."""
    if name == "small_cnn":
        return SmallCNN(width=width, mean=mean, std=std)
    if name == "resnet18":
        return ResNet18(mean=mean, std=std, cifar_stem=image_size <= 64)
    if name == "vit_tiny":
        patch = 4 if image_size <= 64 else 8
        if width < 32:  # the quick budget's narrow networks: a ViT that trains in a CPU chapter's minutes
            return TinyViT(image_size=image_size, patch_size=patch, dim=4 * width, depth=4, heads=4, mean=mean, std=std)
        return TinyViT(image_size=image_size, patch_size=patch, mean=mean, std=std)
    if name == "pixel_mlp":
        return PixelMLP(image_size=image_size, width=width, mean=mean, std=std)
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


class PrototypeHead(nn.Module):
    """DINO's head: an MLP, L2 normalisation, then a linear layer without bias whose rows (the ``K``
    prototypes) are unit vectors, so the logits are cosine similarities in ``[-1, 1]``. (The paper writes
    this layer with weight normalisation and its norm frozen at 1, which is the same.)"""

    def __init__(self, in_dim: int, hidden_dim: int, bottleneck_dim: int, out_dim: int, depth: int):
        super().__init__()
        self.mlp = mlp(in_dim, hidden_dim, bottleneck_dim, depth)
        self.prototypes = nn.Parameter(torch.randn(out_dim, bottleneck_dim) / bottleneck_dim ** 0.5)

    def forward(self, h: torch.Tensor, freeze_prototypes: bool = False) -> torch.Tensor:
        """``(N, in_dim)`` features -> ``(N, K)`` logits; ``freeze_prototypes``: no gradient to the prototypes."""
        prototypes = self.prototypes.detach() if freeze_prototypes else self.prototypes
        return F.normalize(self.mlp(h), dim=1) @ F.normalize(prototypes, dim=1).T
