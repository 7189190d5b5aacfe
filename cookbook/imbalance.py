"""Long-tailed training sets, to test the uniform prior (Cookbook 3.3; Assran et al., 2022).

Many joint-embedding losses spread a batch evenly: SwAV's Sinkhorn gives every prototype the same
share of the batch, and the uniformity of SimCLR's negatives and VICReg's variance and covariance
terms favour embeddings that fill the space evenly. Assran et al. (2022, "The Hidden Uniform
Cluster Prior in Self-Supervised Learning", arXiv:2210.07277) argue that this is a prior of
balanced clusters, which hurts when the data's classes are not balanced.

:func:`long_tailed` keeps a subset of a dataset's training split whose class frequencies fall
geometrically from the first class (the head) to the last (the tail), the profile of long-tailed
benchmarks such as CIFAR-10-LT (Cui et al., 2019)::

    n_c = n_0 * ratio ** (-c / (C - 1)),   c = 0 .. C-1,   sum_c n_c = train_images

The test split is left balanced, so a per-class accuracy on it measures every class alike.

A sweep asks for it with two settings that are not the recipe's (``benchmarks/sweep.py``):
``data.class_ratio`` (the head's frequency over the tail's; 1 is balanced) and
``data.train_images`` (how many training images remain, the same at every ratio so that only the
balance changes). This module decides which images a run trains on, so it is part of the engine and
of every run's training digest (:mod:`cookbook.book.digest`).
"""
from __future__ import annotations

import dataclasses
from typing import Any

import torch

DATA = "data."  # a setting of the training set: "data.class_ratio"
SETTINGS = {"class_ratio": "the head class's frequency over the tail class's (1: balanced)",
            "train_images": "training images kept, at every ratio (default: as many as the balanced split allows)"}


def data_settings(settings: dict[str, Any]) -> dict[str, Any]:
    """The ``data.<name>`` settings of a sweep point, without their prefix; refuses unknown names."""
    found = {k[len(DATA):]: v for k, v in settings.items() if k.startswith(DATA)}
    unknown = sorted(set(found) - set(SETTINGS))
    if unknown:
        raise ValueError(f"no data setting {', '.join(DATA + u for u in unknown)}; the data settings are "
                         + "; ".join(f"{DATA}{k}: {v}" for k, v in SETTINGS.items()))
    if "class_ratio" in found and not (isinstance(found["class_ratio"], (int, float))
                                       and not isinstance(found["class_ratio"], bool) and found["class_ratio"] >= 1):
        raise ValueError(f"data.class_ratio={found['class_ratio']!r} must be a number >= 1: the head class is "
                         "that many times as frequent as the tail class (1 is balanced)")
    if "train_images" in found and not (isinstance(found["train_images"], int)
                                        and not isinstance(found["train_images"], bool) and found["train_images"] >= 1):
        raise ValueError(f"data.train_images={found['train_images']!r} must be a whole number >= 1")
    return found


def class_counts(n_classes: int, train_images: int, class_ratio: float) -> list[int]:
    """Images per class, head first: a geometric fall by ``class_ratio`` from the first class to the
    last, summing to ``train_images``, each at least 1."""
    if n_classes < 2:
        raise ValueError(f"a long tail needs at least 2 classes, not {n_classes}")
    if class_ratio < 1:
        raise ValueError(f"class_ratio={class_ratio} must be >= 1 (1 is balanced)")
    if train_images < n_classes:
        raise ValueError(f"train_images={train_images} leaves some of the {n_classes} classes empty")
    shares = torch.tensor([class_ratio ** (-c / (n_classes - 1)) for c in range(n_classes)], dtype=torch.float64)
    exact = shares / shares.sum() * train_images
    counts = exact.floor().long()
    # What rounding down left over goes to the largest remainders, so every count stays within one
    # image of its exact share and the total is exact.
    for c in (exact - counts).argsort(descending=True, stable=True)[:int(train_images - counts.sum())]:
        counts[c] += 1
    if counts.min() < 1:
        raise ValueError(f"class_ratio={class_ratio} with train_images={train_images} leaves the rarest class no "
                         f"image (exact share {float(exact[-1]):.2f}): raise train_images or lower class_ratio")
    return counts.tolist()


def long_tailed(data, class_ratio: float = 1.0, train_images: int | None = None):
    """``data`` (an :class:`cookbook.data.ImageData`) with a long-tailed training split: the first
    :func:`class_counts` images of each class, in their order, and the test split unchanged.
    ``train_images`` defaults to what the rarest class of ``data`` allows at a ratio of 1."""
    if data.unlabeled_x is not None:
        raise ValueError(f"{data.name} has unlabelled training images, which a run also trains on and which no class "
                         f"ratio can shape: a long tail needs a dataset with labelled images only (toy, digits, CIFAR)")
    labels = data.train_y.cpu()
    n_classes = len(data.classes)
    available = torch.bincount(labels, minlength=n_classes)
    train_images = train_images or int(available.min()) * n_classes
    counts = class_counts(n_classes, train_images, class_ratio)
    short = [(data.classes[c], want, int(available[c])) for c, want in enumerate(counts) if want > available[c]]
    if short:
        name, want, have = short[0]
        raise ValueError(f"class_ratio={class_ratio} with train_images={train_images} asks for {want} images of "
                         f"{name!r}, and the training split has {have}: load more training images (n_train), "
                         f"or lower data.train_images or data.class_ratio")
    keep = torch.cat([torch.nonzero(labels == c).flatten()[:want] for c, want in enumerate(counts)]).sort().values
    keep = keep.to(data.train_x.device)
    return dataclasses.replace(data, name=f"{data.name}, long-tailed x{class_ratio:g}", train_x=data.train_x[keep],
                               train_y=data.train_y[keep],
                               train_factors={k: v[keep] for k, v in data.train_factors.items()})


def apply(data, settings: dict[str, Any]):
    """``data`` as a sweep point's ``data.<name>`` settings ask (unchanged when it has none)."""
    found = data_settings(settings)
    return long_tailed(data, found.get("class_ratio", 1.0), found.get("train_images")) if found else data
