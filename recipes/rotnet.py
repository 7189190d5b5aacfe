"""RotNet: learn by guessing how far each image was turned.

Every image is shown in four orientations (turned by 0, 90, 180 and 270 degrees) and the
network is trained to say which one it is looking at: a four-way classification whose labels
cost nothing. To tell "up" from "down" the network has to find the objects in the picture and
know how they usually stand, which is the representation we are after; the four-way
classifier on top is discarded afterwards.

Gidaris, Singh and Komodakis, "Unsupervised Representation Learning by Predicting Image
Rotations", ICLR 2018 (arXiv:1803.07728). Cookbook section 2.1 (origins: pretext tasks).

The task only makes sense for images that have an "up". Photographs do (gravity, the horizon,
light from above). The cookbook's ``toy`` shapes do not: each shape is drawn at a uniformly
random angle, so an image turned by 90 degrees is exactly as likely as the original, the
rotation cannot be guessed better than chance and nothing is learned (measured in the quick
budget: the loss stays at log 4 = 1.386 for all 600 steps, kNN 0.12 against 0.13 at random init).
This recipe therefore trains on ``toy_upright``, the same shapes tilted by at most 20 degrees.
Even there some shapes give little away: a disk or a ring looks the same at every angle, a
square, cross or frame after every quarter turn, two bars after a half turn, so their rotation
stays (partly) a guess; the triangle, star, half-disk and L carry most of the signal.

With ``R_k`` the rotation by ``k * 90`` degrees and ``p(k | x)`` the classifier's softmax::

    loss = - 1/(4N) sum_i sum_{k=0..3} log p(k | R_k x_i)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn.functional as F

from cookbook import cli, models
from cookbook.augment import AugmentConfig, augment
from cookbook.config import TrainConfig
from cookbook.method import Method

NUM_ROTATIONS = 4

# Crops and flips only. A horizontal flip keeps "up" where it was, so it never blurs the labels; the rotation
# task ignores colour by itself, so jitter only makes it harder (benchmarks/results/tuning/rotnet.md).
ROTNET_AUGMENT = AugmentConfig(crop_min_scale=0.5, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0)


@dataclass
class Config(TrainConfig):
    dataset: str = "toy_upright"    # needs images with an "up": toy_upright, cifar10, stl10 (on toy it learns nothing)
    head_hidden_dim: int = 256      # width of the rotation classifier's hidden layer
    head_depth: int = 2             # linear layers in the rotation classifier (1: linear)
    all_rotations: bool = True      # each image in all four rotations (paper); False: one random rotation each
    augment: AugmentConfig = field(default_factory=lambda: ROTNET_AUGMENT)  # each image's view, before it is rotated

    BUDGETS = {
        # 64 images x 4 rotations = 256 images per step, the pixels SimCLR pushes (2 views x 128), so the same
        # cost per step; the learning rate and all four rotations: benchmarks/results/tuning/rotnet.md.
        "quick": {"batch_size": 64},
        "cpu": {"batch_size": 128},
        # RotNet's CIFAR-10 setting: batches of 128 images, each in all 4 rotations, SGD with momentum 0.9
        # (theirs is Nesterov), lr 0.1, weight decay 5e-4 (Gidaris et al., 2018, section 3.1 and the authors'
        # CIFAR-10 config). They train 200 epochs with step decays; here the cosine schedule of the cuda budget.
        "cuda": {"dataset": "cifar10", "batch_size": 128, "optimizer": "sgd", "lr": 0.1, "weight_decay": 5e-4},
    }


def rotate_batch(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image in all four rotations: ``(N, C, H, H)`` -> ``(4N, C, H, H)`` and labels ``(4N,)``.

    Block ``k`` (rows ``k*N`` to ``(k+1)*N - 1``) holds the images turned ``k`` quarter turns
    counter-clockwise (``torch.rot90`` over the height and width axes), and its label is ``k``.
    """
    if images.ndim != 4 or images.shape[-1] != images.shape[-2]:
        raise ValueError(f"images must be a batch of square images (N, C, H, H); got {tuple(images.shape)}")
    rotated = torch.cat([torch.rot90(images, k, dims=(2, 3)) for k in range(NUM_ROTATIONS)])
    labels = torch.arange(NUM_ROTATIONS, device=images.device).repeat_interleave(len(images))
    return rotated, labels


def rotate_randomly(images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each image in one random rotation: ``(N, C, H, H)`` -> ``(N, C, H, H)`` and labels ``(N,)``
    (the number of counter-clockwise quarter turns of each image)."""
    every_rotation, _ = rotate_batch(images)
    labels = torch.randint(0, NUM_ROTATIONS, (len(images),), device=images.device)
    pick = labels * len(images) + torch.arange(len(images), device=images.device)  # row of image i turned k times
    return every_rotation[pick], labels


def rotation_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """The RotNet loss: cross-entropy of the predicted rotation, averaged over the rotated images.

    ``logits``: ``(M, 4)`` classifier scores for ``M`` rotated images; ``labels``: ``(M,)``, the
    number of quarter turns ``k`` in ``{0, 1, 2, 3}`` each image was given. With ``M = 4N`` images
    from :func:`rotate_batch`::

        loss = - 1/M sum_m log softmax(logits_m)[labels_m]
             = - 1/(4N) sum_i sum_k log p(k | R_k x_i)

    A classifier that cannot tell the rotations apart scores ``log 4 = 1.386``.
    """
    if logits.ndim != 2 or logits.shape[1] != NUM_ROTATIONS:
        raise ValueError(f"logits must be (M, {NUM_ROTATIONS}), one score per rotation; got {tuple(logits.shape)}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must be (M,) = ({len(logits)},), one per row of logits; got {tuple(labels.shape)}")
    if labels.numel() == 0:
        raise ValueError("no rotated images: the rotation loss needs at least one")
    if labels.min() < 0 or labels.max() >= NUM_ROTATIONS:
        raise ValueError(f"labels must be quarter turns in 0..{NUM_ROTATIONS - 1}; got values from "
                         f"{int(labels.min())} to {int(labels.max())}")
    return F.cross_entropy(logits.float(), labels)


class RotNet(Method):
    """Backbone + rotation classifier; ``forward`` rotates a batch and returns the loss and accuracy.

    ``embed`` is the rotation classifier on the backbone: the four logits the loss sees.
    """

    name = "rotnet"
    distributed_ready = True  # a mean of per-image losses: averaging the gradients over processes suffices

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.backbone = models.build_backbone(config.backbone, image_size=data.image_size, mean=data.mean,
                                              std=data.std, width=config.width)
        self.classifier = models.mlp(self.backbone.dim, config.head_hidden_dim, NUM_ROTATIONS, config.head_depth)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.backbone(x))

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        x = augment(images, self.config.augment)
        # Gidaris et al. found that showing all four rotations of an image in the same batch trains better
        # than one random rotation each; on the toy shapes too (benchmarks/results/tuning/rotnet.md).
        rotated, labels = rotate_batch(x) if self.config.all_rotations else rotate_randomly(x)
        logits = self.embed(rotated)
        return {"loss": rotation_loss(logits, labels),
                "rotation_acc": (logits.argmax(dim=1) == labels).float().mean()}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
# RotNet has no continuous knob of its own: the learning rate, steps and augmentations are always offered.
LAB_CONTROLS: dict[str, tuple[float, float, float]] = {}

build_model, train, main = cli.entry_points(RotNet)

if __name__ == "__main__":
    raise SystemExit(main())
