"""MAE: hide most of the image and learn by painting the missing patches back in.

The image is cut into patches and a random 75% of them are removed. A Vision Transformer
encoder sees only the visible quarter; a small decoder receives the encoded patches plus a
shared, learned "mask token" at every hidden position (with its position added) and predicts
the pixels of the hidden patches. The loss is the mean squared error on the hidden patches
only, optionally against per-patch normalised pixels, which makes the target the patch's
local structure (edges) rather than its mean colour. The decoder is thrown away afterwards:
the encoder's mean-pooled patch tokens are the features.

He, Chen, Xie, Li, Dollar and Girshick, "Masked Autoencoders Are Scalable Vision Learners",
CVPR 2022 (arXiv:2111.06377). Cookbook section 2.5 (masked image modeling).

With ``x_p`` the pixels of patch ``p`` (normalised by their own mean and variance when
``norm_pix_loss``), ``x_hat_p`` its prediction and ``M`` the set of masked patches::

    loss = 1/|M| sum_{p in M} ||x_hat_p - x_p||^2 / patch_dim
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch

from cookbook import cli, models
from cookbook.augment import AugmentConfig, augment
from cookbook.config import BatchScaledLR, TrainConfig, need
from cookbook.method import Method
from cookbook.models import normalize_patches, patchify, random_masking, unpatchify

# MAE's only augmentation is a random resized crop and a flip: the pixels are the target, so
# colour changes would only make the task noisier (He et al., 2022, section 4: colour jitter hurts).
MAE_AUGMENT = AugmentConfig(crop_min_scale=0.2, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0)


@dataclass
class Config(TrainConfig):
    weight_decay: float = 0.05      # the paper's AdamW weight decay (He et al., 2022), on every budget
    backbone: str = "vit_tiny"      # MAE needs a ViT (it drops patch tokens); only vit_tiny is offered
    mask_ratio: float = 0.75        # fraction of the patches hidden from the encoder
    norm_pix_loss: bool = True      # predict each patch normalised by its own mean and std
    patch_size: int = 4             # side of a square patch in pixels (must divide the image size)
    vit_dim: int = 192              # encoder token width
    vit_depth: int = 6              # encoder transformer blocks
    vit_heads: int = 3              # encoder attention heads (must divide vit_dim)
    decoder_dim: int = 128          # decoder token width (a light decoder: narrower than the encoder)
    decoder_depth: int = 2          # decoder transformer blocks
    decoder_heads: int = 4          # decoder attention heads (must divide decoder_dim)
    pool: str = "mean"              # feature for evaluation: mean of the patch tokens, or the cls token
    augment: AugmentConfig = field(default_factory=lambda: MAE_AUGMENT)  # the single view: crops and flips only

    BUDGETS = {
        # 8 px patches and a small ViT: the best that fits in 90 s on two cores (benchmarks/results/tuning/mae.md).
        "quick": {"lr": 2e-3, "vit_dim": 96, "vit_depth": 3, "vit_heads": 3, "decoder_dim": 64, "decoder_depth": 1,
                  "decoder_heads": 2, "patch_size": 8, "steps": 2000, "warmup_steps": 100, "eval_every": 500,
                  "checkpoint_every": 500},
        "cpu": {"lr": 2e-3, "vit_dim": 128, "vit_depth": 4, "vit_heads": 4, "decoder_dim": 64, "decoder_depth": 2},
        # MAE has no CIFAR setting; this scales its ImageNet pre-training recipe (He et al., 2022, appendix A.1:
        # AdamW, base lr 1.5e-4 x batch / 256, weight decay 0.05, mask ratio 0.75, norm_pix_loss) to 32 px
        # images with 4 px patches and a ViT of width 192 (ViT-Tiny's).
        "cuda": {"lr": BatchScaledLR(1.5e-4), "steps": 40000, "warmup_steps": 2000},
    }

    def validate(self) -> None:
        super().validate()
        models.require_vit(self, "MAE")
        need(0.0 < self.mask_ratio < 1.0, f"mask_ratio={self.mask_ratio} must be in (0, 1): some patches must stay "
             "visible and some must be predicted (MAE uses 0.75)")
        models.check_transformer_sizes(self, "vit", "decoder", sincos=("decoder_dim",))
        need(self.pool in ("mean", "cls"), f"pool={self.pool!r}: choose 'mean' or 'cls'")


def mae_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """The MAE reconstruction loss: mean squared error over the masked patches only.

    ``pred``, ``target``: ``(N, P, patch_dim)`` predicted and true patches; ``mask``: ``(N, P)``,
    1 for a masked patch and 0 for a visible one (the encoder saw those: no loss there)::

        loss = sum_{n,p} mask_np * ||pred_np - target_np||^2 / patch_dim  /  sum_{n,p} mask_np
    """
    if pred.shape != target.shape or pred.ndim != 3:
        raise ValueError(f"pred and target must both be (N, P, patch_dim); got {tuple(pred.shape)} and "
                         f"{tuple(target.shape)}")
    if mask.shape != pred.shape[:2]:
        raise ValueError(f"mask must be (N, P) = {tuple(pred.shape[:2])}; got {tuple(mask.shape)}")
    masked = mask.float().sum()
    if masked == 0:
        raise ValueError("the mask hides no patch: the MAE loss is only defined on masked patches")
    per_patch = (pred.float() - target.float()).pow(2).mean(dim=-1)
    return (per_patch * mask).sum() / masked


class MAE(Method):
    """ViT encoder (``backbone``) on the visible patches + a light decoder that predicts the hidden pixels.

    There is no projector: ``embed`` is the backbone's pooled features, so the collapse probes
    measure those directly.
    """

    name = "mae"
    distributed_ready = True  # a mean of per-image losses: averaging the gradients over processes suffices

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        c = config
        need(data.image_size % c.patch_size == 0, f"patch_size={c.patch_size} does not divide the {data.image_size} px "
             f"images into whole patches: choose a divisor of {data.image_size}")
        self.backbone = models.TinyViT(data.image_size, c.patch_size, c.vit_dim, c.vit_depth, c.vit_heads,
                                       mean=data.mean, std=data.std, pool=c.pool)
        grid = self.backbone.grid_size
        need(1 <= int(grid * grid * (1 - c.mask_ratio)) < grid * grid, f"mask_ratio={c.mask_ratio} of the "
             f"{grid * grid} patches of {c.patch_size} px leaves {int(grid * grid * (1 - c.mask_ratio))} visible: keep "
             "at least one patch visible and hide at least one (lower mask_ratio or patch_size)")
        # Encoded patches and positional mask tokens in, the pixels of every patch out.
        self.decoder = models.TokenPredictor(c.vit_dim, c.decoder_dim, c.decoder_depth, c.decoder_heads, grid,
                                             out_dim=c.patch_size ** 2 * 3)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.backbone(x)

    def predict(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Float images -> (predicted patches ``(N, P, patch_dim)``, mask ``(N, P)``)."""
        n, num_patches, decoder = len(x), self.backbone.num_patches, self.decoder
        keep, mask, restore = random_masking(n, num_patches, self.config.mask_ratio, x.device)
        visible = decoder.embed(self.backbone.tokens(x, keep)[:, 1:])  # the [CLS] token is not decoded
        tokens = torch.cat([visible, decoder.mask_token.expand(n, num_patches - keep.shape[1], -1)], dim=1)
        # Back in patch order (the order the loss and the reconstruction read), then each patch's position.
        tokens = tokens.gather(1, restore[..., None].expand(-1, -1, tokens.shape[-1])) + decoder.pos
        return decoder.head(tokens), mask

    def target(self, x: torch.Tensor) -> torch.Tensor:
        patches = patchify(x, self.config.patch_size)
        return normalize_patches(patches) if self.config.norm_pix_loss else patches

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x = augment(images, self.config.augment)
        pred, mask = self.predict(x)
        return {"loss": mae_loss(pred, self.target(x), mask)}

    @torch.no_grad()
    def reconstruct(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Images (uint8 or float in [0, 1]) -> (masked input, reconstruction), float images in [0, 1].

        The masked input shows the hidden patches in grey. The reconstruction keeps the visible
        patches and paints the predicted ones in; with ``norm_pix_loss`` the prediction has no
        mean or contrast of its own, so it borrows each true patch's (as the MAE authors' demo does).
        """
        was_training = self.training
        self.eval()
        x = images.float() / 255 if images.dtype == torch.uint8 else images.float()
        pred, mask = self.predict(x)
        patches, m = patchify(x, self.config.patch_size), mask[..., None]
        if self.config.norm_pix_loss:
            mean, var = patches.mean(dim=-1, keepdim=True), patches.var(dim=-1, keepdim=True)
            pred = pred * (var + 1e-6).sqrt() + mean
        p = self.config.patch_size
        masked_input = unpatchify(patches * (1 - m) + 0.5 * m, p)
        reconstruction = unpatchify(patches * (1 - m) + pred * m, p).clamp(0, 1)
        self.train(was_training)
        return masked_input, reconstruction


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"mask_ratio": (0.1, 0.9, 0.05)}  # 0.9 of the quick budget's 16 patches still leaves one visible

build_model, train, main = cli.entry_points(MAE)

if __name__ == "__main__":
    raise SystemExit(main())
