"""Views per second: batched on-device augmentation against per-image pipelines, at equal workers.

    python benchmarks/augment_throughput.py [--images 4096] [--batch 512] [--workers N] [--device auto]

Three ways to make two SimCLR views of every image, with the same settings (crop scale, flip,
colour jitter, grayscale; no blur, as on CIFAR):

- ``torchvision.transforms.v2`` applied to one image at a time in a DataLoader, the usual pipeline
  (v2 on a batch tensor would draw one set of parameters for the whole batch, not what SSL wants);
- lightly's ``SimCLRTransform`` (``pip install lightly``), also per image in a DataLoader, on PIL
  images as torchvision's CIFAR-10 dataset hands them out;
- ``cookbook.augment``, which draws per-image parameters and applies them to the whole batch in a
  few tensor operations, on the tensors' own device.

*Equal workers*: the per-image pipelines get ``--workers`` DataLoader processes (default: as many
as the machine has cores), and the batched one as many torch threads, so each side uses the same
cores. The 0-worker DataLoader, in the main process, is printed too, as a reference. ``--out``
also writes the table as a JSON record; the speed chapter reads
``cookbook/results/benchmarks/augment-throughput.json``.
"""
from __future__ import annotations

import argparse
import os
import time

import torch

from cookbook import augment, data, pick_device
from cookbook.book import speed


def cookbook_views(images: torch.Tensor, batch: int, config: augment.AugmentConfig) -> int:
    made = 0
    for start in range(0, len(images), batch):
        v1, v2 = augment.views(images[start:start + batch], 2, config)
        made += len(v1) + len(v2)
    if images.device.type == "cuda":
        torch.cuda.synchronize()
    return made


def torchvision_transform(size: int, config: augment.AugmentConfig):
    from torchvision.transforms import v2

    s = config.jitter_strength
    return v2.Compose([
        v2.RandomResizedCrop(size, scale=(config.crop_min_scale, 1.0), antialias=True),
        v2.RandomHorizontalFlip(config.flip_p),
        v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=config.jitter_p),
        v2.RandomGrayscale(config.gray_p),
        v2.ToDtype(torch.float32, scale=True),
    ])


def lightly_transform(size: int, config: augment.AugmentConfig):
    """lightly's SimCLRTransform with the cookbook's settings; None when lightly is not installed."""
    try:
        from lightly.transforms import SimCLRTransform
    except ImportError:
        return None
    return SimCLRTransform(input_size=size, cj_prob=config.jitter_p, cj_strength=config.jitter_strength,
                           min_scale=config.crop_min_scale, random_gray_scale=config.gray_p,
                           gaussian_blur=config.blur_p, hf_prob=config.flip_p, normalize=None)


def loader_views(images: torch.Tensor, batch: int, two_views, workers: int) -> int:
    """Views made by ``two_views(i) -> (view, view)`` over a DataLoader of ``workers`` processes."""

    class TwoViews(torch.utils.data.Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return two_views(i)

    loader = torch.utils.data.DataLoader(TwoViews(), batch_size=batch, num_workers=workers,
                                         persistent_workers=False)
    made = 0
    for v1, v2 in loader:
        made += len(v1) + len(v2)
    return made


def timed(fn, *args) -> tuple[float, int]:
    fn(*args)  # warm-up (allocations, kernels, worker start-up paid once more below)
    start = time.perf_counter()
    made = fn(*args)
    return time.perf_counter() - start, made


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="DataLoader workers of the per-image pipelines, and torch threads of the batched one "
                             "(default: the machine's cores)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--out", help="also write the table as a JSON record to this file")
    args = parser.parse_args(argv)
    if min(args.images, args.batch, args.workers) < 1:
        parser.error("--images, --batch and --workers must be >= 1")
    device = pick_device(args.device)
    torch.set_num_threads(args.workers)
    images = data.make_toy(args.images, 1).train_x
    size = images.shape[-1]
    config = augment.AugmentConfig()
    per_image = torchvision_transform(size, config)
    lightly = lightly_transform(size, config)

    def torchvision_two(i):
        return per_image(images[i]), per_image(images[i])

    def lightly_two(i):
        from torchvision.transforms.functional import to_pil_image

        return tuple(lightly(to_pil_image(images[i])))

    rows = []

    def measure(pipeline: str, library: str, workers: int, fn, *args) -> None:
        seconds, made = timed(fn, *args)
        rows.append({"pipeline": pipeline, "library": library, "workers": workers, "views_per_s": made / seconds})

    for workers in sorted({0, args.workers}):
        measure(f"torchvision v2, per image, {workers} workers", "torchvision", workers,
                loader_views, images, args.batch, torchvision_two, workers)
        if lightly is not None:
            measure(f"lightly SimCLRTransform, per image, {workers} workers", "lightly", workers,
                    loader_views, images, args.batch, lightly_two, workers)
    measure(f"cookbook.augment, batched, {args.workers} threads (cpu)", "cookbook", args.workers,
            cookbook_views, images, args.batch, config)
    if device.type != "cpu":
        measure(f"cookbook.augment, batched ({device})", "cookbook", args.workers,
                cookbook_views, images.to(device), args.batch, config)
    print(f"{args.images} toy images ({size}x{size}), two SimCLR views each, batch {args.batch}, "
          f"{os.cpu_count()} cores; lightly {'installed' if lightly else 'not installed (pip install lightly)'}\n")
    record = {"command": speed.command_line("augment_throughput.py", argv), "images": args.images,
              "batch": args.batch, "workers": args.workers, "lightly": lightly is not None, "rows": rows}
    print(speed.augment_markdown(record))
    if args.out:
        print(f"\nwrote {speed.write_record('augment-throughput', record, args.out)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
