"""cookbook.book.comparison: chapter 16's reading of the tuning records (no training here)."""
import json

import pytest

from cookbook.book import claims, comparison


def record(tmp_path, toy, tuned):
    runs = [{"settings": settings, "seed": seed, "knn_acc": knn, "untrained_knn_acc": 0.5}
            for settings, values in (({}, toy), ({"lr": 0.001}, tuned)) for seed, knn in enumerate(values)]
    (tmp_path / "dino-digits.json").write_text(json.dumps({"runs": runs, "chosen": {"settings": {"lr": 0.001}}}))


def test_a_missing_tuning_record_names_the_command_that_writes_it(tmp_path, monkeypatch):
    monkeypatch.setattr(comparison, "TUNING", tmp_path)
    with pytest.raises(FileNotFoundError, match="benchmarks/tune_settings.py dino --dataset digits"):
        comparison.tuning("dino", "digits")


def test_tuning_findings_word_each_seed_and_fail_when_a_verdict_no_longer_holds(tmp_path, monkeypatch):
    monkeypatch.setattr(comparison, "TUNING", tmp_path)
    monkeypatch.setattr(comparison, "TUNED_VERDICTS", {"dino": ("no difference", "higher")})
    record(tmp_path, toy=(0.2, 0.3, 0.52), tuned=(0.6, 0.7, 0.65))
    comparison.tuning_findings("digits")
    toy, tuned = claims.LEDGER[-2:]
    assert "1 of its 3 seeds ends above their own untrained network (by -30.0 to +2.0 points)" in toy["sentence"]
    assert "with lr=0.001 is above its untrained network" in tuned["sentence"] and tuned["holds"]
    record(tmp_path, toy=(0.2, 0.3, 0.52), tuned=(0.45, 0.7, 0.65))  # a retrain whose tuned range reaches 0.5
    with pytest.raises(claims.ClaimFailed, match="the data say 'no difference'"):
        comparison.tuning_findings("digits")
