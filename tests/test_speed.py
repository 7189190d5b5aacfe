"""cookbook.book.speed: the benchmark records the speed chapter reads, their tables and figures, the live
step profile, and the scripts that write the records (run small here)."""
from __future__ import annotations

import json
import os

import pytest
import torch

from cookbook.book import chapter, speed


@pytest.fixture
def shown(monkeypatch):
    """What the tables display, as Markdown text."""
    texts = []
    monkeypatch.setattr(chapter, "markdown", texts.append)
    if hasattr(speed, "markdown"):  # imported by name into speed: replaced where it is looked up
        monkeypatch.setattr(speed, "markdown", texts.append)
    return texts


@pytest.fixture
def script(repo_root, monkeypatch):
    monkeypatch.syspath_prepend(str(repo_root / "benchmarks"))
    import importlib

    return importlib.import_module


def test_a_record_carries_where_and_when_it_was_made(tmp_path):
    path = speed.write_record("ddp-scaling", {"command": "python benchmarks/ddp_scaling.py", "rows": []},
                              tmp_path / "r.json")
    record = json.loads(path.read_text())
    assert record["benchmark"] == "ddp-scaling" and record["torch"] == torch.__version__
    assert record["machine"].endswith(f", {os.cpu_count()} cores") and record["rows"] == []
    assert record["command"] in speed.provenance(record) and record["date"] in speed.provenance(record)
    assert not list(tmp_path.glob(".*tmp*"))  # written atomically: no temporary file left
    with pytest.raises(ValueError, match="no benchmark 'speed'.*augment-throughput"):
        speed.write_record("speed", {}, tmp_path / "x.json")
    with pytest.raises(ValueError, match="no benchmark"):
        speed.load("gpu")


def test_the_chapter_has_every_cpu_record_and_says_when_the_gpu_one_is_missing(monkeypatch, tmp_path, shown):
    for name in ("augment-throughput", "step-levers", "ddp-scaling"):
        record = speed.load(name)
        assert record is not None and record["benchmark"] == name and record["rows"], name
    monkeypatch.setattr(speed, "RESULTS", tmp_path)
    assert speed.load("gpu-throughput") is None
    speed.gpu_table(None)
    assert "Not measured yet" in shown[-1] and "gpu_throughput.py" in shown[-1]


def test_the_augmentation_record_compares_at_equal_workers(script, tmp_path, shown, monkeypatch, capsys):
    import torch.multiprocessing as mp

    before = mp.get_sharing_strategy()
    mp.set_sharing_strategy("file_system")  # the network guard refuses the Unix socket of the default
    try:
        assert script("augment_throughput").main(["--images", "64", "--batch", "32", "--workers", "1",
                                                  "--device", "cpu", "--out", str(tmp_path / "a.json")]) == 0
    finally:
        mp.set_sharing_strategy(before)
    record = json.loads((tmp_path / "a.json").read_text())
    assert record["workers"] == 1 and {r["library"] for r in record["rows"]} >= {"torchvision", "cookbook"}
    speed.augment_table(record)
    baseline = next(line for line in shown[-1].splitlines() if "torchvision v2, per image, 1 workers" in line)
    assert baseline.split("|")[3].strip() == "1.0x"
    assert len(speed.augment_figure(record).axes[0].patches) == len(record["rows"])


class StepClock:
    """A stand-in for the ``time`` module that step_profile reads: step s (from 0) spends (s + 1) x (p + 1) ms in
    phase p (views, forward, backward, optimizer), whatever the real durations; 1 s passes between steps."""

    def __init__(self):
        self.calls = 0

    def perf_counter(self) -> float:
        step, tick = divmod(self.calls, len(speed.PHASES) + 1)  # five readings a step: before and after each phase
        self.calls += 1
        return step + sum((step + 1) * (p + 1) for p in range(tick)) / 1000


def test_the_step_profile_splits_a_step_and_the_levers_record_draws(script, tmp_path, shown, monkeypatch):
    with monkeypatch.context() as patched:  # only while profiling: write_record below reads the real date
        patched.setattr(speed, "time", StepClock())
        spent = speed.step_profile("simclr", steps=2, warmup=1)
    # Steps 1 and 2 are timed (step 0 is the warm-up): phase p takes (2 + 3) / 2 x (p + 1) ms per step on average.
    # Counting the warm-up step, or dividing by the 3 steps run, would give 3 or 2 x (p + 1); a phase read
    # between the wrong pair of readings would take another phase's share.
    assert spent == pytest.approx({"views": 2.5, "forward": 5.0, "backward": 7.5, "optimizer": 10.0})
    assert list(spent) == list(speed.PHASES)
    with pytest.raises(ValueError, match="use simclr"):
        speed.step_profile("byol", steps=1)
    with pytest.raises(ValueError, match="steps=0"):
        speed.step_profile(steps=0)
    levers = script("step_levers")
    monkeypatch_variants = {"as configured": {}, "16 px images": {"image_size": 16}}
    levers.VARIANTS, saved = monkeypatch_variants, levers.VARIANTS
    try:
        assert levers.main(["--steps", "1", "--threads", "1", "--repeats", "2", "--out", str(tmp_path / "s.json")]) == 0
    finally:
        levers.VARIANTS = saved
    record = json.loads((tmp_path / "s.json").read_text())
    assert [r["variant"] for r in record["rows"]] == ["as configured", "16 px images"]
    # one thread: timed by the thread's CPU time; every repeat kept; the CPU's bf16 units and the fused drift recorded
    assert record["clock"] == "cpu" and record["threads"] == 1 and [len(r["repeats"]) for r in record["rows"]] == [2, 2]
    assert set(record["cpu"]) == {"model", "flags"} and record["fused_drift_after_3_steps"] < 1e-4
    speed.step_table(record)
    assert shown[-1].count("\n") == 3 and "16 px images" in shown[-1]
    assert len(speed.step_figure(record["rows"]).axes[0].patches) == 2 * len(speed.PHASES)


def test_ddp_scaling_launches_torchrun_and_records_each_launch(script, tmp_path, shown, monkeypatch):
    ddp = script("ddp_scaling")
    runs, launch = [], ddp.train  # each launch's metrics.json, as the script read it
    monkeypatch.setattr(ddp, "train", lambda *args: runs.append(launch(*args)) or runs[-1])
    out = tmp_path / "d.json"
    assert ddp.main(["--launches", "2x1,1x1", "--seeds", "0", "--steps", "2", "--out", str(out)]) == 0
    record = json.loads(out.read_text())
    assert [(r["processes"], r["threads"]) for r in record["rows"]] == [(2, 1), (1, 1)] and record["steps"] == 2
    for row, run in zip(record["rows"], runs, strict=True):
        # each row holds its own run's scores and the trainer's time, which the whole command's time contains
        assert row["seeds"] == [0] and [run["steps"], run["config"]["seed"]] == [2, 0]
        assert (row["knn_acc"], row["linear_acc"], row["wall_s"]) == ([run["knn_acc"]], [run["linear_acc"]],
                                                                      [run["wall_s"]])
        assert 0 < row["wall_s"][0] < row["command_wall_s"][0]
        assert row["images_per_s"][0] == pytest.approx(2 * record["global_batch"] / row["wall_s"][0])
    # One model, whatever the launch: the same seed gives the two launches the same network before training
    # (they differ after it only by each process's own random views), so their step-0 evaluations agree.
    assert runs[0]["history"][0] == pytest.approx(runs[1]["history"][0])
    assert runs[0]["random_init_knn_acc"] == runs[1]["random_init_knn_acc"]
    speed.scaling_table(record)
    assert "2 processes x 1 thread" in shown[-1]
    with pytest.raises(SystemExit):
        ddp.main(["--launches", "2by1"])
    with pytest.raises(SystemExit):
        ddp.main(["--launches", "3x1", "--steps", "1"])  # 3 does not divide the quick batch


def test_the_gpu_table_reads_the_benchmarks_record(script, tmp_path, shown):
    out = tmp_path / "g.json"
    assert script("gpu_throughput").main(["--device", "cpu", "--batch", "2", "--steps", "1", "--warmup", "0",
                                          "--images", "4", "--variants", "fp32", "--out", str(out)]) == 0
    speed.gpu_table(json.loads(out.read_text()))
    assert "| fp32 |" in shown[-1] and "unknown peak" in shown[-1]


def timing_record(base: list[float], variant: list[float], **extra) -> dict:
    """A step-levers record whose steps take the given milliseconds per repeat, all of it in the backward pass."""
    def row(name, totals):
        repeats = [{"views": 0.0, "forward": 0.0, "backward": t, "optimizer": 0.0, "first_step_ms": 100.0}
                   for t in totals]
        return {"variant": name, **repeats[0], "repeats": repeats}
    return {"recipe": "simclr", "repeats": len(base), **extra,
            "rows": [row("as configured", base), row("lever", variant)]}


def test_a_lever_differs_only_when_every_repeat_agrees():
    # The load moves both together between repeats: ranges overlap, yet the lever is faster in each repeat.
    assert speed.lever_verdict(timing_record([10, 20, 30], [9, 18, 27]), "lever")[0] == "faster"
    assert speed.lever_verdict(timing_record([10, 20, 30], [11, 22, 33]), "lever")[0] == "slower"
    verdict, words = speed.lever_verdict(timing_record([10, 20, 30], [9, 21, 27]), "lever")
    assert verdict == "no difference" and "from 0.90 to 1.05" in words
    failed = timing_record([10, 20, 30], [9, 18, 27])
    failed["rows"][1] = {"variant": "lever", "failed": "RuntimeError: no C++ compiler", "repeats": []}
    assert speed.lever_verdict(failed, "lever") == (
        "failed", "lever failed on the machine that made the record: RuntimeError: no C++ compiler")
    assert "failed: RuntimeError" in speed.step_markdown(failed)
    assert len(speed.step_figure(failed["rows"]).axes[0].patches) == len(speed.PHASES)  # the failed row left out


def test_a_lever_that_fails_is_recorded_and_the_others_still_run(monkeypatch):
    def broken(function):
        def run(*args):
            raise RuntimeError("InvalidCxxCompiler: no working C++ compiler found\nmore lines")
        return run

    monkeypatch.setattr(speed.torch, "compile", broken)
    measured = speed.measure_interleaved({"as configured": {}, "torch.compile": {"compiled": True}}, steps=1, warmup=0)
    assert measured["torch.compile"] == {"failed": "RuntimeError: InvalidCxxCompiler: no working C++ compiler found"}
    assert set(measured["as configured"]) == {*speed.PHASES, "first_step_ms"}
    with pytest.raises(RuntimeError, match="InvalidCxxCompiler"):
        speed.step_measure(steps=1, warmup=0, compiled=True)  # alone, a failure is an error


def test_the_cpu_clock_is_for_one_thread_and_a_busy_machine_is_noted(monkeypatch):
    monkeypatch.setattr(speed.torch, "get_num_threads", lambda: 2)
    with pytest.raises(ValueError, match="set_num_threads"):
        speed.step_clock("cpu")
    assert speed.step_clock("wall") is speed.time.perf_counter
    with pytest.raises(ValueError, match="one of wall, cpu"):
        speed.step_clock("gpu")
    assert speed.load_note((0.9, 1.4), cores=2, threads=1) == ""
    assert "load average up to 3.2 on 2 cores" in speed.load_note((3.2, 1.0), cores=2, threads=1)


def test_the_fused_optimizer_is_fused_and_agrees_with_the_loop():
    timer = speed.StepTimer(fused=True)
    assert [group["fused"] for group in timer.trainer.optimizer.param_groups] == [True] * len(
        timer.trainer.optimizer.param_groups)
    assert speed.fused_drift(steps=2) < 1e-4


def test_a_gradient_n_times_too_large_is_n_times_the_step_for_sgd_only():
    effect = speed.gradient_scale_effect(scale=3)
    assert effect["SGD"] == pytest.approx(3.0) and effect["AdamW"] == pytest.approx(1.0, abs=1e-4)


def test_the_chapters_claims_hold_on_the_committed_records(monkeypatch):
    from cookbook.book import claims

    monkeypatch.setenv(claims.STRICT_ENV, "1")
    monkeypatch.setattr(claims, "show_in_notebook", lambda *args, **kwargs: None)
    levers = speed.load("step-levers")
    speed.lever_findings(levers)
    speed.compile_findings(levers)
    speed.augment_claim(speed.load("augment-throughput"), "batched is faster", factor=5)
    with pytest.raises(claims.ClaimFailed):
        speed.lever_claim(levers, "16 px images", "slower", "smaller images are slower")
