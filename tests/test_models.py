"""cookbook.models: feature sizes, the CIFAR stem, ViT tokens, MLP and prototype heads, the patch grid and its masks,
the token predictor, and the config checks."""
import pytest
import torch
from torch import nn

from cookbook import models
from cookbook.config import ConfigError


@pytest.mark.parametrize("name, width, dim", [("small_cnn", 4, 8 * 4), ("resnet18", 4, 512), ("vit_tiny", 4, 16),
                                              ("vit_tiny", 32, 192), ("pixel_mlp", 4, 32)])
def test_backbones_map_images_to_their_feature_size(name, width, dim):
    torch.manual_seed(0)
    net = models.build_backbone(name, image_size=32, width=width).eval()
    assert net.dim == dim
    with torch.no_grad():
        z = net(torch.rand(2, 3, 32, 32))
    assert z.shape == (2, dim) and torch.isfinite(z).all()


def test_resnet18_uses_the_cifar_stem_on_small_images():
    net = models.build_backbone("resnet18", image_size=32)
    assert net.net.conv1.kernel_size == (3, 3) and net.net.conv1.stride == (1, 1)
    assert isinstance(net.net.maxpool, nn.Identity)
    assert models.build_backbone("resnet18", image_size=96).net.conv1.kernel_size == (7, 7)


def test_backbones_standardise_their_input_with_the_dataset_statistics():
    net = models.build_backbone("small_cnn", mean=(0.2, 0.3, 0.4), std=(0.1, 0.1, 0.1), width=2)
    x = torch.tensor([0.2, 0.3, 0.4]).view(1, 3, 1, 1).expand(1, 3, 4, 4)
    assert torch.allclose(net.standardize(x), torch.zeros(1, 3, 4, 4), atol=1e-6)


def test_vit_tokens_and_a_subset_of_patches():
    vit = models.TinyViT(image_size=32, patch_size=8, dim=16, depth=1, heads=2).eval()
    x = torch.rand(2, 3, 32, 32)
    assert vit.num_patches == 16 and vit.tokens(x).shape == (2, 17, 16)
    keep = torch.tensor([[0, 5, 7], [1, 2, 3]])
    assert vit.tokens(x, keep).shape == (2, 4, 16)
    with pytest.raises(ValueError, match="multiple of patch_size"):
        models.TinyViT(image_size=30, patch_size=8)


def test_mlp_depth_width_and_output_batch_norm():
    head = models.mlp(8, 32, 4, depth=3, last_batch_norm=True)
    linears = [m for m in head if isinstance(m, nn.Linear)]
    assert [(linear.in_features, linear.out_features) for linear in linears] == [(8, 32), (32, 32), (32, 4)]
    assert isinstance(head[-1], nn.BatchNorm1d) and not head[-1].affine
    assert len([m for m in models.mlp(8, 32, 4, depth=1) if isinstance(m, nn.Linear)]) == 1
    with pytest.raises(ValueError, match="depth"):
        models.mlp(8, 32, 4, depth=0)


def test_unknown_backbone_lists_the_choices():
    with pytest.raises(ValueError, match="small_cnn.*resnet18.*vit_tiny"):
        models.build_backbone("resnet50")


def test_vit_mean_pooling_averages_the_patch_tokens():
    torch.manual_seed(0)
    vit = models.TinyViT(image_size=16, patch_size=4, dim=16, depth=1, heads=2, pool="mean").eval()
    x = torch.rand(3, 3, 16, 16)
    with torch.no_grad():
        assert torch.allclose(vit(x), vit.tokens(x)[:, 1:].mean(dim=1))
    assert vit.grid_size == 4 and models.TinyViT(image_size=16, patch_size=4, dim=16, depth=1, heads=2).pool == "cls"
    with pytest.raises(ValueError, match="pool"):
        models.TinyViT(image_size=16, patch_size=4, dim=16, depth=1, heads=2, pool="max")


def test_sincos_positions_are_distinct_bounded_and_row_major():
    pos = models.sincos_pos_embed(4, 8)
    assert pos.shape == (16, 8) and pos.abs().max() <= 1
    assert len({tuple(row) for row in pos.round(decimals=4).tolist()}) == 16
    # The first quarter of the channels is sin(row * f): constant along a row of the grid, zero on row 0.
    assert torch.allclose(pos[:4, :2], torch.zeros(4, 2))
    assert torch.allclose(pos[4:8, 0], torch.full((4,), torch.sin(torch.tensor(1.0)).item()))
    with pytest.raises(ValueError, match="multiple of 4"):
        models.sincos_pos_embed(4, 6)


def test_transformer_size_checks_name_the_setting_to_change():
    from types import SimpleNamespace

    good = SimpleNamespace(vit_dim=64, vit_heads=4, vit_depth=2, pred_dim=32, pred_heads=2, pred_depth=1)
    models.check_transformer_sizes(good, "vit", "pred", sincos=("pred_dim",))
    with pytest.raises(ValueError, match="vit_heads=3 must be >= 1 and divide vit_dim=64"):
        models.check_transformer_sizes(SimpleNamespace(**{**vars(good), "vit_heads": 3}), "vit")
    with pytest.raises(ValueError, match="pred_depth=0"):
        models.check_transformer_sizes(SimpleNamespace(**{**vars(good), "pred_depth": 0}), "vit", "pred")
    with pytest.raises(ValueError, match="pred_dim=30 must be a multiple of 4"):
        models.check_transformer_sizes(SimpleNamespace(**{**vars(good), "pred_dim": 30, "pred_heads": 3}),
                                       "pred", sincos=("pred_dim",))
    # A ConfigError (a ValueError): the recipes call it without a wrapper; callers catching ValueError still work.
    with pytest.raises(ConfigError, match="vit_heads=3"):
        models.check_transformer_sizes(SimpleNamespace(**{**vars(good), "vit_heads": 3}), "vit")
    assert models.TinyViT(image_size=16, patch_size=4, dim=16, depth=1, heads=2).encoder.num_layers == 1


def test_require_vit_names_the_method_and_the_backbone_to_use():
    from types import SimpleNamespace

    models.require_vit(SimpleNamespace(backbone="vit_tiny"), "MAE")
    with pytest.raises(ConfigError, match="backbone='resnet18': I-JEPA removes patch tokens.*use backbone='vit_tiny'"):
        models.require_vit(SimpleNamespace(backbone="resnet18"), "I-JEPA")


def test_the_recipes_use_these_helpers():
    # One definition each: the recipes import them, so `mae.patchify` and `ijepa.sample_blocks` keep working.
    from recipes import dino, ijepa, mae

    assert (mae.patchify, mae.unpatchify, mae.normalize_patches, mae.random_masking) == (
        models.patchify, models.unpatchify, models.normalize_patches, models.random_masking)
    assert ijepa.sample_blocks is models.sample_blocks and ijepa.Predictor is models.TokenPredictor
    assert dino.PrototypeHead is models.PrototypeHead


def test_patchify_is_the_layout_of_the_vit_tokens_and_unpatchify_inverts_it():
    x = torch.rand(2, 3, 16, 16)
    patches = models.patchify(x, 4)
    assert patches.shape == (2, 16, 48) and torch.equal(models.unpatchify(patches, 4), x)
    # Patch 1 is the second patch of the first row: rows 0-3, columns 4-7, flattened (row, column, channel).
    assert torch.equal(patches[:, 1], x[:, :, 0:4, 4:8].permute(0, 2, 3, 1).reshape(2, 48))
    normalized = models.normalize_patches(5 + 3 * patches)
    assert torch.allclose(normalized.mean(dim=-1), torch.zeros(2, 16), atol=1e-5)
    assert torch.allclose(normalized.std(dim=-1), torch.ones(2, 16), atol=1e-3)


def test_masks_on_the_patch_grid_are_reproducible_from_a_generator():
    keep, mask, restore = models.random_masking(3, 16, 0.75, generator=torch.Generator().manual_seed(0))
    again = models.random_masking(3, 16, 0.75, generator=torch.Generator().manual_seed(0))
    assert all(torch.equal(a, b) for a, b in zip((keep, mask, restore), again))
    assert keep.shape == (3, 4) and mask.sum().item() == 3 * 12 and (mask.gather(1, keep) == 0).all()
    context, targets = models.sample_blocks(6, 2, generator=torch.Generator().manual_seed(0))
    assert targets.shape[0] == 2 and not torch.isin(context, targets).any() and len(context) >= 4


def test_token_predictor_predicts_one_output_per_query_from_positions_alone():
    torch.manual_seed(0)
    predictor = models.TokenPredictor(dim=16, pred_dim=8, depth=1, heads=2, grid_size=4).eval()
    assert predictor.pos.shape == (16, 8) and predictor.mask_token.shape == (1, 1, 8)
    tokens, positions = torch.rand(3, 5, 16), torch.tensor([0, 2, 5, 9, 15])
    with torch.no_grad():
        out = predictor(tokens, positions, torch.tensor([[1, 3], [4, 4]]))
        assert out.shape == (3, 2, 2, 16)
        # Two queries of the same patch are the same mask token at the same position: the same prediction.
        assert torch.allclose(out[:, 1, 0], out[:, 1, 1], atol=1e-6)
        # forward is head() on [embedded tokens + their positions, mask tokens + theirs], read at the queries.
        sequence = torch.cat([predictor.embed(tokens) + predictor.pos[positions],
                              (predictor.mask_token + predictor.pos[[1, 3, 4, 4]]).expand(3, -1, -1)], dim=1)
        assert torch.allclose(out.flatten(1, 2), predictor.head(sequence)[:, 5:], atol=1e-6)
    pixels = models.TokenPredictor(dim=16, pred_dim=8, depth=1, heads=2, grid_size=4, out_dim=48)
    assert pixels(tokens, positions, torch.arange(3)).shape == (3, 3, 48)  # MAE: a patch's pixels, not features


def test_prototype_head_gives_cosine_logits_and_can_freeze_the_prototypes():
    torch.manual_seed(0)
    head = models.PrototypeHead(in_dim=8, hidden_dim=16, bottleneck_dim=4, out_dim=5, depth=2)
    x = torch.rand(6, 8)
    logits = head(x).detach()
    assert logits.shape == (6, 5) and logits.abs().max() <= 1 + 1e-6
    # Scaling a prototype changes nothing: the rows are normalised to unit length.
    with torch.no_grad():
        head.prototypes[0] *= 7.0
    assert torch.allclose(head(x).detach(), logits, atol=1e-6)
    head(torch.rand(6, 8), freeze_prototypes=True).sum().backward()
    assert head.prototypes.grad is None and head.mlp[0].weight.grad is not None


def test_pixel_mlp_sees_flattened_pixels_and_matches_small_cnns_width():
    net = models.build_backbone("pixel_mlp", image_size=16, width=4)
    assert net.dim == 8 * 4 == models.build_backbone("small_cnn", width=4).dim
    assert net(torch.rand(5, 3, 16, 16)).shape == (5, 32)
    # no spatial prior: permuting the pixels of every image and the first layer's inputs alike changes nothing
    x, order = torch.rand(5, 3, 16, 16), torch.randperm(3 * 16 * 16)
    permuted = models.build_backbone("pixel_mlp", image_size=16, width=4)
    permuted.load_state_dict(net.state_dict())
    net.eval(), permuted.eval()
    with torch.no_grad():
        permuted.features[1].weight.copy_(net.features[1].weight[:, order])
        standardized = net.standardize(x).flatten(1)[:, order]
        assert torch.allclose(net(x), permuted.features[1:](standardized), atol=1e-5)
