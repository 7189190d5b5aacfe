#!/usr/bin/env python3
"""Check that a built book page renders its ipywidgets offline, from vendored JavaScript.

Serves the built HTML folder on 127.0.0.1, opens one page in headless Chromium through
Playwright, aborts (and records) every request to a host other than localhost, and checks
that every embedded widget view was rendered by the vendored html-manager.

    python book/_widgets/check_offline.py _build/html/book/02_simclr.html \
        --screenshot /tmp/simclr.png

Needs `playwright` (in requirements.txt, for tests/browser) and a Chromium (Debian:
`apt-get install chromium`, used by default from /usr/bin/chromium; `--chromium ''` uses
Playwright's own download instead). tests/browser checks every page of the built book; this
script looks closer at the widget views of one.

Exit status 0 when all is well; 1 when a widget view did not render (or rendered as an
error widget), when a non-local request was attempted (unless its host was allowed with
--allow-host), when the page raised a JavaScript error, or when a local script failed to
load; 2 on usage errors.
"""

from __future__ import annotations

import argparse
import functools
import http.server
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
# JavaScript errors that are reported but do not fail the check. None now: the one every page
# used to raise (sphinx-thebe's inline `const THEBE_JS_URL = ...`, emitted twice by Sphinx 7.4)
# is gone since _config.yml leaves sphinx_thebe out of the extensions.
KNOWN_PAGE_ERRORS: tuple[str, ...] = ()
VIEW_SCRIPT = 'script[type="application/vnd.jupyter.widget-view+json"]'
STATE_SCRIPT = 'script[type="application/vnd.jupyter.widget-state+json"]'

# Runs in the page: one record per embedded widget view, plus counts of a few core widgets.
INSPECT_JS = """
async ([viewSelector, stateSelector]) => {
  const views = Array.from(document.querySelectorAll(viewSelector));
  const records = views.map((tag) => {
    let modelId = null;
    try { modelId = JSON.parse(tag.textContent).model_id; } catch (e) {}
    const area = tag.previousElementSibling;
    const rendered = !!(area && area.classList.contains('widget-subarea')
                        && area.querySelector('.jupyter-widgets'));
    const errors = area ? area.querySelectorAll('.jupyter-widgets-error-widget').length : 0;
    const box = area ? area.getBoundingClientRect() : {width: 0, height: 0};
    return {modelId, rendered, errors, width: box.width, height: box.height,
            text: area ? (area.innerText || '').slice(0, 200) : ''};
  });
  // An Image widget whose value is empty draws a 0-byte blob: nothing to decode, and not an error
  // (cookbook's lab leaves its dashboard widget empty when it displays the final frame below it).
  const isEmpty = async (img) => {
    if (img.naturalWidth > 0 || !img.currentSrc.startsWith('blob:')) return false;
    try { return (await (await fetch(img.currentSrc)).blob()).size === 0; } catch (e) { return false; }
  };
  const all = Array.from(document.querySelectorAll('.widget-subarea img.widget-image'));
  const empty = await Promise.all(all.map(isEmpty));
  const imgs = all.filter((img, i) => !empty[i]);
  return {
    records,
    stateScripts: document.querySelectorAll(stateSelector).length,
    counts: {
      label: document.querySelectorAll('.widget-subarea .widget-label').length,
      slider: document.querySelectorAll('.widget-subarea .widget-slider').length,
      button: document.querySelectorAll('.widget-subarea .widget-button').length,
      image: imgs.length,
      image_decoded: imgs.filter((i) => i.complete && i.naturalWidth > 0).length,
      image_empty: all.length - imgs.length,
      output: document.querySelectorAll('.widget-subarea .widget-output').length,
    },
  };
}
"""

# True once every embedded view has a rendered sibling (or there are none).
ALL_RENDERED_JS = """
(viewSelector) => Array.from(document.querySelectorAll(viewSelector)).every((tag) => {
  const area = tag.previousElementSibling;
  return area && area.classList.contains('widget-subarea')
         && area.querySelector('.jupyter-widgets');
})
"""


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # the signature is the base class's
        pass


def find_site_root(page: Path) -> Path:
    """The nearest ancestor folder of `page` holding Sphinx's `_static` folder."""
    for parent in page.parents:
        if (parent / "_static").is_dir():
            return parent
    return page.parent


def serve(root: Path) -> tuple[http.server.ThreadingHTTPServer, int]:
    handler = functools.partial(_QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "page", type=Path, help="a built HTML page, e.g. _build/html/book/x.html"
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="folder to serve (default: nearest ancestor holding _static/)",
    )
    parser.add_argument(
        "--screenshot", type=Path, default=None, help="write a full-page PNG"
    )
    parser.add_argument(
        "--min-views",
        type=int,
        default=1,
        help="fail unless the page embeds at least this many widget views "
        "(default 1; 0 for pages without widgets)",
    )
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a non-local host whose requests are reported but not fatal "
        "(still blocked); repeatable",
    )
    parser.add_argument(
        "--chromium",
        default="/usr/bin/chromium",
        help="Chromium executable ('' for Playwright's bundled browser)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="seconds to wait for the widgets to render",
    )
    args = parser.parse_args(argv)

    page = args.page.resolve()
    if not page.is_file():
        parser.error(f"no such page: {page}")
    root = (args.root or find_site_root(page)).resolve()
    try:
        rel = page.relative_to(root).as_posix()
    except ValueError:
        parser.error(f"{page} is not inside {root}")

    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        print("playwright is not installed: pip install playwright", file=sys.stderr)
        return 2

    server, port = serve(root)
    url = f"http://127.0.0.1:{port}/{rel}"
    blocked: list[str] = []  # non-local requests (all aborted)
    local_failures: list[str] = []  # local requests answered >= 400 or failed
    page_errors: list[str] = []
    console_errors: list[str] = []

    def route(route_obj):
        req_url = route_obj.request.url
        parts = urlsplit(req_url)
        if parts.scheme in ("data", "blob", "about") or parts.hostname in LOCAL_HOSTS:
            route_obj.continue_()
        else:
            blocked.append(req_url)
            route_obj.abort("blockedbyclient")

    problems: list[str] = []
    try:
        with sync_playwright() as pw:
            launch = {"args": ["--no-sandbox", "--disable-background-networking"]}
            if args.chromium:
                launch["executable_path"] = args.chromium
            browser = pw.chromium.launch(**launch)
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            context.route("**/*", route)
            tab = context.new_page()
            tab.on("pageerror", lambda exc: page_errors.append(str(exc)))
            tab.on(
                "console",
                lambda msg: (
                    console_errors.append(msg.text) if msg.type == "error" else None
                ),
            )
            tab.on(
                "response",
                lambda resp: (
                    local_failures.append(f"{resp.status} {resp.url}")
                    if resp.status >= 400
                    else None
                ),
            )
            tab.on(
                "requestfailed",
                lambda req: (
                    None
                    if req.url in blocked or any(req.url in f for f in local_failures)
                    else local_failures.append(f"failed {req.url} ({req.failure})")
                ),
            )

            tab.goto(url, wait_until="load")
            try:
                tab.wait_for_function(
                    ALL_RENDERED_JS, arg=VIEW_SCRIPT, timeout=args.timeout * 1000
                )
            except Exception:  # noqa: BLE001 - Playwright's TimeoutError; reported below
                problems.append(f"widgets not all rendered after {args.timeout:.0f} s")
            tab.wait_for_timeout(500)  # let images decode and late requests show up
            info = tab.evaluate(INSPECT_JS, [VIEW_SCRIPT, STATE_SCRIPT])
            if args.screenshot:
                tab.screenshot(path=str(args.screenshot), full_page=True)
            browser.close()
    finally:
        server.shutdown()

    records = info["records"]
    print(f"page: {url}  (serving {root})")
    print(f"widget state scripts: {info['stateScripts']}, widget views: {len(records)}")
    print(
        "core widgets seen: " + ", ".join(f"{k}={v}" for k, v in info["counts"].items())
    )
    for rec in records:
        status = "ok" if rec["rendered"] and not rec["errors"] else "NOT RENDERED"
        if rec["errors"]:
            status = "ERROR WIDGET"
        print(
            f"  view {rec['modelId']}: {status} ({rec['width']:.0f}x{rec['height']:.0f} px)"
        )
        if status != "ok":
            problems.append(f"view {rec['modelId']}: {status}: {rec['text']!r}")
    if len(records) < args.min_views:
        problems.append(
            f"expected at least {args.min_views} widget view(s), found {len(records)}"
        )
    if records and not info["stateScripts"]:
        problems.append(
            "widget views but no widget state script (was the state saved?)"
        )
    if info["counts"]["image"] != info["counts"]["image_decoded"]:
        problems.append(
            "an Image widget did not decode: "
            f"{info['counts']['image_decoded']}/{info['counts']['image']}"
        )

    allowed = {h.lower() for h in args.allow_host}
    for req_url in blocked:
        host = (urlsplit(req_url).hostname or "").lower()
        tag = "allowed, blocked" if host in allowed else "BLOCKED"
        print(f"non-local request ({tag}): {req_url}")
        if host not in allowed:
            problems.append(f"non-local request: {req_url}")
    for item in local_failures:
        print(f"local request failed: {item}")
        if urlsplit(item.split(" ", 1)[1].split(" ")[0]).path.endswith(".js"):
            problems.append(f"script failed to load: {item}")
    for err in page_errors:
        if any(known in err for known in KNOWN_PAGE_ERRORS):
            print(f"page error (known, ignored): {err}")
            continue
        print(f"page error: {err}")
        problems.append(f"JavaScript error: {err}")
    for err in console_errors:
        print(f"console error: {err}")

    if problems:
        print("\nFAILED:")
        for p in problems:
            print(f"  - {p}")
        return 1
    print("\nOK: all widget views rendered offline")
    return 0


if __name__ == "__main__":
    sys.exit(main())
