"""cookbook.train: schedule, validation, optimizers, checkpoints, resuming and the divergence guard."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
from torch import nn

from cookbook import checkpoint, evaluate, optim
from cookbook import run as runs
from cookbook.config import BASE_BUDGETS, ConfigError, TrainConfig
from cookbook.method import Method
from cookbook.train import Trainer, TrainingDiverged
from recipes import simclr


def small_train_config(out=None, **overrides) -> TrainConfig:
    values = dict(steps=6, batch_size=16, warmup_steps=1, log_every=1, eval_every=0, progress=False,
                  checkpoint_every=100, device="cpu", out=None if out is None else str(out))
    values.update(overrides)
    return TrainConfig(**values)


class Scripted(Method):
    """A tiny model with the recipe interface whose forward can misbehave on a chosen call."""

    name = "scripted"

    def __init__(self, nan_from_call: int | None = None, interrupt_at_call: int | None = None):
        super().__init__(config=None, data=None)
        self.backbone = nn.Sequential(nn.Flatten(), nn.Linear(3 * 32 * 32, 4))
        self.nan_from_call, self.interrupt_at_call = nan_from_call, interrupt_at_call
        self.calls = 0

    def embed(self, x):
        return self.backbone(x)

    def forward(self, images, indices=None):
        self.calls += 1
        if self.calls == self.interrupt_at_call:
            raise KeyboardInterrupt
        z = self.backbone(images.float() / 255)
        loss = (z - 1).pow(2).mean()
        if self.nan_from_call is not None and self.calls >= self.nan_from_call:
            loss = loss * float("nan")
        return {"loss": loss, "mean_z": z.mean()}


def drain(generator) -> list[dict]:
    return list(generator)


# ----------------------------------------------------------------------------- schedule

def test_learning_rate_warms_up_linearly_then_decays_as_a_cosine():
    config = small_train_config(steps=110, warmup_steps=10, lr=1.0)
    lr = lambda step: optim.learning_rate(step, config)  # noqa: E731
    assert lr(0) == pytest.approx(0.1) and lr(4) == pytest.approx(0.5) and lr(9) == pytest.approx(1.0)
    assert lr(10) == pytest.approx(1.0)                       # the peak, at the end of the warmup
    assert lr(35) == pytest.approx(0.5 * (1 + math.cos(math.pi * 0.25)))
    assert lr(60) == pytest.approx(0.5)                       # half way through the decay
    assert lr(110) == pytest.approx(0.0, abs=1e-12) and lr(200) == pytest.approx(0.0, abs=1e-12)
    values = [lr(s) for s in range(111)]
    assert all(a < b for a, b in zip(values[:9], values[1:10]))
    assert all(a >= b for a, b in zip(values[10:], values[11:]))


def test_learning_rate_without_warmup_starts_at_the_peak():
    config = small_train_config(steps=10, warmup_steps=0, lr=0.3)
    assert optim.learning_rate(0, config) == pytest.approx(0.3)
    assert optim.learning_rate(5, config) == pytest.approx(0.15)


# ----------------------------------------------------------------------------- validation

@pytest.mark.parametrize("changes, words", [
    (dict(batch_size=1), ["batch_size=1", "at least 2"]),
    (dict(lr=0.0), ["lr=0.0", "learning rate"]),
    (dict(lr=-1e-3), ["learning rate"]),
    (dict(lr=float("nan")), ["learning rate"]),
    (dict(optimizer="adam"), ["optimizer='adam'", "adamw", "lars", "sgd"]),
    (dict(warmup_steps=20, steps=10), ["warmup_steps=20", "steps=10"]),
    (dict(steps=0), ["steps=0"]),
    (dict(backbone="resnet50"), ["resnet50", "small_cnn"]),
    (dict(knn_temperature=0.0), ["knn_temperature"]),
    (dict(weight_decay=-1.0), ["weight_decay"]),
])
def test_invalid_settings_raise_config_error_with_a_hint(changes, words):
    with pytest.raises(ConfigError) as info:
        small_train_config(**changes)
    for word in words:
        assert word in str(info.value)
    assert isinstance(info.value, ValueError)  # callers catching ValueError see it too


@pytest.mark.parametrize("tau", [0.0, -0.1])
def test_simclr_temperature_must_be_positive(tau):
    with pytest.raises(ConfigError, match=r"temperature.*> 0"):
        simclr.Config.for_budget("quick", temperature=tau)


def test_validation_runs_after_dataclasses_replace(tiny_config):
    import dataclasses

    with pytest.raises(ConfigError, match="batch_size"):
        dataclasses.replace(tiny_config(), batch_size=1)


def test_for_budget_applies_the_budget_then_the_overrides():
    config = simclr.Config.for_budget("quick", steps=7)
    assert config.steps == 7 and config.dataset == "toy" and config.lr == 1.6e-2 and config.temperature == 0.2
    assert config.augment.jitter_strength == 1.0
    cuda = simclr.Config.for_budget("cuda")
    assert cuda.optimizer == "lars" and cuda.dataset == "cifar10"


def test_for_budget_shortens_the_warmup_of_a_shorter_run():
    quick = BASE_BUDGETS["quick"]
    assert simclr.Config.for_budget("quick").warmup_steps == quick["warmup_steps"]
    assert simclr.Config.for_budget("quick", steps=4).warmup_steps <= 4          # `--quick --steps 4` works
    half = simclr.Config.for_budget("quick", steps=quick["steps"] // 2).warmup_steps
    assert half == quick["warmup_steps"] // 2                                      # the same fraction
    assert simclr.Config.for_budget("quick", steps=10 * quick["steps"]).warmup_steps == quick["warmup_steps"]
    assert simclr.Config.for_budget("quick", steps=4, warmup_steps=2).warmup_steps == 2
    with pytest.raises(ConfigError, match="warmup_steps=10"):                      # an explicit one is checked
        simclr.Config.for_budget("quick", steps=4, warmup_steps=10)


def test_for_budget_refuses_unknown_settings_and_budgets():
    with pytest.raises(ConfigError) as info:
        simclr.Config.for_budget("quick", tempreature=0.3)
    assert "tempreature" in str(info.value) and "temperature" in str(info.value)
    with pytest.raises(ConfigError, match="unknown budget"):
        simclr.Config.for_budget("gpu")


def test_for_budget_defaults_to_quick_under_cookbook_quick(monkeypatch):
    monkeypatch.setenv("COOKBOOK_QUICK", "1")
    assert simclr.Config.for_budget().steps == BASE_BUDGETS["quick"]["steps"]
    monkeypatch.setenv("COOKBOOK_QUICK", "0")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert simclr.Config.for_budget().steps == BASE_BUDGETS[expected]["steps"]


def test_a_batch_larger_than_the_dataset_is_refused(tiny_toy):
    with pytest.raises(ConfigError, match="batch_size=128"):
        Trainer(Scripted(), tiny_toy, small_train_config(batch_size=128))


# ----------------------------------------------------------------------------- optimizers

def test_lars_first_step_by_hand_and_it_minimises_a_quadratic():
    p = nn.Parameter(torch.tensor([3.0, 4.0]))
    opt = optim.LARS([p], lr=1.0, eta=0.1, momentum=0.9)
    (p ** 2).sum().backward()
    opt.step()
    # grad = 2p; trust = eta * |p| / |grad| = 0.05; update = 0.05 * 2p = 0.1 p; p <- p - lr * update
    assert torch.allclose(p.detach(), torch.tensor([2.7, 3.6]))
    for _ in range(60):
        opt.zero_grad()
        loss = (p ** 2).sum()
        loss.backward()
        opt.step()
    assert (p ** 2).sum().item() < 0.05 * 25


def test_lars_groups_without_adaptation_are_plain_sgd():
    w = nn.Parameter(torch.tensor([[1.0, 2.0]]))
    b = nn.Parameter(torch.tensor([1.0, -1.0]))
    opt = optim.LARS([{"params": [w]}, {"params": [b], "lars": False, "weight_decay": 0.0}],
                     lr=0.5, weight_decay=0.1)
    ((w ** 2).sum() + (3 * b).sum()).backward()
    opt.step()
    assert torch.allclose(b.detach(), torch.tensor([1.0 - 1.5, -1.0 - 1.5]))   # b - lr * grad
    update = 2.1 * torch.tensor([[1.0, 2.0]])                                # grad 2w + wd * w
    trust = 0.001 * math.sqrt(5) / update.norm()
    assert torch.allclose(w.detach(), torch.tensor([[1.0, 2.0]]) - 0.5 * trust * update)


@pytest.mark.parametrize("name, cls", [("adamw", torch.optim.AdamW), ("sgd", torch.optim.SGD), ("lars", optim.LARS)])
def test_build_optimizer_keeps_weight_decay_off_biases_and_norms(name, cls):
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3))
    opt = optim.build_optimizer(model, small_train_config(optimizer=name, weight_decay=0.5))
    assert isinstance(opt, cls)
    decay, no_decay = opt.param_groups
    assert [p.shape for p in decay["params"]] == [(3, 4)]
    assert len(no_decay["params"]) == 3 and no_decay["weight_decay"] == 0.0
    assert decay["weight_decay"] == 0.5


def test_the_trainer_puts_convolutions_in_channels_last_on_the_cpu(tiny_toy, tiny_config):
    config, off = tiny_config(), tiny_config(channels_last=False)
    trainer = Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config)
    kernel = next(p for p in trainer.model.parameters() if p.ndim == 4)
    assert kernel.is_contiguous(memory_format=torch.channels_last)
    kernel = next(p for p in Trainer(simclr.build_model(off, tiny_toy), tiny_toy, off).model.parameters()
                  if p.ndim == 4)
    assert not kernel.is_contiguous(memory_format=torch.channels_last)


def test_simclr_trains_with_lars(tiny_toy, tiny_config):
    config = tiny_config(optimizer="lars", lr=0.3, steps=2, eval_every=0)
    runs.seed_everything(0)
    trainer = Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config)
    before = [p.detach().clone() for p in trainer.model.parameters()]
    records = drain(trainer.run())
    assert [r["step"] for r in records] == [1, 2]
    assert all(math.isfinite(r["loss"]) for r in records)
    assert any(not torch.equal(a, b) for a, b in zip(before, trainer.model.parameters()))


# ----------------------------------------------------------------------------- the generator

def test_run_yields_records_and_evaluates_at_0_every_k_and_the_end(tiny_toy, tiny_config):
    config = tiny_config(steps=5, eval_every=2, log_every=1)
    runs.seed_everything(0)
    trainer = Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config)
    records = drain(trainer.run())
    assert [r["step"] for r in records] == [0, 1, 2, 3, 4, 5]
    evaluated = [r["step"] for r in records if "knn_acc" in r]
    assert evaluated == [0, 2, 4, 5]
    # The last record's evaluation is that of the trained backbone, recomputed here from scratch.
    again = evaluate.knn_and_rankme(trainer.model.backbone, tiny_toy, config.eval_bank, config.knn_k,
                                    config.knn_temperature)
    assert records[-1]["knn_acc"] == again["knn_acc"] and records[-1]["rankme"] == pytest.approx(again["rankme"])
    assert all(r["lr"] == pytest.approx(optim.learning_rate(r["step"] - 1, config)) for r in records[1:])
    assert trainer.history == records and trainer.step == 5


def test_run_in_chunks_and_log_every(tiny_toy):
    config = small_train_config(steps=6, log_every=4)
    trainer = Trainer(Scripted(), tiny_toy, config)
    assert [r["step"] for r in trainer.run(steps=2)] == [2]   # a chunk ends with a record
    assert [r["step"] for r in trainer.run()] == [4, 6]
    assert trainer.step == 6 and trainer.model.calls == 6
    assert drain(trainer.run()) == []                          # nothing left to do


def test_batches_cover_each_epoch_without_repeats(tiny_toy):
    trainer = Trainer(Scripted(), tiny_toy, small_train_config(batch_size=16))
    epoch = torch.cat([trainer.batch_indices(s) for s in range(4)])  # 64 images / 16 per batch
    assert sorted(epoch.tolist()) == list(range(64))
    assert not torch.equal(trainer.batch_indices(4), trainer.batch_indices(0))  # reshuffled next epoch


# ----------------------------------------------------------------------------- checkpoints and resuming

def test_resume_equals_an_uninterrupted_run(tiny_toy, tiny_config, tmp_path):
    config_a = tiny_config(out=tmp_path / "a", checkpoint_every=3)
    config_b = tiny_config(out=tmp_path / "b", checkpoint_every=3)
    deterministic = torch.are_deterministic_algorithms_enabled()
    torch.use_deterministic_algorithms(True)
    try:
        runs.seed_everything(0)
        trainer_a = Trainer(simclr.build_model(config_a, tiny_toy), tiny_toy, config_a)
        drain(trainer_a.run())

        runs.seed_everything(0)
        trainer_b = Trainer(simclr.build_model(config_b, tiny_toy), tiny_toy, config_b)
        for record in trainer_b.run():
            if record["step"] == 3:
                break  # abandon the run: only the checkpoint of step 3 survives
        del trainer_b

        runs.seed_everything(12345)  # a different fresh model and global random state: all must be restored
        resumed = Trainer(simclr.build_model(config_b, tiny_toy), tiny_toy, config_b)
        assert resumed.step == 3
        drain(resumed.run())
    finally:
        torch.use_deterministic_algorithms(deterministic)

    assert resumed.step == trainer_a.step == 6
    state_a, state_b = trainer_a.model.state_dict(), resumed.model.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), key
    assert [r["step"] for r in resumed.history] == [r["step"] for r in trainer_a.history] == [0, 1, 2, 3, 4, 5, 6]
    assert resumed.history == trainer_a.history


def test_checkpoint_loads_with_weights_only_and_holds_the_state(tiny_toy, tiny_config, tmp_path):
    config = tiny_config(out=tmp_path, steps=3, eval_every=0)
    runs.seed_everything(0)
    trainer = Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config)
    drain(trainer.run())
    state = torch.load(tmp_path / checkpoint.CHECKPOINT_NAME, weights_only=True)
    assert state["step"] == 3 and len(state["history"]) == 3
    assert state["config"]["temperature"] == config.temperature
    assert {"model", "optimizer", "rng_cpu", "wall_s"} <= set(state)
    for key, value in trainer.model.state_dict().items():
        assert torch.equal(state["model"][key], value), key


def test_no_temporary_files_are_left_behind(tiny_toy, tmp_path):
    trainer = Trainer(Scripted(), tiny_toy, small_train_config(out=tmp_path / "run", checkpoint_every=2))
    drain(trainer.run())
    assert sorted(p.name for p in (tmp_path / "run").iterdir()) == [checkpoint.CHECKPOINT_NAME]
    checkpoint.atomic_save({"x": torch.ones(2)}, tmp_path / "deep" / "er" / "file.pt")
    assert [p.name for p in (tmp_path / "deep" / "er").iterdir()] == ["file.pt"]
    assert torch.equal(checkpoint.load_checkpoint(tmp_path / "deep" / "er" / "file.pt")["x"], torch.ones(2))


def test_a_failed_save_keeps_the_previous_checkpoint(tmp_path):
    path = tmp_path / "checkpoint.pt"
    checkpoint.atomic_save({"step": 1}, path)
    with pytest.raises(Exception):
        checkpoint.atomic_save({"step": 2, "oops": lambda: None}, path)  # lambdas cannot be pickled
    assert checkpoint.load_checkpoint(path) == {"step": 1}


def test_a_failed_save_leaves_no_temporary_file(tmp_path):
    path = tmp_path / "checkpoint.pt"
    with pytest.raises(Exception):
        checkpoint.atomic_save({"oops": lambda: None}, path)
    assert list(tmp_path.iterdir()) == []


def test_checkpoints_do_not_depend_on_log_every(tiny_toy, tmp_path):
    trainer = Trainer(Scripted(), tiny_toy, small_train_config(out=tmp_path, steps=6, checkpoint_every=3, log_every=4))
    for record in trainer.run():
        if record["step"] >= 3:
            break
    assert checkpoint.load_checkpoint(tmp_path / checkpoint.CHECKPOINT_NAME)["step"] == 3


def test_resuming_with_a_different_configuration_is_refused(tiny_toy, tiny_config, tmp_path):
    config = tiny_config(out=tmp_path, steps=3, eval_every=0)
    drain(Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config).run())
    changed = tiny_config(out=tmp_path, steps=3, eval_every=0, temperature=0.9)
    with pytest.raises(ConfigError, match=r"temperature: 0.2 -> 0.9.*--no-resume"):
        Trainer(simclr.build_model(changed, tiny_toy), tiny_toy, changed)
    longer = tiny_config(out=tmp_path, steps=5, eval_every=0)  # more steps is a continuation, not a change
    assert Trainer(simclr.build_model(longer, tiny_toy), tiny_toy, longer).step == 3


def test_ctrl_c_writes_a_checkpoint_before_stopping(tiny_toy, tmp_path):
    trainer = Trainer(Scripted(interrupt_at_call=5), tiny_toy, small_train_config(out=tmp_path, checkpoint_every=100))
    with pytest.raises(KeyboardInterrupt):
        drain(trainer.run())
    state = checkpoint.load_checkpoint(tmp_path / checkpoint.CHECKPOINT_NAME)
    assert state["step"] == 4  # four finished steps, none lost
    resumed = Trainer(Scripted(), tiny_toy, small_train_config(out=tmp_path, checkpoint_every=100))
    assert resumed.step == 4
    drain(resumed.run())
    assert resumed.step == 6


def test_the_nan_guard_stops_with_a_diagnosis(tiny_toy, tmp_path):
    trainer = Trainer(Scripted(nan_from_call=4), tiny_toy, small_train_config(out=tmp_path, log_every=2,
                                                                                 checkpoint_every=2))
    with pytest.raises(TrainingDiverged) as info:
        drain(trainer.run())
    message = str(info.value)
    assert "nan" in message and "between steps 3 and 4" in message and "learning rate" in message
    # the last good state is intact
    assert checkpoint.load_checkpoint(tmp_path / checkpoint.CHECKPOINT_NAME)["step"] == 2


def test_a_huge_learning_rate_diverges_with_a_diagnosis(tiny_toy, tiny_config):
    config = tiny_config(lr=1e30, eval_every=0, steps=6)
    with pytest.raises(TrainingDiverged, match="lower the learning rate"):
        drain(Trainer(simclr.build_model(config, tiny_toy), tiny_toy, config).run())


def test_run_recipe_writes_metrics_curves_and_checkpoint(tiny_config, tmp_path):
    import json

    metrics = simclr.train(tiny_config(out=tmp_path, steps=3, eval_every=0, temperature=0.5))
    saved = json.loads((tmp_path / "metrics.json").read_text())
    for key in ("knn_acc", "linear_acc", "rankme", "raw_pixel_knn_acc", "random_init_knn_acc", "wall_s", "device"):
        assert key in saved and saved[key] == metrics[key]
    n_test = tiny_config().n_test  # an accuracy over 32 test images is a whole number of 32nds
    assert saved["knn_acc"] * n_test == pytest.approx(round(saved["knn_acc"] * n_test))
    assert saved["history"][-1]["step"] == 3 and saved["feature_dim"] == 8 * tiny_config().width
    assert saved["steps"] == 3 and saved["config"]["temperature"] == 0.5
    assert (tmp_path / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert Path(tmp_path / checkpoint.CHECKPOINT_NAME).exists()
