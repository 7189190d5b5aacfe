"""Chapter 11's readings of the long-tail sweeps (cookbook.book.longtail), on small fake sweeps: the seeds of a
method and ratio stay together and in order, a change from ratio 1 to 100 pairs each seed with itself, and the
references refuse sweeps whose untrained networks differ."""
import pytest

from cookbook.book import longtail

COUNTS = {1: [200] * 10, 100: [806, 483, 290, 174, 104, 62, 37, 22, 14, 8]}


def fake(tail_drop: float, seeds=(2, 0, 1), before=0.13) -> dict:
    """A long-tail sweep whose three rarest classes lose ``tail_drop`` (and seed s adds 0.01 * s) at ratio 100."""
    points = []
    for ratio in (1, 100):
        for seed in seeds:
            knn = [0.5 + 0.01 * seed - (tail_drop if ratio == 100 and c >= 7 else 0.0) for c in range(10)]
            scores = {"knn_acc": knn, "linear_acc": [v + 0.1 for v in knn]}
            points.append({"label": f"ratio {ratio}, seed {seed}", "seed": seed,
                           "settings": {"data.class_ratio": ratio}, "before": {"knn_acc": before},
                           "per_class": {"train_counts": COUNTS[ratio], **scores}, "per_class_balanced": scores})
    return {"sweep": "longtail-fake", "recipe": "simclr", "shared": {}, "base_config": {"backbone": "small_cnn"},
            "points": points}


def test_seeded_keeps_each_method_and_ratio_over_its_seeds_in_seed_order():
    runs = longtail.seeded({"SimCLR": fake(0.3)}, "balanced")
    assert list(runs) == [("SimCLR", 1), ("SimCLR", 100)]
    assert runs["SimCLR", 100]["seeds"] == [0, 1, 2]
    assert runs["SimCLR", 100]["kNN tail"] == pytest.approx([0.2, 0.21, 0.22])
    assert runs["SimCLR", 100]["kNN head"] == pytest.approx([0.5, 0.51, 0.52])


def test_a_change_pairs_each_seed_with_itself_and_the_book_rule_judges_it():
    runs = {labels: longtail.seeded({"SimCLR": fake(0.3), "BYOL": fake(0.0)}, labels) for labels in longtail.LABELS}
    refs = {labels: {ratio: {"raw pixels": {"kNN tail": 0.2 if ratio == 1 else 0.0},
                             "untrained network": {"kNN tail": [0.1, 0.1, 0.1]}} for ratio in (1, 100)}
            for labels in longtail.LABELS}
    changes = longtail.paired(runs, refs, "balanced", "kNN tail")
    assert changes["SimCLR"] == pytest.approx([-0.3] * 3) and changes["BYOL"] == pytest.approx([0.0] * 3)
    assert changes["raw pixels"] == pytest.approx([-0.2]) and changes["untrained network"] == pytest.approx([0.0] * 3)
    assert longtail.paired(runs, refs, "balanced", "linear tail")["raw pixels"] is None  # not measured
    assert longtail.comparison(runs, "balanced", "SimCLR", "kNN tail").verdict == "lower"
    assert longtail.comparison(runs, "balanced", "BYOL", "kNN tail").verdict == "no difference"


def test_a_change_refuses_seeds_that_do_not_pair():
    sweep = fake(0.3)
    sweep["points"] = [p for p in sweep["points"] if not (p["seed"] == 2 and p["settings"]["data.class_ratio"] == 100)]
    runs = {"balanced": longtail.seeded({"SimCLR": sweep}, "balanced")}
    with pytest.raises(ValueError, match="seeds"):
        longtail.paired(runs, {}, "balanced", "kNN tail")


def test_one_untrained_network_stands_for_every_method_only_when_their_untrained_scores_agree():
    longtail._untrained_is_shared({"SimCLR": fake(0.3), "BYOL": fake(0.0)})
    with pytest.raises(ValueError, match="untrained networks differ"):
        longtail._untrained_is_shared({"SimCLR": fake(0.3), "BYOL": fake(0.0, before=0.2)})


def fake_runs(byol_learns: bool = False, seeds=(0, 1, 2)) -> tuple[dict, dict]:
    """Four methods' runs shaped like the chapter's: the three that spread the batch learn, BYOL barely (unless
    ``byol_learns``); the long-tailed labels empty every tail at ratio 100, the balanced ones cost it a little."""
    sweeps = {}
    for name, level in (("SimCLR", 0.5), ("SwAV", 0.48), ("VICReg", 0.55), ("BYOL", 0.5 if byol_learns else 0.26)):
        points = []
        for ratio in (1, 100):
            for seed in seeds:
                base = [level + 0.005 * seed] * 10
                skewed = [0.0 if c >= 7 else min(1.0, v + 0.2) for c, v in enumerate(base)] if ratio == 100 else base
                features = [v - (0.05 if ratio == 100 and c >= 7 else 0.0) for c, v in enumerate(base)]
                points.append({"label": f"ratio {ratio}, seed {seed}", "seed": seed,
                               "settings": {"data.class_ratio": ratio}, "before": {"knn_acc": 0.13},
                               "per_class": {"train_counts": COUNTS[ratio], "knn_acc": skewed, "linear_acc": skewed},
                               "per_class_balanced": {"knn_acc": features, "linear_acc": features}})
        sweeps[name] = {"sweep": f"longtail-{name}", "recipe": "simclr", "shared": {},
                        "base_config": {"backbone": "small_cnn"}, "points": points}
    untrained = {m: [0.14, 0.15, 0.13] for m in longtail.MEASURES}
    refs = {"chance": 0.1, "counts": COUNTS,
            **{labels: {ratio: {"raw pixels": {"kNN": 0.237, "kNN head": 0.4, "kNN tail": 0.16},
                                "untrained network": untrained} for ratio in (1, 100)} for labels in longtail.LABELS}}
    return {labels: longtail.seeded(sweeps, labels) for labels in longtail.LABELS}, refs


def _shown(monkeypatch) -> list[dict]:
    """The claims a finding shows, recorded instead of displayed."""
    monkeypatch.setattr(longtail.chapter, "markdown", lambda text: None)
    shown = []
    monkeypatch.setattr(longtail.claims, "show_in_notebook", lambda *args, **kwargs: shown.append(kwargs["metadata"]))
    return shown


def test_the_findings_refuse_one_seed_and_check_every_sentence_on_three(monkeypatch):
    shown = _shown(monkeypatch)
    runs, refs = fake_runs(seeds=(0,))
    with pytest.raises(ValueError, match="seed"):  # one seed: no comparison, so no verdict
        longtail.change_table(runs, refs)
    runs, refs = fake_runs()
    changes = longtail.change_table(runs, refs)
    longtail.learning_findings(runs, refs)
    longtail.label_findings(runs, refs, changes)
    longtail.feature_findings(runs, changes)
    assert len(shown) >= 9 and all(record["cookbook_claim"]["holds"] for record in shown)
    runs, refs = fake_runs(byol_learns=True)  # a control that learns is no floor: the sentences that say so fail
    with pytest.raises(longtail.claims.ClaimFailed, match="BYOL"):
        longtail.learning_findings(runs, refs)


def test_a_change_against_the_control_pairs_each_seed_and_is_worded_in_points():
    runs = {labels: longtail.seeded({"SimCLR": fake(0.3), "BYOL": fake(0.0)}, labels) for labels in longtail.LABELS}
    against = longtail._against_control(runs, "SimCLR", "kNN tail")
    assert against.values == (pytest.approx((-0.3,) * 3), pytest.approx((0.0,) * 3))
    assert against.verdict == "lower"
    assert "SimCLR's seeds -30.0 to -30.0 points (mean -30.0)" in longtail._change_words(against)
    assert longtail._margin(longtail.comparison(runs, "balanced", "SimCLR", "kNN tail")) == pytest.approx(0.28)


def test_the_method_by_method_verdicts_are_the_data_s_so_other_data_fail_them(monkeypatch):
    _shown(monkeypatch)
    runs, refs = fake_runs()  # every method loses the same 5 points of its tail: SwAV's gap is no longer "only just"
    changes = longtail.change_table(runs, refs)
    with pytest.raises(longtail.claims.ClaimFailed, match="only just"):
        longtail.tail_findings(runs, refs, changes)
