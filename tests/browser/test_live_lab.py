"""The live lab in JupyterLab 4, driven like a person: Start, Stop, Reset, a slider, Start again.

A JupyterLab server is started on 127.0.0.1 (a free port, no token) in a temporary folder holding
one notebook that shows ``Lab("simclr")``; Chromium opens it, runs its cells and presses the
panel's buttons, reading the status line and the dashboard image as a reader sees them. The
server runs the repository's own environment (ipywidgets 8, ipykernel 7); Colab's stack is
exercised by ``make test``'s execution of every chapter. The test stops the server it started, by
its process id.
"""
from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

STEP = re.compile(r"step (\d+)/(\d+)")
# Short chunks so the panel redraws about once a second on two cores; 2000 steps: never finished.
STEPS_PER_CHUNK = 10
NOTEBOOK_CODE = ('from cookbook.book.lab import Lab\n\n'
                 f'lab = Lab("simclr", budget="quick", steps=2000, chunk={STEPS_PER_CHUNK}, autorun=False)\n'
                 'lab')
VIEWER_CODE = ('from cookbook.book import report, sweep_viewer\n\n'
               'sweep_viewer.show(report.load_sweep("simclr-temperature-batch"))')


KERNEL_IDLE = ("() => { const w = window.jupyterapp.shell.currentWidget;"
               " const kernel = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;"
               " return !!kernel && kernel.status === 'idle'; }")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def jupyterlab(tmp_path_factory):
    """A JupyterLab server on 127.0.0.1 serving a folder with ``lab.ipynb``; yields its base URL."""
    folder = tmp_path_factory.mktemp("jupyterlab")
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "lab", "metadata": {},
                           "outputs": [], "source": NOTEBOOK_CODE}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (folder / "lab.ipynb").write_text(json.dumps(notebook))
    viewer = {**notebook, "cells": [{**notebook["cells"][0], "id": "viewer", "source": VIEWER_CODE}]}
    (folder / "sweep.ipynb").write_text(json.dumps(viewer))
    port = free_port()
    home = folder / "home"  # settings, workspaces and runtime files of this server only
    env = {k: v for k, v in os.environ.items() if k not in ("COOKBOOK_QUICK", "COOKBOOK_CACHE")}
    env.update(HOME=str(home), JUPYTER_CONFIG_DIR=str(home / "config"), JUPYTER_RUNTIME_DIR=str(home / "runtime"),
               JUPYTERLAB_WORKSPACES_DIR=str(home / "workspaces"), JUPYTER_PLATFORM_DIRS="1")
    log = open(folder / "server.log", "w")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyter", "lab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
         "--IdentityProvider.token=", "--ServerApp.password=", f"--ServerApp.root_dir={folder}",
         "--LabApp.expose_app_in_browser=True", "--LabApp.news_url=None",
         "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
         *(["--allow-root"] if os.geteuid() == 0 else [])],  # CI containers run as root
        cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited ({server.returncode}):\n{(folder / 'server.log').read_text()[-3000:]}")
            try:
                urllib.request.urlopen(f"{url}/api/status", timeout=2)
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"JupyterLab did not answer within 90 s:\n"
                                f"{(folder / 'server.log').read_text()[-3000:]}")
                time.sleep(0.5)
        yield url
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)  # the server and the kernels it started
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()
        log.close()


def status_of(panel) -> str:
    return panel.locator(".widget-label").filter(has_text=re.compile(r"step \d+/|press Start")).first.inner_text()


def step_of(panel) -> int:
    match = STEP.search(status_of(panel))
    return int(match.group(1)) if match else -1


def wait_for(condition, timeout: float, what: str, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"{what} did not happen within {timeout:.0f} s", pytrace=False)


def offline_page(context):
    """A page of ``context`` that may reach only the local server; returns it and the list of the
    other origins it asked for (each request aborted)."""
    outside = []
    context.route(re.compile(r"^(?!http://127\.0\.0\.1|data:|blob:|about:)"),
                  lambda route: (outside.append(route.request.url), route.abort()))
    page = context.new_page()
    page.set_default_timeout(30_000)
    return page, outside


def run_all_cells(page, url: str) -> None:
    """Open a notebook in its own JupyterLab workspace (``url``) and, once its kernel is up, run
    it as Run > Run All Cells does."""
    page.goto(url, wait_until="domcontentloaded")
    page.wait_for_function("window.jupyterapp && document.querySelector('.jp-Notebook .jp-Cell')", timeout=90_000)
    wait_for(lambda: page.evaluate(KERNEL_IDLE), 90, "the kernel starting")
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")


def test_the_sweep_viewer_runs_in_jupyterlab(browser, jupyterlab, screenshots, live_results):
    """The viewer's HTML output, made by a kernel in JupyterLab, draws and answers its slider there too."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page, outside = offline_page(context)
    try:
        run_all_cells(page, f"{jupyterlab}/lab/workspaces/viewer/tree/sweep.ipynb?reset")
        viewer = page.locator(".cookbook-sweep-viewer")
        viewer.wait_for(timeout=120_000)
        figure, readout = viewer.locator("svg.sv-figure"), viewer.locator(".sv-readout")
        slider = viewer.locator("input[type=range]")
        wait_for(lambda: figure.locator("polyline").count() >= 4, 20, "the viewer drawing its curves in JupyterLab")
        before = (figure.inner_html(), readout.inner_text())
        # A click near the slider's right end, as a person drags it (JupyterLab keeps the arrow keys for itself).
        box = slider.first.bounding_box()
        page.mouse.click(box["x"] + 0.95 * box["width"], box["y"] + box["height"] / 2)
        wait_for(lambda: (figure.inner_html(), readout.inner_text()) != before, 5,
                 "the figure changing with the slider")
        screenshots.mkdir(parents=True, exist_ok=True)
        viewer.screenshot(path=str(screenshots / "jupyterlab-sweep-viewer.png"))
        live_results.append(f"sweep viewer in JupyterLab: drawn, slider moved, readout now "
                            f"{readout.inner_text()[:60]!r}")
        assert not outside, f"the page asked for other origins: {outside}"
    finally:
        context.close()


def test_a_person_drives_the_lab_in_jupyterlab(browser, jupyterlab, screenshots, live_results):
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    page, outside = offline_page(context)
    try:
        run_all_cells(page, f"{jupyterlab}/lab/workspaces/lab/tree/lab.ipynb?reset")
        panel = page.locator(".cookbook-lab")
        panel.wait_for(timeout=120_000)
        button = {name: panel.get_by_role("button", name=name) for name in ("Start", "Stop", "Reset")}
        image = panel.locator("img")
        assert status_of(panel) == "press Start to train"

        # Start: the step and the dashboard change at least 3 times in 20 s.
        button["Start"].click()
        steps, pictures = [], []
        started = time.monotonic()
        while time.monotonic() - started < 20 and (len(set(steps) - {-1, 0}) < 3
                                                   or len(set(pictures) - {None, ""}) < 4):
            steps.append(step_of(panel))
            if image.count():
                pictures.append(image.first.get_attribute("src"))
            time.sleep(0.2)
        assert len(set(steps) - {-1, 0}) >= 3, f"the status line's step took only the values {sorted(set(steps))}"
        # the first picture is the step-0 frame that Start draws; 3 changes after it
        assert len(set(pictures) - {None, ""}) >= 4, "the dashboard image changed fewer than 3 times in 20 s"
        live_results.append(f"labs driven: 1 (simclr, chunks of {STEPS_PER_CHUNK} steps)")
        live_results.append(f"Start: steps {sorted(set(steps) - {-1})} and {len(set(pictures))} dashboard images "
                            f"in {time.monotonic() - started:.1f} s")

        # Stop mid-run: paused within 3 s, and no step after that.
        button["Stop"].click()
        clicked = time.monotonic()
        wait_for(lambda: status_of(panel).startswith("paused"), 3, "the status saying paused after Stop")
        latency = time.monotonic() - clicked
        paused_at = step_of(panel)
        time.sleep(3)
        assert step_of(panel) == paused_at, f"training went on after Stop: step {paused_at} -> {step_of(panel)}"
        live_results.append(f"Stop latency: {latency:.2f} s (paused at step {paused_at}, still there 3 s later)")

        # Reset: back to step 0.
        button["Reset"].click()
        wait_for(lambda: step_of(panel) == 0, 15, "the status showing step 0 after Reset")

        # A slider, then Reset and Start: the new temperature is the one trained with.
        readout = panel.locator(".widget-slider", has_text="temperature").locator(".widget-readout")
        readout.click()
        page.keyboard.press("Control+A")
        page.keyboard.type("0.9")
        page.keyboard.press("Enter")
        button["Reset"].click()
        wait_for(lambda: step_of(panel) == 0, 15, "step 0 after the second Reset")
        button["Start"].click()
        wait_for(lambda: step_of(panel) >= 30, 30, "the second run reaching step 30")
        button["Stop"].click()
        wait_for(lambda: status_of(panel).startswith("paused"), 3, "paused after the second Stop")
        table = panel.locator("table.cookbook-lab-runs")
        wait_for(lambda: table.count() and "0.9" in table.inner_text(), 10, "the runs table showing temperature 0.9")
        rows = table.locator("tr").all_inner_texts()
        assert "temperature" in rows[0] and len(rows) == 3, f"the runs table is {rows}"
        assert rows[2].split("\t")[1].strip() == "0.9", f"the second run was not trained at 0.9: {rows}"
        screenshots.mkdir(parents=True, exist_ok=True)
        panel.screenshot(path=str(screenshots / "jupyterlab-lab-two-runs.png"))

        # Start again: it goes on from where it paused.
        resumed_from = step_of(panel)
        button["Start"].click()
        wait_for(lambda: step_of(panel) > resumed_from, 20, "training resuming after Start")
        button["Stop"].click()
        wait_for(lambda: status_of(panel).startswith("paused"), 3, "paused after the last Stop")
        live_results.append(f"Reset, a slider (temperature 0.9), Reset, Start, Stop, Start again: "
                            f"{len(rows) - 1} runs in the table; requests to other origins: {len(outside)}")
        assert not outside, f"the page asked for other origins: {outside}"
    finally:
        context.close()
