"""One module per self-supervised method, each readable top to bottom.

Every recipe has the same shape (see ``simclr.py``): a docstring with the method, its paper and
the equation of its loss; a ``Config`` dataclass (its hyperparameters, and per budget only what
differs for it); the loss as a pure function of tensors; the model, a
:class:`cookbook.method.Method`; ``LAB_CONTROLS``; and one line that gives it the shared
``build_model``, ``train`` and command line. ``cookbook.registry`` lists them.
"""
