"""cookbook.book.digest: a run's training digest covers the engine's code and the recipe's, by location,
and nothing but code: prose edits keep it, code edits change it, on every Python the book runs on."""
from __future__ import annotations

import json
import shutil
import subprocess
import tokenize
from pathlib import Path

import pytest

from cookbook.book import digest
from recipes import simclr


@pytest.fixture
def engine(tmp_path) -> Path:
    """A copy of the engine's modules (the package's top level) and of simclr.py, to edit."""
    package = tmp_path / "cookbook"
    package.mkdir()
    for module in digest.engine_modules():
        shutil.copy(module, package / module.name)
    (package / "book").mkdir()
    (package / "book" / "chapter.py").write_text('"""A chapter helper."""\nWIDTH = 8\n')
    shutil.copy(simclr.__file__, tmp_path / "simclr.py")
    return package


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} is not in {path.name}: the test needs updating"
    path.write_text(text.replace(old, new, 1))


def test_the_engine_is_the_packages_top_level_and_not_the_books_tools():
    names = {path.name for path in digest.engine_modules()}
    assert {"train.py", "augment.py", "models.py", "evaluate.py", "imbalance.py", "__init__.py"} <= names
    assert not names & {"chapter.py", "lab.py", "spectral.py", "guide.py"}


def test_prose_keeps_the_digest(engine):
    recipe = engine.parent / "simclr.py"
    base = digest.training_digest(recipe, engine)
    edit(engine / "augment.py", '"""', '"""Reworded: the docstring of the augmentations\' module.\n\n')
    edit(engine / "train.py", "from __future__ import annotations\n",
         "from __future__ import annotations\n# a new comment line\n\n\n")
    edit(engine / "__init__.py", "def is_quick() -> bool:\n    \"\"\"", "def is_quick() -> bool:\n    \"\"\"Edited. ")
    edit(recipe, '"""SimCLR:', '"""SimCLR, reworded:')
    assert digest.training_digest(recipe, engine) == base
    # a statement wrapped over two lines inside brackets is the same code
    edit(engine / "optim.py", "return config.lr * 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))",
         "return config.lr * 0.5 * (1 +\n        math.cos(math.pi * min(1.0, progress)))")
    assert digest.training_digest(recipe, engine) == base


def test_code_changes_the_digest(engine):
    recipe = engine.parent / "simclr.py"
    base = digest.training_digest(recipe, engine)
    edit(engine / "config.py", "lr=4e-3", "lr=5e-3")  # a constant of the quick budget
    changed = digest.training_digest(recipe, engine)
    assert changed != base
    edit(recipe, "temperature: float = 0.5", "temperature: float = 0.4")  # a constant of the recipe
    assert digest.training_digest(recipe, engine) not in (base, changed)


def test_a_new_engine_module_joins_the_digest_and_a_new_book_tool_does_not(engine):
    recipe = engine.parent / "simclr.py"
    base = digest.training_digest(recipe, engine)
    (engine / "book" / "figures.py").write_text("COLOUR = 'red'\n")
    assert digest.training_digest(recipe, engine) == base
    (engine / "schedules.py").write_text('"""A new engine module, listed nowhere."""\nSTEPS = 3\n')
    assert digest.training_digest(recipe, engine) != base


def test_docstrings_and_comments_leave_no_token_and_strings_in_code_stay():
    source = ('"""Module."""\nimport math  # why\n\n\ndef f(x):\n    """Doc."""\n    return "text" + x\n'
              "class A:\n    '''Doc.'''\n    y = 1\n")
    kept = [text for kind, text in digest.code_tokens(source) if kind == tokenize.STRING]
    assert kept == ['"text"']
    names = [text for kind, text in digest.code_tokens(source) if kind == tokenize.NAME]
    assert names == ["import", "math", "def", "f", "x", "return", "x", "class", "A", "y"]


def test_an_f_string_is_one_token_with_its_source_text():
    source = 'x = f"{a!r:>{width}} and {f\'{b}\'}"\n'
    strings = [text for kind, text in digest.code_tokens(source) if kind == tokenize.STRING]
    assert strings == ['f"{a!r:>{width}} and {f\'{b}\'}"']


def other_pythons() -> list[str]:
    """Python 3.10, 3.12 and 3.13 interpreters that run here (on PATH or installed by pyenv)."""
    found = []
    for version in ("3.10", "3.12", "3.13"):
        candidates = [shutil.which(f"python{version}"),
                      *map(str, sorted(Path.home().glob(f".pyenv/versions/{version}*/bin/python{version}")))]
        for path in filter(None, candidates):
            if subprocess.run([path, "-c", "pass"], capture_output=True).returncode == 0:
                found.append(path)
                break
    return found


def test_the_digest_is_the_same_on_other_pythons():
    """Colab runs Python 3.13 and CI 3.11: a committed run must be current on both. digest.py needs only
    the standard library, so another interpreter loads it by path and digests the same files."""
    pythons = other_pythons()
    if not pythons:
        pytest.skip("no other Python 3.10-3.13 interpreter on this machine")
    script = ("import importlib.util, json, sys, pathlib\n"
              "spec = importlib.util.spec_from_file_location('d', sys.argv[1])\n"
              "d = importlib.util.module_from_spec(spec); spec.loader.exec_module(d)\n"
              "files = [*d.engine_modules(), pathlib.Path(sys.argv[2])]\n"
              "print(json.dumps({p.name: d.file_digest(p) for p in files}))")
    here = {path.name: digest.file_digest(path) for path in [*digest.engine_modules(), Path(simclr.__file__)]}
    for python in pythons:
        result = subprocess.run([python, "-c", script, digest.__file__, simclr.__file__], capture_output=True,
                                text=True, timeout=60)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == here, f"{python} digests the engine differently"
