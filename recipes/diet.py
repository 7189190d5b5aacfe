"""DIET: every training image is its own class; learn by classifying augmented images by their index.

Take a supervised classification setup and replace the labels by the datum index: image ``n``
of the training set has class ``n``, so a linear classifier on the backbone has as many
outputs as there are training images. One augmented view per image and a plain cross-entropy
are all there is: no positive pairs, no negatives, no projector, no momentum encoder. Strong
label smoothing is what makes it work on small datasets, where each class is seen once per
epoch.

Balestriero, "Unsupervised Learning on a DIET: Datum IndEx as Target Free of Self-Supervision,
Reconstruction, Projector Head", 2023 (arXiv:2302.10260). Cookbook: the frontier methods that
follow its section 2.

With ``W`` the ``(N_train, d)`` classifier, ``f`` the backbone, ``x_n`` a random view of image
``n`` and ``eps`` the label smoothing::

    loss = 1/B sum_n [ (1 - eps) * CE(W f(x_n), n) + eps * 1/N_train sum_c CE(W f(x_n), c) ]
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import models, train as training
from cookbook.augment import augment

NAME = "diet"


@dataclass
class Config(training.TrainConfig):
    label_smoothing: float = 0.8    # eps: share of the target spread over all N_train classes (the paper uses 0.8)

    BUDGETS = {
        # DIET needs epochs: each image is its own class and is seen once per epoch. On 4000 images, 600 steps
        # of 128 (19 epochs) learned nothing (kNN 0.12-0.13 for label smoothing 0 / 0.4 / 0.8); batch 256 and
        # lr 1e-2 (38 epochs) reached 0.20-0.28; 2000 images (77 epochs) reached 0.45 with the paper's
        # smoothing of 0.8. One view per image makes a step of 256 cost about 1.15 SimCLR steps of 128.
        "quick": {**training.TrainConfig.BUDGETS["quick"], "n_train": 2000, "batch_size": 256, "lr": 1e-2},
        "cpu": {**training.TrainConfig.BUDGETS["cpu"], "lr": 1e-2},  # 48 epochs of 8000 images; lr as in quick
        # DIET's small-dataset setting (Balestriero, 2023): AdamW, lr 1e-3, weight decay 0.05, label smoothing 0.8.
        "cuda": {**training.TrainConfig.BUDGETS["cuda"], "lr": 1e-3, "weight_decay": 0.05},
    }

    def validate(self) -> None:
        super().validate()
        if not 0.0 <= self.label_smoothing < 1.0:
            raise training.ConfigError(f"label_smoothing={self.label_smoothing} must be in [0, 1): at 1 the target "
                                       "is uniform and says nothing about the image (the paper uses 0.8)")


def diet_loss(logits: torch.Tensor, index: torch.Tensor, label_smoothing: float = 0.8) -> torch.Tensor:
    """Cross-entropy of predicting each image's dataset index, with label smoothing.

    ``logits``: ``(B, N_train)`` classifier outputs for a batch of views; ``index``: ``(B,)``
    long, the position of each image in the training set (its class). The target puts
    ``1 - eps + eps / N_train`` on the image's own index and ``eps / N_train`` on every other::

        loss = 1/B sum_b [ (1 - eps) * (-log softmax(logits_b)[index_b]) + eps * mean_c(-log softmax(logits_b)[c]) ]
    """
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing={label_smoothing} must be in [0, 1)")
    if logits.ndim != 2 or index.shape != logits.shape[:1]:
        raise ValueError(f"logits must be (B, N_train) and index (B,); got {tuple(logits.shape)} and "
                         f"{tuple(index.shape)}")
    if index.dtype != torch.long:
        raise ValueError(f"index must be a long tensor of dataset positions, got {index.dtype}")
    if len(index) and (index.min() < 0 or index.max() >= logits.shape[1]):
        raise ValueError(f"index values must lie in [0, {logits.shape[1]}): one class per training image")
    return F.cross_entropy(logits.float(), index, label_smoothing=label_smoothing)


class DIET(nn.Module):
    """Backbone + a linear classifier with one class per training image."""

    name = NAME
    wants_indices = True  # the Trainer passes each batch's dataset indices to forward

    def __init__(self, config: Config, n_train: int, image_size: int = 32, mean=(0.5,) * 3, std=(0.25,) * 3):
        super().__init__()
        self.config = config
        self.backbone = models.build_backbone(config.backbone, image_size=image_size, mean=mean, std=std,
                                              width=config.width)
        # Called `projector` like every recipe's head, although DIET's point is to need none: it is the classifier.
        self.projector = nn.Linear(self.backbone.dim, n_train)

    def forward(self, images: torch.Tensor, indices: torch.Tensor) -> dict[str, torch.Tensor]:
        logits = self.projector(self.backbone(augment(images, self.config.augment)))
        return {"loss": diet_loss(logits, indices, self.config.label_smoothing),
                "index_acc": (logits.argmax(dim=1) == indices).float().mean()}


def build_model(config: Config, data) -> DIET:
    return DIET(config, len(data.pretrain_x), data.image_size, data.mean, data.std)


def train(config: Config | None = None) -> dict:
    """Train DIET and return its metrics (see :func:`cookbook.train.run_recipe`)."""
    config = config or Config.for_budget()
    return training.run_recipe(config, lambda data: build_model(config, data), name=NAME)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"label_smoothing": (0.0, 0.95, 0.05)}


if __name__ == "__main__":
    import sys

    from cookbook import cli

    sys.exit(cli.main(sys.modules[__name__], prog="python -m recipes.diet"))
