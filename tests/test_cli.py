"""The command line: ``python -m recipes`` and ``python -m recipes.simclr``.

A few runs go through a real subprocess (the entry points, the environment switch, the exit
codes); the rest call :func:`cookbook.cli.main` in-process, which is much faster."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cookbook import cli, evaluate, registry
from cookbook.checkpoint import load_checkpoint
from cookbook.run import prepare
from cookbook.train import CHECKPOINT_NAME
from recipes import __main__ as recipes_main
from recipes import simclr

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
TINY_RUN = ["--quick", "--steps", "4", "--batch-size", "16", "--n-train", "64", "--n-test", "32", "--eval-every", "2"]


def python_m(args, cwd, quick: bool | None = None, timeout: int = 180) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "COOKBOOK_QUICK"}
    env["OMP_NUM_THREADS"] = "1"  # as in conftest: tiny tensors, and the suite shares two cores
    if quick:
        env["COOKBOOK_QUICK"] = "1"
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout)


# ----------------------------------------------------------------------------- subprocesses

def test_list_describes_the_recipes(repo_root):
    result = python_m(["recipes", "--list"], repo_root)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # every recipe, family by family, each with the first line of its docstring
    assert [line.split()[0] for line in lines] == registry.names() and len(lines) == 16
    line = next(line for line in lines if line.startswith("simclr "))
    assert line.split(None, 1)[1] == registry.get("simclr").__doc__.splitlines()[0]


def test_an_unknown_recipe_exits_2(repo_root):
    result = python_m(["recipes", "nosuch"], repo_root)
    assert result.returncode == 2
    assert "unknown recipe" in result.stderr and "simclr" in result.stderr
    assert result.stdout == ""


def test_a_tiny_run_writes_metrics_and_curves_then_resumes(repo_root, tmp_path):
    out = tmp_path / "run"
    started = time.perf_counter()
    first = python_m(["recipes.simclr", *TINY_RUN, "--out", str(out)], repo_root, quick=False)
    command_s = time.perf_counter() - started
    assert first.returncode == 0, first.stderr[-3000:]
    assert "budget quick" in first.stderr and "resuming" not in first.stderr

    metrics = json.loads((out / "metrics.json").read_text())
    for key in cli.SUMMARY_KEYS:
        assert key in metrics, key
    assert metrics["steps"] == 4
    assert metrics["device"].startswith("cuda" if torch_has_cuda() else "cpu")
    again = measured_again(out, metrics)
    assert {key: metrics[key] for key in again} == pytest.approx(again)
    assert 0 < metrics["wall_s"] < command_s  # the trainer's seconds, inside the command's
    assert [r["step"] for r in metrics["history"] if "knn_acc" in r] == [0, 2, 4]
    png = (out / "curves.png").read_bytes()
    assert png[:8] == PNG_MAGIC and len(png) > 1000
    assert (out / CHECKPOINT_NAME).exists()
    assert json.loads(first.stdout) == {k: metrics[k] for k in cli.SUMMARY_KEYS}  # the summary on stdout

    again = python_m(["recipes.simclr", *TINY_RUN, "--out", str(out)], repo_root, quick=True)
    assert again.returncode == 0, again.stderr[-3000:]
    assert "resuming" in again.stderr
    resumed = json.loads((out / "metrics.json").read_text())
    assert resumed["steps"] == 4
    assert resumed["history"] == metrics["history"]  # nothing was trained twice


def measured_again(out, metrics) -> dict:
    """The scores of a finished run, recomputed here from what it left: the checkpoint's weights for the trained
    backbone, the same config and seed for the data and the untrained network, raw pixels for the baseline. A run
    that reported the network before training, the untrained one after it, or features for pixels would differ."""
    config, _ = cli.config_from_args(simclr, cli.build_parser(simclr).parse_args([*TINY_RUN, "--out", str(out)]))
    assert json.loads(json.dumps(config.to_dict())) == metrics["config"]  # the run's own config (JSON: tuples as lists)
    k, temperature = config.knn_k, config.knn_temperature
    data, model = prepare(simclr, config)

    def knn(train_z, test_z):
        return evaluate.knn_accuracy(train_z, data.train_y, test_z, data.test_y, k, temperature)

    untrained = knn(*evaluate.features(model.backbone, data))
    model.load_state_dict(load_checkpoint(out / CHECKPOINT_NAME, data.device)["model"])
    train_z, test_z = evaluate.features(model.backbone, data)
    return {"knn_acc": knn(train_z, test_z), "random_init_knn_acc": untrained,
            "linear_acc": evaluate.linear_probe_accuracy(train_z, data.train_y, test_z, data.test_y, seed=config.seed),
            "rankme": evaluate.rankme(test_z), "feature_dim": model.backbone.dim,
            "raw_pixel_knn_acc": knn(evaluate.pixels(data.train_x), evaluate.pixels(data.test_x))}


def torch_has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


# ----------------------------------------------------------------------------- in-process

def test_python_m_recipes_simclr_runs_the_recipe(tmp_path, capsys):
    out = tmp_path / "run"
    code = recipes_main.main(["simclr", *TINY_RUN, "--no-progress", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    summary = json.loads(captured.out)
    assert summary["steps"] == 4 and set(summary) == set(cli.SUMMARY_KEYS)
    assert (out / "curves.png").read_bytes()[:8] == PNG_MAGIC
    assert json.loads((out / "metrics.json").read_text())["method"] == "simclr"


def test_a_zero_temperature_exits_2_with_a_clear_message(tmp_path, capsys):
    code = cli.main(simclr, [*TINY_RUN, "--temperature", "0", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "temperature=0.0" in err and "> 0" in err
    assert not (tmp_path / "o").exists()


def test_an_offline_dataset_exits_2_pointing_at_download_and_toy(tmp_path, capsys):
    code = cli.main(simclr, [*TINY_RUN, "--dataset", "cifar10", "--data-root", str(tmp_path / "data"),
                             "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 2
    assert "cifar10" in err and "download" in err and "toy" in err


def test_an_invalid_augmentation_exits_2(tmp_path, capsys):
    code = cli.main(simclr, [*TINY_RUN, "--aug-gray-p", "1.5", "--out", str(tmp_path / "o")])
    assert code == 2
    assert "gray_p" in capsys.readouterr().err


def test_a_misspelt_recipe_gets_a_suggestion(capsys):
    assert recipes_main.main(["simclrr"]) == 2
    err = capsys.readouterr().err
    assert "unknown recipe" in err and "Did you mean 'simclr'" in err


def test_no_arguments_print_the_usage_and_the_list(capsys):
    assert recipes_main.main([]) == 0
    out = capsys.readouterr().out
    assert "usage" in out and "simclr" in out


def test_help_lists_every_setting_with_its_comment(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(simclr, ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for flag in ("--temperature", "--steps", "--batch-size", "--no-resume", "--aug-gray-p", "--aug-output-size"):
        assert flag in out, flag
    assert "lower sharpens" in out  # the help text is the field's comment in simclr.Config


def test_an_unknown_flag_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as info:
        cli.main(simclr, ["--temprature", "0.3"])
    assert info.value.code == 2
    assert "unrecognized arguments" in capsys.readouterr().err


def test_flags_override_the_budget_and_augmentations_keep_the_rest():
    parser = cli.build_parser(simclr)
    args = parser.parse_args(["--quick", "--temperature", "0.3", "--aug-gray-p", "0.1", "--no-resume",
                              "--n-train", "200"])
    config, budget = cli.config_from_args(simclr, args)
    assert budget == "quick"
    assert config.temperature == 0.3 and config.resume is False and config.n_train == 200
    assert config.augment.gray_p == 0.1
    quick = simclr.Config.for_budget("quick")
    assert config.augment.jitter_strength == quick.augment.jitter_strength  # the budget's other knobs stay
    assert config.steps == quick.steps
    # The default output folder names the run and every setting that differs from the budget.
    assert config.out == str(Path("runs") / "simclr-toy-quick-n_train200-temperature0.3-aug_gray_p0.1")


def out_for(*argv: str) -> str:
    return cli.config_from_args(simclr, cli.build_parser(simclr).parse_args(list(argv)))[0].out


def test_changing_a_hyperparameter_starts_a_new_run_and_the_same_command_resumes_its_own():
    plain = out_for("--quick")
    assert plain == str(Path("runs") / "simclr-toy-quick")
    assert out_for("--quick", "--temperature", "0.5") == str(Path("runs") / "simclr-toy-quick-temperature0.5")
    assert out_for("--quick", "--temperature", "0.5") != plain
    # Settings a resumed run may change (its length, cadence, progress) keep the folder, so it resumes.
    assert out_for("--quick", "--steps", "1200", "--no-progress", "--log-every", "5") == plain
    assert out_for("--quick", "--temperature", "0.2") == plain  # the budget's own value is no change
    assert out_for("--quick", "--out", "elsewhere") == "elsewhere"


def test_the_budget_flag_and_the_environment(monkeypatch):
    parser = cli.build_parser(simclr)
    monkeypatch.setenv("COOKBOOK_QUICK", "1")
    assert cli.config_from_args(simclr, parser.parse_args([]))[1] == "quick"
    monkeypatch.delenv("COOKBOOK_QUICK")
    assert cli.config_from_args(simclr, parser.parse_args(["--quick"]))[1] == "quick"
    config, budget = cli.config_from_args(simclr, parser.parse_args(["--budget", "cuda"]))
    assert budget == "cuda" and config.backbone == "resnet18"
