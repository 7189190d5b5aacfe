"""MoCo: contrast each query against keys from a slowly moving copy of the encoder.

The online encoder embeds one view of an image (the query); a momentum encoder, an
exponential moving average (EMA) of the online backbone and projector that receives no
gradient, embeds the other view (the key). The loss picks the query's own key among
negatives. MoCo v1/v2 draw the negatives from a queue of the keys of earlier batches, so
there are many of them at a small batch size, and the slow encoder keeps those old keys
consistent with the new ones. MoCo v3 drops the queue: the negatives are the other keys of
the batch, the loss is symmetrised over the two views and a predictor MLP sits on the query
side. ``queue_size=0`` selects the v3 style here.

He, Fan, Wu, Xie and Girshick, "Momentum Contrast for Unsupervised Visual Representation
Learning", CVPR 2020 (arXiv:1911.05722); Chen, Fan, Girshick and He, "Improved Baselines with
Momentum Contrastive Learning" (MoCo v2), 2020 (arXiv:2003.04297); Chen, Xie and He, "An
Empirical Study of Training Self-Supervised Vision Transformers" (MoCo v3), ICCV 2021
(arXiv:2104.02057). Cookbook sections 2.2 and 2.3 (MoCo is discussed with self-distillation
for its EMA teacher).

With unit vectors ``q_i`` (queries), ``k_i`` (keys, no gradient), ``u_j`` the queue and ``tau``
the temperature::

    v2:  loss = - 1/N sum_i log( exp(q_i.k_i / tau) / (exp(q_i.k_i / tau) + sum_j exp(q_i.u_j / tau)) )
    v3:  loss = - 1/N sum_i log( exp(q_i.k_i / tau) / sum_j exp(q_i.k_j / tau) ),  summed over both view orders
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed, models
from cookbook.augment import views
from cookbook.config import TrainConfig, need
from cookbook.ema import ema_update
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    temperature: float = 0.2        # tau of the InfoNCE softmax (v2 uses 0.2)
    queue_size: int = 4096          # negatives kept from earlier batches; 0: MoCo v3 style (in-batch negatives)
    momentum: float = 0.99          # EMA momentum of the key encoder (0: a copy of the online one; 1: frozen)
    bn_splits: int = 4              # BatchNorm groups emulating v2's shuffled BN across GPUs (1: none; v2 only)
    proj_hidden_dim: int = 512      # width of the projector's hidden layer
    proj_dim: int = 128             # dimension of the queries and keys
    proj_depth: int = 2             # linear layers in the projector
    pred_hidden_dim: int = 512      # width of the v3 predictor's hidden layer (unused with a queue)

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"queue_size"}
    BUDGETS = {
        # 600 steps are short for a momentum encoder: a faster one and a queue of 8 batches learn faster, and
        # batch 160 is steadier across seeds at 1.1x SimCLR's step (benchmarks/results/tuning/moco.md).
        "quick": {"lr": 4e-3, "temperature": 0.1, "momentum": 0.98, "queue_size": 1280, "batch_size": 160},
        # Untested at this size; it follows the quick run's lesson (tau 0.1, a queue of 8 batches), with the
        # default m 0.99 for a run 2.5 times longer.
        "cpu": {"temperature": 0.1, "queue_size": 2048},
        # The MoCo authors' CIFAR-10 demo (facebookresearch/moco, colab/moco_cifar10_demo.ipynb): SGD with
        # lr 0.06 for batch 512, weight decay 5e-4, m 0.99, tau 0.1, a 4096-key queue and 8 BN splits.
        "cuda": {"optimizer": "sgd", "lr": 0.06, "weight_decay": 5e-4, "temperature": 0.1, "bn_splits": 8},
    }

    def validate(self) -> None:
        super().validate()
        need(self.temperature > 0, f"temperature={self.temperature}: the InfoNCE temperature must be > 0 "
             "(MoCo v2 uses 0.2)")
        need(0.0 <= self.momentum <= 1.0, f"momentum={self.momentum}: the key encoder's EMA momentum must be in [0, 1] "
             "(0.99 to 0.999 in the papers)")
        need(not (0 < self.queue_size < self.batch_size), f"queue_size={self.queue_size}: the queue must hold at least "
             f"one batch ({self.batch_size} keys), or be 0 for MoCo v3's in-batch negatives")
        need(self.batch_size % self.bn_splits == 0, f"bn_splits={self.bn_splits} must divide "
             f"batch_size={self.batch_size}")
        need(self.batch_size // self.bn_splits >= 2, f"bn_splits={self.bn_splits} makes BatchNorm groups of 1 image "
             f"from batch_size={self.batch_size}; BatchNorm needs 2 or more: use at most {self.batch_size // 2}")


def info_nce_loss(q: torch.Tensor, k: torch.Tensor, queue: torch.Tensor | None = None,
                  temperature: float = 0.2) -> torch.Tensor:
    """The InfoNCE loss of MoCo: each query must pick out its own key.

    ``q``: ``(N, D)`` queries; ``k``: ``(N, D)`` keys (row ``i`` of each is the same image);
    ``queue``: ``(K, D)`` negatives from earlier batches, or ``None``/empty for MoCo v3, where the
    negatives of query ``i`` are the other keys of the batch. All are L2-normalised here. Returns
    the scalar cross-entropy whose positive logit is ``q_i.k_i / tau``::

        with a queue:  - 1/N sum_i log( exp(q_i.k_i/tau) / (exp(q_i.k_i/tau) + sum_j exp(q_i.u_j/tau)) )
        without:       - 1/N sum_i log( exp(q_i.k_i/tau) / sum_j exp(q_i.k_j/tau) )

    (MoCo v3 also scales the loss by ``2 tau``; with AdamW that factor changes nothing, so it is left out.)
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: InfoNCE needs a positive temperature")
    if q.shape != k.shape or q.ndim != 2:
        raise ValueError(f"q and k must both be (N, D); got {tuple(q.shape)} and {tuple(k.shape)}")
    q, k = F.normalize(q.float(), dim=1), F.normalize(k.float(), dim=1)
    if queue is None or queue.numel() == 0:
        if len(q) < 2:
            raise ValueError("a batch of 1 image has no negatives: without a queue InfoNCE needs at least 2")
        return F.cross_entropy(q @ k.T / temperature, torch.arange(len(q), device=q.device))
    if queue.ndim != 2 or queue.shape[1] != q.shape[1]:
        raise ValueError(f"queue must be (K, {q.shape[1]}) like the keys; got {tuple(queue.shape)}")
    positive = (q * k).sum(dim=1, keepdim=True)
    negatives = q @ F.normalize(queue.float(), dim=1).T
    logits = torch.cat([positive, negatives], dim=1) / temperature
    return F.cross_entropy(logits, torch.zeros(len(q), dtype=torch.long, device=q.device))


class MoCo(TwoViewMethod):
    """Online backbone + projector (+ v3 predictor), their EMA copy for the keys, and the key queue."""

    name = "moco"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        v3 = config.queue_size == 0
        self.predictor = models.predictor(config.proj_dim, config.pred_hidden_dim) if v3 else nn.Identity()
        self.momentum_encoder = copy.deepcopy(nn.Sequential(self.backbone, self.projector)).requires_grad_(False)
        # Buffers, so a checkpoint holds the queue and a resumed run sees the same negatives.
        self.register_buffer("queue", F.normalize(torch.randn(config.queue_size, config.proj_dim), dim=1))
        self.register_buffer("queue_ptr", torch.zeros((), dtype=torch.long))
        self.to_enqueue: torch.Tensor | None = None  # the last batch's keys, queued after its step

    def query(self, x: torch.Tensor) -> torch.Tensor:
        return self.predictor(self.embed(x))

    @torch.no_grad()
    def keys(self, x: torch.Tensor) -> torch.Tensor:
        """Keys of ``x``; BatchNorm sees ``bn_splits`` random groups, not the queries' groups (see forward)."""
        order = torch.randperm(len(x), device=x.device)
        shuffled = torch.cat([self.momentum_encoder(part) for part in x[order].chunk(self.config.bn_splits)])
        return shuffled[order.argsort()]

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        view1, view2 = views(images, 2, c.augment)
        if c.queue_size == 0:  # v3: both views are queries and keys; negatives from the batch
            q1, q2 = self.query(torch.cat([view1, view2])).chunk(2)
            with torch.no_grad():
                k1, k2 = self.momentum_encoder(torch.cat([view1, view2])).chunk(2)
            # Under torchrun, every process's queries and keys: the negatives span the global batch.
            q1, q2, k1, k2 = (distributed.gather(t) for t in (q1, q2, k1, k2))
            return {"loss": info_nce_loss(q1, k2, None, c.temperature) + info_nce_loss(q2, k1, None, c.temperature)}
        # v2: with one BatchNorm batch for queries and keys, a query could spot its key by the batch
        # statistics they share (the queue's keys come from other batches); MoCo shuffles the keys across
        # GPUs to break this, and here the queries and the shuffled keys go through BN in separate groups.
        q = torch.cat([self.query(part) for part in view1.chunk(c.bn_splits)])
        # Under torchrun, every process's queries and keys: the loss is the global batch's, and every process
        # queues the same global keys, so the queues stay identical. (Each process splits its own BN groups.)
        q, k = distributed.gather(q), distributed.gather(self.keys(view2))
        self.to_enqueue = k
        return {"loss": info_nce_loss(q, k, self.queue, c.temperature)}

    @torch.no_grad()
    def enqueue(self, k: torch.Tensor) -> None:
        """Overwrite the oldest keys with ``k`` (a ring buffer)."""
        slots = (self.queue_ptr + torch.arange(len(k), device=k.device)) % len(self.queue)
        self.queue[slots] = F.normalize(k.float(), dim=1)
        self.queue_ptr.copy_((self.queue_ptr + len(k)) % len(self.queue))

    def after_step(self, step: int, total_steps: int) -> None:
        if self.to_enqueue is not None:  # the batch's keys join the queue, the oldest leave
            self.enqueue(self.to_enqueue)
            self.to_enqueue = None
        # A constant momentum as in v1/v2 (v3 raises it to 1 along a cosine; cookbook.ema.cosine_momentum).
        ema_update(self.momentum_encoder, nn.Sequential(self.backbone, self.projector), self.config.momentum)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"temperature": (0.01, 1.0, 0.01), "momentum": (0.0, 1.0, 0.001)}

build_model, train, main = cli.entry_points(MoCo)

if __name__ == "__main__":
    raise SystemExit(main())
