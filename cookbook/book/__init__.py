"""The book's tools: what the chapters use on top of the engine, and nothing a training run needs.

Chapters (``chapter``: a run with its figure and table, the cache of finished runs), the live lab
(``lab``), figures (``plots``), the cook's guide's sweeps and their viewer (``guide``, ``report``,
``sweep_viewer``, ``selection``), probes and collapse (``probes``, ``collapse``, ``spectral``),
speed records (``speed``), the runs' digests (``digest``, ``cache``) and the exercises' checks
(``checks``). They import the engine (``cookbook``), never the other way round; a new chapter
helper goes here.
"""
