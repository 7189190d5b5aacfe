"""Collapse on demand: switch a safeguard off and the embeddings collapse; leave it on and they do not.

Each case trains the same short probe run (cookbook.book.collapse) twice, with the recipe's
defaults and with one switch flipped, and compares the projector outputs on the test images.
The recipes of the other families keep their own collapse tests next to their loss tests.
"""
from __future__ import annotations

import functools

import pytest
import torch

from cookbook import registry
from cookbook.book.collapse import is_collapsed, train_and_probe


@functools.lru_cache(maxsize=None)
def probe(name: str, **overrides) -> dict[str, float]:
    return train_and_probe(registry.get(name), **overrides)


# (recipe, switch, probe settings shared by the default and the switched run). Dimensional collapse
# takes longer to set in than complete collapse, hence the longer runs for those.
SWITCHES = [
    ("simclr", {"temperature": 1000.0}, {}),    # softmax flat: only the mean similarity matters
    ("simclr", {"temperature": 0.002}, {}),     # softmax one-hot: gradients from the hardest pair only
    ("vicreg", {"std_coeff": 0.0}, {}),         # nothing keeps the spread: complete collapse
    ("vicreg", {"cov_coeff": 0.0}, {"steps": 400}),  # dimensions may copy each other: dimensional collapse
    ("barlow_twins", {"lambd": 0.0}, {"steps": 400, "lr": 1e-2}),  # no redundancy reduction
]


@pytest.mark.parametrize("name, switch, settings", SWITCHES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in s.items())}" for n, s, _ in SWITCHES])
def test_switch_collapses_and_default_does_not(name, switch, settings):
    default = probe(name, **settings)
    switched = probe(name, **settings, **switch)
    assert not is_collapsed(default), f"{name} collapsed with its defaults: {default}"
    assert is_collapsed(switched), f"{name} with {switch} did not collapse: {switched} (default: {default})"
    assert (default["rankme"] >= 2 * switched["rankme"]
            or default["mean_std"] >= 5 * switched["mean_std"]), (default, switched)


def test_vicreg_without_invariance_spreads_instead_of_collapsing():
    # sim_coeff=0 removes the only term that pulls embeddings together: the variance and covariance terms
    # alone are met by any spread-out embedding, so nothing collapses (and nothing is learned about views).
    default, switched = probe("vicreg"), probe("vicreg", sim_coeff=0.0)
    assert not is_collapsed(switched)
    assert switched["rankme"] > default["rankme"]


def test_compare_probes_every_variant_and_tabulates_them():
    from cookbook.book.collapse import compare, markdown_table

    rows = compare("simclr", {"default": {}, "hot": {"temperature": 1000.0}}, steps=4, warmup_steps=1,
                   n_train=128, n_test=64)
    assert [r["run"] for r in rows] == ["default", "hot"]
    assert all({"rankme", "mean_std", "loss", "collapsed"} <= set(r) for r in rows)
    assert rows[0]["loss"] != rows[1]["loss"]  # the override reached the run
    table = markdown_table(rows).splitlines()
    assert len(table) == 4 and table[2].startswith("| default | ") and f"{rows[1]['rankme']:.2f}" in table[3]


def test_the_probe_gives_the_same_numbers_whatever_the_callers_thread_count():
    from cookbook.book.collapse import probe_embeddings

    torch.set_num_threads(2)
    try:
        z_two, loss_two = probe_embeddings("simclr", steps=20, warmup_steps=2)
        assert torch.get_num_threads() == 2  # the caller's setting is restored
    finally:
        torch.set_num_threads(1)
    z_one, loss_one = probe_embeddings("simclr", steps=20, warmup_steps=2)
    assert torch.equal(z_two, z_one) and loss_two == loss_one


@pytest.fixture
def probe_workers_setting(monkeypatch):
    """Set COOKBOOK_PROBE_WORKERS for one test; the pool it makes is not kept for the next test."""
    from cookbook.book import collapse

    def use(value: str):
        monkeypatch.setenv("COOKBOOK_PROBE_WORKERS", value)
        collapse.probe_workers.cache_clear()

    yield use
    if collapse.probe_workers.cache_info().currsize:  # a pool was made: stop its processes
        workers = collapse.probe_workers()
        if workers is not None:
            workers.shutdown()
    collapse.probe_workers.cache_clear()


def test_probes_in_worker_processes_give_the_numbers_of_probes_in_this_process(probe_workers_setting):
    from cookbook.book.collapse import compare_embeddings

    variants = {"default": {}, "hot": {"temperature": 1000.0}}
    settings = dict(steps=6, warmup_steps=1, n_train=128, n_test=64)
    probe_workers_setting("0")
    here_rows, here_z = compare_embeddings("simclr", variants, **settings)
    probe_workers_setting("2")
    pool_rows, pool_z = compare_embeddings("simclr", variants, **settings)
    assert pool_rows == here_rows
    assert all(torch.equal(here_z[label], pool_z[label]) for label in variants)


def test_a_probe_worker_count_that_is_not_a_number_is_refused(probe_workers_setting):
    from cookbook.book.collapse import probe_workers

    probe_workers_setting("two")
    with pytest.raises(ValueError, match="whole number"):
        probe_workers()
