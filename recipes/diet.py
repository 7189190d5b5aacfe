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

from cookbook import cli, models
from cookbook.augment import augment
from cookbook.config import TrainConfig, need
from cookbook.method import Method


@dataclass
class Config(TrainConfig):
    label_smoothing: float = 0.8    # eps: share of the target spread over all N_train classes (the paper uses 0.8)

    BUDGETS = {
        # Each image is its own class, seen once per epoch: DIET needs epochs (benchmarks/results/tuning/diet.md).
        "quick": {"n_train": 2000, "batch_size": 256, "lr": 1e-2},
        "cpu": {"lr": 1e-2},  # 48 epochs of 8000 images; lr as in quick
        # DIET's small-dataset setting (Balestriero, 2023): AdamW, lr 1e-3, weight decay 0.05, label smoothing 0.8.
        "cuda": {"lr": 1e-3, "weight_decay": 0.05},
    }

    def validate(self) -> None:
        super().validate()
        need(0.0 <= self.label_smoothing < 1.0, f"label_smoothing={self.label_smoothing} must be in [0, 1): at 1 the "
             "target is uniform and says nothing about the image (the paper uses 0.8)")


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


class DIET(Method):
    """Backbone + a linear classifier with one class per training image."""

    name = "diet"
    distributed_ready = True  # a mean of per-image losses: averaging the gradients over processes suffices

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.backbone = models.build_backbone(config.backbone, image_size=data.image_size, mean=data.mean,
                                              std=data.std, width=config.width)
        self.classifier = nn.Linear(self.backbone.dim, len(data.pretrain_x))

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The logits over the training images' indices: what the loss sees."""
        return self.classifier(self.backbone(x))

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        if indices is None:
            raise ValueError("DIET's targets are the images' positions in the training set: pass indices")
        logits = self.embed(augment(images, self.config.augment))
        return {"loss": diet_loss(logits, indices, self.config.label_smoothing),
                "index_acc": (logits.argmax(dim=1) == indices).float().mean()}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"label_smoothing": (0.0, 0.95, 0.05)}

build_model, train, main = cli.entry_points(DIET)

if __name__ == "__main__":
    raise SystemExit(main())
