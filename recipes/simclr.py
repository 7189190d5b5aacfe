"""SimCLR: learn by telling each image's two views apart from every other image in the batch.

Each image gives two random views; an encoder and a small MLP projector map them to
embeddings ``z``. The NT-Xent loss pulls the two views of an image together and pushes
them away from the other ``2N - 2`` views of the batch, which serve as negatives.

Chen, Kornblith, Norouzi and Hinton, "A Simple Framework for Contrastive Learning of Visual
Representations", ICML 2020 (arXiv:2002.05709). Cookbook section 2.2.

With ``s_ij = cos(z_i, z_j) / tau`` over the ``2N`` embeddings of a batch and ``j(i)`` the
other view of image ``i``::

    loss = - 1/(2N) * sum_i log( exp(s_i,j(i)) / sum_{k != i} exp(s_ik) )

``negatives=m`` keeps, in each denominator, the positive and ``m`` of the ``2N - 2`` negatives drawn
at random: Bordes, Balestriero and Vincent ("Towards Democratizing Joint-Embedding Self-Supervised
Learning", arXiv:2303.01986) train SimCLR with a single negative per positive.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cookbook import cli, distributed
from cookbook.config import BatchScaledLR, TrainConfig, need
from cookbook.method import TwoViewMethod


@dataclass
class Config(TrainConfig):
    temperature: float = 0.2        # tau: lower sharpens the softmax over negatives
    proj_hidden_dim: int = 512      # width of the projector's hidden layer
    proj_dim: int = 128             # dimension of the embeddings the loss sees
    proj_depth: int = 2             # linear layers in the projector (0: none, the loss sees the backbone's features)
    negatives: int = 0              # negatives per positive, drawn at random; 0: all 2N - 2 of the batch

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"negatives", "proj_depth"}

    BUDGETS = {
        "quick": {"lr": 1.6e-2},
        # SimCLR's CIFAR-10 setting: LARS, lr 0.3 x batch/256, tau 0.5 (Chen et al., 2020, appendix B.9).
        "cuda": {"optimizer": "lars", "lr": BatchScaledLR(0.3), "weight_decay": 1e-6, "temperature": 0.5},
    }

    def validate(self) -> None:
        super().validate()
        need(self.temperature > 0, f"temperature={self.temperature}: the NT-Xent temperature must be > 0 "
             "(0.1 to 0.5 is the usual range)")
        need(not (self.negatives < 0 or (self.negatives and self.negatives > 2 * self.batch_size - 2)),
             f"negatives={self.negatives}: a batch of {self.batch_size} images has {2 * self.batch_size - 2} "
             f"negatives per positive; give 1 to {2 * self.batch_size - 2}, or 0 for all of them")


def nt_xent_loss(z1: torch.Tensor, z2: torch.Tensor, temperature: float = 0.5, negatives: int = 0) -> torch.Tensor:
    """Normalised temperature-scaled cross-entropy (NT-Xent), the SimCLR loss.

    ``z1``, ``z2``: ``(N, D)`` embeddings of the two views of the same ``N`` images (row ``i``
    of each is the same image). Returns a scalar: the cross-entropy of picking the other view
    of each of the ``2N`` embeddings among the ``2N - 1`` others, averaged over all ``2N``
    (so over both directions)::

        loss = - 1/(2N) sum_i log( exp(cos(z_i, z_j(i)) / tau) / sum_{k != i} exp(cos(z_i, z_k) / tau) )

    ``negatives=m > 0``: each row's sum runs over its positive and ``m`` negatives drawn uniformly
    without replacement (torch's random generator), not over all ``2N - 2``.
    """
    if temperature <= 0:
        raise ValueError(f"temperature={temperature}: NT-Xent needs a positive temperature")
    if z1.shape != z2.shape or z1.ndim != 2:
        raise ValueError(f"z1 and z2 must both be (N, D); got {tuple(z1.shape)} and {tuple(z2.shape)}")
    n = len(z1)
    if n < 2:
        raise ValueError(f"a batch of {n} pair(s) has no negatives: NT-Xent needs at least 2 images per batch")
    z = F.normalize(torch.cat([z1, z2]).float(), dim=1)
    logits = z @ z.T / temperature
    logits.fill_diagonal_(float("-inf"))                     # an embedding is not its own negative
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)]).to(z.device)
    if not negatives:
        return F.cross_entropy(logits, positives)
    if negatives > 2 * n - 2:
        raise ValueError(f"negatives={negatives}: a batch of {n} pairs has only {2 * n - 2} negatives per positive")
    rows = torch.arange(2 * n, device=z.device)
    draw = torch.rand(2 * n, 2 * n, device=z.device)
    draw[rows, rows] = -1.0                                  # never itself ...
    draw[rows, positives] = -1.0                             # ... nor its positive: m uniform others
    chosen = draw.topk(negatives, dim=1).indices
    kept = torch.cat([logits[rows, positives][:, None], logits.gather(1, chosen)], dim=1)
    return F.cross_entropy(kept, torch.zeros(2 * n, dtype=torch.long, device=z.device))  # the positive is column 0


class SimCLR(TwoViewMethod):
    """Backbone + projector; ``forward`` makes two views of a batch and returns the NT-Xent loss."""

    name = "simclr"
    distributed_ready = True  # its batch-coupled terms see the global batch under torchrun

    def forward(self, images: torch.Tensor, indices: torch.Tensor | None = None) -> dict[str, torch.Tensor]:
        z1, z2 = self.embed_views(images)
        # Under torchrun, every process's embeddings: the negatives span the global batch.
        z1, z2 = distributed.gather(z1), distributed.gather(z2)
        return {"loss": nt_xent_loss(z1, z2, self.config.temperature, self.config.negatives)}


# Hyperparameters the lab offers as sliders: name -> (min, max, step).
LAB_CONTROLS = {"temperature": (0.01, 2.0, 0.01), "batch_size": (8, 512, 8)}

build_model, train, main = cli.entry_points(SimCLR)

if __name__ == "__main__":
    raise SystemExit(main())
