"""Execute every chapter once, as Colab runs it, and build the HTML book from those outputs.

    python tools/executed_book.py [--python .venv-colab/bin/python] [--timeout 240] [--jobs 2]

Each chapter executes once, in the conditions a student meets in Colab: its ``.ipynb`` (the file
Colab opens) is copied alone into an empty folder and executed by the interpreter ``--python``,
whose environment pins Colab's stack (``tools/colab-stack.txt``: ipywidgets 7.7.1, ipykernel
6.17.1, IPython 7.34), with the package built into a wheel and installed there non-editably, as a
chapter's first cell installs it. A cell appended to each notebook (and removed from the output)
fails if anything of ``cookbook`` or ``recipes`` came from outside that install or if the kernel
runs other versions than the pinned ones. The executed notebooks go to ``_executed/`` and the
book is built from them with execution off, so the HTML shows exactly what the Colab files printed.
A failing chapter fails this script before any HTML is built; a build warning fails the ``-W``
build. The HTML goes to ``_build/html``, as ``make book`` puts it. Without ``--python`` the chapters
run on this interpreter's stack (still alone, against the wheel).

The staged copy holds the book's configuration, ``book/intro.md``, the vendored JavaScript and the
chapters' ``.ipynb`` files, not their ``.md`` sources, so that the table of contents (which names
chapters without an extension) resolves to the notebooks. The sources stay as they are:
``tests/test_book.py`` checks that each pair is in sync, so the notebook is the ``.md`` chapter.
"""
from __future__ import annotations

import argparse
import concurrent.futures
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
import claims_report  # noqa: E402  (each executed chapter's checked claims)
import colab_chapters  # noqa: E402  (the wheel, the install and the execution of a notebook alone)

from cookbook.book import claims  # noqa: E402

COLAB_STACK = ROOT / "tools" / "colab-stack.txt"
BUILD = ROOT / "_build"
# The staged book and its executed notebooks (kept after a run, to look at).
STAGE = ROOT / "_executed"
BIN = Path(sys.executable).parent


def stage() -> list[Path]:
    """Copy what the book build needs into STAGE, the chapters as .ipynb; returns the notebooks."""
    if STAGE.exists():
        shutil.rmtree(STAGE)
    (STAGE / "book").mkdir(parents=True)
    shutil.copy2(ROOT / "_toc.yml", STAGE / "_toc.yml")
    for entry in (ROOT / "book").iterdir():
        if entry.is_dir():
            shutil.copytree(entry, STAGE / "book" / entry.name)
        elif entry.suffix == ".ipynb" or (entry.suffix == ".md" and not entry.with_suffix(".ipynb").exists()):
            shutil.copy2(entry, STAGE / "book" / entry.name)  # intro.md has no notebook; chapters go as .ipynb
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    config["exclude_patterns"] = [p for p in config["exclude_patterns"] if p != "**/*.ipynb"]
    config["execute"]["execute_notebooks"] = "off"  # execute() has run them
    (STAGE / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sorted((STAGE / "book").glob("*.ipynb"))


def execute(notebooks: list[Path], python: str, timeout: int, jobs: int = 1) -> list[str]:
    """Execute each staged notebook alone against a fresh non-editable install in ``python``'s
    environment, replacing it with its executed copy; returns the chapters that failed. ``jobs``
    chapters run at once, each in its own folder and kernel."""
    own = Path(python).absolute() == Path(sys.executable).absolute()
    pins = {} if own else colab_chapters.pinned(COLAB_STACK)
    failed = []
    with tempfile.TemporaryDirectory(prefix="executed-book-") as tmp:
        wheel, site = colab_chapters.build_and_install(Path(tmp) / "wheel")
        if not own:  # this interpreter keeps its editable install: the wheel goes on PYTHONPATH instead
            site = colab_chapters.install_into(python, wheel)
        print(f"executed_book: {wheel.name} installed into {site}; {colab_chapters.stack(python)}", flush=True)

        def one(notebook: Path) -> None:
            try:
                timing = colab_chapters.execute_alone(notebook.stem, site, Path(tmp) / notebook.stem, python,
                                                      notebook_path=notebook, pins=pins, timeout=timeout)
            except (colab_chapters.StepFailed, subprocess.TimeoutExpired) as error:
                print(f"executed_book: {notebook.stem} FAILED\n{error}", file=sys.stderr, flush=True)
                failed.append(notebook.stem)
                return
            shutil.copy2(timing["notebook"], notebook)
            # With several jobs the chapters share the cores, and the CPU time of the children is everyone's:
            # the time of a chapter on its own is benchmarks/colab_chapters.py's (or `make book`'s log).
            print(f"executed_book: {notebook.stem} executed in {timing['wall_s']:.1f} s"
                  + (f" ({timing['cpu_s']:.0f} s of CPU)" if jobs == 1 else f" ({jobs} chapters at a time)"),
                  flush=True)

        with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
            list(pool.map(one, notebooks))
    return sorted(failed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--python", default=sys.executable,
                        help="interpreter of the environment that executes the chapters (make test: .venv-colab)")
    parser.add_argument("--timeout", type=int, default=240, help="per-cell timeout in seconds")
    parser.add_argument("--jobs", type=int, default=1,
                        help="chapters executed at once (make test: 2, one per core; default 1)")
    args = parser.parse_args(argv)
    if not Path(args.python).exists():
        parser.error(f"--python {args.python} does not exist: `make colab-stack` creates .venv-colab")
    if args.jobs < 1:
        parser.error(f"--jobs {args.jobs}: give 1 or more chapters to execute at once")
    python = os.path.abspath(args.python)  # not resolve(): a venv's python is a link out of the venv
    notebooks = stage()
    # The build is where claims are strict: a chapter sentence its data do not support stops the
    # chapter (cookbook.book.claims), and so the build.
    os.environ[claims.STRICT_ENV] = "1"
    if args.jobs > 1:
        # One thread per kernel when chapters share the cores: OpenMP threads of two kernels on two cores spin at
        # each other's barriers. A chapter's live runs then differ from a two-thread run by float rounding only.
        os.environ["OMP_NUM_THREADS"] = os.environ["MKL_NUM_THREADS"] = "1"
    started = time.perf_counter()
    failed = execute(notebooks, python, args.timeout, args.jobs)
    if failed:
        print(f"executed_book: {len(failed)} chapter(s) failed: {', '.join(failed)}; no HTML built", file=sys.stderr)
        return 1
    executed_s = time.perf_counter() - started
    print(claims_report.report(notebooks), flush=True)
    env = {**os.environ, "COOKBOOK_QUICK": "1"}
    build = subprocess.run([str(BIN / "jupyter-book"), "build", str(STAGE), "-W", "--keep-going"], env=env)
    if build.returncode != 0:
        print(f"executed_book: the -W build failed (exit code {build.returncode})", file=sys.stderr)
        return build.returncode
    html = BUILD / "html"
    if html.exists():
        shutil.rmtree(html)
    shutil.move(str(STAGE / "_build" / "html"), html)
    print(f"executed_book: {len(notebooks)} chapters executed once in {executed_s:.0f} s, "
          f"book built in {time.perf_counter() - started - executed_s:.0f} s: {html / 'index.html'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
