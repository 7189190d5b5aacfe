"""recipes.vicreg: each term on small cases computed by hand, the weighting, and its errors."""
import math

import pytest
import torch

from cookbook.augment import views
from cookbook.config import ConfigError
from recipes import vicreg


def test_variance_term_by_hand():
    # Dimension 0 takes the values +1 and -1 (unbiased variance 2, std above 1: no penalty);
    # dimension 1 is constant (std sqrt(eps) = 0.01: penalty 0.99). Mean over D: 0.495.
    z = torch.tensor([[1.0, 0.0], [-1.0, 0.0]])
    terms = vicreg.vicreg_terms(z, z.clone())
    assert terms["invariance"].item() == 0.0
    assert terms["variance"].item() == pytest.approx((0 + (1 - math.sqrt(1e-4))) / 2)
    assert terms["covariance"].item() == pytest.approx(0.0)
    assert vicreg.vicreg_loss(z, z.clone()).item() == pytest.approx(25 * 0.495)


def test_covariance_term_by_hand_is_summed_over_both_branches():
    # Perfectly correlated dimensions: covariance matrix [[2, 2], [2, 2]], off-diagonal squares 8, / D = 4.
    z = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    assert vicreg.vicreg_terms(z, z.clone())["covariance"].item() == pytest.approx(4 + 4)


def test_invariance_term_is_the_mean_squared_difference():
    z1, z2 = torch.zeros(4, 3), torch.full((4, 3), 2.0)
    assert vicreg.vicreg_terms(z1, z2)["invariance"].item() == pytest.approx(4.0)


def test_variance_term_is_averaged_over_the_branches():
    spread = torch.tensor([[3.0], [-3.0]])
    collapsed = torch.zeros(2, 1)
    assert vicreg.vicreg_terms(spread, collapsed)["variance"].item() == pytest.approx((1 - math.sqrt(1e-4)) / 2)


def test_collapsed_embeddings_pay_the_full_variance_penalty_and_spread_ones_none():
    torch.manual_seed(0)
    collapsed = torch.ones(64, 8)
    spread = 3 * torch.randn(64, 8)
    assert vicreg.vicreg_terms(collapsed, collapsed)["variance"].item() == pytest.approx(1 - math.sqrt(1e-4))
    assert vicreg.vicreg_terms(spread, spread)["variance"].item() == 0.0


def test_coefficients_weight_the_terms():
    torch.manual_seed(1)
    z1, z2 = torch.randn(16, 4), torch.randn(16, 4)
    t = vicreg.vicreg_terms(z1, z2)
    got = vicreg.vicreg_loss(z1, z2, sim_coeff=2.0, std_coeff=3.0, cov_coeff=5.0)
    assert got.item() == pytest.approx(2 * t["invariance"].item() + 3 * t["variance"].item()
                                       + 5 * t["covariance"].item())
    assert vicreg.vicreg_loss(z1, z2, 0.0, 0.0, 0.0).item() == 0.0


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="at least 2"):
        vicreg.vicreg_terms(torch.ones(1, 4), torch.ones(1, 4))
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        vicreg.vicreg_terms(torch.ones(4, 3), torch.ones(4, 2))
    with pytest.raises(ConfigError, match="std_coeff=-1.0 must be >= 0"):
        vicreg.Config.for_budget("quick", std_coeff=-1.0)
    with pytest.raises(ConfigError, match="all 0"):
        vicreg.Config.for_budget("quick", sim_coeff=0.0, std_coeff=0.0, cov_coeff=0.0)
    with pytest.raises(ConfigError, match="batch_size=2"):
        vicreg.Config.for_budget("quick", batch_size=2)
    with pytest.raises(ConfigError, match="proj_dim=0 must be >= 1"):
        vicreg.Config.for_budget("quick", proj_dim=0)
    assert vicreg.Config.for_budget("quick", std_coeff=0.0).std_coeff == 0.0  # the collapse ablation stays allowed


def test_forward_trains_on_vicreg_loss_and_logs_the_unweighted_terms(tiny_toy):
    config = vicreg.Config.for_budget("quick", width=4, proj_hidden_dim=32, proj_dim=16, sim_coeff=2.0,
                                      std_coeff=3.0, cov_coeff=5.0)
    model = vicreg.build_model(config, tiny_toy)
    images = tiny_toy.pretrain_x[:16]
    torch.manual_seed(3)
    out = model(images)
    torch.manual_seed(3)
    z1, z2 = model.embed(torch.cat(views(images, 2, config.augment))).chunk(2)
    assert out["loss"].item() == pytest.approx(vicreg.vicreg_loss(z1, z2, 2.0, 3.0, 5.0).item(), rel=1e-6)
    for name, term in vicreg.vicreg_terms(z1, z2).items():
        assert out[name].item() == pytest.approx(term.item(), rel=1e-6) and not out[name].requires_grad
    assert out["loss"].requires_grad


@pytest.mark.parametrize("recipe_name", ["simclr", "vicreg"])
def test_no_projector_means_the_loss_sees_the_backbones_features(recipe_name, tiny_toy):
    import importlib

    from torch import nn

    recipe = importlib.import_module(f"recipes.{recipe_name}")
    config = recipe.Config.for_budget("quick", proj_depth=0, width=4, batch_size=8, steps=2, progress=False)
    model = recipe.build_model(config, tiny_toy)
    assert isinstance(model.projector, nn.Identity)
    x = tiny_toy.train_x[:8].float() / 255
    model.eval()
    assert torch.equal(model.embed(x), model.backbone(x))
    model.train()
    assert torch.isfinite(model(tiny_toy.train_x[:8])["loss"])


def test_a_projector_depth_below_zero_or_zero_elsewhere_is_refused():
    from recipes import byol

    with pytest.raises(ConfigError, match="proj_depth"):
        vicreg.Config.for_budget("quick", proj_depth=-1)
    with pytest.raises(ConfigError, match="proj_depth"):
        byol.Config.for_budget("quick", proj_depth=0)
