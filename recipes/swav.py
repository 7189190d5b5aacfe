"""SwAV: cluster the crops of each image online, and predict one crop's cluster from another crop.

A backbone and projector map every crop to a unit vector ``z``; its dot products with ``K``
learned unit vectors, the prototypes, are its scores. For the two large (global) crops the
scores are turned into soft cluster assignments, the *codes*, by a few Sinkhorn-Knopp
iterations that force the batch to be spread equally over the prototypes (equipartition): this,
not a negative pair or a teacher, is what keeps every image from landing in the same cluster.
Each crop, global or small (local, multi-crop), must then predict the code of a *different*
crop of the same image from its own scores: the swapped prediction.

Caron, Misra, Mairal, Goyal, Bojanowski and Joulin, "Unsupervised Learning of Visual Features by
Contrasting Cluster Assignments", NeurIPS 2020 (arXiv:2006.09882). Cookbook section 2.4
(grouped there with the canonical-correlation methods); multi-crop in section 3.1.

With ``z_v`` the unit embedding of crop ``v``, ``C`` the ``(D, K)`` matrix of unit prototypes,
``q_t`` the codes of global crop ``t`` and ``tau`` the temperature::

    Q = argmax_{Q in Transportation(N, K)} Tr(Q^T Z^T C) + epsilon H(Q)       (approximated by Sinkhorn-Knopp)
    p_v = softmax(z_v^T C / tau)
    loss = mean over pairs (t, v) with v != t of  - sum_k q_t,k log p_v,k      (and over the batch)
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from cookbook import cli, distributed
from cookbook.augment import check_multi_crop, multi_crop
from cookbook.config import BatchScaledLR, TrainConfig, need
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    n_prototypes: int = 32          # K: clusters the batch is spread over (3000 on ImageNet)
    temperature: float = 0.1        # tau of the softmax over a crop's prototype scores
    epsilon: float = 0.05           # entropic regularisation of Sinkhorn: lower gives sharper codes (see BUDGETS)
    sinkhorn_iterations: int = 3    # Sinkhorn-Knopp iterations: at least 1, or nothing spreads the codes out
    freeze_prototypes_steps: int = 300  # steps with frozen prototypes (SwAV: the first epoch; 0: none)
    proj_hidden_dim: int = 512      # width of the projector's hidden layer
    proj_dim: int = 128             # dimension of the embeddings and prototypes
    proj_depth: int = 2             # linear layers in the projector
    n_local_crops: int = 2          # small crops per image; they are predicted from, never assigned codes (0: none)
    local_size: int = 16            # side in pixels of the local crops
    local_min_scale: float = 0.05   # smallest local crop area, as a fraction of the image
    local_max_scale: float = 0.4    # largest local crop area (the global crops use augment.crop_min_scale to 1)

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"freeze_prototypes_steps", "n_local_crops"}

    BUDGETS = {
        # SwAV's epsilon 0.05 gives the small CNN almost uniform codes, a trap: see benchmarks/results/tuning/swav.md.
        "quick": {"epsilon": 0.02},
        "cpu": {"epsilon": 0.02},
        # The SwAV paper trains no CIFAR model; this follows solo-learn's CIFAR-10 SwAV (LARS lr 0.6 x batch/256,
        # weight decay 1e-6, hidden 2048, 128-d embeddings) with the paper's 6 local crops. Without a queue, a batch
        # of 512 cannot spread over solo-learn's 3000 prototypes, so K is 300 here.
        "cuda": {"optimizer": "lars", "lr": BatchScaledLR(0.6), "weight_decay": 1e-6,
                 "proj_hidden_dim": 2048, "n_prototypes": 300, "n_local_crops": 6},
    }

    def validate(self) -> None:
        super().validate()
        for name in ("temperature", "epsilon"):
            need(getattr(self, name) > 0, f"{name}={getattr(self, name)} must be > 0 (SwAV uses temperature 0.1 "
                 "and epsilon 0.05)")
        need(self.n_prototypes >= 2, f"n_prototypes={self.n_prototypes}: use at least 2 clusters")
        check_multi_crop(self.n_local_crops, self.local_size, (self.local_min_scale, self.local_max_scale))


@torch.no_grad()
def sinkhorn(scores: torch.Tensor, epsilon: float = 0.05, iterations: int = 3) -> torch.Tensor:
    """Soft, balanced cluster assignments (the codes) of ``N`` images to ``K`` prototypes.

    ``scores``: ``(N, K)`` similarities of each image to each prototype. Starting from
    ``exp(scores / epsilon)``, each iteration rescales every column (prototype) to total ``N/K``,
    then every row (image) to total 1. Returns ``Q``, ``(N, K)``: each row sums to 1 (a distribution
    over the prototypes) and, as the iterations go on, each column sums to ``N/K`` (every prototype gets
    the same share of the batch: equipartition). With ``iterations=0`` there is no balancing and ``Q`` is
    ``softmax(scores / epsilon)``. Lower ``epsilon`` gives sharper (closer to one-hot) codes.
    """
    if epsilon <= 0:
        raise ValueError(f"epsilon={epsilon}: Sinkhorn's entropic regularisation must be > 0 (SwAV uses 0.05)")
    if iterations < 0:
        raise ValueError(f"iterations={iterations} must be >= 0")
    if scores.ndim != 2 or min(scores.shape) < 1:
        raise ValueError(f"scores must be (N, K) with N, K >= 1; got {tuple(scores.shape)}")
    n, k = scores.shape
    # In log space, where exp(scores / epsilon) can neither overflow nor underflow to an all-zero column.
    log_q = scores.float() / epsilon
    for _ in range(iterations):
        log_q = log_q - log_q.logsumexp(dim=0, keepdim=True) + math.log(n / k)
        log_q = log_q - log_q.logsumexp(dim=1, keepdim=True)
    return log_q.softmax(dim=1)  # the rows are already distributions after an iteration


def swapped_prediction_loss(scores: torch.Tensor, codes: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """SwAV's swapped prediction: the codes of one crop are the target for the scores of every other crop.

    ``scores``: ``(V, N, K)`` prototype scores of ``V`` crops of ``N`` images; ``codes``: ``(G, N, K)``
    codes (rows summing to 1) of the first ``G <= V`` of those crops, the global ones. Each pair
    ``(t, v)`` with ``v != t`` contributes::

        H(t, v) = - 1/N sum_n sum_k codes[t, n, k] * log_softmax(scores[v, n] / temperature)_k

    and the loss is the mean of ``H`` over the ``G * V - G`` pairs. The codes carry no gradient.
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: the softmax over prototypes needs a positive temperature")
    if scores.ndim != 3 or codes.ndim != 3 or scores.shape[1:] != codes.shape[1:]:
        raise ValueError("scores must be (V, N, K) and codes (G, N, K) with the same N and K; got "
                         f"{tuple(scores.shape)} and {tuple(codes.shape)}")
    n_crops, n_coded = len(scores), len(codes)
    if n_coded > n_crops or n_crops < 2:
        raise ValueError(f"{n_crops} crop(s) with scores and {n_coded} with codes: every coded crop needs scores "
                         "and another crop to predict it from, so use V >= G and V >= 2")
    log_probs = F.log_softmax(scores.float() / temperature, dim=-1)
    cross_entropy = -torch.einsum("tnk,vnk->tv", codes.detach().float(), log_probs) / scores.shape[1]  # (G, V)
    other_crop = ~torch.eye(n_coded, n_crops, dtype=torch.bool, device=cross_entropy.device)
    return cross_entropy[other_crop].mean()


class SwAV(TwoViewMethod):
    """Backbone + projector + prototypes; ``forward`` makes the crops, their codes and the swapped loss.
    ``embed`` is the projector's output before its L2 normalisation."""

    name = "swav"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def __init__(self, config: Config, data):
        super().__init__(config, data)
        self.prototypes = nn.Linear(config.proj_dim, config.n_prototypes, bias=False)
        self.normalize_prototypes()
        # A buffer, so a resumed run knows whether the prototypes are still frozen.
        self.register_buffer("steps_done", torch.zeros((), dtype=torch.long))

    @torch.no_grad()
    def normalize_prototypes(self) -> None:
        self.prototypes.weight.copy_(F.normalize(self.prototypes.weight, dim=1))

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        c = self.config
        global_views, local_views = multi_crop(images, c.augment, 2, c.n_local_crops, c.local_size,
                                               (c.local_min_scale, c.local_max_scale))
        # One backbone pass per resolution, then one projector pass over all crops; rows grouped crop by crop.
        features = [self.backbone(torch.cat(views)) for views in (global_views, local_views) if views]
        z = F.normalize(self.projector(torch.cat(features)), dim=1)
        prototypes = self.prototypes.weight
        if int(self.steps_done) < c.freeze_prototypes_steps:
            prototypes = prototypes.detach()
        scores = (z @ prototypes.T).view(-1, len(images), c.n_prototypes)
        # Under torchrun, every process's scores: Sinkhorn spreads the global batch over the prototypes.
        scores = distributed.gather(scores, dim=1)
        codes = torch.stack([sinkhorn(s, c.epsilon, c.sinkhorn_iterations) for s in scores[:len(global_views)]])
        loss = swapped_prediction_loss(scores, codes, c.temperature)
        # How many prototypes some image of the batch picks as its best: near K while the batch is spread out,
        # 1 once every image falls into the same cluster.
        used = torch.zeros(c.n_prototypes, device=z.device).index_fill_(0, scores[0].argmax(dim=1), 1).sum()
        return {"loss": loss, "prototypes_used": used}

    def after_step(self, step: int, total_steps: int) -> None:
        self.steps_done.fill_(step)
        # The prototypes stay on the unit sphere, so a score is a cosine similarity (Caron et al., 2020, sec. 3.1).
        self.normalize_prototypes()


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"temperature": (0.01, 1.0, 0.01), "epsilon": (0.01, 0.5, 0.01), "sinkhorn_iterations": (1, 10, 1),
                "n_prototypes": (2, 256, 2), "n_local_crops": (0, 6, 1)}

build_model, train, main = cli.entry_points(SwAV)

if __name__ == "__main__":
    raise SystemExit(main())
