"""Write the student edition: every chapter notebook with its exercises and without their solutions.

    python tools/student_edition.py [--out student]

The book's chapters (``book/NN_*.ipynb``, the Colab files) carry each exercise's solution right
after it, hidden in a dropdown on the web page but in plain sight in a notebook. For a class, the
instructor hands out notebooks without them: ``<out>/NN_*.ipynb``, one per chapter, and
``<out>/ssl-cookbook-student.zip`` holding those notebooks and a README.txt that says how to open
them. The exercise text and the cell the student fills in (with its checker call, which says
"Not yet" until the answer is right) are kept as they are; the notebooks' metadata (kernelspec,
jupytext) too.

What is removed, in the forms the chapters use (``grep -n solution book/*.md``):

- a ``:::{solution-start} <label>`` directive, everything after it (markdown and code cells) and
  the ``:::{solution-end}`` directive that closes it. jupytext merges consecutive markdown, so a
  marker need not start its cell: the end marker often shares a cell with the next exercise or the
  references. The text before a start marker and after an end marker stays; a cell left empty goes;
- a ``{solution}`` directive (colon or backtick fence) holding the solution inside one cell.

An unbalanced marker (an end without a start, a start inside a solution, a start never closed) or an
unclosed fence stops the script with the file and cell named, rather than writing a notebook that
could still hold solution text. A notebook with no exercises is copied as it is.
"""
from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
ZIP_NAME = "ssl-cookbook-student.zip"

# A directive's opening fence: three or more colons or backticks, then {name}.
OPENING = re.compile(r"^\s*(?P<fence>:{3,}|`{3,})\{(?P<name>[\w-]+)\}(?P<arg>.*)$")
EXERCISE_LABEL = re.compile(r"^\s*:label:\s*(\S+)")

README = """\
SSL Cookbook: student notebooks
===============================

One Jupyter notebook per chapter of the SSL Cookbook, with the exercises and without their
solutions. Each exercise is a box of text followed by a code cell for your answer; that cell
ends with a check, such as `checks.check_nt_xent(my_nt_xent)`. Run it: it answers
"Not yet" and says what is still wrong until your answer is right, then "Correct".

Opening the notebooks

- Google Colab: open https://colab.research.google.com, choose File > Upload notebook and pick
  a chapter's .ipynb. Run the cells from the top: the first cell installs the book's package
  (ssl-cookbook) in Colab; it does nothing anywhere else.
- Your own Jupyter: the notebooks need the book's package. From a clone of the repository, run
  `make install` and start Jupyter from its environment, or install it into yours with
  pip install "ssl-cookbook @ git+https://github.com/ssl-cookbook/ssl-cookbook"
  With COOKBOOK_QUICK=1 in the environment (for example `COOKBOOK_QUICK=1 jupyter lab`) each
  chapter uses a small built-in dataset and runs in about a minute and a half on a CPU.

Run each chapter from the top: the exercises use what the chapter's earlier cells built.
The solutions are in the book itself, under each exercise.

Chapters in this archive:
"""


class SolutionError(ValueError):
    """The solution markers of a notebook do not balance; nothing is written for it."""


@dataclass
class Result:
    cells: list[dict]
    exercises: list[str] = field(default_factory=list)  # the labels of the exercises kept
    solutions: list[str] = field(default_factory=list)  # the labels of the solutions removed
    cells_removed: int = 0


def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def with_source(cell: dict, text: str) -> dict:
    """A copy of ``cell`` with ``text`` as its source, stored as nbformat stores it (a list of lines)."""
    return {**cell, "source": text.splitlines(keepends=True)}


def closing_fence(lines: list[str], start: int, fence: str) -> int | None:
    """The index of the line that closes the directive opened by ``fence`` at ``lines[start]``:
    the same character, at least as many of it, nothing else on the line (MyST's rule, which
    lets a shorter fence nest inside)."""
    for j in range(start + 1, len(lines)):
        stripped = lines[j].strip()
        if stripped and set(stripped) == {fence[0]} and len(stripped) >= len(fence):
            return j
    return None


def strip_solutions(cells: list[dict], where: str = "notebook") -> Result:
    """The cells without their solutions (see the module docstring); ``where`` names the notebook
    in errors."""
    result = Result(cells=[])
    inside: tuple[str, int] | None = None  # (label, cell index) of the open solution-start
    for index, cell in enumerate(cells):
        if cell.get("cell_type") != "markdown":
            if inside is None:
                result.cells.append(cell)
            else:
                result.cells_removed += 1
            continue
        lines = source_of(cell).splitlines(keepends=True)
        kept: list[str] = []
        i = 0
        while i < len(lines):
            match = OPENING.match(lines[i])
            name = match["name"] if match else None
            if name in {"solution-start", "solution-end", "solution"}:
                close = closing_fence(lines, i, match["fence"])
                if close is None:
                    raise SolutionError(f"{where}, cell {index}: the {{{name}}} directive on line {i + 1} "
                                        f"is never closed with {match['fence']}")
                if name == "solution-start":
                    if inside is not None:
                        raise SolutionError(f"{where}, cell {index}: a {{solution-start}} inside the solution "
                                            f"{inside[0]!r} opened in cell {inside[1]} (no {{solution-end}} between)")
                    inside = (match["arg"].strip() or f"(unlabelled, cell {index})", index)
                elif name == "solution-end":
                    if inside is None:
                        raise SolutionError(f"{where}, cell {index}: a {{solution-end}} without a {{solution-start}}")
                    result.solutions.append(inside[0])
                    inside = None
                elif inside is None:  # {solution}: the whole solution inside this one directive
                    label = next((m[1] for line in lines[i + 1:close] if (m := EXERCISE_LABEL.match(line))), None)
                    result.solutions.append(label or match["arg"].strip() or f"(unlabelled, cell {index})")
                i = close + 1
                continue
            if inside is None:
                if name == "exercise":
                    close = closing_fence(lines, i, match["fence"])
                    body = lines[i + 1:close] if close is not None else lines[i + 1:]
                    label = next((m[1] for line in body if (m := EXERCISE_LABEL.match(line))), None)
                    result.exercises.append(label or match["arg"].strip() or f"(unlabelled, cell {index})")
                kept.append(lines[i])
            i += 1
        text = "".join(kept)
        if text == source_of(cell):
            result.cells.append(cell)
        elif text.strip():
            result.cells.append(with_source(cell, text.strip("\n")))
        else:
            result.cells_removed += 1
    if inside is not None:
        raise SolutionError(f"{where}, cell {inside[1]}: the {{solution-start}} {inside[0]!r} has no {{solution-end}}")
    return result


def student_notebook(path: Path) -> tuple[dict, Result]:
    """The student version of the notebook at ``path`` (its metadata untouched) and what changed."""
    notebook = json.loads(path.read_text(encoding="utf-8"))
    result = strip_solutions(notebook["cells"], where=str(path))
    return {**notebook, "cells": result.cells}, result


def write_notebook(notebook: dict, path: Path) -> None:
    """As nbformat and jupytext write a notebook: one-space indent, sorted keys, UTF-8 as is."""
    path.write_text(json.dumps(notebook, indent=1, sort_keys=True, ensure_ascii=False) + "\n", encoding="utf-8")


def build(out: Path, book: Path = BOOK) -> list[tuple[Path, Result]]:
    """Write every chapter's student notebook and the zip into ``out``; returns what was written.
    Every notebook is checked before anything is written, so a bad marker leaves ``out`` as it was."""
    chapters = sorted(book.glob("*.ipynb"))
    if not chapters:
        raise SystemExit(f"student_edition: no notebooks in {book}")
    editions = [(path, *student_notebook(path)) for path in chapters]
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for path, notebook, result in editions:
        target = out / path.name
        if result.solutions or result.cells_removed:
            write_notebook(notebook, target)
        else:  # no exercises: the file as it is
            shutil.copyfile(path, target)
        written.append((target, result))
    readme = README + "".join(f"- {target.name}: {len(result.exercises)} exercises\n" for target, result in written)
    with zipfile.ZipFile(out / ZIP_NAME, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("README.txt", readme)
        for target, _ in written:
            archive.write(target, target.name)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "student", help="where to write (default: student/)")
    args = parser.parse_args(argv)
    try:
        written = build(args.out)
    except SolutionError as err:
        print(f"student_edition: {err}; nothing written", file=sys.stderr)
        return 1
    for target, result in written:
        print(f"{target}: {len(result.exercises)} exercises kept, {len(result.solutions)} solutions removed "
              f"({result.cells_removed} cells)")
    exercises = sum(len(result.exercises) for _, result in written)
    solutions = sum(len(result.solutions) for _, result in written)
    print(f"student_edition: {len(written)} chapters, {exercises} exercises kept, {solutions} solutions removed; "
          f"{args.out / ZIP_NAME}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
