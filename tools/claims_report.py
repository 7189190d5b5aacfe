"""Every chapter's checked claims, read from its executed notebook.

    python tools/claims_report.py [NOTEBOOK ...]    (default: the chapters `make test` executed, _executed/book/)

A chapter states each sentence about its own runs through :func:`cookbook.book.claims.claim`, which
records it in the output's metadata; this lists them per chapter, with whether the data held them
(a claim that failed while the book was built stopped its chapter, so a built book holds only true
ones; a reader's notebook can hold a live claim that came out otherwise on that machine).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cookbook.book.claims import METADATA_KEY

ROOT = Path(__file__).resolve().parents[1]
EXECUTED = ROOT / "_executed" / "book"


def chapter_claims(notebook: Path) -> list[dict]:
    """The claims an executed notebook shows, in order: ``{"sentence", "holds", "live"}``."""
    cells = json.loads(notebook.read_text())["cells"]
    return [output["metadata"][METADATA_KEY] for cell in cells if cell["cell_type"] == "code"
            for output in cell.get("outputs", []) if METADATA_KEY in output.get("metadata", {})]


def report(notebooks: list[Path]) -> str:
    """A count per chapter, then every claim with its verdict."""
    lines, total = [], 0
    for notebook in sorted(notebooks):
        found = chapter_claims(notebook)
        total += len(found)
        failed = sum(not c["holds"] for c in found)
        lines.append(f"{notebook.stem}: {len(found)} checked claim(s)" + (f", {failed} NOT HOLDING" if failed else ""))
        lines += [f"  [{'holds' if c['holds'] else 'FAILS'}{', live run' if c['live'] else ''}] {c['sentence']}"
                  for c in found]
    return "\n".join([f"claims: {total} checked in {len(notebooks)} chapter(s)", *lines])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path, help="executed notebooks (default: _executed/book/*.ipynb)")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted(EXECUTED.glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        print(f"no executed chapters in {EXECUTED}: run `make test` (or tools/executed_book.py) first, "
              f"or name executed notebooks", file=sys.stderr)
        return 2
    missing = [str(n) for n in notebooks if not n.exists()]
    if missing:
        print(f"no such notebook: {', '.join(missing)}", file=sys.stderr)
        return 2
    print(report(notebooks))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
