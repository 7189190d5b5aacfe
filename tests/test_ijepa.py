"""recipes.ijepa: the block sampler, the loss by hand, the predictor, the EMA target and the config errors."""
import pytest
import torch

from cookbook.config import ConfigError
from recipes import ijepa


def tiny_config(**overrides):
    values = dict(steps=3, batch_size=16, vit_dim=16, vit_depth=1, vit_heads=2, pred_dim=8, pred_depth=1,
                  pred_heads=2, eval_every=0, log_every=1, progress=False)
    return ijepa.Config.for_budget("quick", **{**values, **overrides})


def is_rectangle(indices, grid):
    rows, cols = indices // grid, indices % grid
    height, width = rows.max() - rows.min() + 1, cols.max() - cols.min() + 1
    return len(set(indices.tolist())) == len(indices) == height * width


def test_blocks_are_rectangles_of_the_asked_size_and_the_context_avoids_them():
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        context, targets = ijepa.sample_blocks(8, 4, (0.15, 0.2), (0.75, 1.5), (0.85, 1.0), min_context=4,
                                               generator=generator)
        # 15-20% of 64 patches is 9.6 to 12.8; whole rows and columns, rounded as the paper's sampler
        # rounds them, give 6 (2x3) to 16 (4x4) patches.
        assert targets.shape[0] == 4 and 6 <= targets.shape[1] <= 16
        assert all(is_rectangle(block, 8) for block in targets)
        assert len(context) >= 4 and not torch.isin(context, targets).any()
        assert context.min() >= 0 and context.max() < 64 and targets.max() < 64


def test_blocks_are_random_but_reproducible_from_a_generator():
    def draw(seed):
        generator = torch.Generator().manual_seed(seed)
        return [ijepa.sample_blocks(8, generator=generator) for _ in range(5)]

    first, again, other = draw(0), draw(0), draw(1)
    assert all(torch.equal(a[1], b[1]) and torch.equal(a[0], b[0]) for a, b in zip(first, again))
    assert any(not torch.equal(a[1], b[1]) for a, b in zip(first, other))


def test_block_sampler_refuses_impossible_settings():
    with pytest.raises(ValueError, match="scale range"):
        ijepa.sample_blocks(8, target_scale=(0.3, 0.2))
    with pytest.raises(ValueError, match="at least one target"):
        ijepa.sample_blocks(8, num_targets=0)
    with pytest.raises(RuntimeError, match="fewer or smaller targets"):  # targets covering the grid leave no context
        ijepa.sample_blocks(4, num_targets=2, target_scale=(1.0, 1.0), target_aspect=(1.0, 1.0))


def test_ijepa_loss_by_hand():
    # Two patches of two channels: errors (0, 2) and (1, 1): squares 0 + 4 + 1 + 1 = 6, over 4 values = 1.5.
    predicted = torch.tensor([[1.0, 2.0], [0.0, 1.0]])
    target = torch.tensor([[1.0, 0.0], [1.0, 0.0]])
    assert ijepa.ijepa_loss(predicted, target).item() == pytest.approx(1.5)
    assert ijepa.ijepa_loss(target, target).item() == 0.0
    assert ijepa.ijepa_loss(predicted, target).item() == ijepa.ijepa_loss(target, predicted).item()


def test_ijepa_loss_refuses_bad_inputs():
    with pytest.raises(ValueError, match="same shape"):
        ijepa.ijepa_loss(torch.rand(2, 4, 3, 8), torch.rand(2, 4, 3, 4))
    with pytest.raises(ValueError, match="at least one"):
        ijepa.ijepa_loss(torch.rand(2, 0, 3, 8), torch.rand(2, 0, 3, 8))


def test_predictor_outputs_one_feature_per_target_patch():
    predictor = ijepa.Predictor(dim=16, pred_dim=8, depth=1, heads=2, grid_size=8)
    context, targets = ijepa.sample_blocks(8, 3, generator=torch.Generator().manual_seed(0))
    out = predictor(torch.rand(5, len(context), 16), context, targets)
    assert out.shape == (5, 3, targets.shape[1], 16)


def test_config_errors_say_what_to_do():
    with pytest.raises(ConfigError, match="vit_tiny"):
        tiny_config(backbone="resnet18")
    with pytest.raises(ConfigError, match="target_min_scale"):
        tiny_config(target_min_scale=0.3, target_max_scale=0.2)
    with pytest.raises(ConfigError, match="ema_momentum"):
        tiny_config(ema_momentum=1.5)
    with pytest.raises(ConfigError, match="pred_heads"):
        tiny_config(pred_heads=3)


def test_a_patch_size_that_leaves_no_grid_is_refused_when_the_model_is_built(tiny_toy):
    with pytest.raises(ConfigError, match="patch_size=5 does not cut the 32 px images"):
        ijepa.build_model(tiny_config(patch_size=5), tiny_toy)
    with pytest.raises(ConfigError, match="patch_size=32 .* at least 2x2"):  # one patch: nothing to hide
        ijepa.build_model(tiny_config(patch_size=32), tiny_toy)


def test_the_evaluated_backbone_is_the_ema_target_encoder(tiny_toy):
    config = tiny_config(ema_momentum=0.0)
    model = ijepa.build_model(config, tiny_toy)
    assert model.backbone is model.target_encoder
    assert not any(p.requires_grad for p in model.target_encoder.parameters())
    with torch.no_grad():
        for p in model.context_encoder.parameters():
            p.add_(1.0)
        x = tiny_toy.train_x[:4].float() / 255
        # No projector: the collapse probe measures the target encoder's mean-pooled patch tokens.
        assert torch.equal(model.embed(x), model.target_encoder.tokens(x)[:, 1:].mean(dim=1))
        assert not torch.allclose(model.embed(x), model.context_encoder(x))
    model.after_step(5, 10)  # momentum 0 switches the EMA off: the target is a copy at every step
    assert all(torch.equal(t, c) for t, c in zip(model.target_encoder.parameters(),
                                                  model.context_encoder.parameters()))


def test_the_target_encoder_moves_by_one_minus_the_momentum_towards_the_context_encoder(tiny_toy):
    model = ijepa.build_model(tiny_config(ema_momentum=0.9), tiny_toy)
    before = [t.clone() for t in model.target_encoder.parameters()]
    with torch.no_grad():
        for p in model.context_encoder.parameters():
            p.add_(1.0)
    # At step 0 the cosine schedule gives the base momentum: target <- 0.9 target + 0.1 (target + 1).
    model.after_step(0, 10)
    assert all(torch.allclose(t, b + 0.1, atol=1e-6) for t, b in zip(model.target_encoder.parameters(), before))
    # At the last step the momentum has reached 1: the target no longer moves.
    frozen = [t.clone() for t in model.target_encoder.parameters()]
    model.after_step(10, 10)
    assert all(torch.equal(t, f) for t, f in zip(model.target_encoder.parameters(), frozen))


def test_forward_predicts_the_layer_normalised_target_features_of_the_hidden_blocks(tiny_toy):
    config = tiny_config()
    model = ijepa.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:8]
    torch.manual_seed(2)
    out = model(images)
    # The same draws by hand: one crop, its two colourings (none in the recipe), then the blocks.
    torch.manual_seed(2)
    cropped = ijepa.crop(images, config.augment)
    x, x_target = ijepa.recolour(cropped, config.augment), ijepa.recolour(cropped, config.augment)
    context, targets = ijepa.sample_blocks(4, config.num_targets, (config.target_min_scale, config.target_max_scale),
                                           ijepa.TARGET_ASPECT, (config.context_min_scale, 1.0))
    with torch.no_grad():
        features = model.target_encoder.tokens(x_target)[:, 1:]
        features = torch.nn.functional.layer_norm(features, features.shape[-1:])[:, targets]
    predicted = model.predictor(model.context_encoder.tokens(x, context.expand(8, -1))[:, 1:], context, targets)
    assert out["loss"].item() == pytest.approx(ijepa.ijepa_loss(predicted, features).item(), rel=1e-6)
    assert out["context_patches"].item() == len(context)
