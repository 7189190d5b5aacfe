"""Where one quick training step goes, and what each speed lever buys, on this CPU.

    python benchmarks/step_levers.py [--threads 1] [--clock cpu] [--steps 30] [--repeats 5] [--recipe simclr]
                                     [--out FILE.json]

A quick step of the recipe (default SimCLR: 128 images, two views, the small CNN) is split into
its views, the forward pass, the backward pass and the optimizer step, each averaged over
``--steps`` steps after a warm-up, for these variants of the quick budget:

- as configured (channels_last on);
- channels_last off;
- AdamW's fused kernel instead of its per-parameter loop; the record also keeps how far the fused
  updates move the weights from the loop's in three steps (``speed.fused_drift``), since a faster
  kernel is worth having only if it computes the same update;
- bfloat16 autocast on the CPU (only worth it where the CPU has bf16 instructions: AMX or AVX-512
  BF16; the record lists which of them this CPU has);
- ``torch.compile`` of the forward pass and the loss (TorchInductor's C++ kernels on a CPU; it needs a
  C++ compiler, and where compiling fails the record keeps the reason in the variant's row instead of
  the script stopping). The first step, where the compilation happens, is timed apart from the steady
  step; inductor's cache starts empty in each run of this script, so the first repeat compiles cold and
  the later ones reuse the kernels it cached on disk, as a reader's second run would;
- images drawn at 24 and 16 pixels instead of 32.

Every variant is measured ``--repeats`` times, each time on a fresh model. Within a repeat the
variants take turns step by step (``speed.measure_interleaved``), so that a change in the machine's
load falls on all of them alike, and a lever's effect is read within each repeat, as the ratio of its
step to the default's; the record keeps each repeat. Times are milliseconds per
step on ``--threads`` torch threads (and one compile worker), by ``--clock``: on one thread the default
is the thread's CPU time, which leaves out the time the thread waited for a core while other work kept
the machine busy (``speed.step_clock``); on more threads, the wall clock. The first step is timed on the
wall clock in both cases. Machines differ by 40% or more, and a busy machine more: the record notes a
load average above the cores the benchmark leaves free, and the rows of one run compare with each
other, not with runs of other days. ``--out`` also writes the table as a JSON record; the speed chapter
reads ``cookbook/results/benchmarks/step-levers.json``.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Inductor compiles in worker processes, one per core by default, read when torch loads it: one here, like
# the benchmark's default single thread.
os.environ.setdefault("TORCHINDUCTOR_COMPILE_THREADS", "1")

import torch  # noqa: E402

from cookbook import registry  # noqa: E402
from cookbook.book import speed  # noqa: E402

VARIANTS = {
    "as configured": {},
    "channels_last off": {"channels_last": False},
    "AdamW fused": {"fused": True},
    "bf16 autocast": {"bf16": True},
    "torch.compile": {"compiled": True},
    "24 px images": {"image_size": 24},
    "16 px images": {"image_size": 16},
}


def row(label: str, repeats: list[dict]) -> dict:
    """A variant's row: the median of each phase over its repeats (what the table and the bars show), and
    every repeat; a variant whose every repeat failed keeps the first failure's reason."""
    done = [r for r in repeats if "failed" not in r]
    if not done:
        return {"variant": label, "failed": repeats[0]["failed"], "repeats": []}
    medians = {p: statistics.median(r[p] for r in done) for p in speed.PHASES}
    failures = [r["failed"] for r in repeats if "failed" in r]
    return {"variant": label, **medians, "repeats": done, **({"failures": failures} if failures else {})}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="torch threads (default 1: the other core stays free for whatever else runs)")
    parser.add_argument("--clock", choices=speed.CLOCKS,
                        help="cpu: the thread's CPU time (one thread only; the default there), wall: the wall clock")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5, help="measurements of each variant, taking turns")
    parser.add_argument("--recipe", default="simclr", help="a two-view recipe with nt_xent_loss (simclr)")
    parser.add_argument("--out", help="also write the table as a JSON record to this file")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.steps < 1 or args.repeats < 1:
        parser.error("--threads, --steps and --repeats must be >= 1")
    if not hasattr(registry.get(args.recipe), "nt_xent_loss"):
        parser.error(f"--recipe {args.recipe}: this benchmark times SimCLR's loss; use simclr")
    clock = args.clock or ("cpu" if args.threads == 1 else "wall")
    if clock == "cpu" and args.threads != 1:
        parser.error("--clock cpu times one thread's work: use it with --threads 1")
    torch.set_num_threads(args.threads)
    cores, load_start = os.cpu_count() or 1, os.getloadavg()[0]
    print(f"Quick {args.recipe} step, {args.steps} steps after 5 of warm-up, {args.repeats} repeats, "
          f"{platform.machine()}, {args.threads} threads, torch {torch.__version__}; milliseconds per step "
          f"({'CPU time of the thread' if clock == 'cpu' else 'wall clock'}).\n")
    repeats: dict[str, list[dict]] = {label: [] for label in VARIANTS}
    with tempfile.TemporaryDirectory() as cache:
        saved = os.environ.get("TORCHINDUCTOR_CACHE_DIR")
        os.environ["TORCHINDUCTOR_CACHE_DIR"] = cache  # empty at the start: the first compilation is cold
        try:
            for repeat in range(args.repeats):
                measured = speed.measure_interleaved(VARIANTS, args.recipe, args.steps, clock=clock)
                for label, done in measured.items():
                    repeats[label].append(done)
                    print(f"repeat {repeat + 1}, {label}: " + (done["failed"] if "failed" in done else
                          f"{speed.step_total(done):.1f} ms, first step {done['first_step_ms']:.0f} ms"), flush=True)
        finally:
            if saved is None:
                os.environ.pop("TORCHINDUCTOR_CACHE_DIR", None)
            else:
                os.environ["TORCHINDUCTOR_CACHE_DIR"] = saved
    drift = speed.fused_drift(args.recipe)
    load = (load_start, os.getloadavg()[0])
    record = {"command": speed.command_line("step_levers.py", argv), "threads": args.threads, "clock": clock,
              "steps": args.steps, "repeats": args.repeats, "recipe": args.recipe, "cpu": speed.cpu_info(),
              "compile_threads": int(os.environ["TORCHINDUCTOR_COMPILE_THREADS"]),
              "load_average": [round(x, 2) for x in load], "note": speed.load_note(load, cores, args.threads),
              "compile_cache": "empty at the start of the run: the first repeat compiles cold, later repeats "
                               "reuse inductor's on-disk cache",
              "fused_drift_after_3_steps": drift, "rows": [row(label, done) for label, done in repeats.items()]}
    print("\n" + speed.step_markdown(record))
    if record["note"]:
        print("\n" + record["note"])
    if args.out:
        print(f"\nwrote {speed.write_record('step-levers', record, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
