"""benchmarks/sweep.py, cookbook.book.report.load_sweep and cookbook.book.sweep_viewer: a declared sweep is
trained into one folder per run, kept, loaded, resumed after an interruption, refused when it
cannot be run, and drawn by a viewer that needs no kernel."""
from __future__ import annotations

import json
import re

import pytest

from cookbook import imbalance, registry
from cookbook.book import cache, claims, digest, guide, report, sweep_viewer, sweeps

TINY = {"steps": 3, "n_train": 128, "n_test": 64, "eval_bank": 128, "warmup_steps": 1, "eval_every": 1}


@pytest.fixture
def sweep_module(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import sweep

    return sweep


def declare(sweep_module, monkeypatch, name="tiny", **declaration):
    monkeypatch.setitem(sweep_module.SWEEPS, name, {"recipe": "simclr", "shared": TINY, **declaration})


def test_a_declared_sweep_is_trained_and_kept_one_folder_per_run(sweep_module, monkeypatch, tmp_path):
    declare(sweep_module, monkeypatch, points={"hot": {"temperature": 1.0}, "cold": {"temperature": 0.1}})
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(tmp_path / "tiny")]) == 0
    assert sorted(p.parent.name for p in (tmp_path / "tiny").glob("*/metrics.json")) == ["cold", "hot"]
    kept = report.load_sweep("tiny", tmp_path)
    assert [p["label"] for p in kept["points"]] == ["hot", "cold"]
    hot = kept["points"][0]
    assert hot["settings"] == {"temperature": 1.0} and hot["run_settings"]["temperature"] == 1.0
    assert {"knn_acc", "rankme"} <= set(hot["before"]) and "loss" in hot["after"]
    assert hot["after"]["loss"] != kept["points"][1]["after"]["loss"]  # the settings reached the runs
    assert [r["step"] for r in hot["history"] if "knn_acc" in r] == [0, 1, 2, 3]  # curves, every eval_every
    assert hot["spectrum"][0] == 1.0 and hot["spectrum"] == sorted(hot["spectrum"], reverse=True)
    assert kept["training_digest"] == cache.training_digest(registry.get("simclr")) and kept["threads"] == 1
    assert kept["command"] == "python benchmarks/sweep.py tiny" and kept["complete"]
    assert not list(tmp_path.rglob(".*tmp*"))  # written atomically: no temporary file left behind


def test_an_interrupted_sweep_goes_on_where_it_stopped(sweep_module, monkeypatch, tmp_path, capsys):
    declare(sweep_module, monkeypatch, points={"a": {"temperature": 1.0}, "b": {"temperature": 0.1}})
    out = tmp_path / "tiny"
    real_short_run = __import__("cookbook.book.chapter", fromlist=["short_run"]).short_run
    calls = []

    def interrupted(recipe, data=None, **settings):
        if calls:
            raise KeyboardInterrupt
        calls.append(settings)
        return real_short_run(recipe, data=data, **settings)

    monkeypatch.setattr("cookbook.book.chapter.short_run", interrupted)
    with pytest.raises(KeyboardInterrupt):
        sweep_module.main(["tiny", "--threads", "1", "--out", str(out)])
    with pytest.raises(FileNotFoundError, match="interrupted .*1 runs"):
        report.load_sweep("tiny", tmp_path)
    monkeypatch.setattr("cookbook.book.chapter.short_run", real_short_run)
    capsys.readouterr()
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(out)]) == 0
    assert "a: kept from an earlier run" in capsys.readouterr().out
    assert [p["label"] for p in report.load_sweep("tiny", tmp_path)["points"]] == ["a", "b"]


def test_augmentation_settings_change_the_recipes_own_views_and_layers_are_probed(sweep_module, monkeypatch, tmp_path):
    from recipes import simclr

    declare(sweep_module, monkeypatch, probe_layers=True,
            points={"no jitter": {"augment.jitter_strength": 0.0, "augment.crop_min_scale": 1.0}})
    overrides = guide.config_overrides(simclr, {"steps": 3, "augment.jitter_strength": 0.0})
    assert overrides["augment"] == simclr.Config.for_budget("quick").augment.replace(jitter_strength=0.0)
    seen = []
    real_short_run = __import__("cookbook.book.chapter", fromlist=["short_run"]).short_run
    monkeypatch.setattr("cookbook.book.chapter.short_run",
                        lambda recipe, data=None, **kw: seen.append(kw) or real_short_run(recipe, data=data, **kw))
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(tmp_path / "tiny")]) == 0
    assert seen[0]["augment"].jitter_strength == 0.0 and seen[0]["augment"].crop_min_scale == 1.0
    assert seen[0]["augment"].gray_p == simclr.Config.for_budget("quick").augment.gray_p  # the rest as the recipe's
    [point] = report.load_sweep("tiny", tmp_path)["points"]
    assert point["run_settings"]["augment.jitter_strength"] == 0.0
    assert [row["layer"] for row in point["layers"]] == ["backbone", "projector 1", "projector 2"]
    assert {"fg_hue_bin_knn_acc", "position_cell_knn_acc", "scale_bin_knn_acc"} <= set(point["after"])


def test_a_long_tailed_sweep_trains_on_its_subset_scores_each_class_and_its_digest_covers_the_subsetting(
        sweep_module, monkeypatch, tmp_path):
    declare(sweep_module, monkeypatch, per_class=True, shared={**TINY, "n_train": 400, "batch_size": 16, "width": 4,
                                                                "data.train_images": 100},
            points={"balanced": {"data.class_ratio": 1}, "ratio 10": {"data.class_ratio": 10}})
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(tmp_path / "tiny")]) == 0
    kept = report.load_sweep("tiny", tmp_path)
    balanced, skewed = kept["points"]
    assert balanced["per_class"]["train_counts"] == [10] * 10
    assert skewed["per_class"]["train_counts"] == imbalance.class_counts(10, 100, 10)
    assert len(skewed["per_class"]["knn_acc"]) == len(skewed["per_class"]["linear_acc"]) == 10
    assert skewed["per_class_balanced"]["train_counts"] == [10] * 10  # the same features, probed with balanced labels
    # The long tail's module is part of the engine, so every run's digest covers it.
    assert "imbalance.py" in {path.name for path in digest.engine_modules()}
    assert kept["training_digest"] == cache.training_digest(registry.get("simclr"))
    rows = guide.per_class_rows({"SimCLR": kept})
    assert [r["ratio"] for r in rows] == [1, 10]
    assert rows[0]["kNN"] == pytest.approx(sum(balanced["per_class"]["knn_acc"]) / 10)


def test_bad_data_settings_are_refused_before_training(sweep_module, monkeypatch, tmp_path, capsys):
    for points, message in [({"a": {"data.class_ration": 10}}, "no setting data.class_ration; .*data.class_ratio"),
                            ({"a": {"data.class_ratio": 0.5}}, "a: .*class_ratio=0.5 must be a number >= 1")]:
        declare(sweep_module, monkeypatch, name="bad", points=points)
        with pytest.raises(SystemExit):
            sweep_module.main(["bad", "--out", str(tmp_path / "bad")])
        assert re.search(message, capsys.readouterr().err)


def test_points_that_change_the_dataset_get_their_own_images(sweep_module, monkeypatch, tmp_path):
    declare(sweep_module, monkeypatch, shared={**TINY, "batch_size": 16, "width": 4},
            points={"128 images": {}, "160 images": {"n_train": 160}})
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(tmp_path / "tiny")]) == 0
    small, large = report.load_sweep("tiny", tmp_path)["points"]
    assert small["run_settings"]["n_train"] == 128 and large["run_settings"]["n_train"] == 160
    assert small["after"]["loss"] != large["after"]["loss"]


def test_a_grid_with_seeds_is_every_combination(sweep_module):
    points = sweep_module.declared_points("g", {"recipe": "simclr", "shared": {},
                                               "grid": {"temperature": [0.1, 0.5], "batch_size": [8, 16]},
                                               "seeds": [0, 1]})
    assert len(points) == 8 and points[0] == {"label": "temperature 0.1, batch_size 8, seed 0",
                                              "settings": {"temperature": 0.1, "batch_size": 8}, "seed": 0}


@pytest.mark.parametrize("declaration, message", [
    ({"recipe": "simclrr", "points": {"a": {}}}, "simclrr"),
    ({"recipe": "simclr", "points": {"a": {"temprature": 0.5}}},
     "simclr has no setting temprature; its settings: .*temperature"),
    ({"recipe": "simclr", "shared": {"stepz": 3}, "points": {"a": {}}}, "shared: simclr has no setting stepz"),
    ({"recipe": "simclr", "grid": {"temperature": []}}, "the grid is empty for temperature"),
    ({"recipe": "simclr", "grid": {}}, "the grid is empty"),
    ({"recipe": "simclr", "points": {}}, "declares no points"),
    ({"recipe": "simclr", "points": {"a": {"augment.jiter_strength": 0.5}}},
     "no setting augment.jiter_strength; .*augment.jitter_strength"),
    ({"recipe": "simclr", "points": {"grey": {"augment.gray_p": 1.5}}},
     "grey: AugmentConfig.gray_p=1.5 is not a probability"),
    ({"recipe": "simclr", "points": {"cold": {"temperature": -1.0}}}, "cold: .*temperature"),
])
def test_bad_declarations_are_refused_with_what_to_do(sweep_module, monkeypatch, tmp_path, capsys,
                                                       declaration, message):
    monkeypatch.setitem(sweep_module.SWEEPS, "bad", {"shared": {}, **declaration})
    with pytest.raises(SystemExit):
        sweep_module.main(["bad", "--out", str(tmp_path / "bad")])
    assert re.search(message, capsys.readouterr().err)
    assert not (tmp_path / "bad").exists()


def test_a_folder_written_by_another_sweep_is_refused(sweep_module, monkeypatch, tmp_path, capsys):
    declare(sweep_module, monkeypatch, points={"a": {"temperature": 1.0}})
    declare(sweep_module, monkeypatch, name="other", points={"a": {"temperature": 1.0}})
    out = tmp_path / "tiny"
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(out)]) == 0
    for argv, message in ((["other", "--out", str(out)], "holds the sweep 'tiny', not 'other'"),
                          (["other", "--out", str(out), "--fresh"], "is not the folder of 'other'")):
        with pytest.raises(SystemExit):
            sweep_module.main(argv)
        assert message in capsys.readouterr().err
    declare(sweep_module, monkeypatch, points={"a": {"temperature": 0.5}})  # the same name, declared anew
    with pytest.raises(SystemExit):
        sweep_module.main(["tiny", "--out", str(out)])
    assert "run with --fresh" in capsys.readouterr().err
    assert sweep_module.main(["tiny", "--threads", "1", "--out", str(out), "--fresh"]) == 0
    assert report.load_sweep("tiny", tmp_path)["points"][0]["settings"] == {"temperature": 0.5}
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / "notes.txt").write_text("mine")
    with pytest.raises(SystemExit):
        sweep_module.main(["tiny", "--out", str(tmp_path / "stray")])
    assert "not a sweep's folder" in capsys.readouterr().err


def test_an_unknown_sweep_is_refused_with_the_names_that_exist(sweep_module, tmp_path, capsys):
    with pytest.raises(SystemExit):
        sweep_module.main(["no-such-sweep", "--out", str(tmp_path)])
    assert "simclr-temperature-batch" in capsys.readouterr().err
    (tmp_path / "kept").mkdir()
    (tmp_path / "kept" / "sweep.json").write_text(json.dumps({"points": []}))
    with pytest.raises(FileNotFoundError, match="kept.*benchmarks/sweep.py missing"):
        report.load_sweep("missing", tmp_path)


def test_the_books_sweeps_were_trained_by_the_current_code():
    """Chapters draw these sweeps: a change to the code that trains a sweep's recipe must come with
    the sweep trained again."""
    manifests = sorted(report.SWEEPS.glob("*/sweep.json"))
    assert manifests, f"no sweep in {report.SWEEPS}"
    kept = {path.parent.name: json.loads(path.read_text()) for path in manifests}
    stale = [name for name, manifest in kept.items()
             if manifest.get("training_digest") != cache.training_digest(registry.get(manifest["recipe"]))]
    assert not stale, f"run again: {'; '.join(f'python benchmarks/sweep.py {name} --fresh' for name in stale)}"


def sweeps_read(chapter) -> set[str]:
    """The sweeps a chapter's source loads: ``load_sweep("name")``, and ``load_sweep(f"prefix-{name}")``
    over the names of a ``for name in (...)`` that follows it."""
    text = chapter.read_text()
    named = set(re.findall(r'load_sweep\(f?"([a-z0-9-]+)"\)', text))
    for template, names in re.findall(r'load_sweep\(f"([a-z-]+)\{name\}"\)[^\n]*\n?'
                                      r'.*?for name in \(([^)]*)\)', text):
        named |= {template + n.strip(' "') for n in names.split(",")}
    return named


def test_every_sweep_a_chapter_loads_is_declared_kept_complete_and_as_declared(repo_root, sweep_module):
    named = set().union(*(sweeps_read(chapter) for chapter in sorted((repo_root / "book").glob("*.md"))))
    assert {"augment-ablation-simclr", "projector-vicreg", "ema-dino"} <= named, sorted(named)
    for name in sorted(named):
        assert name in sweep_module.SWEEPS, (f"a chapter loads the sweep {name!r}, which benchmarks/sweep.py "
                                             f"does not declare")
        kept = report.load_sweep(name)  # complete, or it raises
        declared = sweep_module.SWEEPS[name]
        assert kept["declaration"] == json.loads(json.dumps({k: declared[k] for k in sorted(declared)})), \
            f"{name} was trained from another declaration: python benchmarks/sweep.py {name} --fresh"
        assert len(kept["points"]) == len(sweep_module.declared_points(name, declared))


# The chapters rewritten on the book's rules of evidence (cookbook.book.claims): every sweep they read
# compares settings over at least three seeds.
# Issues 26 (chapters 1-8) and 27 (9-16).
CHAPTERS_ON_EVIDENCE = tuple(f"{n:02d}" for n in range(1, 17))


def test_every_sweep_the_rewritten_chapters_read_has_three_seeds_of_every_setting(repo_root):
    read = {name: chapter.stem for chapter in sorted((repo_root / "book").glob("*.md"))
            if chapter.stem[:2] in CHAPTERS_ON_EVIDENCE for name in sweeps_read(chapter)}
    assert {"simclr-temperature-batch", "augment-ablation-vicreg", "interplay-simclr"} <= set(read), sorted(read)
    for name, chapter in sorted(read.items()):
        sweep = report.load_sweep(name)
        seeds = {row["label"]: row["seeds"] for row in sweeps.summary(sweep)}
        few = {label: s for label, s in seeds.items() if len(set(s)) < claims.MIN_SEEDS}
        assert not few, f"{chapter} reads {name}, whose settings {few} have fewer than {claims.MIN_SEEDS} seeds"



def test_every_committed_sweep_has_three_seeds_of_every_setting(repo_root):
    """Whoever reads a sweep (a chapter, or a chapter's module such as cookbook.book.comparison), a comparison
    needs three seeds: every committed sweep has them."""
    names = sorted(p.parent.name for p in (repo_root / "cookbook" / "results" / "sweeps").glob("*/sweep.json"))
    assert len(names) >= 30, names
    few = {}
    for name in names:
        seeds = {row["label"]: row["seeds"] for row in sweeps.summary(report.load_sweep(name))}
        few.update({f"{name}: {label}": s for label, s in seeds.items() if len(set(s)) < claims.MIN_SEEDS})
    assert not few, f"settings with fewer than {claims.MIN_SEEDS} seeds: {few}"


def fake_sweep(points):
    run = lambda knn: {"before": {"knn_acc": 0.1}, "after": {"knn_acc": knn, "rankme": 9.0, "dim": 16, "step": 2},  # noqa: E731
                       "history": [{"step": 0, "loss": 2.0, "knn_acc": 0.1, "rankme": 5.0},
                                   {"step": 2, "loss": 1.0, "knn_acc": knn, "rankme": 9.0}],
                       "spectrum": [1.0, 0.5, 0.1], "seconds": 1.0}
    return {"sweep": "fake", "recipe": "simclr", "base_config": {"temperature": 0.2, "batch_size": 128},
            "command": "python benchmarks/sweep.py fake",
            "points": [{"label": label, "settings": settings, "seed": None, **run(0.2 + i / 10)}
                       for i, (label, settings) in enumerate(points.items())]}


def test_the_viewer_has_a_slider_per_swept_setting_of_a_grid_and_one_over_the_runs_otherwise():
    grid = fake_sweep({f"t{t} b{b}": {"temperature": t, "batch_size": b} for t in (0.1, 0.5) for b in (8, 16)})
    controls, positions = sweep_viewer.controls_of(grid)
    assert [(c["name"], c["values"]) for c in controls] == [("batch_size", [8, 16]), ("temperature", [0.1, 0.5])]
    assert positions[1] == [1, 0]  # t0.1 b16
    loose = fake_sweep({"t 0.5": {"temperature": 0.5}, "b 8": {"batch_size": 8},
                        "b 8, t 0.5": {"batch_size": 8, "temperature": 0.5}})
    controls, positions = sweep_viewer.controls_of(loose)
    assert controls == [{"name": "run", "values": ["t 0.5", "b 8", "b 8, t 0.5"]}] and positions == [[0], [1], [2]]


def test_the_viewer_is_self_contained_html():
    page = sweep_viewer.viewer_html(fake_sweep({"a": {"temperature": 0.1}, "b": {"temperature": 0.5}}))
    assert page.startswith('<div class="cookbook-sweep-viewer" id="sweep-fake"') and "<script>" in page
    fetchable = page.replace('"http://www.w3.org/2000/svg"', "")  # SVG's namespace name is never fetched
    assert not re.search(r"(src|href)=|https?://|cdn", fetchable, re.IGNORECASE)  # nothing to fetch
    data = json.loads(re.search(r'getElementById\("sweep-fake"\), (\{.*\})\);</script>$', page).group(1))
    assert [r["knn"] for r in data["runs"]] == pytest.approx([0.2, 0.3])
    assert data["runs"][1]["curves"]["loss"] == [[0, 2.0], [2, 1.0]]
    assert "</script>" not in sweep_viewer.viewer_html(fake_sweep({"</script>": {"temperature": 0.1}}))[:-9]
