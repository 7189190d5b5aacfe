"""cookbook.book.chapter: the helpers the chapters share."""
import pytest
import torch

from cookbook import data as data_module
from cookbook.book import chapter


def test_first_image_of_each_takes_the_first_training_image_of_each_class_in_order():
    toy = data_module.load("toy", n_train=64, n_test=16)
    images = chapter.first_image_of_each(toy, "ring", "cross")
    assert images.shape == (2, 3, 32, 32) and images.dtype == torch.uint8
    first_ring = (toy.train_y == toy.classes.index("ring")).nonzero()[0, 0]
    assert torch.equal(images[0], toy.train_x[first_ring])
    with pytest.raises(ValueError, match="no class 'hexagon'"):
        chapter.first_image_of_each(toy, "hexagon")


def test_short_run_table_shows_chance_and_says_what_rose(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr(chapter, "markdown", shown.append)
    before = {"knn_acc": 0.20, "rankme": 30.0, "dim": 128, "mean_std": 0.05, "std_if_uniform": 0.0884}
    after = {"loss": 1.386, "rotation_acc": 0.25, "knn_acc": 0.18, "rankme": 40.0, "dim": 128,
             "mean_std": 0.0884, "std_if_uniform": 0.0884}
    chapter.short_run_table({"no up": {"before": before, "after": after}}, "rotation_acc", 4)
    header, _, row = shown[0].splitlines()
    assert "ln 4 = 1.386" in header and "chance 25.0%" in header
    assert row == "| no up | 1.386 | 25.0% | 20.0% → 18.0% | 30.0 → 40.0 / 128 | 0.57 → 1.00 |"
    assert capsys.readouterr().out.strip() == ("no up: the final loss is 100.0% of ln 4; kNN accuracy fell by 2.0 "
                                              "points (20.0% -> 18.0%); RankMe rose (30.0 -> 40.0)")


def test_table_uses_the_keys_as_header_formats_numbers_and_right_aligns_them(monkeypatch):
    shown = []
    monkeypatch.setattr(chapter, "markdown", shown.append)
    chapter.table([{"embedding": "spread", "RankMe": 15.234, "n": 64},
                   {"embedding": "squeezed", "RankMe": 2.01, "n": 64}], {"RankMe": ".1f"})
    assert shown[0].splitlines() == ["| embedding | RankMe | n |", "|---|---:|---:|",
                                     "| spread | 15.2 | 64 |", "| squeezed | 2.0 | 64 |"]


def test_model_from_checkpoint_rebuilds_the_trained_model_and_refuses_a_run_without_one(tmp_path):
    from cookbook.checkpoint import load_checkpoint
    from cookbook.config import ConfigError
    from cookbook.run import run_recipe
    from recipes import mae

    config = mae.Config.for_budget("quick", steps=2, batch_size=16, n_train=64, n_test=16, vit_dim=16, vit_depth=1,
                                   vit_heads=2, decoder_dim=8, decoder_depth=1, decoder_heads=2, eval_every=0,
                                   eval_bank=64, progress=False, device="cpu", out=str(tmp_path / "run"))
    with pytest.raises(ConfigError, match="holds no checkpoint.pt"):
        chapter.model_from_checkpoint(mae, config)
    run_recipe(mae, config)
    data, model = chapter.model_from_checkpoint("mae", config)
    saved = load_checkpoint(tmp_path / "run" / "checkpoint.pt")["model"]
    assert len(data.test_x) == 16 and isinstance(model, mae.MAE)
    assert all(torch.equal(value, saved[name]) for name, value in model.state_dict().items())


def test_train_with_quick_false_skips_only_the_quick_budget_and_says_so(monkeypatch, capsys):
    trained = []
    monkeypatch.setattr(chapter, "run_recipe", lambda recipe, config: trained.append(config) or {"steps": config.steps})
    monkeypatch.setattr(chapter, "budget", lambda: "quick")
    assert chapter.train("byol", quick=False) is None and not trained
    assert "byol: not trained here on the quick budget" in capsys.readouterr().out
    monkeypatch.setattr(chapter, "budget", lambda: "cpu")
    from recipes import byol
    assert chapter.train("byol", quick=False) == {"steps": byol.Config.for_budget("cpu").steps}
    assert len(trained) == 1


def test_a_run_says_once_what_it_is_and_a_committed_one_quotes_the_seconds_of_the_table(monkeypatch, capsys):
    monkeypatch.setattr(chapter, "budget", lambda: "quick")
    committed = {"committed": {"date": "2026-12-06", "process_s": 23.4, "machine": "here"}, "wall_s": 19.4}
    monkeypatch.setattr(chapter.cache, "cached_run", lambda recipe, config, device, train: committed)
    assert chapter.train("simclr") is committed
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("simclr: toy, small_cnn, ") and "ships with the book" in line and " in 19 s " in line
    assert "23" not in line  # the whole command's seconds are not the table's
    monkeypatch.setattr(chapter.cache, "cached_run", lambda recipe, config, device, train: train())
    monkeypatch.setattr(chapter, "run_recipe", lambda recipe, config: {"wall_s": 5.0})
    chapter.train("simclr")
    [line] = capsys.readouterr().out.splitlines()
    assert line.startswith("simclr: toy, small_cnn, ") and line.endswith(": training")
