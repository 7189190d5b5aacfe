"""SimCLR ResNet-18 training throughput on one GPU, on synthetic CIFAR-10-sized images.

    python benchmarks/gpu_throughput.py [--batch 512] [--steps 30] [--warmup 10] [--variants ...] [--out FILE.json]

A device machine reaches no dataset, and a step's cost does not depend on what its pixels show, so
the images are random uint8 tensors of CIFAR-10's shape, 50,000 of them, made on the device. Each
variant times the recipe's real step, :meth:`cookbook.train.Trainer.train_step` (two views made on
the device by :mod:`cookbook.augment`, the two-view forward pass of the CIFAR-stem ResNet-18 and its
projector, NT-Xent, the backward pass, LARS), on SimCLR's ``cuda`` budget at batch ``--batch``:

- ``fp32``: no autocast, contiguous (NCHW) tensors;
- ``bf16``: bfloat16 autocast, the ``cuda`` budget's mixed precision;
- ``bf16+cl``: and channels_last, the layout tensor cores read without transposes;
- ``bf16+cl+compile``: and ``torch.compile`` of the backbone and the projector.

For each it prints milliseconds per step, images per second (each image gives two views),
seconds per 50,000-image two-view epoch, the achieved TFLOP/s (the step's floating-point
operations counted once with ``torch.utils.flop_counter.FlopCounterMode``: the convolutions and
matrix products of the forward and backward passes, not the augmentation), its fraction of the
device's dense bf16 peak from its datasheet (``PEAK_BF16_TFLOPS``; unknown devices get none) and
the peak memory the step allocated. The whole benchmark is meant to finish within 8 minutes on an
H100-class GPU; the goal of issue 15 there is one such epoch in at most 2 seconds.

``--device cpu`` runs the same code on the CPU at whatever small size is asked: a smoke test that
every variant runs (``torch.compile`` included), not a measurement worth reporting (the Trainer's
autocast is CUDA's only, so the bf16 variants run in fp32 there). ``--out``
writes the table as a JSON record; the speed chapter reads
``cookbook/results/benchmarks/gpu-throughput.json``.
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402

from cookbook import registry  # noqa: E402
from cookbook.book import speed  # noqa: E402
from cookbook.data import ImageData  # noqa: E402
from cookbook.train import Trainer  # noqa: E402

EPOCH_IMAGES = 50_000  # CIFAR-10's training split
# Dense (no sparsity) bfloat16 tensor-core peaks from NVIDIA's datasheets, in TFLOP/s, matched
# against torch.cuda.get_device_name(); the first matching key wins, so the specific ones come first.
PEAK_BF16_TFLOPS = {"H100 PCIe": 756.0, "H100 NVL": 835.0, "H100": 989.4, "H200": 989.4, "GH200": 989.4,
                    "B200": 2250.0, "A100": 312.0, "L40S": 362.0, "A10G": 70.0, "L4": 121.0, "T4": 65.0}
VARIANTS = {"fp32": dict(amp=False, channels_last=False, compile=False),
            "bf16": dict(amp=True, channels_last=False, compile=False),
            "bf16+cl": dict(amp=True, channels_last=True, compile=False),
            "bf16+cl+compile": dict(amp=True, channels_last=True, compile=True)}


def synthetic_cifar(n: int, device: torch.device) -> ImageData:
    """``n`` random uint8 images of CIFAR-10's shape on ``device`` (and a token test split)."""
    generator = torch.Generator(device=device).manual_seed(0)
    images = torch.randint(0, 256, (n, 3, 32, 32), dtype=torch.uint8, device=device, generator=generator)
    labels = torch.zeros(n, dtype=torch.long, device=device)
    return ImageData(name="synthetic CIFAR-10", train_x=images, train_y=labels, test_x=images[:8],
                     test_y=labels[:8], classes=tuple(f"class {c}" for c in range(10)))


def peak_tflops(device: torch.device) -> float | None:
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((peak for key, peak in PEAK_BF16_TFLOPS.items() if key in name), None)


def step_flops(trainer: Trainer) -> float:
    """Floating-point operations of one training step (forward and backward), counted by torch."""
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return float(counter.get_total_flops())


def measure(data: ImageData, batch: int, steps: int, warmup: int, amp: bool, channels_last: bool,
            compile: bool) -> dict[str, float]:
    """Time ``steps`` training steps of SimCLR's ``cuda`` budget after ``warmup`` untimed ones."""
    simclr = registry.get("simclr")
    config = simclr.Config.for_budget("cuda", batch_size=batch, amp=amp, channels_last=channels_last, progress=False,
                                      eval_every=0, out=None, steps=10 * (steps + warmup), device=str(data.device))
    torch.manual_seed(0)
    trainer = Trainer(simclr.build_model(config, data), data, config)
    model = trainer.model
    if compile:
        model.backbone, model.projector = torch.compile(model.backbone), torch.compile(model.projector)
    flops = step_flops(trainer)  # also the first warm-up step
    synchronize = torch.cuda.synchronize if data.device.type == "cuda" else (lambda: None)
    if data.device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(data.device)
    for _ in range(warmup):  # cuDNN's algorithm search, the compiler's first graphs
        trainer.train_step()
    synchronize()
    started = time.perf_counter()
    for _ in range(steps):
        loss = trainer.train_step()["loss"]
    synchronize()
    seconds = (time.perf_counter() - started) / steps
    if not torch.isfinite(loss):
        raise RuntimeError(f"the loss is {loss.item()} after {warmup + steps + 1} steps: the timing of a diverged "
                           f"run says nothing")
    images_per_s = batch / seconds
    return {"ms_per_step": 1000 * seconds, "images_per_s": images_per_s, "epoch_s": EPOCH_IMAGES / images_per_s,
            "tflops": flops / seconds / 1e12, "gflop_per_step": flops / 1e9,
            "peak_memory_gib": (torch.cuda.max_memory_allocated(data.device) / 2**30
                                if data.device.type == "cuda" else None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batch", type=int, default=512, help="images per step (default 512)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per variant (default 30)")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps first (default 10)")
    parser.add_argument("--images", type=int, default=EPOCH_IMAGES,
                        help="synthetic images on the device (default 50000)")
    parser.add_argument("--variants", default=",".join(VARIANTS), help=f"comma-separated, of {', '.join(VARIANTS)}")
    parser.add_argument("--device", default="cuda", help="cuda (default), cuda:N, or cpu for a smoke test")
    parser.add_argument("--out", help="also write the table as JSON to this file")
    args = parser.parse_args(argv)
    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown or not variants:
        parser.error(f"--variants {args.variants!r}: choose among {', '.join(VARIANTS)}")
    if min(args.batch, args.steps) < 1 or args.warmup < 0:
        parser.error("--batch and --steps must be >= 1 and --warmup >= 0")
    if args.images < args.batch:
        parser.error(f"--images {args.images} is fewer than one batch of {args.batch}")
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        parser.error("no CUDA device here: this benchmark measures a GPU. `--device cpu` with a small --batch and "
                     "--steps runs every variant on the CPU as a smoke test, not a measurement")
    device = torch.device(args.device)
    data = synthetic_cifar(args.images, device)
    peak = peak_tflops(device)
    where = (torch.cuda.get_device_name(device) if device.type == "cuda"
             else f"CPU ({platform.machine()}, {os.cpu_count()} cores)")
    print(f"SimCLR ResNet-18 (CIFAR stem), batch {args.batch} x 2 views, {args.steps} timed steps after "
          f"{args.warmup + 1} of warm-up, on {where}; torch {torch.__version__}\n", flush=True)
    started, rows = time.perf_counter(), {}
    for name in variants:
        rows[name] = measure(data, args.batch, args.steps, args.warmup, **VARIANTS[name])
        print(f"{name}: {rows[name]['ms_per_step']:.1f} ms/step ({time.perf_counter() - started:.0f} s so far)",
              flush=True)
    record = {"command": speed.command_line("gpu_throughput.py", argv), "device": where, "batch": args.batch,
              "steps": args.steps, "warmup": args.warmup, "peak_bf16_tflops": peak, "variants": rows}
    print("\n" + speed.gpu_markdown(record))
    print(f"\n{rows[variants[0]]['gflop_per_step']:.0f} GFLOP per step; peak: "
          f"{f'{peak:g} TFLOP/s dense bf16 (datasheet)' if peak else 'not known for this device'}; "
          f"the whole benchmark took {time.perf_counter() - started:.0f} s")
    if args.out:
        print(f"wrote {speed.write_record('gpu-throughput', record, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
