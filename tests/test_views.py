"""cookbook.book.views: chapter 8's findings hold on the committed three-seed sweeps, and say so."""
import pytest

from cookbook.book import claims, report, views


@pytest.fixture
def shown(monkeypatch):
    out = []
    monkeypatch.setattr(claims, "show_in_notebook", lambda obj, metadata: out.append(metadata[claims.METADATA_KEY]))
    monkeypatch.setattr(views.guide, "markdown", lambda text: None)
    monkeypatch.setenv(claims.STRICT_ENV, "1")
    return out


def test_the_ablation_and_strength_findings_are_checked_claims_that_hold(shown):
    ablations = {name: report.load_sweep(f"augment-ablation-{name}") for name in ("simclr", "vicreg")}
    changes = {name: views.guide.change_table(sweep, views.BASE, views.MEASURES) for name, sweep in ablations.items()}
    views.ablation_findings(ablations, changes)
    assert len(shown) == 2 * 9 and all(claim["holds"] and not claim["live"] for claim in shown)
    assert any(claim["sentence"].startswith("simclr without grayscale learns less of the class (kNN ")
               for claim in shown)
    views.strength_findings(report.load_sweep("augment-strength-simclr"))
    assert len(shown) == 18 + 15 and all(claim["holds"] for claim in shown)


def test_the_multicrop_interplay_and_digits_findings_hold_on_their_three_seeds(shown):
    views.multicrop_findings(report.load_sweep("multicrop-dino"))
    assert len(shown) == 7 and all(claim["holds"] and not claim["live"] for claim in shown)
    assert any("Two local crops recognise the shape better than none" in claim["sentence"] for claim in shown)
    views.interplay_findings(report.load_sweep("interplay-simclr"))
    assert len(shown) == 7 + 17 and all(claim["holds"] for claim in shown)
    assert shown[-1]["sentence"].startswith("No seed of any backbone collapsed")
    digits = report.load_sweep("democratizing-digits")
    changes = views.guide.change_table(digits, "default", ["kNN", "linear probe"])
    views.digits_findings(digits, changes)
    assert len(shown) == 24 + 3 and all(claim["holds"] for claim in shown)


def test_interplay_comparisons_set_each_backbone_against_its_own_untrained_network():
    interplay = report.load_sweep("interplay-simclr")
    found = views.interplay_comparisons(interplay)
    assert {what for _, what in found} == {"raw pixels", "untrained", "no jitter", "no crop", "shape colour",
                                           "background colour", "position"}
    for backbone in views.BACKBONES:
        toy = views._setting(backbone)
        assert found[backbone, "untrained"].values[1] == tuple(
            views.sweeps.seed_values(interplay, toy, untrained=True))
    # The three backbones start from different untrained networks: the ViT's is not the CNN's.
    assert found["vit_tiny", "untrained"].values[1] != found["small_cnn", "untrained"].values[1]
