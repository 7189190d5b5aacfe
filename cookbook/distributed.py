"""One model trained by N processes (``torchrun``): the process group, and the collectives that make
N processes with batch B train exactly what one process with batch N x B trains.

The recipe (Cookbook, section 3.8): every process holds the same model and takes its own slice of
the global batch. Three things keep the N copies one model:

- **the gradients are averaged** over the processes after every backward pass
  (:func:`average_gradients`), so every copy takes the same step;
- **losses that couple the images of a batch see the global batch**: the embeddings are gathered
  from every process *with their gradients* (:func:`gather`), and each process computes the loss of
  the whole batch. SimCLR's negatives then span the global batch, and VICReg's variance and
  covariance are the global batch's;
- **BatchNorm normalises over the global batch** (:class:`GlobalBatchNorm`: the sums it needs are
  all-reduced, with their gradients), as one process with the whole batch would.

Why this is exact: every process computes the same global loss L. The backward pass of the gather
sums, for each process's embeddings, the gradients that all N copies of L send back, N times
dL/dz; averaging the parameters' gradients over the N processes divides the N back out.

On one process (no ``WORLD_SIZE``, or 1) every function here is the identity and nothing is
initialised: a single-process run computes exactly what it always did.
"""
from __future__ import annotations

import contextlib
import datetime
import os
import warnings

import torch
import torch.distributed as dist
from torch import nn

from . import ConfigError


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process, from torchrun's environment (``(0, 1)`` alone)."""
    return int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1))


def active() -> bool:
    """Whether this process is one of several training one model."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def gather(x: torch.Tensor, dim: int = 0) -> torch.Tensor:
    """Every process's ``x`` (same shape on each), concatenated along ``dim`` (the images' dimension)
    in rank order, with gradients flowing back to each process's own ``x``. ``x`` itself alone."""
    if not active():
        return x
    with _public_collectives():
        from torch.distributed.nn.functional import all_gather

        return torch.cat(all_gather(x.contiguous()), dim=dim)


def all_reduce_sum(x: torch.Tensor) -> torch.Tensor:
    """The sum of ``x`` over the processes, differentiable (the backward pass sums the gradients)."""
    if not active():
        return x
    with _public_collectives():
        from torch.distributed.nn.functional import all_reduce

        return all_reduce(x)


def from_rank0(x):
    """Rank 0's ``x`` on every process: a random draw that must be the same everywhere (LeJEPA's
    directions, W-MSE's split, I-JEPA's blocks), drawn by rank 0 and shared. A tensor keeps its
    shape and device; anything else (a tuple of index tensors) is pickled across. ``x`` alone."""
    if not active():
        return x
    if isinstance(x, torch.Tensor):
        x = x.contiguous()
        dist.broadcast(x, src=0)
        return x
    box = [x]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def mean_over_processes(values: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The logged scalars averaged over the processes (one all-reduce of them all): what rank 0
    prints is the global batch's, also for the losses that each process averages over its own images."""
    if not active() or not values:
        return values
    stacked = torch.stack([v.reshape(()) for v in values.values()])
    dist.all_reduce(stacked)
    return dict(zip(values, stacked / dist.get_world_size()))


@contextlib.contextmanager
def _public_collectives():
    """torch deprecates ``torch.distributed.nn.functional`` in favour of a private module
    (``_functional_collectives``); the public, differentiable one is used knowingly, so its
    FutureWarning is not repeated by every process at every step."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=FutureWarning, message=r"torch\.distributed\.nn\.functional")
        yield


class PeerLost(RuntimeError):
    """Another process of the run stopped: the survivors stop too, with a message, instead of hanging."""

    def __init__(self, rank: int, world_size: int, step: int, cause: BaseException):
        super().__init__(f"process {rank} of {world_size} lost its peers at step {step} ({type(cause).__name__}: "
                         f"{str(cause).splitlines()[0][:200]}): another process of this run stopped or died, so "
                         f"this one stops too. Run the same torchrun command again: it resumes from the last "
                         f"checkpoint (out=...), on any number of processes that divides the global batch.")


def is_peer_failure(error: BaseException) -> bool:
    """Whether ``error`` is a collective failing because another process went away: NCCL's and
    gloo's backend errors (gloo's are plain RuntimeErrors that name it)."""
    backend_error = getattr(dist, "DistBackendError", ())
    return isinstance(error, backend_error) or any(word in str(error) for word in ("gloo", "NCCL", "Connection closed"))


@torch.no_grad()
def average_gradients(model: nn.Module) -> None:
    """Replace every parameter's gradient by its mean over the processes (one all-reduce of them all)."""
    if not active():
        return
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= dist.get_world_size()
    for g, value in zip(grads, flat.split([g.numel() for g in grads])):
        g.copy_(value.view_as(g))


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """BatchNorm whose training statistics are those of the global batch, on CPUs and GPUs alike
    (torch's ``SyncBatchNorm`` runs on GPUs only, and the equivalence tests run on CPU processes).
    Each process all-reduces the sum, the sum of squares and the count of its activations; the
    backward pass all-reduces their gradients. Alone, or in eval mode, it is plain BatchNorm."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (self.training and active()):
            return super().forward(x)
        dims = [0] + list(range(2, x.ndim))
        shape = [1, -1] + [1] * (x.ndim - 2)
        channels = x.shape[1]
        local = torch.cat([x.sum(dims), x.square().sum(dims),
                           torch.tensor([x.numel() / channels], dtype=x.dtype, device=x.device)])
        total = all_reduce_sum(local)
        count = total[-1]
        mean = total[:channels] / count
        var = total[channels:2 * channels] / count - mean.square()
        if self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                m = self.momentum if self.momentum is not None else 0.1
                self.running_mean.mul_(1 - m).add_(mean.detach(), alpha=m)
                self.running_var.mul_(1 - m).add_(var.detach() * count / (count - 1), alpha=m)
                self.num_batches_tracked += 1
        y = (x - mean.view(shape)) * torch.rsqrt(var.view(shape) + self.eps)
        if self.affine:
            y = y * self.weight.view(shape) + self.bias.view(shape)
        return y

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.ndim < 2:
            raise ValueError(f"GlobalBatchNorm expects (N, C, ...) input, got shape {tuple(x.shape)}")


def global_batch_norm(module: nn.Module) -> nn.Module:
    """``module`` with every BatchNorm layer replaced by a :class:`GlobalBatchNorm` holding the same
    parameters and running statistics (what ``nn.SyncBatchNorm.convert_sync_batchnorm`` does for GPUs)."""
    if isinstance(module, nn.modules.batchnorm._BatchNorm) and not isinstance(module, GlobalBatchNorm):
        converted = GlobalBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                    module.track_running_stats).to(next(iter(module.buffers()), torch.empty(0)).device)
        converted.load_state_dict(module.state_dict())
        return converted
    for name, child in module.named_children():
        setattr(module, name, global_batch_norm(child))
    return module


def start(device: torch.device, backend: str = "auto", timeout_s: float = 120.0) -> tuple[int, int]:
    """Join the process group torchrun describes (``RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...), once;
    ``(rank, world_size)``. ``backend``: ``auto`` (NCCL on GPUs, gloo on CPUs), ``nccl`` or ``gloo``.
    A process that waits longer than ``timeout_s`` for the others (one died) stops with an error
    instead of hanging."""
    rank, size = world()
    if size <= 1:
        return rank, size
    if backend == "auto":
        backend = "nccl" if device.type == "cuda" else "gloo"
    if backend == "nccl" and device.type != "cuda":
        raise ConfigError(f"backend nccl needs GPUs, and this run trains on {device}: use gloo on CPUs "
                          "(or leave the backend on auto)")
    if backend not in ("nccl", "gloo"):
        raise ConfigError(f"backend {backend!r}: choose auto, nccl or gloo")
    if not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend, timeout=datetime.timedelta(seconds=timeout_s))
    return rank, size
