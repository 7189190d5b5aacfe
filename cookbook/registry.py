"""The list of recipes: the one place that knows every method by name.

The shared package never imports a recipe directly; the CLI (``python -m recipes NAME``),
the lab (``Lab(recipe=NAME)``) and the benchmarks look recipes up here. A recipe joins by
adding one line. Each recipe module provides ``Config``, ``build_model(config, data)``,
``train(config)`` and ``LAB_CONTROLS``.

Recipes are listed family by family, in the order of the Cookbook's section 2 (Balestriero
et al., 2023): pretext tasks, deep metric learning, self-distillation, canonical
correlation, masked image modeling, and the newer methods it points to.
"""
from __future__ import annotations

import difflib
import importlib
from types import ModuleType
from typing import NamedTuple


class Recipe(NamedTuple):
    module: str
    family: str
    description: str


FAMILIES = ("pretext task", "deep metric learning", "self-distillation", "canonical correlation",
            "masked image modeling", "frontier")

RECIPES: dict[str, Recipe] = {
    "simclr": Recipe("recipes.simclr", "deep metric learning",
                     "SimCLR: contrastive learning with the NT-Xent loss over in-batch negatives (Chen et al., 2020)"),
    "vicreg": Recipe("recipes.vicreg", "canonical correlation",
                     "VICReg: invariance, variance and covariance terms, no negatives (Bardes et al., 2022)"),
    "barlow_twins": Recipe("recipes.barlow_twins", "canonical correlation",
                           "Barlow Twins: drive the views' cross-correlation matrix to the identity (Zbontar et al., 2021)"),
}


def names() -> list[str]:
    """Recipe names, family by family."""
    return sorted(RECIPES, key=lambda name: FAMILIES.index(RECIPES[name].family))


def family(name: str) -> str:
    return RECIPES[canonical_name(name)].family


def describe() -> str:
    """One line per recipe: its name and what it does."""
    width = max(map(len, RECIPES))
    return "\n".join(f"{name:<{width}}  {RECIPES[name].description}" for name in names())


def canonical_name(name: str) -> str:
    """``"Barlow-Twins"`` -> ``"barlow_twins"``; an unknown name raises ValueError listing the known ones."""
    key = name.strip().lower().replace("-", "_")
    if key not in RECIPES:
        close = difflib.get_close_matches(key, RECIPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown recipe {name!r}.{hint} Available: {', '.join(names())} "
                         "(`python -m recipes --list` describes them)")
    return key


def get(name: str) -> ModuleType:
    """Import a recipe module by name, with a helpful error for a name that does not exist."""
    return importlib.import_module(RECIPES[canonical_name(name)].module)
