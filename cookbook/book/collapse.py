"""A small training run that measures how collapsed a recipe's embeddings end up.

The chapters' "what goes wrong" sections and the collapse-switch tests both use it: the same
short run with a recipe's defaults and with one of its safeguards switched off, compared on
the embeddings the loss sees (``model.embed`` of clean test images, see :mod:`cookbook.method`).
"""
from __future__ import annotations

import functools
import importlib
import multiprocessing
import os
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import ModuleType

import torch

from cookbook import evaluate
from cookbook.run import prepare, recipe_module
from cookbook.train import Trainer

# Small enough for a few seconds on one CPU thread, long enough for a collapse to show.
PROBE = dict(steps=100, batch_size=64, n_train=1024, n_test=256, width=8, warmup_steps=10,
             eval_every=0, log_every=50, progress=False, device="cpu", out=None)


def probe_embeddings(recipe: ModuleType | str, **overrides) -> tuple[torch.Tensor, float]:
    """Train ``recipe`` (a module or a registry name) with the quick budget, :data:`PROBE` and
    ``overrides``; return its embeddings of the test images (``model.embed``: what the loss sees)
    and the final loss. For a spectrum or a scatter of the embeddings themselves."""
    recipe = recipe_module(recipe)
    config = recipe.Config.for_budget("quick", **{**PROBE, **overrides})
    # One thread: the probe's network is tiny, so more threads save little, and the sums they split
    # differently change the last bits of every step. A run near the collapse threshold could then
    # collapse in the tests (one thread) and not in a chapter (two), or on one laptop and not another.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        data, model = prepare(recipe, config)
        records = list(Trainer(model, data, config).run())
        return evaluate.embed(model, data.test_x, call=model.embed), records[-1]["loss"]
    finally:
        torch.set_num_threads(threads)


def train_and_probe(recipe: ModuleType | str, **overrides) -> dict[str, float]:
    """:func:`probe_embeddings`, summarised: :func:`cookbook.evaluate.collapse_report` of the
    embeddings plus the final ``loss``."""
    return summarise(*probe_embeddings(recipe, **overrides))


def summarise(z: torch.Tensor, loss: float) -> dict[str, float]:
    """A probe's embeddings and final loss as :func:`cookbook.evaluate.collapse_report` plus ``loss`` and
    ``n``, the number of test images (RankMe can reach at most the smaller of ``n`` and ``dim``)."""
    return {**evaluate.collapse_report(z), "loss": loss, "n": len(z)}


def normalised_std(report: dict[str, float]) -> float:
    """The mean std of the normalised embeddings over the healthy ``1/sqrt(D)``: 1 for embeddings
    spread evenly over the unit sphere, 0 for a complete collapse."""
    return report["mean_std"] / report["std_if_uniform"]


# The book's one rule for "collapsed" (chapter 1 states it; every chapter, the lab and teacher_views.breaking use it).
RANKME_COLLAPSED = 3.0  # dimensional collapse: at most three effective dimensions
STD_COLLAPSED = 0.1  # complete collapse: the normalised std under a tenth of the healthy 1/sqrt(D)


def collapsed(rankme: float, normalised_std: float) -> bool:
    """Complete collapse (normalised std under :data:`STD_COLLAPSED`, a tenth of the healthy 1/sqrt(D)) or
    dimensional collapse to at most three effective dimensions (RankMe <= :data:`RANKME_COLLAPSED`). A
    healthy quick run has a RankMe of 25 or more; a collapsed one settles near 2, a little above or below
    from step to step (VICReg without its covariance term: 2.01, 1.99, 2.08 after 400, 500 and 600
    steps), so the threshold sits clear of that plateau instead of on it."""
    return rankme <= RANKME_COLLAPSED or normalised_std < STD_COLLAPSED


def is_collapsed(report: dict[str, float]) -> bool:
    """:func:`collapsed` of a :func:`cookbook.evaluate.collapse_report`."""
    return collapsed(report["rankme"], normalised_std(report))


def collapsed_losses(tables: dict[str, list[dict]]) -> dict[str, tuple[float, float]]:
    """The final losses of the collapsed variants in tables of :func:`compare` (a name -> its rows, the
    default first): ``"BYOL, no predictor" -> (its loss, the default's loss)``."""
    return {f"{name}, {row['run']}": (row["loss"], rows[0]["loss"])
            for name, rows in tables.items() for row in rows[1:] if row["collapsed"]}


def collapse_kind(report: dict[str, float]) -> str | None:
    """How a :func:`cookbook.evaluate.collapse_report` collapsed by :func:`collapsed`: ``"completely"`` (a
    normalised std under :data:`STD_COLLAPSED`), ``"dimensionally"`` (the std above that line, RankMe at most
    :data:`RANKME_COLLAPSED`), or None when it did not."""
    if normalised_std(report) < STD_COLLAPSED:
        return "completely"
    return "dimensionally" if report["rankme"] <= RANKME_COLLAPSED else None


def kind(report: dict[str, float]) -> str | None:
    """:func:`collapse_kind` as an adjective: "complete", "dimensional", or None."""
    return {"completely": "complete", "dimensionally": "dimensional"}.get(collapse_kind(report))


def compare(recipe: ModuleType | str, variants: dict[str, dict], **settings) -> list[dict]:
    """Probe ``recipe`` once per variant (a label and its config overrides), all sharing
    ``settings``; one row per variant: its label, the probe's report and :func:`is_collapsed`.

    ``compare("byol", {"default": {}, "no predictor": {"predictor": False}}, steps=300)``
    """
    return compare_embeddings(recipe, variants, **settings)[0]


def compare_embeddings(recipe: ModuleType | str, variants: dict[str, dict],
                       **settings) -> tuple[list[dict], dict[str, torch.Tensor]]:
    """:func:`compare`, also returning each variant's embeddings (label -> ``(N, D)`` tensor), for
    spectra of the very runs the table describes. Each row holds the ``steps`` its probe trained.

    The variants train side by side, one per CPU core (:func:`probe_workers`): each probe uses one
    thread anyway, so on a two-core laptop two probes take the time of one, with the same numbers."""
    recipe = recipe_module(recipe)
    runs = [{**settings, **overrides} for overrides in variants.values()]
    importable = getattr(recipe, "__spec__", None) is not None  # a worker imports it by name
    workers = probe_workers() if len(runs) > 1 and importable else None
    results = None
    if workers is not None:
        try:
            results = list(workers.map(_probe_by_name, [recipe.__name__] * len(runs), runs))
        except (BrokenProcessPool, OSError):  # a sandbox that forbids processes: train here instead
            probe_workers.cache_clear()
    if results is None:
        results = [probe_embeddings(recipe, **run) for run in runs]
    rows, embeddings = [], {}
    for label, run, (z, loss) in zip(variants, runs, results):
        report = summarise(z, loss)
        rows.append({"run": label, "steps": run.get("steps", PROBE["steps"]), **report,
                     "collapsed": is_collapsed(report)})
        embeddings[label] = z
    return rows, embeddings


def _probe_by_name(module_name: str, overrides: dict) -> tuple[torch.Tensor, float]:
    # In a worker process: the recipe travels as its module's name (a module cannot be pickled).
    return probe_embeddings(importlib.import_module(module_name), **overrides)


@functools.lru_cache(maxsize=1)
def probe_workers() -> Executor | None:
    """The processes that train probes side by side: one per CPU core this process may use (at most
    4), started once and kept for the session, or None on a single core or with
    ``COOKBOOK_PROBE_WORKERS=0`` (probes then train one after the other, in this process; a number
    sets how many workers). ``spawn`` starts each worker clean, the same on Linux, macOS and in a
    Jupyter kernel, at the cost of importing torch once per worker (about 3 s)."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    setting = os.environ.get("COOKBOOK_PROBE_WORKERS", "").strip()
    if setting and not setting.isdigit():
        raise ValueError(f"COOKBOOK_PROBE_WORKERS={setting!r}: give a whole number of worker processes "
                         "(0 trains the probes one after the other in this process)")
    count = int(setting) if setting else min(cores, 4)
    if count < 2:
        return None
    return ProcessPoolExecutor(max_workers=count, mp_context=multiprocessing.get_context("spawn"),
                               initializer=_leave_interrupts_to_the_caller)


def _leave_interrupts_to_the_caller() -> None:
    # Ctrl-C or a kernel's interrupt reaches the whole process group; the caller stops waiting for
    # the probes, and the workers stay ready for the next call instead of dying with a traceback.
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)


def markdown_table(rows: list[dict]) -> str:
    """The rows of :func:`compare` as a Markdown table. RankMe stands over the most it can reach, the
    smaller of the embedding's width and the number of test images; the std column is normalised so
    that 1 is the healthy 1/sqrt(D) of embeddings spread evenly over the unit sphere."""
    lines = ["| run | steps | RankMe / its most | std / (1/sqrt(D)) | final loss | collapsed? |",
             "|---|---:|---:|---:|---:|---|"]
    for r in rows:
        most = min(r["dim"], r.get("n", r["dim"]))
        lines.append(f"| {r['run']} | {r.get('steps', '')} | {r['rankme']:.2f} / {most} | {normalised_std(r):.3f} | "
                     f"{r['loss']:.4f} | {'**yes**' if r['collapsed'] else 'no'} |")
    return "\n".join(lines)
