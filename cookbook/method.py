"""The contract between a recipe and the kitchen: one base class every recipe model subclasses.

A :class:`Method` is built from a recipe's ``Config`` and the data it will train on, and names
four things that the trainer, the evaluation, the collapse probe and the lab rely on:

- ``backbone``: the network whose features are evaluated (kNN, linear probe, RankMe);
- ``embed(x)``: the embedding the loss sees, for clean images ``x`` (the collapse probe and
  the lab's spectrum read it);
- ``forward(images, indices)``: uint8-range float images of one batch (and their positions in
  the training set, which only DIET reads) -> ``{"loss": scalar, ...}``; the model makes its
  own views, so each recipe decides how many and which;
- ``after_step(step, total_steps)``: work after each optimizer step (an EMA target, a queue,
  a centre); nothing by default.

:func:`cookbook.cli.entry_points` gives every recipe module the same ``build_model``, ``train`` and
command line, so a recipe file holds only its method.
"""
from __future__ import annotations

import torch
from torch import nn

from . import models
from .augment import views


class Method(nn.Module):
    """Base class of every recipe model (see the module docstring). Subclasses set ``name``,
    build ``self.backbone`` and their heads in ``__init__(config, data)``, and write ``forward``
    around their recipe's pure loss."""

    name: str = "method"
    backbone: nn.Module
    # Whether the recipe trains one model across torchrun's processes exactly as one process with the
    # global batch would (its batch-coupled terms gathered: cookbook.distributed). A recipe sets it
    # once tests/test_distributed.py holds for it; the others are refused under torchrun.
    distributed_ready: bool = False

    def __init__(self, config, data):
        super().__init__()
        self.config = config

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """The embedding the loss sees for images ``x``: ``(N, D)``."""
        raise NotImplementedError(f"{type(self).__name__} must define embed(x)")

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        raise NotImplementedError(f"{type(self).__name__} must define forward(images, indices)")

    def after_step(self, step: int, total_steps: int) -> None:
        """Called after every optimizer step; ``step`` counts the steps done so far."""


class TwoViewMethod(Method):
    """Backbone + MLP projector of the joint-embedding recipes (SimCLR, VICReg, Barlow Twins, ...).

    Built from a config with ``backbone``, ``width``, ``proj_hidden_dim``, ``proj_dim``,
    ``proj_depth`` and ``augment``; a recipe subclasses it and writes ``forward`` around its loss.
    """

    def __init__(self, config, data):
        super().__init__(config, data)
        self.backbone = models.build_backbone(config.backbone, image_size=data.image_size, mean=data.mean,
                                              std=data.std, width=config.width)
        # proj_depth 0: no projector, the loss sees the backbone's features (Jing et al., 2022)
        self.projector = (models.projector(self.backbone.dim, config.proj_hidden_dim, config.proj_dim,
                                           config.proj_depth)
                          if config.proj_depth else nn.Identity())

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        return self.projector(self.backbone(x))

    def embed_views(self, images: torch.Tensor, n: int = 2) -> list[torch.Tensor]:
        """``n`` random views of every image -> their embeddings, ``n`` tensors of ``(N, proj_dim)``."""
        # One pass over all views: BatchNorm sees the whole nN batch, as in SimCLR's global BN.
        return list(self.embed(torch.cat(views(images, n, self.config.augment))).chunk(n))
