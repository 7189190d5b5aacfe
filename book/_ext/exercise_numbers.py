"""A Sphinx extension: each chapter numbers its own exercises (Exercise 2.1, 2.2, ...).

Sphinx numbers enumerable nodes, sphinx-exercise's exercises among them, by section number; this
book's toctree is not numbered (each chapter writes its number in its title, "# 2. Pretext tasks",
and a numbered toctree would print it twice), so the exercises ran on one count across the whole
book. Once Sphinx has assigned its numbers, every exercise of ``book/NN_name`` is given
``(NN, its position in the chapter)`` instead; sphinx-exercise joins the pair with a dot, in the
exercise's title, its solution's ("Solution to Exercise 2.1") and every reference to it.

Enabled in ``_config.yml`` (``sphinx.local_extensions`` puts this folder on the path, and the
extension is named in ``sphinx.config.extensions``, which replaces Jupyter Book's list).
"""
from __future__ import annotations

import re

CHAPTER = re.compile(r"(?:^|/)(\d+)_[^/]*$")  # book/02_pretext_tasks -> 2


def number_per_chapter(app, env) -> list[str]:
    for docname, numbers in env.toc_fignumbers.items():
        chapter, exercises = CHAPTER.search(docname), numbers.get("exercise")
        if chapter and exercises:
            for position, node_id in enumerate(sorted(exercises, key=exercises.get), start=1):
                exercises[node_id] = (int(chapter[1]), position)
    return []


def setup(app) -> dict:
    # After the TocTreeCollector's own "env-get-updated" handler (priority 500), which assigns the numbers.
    app.connect("env-get-updated", number_per_chapter, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
