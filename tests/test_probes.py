"""cookbook.book.probes: features and probes at every layer of a model's head (Guillotine Regularization)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

from cookbook import evaluate, registry
from cookbook.book import probes
from cookbook.data import ImageData
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
    # Each row holds the three measures of its own layer's features, the kNN memory bank cut to `bank` images:
    # recomputed here from cookbook.evaluate, a row given another layer's features or another bank would differ.
    train = probes.layer_features(model, data.train_x[:64])
    test = probes.layer_features(model, data.test_x)
    for row in rows:
        z_train, z_test, y_train = train[row["layer"]], test[row["layer"]], data.train_y[:64]
        assert row["dim"] == z_train.shape[1]
        assert row["knn_acc"] == pytest.approx(evaluate.knn_accuracy(z_train, y_train, z_test, data.test_y))
        assert row["linear_acc"] == pytest.approx(evaluate.linear_probe_accuracy(z_train, y_train, z_test, data.test_y))
        assert row["rankme"] == pytest.approx(evaluate.rankme(z_test))
    assert [r["dim"] for r in rows] == [model.backbone.dim, 24, 8]  # TINY's proj_hidden_dim and proj_dim
    assert "linear_acc" not in probes.layer_probes(model, data, bank=64, linear=False)[0]


def test_a_model_without_a_backbone_or_with_a_head_that_is_no_mlp_is_refused_with_the_reason():
    module = registry.get("mae")
    data, model = prepare(module, module.Config.for_budget("quick", n_train=32, n_test=16, batch_size=16, steps=2))
    model.projector = nn.ReLU()  # a head, but no MLP to cut into layers
    with pytest.raises(TypeError, match="no backbone followed by an MLP projector"):
        probes.layer_features(model, data.test_x)
    with pytest.raises(TypeError, match="no backbone followed by an MLP projector"):
        probes.layer_features(nn.Linear(3, 2), data.test_x)


@pytest.mark.parametrize("recipe", ["mae", "ijepa"])
def test_the_masked_models_are_probed_at_their_backbone(recipe):
    # Their losses compare predicted pixels or patch features: no projector, the backbone is the one probe point.
    module = registry.get(recipe)
    data, model = prepare(module, module.Config.for_budget("quick", n_train=32, n_test=16, batch_size=16, steps=2))
    assert probes.layer_names(model) == ["backbone"]
    [row] = probes.layer_probes(model.eval(), data, bank=32)
    assert row["dim"] == model.backbone.dim and 0 <= row["linear_acc"] <= 1


def test_a_model_without_a_projector_is_probed_at_its_backbone_only(tiny_toy):
    from recipes import simclr

    config = simclr.Config.for_budget("quick", proj_depth=0, width=4, progress=False)
    model = simclr.build_model(config, tiny_toy).eval()
    assert probes.layer_names(model) == ["backbone"]
    features = probes.layer_features(model, tiny_toy.test_x)
    assert list(features) == ["backbone"] and features["backbone"].shape == (len(tiny_toy.test_x), model.backbone.dim)
    [row] = probes.layer_probes(model, tiny_toy, linear=False)
    train_z, test_z = evaluate.features(model.backbone, tiny_toy)  # the whole training split is the default bank
    assert row["layer"] == "backbone" and row["dim"] == model.backbone.dim
    assert row["knn_acc"] == pytest.approx(evaluate.knn_accuracy(train_z, tiny_toy.train_y, test_z, tiny_toy.test_y))
    assert row["rankme"] == pytest.approx(evaluate.rankme(test_z))


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


class ChannelMeans(nn.Module):
    """A two-block backbone by hand: the three channel means of an image (pooling), then Linear-ReLU-Linear.
    ``sees=True`` sets both Linear layers to the identity, so the features are the channel means themselves
    (the ReLU passes them: they are >= 0). ``sees=False`` zeroes the first layer's weights (its bias 0.1 keeps
    the ReLU open), so every image has the same features: a frozen blind block."""

    dim = 3

    def __init__(self, sees: bool):
        super().__init__()
        self.features = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 3), nn.ReLU(),
                                      nn.Linear(3, 3))
        with torch.no_grad():
            self.features[2].weight.copy_(torch.eye(3) if sees else torch.zeros(3, 3))
            self.features[2].bias.fill_(0.0 if sees else 0.1)
            self.features[4].weight.copy_(torch.eye(3))
            self.features[4].bias.zero_()

    def forward(self, x):
        return self.features(x)


def primary_colours(per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Red, green and blue 8 x 8 images (the class's channel at about 220, the others at about 20, each pixel
    +-20): the class is in the channel means, linearly separable with a wide margin."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(3).repeat_interleave(per_class)
    images = nn.functional.one_hot(labels, 3).view(-1, 3, 1, 1).expand(-1, 3, 8, 8) * 200 + 20
    return (images + torch.randint(-20, 21, images.shape, generator=generator)).to(torch.uint8), labels


def colour_data() -> ImageData:
    """48 training and 30 test images of :func:`primary_colours`."""
    return ImageData("colours", *primary_colours(16, seed=1), *primary_colours(10, seed=2),
                     classes=("red", "green", "blue"))


def test_fine_tuning_trains_only_what_it_is_told_and_leaves_the_backbone_alone():
    colours = colour_data()

    def accuracy(backbone, **kw):
        return probes.fine_tune_accuracy(backbone, colours, **{"steps": 30, "batch_size": 16, "lr": 0.05, **kw})

    # Features that show the colour: training the head alone (blocks=0) separates the three classes, which
    # the untrained head (0 steps) does not.
    seeing = ChannelMeans(sees=True)
    assert accuracy(seeing, steps=0) < 1.0
    assert accuracy(seeing, blocks=0) == accuracy(seeing, blocks=1) == accuracy(seeing, blocks=None) == 1.0
    # A blind first block: every test image gets the same features, hence the same class, 10 of the 30 right.
    # Training the last block does not help (its input is constant); training every block does.
    blind = ChannelMeans(sees=False)
    before = {k: v.clone() for k, v in blind.state_dict().items()}
    assert accuracy(blind, blocks=0) == accuracy(blind, blocks=1) == pytest.approx(1 / 3)
    assert accuracy(blind, blocks=None) == 1.0
    assert all(torch.equal(before[k], v) for k, v in blind.state_dict().items())  # trained a copy
    # From scratch: re-initialised weights (the same draw for any backbone of this shape, from `seed`), so the
    # pretrained ones cannot matter, and the frozen blind block sees colours again (above the blind 1/3).
    for blocks in (0, 1, None):
        scratch = accuracy(blind, blocks=blocks, pretrained=False)
        assert scratch == accuracy(seeing, blocks=blocks, pretrained=False) and scratch > 1 / 3 + 1e-6
    with pytest.raises(ValueError, match="blocks=-1"):
        probes.fine_tune_accuracy(seeing, colours, blocks=-1)
    with pytest.raises(TypeError, match="no `features`"):
        probes.fine_tune_accuracy(nn.Linear(3, 3), colours)


def test_the_evaluation_ladder_scores_one_backbone_each_way_it_lists():
    colours, blind = colour_data(), ChannelMeans(sees=False)
    ladder = probes.evaluation_ladder(blind, colours, steps=100)
    assert [row["trains"] for row in ladder][:2] == ["nothing", "a linear layer (3 x 3)"]
    # Frozen blind features are one point: kNN, the linear probe and a trained last block give every test image
    # the same class (10 of 30 right); training every block learns to see colours; from scratch sees them too.
    accuracies = [row["accuracy"] for row in ladder]
    assert accuracies[:4] == pytest.approx([1 / 3, 1 / 3, 1 / 3, 1.0]) and accuracies[4] > 1 / 3 + 1e-6
    tune = dict(steps=100, batch_size=128, seed=0)  # each rung is the fine-tuning it names, with the ladder's seed
    assert accuracies[2:] == [probes.fine_tune_accuracy(blind, colours, blocks=1, **tune),
                              probes.fine_tune_accuracy(blind, colours, blocks=None, **tune),
                              probes.fine_tune_accuracy(blind, colours, blocks=None, pretrained=False, **tune)]


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
