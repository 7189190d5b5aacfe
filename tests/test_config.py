"""cookbook.config: budgets as layers (base, the recipe's own fields, the recipe's budget, overrides),
the chapter budget, batch-scaled learning rates and the generic validation of every setting."""
from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from cookbook.augment import AugmentConfig
from cookbook.config import BASE_BUDGETS, BatchScaledLR, ConfigError, TrainConfig

OWN_AUGMENT = AugmentConfig(crop_min_scale=0.9, jitter_strength=0.0)


@dataclass
class Owner(TrainConfig):
    """A recipe that owns its dataset and views, and scales its GPU learning rate with the batch."""

    dataset: str = "toy_upright"    # the recipe's own data
    augment: AugmentConfig = field(default_factory=lambda: OWN_AUGMENT)  # the recipe's own views
    depth: int = 3                  # a recipe setting
    queue_size: int = 0             # 0: no queue

    ZERO_ALLOWED = TrainConfig.ZERO_ALLOWED | {"queue_size"}
    BUDGETS = {
        "quick": {"depth": 2},
        "cuda": {"dataset": "cifar10", "lr": BatchScaledLR(0.3)},
    }


def test_the_layers_come_in_the_documented_order():
    quick = Owner.for_budget("quick")
    assert quick.steps == BASE_BUDGETS["quick"]["steps"]          # 1. the base budget's run size
    assert quick.dataset == "toy_upright" and quick.augment == OWN_AUGMENT  # 2. owned fields beat the base
    assert quick.depth == 2                                         # 3. the recipe's budget
    assert Owner.for_budget("quick", depth=5, dataset="toy").dataset == "toy"  # 4. the caller's overrides


def test_an_owned_field_is_never_replaced_by_a_base_budget():
    for budget in ("quick", "cpu"):
        assert Owner.for_budget(budget).dataset == "toy_upright", budget
        assert Owner.for_budget(budget).augment == OWN_AUGMENT, budget
    assert Owner.for_budget("cuda").dataset == "cifar10"  # only the recipe's own budget may say otherwise


def test_batch_scaled_learning_rates_follow_the_final_batch_size():
    assert Owner.for_budget("cuda").lr == pytest.approx(0.3 * BASE_BUDGETS["cuda"]["batch_size"] / 256)
    assert Owner.for_budget("cuda", batch_size=1024).lr == pytest.approx(1.2)
    assert Owner.for_budget("cuda", batch_size=1024, lr=0.1).lr == 0.1  # an explicit rate is taken as it is


def test_the_chapter_budget_is_the_gpu_budget_cut_to_minutes():
    chapter, cuda = Owner.for_budget("chapter"), Owner.for_budget("cuda")
    assert chapter.steps == BASE_BUDGETS["chapter"]["steps"] < cuda.steps
    assert chapter.download and chapter.dataset == "cifar10" and chapter.lr == cuda.lr
    assert chapter.backbone == cuda.backbone == "resnet18"


@pytest.mark.parametrize("setting, value", [("n_train", 0), ("n_test", 0), ("steps", 0), ("depth", 0),
                                            ("knn_k", 0), ("log_every", 0), ("queue_size", -1)])
def test_a_count_of_zero_is_refused_unless_zero_means_off(setting, value):
    with pytest.raises(ConfigError, match=f"{setting}={value}"):
        Owner.for_budget("quick", **{setting: value})


def test_zero_is_accepted_where_it_means_off():
    config = Owner.for_budget("quick", queue_size=0, eval_every=0, warmup_steps=0)
    assert (config.queue_size, config.eval_every, config.warmup_steps) == (0, 0, 0)


@pytest.mark.parametrize("device", ["tpu", "gpu0"])
def test_a_device_name_is_checked_when_the_config_is_made(device):
    with pytest.raises(ConfigError, match=f"device='{device}'"):
        Owner.for_budget("quick", device=device)
    assert Owner.for_budget("quick", device="cuda:1").device == "cuda:1"  # a valid name, present or not


def test_infinite_numbers_are_refused():
    with pytest.raises(ConfigError, match="weight_decay=inf"):
        Owner.for_budget("quick", weight_decay=float("inf"))
