"""The chapters' checked readings (cookbook.book.readings): each states a sentence and checks it by the book's rules."""
import pytest

from cookbook.book import claims, collapse, readings, report, spectral

D = 512


def probe(rankme: float, normalised_std: float) -> dict[str, float]:
    """A probe's report as collapse.compare_embeddings makes it: RankMe, width and the std before normalising."""
    return {"rankme": rankme, "dim": D, "mean_std": normalised_std * D ** -0.5, "std_if_uniform": D ** -0.5,
            "loss": 1.0, "n": 256}


@pytest.fixture
def shown(monkeypatch):
    """What claim() displays, instead of a notebook's output; strict, as when the book is built."""
    out = []
    monkeypatch.setattr(claims, "show_in_notebook", lambda obj, metadata: out.append(obj.data))
    monkeypatch.setenv(claims.STRICT_ENV, "1")
    return out


def test_collapse_kind_is_the_books_one_rule():
    assert collapse.collapse_kind(probe(20.0, 0.85)) is None
    assert collapse.collapse_kind(probe(7.4, 0.09)) == "completely"  # the std decides first
    assert collapse.collapse_kind(probe(1.7, 1.0)) == "dimensionally"
    assert collapse.collapse_kind(probe(collapse.RANKME_COLLAPSED, 0.5)) == "dimensionally"  # "3 or less"


def test_a_probe_pair_is_claimed_by_the_rule_and_fails_when_the_rule_disagrees(shown):
    assert readings.probe_pair("cov off", probe(20.0, 0.85), probe(1.7, 1.0), "dimensionally")
    assert "the probe has collapsed dimensionally (RankMe 1.70, normalised std 1.000)" in shown[-1]
    assert "the default beside it, after as many steps, has not (RankMe 20.00, normalised std 0.850)" in shown[-1]
    with pytest.raises(claims.ClaimFailed, match="collapsed dimensionally, the default not at all"):
        readings.probe_pair("cov off", probe(20.0, 0.85), probe(1.7, 1.0), "completely")
    with pytest.raises(claims.ClaimFailed, match="the default dimensionally"):  # a collapsed default spoils the pair
        readings.probe_pair("std off", probe(2.0, 0.5), probe(7.0, 0.05), "completely")
    with pytest.raises(ValueError, match="'completely' or 'dimensionally'"):
        readings.probe_pair("x", probe(20.0, 0.85), probe(1.7, 1.0), "partly")


def test_two_runs_with_one_rankme_and_kNN_apart_make_the_rankme_reading(shown):
    run = {"rankme": 37.4, "knn_acc": 0.539, "feature_dim": 128, "config": {"n_test": 1000}, "committed": {}}
    assert readings.same_rank_apart({**run, "rankme": 37.1, "knn_acc": 0.367}, run, ("Barlow Twins", "VICReg"))
    assert shown[-1].startswith("Barlow Twins' features and VICReg's spread")
    assert "RankMe 37.1 and 37.4 of 128" in shown[-1] and "17.2 points apart" in shown[-1]
    with pytest.raises(claims.ClaimFailed):  # a kNN gap inside three sampling errors says nothing
        readings.same_rank_apart({**run, "rankme": 37.1, "knn_acc": 0.53}, run, ("A", "B"))
    with pytest.raises(claims.ClaimFailed):  # RankMe apart: not "as many directions"
        readings.same_rank_apart({**run, "rankme": 20.0, "knn_acc": 0.367}, run, ("A", "B"))
    assert readings.sampling_error(0.5, 0.5, 1000) == pytest.approx((2 * 0.25 / 1000) ** 0.5)


def test_the_linear_regime_readings_hold_on_the_chapters_problem(shown):
    readings.linear_regime(spectral.linear_regime(spectral.make_problem(n=200, seed=3), k=2, steps=300))
    assert len(shown) == 3 and "lands on the closed form" in shown[-1]


def test_table_conditions_names_the_rows_that_do_not_compare(capsys, monkeypatch):
    monkeypatch.setattr(readings.baselines, "chance", lambda config: {"kNN": 0.117})
    rows = [{"method": "simclr", "dataset": "toy", "backbone": "small_cnn", "steps": 600, "knn_acc": 0.5,
             "raw_pixel_knn_acc": 0.236},
            {"method": "mae", "dataset": "toy", "backbone": "vit_tiny", "steps": 2000, "knn_acc": 0.15,
             "raw_pixel_knn_acc": 0.236}]
    readings.table_conditions(rows)
    out = capsys.readouterr().out
    assert "11.7% on toy" in out and "mae (toy, vit_tiny, 2000 steps)" in out
    assert out.rstrip().endswith("in its one seed: mae")


def test_the_committed_quick_runs_give_the_tables_conditions(capsys):
    readings.table_conditions(report.load_results("quick"))
    assert "simclr (" not in capsys.readouterr().out  # the reference row is never one that differs

