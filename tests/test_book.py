"""The book's promises that need no execution: pairs in sync, Colab links valid, one repository URL."""
from __future__ import annotations

import json
import re
from pathlib import Path

import jupytext
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
CONFIG = yaml.safe_load((ROOT / "_config.yml").read_text())
TOC = yaml.safe_load((ROOT / "_toc.yml").read_text())


def toc_files(node) -> list[str]:
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        for value in node.values():
            files += toc_files(value)
    elif isinstance(node, list):
        for item in node:
            files += toc_files(item)
    return files


CHAPTERS = [ROOT / f"{name}.md" for name in toc_files(TOC)
            if "jupytext" in (ROOT / f"{name}.md").read_text()[:300]]


def test_there_are_executable_chapters():
    assert CHAPTERS, "no MyST notebook chapter found through _toc.yml"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_paired_notebook_exists_in_sync_and_has_no_outputs(chapter: Path):
    notebook_path = chapter.with_suffix(".ipynb")
    assert notebook_path.exists(), f"{notebook_path.name} is missing: run `make sync` (the Colab button links it)"
    committed = json.loads(notebook_path.read_text())
    assert not any(cell.get("outputs") for cell in committed["cells"]), \
        f"{notebook_path.name} carries outputs: strip them (jupytext --sync writes none)"
    assert all(cell.get("execution_count") is None for cell in committed["cells"] if cell["cell_type"] == "code")
    expected = jupytext.read(chapter)
    expected_cells = [(c.cell_type, c.source.strip()) for c in expected.cells]
    committed_cells = [(c["cell_type"], "".join(c["source"]).strip()) for c in committed["cells"]]
    assert committed_cells == expected_cells, \
        f"{notebook_path.name} is out of sync with {chapter.name}: run `make sync`"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_colab_install_cell_uses_the_configured_repository(chapter: Path):
    first_code = next(c for c in jupytext.read(chapter).cells if c.cell_type == "code").source
    assert "google.colab" in first_code, "the first code cell must install the package only inside Colab"
    assert "torch" not in first_code.replace("ssl-cookbook", "") and "ipywidgets" not in first_code, \
        "the Colab install cell must not touch torch or ipywidgets"
    urls = re.findall(r"git\+(https://[^\s\"']+)", first_code)
    assert urls == [CONFIG["repository"]["url"]], \
        f"the install cell installs {urls}, but _config.yml names {CONFIG['repository']['url']}"


def test_colab_launch_button_is_configured():
    assert CONFIG["launch_buttons"]["colab_url"].startswith("https://colab.research.google.com")
    assert CONFIG["repository"]["url"].startswith("https://github.com/")


def test_widget_javascript_is_vendored_not_fetched():
    scripts = CONFIG["sphinx"]["config"]["nb_ipywidgets_js"]
    assert scripts and not any("://" in name for name in scripts), "widget JS must not come from a CDN"
    static = CONFIG["sphinx"]["config"]["html_static_path"]
    for name in scripts:
        assert any((ROOT / path).name == name or (ROOT / path / name).exists() for path in static), \
            f"{name} is not in html_static_path"
        assert any((ROOT / path).exists() for path in static if Path(path).name == name), f"{name} is missing"
    assert "://" not in CONFIG["sphinx"]["config"]["mathjax_path"]
    assert (ROOT / "book/_mathjax" / CONFIG["sphinx"]["config"]["mathjax_path"]).exists()


def own_code_lines(chapter: Path) -> list[str]:
    """The chapter's own code before its exercises: non-blank, non-comment code-cell lines."""
    body = re.split(r"^## Exercises", chapter.read_text(encoding="utf-8"), flags=re.M)[0]
    return [line for cell in re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", body, flags=re.S)
            for line in cell.splitlines()
            if line.strip() and not line.strip().startswith(("#", ":tags:", "---"))]


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_chapters_hold_prose_and_the_librarys_code(chapter: Path):
    # A helper a chapter needs belongs in cookbook (d2l's #@save); the chapter calls it.
    lines = own_code_lines(chapter)
    assert len(lines) <= 60, f"{chapter.name}: {len(lines)} lines of its own code before Exercises"
    assert not [line for line in lines if re.search(r"budget\s*==", line)], \
        f"{chapter.name}: branches on the budget; use cookbook.book.chapter.train(..., quick=...) or the chapter budget"


def test_exercise_and_section_labels_are_unique_across_the_book():
    # Sphinx resolves labels book-wide: a label two chapters share is a -W warning, found only at build time.
    labels: dict[str, list[str]] = {}
    for chapter in sorted((ROOT / "book").glob("*.md")):
        for label in re.findall(r"^:label: (\S+)$|^\((\S+)\)=$", chapter.read_text(), flags=re.M):
            labels.setdefault(label[0] or label[1], []).append(chapter.stem)
    repeated = {label: where for label, where in labels.items() if len(where) > 1}
    assert not repeated, f"labels used in more than one place: {repeated}"
