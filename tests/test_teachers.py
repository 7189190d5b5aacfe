"""cookbook.book.teachers: DINO's teacher read from its distribution, and the collapse probes' kinds of collapse."""
import math

import pytest
import torch

from cookbook.book import collapse, teachers


def test_the_three_teachers_fall_in_their_corners():
    k = 64
    one_hot = torch.zeros(200, k)
    one_hot[:, 3] = 1.0  # every image picks prototype 3
    confident = 10 * torch.eye(k)[torch.arange(200) % k]  # each image its own prototype, all used
    flat = 1e-4 * torch.randn(200, k)  # logits nearly equal: a uniform teacher at any temperature
    rows = teachers.of_logits({"one": one_hot, "confident": confident, "flat": flat}, 0.04, {"flat": 0.1})
    assert [rows[name]["teacher"] for name in ("one", "confident", "flat")] == ["one prototype", "confident", "uniform"]
    assert rows["flat"]["temperature"] == 0.1 and rows["one"]["temperature"] == 0.04
    assert rows["flat"][teachers.PER_IMAGE] == pytest.approx(1.0, abs=1e-3)
    assert rows["flat"][teachers.TOP] == pytest.approx(1 / k, rel=1e-2)
    assert rows["confident"][teachers.AVERAGE] == pytest.approx(1.0, abs=1e-2)  # every prototype used
    assert rows["one"][teachers.TOP] == pytest.approx(1.0) and rows["one"][teachers.AVERAGE] < teachers.ONE_PROTOTYPE
    unsure = {teachers.AVERAGE: 0.9, teachers.PER_IMAGE: 0.9, teachers.TOP: 0.1}
    assert teachers.kind(unsure) == "unsure"


def test_probes_carry_the_rules_verdict_and_the_loss_over_log_k():
    rows = [{"run": "a", "collapsed": False, "loss": math.log(8)}, {"run": "b", "collapsed": True, "loss": 0.0}]
    table = teachers.of_probes(rows, {"a": torch.randn(10, 8), "b": torch.randn(10, 8)}, 0.1)
    assert [(r["run"], r["collapsed?"], r[teachers.LOSS]) for r in table] == [("a", "no", 1.0), ("b", "yes", 0.0)]


def test_a_runs_logged_entropies_at_its_first_last_lowest_and_highest_steps():
    history = [{"step": s, "loss": 1.0, "teacher_entropy": h, "teacher_batch_entropy": 4.0}
               for s, h in ((10, 3.0), (20, 4.0), (30, 1.0), (40, 2.0))] + [{"step": 40, "knn_acc": 0.3}]
    trace = teachers.logged({"history": history, "config": {"out_dim": 64}})
    assert [row["step"] for row in trace] == [10, 20, 30, 40]
    assert trace[2][teachers.PER_IMAGE] == pytest.approx(1.0 / math.log(64))
    with pytest.raises(ValueError, match="only DINO"):
        teachers.logged({"method": "byol", "history": [{"step": 1, "loss": 0.1}], "config": {}})


def test_the_kind_of_collapse_and_the_collapsed_probes_losses():
    report = {"dim": 100, "std_if_uniform": 0.1}
    assert collapse.collapse_kind({**report, "rankme": 20.0, "mean_std": 0.09}) is None
    assert collapse.collapse_kind({**report, "rankme": 2.2, "mean_std": 0.07}) == "dimensionally"
    assert collapse.collapse_kind({**report, "rankme": 2.2, "mean_std": 0.005}) == "completely"
    reports = [{**report, "rankme": r, "mean_std": s} for r, s in ((20.0, 0.09), (2.2, 0.07), (2.2, 0.005))]
    assert [collapse.kind(r) for r in reports] == [None, "dimensional", "complete"]
    rows = [{"run": "default", "loss": 0.7, "collapsed": False}, {"run": "off", "loss": 0.01, "collapsed": True},
            {"run": "other", "loss": 0.9, "collapsed": False}]
    assert collapse.collapsed_losses({"BYOL": rows}) == {"BYOL, off": (0.01, 0.7)}
