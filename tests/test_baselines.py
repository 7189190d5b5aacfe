"""cookbook.book.baselines: chance and raw pixels on a run's own test images, beside its accuracies."""
import json

import pytest

from cookbook import data
from cookbook.book import baselines, report
from recipes import jigsaw

SMALL = dict(dataset="toy", n_train=300, n_test=200, seed=0, image_size=None, data_root=None, knn_k=20,
             knn_temperature=0.07)


def test_chance_is_the_most_common_label_of_the_test_images():
    test = data.load("toy", n_train=300, n_test=200, seed=0)
    chance = baselines.chance(SMALL)
    assert chance["kNN"] == pytest.approx(float(test.test_y.bincount().max()) / 200)
    assert set(chance) == {"kNN", *(report.FACTOR_NAMES[name] for name in test.test_factors
                                    if not test.test_factors[name].is_floating_point())}
    assert all(0 < value <= 1 for value in chance.values())


def test_raw_pixels_are_the_runs_own_measure_of_them():
    # The committed quick run of the relative-position recipe measured raw pixels on the same images and probe.
    metrics = json.loads((report.RESULTS / "quick" / "jigsaw" / "metrics.json").read_text())
    refs = baselines.references(jigsaw.Config.for_budget("quick"))
    assert refs["raw pixels"]["kNN"] == pytest.approx(metrics["raw_pixel_knn_acc"])
    assert refs["raw pixels"]["position"] == pytest.approx(metrics["raw_pixel_position_cell_knn_acc"])
    assert baselines.references(metrics["config"])["chance"] == refs["chance"]  # a metrics' config dict works too


def test_rows_set_each_run_beside_its_references():
    metrics = json.loads((report.RESULTS / "quick" / "jigsaw" / "metrics.json").read_text())
    row, = baselines.rows({"relative position": metrics})
    assert list(row) == ["run", "data", "steps", "chance", "raw pixels", "untrained network", "kNN", "linear probe"]
    assert (row["raw pixels"], row["untrained network"], row["kNN"]) == (
        metrics["raw_pixel_knn_acc"], metrics["random_init_knn_acc"], metrics["knn_acc"])
    factor, = baselines.rows({"where": metrics}, "position_cell")
    assert factor["run"] == "where, kNN of position"
    assert "linear probe" not in factor and factor["kNN"] == metrics["position_cell_knn_acc"]
    assert set(baselines.FORMATS) <= set(row)
