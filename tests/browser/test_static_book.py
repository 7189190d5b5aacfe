"""The built HTML book, page by page, in headless Chromium with no network.

Every ``*.html`` page of the built book (``_build/html``; the ``_static``, ``_sources`` and
``_images`` folders hold no pages of the book and are not searched) is loaded once from
``file://``, including ``index.html`` (a redirect to the first chapter), ``search.html`` and
``genindex.html``: they are cheap and run the same theme scripts. Each page is checked for:

- requests to anything but ``file:``, ``data:``, ``blob:`` or ``about:`` URLs: aborted, listed;
- console errors and uncaught JavaScript errors;
- failed requests (a missing local file, such as a font a stylesheet names);
- broken images: every ``<img>`` must have loaded, with a natural width above 0, shown or not
  (an ipywidgets ``Image`` with an empty value, a 0-byte blob, is counted apart: it has nothing
  to show; the lab leaves its dashboard widget empty when it displays the final frame below);
- maths: a chapter whose MyST source (``book/<name>.md``) has ``$`` maths shows MathJax output;
- labs: each code cell of the source that calls ``Lab(`` shows the lab's widget panel (the
  ``.cookbook-lab`` box, with rendered sliders), the final dashboard PNG after it, and its buttons
  disabled, with the static note as their tooltip (``book/_widgets/lab-static.js``).

A full-page screenshot of each page under ``book/`` is kept in ``_build/screenshots/<page>.png``
and the counts in ``_build/screenshots/summary.txt``. See conftest.py for how to run them.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOCAL_SCHEMES = ("file", "data", "blob", "about")
VIEWPORT = {"width": 1280, "height": 900}


# -- what the MyST source promises ----------------------------------------------------------
FENCE = re.compile(r"^(`{3,}|~{3,})\s*(\{code-cell\})?")
INLINE_CODE = re.compile(r"(`+).+?\1")
# dollarmath: $$...$$ or $...$ whose opening $ is not followed, and closing $ not preceded, by a space
DOLLAR_MATHS = re.compile(r"\$\$|(?<![\\$])\$(?=\S)[^$\n]*?(?<=\S)\$(?!\d)")


def read_source(page: str) -> tuple[str, list[str]] | None:
    """(markdown text outside code, [code-cell sources]) of a page's MyST source, or None."""
    source = ROOT / Path(page).with_suffix(".md")
    if not source.is_file():
        return None
    lines = source.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].strip() == "---":  # YAML front matter (jupytext header)
        end = next((i for i, line in enumerate(lines[1:], 1) if line.strip() == "---"), 0)
        lines = lines[end + 1:]
    text, cells, fence, cell = [], [], None, None
    for line in lines:
        if fence is None:
            match = FENCE.match(line.lstrip())
            if match:
                fence = match.group(1)
                cell = [] if match.group(2) else None
            else:
                text.append(INLINE_CODE.sub("", line))
        elif line.strip().startswith(fence) and set(line.strip()) == {fence[0]}:
            if cell is not None:
                cells.append("\n".join(cell))
            fence = cell = None
        elif cell is not None:
            cell.append(line)
    return "\n".join(text), cells


def source_has_maths(page: str) -> bool:
    source = read_source(page)
    return bool(source and DOLLAR_MATHS.search(source[0]))


def source_labs(page: str) -> int:
    """How many code cells of the page's source call Lab(...)."""
    source = read_source(page)
    return sum("Lab(" in cell for cell in source[1]) if source else 0


# -- loading a page ---------------------------------------------------------------------------
VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
ALL_WIDGETS_RENDERED = """
(selector) => Array.from(document.querySelectorAll(selector)).every((tag) => {
  const area = tag.previousElementSibling;
  return area && area.classList.contains('widget-subarea') && area.querySelector('.jupyter-widgets');
})
"""
# page.evaluate has no timeout of its own: each promise races a timer
WITHIN = """
async ([what, seconds]) => {
  const timeout = new Promise((_, reject) => setTimeout(
    () => reject(new Error(`${what} did not settle within ${seconds} s`)), seconds * 1000));
  const promises = {
    mathjax: () => (window.MathJax && MathJax.startup && MathJax.startup.promise) || Promise.resolve(),
    fonts: () => document.fonts.ready,
  };
  await Promise.race([promises[what](), timeout]);
}
"""
IMAGES_COMPLETE = "() => Array.from(document.images).every((img) => img.complete)"
INSPECT = """
async () => {
  const short = (s) => (s.length > 100 ? s.slice(0, 100) + '...' : s);
  // An ipywidgets Image whose value is empty (b'') draws a 0-byte blob: nothing to show, not a
  // broken picture (the lab's dashboard widget stays empty when the static figure follows it).
  const emptyBlob = async (img) => {
    if (!img.classList.contains('widget-image') || !img.currentSrc.startsWith('blob:')) return false;
    try { return (await (await fetch(img.currentSrc)).blob()).size === 0; } catch (e) { return false; }
  };
  const images = await Promise.all(Array.from(document.images).map(async (img) => ({
    src: short(img.currentSrc || img.getAttribute('src') || ''),
    complete: img.complete, width: img.naturalWidth,
    shown: img.getClientRects().length > 0,
    empty_widget: img.naturalWidth === 0 && await emptyBlob(img),
  })));
  const isPng = (img) => /^data:image\\/png[;,]/i.test(img.currentSrc) || /\\.png([?#].*)?$/i.test(img.currentSrc);
  const labs = Array.from(document.querySelectorAll('.cookbook-lab')).map((panel) => {
    const cell = panel.closest('div.cell');
    const input = cell && cell.querySelector('.cell_input');
    const after = cell ? Array.from(cell.querySelectorAll('.cell_output img')).filter((img) =>
      !panel.contains(img) && (panel.compareDocumentPosition(img) & Node.DOCUMENT_POSITION_FOLLOWING)) : [];
    const img = after[0];
    const note = panel.querySelector('.cookbook-lab-static-note');
    return {
      source: input ? short(input.innerText.trim().replace(/\\s+/g, ' ')) : '(no cell input)',
      sliders: panel.querySelectorAll('.widget-slider, .widget-hslider').length,
      buttons: Array.from(panel.querySelectorAll('button')).map((b) => ({
        text: b.innerText.trim() || b.title, disabled: b.disabled, title: b.title})),
      panel_title: panel.title,
      note: note ? note.innerText.trim() : null,
      image: img ? {src: short(img.currentSrc), png: isPng(img), complete: img.complete,
                    width: img.naturalWidth} : null,
    };
  });
  // cells whose code calls Lab(: shown whether or not their panel carries .cookbook-lab
  const labCells = Array.from(document.querySelectorAll('div.cell')).filter((cell) => {
    const input = cell.querySelector('.cell_input');
    return input && input.innerText.includes('Lab(');
  }).map((cell) => ({
    sliders: cell.querySelectorAll('.cell_output .widget-slider, .cell_output .widget-hslider').length,
    panel: !!cell.querySelector('.cookbook-lab'),
  }));
  return {images, labs, labCells, mjx: document.querySelectorAll('mjx-container').length,
          title: document.title};
}
"""


def _try(action) -> str | None:
    """Run a wait; the Playwright timeout's message when it gives up (reported by the tests)."""
    try:
        action()
    except Exception as err:  # noqa: BLE001 - Playwright's TimeoutError or a navigation error
        return str(err).splitlines()[0]
    return None


class Findings(dict):
    """What loading one page found (a dict), with a short repr for pytest's failure report."""

    def __repr__(self):
        return f"<findings for {self['page']}>"


def load_page(browser, root: Path, page_name: str, screenshots: Path) -> Findings:
    started = time.perf_counter()
    result = Findings(page=page_name, label=page_name, external_requests=[], failed_requests=[],
                      console_errors=[], page_errors=[], waits=[], images=[], broken_images=[],
                      empty_widget_images=[], labs=[], lab_cells=[], mjx=0, screenshot=None,
                      has_maths=source_has_maths(page_name), expected_labs=source_labs(page_name))
    context = browser.new_context(viewport=VIEWPORT, service_workers="block")
    page = context.new_page()

    def route(route_):
        url = route_.request.url
        if url.split(":", 1)[0].lower() in LOCAL_SCHEMES:
            route_.continue_()
        else:
            result["external_requests"].append(url)
            route_.abort("blockedbyclient")

    def console(msg):
        # an aborted external request also logs "Failed to load resource: net::ERR_BLOCKED_BY_CLIENT":
        # it is counted once, as an external request
        if msg.type == "error" and "ERR_BLOCKED_BY_CLIENT" not in msg.text:
            where = msg.location or {}
            result["console_errors"].append(f"{msg.text} [{where.get('url', '?')}:{where.get('lineNumber', '?')}]")

    def failed(request):
        if request.url not in result["external_requests"]:
            result["failed_requests"].append(f"{request.url} ({request.failure})")

    page.route("**/*", route)
    page.on("console", console)
    page.on("pageerror", lambda err: result["page_errors"].append(str(err).splitlines()[0]))
    page.on("requestfailed", failed)
    try:
        url = (root / page_name).as_uri()
        page.goto(url, wait_until="load", timeout=30_000)
        refresh = page.locator('meta[http-equiv="refresh" i]')
        if refresh.count():  # index.html: a redirect to the first chapter; check where it lands
            target = refresh.first.get_attribute("content").split("url=", 1)[-1].strip()
            page.wait_for_url(lambda u: u != url, timeout=10_000)
            page.wait_for_load_state("load")
            result["label"] = f"{page_name} (a redirect to {target})"
        waits = [
            _try(lambda: page.wait_for_function(ALL_WIDGETS_RENDERED, arg=VIEW_SCRIPT, timeout=20_000)),
            _try(lambda: page.evaluate(WITHIN, ["mathjax", 20])),
            # an image the browser loads lazily would never load in a page nobody scrolls
            _try(lambda: page.evaluate("() => document.querySelectorAll('img[loading=lazy]')"
                                       ".forEach((i) => { i.loading = 'eager'; })")),
            _try(lambda: page.wait_for_function(IMAGES_COMPLETE, timeout=10_000)),
            _try(lambda: page.evaluate(WITHIN, ["fonts", 10])),
            _try(lambda: page.wait_for_load_state("networkidle", timeout=5_000)),
        ]
        result["waits"] += [w for w in waits if w]
        found = page.evaluate(INSPECT)
        result["clipped"] = page.evaluate(CLIPPED)
        result.update(images=found["images"], labs=found["labs"], lab_cells=found["labCells"], mjx=found["mjx"])
        result["empty_widget_images"] = [img for img in found["images"] if img["empty_widget"]]
        result["broken_images"] = [img for img in found["images"]
                                   if not (img["complete"] and img["width"] > 0) and not img["empty_widget"]]
        if Path(page_name).parts[0] == "book":
            shot = screenshots / f"{Path(page_name).stem}.png"
            shot.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
            result["screenshot"] = str(shot)
            # The lab's comparison of runs on its own (chapter 1 shows it, book/_static/lab-compare-static.png).
            for number, cell in enumerate(page.locator("div.cell", has_text="lab.compare(").all()):
                cell.screenshot(path=str(screenshots / f"{Path(page_name).stem}-compare-{number}.png"))
        page.wait_for_timeout(100)  # events still queued (a late console message) reach the lists
    except Exception as err:  # noqa: BLE001 - reported by test_page_loads; the other checks see what was found
        result["waits"].append(f"loading failed: {str(err).splitlines()[0]}")
    finally:
        context.close()
    result["seconds"] = time.perf_counter() - started
    return result


# Content wider than the article's column must scroll inside it (book/_static/cookbook.css), not run past its
# right edge or get cut off by an ancestor: a table, a listing, an output, a display equation or an image
# whose box ends right of the column is fine only inside a horizontally scrolling box that itself fits.
CLIPPED = """() => {
  const main = document.querySelector('article.bd-article') || document.querySelector('main');
  if (!main) return [];
  const found = [];
  for (const el of main.querySelectorAll('table, pre, mjx-container[display="true"], img, div.cell_output')) {
    const box = el.getBoundingClientRect();
    if (box.width === 0) continue;
    let cut = null;
    for (let a = el.parentElement; a; a = a.parentElement) {
      const overflow = getComputedStyle(a).overflowX, edge = a.getBoundingClientRect().right;
      if (overflow === 'auto' || overflow === 'scroll') break;  // it scrolls sideways inside a
      if ((overflow === 'hidden' || overflow === 'clip') && box.right > edge + 1) { cut = edge; break; }
      if (a === main) { if (box.right > edge + 1) cut = edge; break; }
    }
    if (cut !== null) {
      found.push(`${el.tagName.toLowerCase()} cut ${Math.round(box.right - cut)} px at the right: `
                 + (el.textContent || el.getAttribute('src') || '').trim().slice(0, 60));
    }
  }
  return found;
}"""


@pytest.fixture
def loaded(page_name, built_html, browser, page_results, screenshots) -> dict:
    """What loading `page_name` found; each page is loaded once per session."""
    if page_name not in page_results:
        page_results[page_name] = load_page(browser, built_html, page_name, screenshots)
    return page_results[page_name]


def listing(items) -> str:
    return "".join(f"\n  - {item}" for item in items)


# -- the checks ---------------------------------------------------------------------------------
def test_page_loads(loaded, page_name):
    assert not loaded["waits"], f"{loaded['label']}: did not load and settle:{listing(loaded['waits'])}"


def test_no_external_requests(loaded, page_name):
    external = loaded["external_requests"]
    assert not external, (f"{loaded['label']}: {len(external)} request(s) to the network (blocked; the book must "
                          f"work offline, vendor the file instead):{listing(external)}")


def test_no_console_errors(loaded, page_name):
    errors = loaded["console_errors"]
    assert not errors, f"{loaded['label']}: {len(errors)} console error(s):{listing(errors)}"


def test_no_page_errors(loaded, page_name):
    errors = loaded["page_errors"]
    assert not errors, f"{loaded['label']}: {len(errors)} uncaught JavaScript error(s):{listing(errors)}"


def test_no_failed_requests(loaded, page_name):
    failed = loaded["failed_requests"]
    assert not failed, (f"{loaded['label']}: {len(failed)} local request(s) failed (a file missing from the "
                        f"build?):{listing(failed)}")


def test_no_broken_images(loaded, page_name):
    broken = loaded["broken_images"]
    assert not broken, (f"{loaded['label']}: {len(broken)} of {len(loaded['images'])} image(s) did not load:"
                        + listing(f"{img['src']} (complete={img['complete']}, naturalWidth={img['width']}, "
                                  f"{'shown' if img['shown'] else 'hidden'})" for img in broken))


@pytest.mark.pages(select=source_has_maths)
def test_maths_rendered(loaded, page_name):
    assert loaded["mjx"] > 0, f"{loaded['label']}: its source has $ maths but MathJax rendered none (no mjx-container)"


def _lab_problems(loaded, page_name) -> tuple[list[dict], list[str]]:
    expected, labs = loaded["expected_labs"], loaded["labs"]
    problems = []
    if len(labs) != expected:
        cells = loaded["lab_cells"]
        problems.append(
            f"{expected} code cell(s) of the source call Lab(, but the page has {len(labs)} .cookbook-lab panel(s) "
            f"({len(cells)} cell(s) call Lab(, {sum(c['sliders'] > 0 for c in cells)} of them with rendered sliders; "
            "is the panel's add_class('cookbook-lab') in the build?)")
    return labs, problems


@pytest.mark.pages(select=source_labs)
def test_lab_panel_and_dashboard(loaded, page_name):
    labs, problems = _lab_problems(loaded, page_name)
    for i, lab in enumerate(labs, 1):
        name = f"lab {i} ({lab['source']})"
        if not lab["sliders"]:
            problems.append(f"{name}: no rendered slider in its panel")
        image = lab["image"]
        if image is None:
            problems.append(f"{name}: no <img> in the cell output after the panel (the final dashboard)")
        elif not (image["png"] and image["complete"] and image["width"] > 300):
            problems.append(f"{name}: the dashboard image is not a loaded PNG wider than 300 px: {image}")
    assert not problems, f"{loaded['label']}:{listing(problems)}"


@pytest.mark.pages(select=source_labs)
def test_lab_buttons_disabled(loaded, page_name):
    labs, problems = _lab_problems(loaded, page_name)
    for i, lab in enumerate(labs, 1):
        name = f"lab {i} ({lab['source']})"
        if not lab["buttons"]:
            problems.append(f"{name}: no buttons in its panel")
        live = [b["text"] for b in lab["buttons"] if not b["disabled"]]
        if live:
            problems.append(f"{name}: button(s) not disabled on the static page: {', '.join(live)}")
        untitled = [b["text"] for b in lab["buttons"] if not b["title"]]
        if untitled:
            problems.append(f"{name}: button(s) without the static note as their tooltip: {', '.join(untitled)}")
    assert not problems, f"{loaded['label']} (book/_widgets/lab-static.js disables them):{listing(problems)}"


def test_nothing_is_cut_off_at_the_columns_edge(loaded, page_name):
    clipped = loaded["clipped"]  # missing when the page failed before it was inspected: test_page_loads says why
    assert not clipped, (f"{loaded['label']}: {len(clipped)} element(s) wider than the content column and not in a "
                         f"box that scrolls sideways (see book/_static/cookbook.css):{listing(clipped)}")


def test_the_cut_off_check_finds_content_cut_or_running_past_the_column_and_spares_what_scrolls(browser, tmp_path):
    page_file = tmp_path / "page.html"
    page_file.write_text(
        '<html><body><main><article class="bd-article" style="width:400px">'
        '<div style="overflow:hidden; width:400px">'
        '<table><tr><td style="min-width:900px">hidden</td></tr></table></div>'
        '<div style="overflow-x:auto; width:400px">'
        '<table><tr><td style="min-width:900px">scrolls</td></tr></table></div>'
        '<pre style="width:900px">runs past</pre></article></main></body></html>')
    page = browser.new_page()
    try:
        page.goto(page_file.as_uri())
        found = page.evaluate(CLIPPED)
    finally:
        page.close()
    assert [line.split(": ", 1)[1] for line in found] == ["hidden", "runs past"], found
