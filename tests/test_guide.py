"""cookbook.book.guide: a kept sweep summarised over seeds, tabled, drawn, and one point trained again."""
import pytest
import torch

from cookbook.book import guide, report


def point(label, settings, seed, knn, colour, rankme=10.0, layers=None):
    after = {"knn_acc": knn, "fg_hue_bin_knn_acc": colour, "position_cell_knn_acc": 0.2, "rankme": rankme, "step": 3,
             "mean_std": 0.05 if knn < 0.45 else 0.5, "std_if_uniform": 0.5}
    return {"label": label + (f", seed {seed}" if seed is not None else ""), "settings": settings, "seed": seed,
            "after": after, "before": {"knn_acc": 0.1, "rankme": 5.0}, "seconds": 2.0,
            **({"layers": layers} if layers else {})}


SWEEP = {"sweep": "fake", "recipe": "simclr", "shared": {"steps": 3, "n_train": 64, "n_test": 32, "batch_size": 16},
         "seconds": 8.0, "cpu_seconds": 15.0, "base_config": {"seed": 0},
         "command": "python benchmarks/sweep.py fake", "date": "2026-12-05", "machine": "here", "threads": 2,
         "points": [point("a", {"augment.jitter_p": 0.0, "temperature": 0.1}, 0, 0.4, 0.5),
                    point("a", {"augment.jitter_p": 0.0, "temperature": 0.1}, 1, 0.6, 0.3),
                    point("b", {"augment.jitter_p": 0.8, "temperature": 0.1}, 0, 0.7, 0.2),
                    point("b", {"augment.jitter_p": 0.8, "temperature": 0.1}, 1, 0.5, 0.2)]}


def test_summary_merges_the_seeds_of_a_setting_into_mean_and_range():
    rows = guide.summary(SWEEP)
    assert [r["label"] for r in rows] == ["a", "b"] and rows[0]["seeds"] == [0, 1]
    assert rows[0]["kNN"] == pytest.approx((0.5, 0.4, 0.6))
    assert rows[0]["shape colour"] == pytest.approx((0.4, 0.3, 0.5))
    assert rows[1]["position"] == pytest.approx((0.2, 0.2, 0.2)) and rows[1]["seconds"] == (2.0, 2.0, 2.0)


def test_table_prints_means_and_ranges_and_introduce_says_how_to_redo_it(monkeypatch, capsys):
    shown = []
    monkeypatch.setattr("cookbook.book.guide.markdown", shown.append)
    guide.table(SWEEP)
    assert "| a | 50.0% (40.0-60.0) | 40.0% (30.0-50.0) | 20.0% |" in shown[0] and "kNN: shape colour" in shown[0]
    guide.introduce(SWEEP)
    out = capsys.readouterr().out
    assert "4 runs of simclr" in out and "15 s of CPU time" in out and "seeds: 0, 1" in out
    assert "python benchmarks/sweep.py fake" in out


def test_figures_draw_bars_heatmaps_lines_and_layers():
    bars = guide.class_and_nuisances(SWEEP, title="t")
    assert len(bars.axes[0].patches) == 2 * 3  # two settings x (the class, colour, position)
    heat = guide.heatmap(SWEEP, "augment.jitter_p", "temperature")
    assert [t.get_text() for t in heat.axes[0].texts] == ["50.0", "60.0"]
    lines = guide.lines({"p": (SWEEP, "augment.jitter_p")})
    knn_ax, rankme_ax = lines.axes  # one metric per panel, the setting under the last
    assert rankme_ax.get_xlabel() == "jitter_p"
    assert [knn_ax.get_ylabel(), rankme_ax.get_ylabel()] == ["kNN (%)", "RankMe"]


def test_again_refuses_an_unknown_point_and_trains_a_known_one(monkeypatch, capsys):
    with pytest.raises(KeyError, match="no point 'c'.*a, seed 0"):
        guide.again(SWEEP, "c")
    seen = {}

    def fake_short_run(recipe, **overrides):
        seen.update(overrides)
        return {"after": {"knn_acc": 0.45, "rankme": 9.0}}

    monkeypatch.setattr("cookbook.book.guide.short_run", fake_short_run)
    guide.again(SWEEP, "a, seed 1")
    assert seen["seed"] == 1 and seen["temperature"] == 0.1 and seen["augment"].jitter_p == 0.0
    # the images the sweep trained on: made with the sweep's data seed (0), not the point's own seed
    from cookbook.data import make_toy

    assert torch.equal(seen["data"].train_x, make_toy(64, 32, seed=0).train_x) and seen["balanced"] is None
    assert "kNN 45.0% here, 60.0% kept" in capsys.readouterr().out


def test_nuisance_scores_name_the_factors_and_skip_the_baselines():
    assert report.nuisance_scores({"knn_acc": 1, "fg_hue_bin_knn_acc": 0.3, "random_init_fg_hue_bin_knn_acc": 0.2,
                                   "scale_bin_knn_acc": 0.5}) == {"shape colour": 0.3, "size": 0.5}


def test_summary_gives_each_settings_knn_gain_over_its_untrained_network_with_the_seed_range():
    # "a": kNN gains 0.3 and 0.5 over the untrained network on its two seeds
    assert guide.summary(SWEEP)[0]["kNN gain"] == pytest.approx((0.4, 0.3, 0.5))


def test_series_groups_rows_and_projections_draw_each_slice():
    import torch

    by_jitter = guide.series(SWEEP, "temperature", lambda row: f"jitter {row['settings']['augment.jitter_p']}")
    assert [line.get_label() for line in by_jitter.axes[0].get_lines()] == ["jitter 0.0", "jitter 0.8"]
    both = guide.series(SWEEP, "temperature", lambda row: ("x", "y"))
    assert len(both.axes[0].get_lines()) == 2
    gaussian = torch.randn(500, 8, generator=torch.Generator().manual_seed(0))
    fig = guide.projections({"gaussian": gaussian, "collapsed": torch.zeros(500, 8)}, slices=2)
    titles = [ax.get_title() for ax in fig.axes]
    statistics = [float(t.rsplit("EP = ", 1)[1]) for t in titles]
    assert len(titles) == 4 and max(statistics[:2]) < 5 < min(statistics[2:])  # a point mass is far from N(0, 1)


def test_per_class_tables_need_per_class_sweeps():
    with pytest.raises(KeyError, match="per_class=True"):
        guide.per_class_rows({"SimCLR": SWEEP})


def test_untrained_row_gives_a_settings_untrained_networks_over_its_seeds():
    row = guide.untrained_row(SWEEP, "b", "untrained b")
    assert row["label"] == "untrained b" and row["kNN"] == pytest.approx((0.1, 0.1, 0.1))
    assert set(row) == {"label", "kNN"}  # the fake sweep measured no factor before training
    assert guide.untrained_row(SWEEP, "a")["label"] == "untrained network, a"
    with pytest.raises(KeyError, match="no setting 'c'"):
        guide.untrained_row(SWEEP, "c")


def test_change_table_says_higher_or_lower_only_when_the_seed_ranges_do_not_overlap(monkeypatch):
    shown = []
    monkeypatch.setattr(guide, "markdown", shown.append)
    three = {**SWEEP, "points": [point("base", {}, s, knn, 0.5) for s, knn in enumerate((0.40, 0.42, 0.44))]
             + [point("up", {}, s, knn, 0.5) for s, knn in enumerate((0.50, 0.52, 0.55))]
             + [point("same", {}, s, knn, 0.5) for s, knn in enumerate((0.38, 0.45, 0.47))]}
    found = guide.change_table(three, "base", ["kNN"])
    assert found["up"]["kNN"].verdict == "higher" and found["same"]["kNN"].verdict == "no difference"
    assert "| up | +10.3 **higher** |" in shown[0] and "| same | +1.3 = |" in shown[0]
