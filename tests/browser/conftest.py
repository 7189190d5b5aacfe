"""Fixtures for the browser tests of the built HTML book (tests/browser/test_static_book.py).

These tests load every page of ``_build/html`` from ``file://`` in headless Chromium, driven by
Playwright (``pip install playwright``; Playwright's own browser download is never used: the
tests launch Debian's ``/usr/bin/chromium``, ``apt-get install chromium``, or the executable named
by ``COOKBOOK_CHROMIUM``).

They run only when asked for by path, after the book is built::

    python tools/executed_book.py          # or: make book
    python -m pytest -q tests/browser

A plain ``pytest`` (``make unit``) does not collect this folder, built book or not: the unit run
stays fast and never tests a stale build.

Environment:
    COOKBOOK_HTML            the built HTML folder (default: _build/html at the repository root)
    COOKBOOK_CHROMIUM        the Chromium executable (default: /usr/bin/chromium)
    COOKBOOK_SCREENSHOTS     where page screenshots and summary.txt go (default: _build/screenshots)
    COOKBOOK_REQUIRE_BROWSER=1  fail, instead of skipping, when playwright or Chromium is missing (CI)
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def html_dir() -> Path:
    return Path(os.environ.get("COOKBOOK_HTML") or ROOT / "_build" / "html").resolve()


def screenshot_dir() -> Path:
    return Path(os.environ.get("COOKBOOK_SCREENSHOTS") or ROOT / "_build" / "screenshots").resolve()


def chromium_path() -> Path:
    return Path(os.environ.get("COOKBOOK_CHROMIUM") or "/usr/bin/chromium")


NO_BUILD = "<book not built>"
# Folders of the built site that hold assets, not pages.
ASSET_DIRS = {"_static", "_sources", "_images", "_downloads", "jupyter_execute"}


def built_pages() -> list[str]:
    """Every page of the built book, relative to its folder; a placeholder when it is not built."""
    root = html_dir()
    if not (root / "index.html").is_file():
        return [NO_BUILD]  # the built_html fixture fails it with "build the book first"
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*.html")
                  if not ASSET_DIRS & set(p.relative_to(root).parts[:-1]))


def pytest_configure(config):
    config.addinivalue_line("markers", "pages(select=f): run a browser test only on the built pages for which "
                                       "f(page_name) is true")


def pytest_generate_tests(metafunc):
    """One test per built page (``page_name``); ``@pytest.mark.pages(select=f)`` keeps some of them."""
    if "page_name" in metafunc.fixturenames:
        pages = built_pages()
        marker = metafunc.definition.get_closest_marker("pages")
        if marker and pages != [NO_BUILD]:
            pages = [page for page in pages if marker.kwargs["select"](page)]
        metafunc.parametrize("page_name", pages)


def _asked_for(config: pytest.Config) -> bool:
    """True when a command-line path names this folder or a file in it (``pytest tests/browser``,
    ``pytest tests/browser/test_static_book.py::test_x``); False for ``pytest`` or ``pytest tests``."""
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        return False
    for arg in config.args:
        path = Path(arg.split("::")[0])
        if not path.is_absolute():
            path = config.invocation_params.dir / path
        path = path.resolve()
        if path == HERE or HERE in path.parents:
            return True
    return False


def pytest_ignore_collect(collection_path: Path, config: pytest.Config):
    """Leave this folder out of runs that do not name it (see the module docstring)."""
    if collection_path.parent == HERE and collection_path.name != "conftest.py" and not _asked_for(config):
        return True
    return None


def _unavailable(reason: str):
    if os.environ.get("COOKBOOK_REQUIRE_BROWSER") == "1":
        pytest.fail(f"{reason} (COOKBOOK_REQUIRE_BROWSER=1: the browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def built_html() -> Path:
    """The built HTML book folder; fails when it has not been built."""
    root = html_dir()
    if not (root / "index.html").is_file():
        pytest.fail(f"no built book at {root}: build the book first: make book (or make test)", pytrace=False)
    return root


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where page screenshots go (_build/screenshots, or COOKBOOK_SCREENSHOTS)."""
    return screenshot_dir()


@pytest.fixture(scope="session")
def browser():
    """One headless Chromium for the session; skipped (or failed, with COOKBOOK_REQUIRE_BROWSER=1)
    when playwright or Chromium is missing."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed: pip install playwright (or pip install -r requirements.txt); "
                     "do not run `playwright install`, the tests use the system Chromium")
    executable = chromium_path()
    if not executable.is_file():
        _unavailable(f"no Chromium at {executable}: apt-get install chromium, "
                     "or point COOKBOOK_CHROMIUM at a Chromium executable")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(executable), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


# Per-page findings of test_static_book.py, summed up at the end of the run (terminal and
# <screenshots>/summary.txt).
RESULTS_KEY = pytest.StashKey[dict]()


@pytest.fixture(scope="session")
def page_results(request) -> dict:
    """page name -> what loading it found; filled by test_static_book.py's `loaded` fixture."""
    return request.config.stash.setdefault(RESULTS_KEY, {})


def summarise(results: dict) -> list[str]:
    def total(key):
        return sum(len(r[key]) for r in results.values())

    labs = [lab for r in results.values() for lab in r["labs"]]
    return [
        f"pages checked: {len(results)}",
        f"console errors: {total('console_errors')}",
        f"page errors: {total('page_errors')}",
        f"external requests (blocked): {total('external_requests')}",
        f"failed requests: {total('failed_requests')}",
        f"images: {total('images')} checked, {total('broken_images')} broken, "
        f"{total('empty_widget_images')} empty Image widgets (0-byte value, not counted as broken)",
        f"pages with maths in their source: {sum(r['has_maths'] for r in results.values())}, "
        f"rendered mjx-containers: {sum(r['mjx'] for r in results.values())}",
        f"labs: {sum(r['expected_labs'] for r in results.values())} in the sources, {len(labs)} panels seen, "
        f"{sum(1 for lab in labs if lab['buttons'] and all(b['disabled'] for b in lab['buttons']))} "
        f"with every button disabled",
        f"screenshots: {sum(1 for r in results.values() if r['screenshot'])} in {screenshot_dir()}",
        f"load time: {sum(r['seconds'] for r in results.values()):.1f} s",
    ]


# What test_live_lab.py measured while driving the lab in JupyterLab (Stop latency, steps seen).
LIVE_KEY = pytest.StashKey[list]()


@pytest.fixture(scope="session")
def live_results(request) -> list:
    """Lines test_live_lab.py reports; printed with the summary and written to <screenshots>/live-lab.txt."""
    return request.config.stash.setdefault(LIVE_KEY, [])


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    live = config.stash.get(LIVE_KEY, None)
    if live:
        terminalreporter.section("live lab in JupyterLab")
        for line in live:
            terminalreporter.write_line(line)
        screenshot_dir().mkdir(parents=True, exist_ok=True)
        (screenshot_dir() / "live-lab.txt").write_text("\n".join(live) + "\n")
    results = config.stash.get(RESULTS_KEY, None)
    if not results:
        return
    lines = summarise(results)
    terminalreporter.section("built book in Chromium")
    for line in lines:
        terminalreporter.write_line(line)
    out = screenshot_dir()
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.txt").write_text(f"built HTML: {html_dir()}\n" + "\n".join(lines) + "\n")
