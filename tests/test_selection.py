"""Choosing hyperparameters without labels (cookbook/book/selection.py): the regret of RankMe's pick,
Spearman's correlation, alpha-ReQ (cookbook/book/spectral.py), and the selection rows of a chapter's sweeps."""
import math

import pytest

from cookbook.book import selection
from cookbook.book.selection import regret, select, selection_rows, spearman
from cookbook.book.spectral import alpha_req

# ----------------------------------------------------------------------------- regret and select

def test_regret_is_the_best_accuracy_minus_that_of_the_pick():
    rankme = {"a": 10.0, "b": 30.0, "c": 20.0}
    accuracy = {"a": 0.40, "b": 0.45, "c": 0.52}
    assert regret(rankme, accuracy) == pytest.approx(0.07)  # RankMe picks b; the labels pick c
    assert regret(rankme, {"a": 0.40, "b": 0.60, "c": 0.52}) == 0  # the pick is the best


def test_regret_refuses_what_it_cannot_compare():
    with pytest.raises(ValueError, match="only the selector has"):
        regret({"a": 1.0, "b": 2.0}, {"a": 0.1, "c": 0.2})
    with pytest.raises(ValueError, match="drop those settings"):
        regret({"a": 1.0, "b": float("nan")}, {"a": 0.1, "b": 0.2})
    with pytest.raises(ValueError, match="drop those settings"):
        regret({"a": 1.0, "b": 2.0}, {"a": 0.1, "b": float("inf")})
    with pytest.raises(ValueError, match="at least 2"):
        regret({"a": 1.0}, {"a": 0.1})
    with pytest.raises(ValueError, match="no finite value"):
        regret({"a": 1.0, "b": "high"}, {"a": 0.1, "b": 0.2})


def test_select_takes_the_first_of_equal_values():
    assert select({"a": 1.0, "b": 2.0, "c": 2.0}) == "b"
    assert select({"c": 2.0, "b": 2.0, "a": 1.0}) == "c"


# ----------------------------------------------------------------------------- Spearman

def test_spearman_matches_a_hand_computation():
    # No ties: 1 - 6 sum d^2 / (n (n^2 - 1)), with d = (0, -1, 1, -1, 1): 1 - 6 * 4 / 120 = 0.8.
    assert spearman([1, 2, 3, 4, 5], [20, 10, 40, 30, 50]) == pytest.approx(0.8)
    assert spearman([1, 2, 3, 4], [10, 20, 30, 40]) == pytest.approx(1)
    assert spearman([1, 2, 3, 4], [1, 0.5, 0.2, 0.1]) == pytest.approx(-1)
    assert spearman([0.1, 5, 7, 100], [3, 4, 9, 1000]) == pytest.approx(1)  # ranks, not values


def test_spearman_gives_ties_their_mean_rank():
    # x ranks (1, 2.5, 2.5, 4), y ranks (1, 2, 3, 4): deviations (-1.5, 0, 0, 1.5) and
    # (-1.5, -0.5, 0.5, 1.5); sxy = 4.5, sxx = 4.5, syy = 5: rho = 4.5 / sqrt(22.5) = sqrt(0.9).
    assert selection._ranks([10, 20, 20, 30]) == [1, 2.5, 2.5, 4]
    assert selection._ranks([5, 5, 5, 1]) == [3, 3, 3, 1]
    assert spearman([1, 2, 2, 3], [1, 2, 3, 4]) == pytest.approx(math.sqrt(0.9))


def test_spearman_refuses_what_says_nothing():
    with pytest.raises(ValueError, match="at least 3"):
        spearman([1, 2], [3, 4])
    with pytest.raises(ValueError, match="pairs"):
        spearman([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="constant"):
        spearman([1, 1, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="NaN"):
        spearman([1, 2, float("nan")], [1, 2, 3])


# ----------------------------------------------------------------------------- alpha-ReQ

@pytest.mark.parametrize("a", [0.5, 1.0, 2.0])
def test_alpha_req_recovers_a_power_law(a):
    # sigma_k = k^(-a/2): the eigenvalues sigma_k^2 = k^-a fall with slope -a on a log-log plot.
    spectrum = [k ** (-a / 2) for k in range(1, 51)]
    assert alpha_req(spectrum) == pytest.approx(a, abs=1e-6)
    assert alpha_req([7 * s for s in spectrum]) == pytest.approx(a, abs=1e-6)  # any scale


def test_alpha_req_ignores_the_noise_below_the_floor():
    spectrum = [k ** -0.5 for k in range(1, 21)] + [1e-5, 1e-6, 0.0]
    assert alpha_req(spectrum) == pytest.approx(1.0, abs=1e-6)


def test_alpha_req_refuses_too_few_values_or_a_collapsed_spectrum():
    with pytest.raises(ValueError, match="at least 3"):
        alpha_req([1.0, 0.5])
    with pytest.raises(ValueError, match="at least 3"):
        alpha_req([0.0, 0.0, 0.0])
    with pytest.raises(ValueError, match="collapsed"):
        alpha_req([1.0, 0.5, 1e-3, 1e-4, 0.0])


# ----------------------------------------------------------------------------- selection rows

def point(setting, seed, knn, rankme):
    label = f"lr {setting}" + (f", seed {seed}" if seed is not None else "")
    return {"label": label, "seed": seed, "settings": {"lr": setting}, "before": {"knn_acc": 0.1},
            "after": {"knn_acc": knn, "rankme": rankme}, "history": [], "spectrum": []}


def sweep(name, recipe, points):
    return {"sweep": name, "recipe": recipe, "points": points}


# simclr: three settings, two seeds each. Means: lr 0.1 (kNN 0.42, RankMe 11), lr 0.3 (0.51, 21),
# lr 1 (0.47, 29). RankMe picks lr 1, kNN picks lr 0.3: regret 4 points. The widest seed range is
# lr 0.1's, 0.40 to 0.44: 4 points. RankMe ranks (1, 2, 3), kNN ranks (1, 3, 2): Spearman 0.5.
SIMCLR = sweep("hyper-simclr", "simclr", [
    point(0.1, 0, 0.40, 10), point(0.1, 1, 0.44, 12),
    point(0.3, 0, 0.50, 20), point(0.3, 1, 0.52, 22),
    point(1, 0, 0.46, 30), point(1, 1, 0.48, 28)])
# vicreg: three settings, one seed. RankMe and kNN both pick lr 1 and rank alike: regret 0, Spearman 1.
VICREG = sweep("hyper-vicreg", "vicreg", [point(0.1, 0, 0.30, 5), point(0.3, 0, 0.35, 6), point(1, 0, 0.60, 25)])


def test_selection_rows_per_method():
    simclr, vicreg, pooled = selection_rows({"simclr": SIMCLR, "vicreg": VICREG})
    assert simclr["method"] == "simclr" and simclr["settings"] == 3 and simclr["seeds"] == 2
    assert simclr["by selector"] == "lr 1" and simclr["by target"] == "lr 0.3"
    assert simclr["regret"] == pytest.approx(4.0)
    assert simclr["seeds of picks"] == {"by selector": [0.46, 0.48], "by target": [0.50, 0.52]}
    assert simclr["comparison"] is None  # two seeds: too few for the book's rule
    assert simclr["spearman"] == pytest.approx(0.5)
    # seed 0: RankMe (10, 20, 30) against kNN (0.40, 0.50, 0.46); seed 1: (12, 22, 28) against (0.44, 0.52, 0.48)
    assert simclr["spearman by seed"] == pytest.approx([0.5, 0.5])
    assert vicreg["settings"] == 3 and vicreg["seeds"] == 1
    assert vicreg["by selector"] == vicreg["by target"] == "lr 1"
    assert vicreg["regret"] == 0 and vicreg["comparison"] is None  # one pick, and one seed
    assert vicreg["spearman"] == pytest.approx(1.0)


def test_selection_rows_pools_every_method_in_the_last_row():
    # Pooled RankMe (11, 21, 29, 5, 6, 25) ranks (3, 4, 6, 1, 2, 5); kNN (0.42, 0.51, 0.47, 0.30,
    # 0.35, 0.60) ranks (3, 5, 4, 1, 2, 6): sum d^2 = 6, Spearman 1 - 36 / 210. RankMe's pick across
    # methods is simclr's lr 1 (29), the labels' vicreg's lr 1 (0.60): regret 13 points.
    pooled = selection_rows({"simclr": SIMCLR, "vicreg": VICREG})[-1]
    assert pooled["method"] == "all methods" and pooled["settings"] == 6
    assert pooled["seeds"] == 1 and pooled["comparison"] is None
    assert pooled["by selector"] == "simclr: lr 1" and pooled["by target"] == "vicreg: lr 1"
    assert pooled["regret"] == pytest.approx(13.0)
    assert pooled["spearman"] == pytest.approx(1 - 36 / 210)
    assert selection_rows({"simclr": SIMCLR, "vicreg": VICREG}, pooled="every setting")[-1]["method"] == "every setting"


def test_selection_rows_of_one_method_has_no_pooled_row_and_refuses_a_missing_measure():
    rows = selection_rows({"simclr": SIMCLR})
    assert [r["method"] for r in rows] == ["simclr"]
    with pytest.raises(KeyError, match="probe_layers"):
        selection_rows({"simclr": SIMCLR}, target="linear probe")


# lejepa: three settings, three seeds. RankMe picks lr 1 (kNN 0.20-0.24), the labels lr 0.3 (0.40-0.44): the
# seed ranges do not overlap, so the regret of 20 points is a loss the seeds can see.
LEJEPA = sweep("hyper-lejepa", "lejepa", [point(lr, seed, knn + 0.02 * seed, rankme + seed)
                                          for lr, knn, rankme in ((0.1, 0.30, 10), (0.3, 0.40, 20), (1, 0.20, 40))
                                          for seed in (0, 1, 2)])


def test_selection_rows_compare_the_two_picks_over_their_seeds():
    [row] = selection_rows({"lejepa": LEJEPA})
    assert row["by selector"] == "lr 1" and row["by target"] == "lr 0.3"
    assert row["regret"] == pytest.approx(20.0)
    comparison = row["comparison"]
    assert comparison.verdict == "higher" and comparison.gap == pytest.approx(0.20)
    assert comparison.names == ("kNN's pick (lr 0.3)", "RankMe's pick (lr 1)")
    # the same picks with seeds that overlap: a regret inside the seeds' spread is no difference
    noisy = sweep("hyper-lejepa", "lejepa", [point(lr, seed, knn + 0.15 * seed, rankme)
                                             for lr, knn, rankme in ((0.1, 0.1, 10), (0.3, 0.40, 20), (1, 0.35, 40))
                                             for seed in (0, 1, 2)])
    assert selection_rows({"lejepa": noisy})[0]["comparison"].verdict == "no difference"


def test_a_score_turns_what_is_best_near_a_value_into_a_selector():
    # alpha-ReQ is best near 1: closest_to_one ranks 1.2 above 0.5 and 2.0
    assert selection.closest_to_one(1.2) > selection.closest_to_one(0.5) > selection.closest_to_one(2.0)
    [row] = selection_rows({"lejepa": LEJEPA}, score=lambda rankme: -abs(rankme - 21))
    assert row["by selector"] == "lr 0.3" and row["regret"] == 0 and row["comparison"] is None


def test_short_labels_name_the_coefficients_by_their_symbols():
    assert selection.short_label("lr 0.002, lambd 0.2") == "lr 0.002, λ 0.2"
    assert selection.short_label("SimCLR: lr 0.004, temperature 0.1") == "SimCLR: lr 0.004, τ 0.1"


def test_split_by_cuts_a_sweep_at_each_value_of_a_setting():
    grid = sweep("hyper-lejepa", "lejepa", [{**point(lr, 0, 0.3, 10), "settings": {"lr": lr, "lambd": lam},
                                             "label": f"lr {lr}, lambd {lam}"}
                                            for lr in (0.1, 0.3) for lam in (0.02, 0.2)])
    parts = selection.split_by(grid, "lambd")
    assert list(parts) == ["λ = 0.02", "λ = 0.2"]
    assert [p["label"] for p in parts["λ = 0.2"]["points"]] == ["lr 0.1, lambd 0.2", "lr 0.3, lambd 0.2"]
