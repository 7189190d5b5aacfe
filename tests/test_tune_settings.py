"""benchmarks/tune_settings.py: how a measured grid becomes a table and a choice (no training here)."""
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))
import tune_settings  # noqa: E402


def run(settings, seed, knn, untrained=0.5):
    return {"settings": settings, "seed": seed, "knn_acc": knn, "untrained_knn_acc": untrained,
            "raw_pixel_knn_acc": 0.9, "train_s": 10.0}


def test_a_lucky_single_seed_does_not_outrank_three_seeds_that_held():
    runs = [run({"lr": 1}, 0, 0.80)] + [run({"lr": 2}, s, k) for s, k in enumerate((0.70, 0.72, 0.74))]
    chosen = tune_settings.choose(tune_settings.summarise(runs))
    assert chosen["settings"] == {"lr": 2} and chosen["seeds"] == [0, 1, 2]


def test_a_setting_with_one_seed_below_its_untrained_network_is_never_chosen():
    runs = ([run({"lr": 1}, s, k) for s, k in enumerate((0.9, 0.9, 0.4))]
            + [run({"lr": 2}, s, 0.6) for s in range(3)])
    rows = tune_settings.summarise(runs)
    assert [r["beats_untrained"] for r in rows] == [False, True]  # sorted by mean: lr 1 (0.73) first
    assert tune_settings.choose(rows)["settings"] == {"lr": 2}


def test_when_nothing_learns_the_table_says_so_and_nothing_is_chosen():
    rows = tune_settings.summarise([run({}, 0, 0.3), run({"lr": 2}, 0, 0.4)])
    assert tune_settings.choose(rows) is None
    text = tune_settings.markdown("dino", "digits", rows, None, "python benchmarks/tune_settings.py dino")
    assert "nothing is chosen" in text and "| current | 0 | 30.0% (30.0%-30.0%) | 50.0% | 90.0% | no | 10 |" in text
