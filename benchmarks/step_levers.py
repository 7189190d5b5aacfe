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
and a busy machine more: compare the rows of one run, not runs of different days.
"""
from __future__ import annotations

import argparse
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook import registry  # noqa: E402
from cookbook.augment import views  # noqa: E402
from cookbook.run import prepare  # noqa: E402
from cookbook.train import Trainer  # noqa: E402

VARIANTS = {
    "as configured": {},
    "channels_last off": {"channels_last": False},
    "AdamW fused": {"fused": True},
    "bf16 autocast": {"bf16": True},
    "24 px images": {"image_size": 24},
    "16 px images": {"image_size": 16},
}


def split_step(recipe_name: str, steps: int, fused: bool = False, bf16: bool = False, **settings) -> dict[str, float]:
    """Milliseconds per step spent on the views, forward, backward and optimizer of a two-view recipe."""
    recipe = registry.get(recipe_name)
    config = recipe.Config.for_budget("quick", **settings, eval_every=0, progress=False, out=None)
    data, model = prepare(recipe, config)
    trainer = Trainer(model, data, config)
    if fused:
        trainer.optimizer = torch.optim.AdamW(trainer.optimizer.param_groups, lr=config.lr, fused=True)
    spent = dict.fromkeys(("views", "forward", "backward", "optimizer"), 0.0)
    for step in range(steps + 5):
        images = data.pretrain_x[trainer.batch_indices(step)]
        t0 = time.perf_counter()
        both = torch.cat(views(images, 2, config.augment))
        t1 = time.perf_counter()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            z1, z2 = model.projector(model.backbone(both)).float().chunk(2)
        loss = recipe.nt_xent_loss(z1, z2, config.temperature)
        t2 = time.perf_counter()
        trainer.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        t3 = time.perf_counter()
        trainer.optimizer.step()
        t4 = time.perf_counter()
        if step >= 5:  # the first steps pay for oneDNN's kernel selection
            for name, a, b in (("views", t0, t1), ("forward", t1, t2), ("backward", t2, t3), ("optimizer", t3, t4)):
                spent[name] += (b - a) * 1000 / steps
    return spent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--recipe", default="simclr", help="a two-view recipe with nt_xent_loss (simclr)")
    args = parser.parse_args(argv)
    if args.threads < 1 or args.steps < 1:
        parser.error("--threads and --steps must be >= 1")
    if not hasattr(registry.get(args.recipe), "nt_xent_loss"):
        parser.error(f"--recipe {args.recipe}: this benchmark times SimCLR's loss; use simclr")
    torch.set_num_threads(args.threads)
    print(f"Quick {args.recipe} step, {args.steps} steps after 5 of warm-up, {platform.machine()}, "
          f"{args.threads} threads, torch {torch.__version__}; milliseconds per step.\n")
    print("| variant | views | forward | backward | optimizer | total |\n|---|---:|---:|---:|---:|---:|")
    for label, settings in VARIANTS.items():
        spent = split_step(args.recipe, args.steps, **settings)
        print(f"| {label} | " + " | ".join(f"{v:.1f}" for v in spent.values()) + f" | {sum(spent.values()):.1f} |",
              flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
