"""What each chapter's lab shows in the static book: its frozen frame's kNN against raw pixels.

    python benchmarks/lab_frames.py [--chapters 1-16] [--threads 1]

With no one to press Start (the book build, nbmake), a chapter's ``Lab(recipe, steps=..., chunk=...)``
leaves the dashboard of a finished run under its panel, and each ``lab.compare(...)`` one more: the
book's committed run of those settings (``benchmarks/lab_runs.py``, :mod:`cookbook.book.lab_runs`), or a
run trained then when there is none. This script builds each lab as the chapter does (the quick budget,
``--threads`` torch threads), lets it finish the same way (:meth:`cookbook.book.lab.Lab.finish`) and
prints, per frame: the lab's recipe and settings, where the frame comes from, its final kNN accuracy,
raw pixels' kNN on the same data with the same probe (the lab's memory bank, k and temperature), the
difference in points, whether the chapter uses the frame to show a failure it names, and the seconds
its training took (a committed run's CPU seconds, as recorded; the wall seconds of one trained here). The bar (issue
26): every frame at least 10 points above raw pixels unless it is a named failure, and no two chapters
showing the same frame. It exits 1 when a frame misses the bar.
"""
from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import torch  # noqa: E402
from lab_runs import LAB_RUNS  # noqa: E402

from cookbook.book import lab_runs  # noqa: E402
from cookbook.book.lab import Lab  # noqa: E402

LAB_CALL = r"Lab\(\"(?P<recipe>\w+)\", steps=(?P<steps>\d+), chunk=(?P<chunk>\d+)(?P<rest>[^)]*)\)"
COMPARE_CALL = r"lab\.compare\((?P<compared>[^)]*)\)"
BAR = 10.0  # points above raw pixels that a frame must reach unless it shows a failure its chapter names


def _value(text: str):
    """A lab keyword's value as the chapter wrote it: True/False, a number (1.6e-2, 150) or a word."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text.strip("\"'")


def _keywords(text: str) -> dict:
    # A quoted value may hold spaces (layer="projector 2"); a bare one is a number, True/False or a name.
    return {k: _value(v) for k, v in re.findall(r"(\w+)=(\"[^\"]*\"|'[^']*'|[\w.+-]+)", text)}


def chapter_labs(chapters: tuple[int, int] = (1, 16), book: Path = ROOT / "book") -> list[dict]:
    """Every frame the labs of ``chapters`` (first, last) leave in the static book, in reading order (the
    ``Lab(...)`` and ``lab.compare(...)`` calls of their code cells):
    ``{"chapter", "recipe", "lab": the Lab call's keywords, "compared": a lab.compare's keywords or {}}``."""
    frames = []
    for path in sorted(book.glob("[0-9][0-9]_*.md")):
        if not chapters[0] <= int(path.name[:2]) <= chapters[1]:
            continue
        lab, code = None, "\n".join(re.findall(r"```\{code-cell\}[^\n]*\n(.*?)```", path.read_text(), re.S))
        for match in re.finditer(f"{LAB_CALL}|{COMPARE_CALL}", code):  # in code cells: prose may quote a call
            if match["recipe"]:
                lab = {"recipe": match["recipe"], "steps": int(match["steps"]), "chunk": int(match["chunk"]),
                       **_keywords(match["rest"])}
                frames.append({"chapter": path.stem, "recipe": lab["recipe"], "lab": lab, "compared": {}})
            elif lab is not None:
                frames.append({"chapter": path.stem, "recipe": lab["recipe"], "lab": lab,
                               "compared": _keywords(match["compared"])})
    return frames


def build(frame: dict) -> Lab:
    """The frame's lab as its chapter builds it in the book (quick budget), its compared controls set."""
    lab = Lab(autorun=False, budget="quick", **frame["lab"])
    lab.widget()
    controls = {**lab._widgets["augment"], **lab._widgets["recipe"]}
    for name, value in frame["compared"].items():
        controls[name].value = value
    return lab


def measure(frame: dict) -> dict:
    """Finish the frame's lab as the book does and measure its frame against raw pixels."""
    lab = build(frame)
    started = time.perf_counter()
    lab.finish()
    seconds = time.perf_counter() - started
    record = lab.committed
    raw = lab_runs.raw_pixel_scores(lab.data, lab.trainer.config)["knn_acc"]
    knn = lab.metrics()["knn_acc"]
    declared = LAB_RUNS.get(record["name"], {}) if record else {}
    return {**frame, "steps": lab.trainer.step, "knn": knn, "raw": raw, "points": 100 * (knn - raw),
            "source": f"committed {record['name']}" if record else "trained here",
            "seconds": record["cpu_seconds"] if record else round(seconds, 1),
            "failure": declared.get("failure"), "key": str(lab_runs.settings_key(lab.trainer.config)),
            "settings": {k: v for k, v in {**frame["lab"], **frame["compared"]}.items() if k != "recipe"}}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--chapters", default="1-16", help="first-last chapter numbers (default 1-16)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads for a frame trained here (default 1)")
    args = parser.parse_args(argv)
    if args.threads < 1:
        parser.error(f"--threads {args.threads} must be >= 1")
    first, _, last = args.chapters.partition("-")
    torch.set_num_threads(args.threads)
    print("| chapter | lab (recipe, settings) | frame | frame kNN | raw pixels | difference (points) | "
          "named failure | training s (CPU) |\n|---|---|---|---:|---:|---:|---|---:|")
    rows = []
    for frame in chapter_labs((int(first), int(last or first))):
        row = measure(frame)
        rows.append(row)
        settings = ", ".join(f"{k}={v}" for k, v in row["settings"].items())
        compare = " (lab.compare)" if row["compared"] else ""
        print(f"| {row['chapter']} | {row['recipe']}{compare}: {settings} | {row['source']} | {row['knn']:.1%} | "
              f"{row['raw']:.1%} | {row['points']:+.1f} | {row['failure'] or 'no'} | {row['seconds']:.0f} |",
              flush=True)
    missed = [r for r in rows if r["points"] < BAR and not r["failure"]]
    shown_by: dict[str, set[str]] = {}
    for row in rows:
        shown_by.setdefault(row["key"], set()).add(row["chapter"])
    shared = [sorted(chapters) for chapters in shown_by.values() if len(chapters) > 1]
    print(f"\n{len(rows)} frames; below raw pixels + {BAR:g} points without a named failure: "
          f"{', '.join(r['chapter'] for r in missed) or 'none'}; the same frame in two chapters: "
          f"{'; '.join(' and '.join(c) for c in shared) or 'none'}")
    return 1 if missed or shared else 0


if __name__ == "__main__":
    raise SystemExit(main())
