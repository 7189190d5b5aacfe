"""I-JEPA: from a large visible block of the image, predict the *features* of a few hidden blocks.

The image is cut into patches. A few rectangular target blocks are drawn on the patch grid,
and a large context block with the targets cut out of it. A context encoder (a ViT) sees only
the context patches; a target encoder, an exponential moving average (EMA) of the context
encoder that receives no gradient, sees the whole image. A narrow transformer, the predictor,
gets the context tokens plus one mask token per target patch (carrying only its position)
and must output the target encoder's features of those patches. Unlike MAE the targets are
representations, not pixels, so the encoder need not spend capacity on colours and textures;
unlike SimCLR or BYOL there are no hand-made augmentations beyond a crop.

Assran, Duval, Misra, Bojanowski, Vincent, Rabbat, LeCun and Ballas, "Self-Supervised Learning
from Images with a Joint-Embedding Predictive Architecture", CVPR 2023 (arXiv:2301.08243).
Cookbook section 2.5 (masked image modeling, with latent targets).

With ``B_1..B_M`` the target blocks, ``s_y`` the (layer-normalised) target-encoder feature of
patch ``y`` and ``s_hat_y`` the predictor's output for it::

    loss = 1/M sum_i 1/|B_i| sum_{y in B_i} ||s_hat_y - s_y||^2 / D
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed, models
from cookbook.augment import AugmentConfig, crop, recolour
from cookbook.config import TrainConfig, current_budget, need
from cookbook.ema import cosine_momentum, ema_update
from cookbook.method import Method
from cookbook.models import sample_blocks

# The only augmentation is a random resized crop (Assran et al., 2023, appendix: crop scale 0.3 to 1, no flips,
# no colour changes): what the encoder must learn comes from the masking, not from hand-made views.
IJEPA_AUGMENT = AugmentConfig(crop_min_scale=0.3, flip_p=0.0, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0)
TARGET_ASPECT = (0.75, 1.5)     # height / width of the target blocks, as in the paper


@dataclass
class Config(TrainConfig):
    weight_decay: float = 0.04      # the paper's AdamW weight decay (Assran et al., 2023), on every budget
    backbone: str = "vit_tiny"      # I-JEPA needs a ViT (it drops patch tokens); only vit_tiny is offered
    patch_size: int = 4             # side of a square patch in pixels (must divide the image size)
    vit_dim: int = 192              # encoder token width
    vit_depth: int = 6              # encoder transformer blocks
    vit_heads: int = 3              # encoder attention heads (must divide vit_dim)
    pred_dim: int = 96              # predictor token width (narrower than the encoder: a bottleneck)
    pred_depth: int = 3             # predictor transformer blocks
    pred_heads: int = 3             # predictor attention heads (must divide pred_dim)
    num_targets: int = 4            # target blocks per image
    target_min_scale: float = 0.15  # smallest target block, as a fraction of the patches
    target_max_scale: float = 0.2   # largest target block
    context_min_scale: float = 0.85  # smallest context block (before the targets are cut out); largest is 1
    ema_momentum: float = 0.996     # target encoder's EMA momentum at step 0, raised to 1 along a cosine
    augment: AugmentConfig = field(default_factory=lambda: IJEPA_AUGMENT)  # the single view: a crop only

    BUDGETS = {
        # 8 px patches buy steps; the shared lr 4e-3 did best of those tried (benchmarks/results/tuning/ijepa.md).
        "quick": {"vit_dim": 64, "vit_depth": 2, "vit_heads": 2, "pred_dim": 32, "pred_depth": 1,
                  "pred_heads": 2, "patch_size": 8, "steps": 3000, "warmup_steps": 150, "eval_every": 1000,
                  "checkpoint_every": 1000},
        "cpu": {"lr": 2e-3, "vit_dim": 128, "vit_depth": 4, "vit_heads": 4, "pred_dim": 64, "pred_depth": 2,
                "pred_heads": 2},
        # I-JEPA has no CIFAR setting; this scales its ImageNet recipe (Assran et al., 2023, appendix: AdamW,
        # lr 1e-3 for batch 2048 after warmup, weight decay 0.04, EMA 0.996 -> 1, 4 targets of scale 0.15-0.2,
        # context 0.85-1) to 32 px images with 4 px patches and a ViT of width 192 (ViT-Tiny's).
        "cuda": {"lr": 1e-3, "steps": 40000, "warmup_steps": 2000},
    }
    # The toy shapes' quick lr ends below the untrained network on the digits; a quarter of it beats the
    # untrained network on every seed: chosen by benchmarks/tune_settings.py, benchmarks/results/tuning/ijepa-digits.md.
    QUICK_ON = {"digits": {"lr": 1e-3}}

    @classmethod
    def for_budget(cls, budget: str | None = None, **overrides):
        """The quick budget on a dataset with its own tuned settings (``QUICK_ON``) takes them; settings
        passed here still win."""
        if (budget or current_budget()) == "quick":
            overrides = {**cls.QUICK_ON.get(overrides.get("dataset"), {}), **overrides}
        return super().for_budget(budget, **overrides)

    def validate(self) -> None:
        super().validate()
        models.require_vit(self, "I-JEPA")
        models.check_transformer_sizes(self, "vit", "pred", sincos=("pred_dim",))
        need(0 < self.target_min_scale <= self.target_max_scale < 1, f"target scales ({self.target_min_scale}, "
             f"{self.target_max_scale}) must satisfy 0 < target_min_scale <= target_max_scale < 1 "
             "(the paper: 0.15, 0.2)")
        need(0 < self.context_min_scale <= 1,
             f"context_min_scale={self.context_min_scale} must be in (0, 1] (the paper: 0.85)")
        need(0.0 <= self.ema_momentum <= 1.0, f"ema_momentum={self.ema_momentum} must be in [0, 1] (the paper: 0.996)")


def ijepa_loss(predicted: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The I-JEPA loss: mean squared error between predicted and target patch features.

    ``predicted``, ``target``: ``(N, M, T, D)`` (or any matching shape ending in ``D``): the
    features of the ``T`` patches of each of the ``M`` target blocks of ``N`` images. The target
    carries no gradient (it comes from the EMA encoder). Averaged over every patch and channel::

        loss = 1/(N M T) sum ||s_hat - s||^2 / D

    (The paper writes the squared L2 distance; the authors' code uses a smooth L1, which behaves the same
    for the small errors here.)
    """
    if predicted.shape != target.shape or predicted.ndim < 2:
        raise ValueError(f"predicted and target must have the same shape (..., D); got {tuple(predicted.shape)} "
                         f"and {tuple(target.shape)}")
    if predicted.numel() == 0:
        raise ValueError("no target patches to predict: the I-JEPA loss needs at least one")
    return (predicted.float() - target.float()).pow(2).mean()


# Context tokens + positional mask tokens -> predicted target-encoder features of the target patches.
Predictor = models.TokenPredictor


class IJEPA(Method):
    """Context encoder + predictor (trained) and their EMA target encoder (evaluated as ``backbone``).

    The paper evaluates the target encoder's average-pooled patch tokens, so ``backbone`` is the
    target encoder with ``pool="mean"``. There is no projector: ``embed`` is those pooled features,
    so the collapse probes measure them directly.
    """

    name = "ijepa"
    distributed_ready = True  # a mean of per-image losses: averaging the gradients over processes suffices

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        c = config
        need(not (data.image_size % c.patch_size or data.image_size // c.patch_size < 2), f"patch_size={c.patch_size} "
             f"does not cut the {data.image_size} px images into a grid of at least 2x2 whole patches: choose a "
             f"divisor of {data.image_size} up to {data.image_size // 2}")
        self.context_encoder = models.TinyViT(data.image_size, c.patch_size, c.vit_dim, c.vit_depth, c.vit_heads,
                                              mean=data.mean, std=data.std, pool="mean")
        self.target_encoder = copy.deepcopy(self.context_encoder).requires_grad_(False)
        self.predictor = Predictor(c.vit_dim, c.pred_dim, c.pred_depth, c.pred_heads, self.context_encoder.grid_size)

    @property
    def backbone(self) -> nn.Module:
        return self.target_encoder

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.target_encoder(x)

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        # One crop for both encoders; colour changes (none in the paper) are drawn separately for each.
        cropped = crop(images, c.augment)
        x, x_target = recolour(cropped, c.augment), recolour(cropped, c.augment)
        # One block geometry for the whole batch (the authors' collator also draws one block size per batch,
        # but places the blocks per image): every image then has the same number of context and target
        # patches, so no padding is needed. A new geometry is drawn at every step.
        context, targets = sample_blocks(self.context_encoder.grid_size, c.num_targets,
                                         (c.target_min_scale, c.target_max_scale), TARGET_ASPECT,
                                         (c.context_min_scale, 1.0))
        context, targets = distributed.from_rank0((context, targets))  # under torchrun: one geometry everywhere
        context, targets = context.to(x.device), targets.to(x.device)
        with torch.no_grad():
            features = self.target_encoder.tokens(x_target)[:, 1:]
            features = F.layer_norm(features, features.shape[-1:])[:, targets]     # (N, M, T, D)
        context_tokens = self.context_encoder.tokens(x, context.expand(len(x), -1))[:, 1:]
        predicted = self.predictor(context_tokens, context, targets)
        return {"loss": ijepa_loss(predicted, features), "context_patches": torch.tensor(float(len(context)))}

    def after_step(self, step: int, total_steps: int) -> None:
        momentum = cosine_momentum(step, total_steps, base=self.config.ema_momentum)
        ema_update(self.target_encoder, self.context_encoder, momentum)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"ema_momentum": (0.9, 1.0, 0.001), "num_targets": (1, 8, 1), "target_max_scale": (0.15, 0.5, 0.05)}

build_model, train, main = cli.entry_points(IJEPA)

if __name__ == "__main__":
    raise SystemExit(main())
