"""The sweep viewer in the built HTML book, offline: moving a slider changes the figure and the readout.

Every page whose MyST source shows a sweep (``sweep_viewer.show(``) is loaded from ``file://``; on
each viewer the test moves every slider one notch with the keyboard, as a reader would, and checks
that the drawn run, the readout and the slider's value all change, with no console error.
"""
from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PAGES = [p.stem for p in sorted((ROOT / "book").glob("[0-9][0-9]_*.md")) if "sweep_viewer.show(" in p.read_text()]


def test_the_book_shows_a_sweep_viewer_somewhere():
    assert PAGES, "no chapter shows a sweep viewer (sweep_viewer.show): this test would check nothing"


@pytest.mark.parametrize("chapter", PAGES)
def test_moving_a_slider_changes_the_figure(browser, built_html, chapter, screenshots):
    page_file = built_html / "book" / f"{chapter}.html"
    assert page_file.is_file(), f"{page_file} is missing: the book build did not render {chapter}"
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    outside, errors = [], []
    context.route(re.compile(r"^(?!file:|data:|blob:|about:)"),
                  lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    try:
        page.goto(page_file.as_uri(), wait_until="load")
        viewers = page.locator(".cookbook-sweep-viewer")
        assert viewers.count() >= 1, f"{chapter}: no sweep viewer on the page"
        for number in range(viewers.count()):
            viewer = viewers.nth(number)
            figure, readout = viewer.locator("svg.sv-figure"), viewer.locator(".sv-readout")
            assert figure.locator("polyline").count() >= 4, f"{chapter}: the viewer drew no curves"
            sliders = viewer.locator("input[type=range]")
            assert sliders.count() >= 1, f"{chapter}: the viewer has no slider"
            for s in range(sliders.count()):
                slider = sliders.nth(s)
                before = (figure.inner_html(), readout.inner_text(), slider.input_value())
                slider.focus()
                page.keyboard.press("ArrowRight")
                after = (figure.inner_html(), readout.inner_text(), slider.input_value())
                assert after[2] != before[2], f"{chapter}: the slider {s} did not move"
                assert after[0] != before[0], f"{chapter}: moving slider {s} left the figure as it was"
                assert after[1] != before[1], f"{chapter}: moving slider {s} left the readout as it was ({before[1]})"
            screenshots.mkdir(parents=True, exist_ok=True)
            viewer.screenshot(path=str(screenshots / f"{chapter}-sweep-viewer-{number}.png"))
        assert not errors, f"{chapter}: console errors {errors}"
        assert not outside, f"{chapter}: requests to other origins {outside}"
    finally:
        context.close()
