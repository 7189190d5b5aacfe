"""DINO's teacher, read from its distribution over the K prototypes: per image, and averaged over the images.

A healthy teacher is confident about each image (a low entropy per image) and spreads its choices over many
prototypes (a high entropy of the average, at most log K). Its two failures sit in the corners of these two
numbers: one prototype for every image puts both near 0, a uniform output for every image puts both near
log K. The book's collapse rule (:func:`cookbook.book.collapse.is_collapsed`) looks at the directions of the
logits and cannot see the uniform failure, whose logits differ only in their small scale; these numbers can.
Chapter 4 states the tests of :func:`kind` and uses them on the collapse probes and on a trained run.
"""
from __future__ import annotations

import math
from typing import Any

import torch
import torch.nn.functional as F

from cookbook import evaluate

UNIFORM = 0.98  # an entropy per image at least this fraction of log K: every image gets (nearly) the uniform target
ONE_PROTOTYPE = 0.02  # an entropy of the average under this fraction of log K: every image picks the same prototype
CONFIDENT = 0.5  # an image's most likely prototype gets more than this on average: a confident teacher

PER_IMAGE, AVERAGE, TOP, LOSS = "entropy per image / log K", "entropy of the average / log K", "top p", "loss / log K"
# chapter.table's formats for the rows of of_logits and logged.
FORMATS = {PER_IMAGE: ".1%", AVERAGE: ".1%", TOP: ".3f", "temperature": "g", "entropy per image (nats)": ".2f",
           "entropy of the average (nats)": ".2f", LOSS: ".3f"}


def kind(row: dict[str, Any]) -> str:
    """The teacher of a row of :func:`of_logits`: "one prototype" (the entropy of the average under
    :data:`ONE_PROTOTYPE` of log K), "uniform" (the entropy per image at least :data:`UNIFORM` of log K),
    "confident" (the top prototype's probability above :data:`CONFIDENT`), else "unsure"."""
    if row[AVERAGE] < ONE_PROTOTYPE:
        return "one prototype"
    if row[PER_IMAGE] >= UNIFORM:
        return "uniform"
    return "confident" if row[TOP] > CONFIDENT else "unsure"


def of_logits(logits: dict[str, torch.Tensor], temperature: float,
              temperatures: dict[str, float] | None = None) -> dict[str, dict[str, Any]]:
    """Run label -> the distribution its teacher makes of ``(N, K)`` logits (DINO's head output on the test
    images, the collapse probes' embeddings) at its temperature (``temperatures[label]``, default
    ``temperature``), without the centre (which shifts every image's logits alike): ``"top p"``, the mean
    probability of each image's most likely prototype, the mean entropy per image and the entropy of the average
    distribution, both over log K, and :func:`kind`."""
    rows = {}
    for label, z in logits.items():
        tau = (temperatures or {}).get(label, temperature)
        probs = F.softmax(z.detach().float() / tau, dim=1)
        log_k = math.log(probs.shape[1])
        rows[label] = {"run": label, "temperature": tau, TOP: probs.max(dim=1).values.mean().item(),
                       PER_IMAGE: evaluate.entropy(probs).mean().item() / log_k,
                       AVERAGE: evaluate.entropy(probs.mean(dim=0)).item() / log_k}
        rows[label]["teacher"] = kind(rows[label])
    return rows


def of_probes(rows: list[dict[str, Any]], logits: dict[str, torch.Tensor], temperature: float,
              temperatures: dict[str, float] | None = None) -> list[dict[str, Any]]:
    """:func:`of_logits` of DINO's collapse probes (:func:`cookbook.book.collapse.compare_embeddings`: its
    rows and embeddings), each row with the rule's verdict ("collapsed?": "yes" or "no") and its final loss
    over log K, which a student that copies a uniform teacher reaches (the cross-entropy of two uniform
    distributions)."""
    teachers = of_logits(logits, temperature, temperatures)
    return [{**teachers[row["run"]], "collapsed?": "yes" if row["collapsed"] else "no",
             LOSS: row["loss"] / math.log(logits[row["run"]].shape[1])} for row in rows]


def logged(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """A DINO run's two teacher entropies as its model logged them (``teacher_entropy`` per image and
    ``teacher_batch_entropy`` of the batch's average), in nats and over log K, at its first logged step, where
    the entropy per image was highest and lowest, and at its last, in step order."""
    records = [r for r in metrics["history"] if "teacher_entropy" in r]
    if not records:
        raise ValueError(f"{metrics.get('method', 'this run')} logged no teacher entropies: only DINO's model does")
    log_k = math.log(metrics["config"]["out_dim"])
    picked = {id(r): r for r in (records[0], max(records, key=lambda r: r["teacher_entropy"]),
                                 min(records, key=lambda r: r["teacher_entropy"]), records[-1])}
    return [{"step": r["step"], "entropy per image (nats)": r["teacher_entropy"],
             PER_IMAGE: r["teacher_entropy"] / log_k, "entropy of the average (nats)": r["teacher_batch_entropy"],
             AVERAGE: r["teacher_batch_entropy"] / log_k} for r in sorted(picked.values(), key=lambda r: r["step"])]
