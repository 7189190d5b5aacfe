"""benchmarks/augment_throughput.py: the per-image pipelines and the batched one at equal workers."""
from __future__ import annotations

import pytest


@pytest.fixture
def throughput(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import augment_throughput

    return augment_throughput


@pytest.fixture
def shared_memory_by_file():
    """DataLoader workers hand batches back by passing file descriptors over a Unix socket, which the
    tests' network guard refuses; the file_system strategy shares them through named files instead."""
    import torch.multiprocessing as mp

    before = mp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")
    yield
    mp.set_sharing_strategy(before)


def test_each_pipeline_is_timed_and_compared_at_equal_workers(throughput, capsys, shared_memory_by_file):
    assert throughput.main(["--images", "64", "--batch", "32", "--workers", "1", "--device", "cpu"]) == 0
    printed = capsys.readouterr().out
    for row in ("torchvision v2, per image, 0 workers", "torchvision v2, per image, 1 workers",
                "cookbook.augment, batched, 1 threads (cpu)"):
        assert f"| {row} |" in printed
    baseline = next(line for line in printed.splitlines() if "torchvision v2, per image, 1 workers" in line)
    assert baseline.split("|")[3].strip() == "1.0x"  # the equal-workers baseline against itself
    if "lightly not installed" in printed:
        assert "| n/a |" in printed
    else:
        assert "lightly SimCLRTransform, per image, 1 workers" in printed


def test_the_two_per_image_pipelines_make_views_of_the_images_size(throughput):
    import torch

    from cookbook import augment

    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    view = throughput.torchvision_transform(32, augment.AugmentConfig())(image)
    assert view.shape == (3, 32, 32) and view.dtype == torch.float32 and 0 <= view.min() <= view.max() <= 1
    lightly = throughput.lightly_transform(32, augment.AugmentConfig())
    if lightly is not None:
        from torchvision.transforms.functional import to_pil_image

        first, second = lightly(to_pil_image(image))
        assert first.shape == second.shape == (3, 32, 32)


def test_bad_input_is_refused(throughput, capsys):
    with pytest.raises(SystemExit):
        throughput.main(["--workers", "0"])
    assert "must be >= 1" in capsys.readouterr().err
