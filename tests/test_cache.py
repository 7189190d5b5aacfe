"""cookbook.cache: an identical run is reused; any other config, code or setting never is."""
from __future__ import annotations

import json

import pytest
import torch

from cookbook import cache
from recipes import simclr, vicreg


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COOKBOOK_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


def counting_trainer(result):
    calls = []

    def train():
        calls.append(1)
        return dict(result)

    return train, calls


CPU = torch.device("cpu")


def test_the_second_identical_run_comes_from_the_cache(cache_dir, tiny_config):
    train, calls = counting_trainer({"knn_acc": 0.5})
    first = cache.cached_run(simclr, tiny_config(), CPU, train)
    second = cache.cached_run(simclr, tiny_config(), CPU, train)
    assert len(calls) == 1 and "cached" not in first
    assert second == {"knn_acc": 0.5, "cached": True}
    assert len(list(cache_dir.glob("*.json"))) == 1


@pytest.mark.parametrize("changes", [{"temperature": 0.3}, {"seed": 1}, {"steps": 5}, {"lr": 1e-3}])
def test_a_run_with_any_other_setting_is_trained(cache_dir, tiny_config, changes):
    train, calls = counting_trainer({"knn_acc": 0.5})
    cache.cached_run(simclr, tiny_config(), CPU, train)
    cache.cached_run(simclr, tiny_config(**changes), CPU, train)
    assert len(calls) == 2


def test_other_augmentations_another_recipe_or_device_are_other_runs(tiny_config):
    base = cache.key(simclr, tiny_config(), CPU)
    other_views = tiny_config(augment=tiny_config().augment.replace(rotate_degrees=10.0))
    assert cache.key(simclr, other_views, CPU) != base
    assert cache.key(vicreg, tiny_config(), CPU) != base
    assert cache.key(simclr, tiny_config(), torch.device("cuda")) != base
    # How a run is watched does not change its numbers: same key.
    assert cache.key(simclr, tiny_config(progress=True, log_every=3), CPU) == base


def test_a_change_to_the_code_changes_the_key(tiny_config, monkeypatch):
    base = cache.key(simclr, tiny_config(), CPU)
    monkeypatch.setattr(cache, "_source_digest", lambda recipe: "edited")
    assert cache.key(simclr, tiny_config(), CPU) != base


def test_off_or_an_output_folder_always_trains(cache_dir, tiny_config, monkeypatch, tmp_path):
    train, calls = counting_trainer({"knn_acc": 0.5})
    cache.cached_run(simclr, tiny_config(out=tmp_path / "run"), CPU, train)
    cache.cached_run(simclr, tiny_config(out=tmp_path / "run"), CPU, train)
    monkeypatch.setenv("COOKBOOK_CACHE", "off")
    cache.cached_run(simclr, tiny_config(), CPU, train)
    cache.cached_run(simclr, tiny_config(), CPU, train)
    assert len(calls) == 4 and not cache_dir.exists()


def test_a_damaged_entry_is_trained_again_and_replaced(cache_dir, tiny_config):
    train, calls = counting_trainer({"knn_acc": 0.5})
    cache.cached_run(simclr, tiny_config(), CPU, train)
    (entry,) = cache_dir.glob("*.json")
    entry.write_text("{not json")
    assert cache.cached_run(simclr, tiny_config(), CPU, train) == {"knn_acc": 0.5}
    assert len(calls) == 2 and json.loads(entry.read_text()) == {"knn_acc": 0.5}
