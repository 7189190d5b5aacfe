"""Execute every chapter once, as the Colab notebook, and build the HTML book from those outputs.

    python tools/executed_book.py [--timeout 240]

`make test` used to execute each chapter twice: nbmake ran the paired ``.ipynb`` (the file Colab
opens), then the ``-W`` book build ran the ``.md`` source again. Here nbmake runs once, on copies
of the ``.ipynb`` files in ``_executed/`` (``--overwrite`` keeps their outputs), and the book
is built from those copies with execution off, so the HTML shows exactly what the Colab files
printed. A failing cell fails nbmake, and then this script, before any HTML is built; a build
warning fails the ``-W`` build. The HTML goes to ``_build/html``, as ``make book`` puts it.

The staged copy holds the book's configuration, ``book/intro.md``, the vendored JavaScript and the
chapters' ``.ipynb`` files, not their ``.md`` sources, so that the table of contents (which names
chapters without an extension) resolves to the notebooks. The sources stay as they are:
``tests/test_book.py`` checks that each pair is in sync, so the notebook is the ``.md`` chapter.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BUILD = ROOT / "_build"
# Not under _build: nbmake does not collect notebooks in a folder named _build.
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
    config["execute"]["execute_notebooks"] = "off"  # nbmake has executed them
    (STAGE / "_config.yml").write_text(yaml.safe_dump(config, sort_keys=False))
    return sorted((STAGE / "book").glob("*.ipynb"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--timeout", type=int, default=240, help="nbmake's per-cell timeout in seconds")
    args = parser.parse_args(argv)
    notebooks = stage()
    env = {**os.environ, "COOKBOOK_QUICK": "1"}
    started = time.perf_counter()
    nbmake = subprocess.run([sys.executable, "-m", "pytest", "-q", "--nbmake", "--overwrite",
                             f"--nbmake-timeout={args.timeout}", "--durations=0", "-p", "no:cacheprovider",
                             "--rootdir", str(STAGE), *map(str, notebooks)], cwd=STAGE, env=env)
    if nbmake.returncode != 0:
        print(f"executed_book: nbmake failed (exit code {nbmake.returncode}); no HTML built", file=sys.stderr)
        return nbmake.returncode
    executed_s = time.perf_counter() - started
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
