"""Probing a trained model at every layer of its head: where Guillotine Regularization cuts.

SSL recipes train a backbone followed by a projector and evaluate only the backbone: the layers
after it are thrown away. Bordes et al. (Guillotine Regularization, arXiv 2206.13378) show that
this cut is a regulariser of its own, that the representation degrades layer by layer towards the
loss, and that the best layer to keep depends on the setup. :func:`layer_features` returns the
features at each cut point, the backbone's output, then after each block of the projector, ending
at the embedding the loss sees; :func:`layer_probes` measures each one with the kNN classifier, the
linear probe and RankMe of :mod:`cookbook.evaluate`.

A cut point is the end of a block: after a Linear layer's BatchNorm and ReLU when it has them, and
after the head's last module. Recipes whose model has a ``backbone`` and a ``projector`` built by
:func:`cookbook.models.mlp` (every :class:`cookbook.method.TwoViewMethod`, BYOL, ...) can be probed;
a model trained without a projector (``proj_depth=0``, an ``nn.Identity``) has the backbone only.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from . import evaluate


def cut_points(head: nn.Sequential) -> list[int]:
    """Indices into ``head`` after which a block ends: the module before each Linear that is not the
    first, and the last module."""
    linear = [i for i, module in enumerate(head) if isinstance(module, nn.Linear)]
    return [i - 1 for i in linear[1:]] + [len(head) - 1]


def layer_names(model: nn.Module) -> list[str]:
    """The names of the probe points: ``backbone``, then ``projector 1`` ... ``projector L`` (the
    last one is the embedding the loss sees)."""
    _check(model)
    if isinstance(model.projector, nn.Identity):
        return ["backbone"]
    return ["backbone"] + [f"projector {n}" for n in range(1, len(cut_points(model.projector)) + 1)]


def layer_features(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """``images`` ``(N, C, H, W)`` -> features at every probe point, ``{name: (N, D_layer)}``, in
    eval mode, float32 on the CPU."""
    _check(model)
    if isinstance(model.projector, nn.Identity):
        return {"backbone": evaluate.embed(model.backbone, images, batch_size).cpu()}
    cuts = set(cut_points(model.projector))
    names = layer_names(model)

    def every_layer(x: torch.Tensor) -> torch.Tensor:
        h = model.backbone(x)
        outputs = [h]
        for index, module in enumerate(model.projector):
            h = module(h)
            if index in cuts:
                outputs.append(h)
        return torch.cat(outputs, dim=1)  # one tensor per batch, split below

    dims = [model.backbone.dim] + [_out_dim(model.projector, i) for i in sorted(cuts)]
    joined = evaluate.embed(model, images, batch_size, call=every_layer)
    return dict(zip(names, joined.cpu().split(dims, dim=1)))


def layer_probes(model: nn.Module, data, *, bank: int | None = None, linear: bool = True, k: int = 20,
                 temperature: float = 0.07, seed: int = 0) -> list[dict[str, Any]]:
    """kNN accuracy (memory bank: the first ``bank`` training images, default all), linear-probe
    accuracy (``linear=False`` skips it: it costs most) and RankMe of the features at every probe
    point, one row per layer: ``{"layer", "dim", "knn_acc", "linear_acc", "rankme"}``."""
    bank = bank or len(data.train_x)
    train = layer_features(model, data.train_x[:bank])
    test = layer_features(model, data.test_x)
    rows = []
    for name in train:
        row = {"layer": name, "dim": train[name].shape[1],
               "knn_acc": evaluate.knn_accuracy(train[name], data.train_y[:bank], test[name], data.test_y, k, temperature),
               "rankme": evaluate.rankme(test[name])}
        if linear:
            row["linear_acc"] = evaluate.linear_probe_accuracy(train[name], data.train_y[:bank], test[name],
                                                               data.test_y, seed=seed)
        rows.append(row)
    return rows


def _check(model: nn.Module) -> None:
    head = getattr(model, "projector", None)
    if isinstance(head, nn.Identity) and getattr(model, "backbone", None) is not None:
        return
    if getattr(model, "backbone", None) is None or not isinstance(head, nn.Sequential) \
            or not any(isinstance(m, nn.Linear) for m in head):
        raise TypeError(f"{type(model).__name__} has no backbone followed by an MLP projector "
                        f"(model.backbone, model.projector as built by cookbook.models.mlp): nothing to probe layer "
                        f"by layer")


def _out_dim(head: nn.Sequential, index: int) -> int:
    """The width of ``head``'s output after module ``index``: the last Linear at or before it."""
    return next(m.out_features for m in reversed(head[:index + 1]) if isinstance(m, nn.Linear))
