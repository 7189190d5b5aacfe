"""Checkers of the speed chapter (14): each process's slice of the global batch, and the seconds an
epoch costs at a given throughput; and the key of the chapter's multiple-choice exercise."""
from __future__ import annotations

import math
from typing import Callable

import torch

from cookbook.book.checks.core import Choice, Feedback, _first_matching, _returned, _value

__all__ = ["check_rank_slice", "check_epoch_seconds"]


def check_rank_slice(fn: Callable[[torch.Tensor, int, int], torch.Tensor]) -> Feedback:
    """``fn(indices, world_size, rank)``: process ``rank``'s images of the global batch ``indices``,
    the library's split (:meth:`cookbook.train.Trainer.batch_indices`): contiguous equal parts in
    rank order, so that gathering every process's part in rank order (:func:`cookbook.distributed.gather`)
    gives back the global batch in its own order."""
    cases = [(torch.randperm(64)[:16], 2), (torch.arange(100, 124), 4), (torch.randperm(1000)[:12], 3),
             (torch.arange(8), 1)]
    for indices, world in cases:
        parts = []
        for rank in range(world):
            got, problem = _returned(fn, indices.clone(), world, rank)
            if problem:
                return Feedback(False, problem)
            if not isinstance(got, torch.Tensor) or got.ndim != 1:
                return Feedback(False, f"it returned {type(got).__name__}; return a 1-d tensor of indices, a part of "
                                       "`indices`")
            parts.append(got)
        if all(torch.equal(p, e) for p, e in zip(parts, indices.chunk(world))):
            continue
        size = len(indices) // world
        where = f" (a global batch of {len(indices)} over {world} processes)"
        if any(len(p) != size for p in parts):
            if all(len(p) == len(indices) for p in parts):
                return Feedback(False, "every process gets the whole global batch: each should get its own "
                                       f"len(indices) // world_size = {size} images" + where)
            return Feedback(False, f"the parts have {[len(p) for p in parts]} images: each should have "
                                   f"len(indices) // world_size = {size}" + where)
        together = torch.cat(parts)
        if sorted(together.tolist()) != sorted(indices.tolist()):
            return Feedback(False, "some image is on two processes and another on none: the parts must not "
                                   "overlap. Is rank counted from 1 instead of 0, or a slice too wide?" + where)
        strided = torch.equal(together, torch.cat([indices[r::world] for r in range(world)]))
        why = ("a strided split (indices[rank::world_size]) shares the images out fairly, but gathering the parts in "
               "rank order then shuffles the global batch: take contiguous parts, indices[rank * n:(rank + 1) * n]"
               if strided else None)
        return Feedback(False, (why or "every image is on one process, but the parts in rank order are not the "
                                       "global batch in its order: give rank r the r-th contiguous part") + where)
    return Feedback(True, "right: equal contiguous parts, in rank order; torch.Tensor.chunk(world_size)[rank] does "
                          "the same, as the Trainer does.")


def check_epoch_seconds(fn: Callable[[float, int, int, float], float]) -> Feedback:
    """``fn(gflop_per_view, views_per_image, images, tflops)``: the seconds one epoch costs when a
    view's forward and backward passes cost ``gflop_per_view`` GFLOP, each image gives
    ``views_per_image`` views and the device sustains ``tflops`` TFLOP/s:
    ``gflop_per_view * 1e9 * views_per_image * images / (tflops * 1e12)``."""
    cases = [(3.34, 2, 50_000, 989.4), (3.34, 2, 50_000, 100.0), (1.0, 4, 1000, 2.0), (0.5, 10, 256, 50.0)]
    for gflop, views, images, tflops in cases:
        got, problem = _value(fn, gflop, views, images, tflops)
        if problem:
            return Feedback(False, problem)
        expected = gflop * 1e9 * views * images / (tflops * 1e12)
        if math.isclose(got, expected, rel_tol=1e-6):
            continue
        why = _first_matching(got, {
            "each image gives views_per_image views, and each view costs gflop_per_view: multiply by the views":
                expected / views,
            "GFLOP are 1e9 operations and TFLOP/s 1e12 per second: the answer is 1000 times too large":
                expected * 1000,
            "GFLOP are 1e9 operations and TFLOP/s 1e12 per second: the answer is 1000 times too small":
                expected / 1000,
            "the throughput divides the work (seconds = operations / operations per second), it does not multiply it":
                gflop * 1e9 * views * images * tflops * 1e12,
        })
        return Feedback(False, (why or f"got {got:.6g} s, expected {expected:.6g} s") +
                        f" (gflop_per_view {gflop}, views_per_image {views}, images {images}, tflops {tflops})")
    return Feedback(True, "right: 334 TFLOP per two-view CIFAR-10 epoch of a ResNet-18, a third of a second at an "
                          "H100's dense bf16 peak. Real steps reach a fraction of that peak.")


# ----------------------------------------------------------------------------- multiple choice (checks.check_answer)

KEYS = {
    "ex-average": Choice("b", {
        "a": "the learning rate is set for the global batch and does not change with the number of processes.",
        "b": "every process's copy of the loss sends its gradient back through the gather to the embeddings of every "
             "process, so each process receives N times the true gradient of its embeddings, and the sum over the "
             "processes is N times too large.",
        "c": "each process computes the loss of the whole gathered batch, not of its own images alone.",
    }),
}
