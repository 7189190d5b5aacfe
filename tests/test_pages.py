"""What a page of the HTML book shows around the figures: listings that scroll instead of being cut off,
settings as small tables instead of raw dict or dataclass dumps, and the book's own CSS registered."""
import inspect
from pathlib import Path

import pytest
import yaml

from cookbook.book import chapter
from recipes import vicreg

ROOT = Path(__file__).resolve().parents[1]


def test_show_displays_a_listing_that_scrolls_sideways_and_keeps_its_plain_text(monkeypatch):
    shown = []
    monkeypatch.setattr(chapter, "display", shown.append)
    chapter.show(vicreg.Config)
    [listing] = shown
    bundle = listing._repr_mimebundle_()
    assert bundle["text/plain"] == inspect.getsource(vicreg.Config)
    html = bundle["text/html"]
    assert html.startswith('<div class="cookbook-listing" style="overflow-x: auto; max-width: 100%;">')
    assert "highlight" in html and html.endswith("</div>")


def test_settings_prints_a_small_table_not_a_dump(monkeypatch):
    shown = []
    monkeypatch.setattr(chapter, "markdown", shown.append)
    chapter.settings({"sim_coeff": 25.0, "std_coeff": 25.0, "cov_coeff": 1.0, "lr": 0.005})
    assert shown[-1].splitlines() == ["| setting | value |", "|---|---|", "| `sim_coeff` | 25 |",
                                      "| `std_coeff` | 25 |", "| `cov_coeff` | 1 |", "| `lr` | 0.005 |"]
    config = vicreg.Config.for_budget("quick")
    chapter.settings(config, ["sim_coeff", "augment.jitter_strength"], title="VICReg's weights")
    assert shown[-1].startswith("**VICReg's weights**\n\n| setting | value |")
    assert f"| `augment.jitter_strength` | {config.augment.jitter_strength:g} |" in shown[-1]
    changed = vicreg.Config.for_budget("quick", std_coeff=0.0)
    table = chapter.settings_markdown(changed, differ_from=config, notes={"std_coeff": "the variance term off"})
    assert table.splitlines()[2:] == ["| `std_coeff` | 0 | the variance term off |"]
    with pytest.raises(KeyError, match="no setting 'nope'"):
        chapter.settings_markdown(config, ["nope"])


def test_the_books_css_is_registered_and_lets_wide_outputs_scroll():
    config = yaml.safe_load((ROOT / "_config.yml").read_text())["sphinx"]["config"]
    assert "book/_static/cookbook.css" in config["html_static_path"] and "cookbook.css" in config["html_css_files"]
    css = (ROOT / "book/_static/cookbook.css").read_text()
    for selector in (".cookbook-listing", "div.cell_output pre", ".pst-scrollable-table-container",
                     'mjx-container[display="true"]'):
        block = css[css.index(selector):]
        assert "overflow-x: auto" in block[:block.index("}")], f"{selector} does not scroll sideways"
