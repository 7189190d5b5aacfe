"""recipes.mae: patches, masking and the loss on small cases computed by hand; the model and its errors."""
import pytest
import torch

from cookbook.augment import augment
from cookbook.config import ConfigError
from recipes import mae


def tiny_config(**overrides):
    values = dict(steps=3, batch_size=16, vit_dim=16, vit_depth=1, vit_heads=2, decoder_dim=8, decoder_depth=1,
                  decoder_heads=2, patch_size=8, eval_every=0, log_every=1, progress=False)
    return mae.Config.for_budget("quick", **{**values, **overrides})


def test_patchify_by_hand_and_back():
    # A 4x4 one-channel image holding 0..15, cut into 2x2 patches, row-major over the 2x2 grid:
    # patch 0 = rows 0-1, cols 0-1 = [0, 1, 4, 5]; patch 1 = [2, 3, 6, 7]; patch 2 = [8, 9, 12, 13]; ...
    image = torch.arange(16.0).view(1, 1, 4, 4)
    patches = mae.patchify(image, 2)
    assert patches.tolist() == [[[0, 1, 4, 5], [2, 3, 6, 7], [8, 9, 12, 13], [10, 11, 14, 15]]]
    assert torch.equal(mae.unpatchify(patches, 2, channels=1), image)
    rgb = torch.rand(2, 3, 8, 8)
    assert torch.equal(mae.unpatchify(mae.patchify(rgb, 4), 4), rgb)


def test_patches_are_in_the_order_of_the_vit_tokens():
    # A patch embedding that copies pixel (0, 0) of the red channel must see the same value as patchify.
    embed = torch.nn.Conv2d(3, 1, 4, stride=4, bias=False)
    with torch.no_grad():
        embed.weight.zero_()
        embed.weight[0, 0, 0, 0] = 1.0
    x = torch.rand(2, 3, 16, 16)
    assert torch.allclose(embed(x).flatten(2)[:, 0], mae.patchify(x, 4)[..., 0])


def test_patch_sizes_that_do_not_fit_are_refused():
    with pytest.raises(ValueError, match="do not split"):
        mae.patchify(torch.rand(1, 3, 10, 10), 4)
    with pytest.raises(ValueError, match="square grid"):
        mae.unpatchify(torch.rand(1, 3, 48), 4)


def test_random_masking_keeps_a_quarter_per_image_and_restore_inverts_the_shuffle():
    keep, mask, restore = mae.random_masking(5, 16, 0.75, generator=torch.Generator().manual_seed(0))
    assert keep.shape == (5, 4) and mask.shape == (5, 16) and restore.shape == (5, 16)
    assert mask.sum(dim=1).tolist() == [12.0] * 5
    assert (mask.gather(1, keep) == 0).all()                      # the kept patches are the visible ones
    assert len({tuple(sorted(row)) for row in keep.tolist()}) > 1  # each image draws its own mask
    # Tokens [visible ones (here: their own patch index), then 12 mask tokens (-1)] gathered with
    # restore land in patch order: patch p holds p where it is visible and -1 where it is masked.
    tokens = torch.cat([keep, torch.full((5, 12), -1)], dim=1).gather(1, restore)
    assert torch.equal(tokens, torch.where(mask == 0, torch.arange(16), -1))
    with pytest.raises(ValueError, match="at least one patch"):
        mae.random_masking(2, 16, 0.99)
    with pytest.raises(ValueError, match="at least one patch"):
        mae.random_masking(2, 16, 0.0)


def test_mae_loss_by_hand_counts_only_masked_patches():
    # Patch 0 is visible (error (1 + 1) / 2 = 1, ignored); patch 1 is masked: ((1-1)^2 + (1-3)^2) / 2 = 2.
    pred = torch.tensor([[[0.0, 0.0], [1.0, 1.0]]])
    target = torch.tensor([[[1.0, 1.0], [1.0, 3.0]]])
    mask = torch.tensor([[0.0, 1.0]])
    assert mae.mae_loss(pred, target, mask).item() == pytest.approx(2.0)
    # Averaged over the masked patches: a second image whose masked patch is exact halves the loss.
    pred2, target2 = torch.cat([pred, target]), torch.cat([target, target])
    assert mae.mae_loss(pred2, target2, torch.cat([mask, mask])).item() == pytest.approx(1.0)
    assert mae.mae_loss(target, target, mask).item() == 0.0


def test_mae_loss_refuses_bad_inputs():
    with pytest.raises(ValueError, match=r"\(N, P, patch_dim\)"):
        mae.mae_loss(torch.rand(2, 4, 3), torch.rand(2, 4, 2), torch.ones(2, 4))
    with pytest.raises(ValueError, match=r"mask must be \(N, P\)"):
        mae.mae_loss(torch.rand(2, 4, 3), torch.rand(2, 4, 3), torch.ones(2, 3))
    with pytest.raises(ValueError, match="hides no patch"):
        mae.mae_loss(torch.rand(2, 4, 3), torch.rand(2, 4, 3), torch.zeros(2, 4))


def test_normalised_patches_have_zero_mean_and_unit_variance():
    patches = mae.normalize_patches(5 + 3 * torch.rand(2, 4, 48))
    assert torch.allclose(patches.mean(dim=-1), torch.zeros(2, 4), atol=1e-5)
    assert torch.allclose(patches.var(dim=-1), torch.ones(2, 4), atol=1e-3)


def test_config_errors_say_what_to_do():
    with pytest.raises(ConfigError, match="vit_tiny"):
        tiny_config(backbone="small_cnn")
    with pytest.raises(ConfigError, match="mask_ratio"):
        tiny_config(mask_ratio=1.0)
    with pytest.raises(ConfigError, match="vit_heads"):
        tiny_config(vit_heads=3)
    with pytest.raises(ConfigError, match="pool"):
        tiny_config(pool="max")


def test_embed_is_the_pooled_backbone_and_reconstruction_keeps_the_visible_patches(tiny_toy):
    config = tiny_config()
    model = mae.build_model(config, tiny_toy)
    x = tiny_toy.train_x[:4]
    with torch.no_grad():
        # No projector: the collapse probe measures the backbone's mean-pooled patch tokens.
        tokens = model.backbone.tokens(x.float() / 255)
        assert torch.equal(model.embed(x.float() / 255), tokens[:, 1:].mean(dim=1))
    masked_input, reconstruction = model.reconstruct(x)
    assert masked_input.shape == reconstruction.shape == (4, 3, 32, 32)
    assert 0 <= reconstruction.min() and reconstruction.max() <= 1
    # 16 patches, 4 visible: the visible ones are copied from the input, the masked ones drawn grey.
    original = mae.patchify(x.float() / 255, 8)
    shown = mae.patchify(masked_input, 8)
    grey = (shown == 0.5).all(dim=-1)
    assert grey.sum(dim=1).tolist() == [12] * 4
    assert torch.allclose(shown[~grey], original[~grey])
    assert torch.allclose(mae.patchify(reconstruction, 8)[~grey], original[~grey])


@pytest.mark.parametrize("norm_pix_loss", [True, False])
def test_forward_is_the_mae_loss_of_the_prediction_on_one_augmented_view(tiny_toy, norm_pix_loss):
    config = tiny_config(norm_pix_loss=norm_pix_loss)
    model = mae.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:8]
    torch.manual_seed(3)
    loss = model(images)["loss"]
    torch.manual_seed(3)  # the same crop, flip and mask by hand
    x = augment(images, config.augment)
    pred, mask = model.predict(x)
    patches = mae.patchify(x, 8)
    target = mae.normalize_patches(patches) if norm_pix_loss else patches
    assert loss.item() == pytest.approx(mae.mae_loss(pred, target, mask).item(), rel=1e-6)
    # The loss counts the 12 hidden patches only: on the 4 visible ones it would be another number.
    assert loss.item() != pytest.approx(mae.mae_loss(pred, target, 1 - mask).item(), rel=1e-3)


def test_a_mask_ratio_that_hides_every_patch_is_refused_when_the_model_is_built(tiny_toy):
    config = mae.Config.for_budget("quick", patch_size=8, mask_ratio=0.97, vit_dim=16, vit_heads=2,
                                   decoder_dim=8, decoder_heads=2)
    with pytest.raises(ConfigError, match="leaves 0 visible"):
        mae.build_model(config, tiny_toy)


def test_a_patch_size_that_does_not_divide_the_images_is_refused_when_the_model_is_built(tiny_toy):
    with pytest.raises(ConfigError, match="patch_size=5 does not divide the 32 px images"):
        mae.build_model(tiny_config(patch_size=5), tiny_toy)
