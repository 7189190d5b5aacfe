"""tools/student_edition.py: the student notebooks keep every exercise and its check, and no solution.

The solution blocks are found here by a scan of their own (marker lines, not directives), so a
mistake in the script's parser is not repeated by the test that checks it."""
from __future__ import annotations

import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student_edition  # noqa: E402

CHAPTERS = sorted((ROOT / "book").glob("[0-9][0-9]_*.ipynb"))
CHECK_CALL = re.compile(r"checks\.check_\w+\(")
# The cheapest chapter with exercises to execute: its student notebook ran in 15 s on two idle
# cores, against 27 s for chapter 6 and 37 s for chapter 7, the next cheapest (and 55-75 s for the
# others in benchmarks/results/chapter-profile.md). Chapter 1 trains only its lab live; the rest
# of its runs ship with the package.
EXECUTED = "01_what_is_ssl.ipynb"


def cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def text(cell: dict) -> str:
    source = cell["source"]
    return "".join(source) if isinstance(source, list) else source


def solution_split(path: Path) -> tuple[list[str], list[str]]:
    """(lines inside solution blocks, lines outside them) of a notebook, every cell's lines in order.
    A block runs from a `{solution-start}` line to the next `{solution-end}` line, across cells."""
    inside, outside, open_ = [], [], False
    for cell in cells(path):
        for line in text(cell).splitlines():
            if "{solution-start}" in line:
                open_ = True
            (inside if open_ else outside).append(line)
            if "{solution-end}" in line:
                open_ = False
    assert not open_, f"{path.name}: a solution-start without a solution-end"
    return inside, outside


@pytest.fixture(scope="module")
def student(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("student")
    assert student_edition.main(["--out", str(out)]) == 0
    return out


def test_every_chapter_has_a_student_notebook_and_the_zip_holds_them_with_a_readme(student):
    assert CHAPTERS and sorted(p.name for p in student.glob("*.ipynb")) == [p.name for p in CHAPTERS]
    with zipfile.ZipFile(student / student_edition.ZIP_NAME) as archive:
        names = set(archive.namelist())
        readme = archive.read("README.txt").decode()
    assert names == {"README.txt", *(p.name for p in CHAPTERS)}
    assert "Colab" in readme and "Not yet" in readme
    for chapter in CHAPTERS:
        full, kept = (json.loads(p.read_text()) for p in (chapter, student / chapter.name))
        assert kept["metadata"] == full["metadata"]
        if not any("{exercise}" in text(c) for c in full["cells"]):
            assert (student / chapter.name).read_bytes() == chapter.read_bytes()


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_no_solution_text_survives(student, chapter):
    inside, outside = solution_split(chapter)
    kept = {line for cell in cells(student / chapter.name) for line in text(cell).splitlines()}
    leaked = [line for line in set(inside) - set(outside) if line.strip() and line in kept]
    assert not leaked, f"{chapter.name}: solution lines in the student notebook: {leaked[:5]}"
    markers = [line for line in kept if re.search(r"\{solution(-start|-end)?\}", line)]
    assert not markers, f"{chapter.name}: solution markers survive: {markers}"


@pytest.mark.parametrize("chapter", CHAPTERS, ids=lambda p: p.stem)
def test_every_exercise_keeps_its_checker_call(student, chapter):
    _, outside = solution_split(chapter)
    student_cells = cells(student / chapter.name)
    kept = {line for cell in student_cells for line in text(cell).splitlines()}
    missing = [line for line in outside if CHECK_CALL.search(line) and line not in kept]
    assert not missing, f"{chapter.name}: checker calls lost: {missing}"
    exercise = None  # (label, seen a checker call since)
    for cell in student_cells:
        source = text(cell)
        if cell["cell_type"] == "markdown" and "{exercise}" in source:
            assert exercise is None or exercise[1], f"{chapter.name}: exercise {exercise[0]} has no checker call"
            label = re.search(r":label:\s*(\S+)", source.split("{exercise}", 1)[1])
            exercise = (label[1] if label else source.strip().splitlines()[0], False)
        elif cell["cell_type"] == "code" and exercise is not None and CHECK_CALL.search(source):
            exercise = (exercise[0], True)
    assert exercise is None or exercise[1], f"{chapter.name}: exercise {exercise[0]} has no checker call"


def test_unbalanced_markers_stop_the_script_naming_the_file_and_cell():
    md = lambda s: {"cell_type": "markdown", "metadata": {}, "source": s}  # noqa: E731
    code = {"cell_type": "code", "metadata": {}, "outputs": [], "execution_count": None, "source": "x = 1"}
    start, end = md(":::{solution-start} ex-a\n:class: dropdown\n:::\n\nWhy."), md(":::{solution-end}\n:::\n\nNext.")
    with pytest.raises(student_edition.SolutionError, match=r"book/x\.ipynb, cell 0: .*ex-a.*no \{solution-end\}"):
        student_edition.strip_solutions([start, code], "book/x.ipynb")
    with pytest.raises(student_edition.SolutionError, match=r"cell 1: a \{solution-end\} without"):
        student_edition.strip_solutions([code, end], "book/x.ipynb")
    with pytest.raises(student_edition.SolutionError, match=r"cell 2: a \{solution-start\} inside"):
        student_edition.strip_solutions([start, code, start, end], "book/x.ipynb")
    # A {solution} directive in one cell goes, the text around it stays; an unclosed one stops.
    result = student_edition.strip_solutions([md("Before.\n\n::::{solution} ex-b\nThe answer.\n::::\n\nAfter.")])
    assert text(result.cells[0]) == "Before.\n\n\nAfter." and result.solutions == ["ex-b"]
    assert [text(c) for c in student_edition.strip_solutions([start, code, end]).cells] == ["Next."]
    with pytest.raises(student_edition.SolutionError, match=r"cell 0: the \{solution\} directive"):
        student_edition.strip_solutions([md("```{solution} ex-b\nThe answer.")])


@pytest.mark.slow
def test_a_student_notebook_runs_and_every_check_says_not_yet(student, tmp_path):
    nbformat = pytest.importorskip("nbformat")
    from nbclient import NotebookClient

    notebook = nbformat.read(student / EXECUTED, as_version=4)
    # The quick budget with the runs the package ships (conftest's COOKBOOK_CACHE=off would retrain
    # them): an empty cache folder of the test's own, so nothing cached earlier is served.
    env = {**{k: v for k, v in os.environ.items() if k != "COOKBOOK_CACHE"},
           "COOKBOOK_QUICK": "1", "COOKBOOK_CACHE": str(tmp_path / "runs")}
    NotebookClient(notebook, timeout=240, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(ROOT / "book")}}).execute(env=env)
    errors = [f"cell {i}: {out['ename']}: {out['evalue']}" for i, cell in enumerate(notebook.cells)
              if cell.cell_type == "code" for out in cell.outputs if out.output_type == "error"]
    assert not errors, f"{EXECUTED}: {errors}"
    checked = [cell for cell in notebook.cells if cell.cell_type == "code" and CHECK_CALL.search(cell.source)]
    assert checked
    for cell in checked:
        shown = [out["data"].get("text/markdown", "") for out in cell.outputs if "data" in out]
        assert any("**Not yet**" in s for s in shown), f"{EXECUTED}: no 'Not yet' from\n{cell.source}\n{shown}"
