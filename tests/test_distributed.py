"""torchrun on CPU processes (gloo): N processes with batch B train what one process with batch N x B
trains, on the same images and views (cookbook.distributed)."""
from __future__ import annotations

import dataclasses
import socket
from pathlib import Path

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
# W-MSE whitens one sub-batch of the whole global batch (its random split then cannot differ), and
# RotNet shows all four rotations (no random one per image).
OWN = {"moco": {"queue_size": 0}, "swav": {"n_local_crops": 0}, "dino": {"n_local_crops": 0},
       "wmse": {"w_size": 32, "w_iter": 1}, "rotnet": {"all_rotations": True}}
EXACT = ["simclr", "vicreg", "barlow_twins", "byol", "moco", "swav", "dino", "simsiam", "nnclr", "wmse", "lejepa",
         "rotnet", "diet"]
# Random draws made inside the step (MAE's masks per image, the relative-position patches' jitter, I-JEPA's
# blocks) are the processes' own or rank 0's, not what one process would draw: for these, the test is that
# the processes still hold one model.
ONE_MODEL = ["mae", "jigsaw", "ijepa"]


def fixed_directions(dim: int, num_slices: int, device=None) -> torch.Tensor:
    """SIGReg's directions from a fixed seed, so that one process and rank 0 of two draw the same."""
    directions = torch.randn(dim, num_slices, generator=torch.Generator().manual_seed(0)).to(device)
    return directions / directions.norm(dim=0)


def one_step(recipe_name: str, batch_size: int) -> tuple[float, dict[str, torch.Tensor]]:
    """The loss of the first step and the parameters after it, in this process (a rank or alone)."""
    recipe = registry.get(recipe_name)
    known = {f.name for f in dataclasses.fields(recipe.Config)}  # the pretext tasks have no projector
    tiny = {k: v for k, v in TINY.items() if k in known}
    config = recipe.Config.for_budget("quick", batch_size=batch_size, **tiny, **OWN.get(recipe_name, {}))
    data = make_toy(64, 16, seed=0)
    _, model = prepare(recipe, config, data)
    trainer = Trainer(model, data, config)
    drawn = getattr(recipe, "random_directions", None)
    if drawn is not None:
        recipe.random_directions = fixed_directions
    try:
        loss = float(trainer.train_step()["loss"])
    finally:
        if drawn is not None:
            recipe.random_directions = drawn
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


@pytest.mark.parametrize("recipe_name", EXACT)
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


@pytest.mark.parametrize("recipe_name", ONE_MODEL)
def test_recipes_with_random_draws_in_the_step_keep_one_model_over_two_processes(recipe_name, tmp_path):
    mp.spawn(_rank, args=(2, free_port(), recipe_name, 32, str(tmp_path)), nprocs=2, join=True)
    (loss0, params0), (loss1, params1) = (torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2))
    assert loss0 == loss1 and torch.isfinite(torch.tensor(loss0))  # the logged loss is the processes' mean
    alone = one_step(recipe_name, 32)[1]
    moved = [name for name in params0 if params0[name].is_floating_point()
             and not torch.equal(params0[name], alone[name])]
    assert moved, "the two-process step should differ from one process's only through its own random draws"
    for name in params0:
        assert torch.equal(params0[name], params1[name]), name


def test_a_global_batch_the_world_does_not_divide_is_refused(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "3")
    recipe = registry.get("simclr")
    config = recipe.Config.for_budget("quick", batch_size=32, **TINY)
    with pytest.raises(ConfigError, match="WORLD_SIZE=3.*does not divide.*multiple of 3"):
        Trainer(prepare(recipe, config, make_toy(64, 16, seed=0))[1], make_toy(64, 16, seed=0), config)


def test_nccl_on_a_cpu_is_refused_before_any_process_group(monkeypatch):
    from cookbook import distributed

    recipe = registry.get("simclr")
    with pytest.raises(ConfigError, match="nccl.*needs GPUs.*gloo"):
        recipe.Config.for_budget("quick", **{**TINY, "backend": "nccl"})
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="nccl needs GPUs"):
        distributed.start(torch.device("cpu"), "nccl")
    with pytest.raises(ConfigError, match="choose auto, nccl or gloo"):
        distributed.start(torch.device("cpu"), "mpi")


# ----------------------------------------------------------------------------- processes that stop

def _job(rank: int, world: int, port: int, job: str, args: tuple) -> None:
    import os
    import traceback

    import torch.distributed as dist

    os.environ.update(RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                      MASTER_PORT=str(port))
    torch.set_num_threads(1)
    try:
        globals()[job](rank, *args)
    except Exception as error:  # the parent reads what each rank ended with
        (Path(args[0]) / f"rank{rank}.error").write_text(f"{type(error).__name__}: {error}\n{traceback.format_exc()}")
        raise
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def _train(rank: int, out: str, steps: int, stop_at: int | None = None, die_at: int | None = None) -> None:
    import os

    recipe = registry.get("simclr")
    config = recipe.Config.for_budget("quick", batch_size=32, **{**TINY, "steps": steps, "out": out,
                                                                  "checkpoint_every": 2, "log_every": 1})
    data = make_toy(64, 16, seed=0)
    _, model = prepare(recipe, config, data)
    trainer = Trainer(model, data, config)
    for record in trainer.run():
        if die_at is not None and rank == 1 and record["step"] == die_at:
            os._exit(3)  # a process killed mid-run: no cleanup, no goodbye
        if stop_at is not None and record["step"] == stop_at:
            return  # interrupted after the checkpoint of stop_at


def processes(world: int, job: str, *args, timeout: float = 120.0) -> list[int]:
    """Run ``job`` on ``world`` fresh processes; their exit codes, each waited for at most ``timeout``."""
    from pathlib import Path as _Path  # noqa: F401  (the children import this module)

    context = mp.get_context("spawn")
    port = free_port()
    ranks = [context.Process(target=_job, args=(r, world, port, job, args)) for r in range(world)]
    for process in ranks:
        process.start()
    codes = []
    for process in ranks:
        process.join(timeout)
        if process.is_alive():
            process.kill()
            process.join()
            codes.append(None)  # hung: killed by the test
        else:
            codes.append(process.exitcode)
    return codes


def test_an_interrupted_two_process_run_resumes_to_the_same_model(tmp_path):
    whole, halves = tmp_path / "whole", tmp_path / "halves"
    assert processes(2, "_train", str(whole), 4) == [0, 0]
    assert processes(2, "_train", str(halves), 4, 2) == [0, 0]  # stopped after step 2's checkpoint
    assert torch.load(halves / "checkpoint.pt", weights_only=True)["step"] == 2
    assert processes(2, "_train", str(halves), 4) == [0, 0]  # the same command again: resumes, finishes
    a, b = (torch.load(folder / "checkpoint.pt", weights_only=True) for folder in (whole, halves))
    assert a["step"] == b["step"] == 4
    for name, value in a["model"].items():
        torch.testing.assert_close(b["model"][name], value, msg=lambda m: f"{name}: {m}")


def test_a_two_process_checkpoint_resumes_on_one_process_and_refuses_three(tmp_path, monkeypatch, capsys):
    from cookbook.run import preflight

    assert processes(2, "_train", str(tmp_path), 4, 2) == [0, 0]
    recipe = registry.get("simclr")
    config = recipe.Config.for_budget("quick", batch_size=32, **{**TINY, "steps": 4, "out": str(tmp_path),
                                                                  "checkpoint_every": 2, "log_every": 1})
    monkeypatch.setenv("WORLD_SIZE", "3")
    with pytest.raises(ConfigError, match=r"WORLD_SIZE=3 processes, and 3 does not divide it.*checkpoint in "
                                          r".* resume it on 1, 2, 4, 8, 16 or 32 processes.*--no-resume"):
        preflight(config)
    monkeypatch.delenv("WORLD_SIZE")
    data = make_toy(64, 16, seed=0)
    trainer = Trainer(prepare(recipe, config, data)[1], data, config)
    assert trainer.step == 2 and "resuming a run of 2 process(es) on 1" in capsys.readouterr().err
    list(trainer.run())
    assert trainer.step == 4 and torch.isfinite(torch.tensor(trainer.history[-1]["loss"]))


def test_when_a_process_dies_the_others_stop_with_a_message_and_nothing_hangs(tmp_path):
    codes = processes(2, "_train", str(tmp_path), 6, None, 3, timeout=90)
    assert codes[1] == 3 and codes[0] not in (None, 0), f"exit codes {codes}: rank 0 should stop with an error"
    message = (tmp_path / "rank0.error").read_text()
    assert "PeerLost" in message and "another process of this run stopped" in message and "resumes" in message


def test_a_recipe_not_yet_made_for_several_processes_is_refused_under_torchrun(monkeypatch):
    monkeypatch.setenv("WORLD_SIZE", "2")
    recipe = registry.get("simclr")
    config = recipe.Config.for_budget("quick", batch_size=32, **TINY)
    data = make_toy(64, 16, seed=0)
    model = prepare(recipe, config, data)[1]
    model.distributed_ready = False  # a new recipe, before its batch-coupled terms see the global batch
    with pytest.raises(ConfigError, match="simclr cannot train across processes yet.*as one process"):
        Trainer(model, data, config)
    assert all(_model_class(name).distributed_ready for name in registry.names())
    assert sorted(EXACT + ONE_MODEL) == sorted(registry.names())


def _model_class(name: str):
    recipe = registry.get(name)
    return next(v for v in vars(recipe).values() if isinstance(v, type) and getattr(v, "name", None) == name)
