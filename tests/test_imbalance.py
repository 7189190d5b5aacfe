"""Long-tailed training sets (cookbook/imbalance.py): the class counts, the subset of a dataset
they keep, and the sweep's data settings."""
import pytest
import torch

from cookbook import imbalance
from cookbook.data import ImageData
from cookbook.imbalance import apply, class_counts, data_settings, long_tailed

# ----------------------------------------------------------------------------- class_counts

@pytest.mark.parametrize("n_classes, total, ratio", [(10, 2000, 10), (10, 5000, 100), (4, 103, 7), (2, 11, 3)])
def test_class_counts_fall_geometrically_and_sum_to_the_total(n_classes, total, ratio):
    counts = class_counts(n_classes, total, ratio)
    assert len(counts) == n_classes and all(isinstance(c, int) for c in counts)
    assert sum(counts) == total
    assert counts == sorted(counts, reverse=True)  # head first
    if counts[-1] >= 20:  # a few images per class: rounding moves the head/tail ratio more than that
        assert counts[0] / counts[-1] == pytest.approx(ratio, rel=0.05)
    shares = [ratio ** (-c / (n_classes - 1)) for c in range(n_classes)]
    assert all(abs(n - total * s / sum(shares)) <= 1 for n, s in zip(counts, shares))


def test_class_counts_of_ratio_one_are_balanced():
    assert class_counts(10, 2000, 1) == [200] * 10
    counts = class_counts(4, 103, 1)
    assert sum(counts) == 103 and max(counts) - min(counts) <= 1


def test_class_counts_refuses_what_is_not_a_long_tail():
    with pytest.raises(ValueError, match=">= 1"):
        class_counts(10, 2000, 0.5)
    with pytest.raises(ValueError, match="empty"):
        class_counts(10, 9, 2)
    with pytest.raises(ValueError, match="at least 2 classes"):
        class_counts(1, 100, 2)
    with pytest.raises(ValueError, match="rarest class no image.*raise train_images"):
        class_counts(10, 12, 1000)  # rounding up to one image each would train on 16, not 12


def test_long_tailed_refuses_unlabelled_images_it_cannot_shape():
    import dataclasses

    data = dataclasses.replace(small_data(), unlabeled_x=torch.zeros(5, 3, 8, 8, dtype=torch.uint8))
    with pytest.raises(ValueError, match="unlabelled"):
        long_tailed(data, class_ratio=2.0, train_images=20)


# ----------------------------------------------------------------------------- long_tailed

def small_data(per_class=10, n_classes=4):
    """``per_class`` training images of each of ``n_classes`` classes, the labels interleaved (0, 1, 2, 3, 0, ...);
    each image is filled with its own index, and a factor records that index too."""
    n = per_class * n_classes
    index = torch.arange(n)
    train_x = index.to(torch.uint8).view(n, 1, 1, 1).expand(n, 3, 8, 8).contiguous()
    test_x = torch.randint(0, 256, (8, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    return ImageData(name="tiny", train_x=train_x, train_y=index % n_classes, test_x=test_x,
                     test_y=torch.arange(8) % n_classes, classes=tuple(f"class{c}" for c in range(n_classes)),
                     train_factors={"index": index.clone()}, test_factors={"index": torch.arange(8)})


def test_long_tailed_keeps_the_first_images_of_each_class_in_order():
    data = small_data()
    tail = long_tailed(data, class_ratio=2.0, train_images=20)
    counts = class_counts(4, 20, 2.0)
    assert torch.bincount(tail.train_y, minlength=4).tolist() == counts
    expected = sorted(i for c in range(4) for i in range(c, 40, 4)[:counts[c]])
    assert tail.train_factors["index"].tolist() == expected
    assert tail.train_x[:, 0, 0, 0].tolist() == expected  # the images follow their labels
    assert tail.train_y.tolist() == [i % 4 for i in expected]
    assert torch.equal(tail.test_x, data.test_x) and torch.equal(tail.test_y, data.test_y)
    assert tail.test_factors is data.test_factors and tail.classes == data.classes
    assert "long-tailed x2" in tail.name
    assert len(data.train_x) == 40  # the original is left alone


def test_long_tailed_defaults_to_what_the_rarest_class_allows():
    data = small_data()
    assert len(long_tailed(data).train_x) == 40  # ratio 1: every image
    with pytest.raises(ValueError):  # at ratio 3, 40 images ask more than 10 of the head class
        long_tailed(data, 3.0)


def test_long_tailed_refuses_a_ratio_the_split_cannot_supply():
    with pytest.raises(ValueError, match=r"'class0'.*n_train"):
        long_tailed(small_data(), class_ratio=10.0, train_images=40)


# ----------------------------------------------------------------------------- data settings

def test_data_settings_strips_the_prefix_and_ignores_the_recipe_settings():
    assert data_settings({"lr": 0.1, "data.class_ratio": 10, "data.train_images": 2000}) == {
        "class_ratio": 10, "train_images": 2000}
    assert data_settings({"lr": 0.1}) == {}


def test_data_settings_refuses_an_unknown_name_or_a_ratio_below_one():
    with pytest.raises(ValueError, match="data.class_ratio") as unknown:
        data_settings({"data.ratio": 10})
    assert "data.ratio" in str(unknown.value) and "data.train_images" in str(unknown.value)
    with pytest.raises(ValueError, match=">= 1"):
        data_settings({"data.class_ratio": 0.5})
    with pytest.raises(ValueError, match="whole number"):
        data_settings({"data.train_images": 12.5})


def test_apply_follows_the_data_settings():
    data = small_data()
    assert apply(data, {"lr": 0.1}) is data
    tail = apply(data, {"lr": 0.1, "data.class_ratio": 2, "data.train_images": 20})
    assert torch.bincount(tail.train_y, minlength=4).tolist() == class_counts(4, 20, 2)
    assert set(imbalance.SETTINGS) == {"class_ratio", "train_images"}
