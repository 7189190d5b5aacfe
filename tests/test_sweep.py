"""benchmarks/sweep.py and cookbook.report.load_sweep: a declared sweep is trained, kept and loaded."""
from __future__ import annotations

import json

import pytest

from cookbook import cache, registry, report


@pytest.fixture
def sweep_module(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import sweep

    return sweep


def test_a_declared_sweep_is_trained_and_kept_with_its_provenance(sweep_module, monkeypatch, tmp_path):
    monkeypatch.setitem(sweep_module.SWEEPS, "tiny", dict(
        recipe="simclr", shared={"steps": 3, "n_train": 128, "n_test": 64, "eval_bank": 128, "warmup_steps": 1},
        points={"hot": {"temperature": 1.0}, "cold": {"temperature": 0.1}}))
    assert sweep_module.main(["tiny", "--threads", "1", "--results", str(tmp_path)]) == 0
    kept = report.load_sweep("tiny", tmp_path)
    assert [p["label"] for p in kept["points"]] == ["hot", "cold"]
    assert kept["points"][0]["settings"] == {"temperature": 1.0}
    assert {"knn_acc", "rankme"} <= set(kept["points"][0]["before"]) and "loss" in kept["points"][0]["after"]
    assert kept["points"][0]["after"]["loss"] != kept["points"][1]["after"]["loss"]  # the settings reached the runs
    assert kept["training_digest"] == cache.training_digest(registry.get("simclr")) and kept["threads"] == 1
    assert report.by_label(kept)["cold"]["settings"] == {"temperature": 0.1}
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary file left behind


def test_an_unknown_sweep_is_refused_with_the_names_that_exist(sweep_module, tmp_path, capsys):
    with pytest.raises(SystemExit):
        sweep_module.main(["no-such-sweep", "--results", str(tmp_path)])
    assert "simclr-temperature-batch" in capsys.readouterr().err
    (tmp_path / "kept.json").write_text(json.dumps({"points": []}))
    with pytest.raises(FileNotFoundError, match="kept.*benchmarks/sweep.py missing"):
        report.load_sweep("missing", tmp_path)


def test_the_books_sweeps_were_trained_by_the_current_code():
    """Chapters draw these sweeps: a change to the code that trains a sweep's recipe must come with
    the sweep trained again."""
    stale = [path.stem for path in sorted(report.SWEEPS.glob("*.json"))
             if json.loads(path.read_text())["training_digest"]
             != cache.training_digest(registry.get(json.loads(path.read_text())["recipe"]))]
    assert not stale, f"run again: {'; '.join(f'python benchmarks/sweep.py {name}' for name in stale)}"
