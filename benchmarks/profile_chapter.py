"""Where a chapter's time goes: kernel start-up, imports, training steps, views, evaluation,
collapse probes, figures and the rest.

    python benchmarks/profile_chapter.py [01_what_is_ssl 04_self_distillation ...] [--threads N]

Each chapter's notebook runs in a fresh kernel (quick budget), with a first cell that wraps the
library functions where the time goes in timers. A timer counts its own time only: the views
made inside a training step count as views, not as training, and the training inside a collapse
probe counts as training, so the rows add up to the chapter's cell time. ``other`` is what no
timer covers: the chapter's own code, model building, data loading, printing.
Rows, per chapter, in seconds:

- ``kernel start``: starting the kernel until it answers;
- ``first cell's imports``: the first cell that imports torch or cookbook (and the recipes);
- ``training steps``: :meth:`cookbook.train.Trainer.train_until`, less the views;
- ``views``: :func:`cookbook.augment.crop` and :func:`cookbook.augment.recolour` (every view of
  :func:`~cookbook.augment.augment` and :func:`~cookbook.augment.multi_crop`);
- ``kNN + RankMe``: evaluation during and after runs (:func:`cookbook.evaluate.knn_and_rankme`,
  :func:`~cookbook.evaluate.knn_scores`), embedding the images included;
- ``linear probe``: :func:`cookbook.evaluate.linear_probe_accuracy`;
- ``collapse probes``: :mod:`cookbook.book.collapse`'s probes, less the training and evaluation inside;
- ``figures``: rendering matplotlib figures to images (``print_figure``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from recipes_table import machine  # noqa: E402  (one description of the machine for every benchmark)

BOOK = ROOT / "book"
RESULTS = ROOT / "benchmarks" / "results" / "chapter-profile.md"

# Runs first in the kernel: wrap the functions where time goes, with exclusive (self) timers.
PROFILER = '''
import time as _time, functools as _functools, json as _json
import matplotlib.backend_bases as _backend_bases
from cookbook import augment as _augment, evaluate as _evaluate, train as _train
from cookbook.book import collapse as _collapse
_PROFILE, _STACK = {}, []

def _timed(category, function):
    @_functools.wraps(function)
    def wrapper(*args, **kwargs):
        _STACK.append([_time.perf_counter(), 0.0])
        try:
            return function(*args, **kwargs)
        finally:
            started, children = _STACK.pop()
            elapsed = _time.perf_counter() - started
            _PROFILE[category] = _PROFILE.get(category, 0.0) + elapsed - children
            if _STACK:
                _STACK[-1][1] += elapsed
    return wrapper

_train.Trainer.train_until = _timed("training steps", _train.Trainer.train_until)
for _name in ("crop", "recolour"):
    setattr(_augment, _name, _timed("views", getattr(_augment, _name)))
for _name in ("knn_and_rankme", "knn_scores"):
    setattr(_evaluate, _name, _timed("kNN + RankMe", getattr(_evaluate, _name)))
_evaluate.linear_probe_accuracy = _timed("linear probe", _evaluate.linear_probe_accuracy)
for _name in ("compare_embeddings", "train_and_probe"):
    setattr(_collapse, _name, _timed("collapse probes", getattr(_collapse, _name)))
_backend_bases.FigureCanvasBase.print_figure = _timed("figures", _backend_bases.FigureCanvasBase.print_figure)
'''
REPORT = "print('PROFILE ' + _json.dumps(_PROFILE))"
ROWS = ("kernel start", "first cell's imports", "training steps", "views", "kNN + RankMe", "linear probe",
        "collapse probes", "figures", "other")


def profile(chapter: str, threads: int | None) -> dict[str, float]:
    notebook = nbformat.read(BOOK / f"{chapter}.ipynb", as_version=4)
    cells = notebook.cells
    first_import = next(i for i, c in enumerate(cells) if c.cell_type == "code" and "google.colab" not in c.source
                        and ("import torch" in c.source or "from cookbook" in c.source))
    setup = PROFILER + (f"\nimport torch as _torch\n_torch.set_num_threads({threads})\n" if threads else "")
    # The profiler goes right after the imports, so that they are timed as the chapter does them.
    cells.insert(first_import + 1, nbformat.v4.new_code_cell(setup))
    cells.append(nbformat.v4.new_code_cell(REPORT))
    client = NotebookClient(notebook, timeout=1200, kernel_name="python3", resources={"metadata": {"path": str(BOOK)}})
    started = time.perf_counter()
    with client.setup_kernel():
        kernel_s = time.perf_counter() - started
        cell_s = {}
        for index, cell in enumerate(notebook.cells):
            tick = time.perf_counter()
            client.execute_cell(cell, index)
            cell_s[index] = time.perf_counter() - tick
    report = next(o["text"] for o in notebook.cells[-1].outputs if o.get("name") == "stdout")
    measured = json.loads(report.split("PROFILE ", 1)[1])
    profiled_cells = sum(t for i, t in cell_s.items() if i not in (first_import, first_import + 1))
    rows = {"kernel start": kernel_s, "first cell's imports": cell_s[first_import], **measured}
    rows["other"] = profiled_cells - sum(measured.values())
    rows["total"] = time.perf_counter() - started
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="*", help="notebook names (default: every chapter)")
    parser.add_argument("--threads", type=int, help="torch threads in the kernel (default: torch's own)")
    args = parser.parse_args(argv)
    available = sorted(p.stem for p in BOOK.glob("[0-9][0-9]_*.ipynb"))
    unknown = [c for c in args.chapters if c not in available]
    if unknown:
        parser.error(f"no chapter {', '.join(unknown)} in book/; the chapters are {', '.join(available)}")
    os.environ["COOKBOOK_QUICK"] = "1"  # the kernel inherits it: the quick budget, as in make test
    results = {}
    for chapter in args.chapters or available:
        results[chapter] = profile(chapter, args.threads)
        print(f"{chapter}: {results[chapter]['total']:.1f} s", flush=True)
    names = list(results)
    lines = ["| seconds | " + " | ".join(n[:2] for n in names) + " |", "|---|" + "---:|" * len(names)]
    for row in (*ROWS, "total"):
        lines.append(f"| {row} | " + " | ".join(f"{results[n].get(row, 0.0):.1f}" for n in names) + " |")
    table = "\n".join(lines) + "\n\n(columns: " + ", ".join(names) + ")"
    print("\n" + table)
    if not args.chapters:  # a partial run does not overwrite the full table
        RESULTS.write_text(f"Where each chapter's time goes (`python benchmarks/profile_chapter.py`), quick budget, "
                           f"{machine()} (the kernels' torch threads: {args.threads or 'torch default'}).\n\n{table}\n")
        print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
