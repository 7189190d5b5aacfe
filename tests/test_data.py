"""cookbook.data: the toy dataset's promises and every loader, on small files the tests write."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch

from cookbook import data, evaluate
from cookbook.data import DatasetUnavailable

TOY_FACTORS = {"x", "y", "scale", "rotation", "fg_hue", "bg_hue", "bg_value", "fg_value", "fg_hue_bin", "bg_hue_bin",
               "position_cell", "scale_bin"}


# ----------------------------------------------------------------------------- toy

def test_toy_shapes_and_dtype(tiny_toy):
    assert tiny_toy.train_x.shape == (64, 3, 32, 32) and tiny_toy.test_x.shape == (32, 3, 32, 32)
    assert tiny_toy.train_x.dtype == torch.uint8 and tiny_toy.test_x.dtype == torch.uint8
    assert tiny_toy.train_y.shape == (64,) and tiny_toy.test_y.shape == (32,)
    assert tiny_toy.train_y.dtype == torch.int64
    assert tiny_toy.num_classes == 10 and tiny_toy.classes == data.TOY_CLASSES
    assert tiny_toy.image_size == 32 and tiny_toy.device == torch.device("cpu")
    assert int(tiny_toy.train_y.min()) >= 0 and int(tiny_toy.train_y.max()) <= 9
    assert tiny_toy.pretrain_x is tiny_toy.train_x
    assert len(tiny_toy.mean) == 3 and len(tiny_toy.std) == 3 and min(tiny_toy.std) > 0.01


def test_toy_is_deterministic_for_a_seed():
    a, b = data.make_toy(40, 10, seed=3), data.make_toy(40, 10, seed=3)
    for name in ("train_x", "train_y", "test_x", "test_y"):
        assert torch.equal(getattr(a, name), getattr(b, name)), name
    for key in a.train_factors:
        assert torch.equal(a.train_factors[key], b.train_factors[key]), key


def test_toy_differs_between_seeds():
    a, b = data.make_toy(40, 10, seed=3), data.make_toy(40, 10, seed=4)
    assert not torch.equal(a.train_x, b.train_x)
    assert not torch.equal(a.train_y, b.train_y)


def test_toy_image_size():
    toy = data.make_toy(8, 4, image_size=16)
    assert toy.train_x.shape == (8, 3, 16, 16) and toy.test_x.shape == (4, 3, 16, 16)


def test_load_draws_the_toy_shapes_at_image_size_and_resizes_digits():
    toy = data.load("toy", n_train=20, n_test=10, image_size=16)
    assert toy.train_x.shape == (20, 3, 16, 16) and toy.train_factors["x"].shape == (20,)
    # Drawn at 16 px, not drawn at 32 and shrunk: the same as make_toy at that size.
    assert torch.equal(toy.train_x, data.make_toy(20, 10, image_size=16).train_x)
    digits = data.load("digits", image_size=16)
    assert digits.train_x.shape[1:] == (3, 16, 16) and digits.train_x.dtype == torch.uint8
    assert digits.train_x.float().std() > 10  # resizing kept the strokes


def test_toy_gray_is_the_toy_shapes_in_grey_with_their_factors():
    gray, colour = data.load("toy_gray", n_train=20, n_test=10), data.load("toy", n_train=20, n_test=10)
    assert gray.name == "toy_gray" and torch.equal(gray.train_y, colour.train_y)
    assert torch.equal(gray.train_x[:, 0], gray.train_x[:, 1]) and torch.equal(gray.train_x[:, 1], gray.train_x[:, 2])
    assert not torch.equal(colour.train_x[:, 0], colour.train_x[:, 1])
    assert torch.equal(gray.train_factors["fg_hue_bin"], colour.train_factors["fg_hue_bin"])


def test_loading_the_same_toy_shapes_twice_draws_them_once():
    first, second = data.load("toy", n_train=24, n_test=8, seed=5), data.load("toy", n_train=24, n_test=8, seed=5)
    assert second.train_x.data_ptr() == first.train_x.data_ptr()
    assert torch.equal(first.train_x, data.make_toy(24, 8, seed=5).train_x)
    assert not torch.equal(data.load("toy", n_train=24, n_test=8, seed=6).train_x, first.train_x)


def test_resized_keeps_labels_and_factors(tiny_toy):
    small = data.resized(tiny_toy, 12)
    assert small.train_x.shape[-2:] == (12, 12) and small.test_x.shape[-2:] == (12, 12)
    assert torch.equal(small.train_y, tiny_toy.train_y) and small.train_factors is tiny_toy.train_factors


def test_an_image_size_too_small_to_see_a_shape_is_refused():
    with pytest.raises(ValueError, match="image_size=4"):
        data.load("toy", n_train=10, n_test=5, image_size=4)


def test_toy_factors_are_present_and_aligned(tiny_toy):
    assert set(tiny_toy.train_factors) == TOY_FACTORS
    assert set(tiny_toy.test_factors) == TOY_FACTORS
    for key in TOY_FACTORS:
        assert len(tiny_toy.train_factors[key]) == 64, key
        assert len(tiny_toy.test_factors[key]) == 32, key
    bins = tiny_toy.train_factors["fg_hue_bin"]
    assert bins.dtype == torch.int64 and int(bins.min()) >= 0 and int(bins.max()) <= 5


@pytest.fixture(scope="module")
def toy_2500():
    return data.make_toy(2000, 500, seed=0)


def test_toy_classes_are_balanced(toy_2500):
    counts = torch.bincount(toy_2500.train_y, minlength=10)
    assert counts.min() >= 0.6 * 200 and counts.max() <= 1.4 * 200


def test_toy_is_not_separable_from_raw_pixels(toy_2500):
    """The dataset's promise: a nearest-neighbour vote on pixels stays near chance (0.1)."""
    acc = evaluate.knn_accuracy(evaluate.pixels(toy_2500.train_x), toy_2500.train_y,
                                evaluate.pixels(toy_2500.test_x), toy_2500.test_y)
    assert acc < 0.35


def test_toy_shapes_are_drawn_where_the_factors_say(toy_2500):
    """The factors describe the images: for shapes lighter than their background, the centroid of the
    pixels brighter than half-way between the two follows the recorded position (x -> column, y -> row)."""
    f = toy_2500.train_factors
    value = (toy_2500.train_x.float() / 255).amax(dim=1)  # HSV value = max over the channels
    lighter = f["fg_value"] > f["bg_value"] + 0.2
    threshold = ((f["bg_value"] + f["fg_value"]) / 2)[:, None, None]
    mask = (value > threshold).float()[lighter]
    coords = (torch.arange(32) + 0.5) / 32 * 2 - 1
    area = mask.sum(dim=(1, 2))
    col = (mask.sum(dim=1) * coords).sum(dim=1) / area
    row = (mask.sum(dim=2) * coords).sum(dim=1) / area
    corr = lambda a, b: torch.corrcoef(torch.stack([a, b]))[0, 1].item()  # noqa: E731
    assert lighter.sum() > 500
    assert corr(col, f["x"][lighter]) > 0.9 and corr(row, f["y"][lighter]) > 0.9
    assert abs(corr(col, f["y"][lighter])) < 0.2 and abs(corr(row, f["x"][lighter])) < 0.2


def test_load_toy_takes_n_train_and_n_test():
    toy = data.load("toy", n_train=20, n_test=10, seed=1)
    assert len(toy.train_x) == 20 and len(toy.test_x) == 10
    assert all(len(v) == 20 for v in toy.train_factors.values())
    assert torch.equal(toy.train_x, data.make_toy(20, 10, seed=1).train_x)


# ----------------------------------------------------------------------------- errors

def test_online_dataset_offline_names_the_offline_datasets(tmp_path):
    with pytest.raises(DatasetUnavailable) as info:
        data.load("cifar10", root=tmp_path)
    message = str(info.value)
    assert "toy" in message and "digits" in message
    assert "download" in message
    assert str(tmp_path) in message


@pytest.mark.parametrize("name", ["cifar100", "stl10"])
def test_other_online_datasets_fail_offline_too(tmp_path, name):
    with pytest.raises(DatasetUnavailable, match="toy"):
        data.load(name, root=tmp_path)


def test_unknown_dataset_lists_the_choices():
    with pytest.raises(ValueError) as info:
        data.load("no-such-dataset-anywhere")
    message = str(info.value)
    assert "no-such-dataset-anywhere" in message
    for choice in ("toy", "digits", "cifar10", "cifar100", "stl10"):
        assert choice in message
    assert not isinstance(info.value, DatasetUnavailable)


# ----------------------------------------------------------------------------- digits

def test_digits_load_offline():
    digits = data.load("digits", n_test=50)
    assert digits.train_x.shape[1:] == (3, 32, 32) and digits.train_x.dtype == torch.uint8
    assert len(digits.train_x) + 359 == 1797 and len(digits.test_x) == 50
    assert digits.num_classes == 10 and set(digits.train_y.tolist()) == set(range(10))
    assert torch.equal(digits.train_x[:, 0], digits.train_x[:, 1])  # gray copied into three channels
    assert digits.train_x.max() > 200  # the strokes are bright: scaled from 0..16 to 0..255


# ----------------------------------------------------------------------------- CIFAR

def _cifar_images(n: int, offset: int) -> np.ndarray:
    rng = np.random.default_rng(offset)
    return rng.integers(0, 200, size=(n, 3, 32, 32), dtype=np.uint8)


def _dump(path: Path, obj) -> None:
    with open(path, "wb") as fh:
        pickle.dump(obj, fh)


def write_fake_cifar10(root: Path, per_batch: int = 3, n_test: int = 4) -> dict:
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    train_x, train_y = [], []
    for i in range(1, 6):
        x = _cifar_images(per_batch, i)
        y = [(i + j) % 10 for j in range(per_batch)]
        _dump(folder / f"data_batch_{i}", {b"data": x.reshape(per_batch, 3072), b"labels": y})
        train_x.append(x)
        train_y += y
    test_x = _cifar_images(n_test, 99)
    test_x[1, 2, 5, 30] = 255  # a marked pixel: blue channel, row 5, column 30 of test image 1
    test_y = [9 - j for j in range(n_test)]
    _dump(folder / "test_batch", {b"data": test_x.reshape(n_test, 3072), b"labels": test_y})
    names = [b"airplane", b"automobile", b"bird", b"cat", b"deer", b"dog", b"frog", b"horse", b"ship", b"truck"]
    _dump(folder / "batches.meta", {b"label_names": names, b"num_cases_per_batch": per_batch})
    return dict(train_x=np.concatenate(train_x), train_y=train_y, test_x=test_x, test_y=test_y)


def test_cifar10_loader_reads_the_python_pickles(tmp_path):
    written = write_fake_cifar10(tmp_path)
    cifar = data.load("cifar10", root=tmp_path)
    assert cifar.name == "cifar10" and cifar.classes[0] == "airplane" and cifar.classes[-1] == "truck"
    assert cifar.train_x.shape == (15, 3, 32, 32) and cifar.train_x.dtype == torch.uint8
    assert np.array_equal(cifar.train_x.numpy(), written["train_x"])
    assert cifar.train_y.tolist() == written["train_y"]
    assert np.array_equal(cifar.test_x.numpy(), written["test_x"])
    assert cifar.test_y.tolist() == written["test_y"]
    assert int(cifar.test_x[1, 2, 5, 30]) == 255  # (c, y, x): no transposition
    assert data.load("CIFAR-10", root=tmp_path, n_train=4).train_x.shape[0] == 4


def test_cifar10_with_a_missing_file_names_it(tmp_path):
    write_fake_cifar10(tmp_path)
    (tmp_path / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(DatasetUnavailable, match="data_batch_3"):
        data.load("cifar10", root=tmp_path)


def test_cifar100_loader_uses_the_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    train_x, test_x = _cifar_images(6, 1), _cifar_images(3, 2)
    train_x[4, 0, 31, 2] = 255  # red channel, row 31, column 2
    _dump(folder / "train", {b"data": train_x.reshape(6, -1), b"fine_labels": [0, 17, 42, 99, 5, 63],
                             b"coarse_labels": [0, 1, 2, 3, 4, 5]})
    _dump(folder / "test", {b"data": test_x.reshape(3, -1), b"fine_labels": [98, 1, 2], b"coarse_labels": [0, 0, 0]})
    _dump(folder / "meta", {b"fine_label_names": [f"class{i}".encode() for i in range(100)],
                            b"coarse_label_names": [f"super{i}".encode() for i in range(20)]})
    cifar = data.load("cifar100", root=tmp_path)
    assert cifar.num_classes == 100 and cifar.classes[42] == "class42"
    assert cifar.train_y.tolist() == [0, 17, 42, 99, 5, 63] and cifar.test_y.tolist() == [98, 1, 2]
    assert np.array_equal(cifar.train_x.numpy(), train_x)
    assert int(cifar.train_x[4, 0, 31, 2]) == 255


# ----------------------------------------------------------------------------- STL-10

def write_fake_stl10(root: Path, n_train: int = 3, n_test: int = 2, n_unlabeled: int = 4) -> dict:
    folder = root / "stl10_binary"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)

    def images(name, n):
        x = rng.integers(0, 200, size=(n, 3, 96, 96), dtype=np.uint8)  # (N, C, row, column)
        x.transpose(0, 1, 3, 2).tofile(folder / name)  # STL-10 stores each channel column-major
        return x

    train_x = images("train_X.bin", n_train)
    train_x[1, 1, 10, 70] = 255  # green channel, row 10, column 70 of image 1 (asymmetric on purpose)
    train_x.transpose(0, 1, 3, 2).tofile(folder / "train_X.bin")
    test_x = images("test_X.bin", n_test)
    unlabeled_x = images("unlabeled_X.bin", n_unlabeled)
    train_y, test_y = np.array([1, 10, 5][:n_train], dtype=np.uint8), np.array([2, 9][:n_test], dtype=np.uint8)
    train_y.tofile(folder / "train_y.bin")
    test_y.tofile(folder / "test_y.bin")
    names = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]
    (folder / "class_names.txt").write_text("\n".join(names) + "\n")
    return dict(train_x=train_x, test_x=test_x, unlabeled_x=unlabeled_x)


def test_stl10_loader_reads_column_major_binaries(tmp_path):
    written = write_fake_stl10(tmp_path)
    stl = data.load("stl10", root=tmp_path)
    assert stl.train_x.shape == (3, 3, 96, 96) and stl.test_x.shape == (2, 3, 96, 96)
    assert int(stl.train_x[1, 1, 10, 70]) == 255, "pixel (c=1, y=10, x=70) came back transposed"
    assert np.array_equal(stl.train_x.numpy(), written["train_x"])
    assert np.array_equal(stl.test_x.numpy(), written["test_x"])
    assert stl.train_y.tolist() == [0, 9, 4] and stl.test_y.tolist() == [1, 8]  # labels 1..10 -> 0..9
    assert stl.classes[0] == "airplane" and stl.num_classes == 10
    assert np.array_equal(stl.unlabeled_x.numpy(), written["unlabeled_x"])
    assert len(stl.pretrain_x) == 3 + 4
    assert torch.equal(stl.pretrain_x[3:], stl.unlabeled_x)


def test_stl10_without_the_unlabeled_file_is_unavailable(tmp_path):
    write_fake_stl10(tmp_path)
    (tmp_path / "stl10_binary" / "unlabeled_X.bin").unlink()
    with pytest.raises(DatasetUnavailable, match="unlabeled_X.bin"):
        data.load("stl10", root=tmp_path)
    stl = data.load_stl10(tmp_path, unlabeled=False)
    assert stl.unlabeled_x is None and stl.pretrain_x is stl.train_x


# ----------------------------------------------------------------------------- image folders

COLOURS = {"blue": (0, 0, 255), "green": (0, 255, 0), "red": (255, 0, 0)}


def write_images(folder: Path, colour: str, n: int, size=(20, 12)) -> None:
    from PIL import Image

    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        im = Image.new("RGB", size, COLOURS[colour])
        im.putpixel((0, 0), (255, 255, 255))  # a corner the centre crop of a wide image removes
        im.save(folder / f"{i}.png")
    (folder / "notes.txt").write_text("not an image")


def _check_colours(x: torch.Tensor, y: torch.Tensor, classes) -> None:
    for image, label in zip(x, y):
        expected = torch.tensor(COLOURS[classes[int(label)]], dtype=torch.uint8).view(3, 1, 1)
        assert torch.equal(image, expected.expand_as(image)), f"an image of {classes[int(label)]} has other pixels"


def test_image_folder_with_one_subfolder_per_class(tmp_path):
    for colour, n in (("red", 4), ("green", 3), ("blue", 3)):
        write_images(tmp_path / "shapes" / colour, colour, n)
    folder = data.load(str(tmp_path / "shapes"), image_size=8)
    assert folder.name == "shapes"
    assert folder.classes == ("blue", "green", "red")  # sorted
    assert len(folder.train_x) + len(folder.test_x) == 10 and len(folder.test_x) == 2
    assert folder.train_x.shape[1:] == (3, 8, 8) and folder.train_x.dtype == torch.uint8
    _check_colours(folder.train_x, folder.train_y, folder.classes)
    _check_colours(folder.test_x, folder.test_y, folder.classes)
    assert sorted(torch.cat([folder.train_y, folder.test_y]).tolist()) == [0] * 3 + [1] * 3 + [2] * 4


def test_image_folder_with_train_and_test_splits(tmp_path):
    for split, n in (("train", 3), ("test", 2)):
        write_images(tmp_path / "set" / split / "red", "red", n)
        write_images(tmp_path / "set" / split / "green", "green", n + 1)
    folder = data.load(str(tmp_path / "set"), image_size=16)
    assert folder.classes == ("green", "red")
    assert sorted(folder.train_y.tolist()) == [0] * 4 + [1] * 3
    assert sorted(folder.test_y.tolist()) == [0] * 3 + [1] * 2
    assert folder.test_x.shape == (5, 3, 16, 16)
    _check_colours(folder.train_x, folder.train_y, folder.classes)
    _check_colours(folder.test_x, folder.test_y, folder.classes)


def test_image_folder_without_images_is_refused(tmp_path):
    (tmp_path / "empty" / "a").mkdir(parents=True)
    with pytest.raises(ValueError, match="no usable images"):
        data.load(str(tmp_path / "empty"))


def test_imagedata_checks_its_tensors():
    x = torch.zeros(4, 3, 8, 8, dtype=torch.uint8)
    with pytest.raises(ValueError, match="uint8"):
        data.ImageData("bad", x.float(), torch.zeros(4), x, torch.zeros(4), ("a",))
    with pytest.raises(ValueError, match="labels"):
        data.ImageData("bad", x, torch.zeros(3), x, torch.zeros(4), ("a",))


def test_toy_upright_tilts_the_same_shapes_by_at_most_twenty_degrees():
    toy = data.load("toy", n_train=200, n_test=50, seed=2)
    upright = data.load("toy_upright", n_train=200, n_test=50, seed=2)
    assert upright.name == "toy_upright" and upright.classes == toy.classes
    assert upright.train_factors["rotation"].abs().max() <= data.UPRIGHT_MAX_TILT
    assert toy.train_factors["rotation"].max() > 3.0  # the plain toy shapes turn all the way round
    # Everything but the angle comes from the same random stream: same labels, colours and positions.
    assert torch.equal(toy.train_y, upright.train_y) and torch.equal(toy.test_y, upright.test_y)
    for factor in ("x", "y", "scale", "fg_hue", "bg_value"):
        assert torch.equal(toy.train_factors[factor], upright.train_factors[factor]), factor
    assert not torch.equal(toy.train_x, upright.train_x)


def test_the_binned_nuisances_follow_their_continuous_factors(toy_2500):
    f = toy_2500.train_factors
    assert torch.equal(f["bg_hue_bin"], (f["bg_hue"] * 6).long())
    column, row = f["position_cell"] % 3, f["position_cell"] // 3
    # a shape in the left third of the image sits in column 0, in the right third in column 2
    assert (f["x"][column == 0] < -0.35 + 0.7 / 3 + 1e-6).all() and (f["x"][column == 2] > 0.35 - 0.7 / 3 - 1e-6).all()
    assert (f["y"][row == 0] < f["y"][row == 2].min()).all()
    small, large = f["scale"][f["scale_bin"] == 0], f["scale"][f["scale_bin"] == 2]
    assert small.max() < large.min()
    for name, n in (("position_cell", 9), ("scale_bin", 3), ("bg_hue_bin", 6)):  # every bin used, roughly evenly
        counts = torch.bincount(f[name], minlength=n)
        assert len(counts) == n and counts.min() > 0.5 * len(f[name]) / n, (name, counts)
