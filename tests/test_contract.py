"""The method contract, checked once for every registered recipe (cookbook.method).

Each recipe must build from its config and data, train two steps through the shared Trainer,
give the embedding its loss sees as an ``(N, D)`` matrix, resolve every budget, keep the fields
it owns across budgets, train with each declared on/off safeguard switched, and offer its
settings on the command line.
"""
from __future__ import annotations

import dataclasses

import pytest
import torch

from cookbook import registry
from cookbook.config import BASE_BUDGETS, TrainConfig
from cookbook.method import Method
from cookbook.run import prepare
from cookbook.train import Trainer
from recipes.__main__ import main as recipes_main

NAMES = registry.names()
# 32 images a batch: W-MSE whitens sub-batches of 32 in its quick setting; every other recipe takes any batch.
TINY = dict(steps=2, warmup_steps=1, n_train=64, n_test=32, batch_size=32, width=4, eval_every=0, log_every=1,
            progress=False, device="cpu", out=None)


def tiny(name: str, **overrides):
    return registry.get(name).Config.for_budget("quick", **{**TINY, **overrides})


def switches(name: str) -> list[str]:
    return [k for k, spec in registry.get(name).LAB_CONTROLS.items() if spec is bool]


@pytest.mark.parametrize("name", NAMES)
def test_the_module_holds_its_method_and_the_shared_entry_points(name):
    module = registry.get(name)
    assert issubclass(module.Config, TrainConfig)
    assert {"build_model", "train", "main"} <= set(vars(module))
    fields = {f.name for f in dataclasses.fields(module.Config)}
    assert set(module.LAB_CONTROLS) <= fields, set(module.LAB_CONTROLS) - fields


@pytest.mark.parametrize("name", NAMES)
def test_builds_trains_two_steps_and_embeds(name, tiny_toy):
    config = tiny(name)
    data, model = prepare(name, config, tiny_toy)
    assert isinstance(model, Method) and model.name == name
    before = [p.detach().clone() for p in model.parameters()]
    records = list(Trainer(model, data, config).run())
    assert [r["step"] for r in records] == [1, 2] and all(torch.isfinite(torch.tensor(r["loss"])) for r in records)
    assert any(not torch.equal(a, b) for a, b in zip(before, model.parameters())), "training changed nothing"
    x = data.test_x[:5].float() / 255
    model.eval()
    with torch.no_grad():
        z, features = model.embed(x), model.backbone(x)
    assert z.ndim == 2 and len(z) == 5 and z.shape[1] >= 2, z.shape
    assert features.shape == (5, model.backbone.dim)


@pytest.mark.parametrize("name", NAMES)
def test_every_budget_resolves_and_owned_fields_survive_the_base_budgets(name):
    module = registry.get(name)
    owned = module.Config.own_fields()
    for budget in BASE_BUDGETS:
        config = module.Config.for_budget(budget)
        own_layer = module.Config.BUDGETS.get(budget, {})
        for field, default in owned.items():
            if field not in own_layer and not (budget == "chapter" and field in module.Config.BUDGETS.get("cuda", {})):
                assert getattr(config, field) == default, (budget, field)


@pytest.mark.parametrize("name, switch", [(n, s) for n in NAMES for s in switches(n)] or [pytest.param(
    None, None, marks=pytest.mark.skip(reason="no recipe declares an on/off safeguard"))])
def test_each_declared_safeguard_can_be_switched_off_and_still_trains(name, switch, tiny_toy):
    config = tiny(name)
    flipped = dataclasses.replace(config, **{switch: not getattr(config, switch)})
    data, model = prepare(name, flipped, tiny_toy)
    records = list(Trainer(model, data, flipped).run())
    assert records[-1]["step"] == 2 and model.config is flipped


@pytest.mark.parametrize("name", NAMES)
def test_the_command_line_offers_every_setting(name, capsys):
    with pytest.raises(SystemExit) as info:
        recipes_main([name, "--help"])
    assert info.value.code == 0
    text = capsys.readouterr().out
    for field in dataclasses.fields(registry.get(name).Config):
        if str(field.type).replace(" ", "").split("|")[0] in ("int", "float", "str", "bool"):
            assert "--" + field.name.replace("_", "-") in text, field.name
