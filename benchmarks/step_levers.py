"""Where one quick training step goes, and what each speed lever buys, on this CPU.

    python benchmarks/step_levers.py [--threads 2] [--steps 30] [--recipe simclr]

A quick step of the recipe (default SimCLR: 128 images, two views, the small CNN) is split into
its views, the forward pass, the backward pass and the optimizer step, each averaged over
``--steps`` steps after a warm-up, for these variants of the quick budget:

- as configured (channels_last on);
- channels_last off;
- AdamW's fused kernel instead of its per-parameter loop (not adopted: on one thread its updates
  drifted from the loop's by 3e-3 within three steps of a small BatchNorm network, far beyond
  rounding, so the speed-up is not worth the doubt);
- bfloat16 autocast on the CPU (only worth it where the CPU has bf16 matrix units, such as AMX);
- images drawn at 24 and 16 pixels instead of 32.

Times are milliseconds per step on ``--threads`` torch threads. Machines differ by 40% or more,
and a busy machine more: compare the rows of one run, not runs of different days. ``--out`` also
writes the table as a JSON record; the speed chapter reads ``cookbook/results/benchmarks/step-levers.json``.
"""
from __future__ import annotations

import argparse
import platform
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook import registry  # noqa: E402
from cookbook.book import speed  # noqa: E402

VARIANTS = {
    "as configured": {},
    "channels_last off": {"channels_last": False},
    "AdamW fused": {"fused": True},
    "bf16 autocast": {"bf16": True},
    "24 px images": {"image_size": 24},
    "16 px images": {"image_size": 16},
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--recipe", default="simclr", help="a two-view recipe with nt_xent_loss (simclr)")
    parser.add_argument("--out", help="also write the table as a JSON record to this file")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.steps < 1:
        parser.error("--threads and --steps must be >= 1")
    if not hasattr(registry.get(args.recipe), "nt_xent_loss"):
        parser.error(f"--recipe {args.recipe}: this benchmark times SimCLR's loss; use simclr")
    torch.set_num_threads(args.threads)
    print(f"Quick {args.recipe} step, {args.steps} steps after 5 of warm-up, {platform.machine()}, "
          f"{args.threads} threads, torch {torch.__version__}; milliseconds per step.\n")
    rows = []
    for label, settings in VARIANTS.items():
        rows.append({"variant": label, **speed.step_profile(args.recipe, args.steps, **settings)})
        print(f"{label}: {sum(rows[-1][p] for p in speed.PHASES):.1f} ms", flush=True)
    record = {"command": speed.command_line("step_levers.py", argv), "threads": args.threads, "steps": args.steps,
              "recipe": args.recipe, "rows": rows}
    print("\n" + speed.step_markdown(record))
    if args.out:
        print(f"\nwrote {speed.write_record('step-levers', record, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
