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

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import models, train as training
from cookbook.augment import AugmentConfig, augment

NAME = "rotnet"
NUM_ROTATIONS = 4

# Crops and flips only. A horizontal flip keeps "up" where it was, so it never blurs the labels.
# Colour jitter was tried on the toy shapes (whose colours are random nuisances anyway) and cost
# kNN accuracy (0.64 against 0.69): the rotation task ignores colour by itself, jitter only makes it harder.
ROTNET_AUGMENT = AugmentConfig(crop_min_scale=0.5, jitter_strength=0.0, jitter_p=0.0, gray_p=0.0)


@dataclass
class Config(training.TrainConfig):
    dataset: str = "toy_upright"    # needs images with an "up": toy_upright, cifar10, stl10... (on toy it learns nothing)
    head_hidden_dim: int = 256      # width of the rotation classifier's hidden layer
    head_depth: int = 2             # linear layers in the rotation classifier (1: linear)
    all_rotations: bool = True      # each image in all four rotations (paper); False: one random rotation each
    augment: AugmentConfig = ROTNET_AUGMENT  # how each image is prepared before it is rotated

    BUDGETS = {
        # 64 images x 4 rotations = 256 images per step, the pixels SimCLR pushes (2 views x 128), so
        # the same cost per step. On toy_upright (seed 0): kNN 0.69 with lr 4e-3, 0.59 with 2e-3 and 0.61
        # with 8e-3; one random rotation per image with 256 images per step (same cost) reached only 0.48.
        "quick": {**training.TrainConfig.BUDGETS["quick"], "dataset": "toy_upright", "batch_size": 64,
                  "augment": ROTNET_AUGMENT},
        "cpu": {**training.TrainConfig.BUDGETS["cpu"], "dataset": "toy_upright", "batch_size": 128,
                "augment": ROTNET_AUGMENT},
        # RotNet's CIFAR-10 setting: batches of 128 images, each in all 4 rotations, SGD with momentum 0.9
        # (theirs is Nesterov), lr 0.1, weight decay 5e-4 (Gidaris et al., 2018, section 3.1 and the authors'
        # CIFAR-10 config). They train 200 epochs with step decays; here the cosine schedule of the cuda budget.
        "cuda": {**training.TrainConfig.BUDGETS["cuda"], "batch_size": 128, "optimizer": "sgd", "lr": 0.1,
                 "weight_decay": 5e-4, "augment": ROTNET_AUGMENT},
    }

    def validate(self) -> None:
        super().validate()
        if self.head_hidden_dim < 1 or self.head_depth < 1:
            raise training.ConfigError(f"head_hidden_dim={self.head_hidden_dim} and head_depth={self.head_depth} "
                                       "must both be >= 1")


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


class RotNet(nn.Module):
    """Backbone + rotation classifier; ``forward`` rotates a batch and returns the loss and accuracy.

    ``projector`` is the rotation classifier: the head whose output (four logits) the loss sees.
    """

    name = NAME

    def __init__(self, config: Config, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__()
        self.config = config
        self.backbone = models.build_backbone(config.backbone, image_size=image_size, mean=mean, std=std,
                                              width=config.width)
        self.projector = models.mlp(self.backbone.dim, config.head_hidden_dim, NUM_ROTATIONS, config.head_depth)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = augment(images, self.config.augment)
        # Gidaris et al. found that showing all four rotations of an image in the same batch trains better
        # than one random rotation each; on the toy shapes too (see BUDGETS["quick"]).
        rotated, labels = rotate_batch(x) if self.config.all_rotations else rotate_randomly(x)
        logits = self.projector(self.backbone(rotated))
        return {"loss": rotation_loss(logits, labels),
                "rotation_acc": (logits.argmax(dim=1) == labels).float().mean()}


def build_model(config: Config, data) -> RotNet:
    return RotNet(config, data.image_size, data.mean, data.std)


def train(config: Config | None = None) -> dict:
    """Train RotNet and return its metrics (see :func:`cookbook.train.run_recipe`)."""
    config = config or Config.for_budget()
    return training.run_recipe(config, lambda data: build_model(config, data), name=NAME)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
# RotNet has no continuous knob of its own: the learning rate, steps and augmentations are always offered.
LAB_CONTROLS: dict[str, tuple[float, float, float]] = {}


if __name__ == "__main__":
    import sys

    from cookbook import cli

    sys.exit(cli.main(sys.modules[__name__], prog="python -m recipes.rotnet"))
