"""The list of recipes: the one place that knows every method by name.

The shared package never imports a recipe directly; the CLI (``python -m recipes NAME``),
the lab (``Lab(recipe=NAME)``) and the benchmarks look recipes up here. A recipe joins by
adding one line. Each recipe module provides ``Config``, its model (a
:class:`cookbook.method.Method`), ``LAB_CONTROLS``, and the ``build_model``, ``train`` and ``main``
that :func:`cookbook.method.entry_points` makes for it.

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
    "rotnet": Recipe("recipes.rotnet", "pretext task",
                     "RotNet: classify which of four quarter turns an image was given (Gidaris et al., 2018)"),
    "jigsaw": Recipe("recipes.jigsaw", "pretext task",
                     "Context prediction: where does a patch sit relative to the middle one (Doersch et al., 2015)"),
    "simclr": Recipe("recipes.simclr", "deep metric learning",
                     "SimCLR: contrastive learning with the NT-Xent loss over in-batch negatives (Chen et al., 2020)"),
    "nnclr": Recipe("recipes.nnclr", "deep metric learning",
                    "NNCLR: a nearest neighbour from a support set of past embeddings is the positive (Dwibedi et al., 2021)"),
    "moco": Recipe("recipes.moco", "deep metric learning",
                   "MoCo: InfoNCE against a queue of keys from a momentum encoder; v3 style without the queue (He et al., 2020)"),
    "byol": Recipe("recipes.byol", "self-distillation",
                   "BYOL: predict an EMA target network's projection of the other view (Grill et al., 2020)"),
    "simsiam": Recipe("recipes.simsiam", "self-distillation",
                      "SimSiam: a predictor and a stop-gradient, no negatives and no EMA (Chen & He, 2021)"),
    "dino": Recipe("recipes.dino", "self-distillation",
                   "DINO: match a centred, sharpened EMA teacher over multi-crop views (Caron et al., 2021)"),
    "vicreg": Recipe("recipes.vicreg", "canonical correlation",
                     "VICReg: invariance, variance and covariance terms, no negatives (Bardes et al., 2022)"),
    "barlow_twins": Recipe("recipes.barlow_twins", "canonical correlation",
                           "Barlow Twins: drive the views' cross-correlation matrix to the identity (Zbontar et al., 2021)"),
    "swav": Recipe("recipes.swav", "canonical correlation",
                   "SwAV: swapped prediction of Sinkhorn-balanced cluster codes, multi-crop (Caron et al., 2020)"),
    "wmse": Recipe("recipes.wmse", "canonical correlation",
                   "W-MSE: whiten each view's embeddings over the batch, then pull the views together (Ermolov et al., 2021)"),
    "mae": Recipe("recipes.mae", "masked image modeling",
                  "MAE: reconstruct the pixels of 75% masked patches with a tiny ViT (He et al., 2022)"),
    "ijepa": Recipe("recipes.ijepa", "masked image modeling",
                    "I-JEPA: predict an EMA encoder's features of hidden blocks from a context block (Assran et al., 2023)"),
    "lejepa": Recipe("recipes.lejepa", "frontier",
                     "LeJEPA: view invariance plus SIGReg, an isotropic-Gaussian test on random projections (Balestriero & LeCun, 2025)"),
    "diet": Recipe("recipes.diet", "frontier",
                   "DIET: classify each image by its index in the dataset, with label smoothing (Balestriero, 2023)"),
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
