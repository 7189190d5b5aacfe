"""cookbook.book.cache: an identical run is reused; any other config, code or setting never is."""
from __future__ import annotations

import json

import pytest
import torch

from cookbook import registry
from cookbook.book import cache, report
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
    monkeypatch.setattr(cache, "training_digest", lambda recipe: "edited")
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


def commit(results, recipe_name, config, digest, device="cpu", label="quick"):
    """A committed benchmark run as benchmarks/recipes_table.py keeps it: <label>/<recipe>/."""
    run = results / label / recipe_name
    run.mkdir(parents=True)
    (run / "metrics.json").write_text(json.dumps({"method": recipe_name, "knn_acc": 0.7, "device": device,
                                                  "config": config.to_dict()}, default=str))
    (run / "timing.json").write_text(json.dumps({"process_s": 40.0, "machine": "a test", "date": "2026-12-04",
                                                 "training_digest": digest}))
    return run


def test_a_committed_run_is_served_only_for_the_same_settings_code_and_device(cache_dir, tiny_config, tmp_path):
    results = tmp_path / "results"
    commit(results, "simclr", tiny_config(out="/elsewhere", progress=False), cache.training_digest(simclr))
    served = cache.committed_run(simclr, tiny_config(), CPU, results)
    assert served["knn_acc"] == 0.7 and served["committed"]["folder"] == "quick/simclr"
    assert served["committed"]["machine"] == "a test"
    assert cache.committed_run(simclr, tiny_config(temperature=0.3), CPU, results) is None
    assert cache.committed_run(simclr, tiny_config(seed=1), CPU, results) is None
    assert cache.committed_run(simclr, tiny_config(), torch.device("cuda"), results) is None
    assert cache.committed_run(vicreg, tiny_config(), CPU, results) is None          # another recipe's folder
    assert cache.committed_run(simclr, tiny_config(out=tmp_path / "run"), CPU, results) is None


def test_a_committed_run_from_older_code_is_never_served(cache_dir, tiny_config, tmp_path, monkeypatch):
    results = tmp_path / "results"
    commit(results, "simclr", tiny_config(), cache.training_digest(simclr))
    monkeypatch.setattr(cache, "training_digest", lambda recipe: "the loss was edited since")
    assert cache.committed_run(simclr, tiny_config(), CPU, results) is None


def test_cached_run_serves_a_committed_run_before_training(cache_dir, tiny_config, tmp_path, monkeypatch):
    monkeypatch.setattr(cache, "RESULTS", tmp_path / "results")
    commit(tmp_path / "results", "simclr", tiny_config(), cache.training_digest(simclr))
    train, calls = counting_trainer({"knn_acc": 0.5})
    assert cache.cached_run(simclr, tiny_config(), CPU, train)["knn_acc"] == 0.7 and not calls
    monkeypatch.setenv("COOKBOOK_CACHE", "off")  # off trains every run, committed ones too
    assert cache.cached_run(simclr, tiny_config(), CPU, train) == {"knn_acc": 0.5} and calls


def test_the_books_committed_quick_runs_were_trained_by_the_current_code():
    """Chapters show these runs (cookbook.book.chapter.train): a change to the code that trains a recipe
    must come with its run trained again, or the book would print numbers the code no longer makes."""
    stale = []
    runs = sorted(report.RESULTS.glob("*/*/timing.json"))
    assert {run.parent.parent.name for run in runs} >= {"quick", "digits-quick"}
    for run in runs:
        name = run.parent.name
        if json.loads(run.read_text()).get("training_digest") != cache.training_digest(registry.get(name)):
            stale.append(name)
    assert not stale, (f"the committed quick runs of {', '.join(stale)} were trained by older code: run "
                       f"`python benchmarks/recipes_table.py --recipes {','.join(stale)} --rerun`")
