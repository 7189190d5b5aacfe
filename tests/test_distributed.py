"""torchrun on CPU processes (gloo): N processes with batch B train what one process with batch N x B
trains, on the same images and views (cookbook.distributed)."""
from __future__ import annotations

import socket

import pytest
import torch
import torch.multiprocessing as mp

from cookbook import registry
from cookbook.augment import AugmentConfig
from cookbook.config import ConfigError
from cookbook.data import make_toy
from cookbook.run import prepare
from cookbook.train import Trainer

# Views that are the images themselves: N processes then see exactly the views one process sees
# (each process draws its own random views otherwise, as it should).
SAME_VIEWS = AugmentConfig(crop_min_scale=1.0, crop_ratio=(1.0, 1.0), flip_p=0.0, jitter_p=0.0, gray_p=0.0)
# SGD, not AdamW: Adam's first step moves every weight by about lr whatever the size of its gradient,
# so a gradient that is 0 up to rounding moves by +-lr on a sign flip; SGD's step keeps rounding small.
TINY = dict(n_train=64, n_test=16, width=4, proj_hidden_dim=32, proj_dim=16, steps=2, warmup_steps=1,
            eval_every=0, progress=False, out=None, device="cpu", augment=SAME_VIEWS, optimizer="sgd", lr=0.05)


# Multi-crop's small crops are random views too, and MoCo's queue is v2's: the equivalence is tested
# on MoCo v3 (negatives from the batch), and on SwAV and DINO with their two global crops.
OWN = {"moco": {"queue_size": 0}, "swav": {"n_local_crops": 0}, "dino": {"n_local_crops": 0}}


def one_step(recipe_name: str, batch_size: int) -> tuple[float, dict[str, torch.Tensor]]:
    """The loss of the first step and the parameters after it, in this process (a rank or alone)."""
    recipe = registry.get(recipe_name)
    config = recipe.Config.for_budget("quick", batch_size=batch_size, **TINY, **OWN.get(recipe_name, {}))
    data = make_toy(64, 16, seed=0)
    _, model = prepare(recipe, config, data)
    trainer = Trainer(model, data, config)
    loss = float(trainer.train_step()["loss"])
    return loss, {k: v.detach().clone() for k, v in trainer.model.state_dict().items()}


def _rank(rank: int, world: int, port: int, recipe_name: str, batch_size: int, out: str) -> None:
    import os

    import torch.distributed as dist

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        torch.save(one_step(recipe_name, batch_size), f"{out}/rank{rank}.pt")
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def free_port() -> int:
    with socket.socket() as s:  # binding is not connecting: the tests' network guard allows it
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("recipe_name", ["simclr", "vicreg", "barlow_twins", "byol", "moco", "swav", "dino"])
def test_two_processes_of_batch_b_train_what_one_process_of_batch_2b_does(recipe_name, tmp_path):
    torch.set_num_threads(1)
    alone_loss, alone = one_step(recipe_name, 32)
    # batch_size is the global batch: 32 over two processes is 16 images each
    mp.spawn(_rank, args=(2, free_port(), recipe_name, 32, str(tmp_path)), nprocs=2, join=True)
    ranks = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    for loss, params in ranks:
        assert loss == pytest.approx(alone_loss, rel=1e-5, abs=1e-6)
        for name, value in alone.items():
            torch.testing.assert_close(params[name], value, rtol=1e-4, atol=1e-5, msg=lambda m: f"{name}: {m}")
    for name in alone:  # and the two copies are one model
        assert torch.equal(ranks[0][1][name], ranks[1][1][name]), name


def test_a_global_batch_the_world_does_not_divide_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    recipe = registry.get("simclr")
    config = recipe.Config.for_budget("quick", batch_size=32, **TINY)
    with pytest.raises(ConfigError, match="WORLD_SIZE=3.*does not divide.*multiple of 3"):
        Trainer(prepare(recipe, config, make_toy(64, 16, seed=0))[1], make_toy(64, 16, seed=0), config)
