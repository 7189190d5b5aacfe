"""tools/executed_book.py: the chapters execute once, as notebooks, and the book is built from them."""
from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import executed_book  # noqa: E402


def test_the_stage_holds_the_chapters_as_notebooks_and_builds_without_executing(tmp_path, monkeypatch):
    monkeypatch.setattr(executed_book, "STAGE", tmp_path / "_executed")
    notebooks = executed_book.stage()
    chapters = sorted(p.stem for p in (ROOT / "book").glob("[0-9][0-9]_*.md"))
    assert [p.stem for p in notebooks] == chapters
    staged = tmp_path / "_executed" / "book"
    assert not [name for name in chapters if (staged / f"{name}.md").exists()]  # the toc must resolve to .ipynb
    assert (staged / "intro.md").exists() and (staged / "_widgets" / "embed-amd.js").exists()
    config = yaml.safe_load((tmp_path / "_executed" / "_config.yml").read_text())
    original = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["execute"]["execute_notebooks"] == "off"
    assert "**/*.ipynb" not in config["exclude_patterns"]
    assert config["sphinx"] == original["sphinx"] and config["repository"] == original["repository"]


def test_a_failing_cell_fails_the_run_and_no_html_is_built(tmp_path, monkeypatch, capsys):
    book = tmp_path / "repo"
    (book / "book").mkdir(parents=True)
    for name in ("_config.yml", "_toc.yml"):
        shutil.copy2(ROOT / name, book / name)
    (book / "book" / "intro.md").write_text("# Intro\n")
    notebook = {"cells": [{"cell_type": "code", "execution_count": None, "id": "boom", "metadata": {}, "outputs": [],
                           "source": "raise RuntimeError('this cell fails')"}],
                "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
                "nbformat": 4, "nbformat_minor": 5}
    (book / "book" / "01_broken.ipynb").write_text(json.dumps(notebook))
    fine = {**notebook, "cells": [{**notebook["cells"][0], "id": "fine",
                                   "source": "import cookbook\nprint('this cell runs')"}]}
    (book / "book" / "02_fine.ipynb").write_text(json.dumps(fine))  # executed beside it, two at a time
    for name in ("01_broken", "02_fine"):
        (book / "book" / f"{name}.md").write_text("# the source of the pair\n")
    monkeypatch.setattr(executed_book, "ROOT", book)
    monkeypatch.setattr(executed_book, "BUILD", book / "_build")
    monkeypatch.setattr(executed_book, "STAGE", book / "_executed")
    assert executed_book.main(["--timeout", "60", "--jobs", "2"]) == 1
    out = capsys.readouterr()
    assert "01_broken FAILED" in out.err and "1 chapter(s) failed: 01_broken;" in out.err
    assert "02_fine executed in" in out.out
    assert not (book / "_build" / "html").exists()
    assert (book / "_executed" / "book" / "01_broken.ipynb").exists()  # it was staged and run
    executed = json.loads((book / "_executed" / "book" / "02_fine.ipynb").read_text())
    assert "this cell runs" in json.dumps(executed["cells"][0]["outputs"])  # the other chapter's outputs kept
    assert not (book / "_executed" / "_build").exists()  # the book build never started
