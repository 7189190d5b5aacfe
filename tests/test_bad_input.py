"""Bad input gets a one-line error (or warning) that says what is wrong, never a deep traceback.

A device this book cannot use (``--device tpu``, or an accelerator this machine lacks), settings
that used to mean something else in silence (0 images meaning "all"), an output path that is a
file, a damaged checkpoint, multi-process launches, and image folders holding files that cannot
be decoded. Recipe-specific rules have their tests next to the recipe's."""
from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch

from cookbook import data, pick_device
from recipes.__main__ import main as recipes_main

# ----------------------------------------------------------------------------- devices


@pytest.mark.parametrize("device", ["tpu", "gpu", "cuda:", "cuda:x", "cuda:0:1", "cpu:0", ""])
def test_a_device_that_is_no_device_names_itself_and_the_choices(device):
    with pytest.raises(ValueError) as caught:
        pick_device(device)
    message = str(caught.value)
    assert f"device={device!r}" in message and "auto, cpu, cuda, cuda:N or mps" in message
    assert "\n" not in message


def test_tpu_is_refused_by_name():
    with pytest.raises(ValueError, match="'tpu'"):
        pick_device("tpu")


def test_cpu_and_auto_always_work():
    assert pick_device("cpu") == torch.device("cpu")
    assert pick_device("auto").type in {"cpu", "cuda", "mps"}


def test_cuda_or_mps_on_a_machine_without_them_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for device in ("cuda", "cuda:1"):
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device(device)
    with pytest.raises(ValueError, match="MPS is not available"):
        pick_device("mps")
    assert pick_device("auto") == torch.device("cpu")


def test_a_cuda_index_past_the_last_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    with pytest.raises(ValueError, match=r"has 1 CUDA device\(s\) \(cuda:0 to cuda:0\)"):
        pick_device("cuda:3")
    assert pick_device("cuda:0") == torch.device("cuda:0")


def cli_error(capsys, *argv: str) -> str:
    """Run ``python -m recipes ARGV`` in-process; it must exit 2 with one line of stderr: the error."""
    rc = recipes_main(list(argv))
    err = capsys.readouterr().err
    assert rc == 2, err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), lines
    return lines[0]


def test_the_command_line_refuses_tpu_in_one_line(tmp_path, capsys):
    out = tmp_path / "run"
    line = cli_error(capsys, "simclr", "--quick", "--device", "tpu", "--out", str(out), "--no-progress")
    assert "device='tpu'" in line and "cuda:N" in line
    assert not out.exists()  # refused before anything was written


# ----------------------------------------------------------------------- settings that silently meant something else

QUICK = ("--quick", "--no-progress", "--steps", "2")


@pytest.mark.parametrize("argv, words", [
    (("simclr", "--n-train", "0"), ["n_train=0", "unset"]),
    (("simclr", "--n-test", "0"), ["n_test=0", "unset"]),
    (("simclr", "--aug-output-size", "0"), ["output_size=0", "unset"]),
    (("byol", "--proj-dim", "0"), ["proj_dim=0"]),
    (("simsiam", "--proj-dim", "0"), ["proj_dim=0"]),
    (("swav", "--sinkhorn-iterations", "0"), ["sinkhorn_iterations=0"]),
    (("simclr", "--steps", "0"), ["steps=0"]),
    (("simclr", "--batch-size", "0"), ["batch_size=0"]),
    (("simclr", "--knn-k", "0"), ["knn_k=0"]),
    (("simclr", "--lr", "nan"), ["lr=nan"]),
])
def test_a_zero_or_impossible_setting_is_refused_by_name(argv, words, tmp_path, capsys):
    line = cli_error(capsys, argv[0], *QUICK, *argv[1:], "--out", str(tmp_path / "run"))
    for word in words:
        assert word in line, (word, line)


def test_an_output_path_that_is_a_file_is_refused(tmp_path, capsys):
    taken = tmp_path / "notes.txt"
    taken.write_text("not a run folder")
    line = cli_error(capsys, "simclr", *QUICK, "--out", str(taken))
    assert str(taken) in line and "not a folder" in line
    assert taken.read_text() == "not a run folder"


@pytest.mark.parametrize("damage", ["truncated", "garbage", "not a dict"])
def test_a_damaged_checkpoint_is_named_with_the_way_out(damage, tmp_path, capsys):
    from cookbook.checkpoint import CHECKPOINT_NAME, atomic_save

    out = tmp_path / "run"
    checkpoint = out / CHECKPOINT_NAME
    atomic_save({"model": {"w": torch.ones(1000)}, "step": 3}, checkpoint)
    if damage == "truncated":
        checkpoint.write_bytes(checkpoint.read_bytes()[:200])
    elif damage == "garbage":
        checkpoint.write_bytes(b"\x00not a checkpoint at all" * 10)
    else:
        atomic_save([1, 2, 3], checkpoint)
    line = cli_error(capsys, "simclr", *QUICK, "--out", str(out))
    assert str(checkpoint) in line and "--no-resume" in line
    assert recipes_main(["simclr", *QUICK, "--n-train", "256", "--n-test", "64", "--batch-size", "32",
                         "--out", str(out), "--no-resume"]) == 0  # the way out works


def test_a_torchrun_launch_whose_world_does_not_divide_the_batch_is_refused(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("WORLD_SIZE", "3")
    line = cli_error(capsys, "simclr", *QUICK, "--n-train", "256", "--n-test", "64", "--batch-size", "32",
                     "--out", str(tmp_path / "r"))
    assert "WORLD_SIZE=3" in line and "does not divide" in line and "multiple of 3" in line


def test_nccl_asked_for_on_a_cpu_is_refused_from_the_command_line(capsys):
    line = cli_error(capsys, "simclr", *QUICK, "--device", "cpu", "--backend", "nccl")
    assert "nccl" in line and "needs GPUs" in line and "gloo" in line


# ----------------------------------------------------------------------------- image folders


def write_pngs(folder: Path, n: int, colour=(200, 30, 30)) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.new("RGB", (12, 10), colour).save(folder / f"{i}.png")


def write_text_as_png(path: Path) -> Path:
    path.write_text("this is not an image")
    return path


def write_truncated_png(path: Path) -> Path:
    """A PNG cut off halfway: PIL opens it (the header is intact) but cannot decode its pixels."""
    from PIL import Image

    Image.effect_noise((32, 32), 60).convert("RGB").save(path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with Image.open(path) as im:  # the header still reads, so only decoding can find the damage
        assert im.size == (32, 32)
    return path


def skip_warnings(record) -> list[str]:
    return [str(w.message) for w in record if "could not be decoded" in str(w.message)]


@pytest.mark.parametrize("corrupt", [write_text_as_png, write_truncated_png], ids=["text", "truncated"])
def test_an_undecodable_file_is_skipped_with_one_warning_naming_it(tmp_path, corrupt):
    folder = tmp_path / "pets"
    write_pngs(folder / "cat", 3)
    write_pngs(folder / "dog", 2, colour=(30, 30, 200))
    bad = corrupt(folder / "dog" / "broken.png")
    with pytest.warns(UserWarning) as record:
        loaded = data.load(str(folder), image_size=8)
    messages = skip_warnings(record)
    assert len(messages) == 1
    assert "skipped 1 image file" in messages[0] and str(bad.absolute()) in messages[0]
    assert "\n" not in messages[0]
    assert loaded.classes == ("cat", "dog")
    assert len(loaded.train_x) + len(loaded.test_x) == 5
    assert sorted(torch.cat([loaded.train_y, loaded.test_y]).tolist()) == [0, 0, 0, 1, 1]


def test_skipped_files_of_both_splits_share_one_warning_that_names_the_first_few(tmp_path):
    folder = tmp_path / "set"
    for split in ("train", "test"):
        for cls in ("a", "b"):
            write_pngs(folder / split / cls, 2)
    bad = [write_text_as_png(folder / "train" / "a" / f"bad{i}.png") for i in range(4)]
    bad.append(write_text_as_png(folder / "test" / "b" / "bad.png"))
    with pytest.warns(UserWarning) as record:
        loaded = data.load(str(folder), image_size=8)
    (message,) = skip_warnings(record)
    assert "skipped 5 image file" in message and "and 2 more" in message
    assert all(str(p.absolute()) in message for p in bad[:3])
    assert len(loaded.train_x) == 4 and len(loaded.test_x) == 4


def test_a_folder_of_only_undecodable_files_is_a_clear_error(tmp_path):
    folder = tmp_path / "junk"
    for cls in ("a", "b"):
        (folder / cls).mkdir(parents=True)
        write_text_as_png(folder / cls / "0.png")
        write_truncated_png(folder / cls / "1.png")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the error alone tells the story: no warning on top
        with pytest.raises(ValueError) as caught:
            data.load(str(folder), image_size=8)
    message = str(caught.value)
    assert str(folder) in message and "none of its 4 image files could be decoded" in message
    assert "replace them" in message and "\n" not in message


def test_a_class_whose_every_file_is_undecodable_is_a_clear_error(tmp_path):
    folder = tmp_path / "pets"
    write_pngs(folder / "cat", 3)
    (folder / "dog").mkdir()
    write_text_as_png(folder / "dog" / "0.png")
    with pytest.raises(ValueError, match="class 'dog'") as caught:
        data.load(str(folder), image_size=8)
    assert str(folder / "dog") in str(caught.value)


def test_the_command_line_reports_a_skipped_file_in_one_warning_line(tmp_path, capsys):
    folder = tmp_path / "pets"
    write_pngs(folder / "cat", 12)
    write_pngs(folder / "dog", 12, colour=(30, 30, 200))
    bad = write_text_as_png(folder / "dog" / "broken.png")
    status = recipes_main(["simclr", "--quick", "--no-progress", "--dataset", str(folder), "--steps", "1",
                           "--batch-size", "8", "--n-train", "16", "--n-test", "8", "--out", str(tmp_path / "run")])
    assert status == 0
    warned = [line for line in capsys.readouterr().err.splitlines() if "could not be decoded" in line]
    assert warned == [f"warning: {folder}: skipped 1 image file(s) that could not be decoded: {bad.absolute()}; "
                      "replace or delete them"]
