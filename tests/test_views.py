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
