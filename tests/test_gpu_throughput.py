"""benchmarks/gpu_throughput.py: its every variant runs (on the CPU here, as a smoke test), its
numbers agree with each other, and bad input is refused with what to do."""
from __future__ import annotations

import json

import pytest
import torch


@pytest.fixture
def throughput(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import gpu_throughput

    return gpu_throughput


def test_the_cpu_smoke_run_prints_and_writes_a_consistent_table(throughput, tmp_path, capsys):
    out = tmp_path / "gpu.json"
    assert throughput.main(["--device", "cpu", "--batch", "4", "--steps", "1", "--warmup", "0", "--images", "8",
                            "--variants", "fp32,bf16+cl", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| fp32 |" in printed and "| bf16+cl |" in printed and "unknown peak" in printed
    record = json.loads(out.read_text())
    assert record["batch"] == 4 and set(record["variants"]) == {"fp32", "bf16+cl"}
    for row in record["variants"].values():
        assert row["epoch_s"] == pytest.approx(throughput.EPOCH_IMAGES / row["images_per_s"])
        assert row["images_per_s"] == pytest.approx(4 / (row["ms_per_step"] / 1000))
        assert row["tflops"] == pytest.approx(row["gflop_per_step"] / row["ms_per_step"])  # GFLOP/ms = TFLOP/s
        # A CIFAR-stem ResNet-18 view costs about 0.56 GMAC forward, so forward and backward about 3.3 GFLOP
        assert 2.5 < row["gflop_per_step"] / (2 * 4) < 4.5


def test_the_datasheet_peak_matches_the_specific_name_first(throughput):
    names = {"NVIDIA H100 PCIe": 756.0, "NVIDIA H100 80GB HBM3": 989.4, "NVIDIA H200": 989.4,
             "NVIDIA A100-SXM4-80GB": 312.0}
    for name, peak in names.items():
        assert next(p for key, p in throughput.PEAK_BF16_TFLOPS.items() if key in name) == peak


@pytest.mark.parametrize("argv, message", [
    (["--device", "cpu", "--variants", "fp16"], "choose among fp32"),
    (["--device", "cpu", "--batch", "64", "--images", "10"], "fewer than one batch"),
    (["--device", "cpu", "--steps", "0"], "must be >= 1"),
])
def test_bad_input_is_refused_with_what_to_do(throughput, capsys, argv, message):
    with pytest.raises(SystemExit):
        throughput.main(argv)
    assert message in capsys.readouterr().err


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")
def test_without_a_gpu_it_says_how_to_run_the_smoke_test(throughput, capsys):
    with pytest.raises(SystemExit):
        throughput.main([])
    error = capsys.readouterr().err
    assert "no CUDA device here" in error and "`--device cpu`" in error
