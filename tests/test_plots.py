"""cookbook.book.plots: figures the chapters draw."""
import torch

from cookbook.book import plots
from recipes import jigsaw, rotnet


def test_rotation_grid_shows_each_image_in_its_four_rotations():
    images = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8)
    fig = plots.rotation_grid(images, rotnet.rotate_batch, title="rotations")
    axes = fig.get_axes()
    assert len(axes) == 12
    assert [ax.get_title() for ax in axes[:4]] == ["label 0: 0°", "label 1: 90°", "label 2: 180°", "label 3: 270°"]
    second_image_one_quarter_turn = torch.as_tensor(axes[5].get_images()[0].get_array())
    expected = torch.as_tensor(plots.as_image(torch.rot90(images[1], 1, dims=(1, 2))))
    assert torch.allclose(second_image_one_quarter_turn.float(), expected.float())


def test_relative_position_patches_titles_the_middle_and_the_eight_labels():
    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    fig = plots.relative_position_patches(image, jigsaw.Config.for_budget("quick"))
    titles = [ax.get_title() for ax in fig.get_axes()]
    assert titles[0] == "the image"
    assert titles[1:] == ["label 0", "label 1", "label 2", "label 3", "middle", "label 4", "label 5", "label 6",
                          "label 7"]
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_overlaid_training_curves_draw_one_line_per_run_and_the_baseline_once():
    history = [{"step": 0, "loss": 2.0, "knn_acc": 0.3, "rankme": 5.0}, {"step": 10, "loss": 1.0, "knn_acc": 0.5,
                                                                          "rankme": 8.0}]
    fig = plots.overlaid_training_curves({"simclr": history, "vicreg": history}, baselines={"untrained": 0.2})
    loss_ax, knn_ax, rank_ax = fig.get_axes()
    assert [ax.get_title() for ax in (loss_ax, knn_ax, rank_ax)] == ["training loss", "kNN accuracy",
                                                                     "RankMe (effective rank)"]
    assert loss_ax.get_yscale() == "log" and len(rank_ax.get_lines()) == 2
    assert [line.get_label() for line in knn_ax.get_lines()] == ["simclr", "untrained", "vicreg"]


def test_spectrum_panels_draw_one_panel_per_title_and_one_curve_per_run():
    z = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    fig = plots.spectrum_panels({"A": {"default": z, "off": z[:, :2]}, "B": {"default": z}})
    axes = fig.get_axes()
    assert [ax.get_title() for ax in axes] == ["A", "B"]
    assert [len(ax.get_lines()) for ax in axes] == [2, 1]


def test_linear_regime_panels_show_four_scatters_and_the_training_of_a_linear_regime():
    from cookbook.book import spectral

    fit = spectral.linear_regime(spectral.make_problem(n=60, seed=1), steps=20, log_every=10)
    fig = plots.linear_regime_panels(fit)
    axes = fig.get_axes()
    assert [ax.get_title().replace("\n", " ") for ax in axes[:4]] == list(fit.embeddings())
    assert all(len(ax.collections[0].get_offsets()) == 60 for ax in axes[:4])
    assert [len(ax.get_lines()) for ax in axes[4:]] == [2, 1]  # loss and closed-form level; the angle (twin axis)
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_spectrum_panels_log_index_runs_to_n_minus_one_and_floor_cuts_the_y_axis():
    z = torch.randn(32, 8, generator=torch.Generator().manual_seed(0))
    (ax,) = plots.spectrum_panels({"A": {"default": z}}, absolute=True, log_index=True, floor=1e-5).get_axes()
    assert ax.get_xscale() == "log" and ax.get_xlim() == (1, 31)
    assert ax.get_ylim()[0] == 1e-5


def test_patches_only_greys_the_patches_not_listed_like_patchify_would():
    from recipes import mae

    image = torch.randint(0, 256, (3, 32, 32), dtype=torch.uint8)
    shown = torch.tensor([0, 5, 15])
    patches = mae.patchify(image[None].float() / 255, 8)
    expected = mae.unpatchify(torch.where(torch.isin(torch.arange(16), shown)[None, :, None], patches, 0.5), 8)[0]
    assert torch.allclose(plots.patches_only(image, shown, 8), expected)
    assert torch.allclose(plots.patches_only(image.float() / 255, torch.arange(16), 8), image.float() / 255)


def test_context_and_target_blocks_draw_the_image_its_context_and_each_target():
    from recipes import ijepa

    images = torch.randint(0, 256, (2, 3, 32, 32), dtype=torch.uint8)
    fig = plots.context_and_target_blocks(images, ijepa.sample_blocks, 8, num_targets=3)
    axes = fig.get_axes()
    assert len(axes) == 2 * 5
    assert [ax.get_title() for ax in axes[:5]] == ["original", "context", "target 1", "target 2", "target 3"]
    assert fig._suptitle.get_text() == "context and target blocks on a 4 x 4 patch grid"
    first_original = torch.as_tensor(axes[0].get_images()[0].get_array())
    assert torch.allclose(first_original.float(), torch.as_tensor(plots.as_image(images[0])).float())


def test_reconstructions_show_original_masked_and_reconstruction_rows_with_seeded_masks():
    def reconstruct(images):  # stands in for MAE.reconstruct: random masks, floats in [0, 1]
        x = images.float() / 255
        return torch.rand_like(x), x

    images = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
    fig = plots.reconstructions(reconstruct, images, title="MAE")
    axes = fig.get_axes()
    assert len(axes) == 3 * 4
    assert [axes[4 * r].get_ylabel() for r in range(3)] == ["original", "masked", "reconstruction"]
    again = plots.reconstructions(reconstruct, images).get_axes()
    assert (axes[4].get_images()[0].get_array() == again[4].get_images()[0].get_array()).all()


def test_knn_rankme_sweeps_draw_each_setting_in_order_of_value_with_its_star():
    def run(knn, rank):
        return {"knn_acc": knn, "rankme": rank}

    fig = plots.knn_rankme_sweeps({"temperature": {0.5: run(0.4, 20.0), 0.05: run(0.3, 10.0)},
                                   "batch size": {8: run(0.2, 5.0), 128: run(0.5, 30.0)}},
                                  titles={"batch size": "temperature 0.2"},
                                  stars={"batch size": (32, run(0.45, 25.0), "same images")}, title="sweep")
    temperature_ax, batch_ax, temperature_rank_ax, batch_rank_ax = fig.get_axes()  # kNN above, RankMe below
    assert [temperature_rank_ax.get_xlabel(), batch_rank_ax.get_xlabel()] == ["temperature", "batch size"]
    assert [temperature_ax.get_ylabel(), temperature_rank_ax.get_ylabel()] == ["kNN accuracy (%)", "RankMe"]
    assert batch_ax.get_title() == "temperature 0.2" and temperature_ax.get_title() == "temperature"
    assert temperature_ax.get_xscale() == "log" and batch_rank_ax.get_xscale() == "log"
    (knn_line,), (rank_line,) = temperature_ax.get_lines(), temperature_rank_ax.get_lines()
    assert list(knn_line.get_xdata()) == [0.05, 0.5] and list(knn_line.get_ydata()) == [30.0, 40.0]
    assert list(rank_line.get_ydata()) == [10.0, 20.0]
    star = batch_ax.get_lines()[-1]
    assert star.get_label() == "same images" and list(star.get_ydata()) == [45.0]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["same images"]  # under the panels
    assert [t.get_text() for t in batch_rank_ax.get_xticklabels()] == ["8", "32", "128"]  # the star's 32 too
    assert plots.to_png(fig)[:4] == b"\x89PNG"


def test_prototype_usage_sorts_the_average_distribution_most_chosen_first():
    one_winner = torch.zeros(10, 4)
    one_winner[:, 2] = 1.0
    spread = torch.eye(4).repeat(3, 1)
    fig = plots.prototype_usage({"one prototype": one_winner, "spread": spread}, 0.01, title="usage")
    (ax,) = fig.get_axes()
    winner, even = ax.get_lines()
    assert winner.get_ydata()[0] > 0.99 and winner.get_ydata()[1] < 1e-10
    assert all(abs(p - 0.25) < 1e-6 for p in even.get_ydata())
    assert ax.get_title() == "usage" and ax.get_yscale() == "log"
