"""cookbook.book.probes: features and probes at every layer of a model's head (Guillotine Regularization)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cookbook import evaluate, registry
from cookbook.book import probes
from cookbook.run import prepare

TINY = dict(n_train=96, n_test=48, batch_size=16, width=4, proj_hidden_dim=24, proj_dim=8, steps=2)


def tiny_model(recipe: str, **overrides):
    module = registry.get(recipe)
    config = module.Config.for_budget("quick", **{**TINY, **overrides})
    return prepare(module, config)


def test_cut_points_end_each_block_of_an_mlp_head():
    head = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 8), nn.BatchNorm1d(8), nn.ReLU(),
                         nn.Linear(8, 3))
    assert probes.cut_points(head) == [2, 5, 6]
    assert probes.cut_points(nn.Sequential(nn.Linear(4, 3))) == [0]


@pytest.mark.parametrize("recipe, depth", [("simclr", 2), ("vicreg", 3), ("byol", 2)])
def test_every_layer_from_the_backbone_to_the_embedding(recipe, depth):
    data, model = tiny_model(recipe, proj_depth=depth)
    features = probes.layer_features(model, data.test_x)
    assert list(features) == ["backbone"] + [f"projector {n}" for n in range(1, depth + 1)] == probes.layer_names(model)
    assert [f.shape for f in features.values()] == [(48, model.backbone.dim)] + [(48, 24)] * (depth - 1) + [(48, 8)]
    torch.testing.assert_close(features["backbone"], evaluate.embed(model.backbone, data.test_x))
    torch.testing.assert_close(features[f"projector {depth}"],
                               evaluate.embed(model, data.test_x, call=lambda x: model.projector(model.backbone(x))))
    assert (features["projector 1"] >= 0).all() if depth > 1 else True  # cut after the ReLU


def test_layer_probes_measure_each_layer():
    data, model = tiny_model("simclr")
    rows = probes.layer_probes(model, data, bank=64)
    assert [r["layer"] for r in rows] == ["backbone", "projector 1", "projector 2"]
    assert all(0 <= r["knn_acc"] <= 1 and 0 <= r["linear_acc"] <= 1 and 1 <= r["rankme"] <= r["dim"] for r in rows)
    train = probes.layer_features(model, data.train_x[:64])["projector 1"]
    test = probes.layer_features(model, data.test_x)["projector 1"]
    assert rows[1]["knn_acc"] == pytest.approx(evaluate.knn_accuracy(train, data.train_y[:64], test, data.test_y))
    assert "linear_acc" not in probes.layer_probes(model, data, bank=64, linear=False)[0]


def test_a_model_without_a_projector_is_refused_with_the_reason():
    module = registry.get("mae")
    data, model = prepare(module, module.Config.for_budget("quick", n_train=32, n_test=16, batch_size=16, steps=2))
    with pytest.raises(TypeError, match="no backbone followed by an MLP projector"):
        probes.layer_features(model, data.test_x)


def test_a_model_without_a_projector_is_probed_at_its_backbone_only(tiny_toy):
    from recipes import simclr

    config = simclr.Config.for_budget("quick", proj_depth=0, width=4, progress=False)
    model = simclr.build_model(config, tiny_toy).eval()
    assert probes.layer_names(model) == ["backbone"]
    features = probes.layer_features(model, tiny_toy.test_x)
    assert list(features) == ["backbone"] and features["backbone"].shape == (len(tiny_toy.test_x), model.backbone.dim)
    [row] = probes.layer_probes(model, tiny_toy, linear=False)
    assert row["layer"] == "backbone" and 0 <= row["knn_acc"] <= 1


def test_per_class_scores_give_each_class_its_count_and_accuracies():
    data, model = tiny_model("simclr")
    scores = probes.per_class_scores(model.backbone, data)
    assert scores["classes"] == list(data.classes)
    assert scores["train_counts"] == torch.bincount(data.train_y, minlength=len(data.classes)).tolist()
    test_counts = torch.bincount(data.test_y, minlength=len(data.classes))
    # the balanced mean of the classes' kNN accuracies, weighted by their test images, is the overall accuracy
    train_z, test_z = evaluate.features(model.backbone, data)
    overall = evaluate.knn_accuracy(train_z, data.train_y, test_z, data.test_y)
    weighted = sum(a * int(n) for a, n in zip(scores["knn_acc"], test_counts) if a is not None) / len(data.test_y)
    assert weighted == pytest.approx(overall, abs=1e-6)
    # and the classes' linear accuracies are read from the very probe whose overall accuracy a run reports
    linear = evaluate.linear_probe_accuracy(train_z, data.train_y, test_z, data.test_y)
    weighted = sum(a * int(n) for a, n in zip(scores["linear_acc"], test_counts) if a is not None) / len(data.test_y)
    assert weighted == pytest.approx(linear, abs=1e-6)


def test_fine_tuning_trains_only_what_it_is_told_and_leaves_the_backbone_alone():
    data, model = tiny_model("simclr")
    before = {k: v.clone() for k, v in model.backbone.state_dict().items()}
    for blocks in (0, 1, None):
        accuracy = probes.fine_tune_accuracy(model.backbone, data, blocks=blocks, steps=3, batch_size=16)
        assert 0 <= accuracy <= 1
    scratch = probes.fine_tune_accuracy(model.backbone, data, blocks=None, steps=3, batch_size=16, pretrained=False)
    assert 0 <= scratch <= 1
    assert all(torch.equal(before[k], v) for k, v in model.backbone.state_dict().items())
    with pytest.raises(ValueError, match="blocks=-1"):
        probes.fine_tune_accuracy(model.backbone, data, blocks=-1)
    with pytest.raises(TypeError, match="no `features`"):
        probes.fine_tune_accuracy(nn.Linear(3, 3), data)
    ladder = probes.evaluation_ladder(model.backbone, data, steps=2)
    assert [row["trains"] for row in ladder][:2] == ["nothing", f"a linear layer ({model.backbone.dim} x 10)"]
    assert len(ladder) == 5 and all(0 <= row["accuracy"] <= 1 for row in ladder)


def test_fine_tuning_the_last_block_changes_only_that_block(monkeypatch):
    data, model = tiny_model("simclr")
    seen = {}
    real_adamw = torch.optim.AdamW

    def spy(params, **kw):
        params = list(params)
        seen["count"] = sum(p.numel() for p in params)
        return real_adamw(params, **kw)

    monkeypatch.setattr(torch.optim, "AdamW", spy)
    probes.fine_tune_accuracy(model.backbone, data, blocks=1, steps=1, batch_size=8)
    last_block = [m for m in model.backbone.features if any(True for _ in m.parameters())][-1]
    head = model.backbone.dim * len(data.classes) + len(data.classes)
    assert seen["count"] == sum(p.numel() for p in last_block.parameters()) + head
