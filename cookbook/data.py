"""Datasets as uint8 tensors that live on the training device.

Every loader returns an :class:`ImageData`: images as ``uint8`` tensors of shape
``(N, 3, H, W)`` already on the target device, integer labels, and the per-channel mean and
std that the models standardise with. Loading once onto the device (as airbench does)
means a training step never waits on a DataLoader.

Available offline, always: ``toy`` (generated from a seed, see :func:`make_toy`), its
variants ``toy_gray`` (the same shapes in grey: no hue to sort by, for the masked-image models'
quick runs) and ``toy_upright`` (the same shapes tilted by at most 20 degrees, for pretext tasks that
need an "up", such as RotNet) and ``digits`` (scikit-learn's 8x8 handwritten digits, shipped inside scikit-learn).
Online: ``cifar10``, ``cifar100`` and ``stl10``, fetched through torchvision only when
``download=True``. Any other name is read as a path to an image folder.
"""
from __future__ import annotations

import functools
import math
import pickle
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

OFFLINE_DATASETS = ("toy", "toy_upright", "toy_gray", "digits")
# toy_upright tilts each shape by at most this much, so "which way is up" has an answer.
UPRIGHT_MAX_TILT = math.radians(20)
ONLINE_DATASETS = ("cifar10", "cifar100", "stl10")
DEFAULT_ROOT = Path.home() / ".cache" / "ssl-cookbook"

TOY_CLASSES = ("disk", "ring", "square", "triangle", "cross", "star", "half-disk", "frame", "L-shape", "bars")


class DatasetUnavailable(RuntimeError):
    """A dataset could not be found on disk and was not (or could not be) downloaded."""


@dataclass
class ImageData:
    """A labelled image dataset held as tensors on one device.

    ``train_x`` is what self-supervised training sees (labels unused); ``train_y`` and the
    test split are for evaluation (kNN, linear probe). ``factors`` holds nuisance labels
    (position, colour, ...) where the dataset knows them, for asking what features encode.
    """

    name: str
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    classes: tuple[str, ...]
    train_factors: dict[str, torch.Tensor] = field(default_factory=dict)
    test_factors: dict[str, torch.Tensor] = field(default_factory=dict)
    unlabeled_x: torch.Tensor | None = None

    def __post_init__(self) -> None:
        for split, x, y in (("train", self.train_x, self.train_y), ("test", self.test_x, self.test_y)):
            if x.dtype != torch.uint8 or x.ndim != 4 or x.shape[1] != 3:
                raise ValueError(f"{self.name}/{split}: expected uint8 images (N, 3, H, W), "
                                 f"got {x.dtype} {tuple(x.shape)}")
            if len(x) != len(y):
                raise ValueError(f"{self.name}/{split}: {len(x)} images but {len(y)} labels")
        floats = self.train_x[:4096].float() / 255
        self.mean = tuple(floats.mean(dim=(0, 2, 3)).tolist())
        self.std = tuple(floats.std(dim=(0, 2, 3)).clamp_min(1e-3).tolist())

    @property
    def pretrain_x(self) -> torch.Tensor:
        """Images for self-supervised training: the training split plus any unlabelled images."""
        if self.unlabeled_x is None:
            return self.train_x
        return torch.cat([self.train_x, self.unlabeled_x])

    @property
    def image_size(self) -> int:
        return self.train_x.shape[-1]

    @property
    def num_classes(self) -> int:
        return len(self.classes)

    @property
    def device(self) -> torch.device:
        return self.train_x.device

    def __repr__(self) -> str:
        extra = f", unlabeled={len(self.unlabeled_x)}" if self.unlabeled_x is not None else ""
        return (f"ImageData({self.name!r}, train={len(self.train_x)}, test={len(self.test_x)}{extra}, "
                f"size={self.image_size}, classes={self.num_classes}, device={self.device})")


def load(name: str, device: str | torch.device = "cpu", *, root: str | Path | None = None,
         download: bool = False, n_train: int | None = None, n_test: int | None = None,
         seed: int = 0, image_size: int | None = None) -> ImageData:
    """Load a dataset by name (or image-folder path) onto ``device``.

    ``n_train`` / ``n_test`` take the first images of each split (the toy dataset generates
    exactly that many). ``download`` lets torchvision fetch CIFAR/STL-10 into ``root``.
    ``image_size`` (default: 32 for the toy shapes, digits and folders, the native size of
    CIFAR and STL-10) draws the toy shapes at that side and resizes everything else to it.
    """
    if image_size is not None and image_size < 8:
        raise ValueError(f"image_size={image_size}: use at least 8 pixels "
                         "(the toy shapes need them to stay recognisable)")
    root = Path(root) if root is not None else DEFAULT_ROOT
    native, image_size = image_size, image_size or 32
    key = name.lower().replace("-", "").replace("_", "")
    if key in ("toy", "toyupright"):
        data = _toy(n_train or 8000, n_test or 2000, seed, image_size, key == "toyupright")
    elif key == "toygray":
        data = grayscale(_toy(n_train or 8000, n_test or 2000, seed, image_size, False), "toy_gray")
    elif key == "digits":
        data = load_digits(seed=seed, image_size=image_size)
    elif key in ("cifar10", "cifar100"):
        data = load_cifar(root, classes=10 if key == "cifar10" else 100, download=download)
    elif key == "stl10":
        data = load_stl10(root, download=download)
    elif Path(name).expanduser().is_dir():
        data = load_image_folder(Path(name).expanduser(), image_size=image_size, seed=seed)
    else:
        raise ValueError(f"unknown dataset {name!r}: use one of {', '.join(OFFLINE_DATASETS + ONLINE_DATASETS)} "
                         "or the path of an image folder (one subfolder per class)")
    if native is not None and data.image_size != native:
        data = resized(data, native)
    return _subset_to(data, device, n_train, n_test)


def _with_images(data: ImageData, transform, name: str | None = None) -> ImageData:
    """``data`` with ``transform`` applied to every image tensor, labels and factors kept."""
    def apply(x):
        return None if x is None else transform(x)

    return ImageData(name=name or data.name, classes=data.classes, train_x=apply(data.train_x), train_y=data.train_y,
                     test_x=apply(data.test_x), test_y=data.test_y, train_factors=data.train_factors,
                     test_factors=data.test_factors, unlabeled_x=apply(data.unlabeled_x))


def grayscale(data: ImageData, name: str) -> ImageData:
    """``data`` with every image turned to grey (ITU-R 601 luma in all three channels), labels and
    factors kept. On the toy shapes this removes the hue nuisance and keeps everything else (the
    factors still record the hue the shape was drawn in)."""
    def gray(x):
        luma = 0.299 * x[:, 0:1].float() + 0.587 * x[:, 1:2].float() + 0.114 * x[:, 2:3].float()
        return luma.round().clamp(0, 255).to(torch.uint8).expand(-1, 3, -1, -1).contiguous()

    return _with_images(data, gray, name)


def resized(data: ImageData, size: int) -> ImageData:
    """``data`` with every image resized to ``size x size`` (antialiased bilinear), labels and factors kept."""
    def resize(x):
        out = F.interpolate(x.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        return out.round().clamp(0, 255).to(torch.uint8)

    return _with_images(data, resize)


@functools.lru_cache(maxsize=4)
def _toy(n_train: int, n_test: int, seed: int, image_size: int, upright: bool) -> ImageData:
    """The toy shapes, generated once per process for each set of arguments: a chapter trains many
    runs on the same images, and drawing 5000 of them takes a second or two on a laptop. Callers
    get the same tensors, which nothing in the book modifies in place (views are new tensors)."""
    return make_toy(n_train, n_test, seed=seed, image_size=image_size, max_tilt=UPRIGHT_MAX_TILT if upright else None)


def _subset_to(data: ImageData, device, n_train, n_test) -> ImageData:
    def take(t, n):
        return t[:n].to(device) if n else t.to(device)

    return ImageData(
        name=data.name, classes=data.classes,
        train_x=take(data.train_x, n_train), train_y=take(data.train_y, n_train),
        test_x=take(data.test_x, n_test), test_y=take(data.test_y, n_test),
        train_factors={k: take(v, n_train) for k, v in data.train_factors.items()},
        test_factors={k: take(v, n_test) for k, v in data.test_factors.items()},
        unlabeled_x=None if data.unlabeled_x is None else data.unlabeled_x.to(device),
    )


# --------------------------------------------------------------------------- toy shapes

def _shape_mask(shape: int, u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """Inside-ness of toy shape number ``shape`` at local coordinates (u, v) in about [-1, 1]."""
    r = torch.sqrt(u ** 2 + v ** 2)
    m = torch.maximum(u.abs(), v.abs())
    if shape == 0:                                                          # disk
        return r < 0.9
    if shape == 1:                                                          # ring
        return (r < 0.95) & (r > 0.55)
    if shape == 2:                                                          # square
        return m < 0.75
    if shape == 3:                                                          # triangle, circumradius 1
        return r * torch.cos(torch.remainder(torch.atan2(v, u), 2 * math.pi / 3) - math.pi / 3) < 0.5
    if shape == 4:                                                          # cross
        return ((u.abs() < 0.28) & (v.abs() < 0.95)) | ((v.abs() < 0.28) & (u.abs() < 0.95))
    if shape == 5:                                                          # five-pointed star
        return r < 0.55 + 0.42 * torch.cos(5 * torch.atan2(v, u))
    if shape == 6:                                                          # half-disk
        return (r < 0.95) & (v > -0.1)
    if shape == 7:                                                          # square frame
        return (m < 0.9) & (m > 0.55)
    if shape == 8:                                                          # L
        return ((u > -0.8) & (u < -0.3) & (v.abs() < 0.85)) | ((v > 0.35) & (v < 0.85) & (u.abs() < 0.8))
    return (u.abs() < 0.85) & (((v - 0.45).abs() < 0.2) | ((v + 0.45).abs() < 0.2))  # two bars


def _hsv_to_rgb(h: torch.Tensor, s: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """(N,) hue, saturation, value in [0, 1] -> (N, 3) RGB."""
    k = torch.remainder(torch.tensor([5.0, 3.0, 1.0]) + h[:, None] * 6, 6)
    return v[:, None] - v[:, None] * s[:, None] * torch.clamp(torch.minimum(k, 4 - k), 0, 1)


def make_toy(n_train: int = 8000, n_test: int = 2000, *, seed: int = 0, image_size: int = 32,
             max_tilt: float | None = None) -> ImageData:
    """Ten shape classes under random position, scale, rotation, colours and background.

    Raw pixels are dominated by the nuisances (the colours of shape and background, where the
    shape sits), so a nearest-neighbour classifier on pixels is close to chance, while a
    network trained to be invariant to crops and colour changes can recognise the shape.
    The nuisances are kept in ``train_factors`` / ``test_factors``.

    Shapes are drawn at a uniformly random angle, so no image has an "up". With ``max_tilt``
    (radians) each shape is instead tilted by at most that much either way (the ``toy_upright``
    dataset); everything else is drawn from the same random stream as ``toy``.
    """
    g = torch.Generator().manual_seed(seed)
    n = n_train + n_test
    U = lambda lo, hi: lo + (hi - lo) * torch.rand(n, generator=g)  # noqa: E731
    label = torch.randint(0, len(TOY_CLASSES), (n,), generator=g)
    factors = {
        "x": U(-0.35, 0.35), "y": U(-0.35, 0.35), "scale": U(0.45, 0.7),
        "rotation": U(0, 2 * math.pi) if max_tilt is None else U(-max_tilt, max_tilt),
        "fg_hue": U(0, 1), "bg_hue": U(0, 1), "bg_value": U(0.15, 0.85),
    }
    # The shape is lighter or darker than the background by a clear margin, chosen at random.
    brighter = torch.rand(n, generator=g) < 0.5
    brighter = torch.where(factors["bg_value"] < 0.45, torch.ones_like(brighter), brighter)
    brighter = torch.where(factors["bg_value"] > 0.55, torch.zeros_like(brighter), brighter)
    gap = U(0.3, 0.5)
    factors["fg_value"] = torch.where(brighter, factors["bg_value"] + gap, factors["bg_value"] - gap).clamp(0.05, 1)
    # Discrete versions of the nuisances, for kNN probes of what the features kept (cookbook.evaluate.knn_scores):
    # the colours in six hue bins, the position in a 3 x 3 grid of cells, the size in three bins.
    factors["fg_hue_bin"] = (factors["fg_hue"] * 6).long().clamp_max(5)
    factors["bg_hue_bin"] = (factors["bg_hue"] * 6).long().clamp_max(5)
    cell = lambda v: ((v + 0.35) / 0.7 * 3).long().clamp(0, 2)  # noqa: E731
    factors["position_cell"] = 3 * cell(factors["y"]) + cell(factors["x"])
    factors["scale_bin"] = ((factors["scale"] - 0.45) / 0.25 * 3).long().clamp(0, 2)

    fine = 2 * image_size  # the shape's outline is drawn at twice the size and averaged down (anti-aliasing)
    fine_coords = (torch.arange(fine) + 0.5) / fine * 2 - 1
    yy, xx = torch.meshgrid(fine_coords, fine_coords, indexing="ij")
    coords = (torch.arange(image_size) + 0.5) / image_size * 2 - 1
    ys, xs = torch.meshgrid(coords, coords, indexing="ij")
    images = torch.empty(n, 3, image_size, image_size, dtype=torch.uint8)
    fg = _hsv_to_rgb(factors["fg_hue"], U(0.5, 1.0), factors["fg_value"])
    bg = _hsv_to_rgb(factors["bg_hue"], U(0.3, 1.0), factors["bg_value"])
    ramp_angle, ramp_depth = U(0, 2 * math.pi), U(0.0, 0.35)
    for shape in range(len(TOY_CLASSES)):
        for chunk in (label == shape).nonzero().squeeze(1).split(1024):  # bounded peak memory
            dx, dy = xx - factors["x"][chunk, None, None], yy - factors["y"][chunk, None, None]
            angle = factors["rotation"][chunk]
            c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
            scale = factors["scale"][chunk, None, None]
            mask = _shape_mask(shape, (c * dx + s * dy) / scale, (-s * dx + c * dy) / scale).float()
            mask = F.avg_pool2d(mask[:, None], 2)
            angle = ramp_angle[chunk, None, None]
            ramp = 1 - ramp_depth[chunk, None, None] * (0.5 + 0.5 * (torch.cos(angle) * xs + torch.sin(angle) * ys))
            pic = mask * fg[chunk, :, None, None] + (1 - mask) * bg[chunk, :, None, None] * ramp[:, None]
            images[chunk] = (pic.clamp(0, 1) * 255).round().to(torch.uint8)
    # Sensor noise, drawn in one go so the images do not depend on how they were chunked.
    noise = (0.04 * 255 * torch.randn(images.shape, generator=g)).round()
    images = (images.float() + noise).clamp(0, 255).to(torch.uint8)

    split = lambda t: (t[:n_train], t[n_train:])  # noqa: E731
    (train_x, test_x), (train_y, test_y) = split(images), split(label)
    return ImageData(
        name="toy" if max_tilt is None else "toy_upright", classes=TOY_CLASSES,
        train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y,
        train_factors={k: v[:n_train] for k, v in factors.items()},
        test_factors={k: v[n_train:] for k, v in factors.items()},
    )


# --------------------------------------------------------------------------- digits

def load_digits(*, seed: int = 0, image_size: int = 32, test_fraction: float = 0.2) -> ImageData:
    """scikit-learn's 1,797 handwritten 8x8 digits, upsampled and copied into three channels."""
    from sklearn.datasets import load_digits as sk_digits

    bunch = sk_digits()
    x = torch.from_numpy(bunch.images).float()[:, None] / 16.0
    x = F.interpolate(x, size=(image_size, image_size), mode="bilinear", align_corners=False)
    x = (x.clamp(0, 1) * 255).round().to(torch.uint8).expand(-1, 3, -1, -1).contiguous()
    y = torch.from_numpy(bunch.target).long()
    order = torch.randperm(len(y), generator=torch.Generator().manual_seed(seed))
    n_test = int(round(len(y) * test_fraction))
    test, train = order[:n_test], order[n_test:]
    return ImageData(name="digits", classes=tuple(str(d) for d in range(10)),
                     train_x=x[train], train_y=y[train], test_x=x[test], test_y=y[test])


# --------------------------------------------------------------------------- CIFAR / STL-10

def _unavailable(name: str, root: Path, reason: str) -> DatasetUnavailable:
    return DatasetUnavailable(
        f"{name} is not available: {reason}. Looked in {root}. "
        f"When online, pass download=True (CLI: --download) to fetch it; offline, use one of the "
        f"datasets that need no network: {', '.join(OFFLINE_DATASETS)}, or the path of an image folder.")


def _download(name: str, root: Path) -> None:
    import torchvision

    fetchers = {
        "cifar10": lambda: torchvision.datasets.CIFAR10(str(root), download=True),
        "cifar100": lambda: torchvision.datasets.CIFAR100(str(root), download=True),
        "stl10": lambda: torchvision.datasets.STL10(str(root), split="train+unlabeled", download=True),
    }
    try:
        fetchers[name]()
    except Exception as err:  # URLError, HTTPError, checksum errors: all mean "not here"
        raise _unavailable(name, root, f"the download failed ({type(err).__name__}: {err})") from err


def load_cifar(root: Path, *, classes: int = 10, download: bool = False) -> ImageData:
    """CIFAR-10/100 from the python pickles that torchvision downloads."""
    name = f"cifar{classes}"
    folder = root / ("cifar-10-batches-py" if classes == 10 else "cifar-100-python")
    train_files = [f"data_batch_{i}" for i in range(1, 6)] if classes == 10 else ["train"]
    test_files = ["test_batch"] if classes == 10 else ["test"]
    meta_file, label_key, names_key = (("batches.meta", b"labels", b"label_names") if classes == 10
                                       else ("meta", b"fine_labels", b"fine_label_names"))
    needed = [folder / f for f in train_files + test_files + [meta_file]]
    if not all(p.exists() for p in needed):
        if not download:
            missing = ", ".join(p.name for p in needed if not p.exists())
            raise _unavailable(name, root, f"missing {missing}")
        _download(name, root)

    def read(files):
        xs, ys = [], []
        for f in files:
            with open(folder / f, "rb") as fh:
                batch = pickle.load(fh, encoding="bytes")
            xs.append(np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32))
            ys.append(np.asarray(batch[label_key], dtype=np.int64))
        return torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(ys))

    train_x, train_y = read(train_files)
    test_x, test_y = read(test_files)
    with open(folder / meta_file, "rb") as fh:
        names = tuple(n.decode() for n in pickle.load(fh, encoding="bytes")[names_key])
    return ImageData(name=name, classes=names, train_x=train_x, train_y=train_y, test_x=test_x, test_y=test_y)


def load_stl10(root: Path, *, download: bool = False, unlabeled: bool = True) -> ImageData:
    """STL-10 (96x96) from its binary files; the 100k unlabelled images join pre-training."""
    folder = root / "stl10_binary"
    files = ["train_X.bin", "train_y.bin", "test_X.bin", "test_y.bin", "class_names.txt"]
    if unlabeled:
        files.append("unlabeled_X.bin")
    if not all((folder / f).exists() for f in files):
        if not download:
            missing = ", ".join(f for f in files if not (folder / f).exists())
            raise _unavailable("stl10", root, f"missing {missing}")
        _download("stl10", root)

    def images(f):  # stored column-major: (N, 3, W, H)
        raw = np.fromfile(folder / f, dtype=np.uint8).reshape(-1, 3, 96, 96)
        return torch.from_numpy(raw.transpose(0, 1, 3, 2).copy())

    def labels(f):
        return torch.from_numpy(np.fromfile(folder / f, dtype=np.uint8).astype(np.int64) - 1)

    names = tuple((folder / "class_names.txt").read_text().split())
    return ImageData(name="stl10", classes=names,
                     train_x=images("train_X.bin"), train_y=labels("train_y.bin"),
                     test_x=images("test_X.bin"), test_y=labels("test_y.bin"),
                     unlabeled_x=images("unlabeled_X.bin") if unlabeled else None)


# --------------------------------------------------------------------------- image folders

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
# What PIL raises for a file it cannot decode: OSError (UnidentifiedImageError for a file that is
# no image at all, "image file is truncated" for a cut-off one), and SyntaxError or ValueError
# from a broken chunk inside a format plugin.
UNREADABLE_IMAGE_ERRORS = (OSError, SyntaxError, ValueError)
# How many of the skipped files a warning names; the rest are only counted.
SKIPPED_NAMED = 3


def _read_folder(folder: Path, classes: list[str], image_size: int):
    """Images and labels of ``folder/<class>/...``, and the image files that could not be decoded.

    An undecodable file is skipped, so that one bad download does not lose the whole folder;
    a class (or a folder) whose every file is undecodable is an error, since skipping it would
    silently change the classes.
    """
    from PIL import Image

    xs, ys, skipped, dead_classes = [], [], [], []
    for index, cls in enumerate(classes):
        paths = [p for p in sorted((folder / cls).rglob("*")) if p.suffix.lower() in IMAGE_SUFFIXES]
        read_before = len(xs)
        for path in paths:
            try:
                with Image.open(path) as im:
                    # convert() decodes every pixel, so a truncated file fails here, where it is
                    # caught, and not in the crop below.
                    im = im.convert("RGB")
            except UNREADABLE_IMAGE_ERRORS:
                skipped.append(path)
                continue
            side = min(im.size)  # centre square crop, then resize
            left, top = (im.width - side) // 2, (im.height - side) // 2
            im = im.crop((left, top, left + side, top + side)).resize((image_size, image_size), Image.BILINEAR)
            xs.append(torch.from_numpy(np.asarray(im, dtype=np.uint8).copy()).permute(2, 0, 1))
            ys.append(index)
        if paths and len(xs) == read_before:
            dead_classes.append(cls)
    if skipped and not xs:
        raise ValueError(f"{folder}: none of its {len(skipped)} image files could be decoded (the first is "
                         f"{skipped[0]}); replace them with real images (an unfetched Git LFS file or an "
                         f"interrupted download looks like this)")
    if dead_classes:
        raise ValueError(f"{folder / dead_classes[0]}: none of the image files of class {dead_classes[0]!r} "
                         f"could be decoded; replace them with real images or remove the class folder")
    return xs, ys, skipped


def _warn_skipped(path: Path, skipped: list[Path]) -> None:
    named = ", ".join(str(p.absolute()) for p in skipped[:SKIPPED_NAMED])
    more = f" and {len(skipped) - SKIPPED_NAMED} more" if len(skipped) > SKIPPED_NAMED else ""
    warnings.warn(f"{path}: skipped {len(skipped)} image file(s) that could not be decoded: {named}{more}; "
                  f"replace or delete them", stacklevel=3)


def load_image_folder(path: Path, *, image_size: int = 32, seed: int = 0, test_fraction: float = 0.2) -> ImageData:
    """A folder with one subfolder per class, or ``train/`` and ``test/`` (or ``val/``) folders of those.

    Files that cannot be decoded are skipped with one warning that counts and names them.
    """
    split_dirs = [path / "train", next((path / d for d in ("test", "val") if (path / d).is_dir()), None)]
    if split_dirs[0].is_dir() and split_dirs[1] is not None:
        classes = sorted(d.name for d in split_dirs[0].iterdir() if d.is_dir())
        (trx, tr_y, tr_skipped), (tex, te_y, te_skipped) = (_read_folder(d, classes, image_size) for d in split_dirs)
        skipped = tr_skipped + te_skipped
    else:
        classes = sorted(d.name for d in path.iterdir() if d.is_dir())
        xs, ys, skipped = _read_folder(path, classes, image_size)
        order = torch.randperm(len(xs), generator=torch.Generator().manual_seed(seed)).tolist()
        n_test = max(1, int(round(len(xs) * test_fraction))) if len(xs) > 1 else 0
        tex, te_y = [xs[i] for i in order[:n_test]], [ys[i] for i in order[:n_test]]
        trx, tr_y = [xs[i] for i in order[n_test:]], [ys[i] for i in order[n_test:]]
    if skipped:
        _warn_skipped(path, skipped)
    if not classes or not trx or not tex:
        raise ValueError(f"{path} holds no usable images: expected one subfolder per class with image files "
                         f"({', '.join(sorted(IMAGE_SUFFIXES))}), at least two images in all")
    return ImageData(name=path.name, classes=tuple(classes),
                     train_x=torch.stack(trx), train_y=torch.tensor(tr_y),
                     test_x=torch.stack(tex), test_y=torch.tensor(te_y))
