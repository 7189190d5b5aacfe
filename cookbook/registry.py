"""Recipes by name: how the command line, the lab and the benchmarks find a method.

The list itself lives with the recipes (``recipes.FAMILIES``, family by family), so adding a
method touches no engine module. A recipe module provides ``Config``, its model (a
:class:`cookbook.method.Method`), ``LAB_CONTROLS``, and the ``build_model``, ``train`` and ``main``
that :func:`cookbook.cli.entry_points` makes for it; the first line of its docstring says what it
does.
"""
from __future__ import annotations

import difflib
import importlib
from types import ModuleType

PACKAGE = "recipes"


def families() -> dict[str, tuple[str, ...]]:
    """Family -> its recipes' names, in the book's order."""
    return dict(importlib.import_module(PACKAGE).FAMILIES)


def names() -> list[str]:
    """Recipe names, family by family."""
    return [name for members in families().values() for name in members]


def family(name: str) -> str:
    key = canonical_name(name)
    return next(family for family, members in families().items() if key in members)


def describe() -> str:
    """One line per recipe: its name and what it does (the first line of its docstring)."""
    width = max(map(len, names()))
    return "\n".join(f"{name:<{width}}  {(get(name).__doc__ or '').strip().splitlines()[0]}" for name in names())


def canonical_name(name: str) -> str:
    """``"Barlow-Twins"`` -> ``"barlow_twins"``; an unknown name raises ValueError listing the known ones."""
    key = name.strip().lower().replace("-", "_")
    known = names()
    if key not in known:
        close = difflib.get_close_matches(key, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown recipe {name!r}.{hint} Available: {', '.join(known)} "
                         "(`python -m recipes --list` describes them)")
    return key


def get(name: str) -> ModuleType:
    """Import a recipe module by name, with a helpful error for a name that does not exist."""
    return importlib.import_module(f"{PACKAGE}.{canonical_name(name)}")
