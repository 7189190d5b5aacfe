"""cookbook.models: feature sizes, the CIFAR stem, ViT tokens and MLP heads."""
import pytest
import torch
from torch import nn

from cookbook import models


@pytest.mark.parametrize("name, dim", [("small_cnn", 8 * 4), ("resnet18", 512), ("vit_tiny", 192)])
def test_backbones_map_images_to_their_feature_size(name, dim):
    torch.manual_seed(0)
    net = models.build_backbone(name, image_size=32, width=4).eval()
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
    assert [(l.in_features, l.out_features) for l in linears] == [(8, 32), (32, 32), (32, 4)]
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
    assert torch.allclose(pos[:4, :2], torch.zeros(4, 2)) and torch.allclose(pos[4:8, 0], torch.full((4,), torch.sin(torch.tensor(1.0)).item()))
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
    assert models.TinyViT(image_size=16, patch_size=4, dim=16, depth=1, heads=2).encoder.num_layers == 1
