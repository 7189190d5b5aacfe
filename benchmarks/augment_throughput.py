"""Views per second: batched on-device augmentation against per-image torchvision v2 transforms.

    python benchmarks/augment_throughput.py [--images 4096] [--batch 512] [--device auto]

The baseline is the usual pipeline: a DataLoader that applies ``torchvision.transforms.v2``
to one image at a time (v2 on a batch tensor would draw one set of parameters for the whole
batch, which is not what SSL wants). ``cookbook.augment`` draws per-image parameters and
applies them to the whole batch in a few tensor operations, on the tensors' own device.
Both pipelines make two SimCLR views per image with the same settings.
"""
from __future__ import annotations

import argparse
import time

import torch

from cookbook import augment, data, pick_device


def cookbook_views(images: torch.Tensor, batch: int, config: augment.AugmentConfig) -> int:
    made = 0
    for start in range(0, len(images), batch):
        v1, v2 = augment.views(images[start:start + batch], 2, config)
        made += len(v1) + len(v2)
    if images.device.type == "cuda":
        torch.cuda.synchronize()
    return made


def torchvision_views(images: torch.Tensor, batch: int, config: augment.AugmentConfig, workers: int) -> int:
    from torchvision.transforms import v2

    s = config.jitter_strength
    transform = v2.Compose([
        v2.RandomResizedCrop(images.shape[-1], scale=(config.crop_min_scale, 1.0), antialias=True),
        v2.RandomHorizontalFlip(config.flip_p),
        v2.RandomApply([v2.ColorJitter(0.8 * s, 0.8 * s, 0.8 * s, 0.2 * s)], p=config.jitter_p),
        v2.RandomGrayscale(config.gray_p),
        v2.ToDtype(torch.float32, scale=True),
    ])

    class TwoViews(torch.utils.data.Dataset):
        def __len__(self):
            return len(images)

        def __getitem__(self, i):
            return transform(images[i]), transform(images[i])

    loader = torch.utils.data.DataLoader(TwoViews(), batch_size=batch, num_workers=workers)
    made = 0
    for v1, v2_ in loader:
        made += len(v1) + len(v2_)
    return made


def timed(fn, *args) -> tuple[float, int]:
    fn(*args)  # warm-up (allocations, kernels)
    start = time.perf_counter()
    made = fn(*args)
    return time.perf_counter() - start, made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=4096)
    parser.add_argument("--batch", type=int, default=512)
    parser.add_argument("--workers", type=int, default=0, help="DataLoader workers for the torchvision baseline")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    device = pick_device(args.device)
    toy = data.make_toy(args.images, 1)
    config = augment.AugmentConfig()
    rows = []
    seconds, made = timed(torchvision_views, toy.train_x, args.batch, config, args.workers)
    rows.append((f"torchvision v2, per image, {args.workers} workers (cpu)", made / seconds))
    seconds, made = timed(cookbook_views, toy.train_x, args.batch, config)
    rows.append(("cookbook.augment, batched (cpu)", made / seconds))
    if device.type != "cpu":
        seconds, made = timed(cookbook_views, toy.train_x.to(device), args.batch, config)
        rows.append((f"cookbook.augment, batched ({device})", made / seconds))
    print(f"{args.images} toy images (32x32), two SimCLR views each, batch {args.batch}, "
          f"{torch.get_num_threads()} CPU threads")
    print(f"{'pipeline':<48} {'views/s':>12} {'speed-up':>9}")
    for name, rate in rows:
        print(f"{name:<48} {rate:>12,.0f} {rate / rows[0][1]:>8.1f}x")


if __name__ == "__main__":
    main()
