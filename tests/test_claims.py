"""Claims as code: the comparison's verdict and words, and when a false claim stops a chapter."""
import json
import shutil
import sys
from pathlib import Path

import jupytext
import pytest

from cookbook.book import claims, report, sweeps

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import executed_book  # noqa: E402


@pytest.fixture
def shown(monkeypatch):
    """What claim() displays, instead of a notebook's output."""
    out = []
    monkeypatch.setattr(claims, "show_in_notebook", lambda obj, metadata: out.append((obj.data, metadata)))
    return out


def test_a_difference_needs_seed_ranges_that_do_not_overlap():
    apart = claims.compare([0.50, 0.52, 0.54], [0.41, 0.44, 0.47], names=("A", "B"))
    assert apart.verdict == "higher" and apart.gap == pytest.approx(0.08)
    assert "higher by 8.0 points" in apart.words()
    assert "52.0% (3 seeds, 50.0-54.0%) for A against 44.0% (3 seeds, 41.0-47.0%) for B" in apart.words()
    assert claims.compare([0.41, 0.44, 0.47], [0.50, 0.52, 0.54], names=("B", "A")).verdict == "lower"
    # Means 7 points apart, ranges overlapping by one seed: no difference, and said so.
    overlapping = claims.compare([0.45, 0.52, 0.56], [0.41, 0.44, 0.46], names=("A", "B"))
    assert overlapping.verdict == "no difference"
    assert "no difference here, the gap of 7.3 points is inside the seeds' spread" in overlapping.words()


def test_a_reference_has_no_seeds_but_runs_need_three():
    beside_pixels = claims.compare([0.30, 0.31, 0.33], 0.236, names=("SimCLR", "raw pixels"))
    assert beside_pixels.verdict == "higher" and "23.6% for raw pixels" in beside_pixels.words()
    with pytest.raises(ValueError, match="2 seed.*at least 3 seeds"):
        claims.compare([0.5, 0.6], [0.4, 0.41, 0.42], names=("two seeds", "three"))
    with pytest.raises(ValueError, match="one number is a reference"):
        claims.compare(0.5, [0.4, 0.41, 0.42], names=("one run", "three"))
    plain = claims.compare([20.0, 22.0, 25.0], [2.0, 2.1, 1.9], names=("VICReg", "no variance term"),
                           measure="RankMe", percent=False)
    assert plain.words() == ("RankMe 22.3 (3 seeds, 20-25) for VICReg against 2 (3 seeds, 1.9-2.1) for "
                             "no variance term: higher by 20.3")


def test_states_shows_the_sentence_with_its_numbers_and_checks_the_verdict(shown, monkeypatch):
    monkeypatch.delenv(claims.STRICT_ENV, raising=False)
    comparison = claims.compare([0.50, 0.52, 0.54], [0.41, 0.44, 0.47], names=("A", "B"))
    assert comparison.states("higher", "A learns more than B")
    (text, metadata), = shown
    assert text.startswith("A learns more than B (kNN 52.0%") and metadata[claims.METADATA_KEY]["holds"]
    with pytest.raises(claims.ClaimFailed, match="A and B learn alike.*the data say 'higher'"):
        comparison.states("no difference", "A and B learn alike")  # committed data: false everywhere
    with pytest.raises(ValueError, match="one of higher, lower, no difference"):
        comparison.states("better", "A is better")


def test_a_false_live_claim_stops_the_build_but_only_notes_in_a_readers_kernel(shown, monkeypatch):
    monkeypatch.delenv(claims.STRICT_ENV, raising=False)
    assert not claims.claim("this run beats raw pixels", False, live=True, evidence="kNN 20.1% against 23.6%")
    text, metadata = shown[-1]
    assert "came out differently" in text and "kNN 20.1% against 23.6%" in text
    assert metadata[claims.METADATA_KEY] == {"sentence": "this run beats raw pixels", "holds": False, "live": True}
    monkeypatch.setenv(claims.STRICT_ENV, "1")
    with pytest.raises(claims.ClaimFailed, match="this run beats raw pixels"):
        claims.claim("this run beats raw pixels", False, live=True)


def test_the_factor_rule_uses_chance_and_the_untrained_network():
    untrained = [0.40, 0.42, 0.44]
    assert claims.factor_verdict([0.18, 0.20, 0.21], chance=0.17, untrained=untrained) == "drops it"
    assert claims.factor_verdict([0.25, 0.27, 0.30], 0.17, untrained) == "keeps less of it than the untrained network"
    assert claims.factor_verdict([0.50, 0.55, 0.60], 0.17, untrained) == "keeps more of it than the untrained network"
    assert claims.factor_verdict([0.39, 0.43, 0.47], 0.17, untrained) == "keeps it as the untrained network does"


def test_a_sweeps_seeds_and_references_come_from_its_data():
    sweep = report.load_sweep("augment-ablation-simclr")
    values = sweeps.seed_values(sweep, "all augmentations")
    assert len(values) == len(sweep["declaration"]["seeds"])
    assert values == [p["after"]["knn_acc"] for p in sweep["points"] if p["label"].startswith("all augmentations,")]
    before = sweeps.seed_values(sweep, "all augmentations", "background colour", untrained=True)
    assert before == [p["before"]["bg_hue_bin_knn_acc"] for p in sweep["points"]
                      if p["label"].startswith("all augmentations,")]
    with pytest.raises(KeyError, match="no setting 'no crops'.*no crop"):
        sweeps.seed_values(sweep, "no crops")
    refs = sweeps.references(sweep)
    # The toy shapes: 10 classes, 6 colour bins; chance is the most common test label's share.
    assert 0.1 <= refs["chance"]["kNN"] < 0.15 and 1 / 6 <= refs["chance"]["background colour"] < 0.25
    assert refs["chance"]["kNN"] < refs["raw pixels"]["kNN"] < 0.3


def test_a_false_claim_in_a_chapter_fails_the_books_execution_naming_the_claim(tmp_path, monkeypatch, capsys):
    """make test's chapter execution (tools/executed_book.py) on chapter 1 with one of its claims turned
    false: the verdict it expects of SimCLR against raw pixels flipped from "higher" to "lower"."""
    root = ROOT
    sentence = "SimCLR's features recognise the shape better than raw pixels do"
    source = (root / "book" / "01_what_is_ssl.md").read_text()
    assert source.count(f'"higher", "{sentence}"') == 1, "the claim this test falsifies is no longer in chapter 1"
    repo = tmp_path / "repo"
    (repo / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(root / name, repo / name)
    (repo / "book" / "intro.md").write_text("# Intro\n")
    falsified = jupytext.reads(source.replace(f'"higher", "{sentence}"', f'"lower", "{sentence}"'), fmt="md:myst")
    (repo / "book" / "01_what_is_ssl.md").write_text("# the source of the pair\n")
    jupytext.write(falsified, repo / "book" / "01_what_is_ssl.ipynb")
    monkeypatch.setattr(executed_book, "ROOT", repo)
    monkeypatch.setattr(executed_book, "BUILD", repo / "_build")
    monkeypatch.setattr(executed_book, "STAGE", repo / "_executed")
    monkeypatch.delenv(claims.STRICT_ENV, raising=False)  # the build sets it itself
    assert executed_book.main(["--timeout", "240"]) == 1
    failure = capsys.readouterr().err
    assert "01_what_is_ssl FAILED" in failure and "ClaimFailed" in failure and sentence in failure
    assert "the data say 'higher', the sentence 'lower'" in failure
    assert not (repo / "_build" / "html").exists()
    executed = json.loads((repo / "_executed" / "book" / "01_what_is_ssl.ipynb").read_text())
    assert not any(c.get("outputs") for c in executed["cells"]), "a failed chapter's outputs never reach the book"
