"""Small shared fixtures. Every test runs offline and on tiny configs (the whole suite is
meant to take about a minute on two CPU cores)."""
from __future__ import annotations

import socket
import sys
from pathlib import Path

import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # pyproject sets pythonpath; this keeps `pytest tests/x.py` from elsewhere working
    sys.path.insert(0, str(ROOT))

from cookbook import data as data_module  # noqa: E402
from recipes import simclr  # noqa: E402

# The tensors here are tiny: one thread avoids OpenMP hand-offs, which cost more than they save and get
# much worse when something else is using the two cores of a CI machine or laptop at the same time.
torch.set_num_threads(1)


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Tests never touch the network: any attempt to open a connection fails loudly."""
    def refuse(*args, **kwargs):
        raise RuntimeError("a test tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.fixture(autouse=True)
def no_run_cache(monkeypatch):
    """Every test trains for real: a run cached by an earlier test or a chapter is never served
    (tests/test_cache.py points COOKBOOK_CACHE at a folder of its own)."""
    monkeypatch.setenv("COOKBOOK_CACHE", "off")


@pytest.fixture(autouse=True)
def seeded():
    """Every test starts from the same global random state (augmentations draw from it)."""
    torch.manual_seed(0)
    yield


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def tiny_toy() -> data_module.ImageData:
    """64 training and 32 test toy images on the CPU (generated in a few milliseconds).

    Session-scoped: tests must not modify its tensors in place."""
    return data_module.make_toy(64, 32, seed=0)


def tiny_simclr_config(out=None, **overrides) -> simclr.Config:
    """The smallest SimCLR run that still exercises every part of the loop."""
    values = dict(steps=6, batch_size=16, n_train=64, n_test=32, eval_every=3, log_every=1, progress=False,
                  width=4, warmup_steps=1, proj_hidden_dim=32, proj_dim=16, device="cpu",
                  out=None if out is None else str(out))
    values.update(overrides)
    return simclr.Config.for_budget("quick", **values)


@pytest.fixture
def tiny_config():
    """A factory: ``tiny_config(out=tmp_path, temperature=0.3)`` -> a tiny ``simclr.Config``."""
    return tiny_simclr_config

