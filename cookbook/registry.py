"""The list of recipes: the one place that knows every method by name.

The shared package never imports a recipe directly; the CLI (``python -m recipes NAME``),
the lab (``Lab(recipe=NAME)``) and the benchmarks look recipes up here. A recipe joins by
adding one line. Each recipe module provides ``Config``, ``build_model(config, data)``,
``train(config)`` and ``LAB_CONTROLS``.
"""
from __future__ import annotations

import difflib
import importlib
from types import ModuleType

# name -> (module, one-line description)
RECIPES: dict[str, tuple[str, str]] = {
    "simclr": ("recipes.simclr", "SimCLR: contrastive learning with the NT-Xent loss over in-batch negatives (Chen et al., 2020)"),
    "barlow_twins": ("recipes.barlow_twins", "Barlow Twins: drive the views' cross-correlation matrix to the identity (Zbontar et al., 2021)"),
    "vicreg": ("recipes.vicreg", "VICReg: invariance, variance and covariance terms, no negatives (Bardes et al., 2022)"),
}


def names() -> list[str]:
    return list(RECIPES)


def describe() -> str:
    """One line per recipe: its name and what it does."""
    width = max(map(len, RECIPES))
    return "\n".join(f"{name:<{width}}  {description}" for name, (_, description) in RECIPES.items())


def get(name: str) -> ModuleType:
    """Import a recipe module by name, with a helpful error for a name that does not exist."""
    key = name.strip().lower().replace("-", "_")
    if key not in RECIPES:
        close = difflib.get_close_matches(key, RECIPES, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"unknown recipe {name!r}.{hint} Available: {', '.join(RECIPES)} "
                         "(`python -m recipes --list` describes them)")
    return importlib.import_module(RECIPES[key][0])
