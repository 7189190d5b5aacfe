"""cookbook.book.masked: chapter 6's masked models beside SimCLR on a ViT, and what their ViTs differ in."""
import pytest

from cookbook.book import claims, masked


@pytest.fixture(scope="module")
def runs():
    return masked.load()


def test_setups_say_how_the_vits_differ(runs, monkeypatch):
    shown = []
    monkeypatch.setattr(masked, "markdown", shown.append)
    rows = {row["method"]: row for row in masked.setups(runs)}
    # The recipes' quick budgets (recipes/mae.py, recipes/ijepa.py) and build_backbone's narrow vit_tiny.
    assert (rows["MAE"]["ViT"], rows["MAE"]["patches"]) == ("96 wide, 3 blocks", "8 px (16 tokens)")
    assert (rows["I-JEPA"]["ViT"], rows["I-JEPA"]["patches"]) == ("64 wide, 2 blocks", "8 px (16 tokens)")
    assert (rows["SimCLR"]["ViT"], rows["SimCLR"]["patches"]) == ("64 wide, 4 blocks", "4 px (64 tokens)")
    assert rows["SimCLR"]["feature"] == "[CLS] token" and rows["MAE"]["feature"] == "mean of patch tokens"
    assert rows["MAE"]["seeds"] == "0, 1, 2" and rows["SimCLR"]["seeds"] == "0, 1, 2"
    assert rows["MAE"]["colour changes"] == "none" and rows["SimCLR"]["colour changes"] != "none"
    assert shown and shown[0].count("\n") == 4  # a header, its rule and three methods


def test_rows_stand_each_run_beside_the_references(runs):
    rows = {row["label"]: row for row in masked.rows(runs)}
    assert {"MAE (3 seeds)", "I-JEPA (3 seeds)", "SimCLR (3 seeds)", "chance", "raw pixels",
            "MAE's ViT, untrained", "I-JEPA's ViT, untrained", "SimCLR's ViT, untrained"} == set(rows)
    mae_knn = masked.seeds(runs)["MAE"]
    assert rows["MAE (3 seeds)"]["kNN"] == (pytest.approx(sum(mae_knn) / 3), min(mae_knn), max(mae_knn))
    assert rows["raw pixels"]["kNN"] == (masked.references(runs)["raw pixels"]["kNN"],) * 3


def test_seeds_are_each_runs_own_and_leave_out_a_measure_a_run_lacks(runs):
    knn = masked.seeds(runs)
    assert [len(knn[name]) for name in ("MAE", "I-JEPA", "SimCLR")] == [3, 3, 3]
    assert len(masked.seeds(runs, "kNN", untrained=True)["SimCLR"]) == 3
    assert masked.seeds(runs, "no such measure") == {}


def test_comparisons_need_three_seeds_on_each_side(runs):
    found = masked.comparisons(runs)
    assert set(found) == {(name, other) for name in ("MAE", "I-JEPA")
                          for other in ("raw pixels", "untrained", "background colour")} | {
                              ("I-JEPA", "MAE"), ("I-JEPA", "MAE", "shape colour")}
    assert found["MAE", "background colour"].values[1] == (masked.references(runs)["raw pixels"]["background colour"],)
    assert found["I-JEPA", "MAE"].values == (tuple(masked.seeds(runs)["I-JEPA"]), tuple(masked.seeds(runs)["MAE"]))
    sweep, label = runs["SimCLR"]
    one_seed = {**runs, "SimCLR": ({**sweep, "points": [p for p in sweep["points"] if p["seed"] == 0]}, label)}
    with pytest.raises(ValueError, match="at least 3 seeds"):
        masked.comparisons(one_seed, names=("MAE", "SimCLR"))


def test_simclr_on_its_vit_is_compared_over_its_seeds_with_each_masked_model_and_its_references(runs):
    found = masked.against_simclr(runs)
    assert set(found) == {"MAE", "I-JEPA", "raw pixels", "untrained"}
    assert found["MAE"].values == (tuple(masked.seeds(runs)["SimCLR"]), tuple(masked.seeds(runs)["MAE"]))
    assert found["untrained"].values[1] == tuple(masked.seeds(runs, untrained=True)["SimCLR"])
    assert found["raw pixels"].values[1] == (masked.references(runs)["raw pixels"]["kNN"],)


def test_collapse_verdicts_count_the_seeds_the_books_rule_calls_collapsed(runs):
    fell = masked.collapse_verdicts(runs)
    assert set(fell) == {"MAE", "I-JEPA", "SimCLR"} and all(0 <= fell[name][0] <= 3 for name in fell)
    assert fell["SimCLR"][1].startswith("RankMe ") and "normalised std" in fell["SimCLR"][1]


def test_references_refuse_runs_probed_on_other_images(runs):
    sweep, label = runs["SimCLR"]
    other = {**runs, "SimCLR": ({**sweep, "shared": {**sweep["shared"], "n_test": 500}}, label)}
    with pytest.raises(ValueError, match="other images"):
        masked.references(other)


def test_factor_verdicts_use_the_books_rule(runs):
    said = masked.factor_verdicts(runs, "shape colour")
    assert set(said) == {"MAE", "I-JEPA"}
    assert all(v.startswith(("drops it", "keeps")) for v in said.values())


def test_the_chapters_findings_hold_on_the_committed_seeds(runs, monkeypatch):
    shown = []
    monkeypatch.setattr(claims, "show_in_notebook", lambda obj, metadata: shown.append(
        metadata[claims.METADATA_KEY]))
    monkeypatch.setenv(claims.STRICT_ENV, "1")
    masked.findings(runs)
    assert len(shown) == 12 and all(claim["holds"] for claim in shown)
    assert shown[-1]["sentence"].startswith("and I-JEPA (kNN ")
