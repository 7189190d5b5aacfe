"""A run's training digest: the SHA-256 of the code that decides its numbers.

A committed run or sweep is current while its digest equals the digest of the code on disk
(``tests/test_cache.py`` and ``tests/test_sweep.py`` fail otherwise), and the run cache keys on it.
Which code counts is decided by where it lives, never by a list to keep up to date:

- the engine: every module at the top level of the ``cookbook`` package (a new one joins on its
  own), and not the book's tools in ``cookbook.book``, which only present runs;
- the recipe's own module.

Only code is hashed: each file is read with :mod:`tokenize`, and comments, blank lines, line
breaks inside brackets and docstrings are dropped, so rewording prose or re-wrapping a line never
makes a run stale, while a changed constant, name or operator always does. The tokens are the
same on every Python this book runs on (3.10 to 3.13): from 3.12 tokenize splits an f-string into
pieces, which are joined back into the one string token older Pythons give. (``ast.dump`` would
also ignore comments, but its output changes between Python versions, and Colab's Python is not
CI's.) This module needs nothing but the standard library.
"""
from __future__ import annotations

import hashlib
import io
import tokenize
from pathlib import Path
from types import ModuleType

# The engine: the top level of the cookbook package, one folder above this one.
ENGINE = Path(__file__).resolve().parents[1]

# Tokens that carry no code: comments, line breaks that do not end a statement, the file's encoding.
_NOT_CODE = {tokenize.COMMENT, tokenize.NL, tokenize.ENCODING, tokenize.ENDMARKER}
# Tokens whose text is layout (an indent's width, the newline's characters): only their kind counts.
_KIND_ONLY = {tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT}
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)  # Python 3.12 and later
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


def _joined_fstrings(tokens: list[tokenize.TokenInfo], source: str) -> list[tuple[int, str]]:
    """``(type, text)`` of each token, with an f-string that Python 3.12+ splits into pieces joined
    back into the one STRING token of its source text, as Python 3.10 and 3.11 give it."""
    line_starts = [0]
    for line in source.splitlines(keepends=True):
        line_starts.append(line_starts[-1] + len(line))

    def offset(row_col: tuple[int, int]) -> int:
        return line_starts[row_col[0] - 1] + row_col[1]

    out: list[tuple[int, str]] = []
    i = 0
    while i < len(tokens):
        if _FSTRING_START is None or tokens[i].type != _FSTRING_START:
            out.append((tokens[i].type, tokens[i].string))
            i += 1
            continue
        depth, end = 0, i
        while True:  # to the matching end: an f-string may nest inside another's replacement field
            depth += {_FSTRING_START: 1, _FSTRING_END: -1}.get(tokens[end].type, 0)
            if depth == 0:
                break
            end += 1
        out.append((tokenize.STRING, source[offset(tokens[i].start):offset(tokens[end].end)]))
        i = end + 1
    return out


def code_tokens(source: str) -> list[tuple[int, str]]:
    """The tokens of Python ``source`` that are code: ``(type, text)`` without comments, line breaks
    inside brackets and docstrings (a statement that is a string and nothing else does nothing)."""
    raw = _joined_fstrings(list(tokenize.generate_tokens(io.StringIO(source).readline)), source)
    kept: list[tuple[int, str]] = []
    statement: list[tuple[int, str]] = []  # the tokens of the logical line being read
    for kind, text in raw:
        if kind in _NOT_CODE:
            continue
        if kind in (tokenize.INDENT, tokenize.DEDENT):
            kept.append((kind, ""))
            continue
        statement.append((kind, "" if kind in _KIND_ONLY else text))
        if kind == tokenize.NEWLINE:
            if not all(k in (tokenize.STRING, tokenize.NEWLINE) for k, _ in statement):  # a docstring
                kept.extend(statement)
            statement = []
    kept.extend(statement)
    return kept


def file_digest(path: Path) -> str:
    """SHA-256 of the code tokens of one Python file."""
    digest = hashlib.sha256()
    for kind, text in code_tokens(path.read_text(encoding="utf-8")):
        digest.update(f"{tokenize.tok_name[kind]} {text}\n".encode())
    return digest.hexdigest()


def engine_modules(engine: Path = ENGINE) -> list[Path]:
    """The engine's modules: every ``.py`` file at the top level of the package, by name."""
    return sorted(engine.glob("*.py"))


def training_digest(recipe: ModuleType | Path, engine: Path = ENGINE) -> str:
    """SHA-256 of the code that decides ``recipe``'s numbers (see the module docstring): the engine's
    modules and the recipe module (or its file), each by its name and its code tokens."""
    recipe_file = Path(recipe) if isinstance(recipe, (str, Path)) else Path(recipe.__file__)
    digest = hashlib.sha256()
    for path in [*engine_modules(engine), recipe_file.resolve()]:
        digest.update(f"{path.name} {file_digest(path)}\n".encode())
    return digest.hexdigest()
