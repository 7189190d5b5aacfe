"""One module per self-supervised method, each readable top to bottom.

Every recipe has the same shape (see ``simclr.py``): a docstring with the method and its
equation, a ``Config`` dataclass, the loss as a pure function of tensors, the model,
``train(config)`` and a command line. ``cookbook.registry`` lists them.
"""
