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

from cookbook import evaluate


def cut_points(head: nn.Sequential) -> list[int]:
    """Indices into ``head`` after which a block ends: the module before each Linear that is not the
    first, and the last module."""
    linear = [i for i, module in enumerate(head) if isinstance(module, nn.Linear)]
    return [i - 1 for i in linear[1:]] + [len(head) - 1]


def layer_names(model: nn.Module) -> list[str]:
    """The names of the probe points: ``backbone``, then ``projector 1`` ... ``projector L`` (the
    last one is the embedding the loss sees)."""
    _check(model)
    if _backbone_only(model):
        return ["backbone"]
    return ["backbone"] + [f"projector {n}" for n in range(1, len(cut_points(model.projector)) + 1)]


def layer_features(model: nn.Module, images: torch.Tensor, batch_size: int = 512) -> dict[str, torch.Tensor]:
    """``images`` ``(N, C, H, W)`` -> features at every probe point, ``{name: (N, D_layer)}``, in
    eval mode, float32 on the CPU."""
    _check(model)
    if _backbone_only(model):
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
               "knn_acc": evaluate.knn_accuracy(train[name], data.train_y[:bank], test[name], data.test_y, k,
                                                temperature),
               "rankme": evaluate.rankme(test[name])}
        if linear:
            row["linear_acc"] = evaluate.linear_probe_accuracy(train[name], data.train_y[:bank], test[name],
                                                               data.test_y, seed=seed)
        rows.append(row)
    return rows


def per_class_scores(backbone: nn.Module, data, *, bank: int | None = None, k: int = 20, temperature: float = 0.07,
                     seed: int = 0) -> dict[str, list]:
    """Each class's share of the training split and its test accuracy by kNN (memory bank: the first
    ``bank`` training images, default all) and by the linear probe (trained on the whole training
    split): ``{"classes", "train_counts", "knn_acc", "linear_acc"}``, lists in class order. On a
    long-tailed training split (:mod:`cookbook.imbalance`) they show what the tail loses."""
    train_z, test_z = evaluate.features(backbone, data)
    return per_class_of_features(train_z, test_z, data, bank=bank, k=k, temperature=temperature, seed=seed)


def per_class_of_features(train_z: torch.Tensor, test_z: torch.Tensor, data, *, bank: int | None = None, k: int = 20,
                          temperature: float = 0.07, seed: int = 0, linear: bool = True) -> dict[str, list]:
    """:func:`per_class_scores` of features already computed (``train_z`` and ``test_z``, one row per image of
    ``data``'s training and test splits), so that references without a network can be scored the same way:
    raw pixels (:func:`cookbook.evaluate.pixels`). ``linear=False`` leaves out the linear probe (on 3,072 raw
    pixels it costs seconds) and its ``linear_acc``."""
    bank = bank or len(data.train_x)
    n_classes = len(data.classes)
    test_y = data.test_y.to(test_z.device)
    predicted = evaluate.knn_predict(train_z[:bank], data.train_y[:bank].to(train_z.device), test_z, k, temperature,
                                     num_classes=n_classes)
    knn = [float((predicted[test_y == c] == c).float().mean()) if (test_y == c).any() else None
           for c in range(n_classes)]
    scores = {"classes": list(data.classes),
              "train_counts": torch.bincount(data.train_y.cpu(), minlength=n_classes).tolist(), "knn_acc": knn}
    if linear:
        # The very probe (one seed, full-batch) whose overall accuracy a run reports, read class by class.
        probed = evaluate.linear_probe_predictions(train_z, data.train_y, test_z,
                                                   int(max(data.train_y.max(), data.test_y.max())) + 1, seed=seed)
        test_y = test_y.cpu()
        scores["linear_acc"] = [float((probed[test_y == c] == c).float().mean()) if (test_y == c).any() else None
                                for c in range(n_classes)]
    return scores


def fine_tune_accuracy(backbone: nn.Module, data, *, blocks: int | None = 1, steps: int = 200, batch_size: int = 128,
                       lr: float = 2e-3, seed: int = 0, pretrained: bool = True) -> float:
    """Test accuracy after training a linear classifier *and* the last ``blocks`` blocks of a copy of
    ``backbone`` on the labelled training split (``blocks=None``: every block, full fine-tuning; 0: a
    linear probe trained by the same SGD loop). ``pretrained=False`` re-initialises the copy first:
    supervised training from scratch, the reference a pretrained backbone should beat with few labels.
    The blocks are the parameterised modules of ``backbone.features`` (every backbone of
    :mod:`cookbook.models` that the quick budget uses). AdamW on the cross-entropy of the images as
    they are (no augmentation), ``steps`` batches drawn with ``seed``; ``backbone`` is left untouched."""
    import copy

    import torch.nn.functional as F

    layers = getattr(backbone, "features", None)
    if not isinstance(layers, nn.Sequential):
        raise TypeError(f"{type(backbone).__name__} has no `features` Sequential to fine-tune block by block; "
                        f"use the linear probe (cookbook.evaluate.linear_probe_accuracy) instead")
    if blocks is not None and blocks < 0:
        raise ValueError(f"blocks={blocks}: give 0 (a linear probe), a positive number of last blocks, or None (all)")
    torch.manual_seed(seed)
    model = copy.deepcopy(backbone)
    if not pretrained:
        for module in model.modules():
            if hasattr(module, "reset_parameters") and module is not model:
                module.reset_parameters()
    parameterised = [m for m in model.features if any(True for _ in m.parameters())]
    trainable = parameterised if blocks is None else parameterised[len(parameterised) - blocks:] if blocks else []
    model.requires_grad_(False)
    for block in trainable:
        block.requires_grad_(True)
    head = nn.Linear(backbone.dim, len(data.classes)).to(data.device)
    params = [p for p in model.parameters() if p.requires_grad] + list(head.parameters())
    optimizer = torch.optim.AdamW(params, lr=lr, weight_decay=1e-4)
    generator = torch.Generator().manual_seed(seed)
    for _ in range(steps):
        model.eval()  # frozen blocks keep their BatchNorm statistics; the trained ones update theirs
        for block in trainable:
            block.train()
        index = torch.randint(len(data.train_x), (batch_size,), generator=generator).to(data.device)
        loss = F.cross_entropy(head(model(_as_float(data.train_x[index]))), data.train_y[index])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    model.eval()
    with torch.no_grad():
        logits = torch.cat([head(model(_as_float(data.test_x[i:i + 512]))) for i in range(0, len(data.test_x), 512)])
    return float((logits.argmax(1).cpu() == data.test_y.cpu()).float().mean())


def _as_float(images: torch.Tensor) -> torch.Tensor:
    return images.float() / 255 if images.dtype == torch.uint8 else images.float()


def _backbone_only(model: nn.Module) -> bool:
    """A model whose backbone is its only probe point: no projector (MAE and I-JEPA, whose losses compare
    predicted pixels or patch features, not an embedding) or an identity one."""
    head = getattr(model, "projector", None)
    return (head is None or isinstance(head, nn.Identity)) and getattr(model, "backbone", None) is not None


def _check(model: nn.Module) -> None:
    if _backbone_only(model):
        return
    head = getattr(model, "projector", None)
    if getattr(model, "backbone", None) is None or not isinstance(head, nn.Sequential) \
            or not any(isinstance(m, nn.Linear) for m in head):
        raise TypeError(f"{type(model).__name__} has no backbone followed by an MLP projector "
                        f"(model.backbone, model.projector as built by cookbook.models.mlp): nothing to probe layer "
                        f"by layer")


def _out_dim(head: nn.Sequential, index: int) -> int:
    """The width of ``head``'s output after module ``index``: the last Linear at or before it."""
    return next(m.out_features for m in reversed(head[:index + 1]) if isinstance(m, nn.Linear))


def evaluation_ladder(backbone: nn.Module, data, *, bank: int | None = None, k: int = 20, temperature: float = 0.07,
                      steps: int = 200, seed: int = 0) -> list[dict[str, Any]]:
    """The same trained ``backbone`` scored the ways the Cookbook's section 3.7 lists, from the one
    that trains nothing to the one that trains everything: kNN on frozen features, the linear probe
    on frozen features, fine-tuning the last block with a linear head, fine-tuning every block, and
    the same network trained from scratch with the same labels and steps (the reference that says
    what the pretraining bought). One row each: ``{"evaluation", "trains", "accuracy"}``."""
    bank = bank or len(data.train_x)
    train_z, test_z = evaluate.features(backbone, data)
    tune = dict(steps=steps, seed=seed)
    return [
        {"evaluation": "kNN, frozen features", "trains": "nothing",
         "accuracy": evaluate.knn_accuracy(train_z[:bank], data.train_y[:bank], test_z, data.test_y, k, temperature)},
        {"evaluation": "linear probe, frozen features",
         "trains": f"a linear layer ({backbone.dim} x {len(data.classes)})",
         "accuracy": evaluate.linear_probe_accuracy(train_z, data.train_y, test_z, data.test_y, seed=seed)},
        {"evaluation": f"fine-tune the last block, {steps} steps", "trains": "the last block and a linear layer",
         "accuracy": fine_tune_accuracy(backbone, data, blocks=1, **tune)},
        {"evaluation": f"fine-tune every block, {steps} steps", "trains": "the whole network",
         "accuracy": fine_tune_accuracy(backbone, data, blocks=None, **tune)},
        {"evaluation": f"from scratch, {steps} steps (no pretraining)",
         "trains": "the whole network, from random weights",
         "accuracy": fine_tune_accuracy(backbone, data, blocks=None, pretrained=False, **tune)},
    ]
