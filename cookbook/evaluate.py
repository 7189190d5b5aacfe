"""How good (and how collapsed) are the features? Label-free and label-using measures.

- :func:`knn_accuracy`: weighted k-nearest-neighbour vote on cosine similarity (Wu et al.,
  2018, the protocol most SSL papers report); needs labels, no training.
- :func:`linear_probe_accuracy`: a linear classifier trained on frozen features.
- :func:`rankme`: RankMe (Garrido et al., 2023), the effective rank of the embeddings,
  ``exp(entropy(p))`` with ``p_k = sigma_k / sum(sigma) + eps``; needs no labels.
- :func:`singular_values` and :func:`feature_std`: the spectrum and per-dimension spread,
  the two pictures of complete and dimensional collapse.
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn


@torch.no_grad()
def embed(model: nn.Module, images: torch.Tensor, batch_size: int = 512, call=None) -> torch.Tensor:
    """Features of ``images`` (uint8 or float in [0, 1]) from ``model`` in eval mode, as float32.

    ``call`` computes them instead of ``model`` itself, e.g. ``call=method.embed`` for the
    embedding a recipe's loss sees; ``model`` still decides the device and the eval mode."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    out = []
    for start in range(0, len(images), batch_size):
        x = images[start:start + batch_size].to(device)
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        out.append((call or model)(x).float())
    model.train(was_training)
    return torch.cat(out)


def pixels(images: torch.Tensor) -> torch.Tensor:
    """Raw pixels as feature vectors, centred per image: the baseline every method must beat."""
    flat = images.flatten(1).float() / (255 if images.dtype == torch.uint8 else 1)
    return flat - flat.mean(dim=1, keepdim=True)


@torch.no_grad()
def knn_predict(train_z: torch.Tensor, train_y: torch.Tensor, test_z: torch.Tensor, k: int = 20,
                temperature: float = 0.07, num_classes: int | None = None, chunk: int = 1024) -> torch.Tensor:
    """Predicted labels by a similarity-weighted vote of the ``k`` nearest training features.

    Each neighbour ``i`` votes for its class with weight ``exp(cos(z, z_i) / temperature)``.
    """
    if k < 1:
        raise ValueError(f"k={k}: the kNN classifier needs at least one neighbour")
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: the kNN vote temperature must be > 0")
    num_classes = num_classes or int(train_y.max()) + 1
    k = min(k, len(train_z))
    train_z = F.normalize(train_z.float(), dim=1)
    predictions = []
    for start in range(0, len(test_z), chunk):
        z = F.normalize(test_z[start:start + chunk].float(), dim=1)
        similarity, index = (z @ train_z.T).topk(k, dim=1)
        weights = (similarity / temperature).exp()
        votes = torch.zeros(len(z), num_classes, device=z.device)
        votes.scatter_add_(1, train_y[index], weights)
        predictions.append(votes.argmax(dim=1))
    return torch.cat(predictions)


def knn_accuracy(train_z, train_y, test_z, test_y, k: int = 20, temperature: float = 0.07) -> float:
    """Top-1 accuracy of :func:`knn_predict` on the test features."""
    num_classes = int(max(train_y.max(), test_y.max())) + 1
    predicted = knn_predict(train_z, train_y.to(train_z.device), test_z.to(train_z.device), k, temperature, num_classes)
    return (predicted.cpu() == test_y.cpu()).float().mean().item()


def linear_probe_accuracy(train_z, train_y, test_z, test_y, *, epochs: int = 100, lr: float = 0.1,
                          weight_decay: float = 1e-4, seed: int = 0) -> float:
    """Accuracy of a linear classifier trained on standardised frozen features.

    Full-batch gradient descent (AdamW) on the cross-entropy: deterministic for a seed and
    fast for the feature sizes used here (up to a few thousand dimensions).
    """
    predicted = linear_probe_predictions(train_z, train_y, test_z, int(max(train_y.max(), test_y.max())) + 1,
                                         epochs=epochs, lr=lr, weight_decay=weight_decay, seed=seed)
    return (predicted == test_y.cpu()).float().mean().item()


def linear_probe_predictions(train_z, train_y, test_z, num_classes: int, *, epochs: int = 100, lr: float = 0.1,
                             weight_decay: float = 1e-4, seed: int = 0) -> torch.Tensor:
    """The classes that the linear probe of :func:`linear_probe_accuracy` predicts for ``test_z``
    (on the CPU), for per-class accuracies from the very probe a run reports."""
    generator = torch.Generator().manual_seed(seed)
    mean, std = train_z.mean(dim=0), train_z.std(dim=0).clamp_min(1e-6)
    xtr, xte = (train_z - mean) / std, (test_z - mean) / std
    weight = (torch.randn(xtr.shape[1], num_classes, generator=generator) * 0.01).to(xtr.device).requires_grad_()
    bias = torch.zeros(num_classes, device=xtr.device, requires_grad=True)
    optimizer = torch.optim.AdamW([weight, bias], lr=lr, weight_decay=weight_decay)
    ytr = train_y.to(xtr.device)
    with torch.enable_grad():
        for _ in range(epochs):
            optimizer.zero_grad(set_to_none=True)
            F.cross_entropy(xtr @ weight + bias, ytr).backward()
            optimizer.step()
    with torch.no_grad():
        return (xte @ weight + bias).argmax(dim=1).cpu()


def singular_values(z: torch.Tensor, center: bool = True) -> torch.Tensor:
    """Singular values of the (N, D) embedding matrix, largest first, as float64 on the CPU."""
    z = z.detach().double().cpu()
    if center:
        z = z - z.mean(dim=0)
    return torch.linalg.svdvals(z)


def rankme(z: torch.Tensor, eps: float = 1e-7) -> float:
    """RankMe (Garrido et al., 2023): the effective rank of an (N, D) embedding matrix.

    ``p_k = sigma_k / ||sigma||_1 + eps``, ``RankMe = exp(-sum_k p_k log p_k)``. It is ``D``
    for a perfectly spread (isotropic) embedding and 1 when all embeddings lie on a line.
    The embeddings are not centred, as in the paper.
    """
    sigma = singular_values(z, center=False)
    p = sigma / sigma.sum().clamp_min(1e-12) + eps
    return float(torch.exp(-(p * p.log()).sum()))


def entropy(p: torch.Tensor) -> torch.Tensor:
    """Entropy in nats of the distributions along the last dimension of ``p`` (0 log 0 taken as 0)."""
    return -(p * p.clamp_min(1e-12).log()).sum(dim=-1)


def feature_std(z: torch.Tensor) -> torch.Tensor:
    """Per-dimension std of the L2-normalised embeddings; ~0 everywhere means complete collapse.

    For a healthy embedding of dimension D each entry is near ``1/sqrt(D)`` (as in SimSiam's
    collapse diagnostic, Chen & He, 2021).
    """
    return F.normalize(z.detach().float(), dim=1).std(dim=0)


def collapse_report(z: torch.Tensor) -> dict[str, float]:
    """Label-free summary of one embedding matrix: RankMe, dimension, mean normalised std."""
    return {"rankme": rankme(z), "dim": z.shape[1], "mean_std": feature_std(z).mean().item(),
            "std_if_uniform": z.shape[1] ** -0.5}


# ----------------------------------------------------------------------------- a model on a dataset

def features(backbone: nn.Module, data) -> tuple[torch.Tensor, torch.Tensor]:
    """``backbone`` features of the whole training and test splits of ``data`` (an ImageData)."""
    return embed(backbone, data.train_x), embed(backbone, data.test_x)


def knn_and_rankme(backbone: nn.Module, data, bank: int | None = None, k: int = 20,
                   temperature: float = 0.07) -> dict[str, float]:
    """What a run tracks while it trains: kNN accuracy (memory bank: the first ``bank`` training
    images, default all) and the test features' RankMe."""
    bank = bank or len(data.train_x)
    train_z, test_z = embed(backbone, data.train_x[:bank]), embed(backbone, data.test_x)
    return {"knn_acc": knn_accuracy(train_z, data.train_y[:bank], test_z, data.test_y, k, temperature),
            "rankme": rankme(test_z)}


def knn_scores(train_z: torch.Tensor, test_z: torch.Tensor, data, k: int = 20, temperature: float = 0.07,
               prefix: str = "") -> dict[str, float]:
    """kNN accuracy for the class (``knn_acc``) and, where the dataset records discrete nuisance
    factors (the toy shapes' colour bin), for each of them (``<factor>_knn_acc``): high class and
    low nuisance accuracy mean the features kept what matters and dropped what does not."""
    def knn(train_labels, test_labels):
        return knn_accuracy(train_z, train_labels, test_z, test_labels, k, temperature)

    scores = {f"{prefix}knn_acc": knn(data.train_y, data.test_y)}
    for name, values in data.train_factors.items():
        if not values.is_floating_point():
            scores[f"{prefix}{name}_knn_acc"] = knn(values, data.test_factors[name])
    return scores


def bank_knn_scores(backbone: nn.Module, data, bank: int | None = None, k: int = 20,
                    temperature: float = 0.07) -> dict[str, float]:
    """:func:`knn_scores` of ``backbone``'s features (class and every discrete nuisance factor) with
    the memory bank of a run's evaluation: the first ``bank`` training images (default all)."""
    bank = bank or len(data.train_x)
    train_z, test_z = embed(backbone, data.train_x[:bank]), embed(backbone, data.test_x)
    in_bank = dataclasses.replace(data, train_x=data.train_x[:bank], train_y=data.train_y[:bank],
                                  train_factors={name: v[:bank] for name, v in data.train_factors.items()})
    return knn_scores(train_z, test_z, in_bank, k, temperature)


def final_report(backbone: nn.Module, data, k: int = 20, temperature: float = 0.07, seed: int = 0) -> dict[str, Any]:
    """The numbers a run reports about its trained backbone: kNN (class and nuisances), linear
    probe, RankMe, and the same kNN scores on raw pixels, the baseline every method must beat."""
    train_z, test_z = features(backbone, data)
    return {
        **knn_scores(train_z, test_z, data, k, temperature),
        "linear_acc": linear_probe_accuracy(train_z, data.train_y, test_z, data.test_y, seed=seed),
        "rankme": rankme(test_z),
        "feature_dim": train_z.shape[1],
        **knn_scores(pixels(data.train_x), pixels(data.test_x), data, k, temperature, prefix="raw_pixel_"),
    }
