"""One module per self-supervised method, each readable top to bottom.

Every recipe has the same shape (see ``simclr.py``): a docstring with the method, its paper and
the equation of its loss; a ``Config`` dataclass (its hyperparameters, and per budget only what
differs for it); the loss as a pure function of tensors; the model, a
:class:`cookbook.method.Method`; ``LAB_CONTROLS``; and one line that gives it the shared
``build_model``, ``train`` and command line. A new recipe joins the book by its name below, in its
family; ``cookbook.registry`` finds it there by name (and no committed run goes stale for it).
"""

# Family by family, in the order of the Cookbook's section 2 (Balestriero et al., 2023), then the
# newer methods it points to.
FAMILIES = {
    "pretext task": ("rotnet", "jigsaw"),
    "deep metric learning": ("simclr", "nnclr", "moco"),
    "self-distillation": ("byol", "simsiam", "dino"),
    "canonical correlation": ("vicreg", "barlow_twins", "swav", "wmse"),
    "masked image modeling": ("mae", "ijepa"),
    "frontier": ("lejepa", "diet"),
}
