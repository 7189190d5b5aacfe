"""NNCLR: contrastive learning whose positive is a nearest neighbour from earlier batches.

Like SimCLR, each image gives two views, embedded by a backbone and a projector. Instead of
using the other view's embedding as the positive, NNCLR looks up the nearest neighbour of
the first view's embedding in a support set, a first-in-first-out queue of embeddings from
earlier batches, and asks it to identify the (predicted) embedding of the second view among
the batch. The neighbour is usually a different image that looks alike, so the positives vary
more than augmentations alone can make them.

Dwibedi, Aytar, Tompson, Sermanet and Zisserman, "With a Little Help from My Friends:
Nearest-Neighbor Contrastive Learning of Visual Representations", ICCV 2021 (arXiv:2104.14548).
Cookbook section 2.2.

With ``NN(z, Q)`` the element of the support set ``Q`` closest to ``z`` in cosine similarity,
``z`` projections, ``p`` predictions (the projections passed through a predictor MLP) and all
vectors L2-normalised::

    L(1->2) = - 1/N sum_i log( exp(NN(z1_i, Q).p2_i / tau) / sum_k exp(NN(z1_i, Q).p2_k / tau) )
    loss    = ( L(1->2) + L(2->1) ) / 2
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed, models
from cookbook.config import BatchScaledLR, TrainConfig, need
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    temperature: float = 0.1        # tau of the softmax over the batch (the paper uses 0.1)
    queue_size: int = 4096          # embeddings in the support set the neighbours come from
    use_predictor: bool = True      # a predictor MLP on the side the neighbour must identify (as in the paper)
    proj_hidden_dim: int = 512      # width of the projector's hidden layers
    proj_dim: int = 128             # dimension of the embeddings the loss sees
    proj_depth: int = 2             # linear layers in the projector
    pred_hidden_dim: int = 512      # width of the predictor's hidden layer

    BUDGETS = {
        # No predictor: it slows a 600-step run on the toy shapes (benchmarks/results/tuning/nnclr.md).
        "quick": {"lr": 4e-3, "temperature": 0.2, "use_predictor": False},
        "cpu": {"temperature": 0.2, "queue_size": 8192},
        # The paper's setting (ImageNet; there is no CIFAR one): LARS at 0.3 x batch/256, weight decay 1e-6,
        # a 3-layer 2048-wide projector to 256, a 4096-wide predictor, tau 0.1. Its 98304-long support set
        # is larger than CIFAR-10, so it shrinks to about a third of the training set here.
        "cuda": {"optimizer": "lars", "lr": BatchScaledLR(0.3), "weight_decay": 1e-6, "queue_size": 16384,
                 "proj_hidden_dim": 2048, "proj_dim": 256, "proj_depth": 3, "pred_hidden_dim": 4096},
    }

    def validate(self) -> None:
        super().validate()
        need(self.temperature > 0, f"temperature={self.temperature}: the contrastive temperature must be > 0 "
             "(the paper uses 0.1)")
        need(self.queue_size >= self.batch_size, f"queue_size={self.queue_size}: the support set must hold at least "
             f"one batch ({self.batch_size} embeddings); the paper keeps 98304")


def nearest_neighbour(z: torch.Tensor, support: torch.Tensor) -> torch.Tensor:
    """For each row of ``z`` ``(N, D)``, the L2-normalised row of ``support`` ``(K, D)`` with the
    highest cosine similarity to it: ``(N, D)``, with no gradient (the support set is a lookup table)."""
    if z.ndim != 2 or support.ndim != 2 or z.shape[1] != support.shape[1]:
        raise ValueError(f"z must be (N, D) and support (K, D); got {tuple(z.shape)} and {tuple(support.shape)}")
    if len(support) == 0:
        raise ValueError("the support set is empty: there is no neighbour to look up")
    with torch.no_grad():
        support = F.normalize(support.float(), dim=1)
        return support[(F.normalize(z.float(), dim=1) @ support.T).argmax(dim=1)]


def nnclr_loss(z1: torch.Tensor, z2: torch.Tensor, support: torch.Tensor, temperature: float = 0.1,
               p1: torch.Tensor | None = None, p2: torch.Tensor | None = None) -> torch.Tensor:
    """The symmetric NNCLR loss.

    ``z1``, ``z2``: ``(N, D)`` projections of the two views (row ``i`` of each is the same image);
    ``support``: ``(K, D)`` embeddings of earlier batches; ``p1``, ``p2``: ``(N, D)`` predictions
    of the two views (default: the projections themselves, NNCLR without a predictor). The
    nearest neighbour of ``z1_i`` must pick ``p2_i`` among the ``N`` rows of ``p2``, and the other
    way round::

        loss = - 1/(2N) sum_i [ log softmax_k(NN(z1_i).p2_k / tau)[i] + log softmax_k(NN(z2_i).p1_k / tau)[i] ]

    Gradients reach the encoder through ``p`` only: the neighbours come from a table.
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: NNCLR needs a positive temperature")
    p1 = z1 if p1 is None else p1
    p2 = z2 if p2 is None else p2
    if not (z1.shape == z2.shape == p1.shape == p2.shape) or z1.ndim != 2:
        raise ValueError(f"z1, z2, p1 and p2 must all be (N, D); got {tuple(z1.shape)}, {tuple(z2.shape)}, "
                         f"{tuple(p1.shape)} and {tuple(p2.shape)}")
    if len(z1) < 2:
        raise ValueError("a batch of 1 image has no negatives: NNCLR needs at least 2 images per batch")
    targets = torch.arange(len(z1), device=z1.device)

    def one_way(z, p):
        logits = nearest_neighbour(z, support) @ F.normalize(p.float(), dim=1).T / temperature
        return F.cross_entropy(logits, targets)

    return (one_way(z1, p2) + one_way(z2, p1)) / 2


class NNCLR(TwoViewMethod):
    """Backbone + projector + predictor, and the support set as a queue of past projections."""

    name = "nnclr"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.predictor = (models.predictor(config.proj_dim, config.pred_hidden_dim) if config.use_predictor
                          else nn.Identity())
        # Buffers, so a checkpoint holds the support set; `queue_count` counts every embedding ever queued.
        self.register_buffer("queue", torch.zeros(config.queue_size, config.proj_dim))
        self.register_buffer("queue_count", torch.zeros((), dtype=torch.long))
        self.to_enqueue: torch.Tensor | None = None  # the last batch's first-view projections, queued after its step

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        p1, p2 = self.predictor(torch.cat([z1, z2])).chunk(2)
        # Under torchrun, every process's embeddings: the negatives span the global batch, and every process
        # queues the same global embeddings, so the support sets stay identical.
        z1, z2, p1, p2 = (distributed.gather(t) for t in (z1, z2, p1, p2))
        filled = int(min(self.queue_count.item(), len(self.queue)))
        # Before the first batch is queued, each embedding is its own neighbour (SimCLR's positive).
        support = self.queue[:filled] if filled else z1.detach()
        self.to_enqueue = z1.detach()
        return {"loss": nnclr_loss(z1, z2, support, self.config.temperature, p1, p2)}

    def after_step(self, step: int, total_steps: int) -> None:
        if self.to_enqueue is not None:
            self.enqueue(self.to_enqueue)
            self.to_enqueue = None

    @torch.no_grad()
    def enqueue(self, z: torch.Tensor) -> None:
        """Overwrite the oldest embeddings with ``z`` (the paper queues the first view's projections)."""
        slots = (self.queue_count + torch.arange(len(z), device=z.device)) % len(self.queue)
        self.queue[slots] = F.normalize(z.float(), dim=1)
        self.queue_count += len(z)


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"temperature": (0.01, 1.0, 0.01)}

build_model, train, main = cli.entry_points(NNCLR)

if __name__ == "__main__":
    raise SystemExit(main())
