"""What each chapter's lab shows in the static book: the kNN accuracy of its frozen frame.

    python benchmarks/lab_frames.py [--threads 2] [--labs simclr:150:50,vicreg:150:50]

With no one to press Start (the book build, nbmake), a chapter's ``Lab(recipe, steps=..., chunk=...)``
trains its steps when displayed and leaves the dashboard of its final state. This script runs each
lab the same way (:meth:`cookbook.book.lab.Lab.run`, the quick budget, ``--threads`` torch threads) and
prints its untrained and final kNN accuracy (the lab's memory bank), the gain in points and the
seconds it took, so that a lab whose frame shows no learning is caught before a reader sees it.
The default list is the chapters' own labs, as they are written in ``book/``.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook.book.lab import Lab  # noqa: E402

LAB_CALL = re.compile(r"Lab\(\"(\w+)\", steps=(\d+), chunk=(\d+)([^)]*)\)")


def _value(text: str):
    """A lab keyword's value as the chapter wrote it: True/False, a number (1.6e-2, 150) or a word."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def chapter_labs() -> list[tuple[str, str, int, int, dict]]:
    """(chapter, recipe, steps, chunk, keyword settings) of every lab cell in book/*.md."""
    labs = []
    for path in sorted((ROOT / "book").glob("0*.md")):
        for recipe, steps, chunk, rest in LAB_CALL.findall(path.read_text()):
            settings = {k: _value(v) for k, v in re.findall(r"(\w+)=([\w.+-]+)", rest)}
            labs.append((path.stem, recipe, int(steps), int(chunk), settings))
    return labs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    torch.set_num_threads(args.threads)
    print("| chapter | lab | untrained kNN | final kNN | gain (points) | seconds |\n|---|---|---:|---:|---:|---:|")
    for chapter, recipe, steps, chunk, settings in chapter_labs():
        started = time.perf_counter()
        lab = Lab(recipe, steps=steps, chunk=chunk, autorun=False, budget="quick", **settings)
        lab.run()
        evaluated = [r for r in lab.history if "knn_acc" in r]
        first, last = evaluated[0]["knn_acc"], evaluated[-1]["knn_acc"]
        extra = "".join(f", {k}={v}" for k, v in settings.items())
        print(f"| {chapter} | {recipe}, {steps} steps{extra} | {first:.1%} | {last:.1%} | "
              f"{100 * (last - first):+.1f} | {time.perf_counter() - started:.0f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
