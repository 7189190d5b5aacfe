"""benchmarks/tune_quick.py: the learning rate it chooses, from measured runs (measure is faked here)."""
from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "tune_quick.py"


@pytest.fixture
def tune_quick(monkeypatch):
    spec = importlib.util.spec_from_file_location("tune_quick", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def fake_measure(knn_by_factor):
    """A measure() whose kNN accuracy depends on lr / SimCLR's current quick lr, as given."""
    from recipes import simclr

    current = simclr.Config.for_budget("quick").lr

    def measure(name, dataset, lr):
        return {"lr": lr, "knn_acc": knn_by_factor[round(lr / current, 6)], "rankme": 10.0,
                "untrained_knn_acc": 0.1, "train_s": 1.0, "steps": 10}
    return measure


def current_lr():
    from recipes import simclr

    return simclr.Config.for_budget("quick").lr


def test_a_clear_winner_replaces_the_current_rate(tune_quick, monkeypatch):
    monkeypatch.setattr(tune_quick, "measure", fake_measure({0.5: 0.50, 1.0: 0.52, 2.0: 0.60}))
    result = tune_quick.tune("simclr", [0.5, 1.0, 2.0], None)
    assert result["current_lr"] == pytest.approx(current_lr())
    assert result["chosen_lr"] == pytest.approx(2 * current_lr())
    assert [row["factor"] for row in result["grid"]] == [0.5, 1.0, 2.0]


def test_a_win_within_the_margin_keeps_the_current_rate(tune_quick, monkeypatch):
    monkeypatch.setattr(tune_quick, "measure", fake_measure({0.5: 0.50, 1.0: 0.52, 2.0: 0.523}))
    assert tune_quick.tune("simclr", [0.5, 1.0, 2.0], None)["chosen_lr"] == pytest.approx(current_lr())


def test_bad_factors_are_refused_with_a_message(tune_quick, capsys):
    with pytest.raises(SystemExit):
        tune_quick.main(["--factors", "0,1"])
    assert "every factor must be > 0" in capsys.readouterr().err


def test_a_second_call_extends_the_grid_instead_of_repeating_it(tune_quick, monkeypatch):
    monkeypatch.setattr(tune_quick, "measure", fake_measure({0.5: 0.50, 1.0: 0.52, 2.0: 0.45}))
    first = tune_quick.tune("simclr", [0.5, 1.0, 2.0], None)
    measured = []
    monkeypatch.setattr(tune_quick, "measure", lambda name, dataset, lr: measured.append(lr) or
                        fake_measure({0.25: 0.60})(name, dataset, lr))
    second = tune_quick.tune("simclr", [0.25], None, first)
    assert measured == [pytest.approx(current_lr() / 4)]
    assert [row["factor"] for row in second["grid"]] == [0.25, 0.5, 1.0, 2.0]
    assert second["chosen_lr"] == pytest.approx(current_lr() / 4)
