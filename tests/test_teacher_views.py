"""cookbook.book.teacher_views: chapter 10's readings, on small fake sweeps shaped like the kept ones."""
import math

import pytest

from cookbook.book import claims, report, sweeps, teacher_views, teachers

K = 256
LOG_K = math.log(K)


def dino_point(label: str, seed: int, per_image: float, average: float, knn: float = 0.2) -> dict:
    """A DINO run whose logged teacher entropies are ``per_image`` and ``average`` (fractions of log K)."""
    history = [{"step": s, "loss": 1.0, "teacher_entropy": per_image * LOG_K,
                "teacher_batch_entropy": average * LOG_K} for s in range(20, 301, 20)]
    measured = {"rankme": 20.0, "mean_std": 0.05, "std_if_uniform": 0.088}
    return {"label": f"{label}, seed {seed}", "settings": {}, "seed": seed, "history": history,
            "before": {"knn_acc": 0.133 + 0.001 * seed, **measured},
            "after": {"knn_acc": knn + 0.002 * seed, **measured}}


def dino_sweep() -> dict:
    settings = {"healthy": (0.3, 0.9, 0.2), "no centring": (0.0, 0.0, 0.13), "flat": (0.995, 0.999, 0.2)}
    points = [dino_point(label, seed, *values) for label, values in settings.items() for seed in range(3)]
    return {"sweep": "fake-dino", "recipe": "dino", "base_config": {"out_dim": K, "seed": 0}, "shared": {},
            "points": points}


def test_memory_is_the_number_of_steps_an_ema_averages():
    assert teacher_views.memory(0.9) == pytest.approx(10)
    assert teacher_views.memory(0.999) == pytest.approx(1000)
    assert teacher_views.memory(0.0) == 1 and teacher_views.memory(1.0) == math.inf


def test_the_teachers_state_uses_chapter_4s_thresholds():
    assert teacher_views.state(0.0, teachers.ONE_PROTOTYPE / 2) == teacher_views.ONE_PROTOTYPE
    assert teacher_views.state(teachers.UNIFORM, 1.0) == teacher_views.UNIFORM
    assert teacher_views.state(0.3, 0.9) == teacher_views.BETWEEN


def test_entropies_are_over_log_k_and_averaged_over_the_last_logged_steps():
    point = dino_point("healthy", 0, 0.3, 0.9)
    point["history"][-1]["teacher_entropy"] = 0.8 * LOG_K  # one noisy step moves the mean by a fifth of it
    per_image, average = teacher_views.entropies(dino_sweep(), point)
    assert per_image == pytest.approx((4 * 0.3 + 0.8) / 5) and average == pytest.approx(0.9)
    with pytest.raises(ValueError, match="no teacher entropies"):
        teacher_views.entropies(dino_sweep(), {**point, "history": [{"step": 0, "loss": 1.0}]})


def test_teacher_claims_hold_only_for_the_state_every_seed_is_in(monkeypatch):
    monkeypatch.setattr(claims, "show_in_notebook", lambda *args, **kwargs: None)
    sweep = dino_sweep()
    found = teacher_views.teacher_claims(sweep, {"no centring": teacher_views.ONE_PROTOTYPE,
                                                 "flat": teacher_views.UNIFORM})
    assert found["healthy"] == [teacher_views.BETWEEN] * 3
    with pytest.raises(claims.ClaimFailed, match="healthy"):
        teacher_views.teacher_claims(sweep, {"healthy": teacher_views.UNIFORM})


def test_breaking_names_the_settings_that_learn_nothing_and_flags_teachers_in_a_corner(monkeypatch):
    monkeypatch.setattr(claims, "show_in_notebook", lambda *args, **kwargs: None)
    monkeypatch.setattr(teacher_views.chapter, "markdown", lambda text: None)
    found = teacher_views.breaking({"DINO": dino_sweep()})
    assert found["DINO", "healthy"] == {"breaks": [], "corner": ""}
    assert found["DINO", "no centring"] == {"breaks": ["no better than its untrained network"],
                                            "corner": "one prototype in 3 of 3 seeds"}
    assert found["DINO", "flat"] == {"breaks": [], "corner": "uniform in 3 of 3 seeds"}
    teacher_views.breaks_findings(found, {"DINO": ["no centring"]}, {"DINO": ["no centring", "flat"]})
    with pytest.raises(claims.ClaimFailed):
        teacher_views.breaks_findings(found, {"DINO": ["no centring", "flat"]})
    with pytest.raises(claims.ClaimFailed):
        teacher_views.breaks_findings(found, {}, {"DINO": ["flat"]})


def test_the_chapters_four_sweeps_share_one_measurement_of_their_references():
    # Same images, same kNN probe: sweeps.references measures them once (chapter 10 reads four sweeps).
    found = [sweeps.references(report.load_sweep(name)) for name in
             ("ema-byol", "momentum-moco", "predictor-byol", "ema-dino")]
    assert all(refs is found[0] for refs in found)
