"""The image data sets and their torch loaders, for the live experiments.

The benchmark tables are in :mod:`nascourse.benchmarks`; the shipped files behind both,
with their checksums, in :mod:`nascourse.data`. Chapter 02 trains a cell on these images;
chapters 04 and 05 reuse them for one-shot search and zero-cost proxies. (Old name:
``nascourse.datasets``, kept as an alias.)

Three sources, all as normalised float tensors of shape ``(N, 3, 32, 32)`` so that the
NAS-Bench-201 network runs on each of them unchanged:

- ``'cifar10-subset'``: 4,000 real CIFAR-10 images shipped with the package (3,000 from
  the official training set, 1,000 from the test set), always available;
- ``'digits'``: scikit-learn's 1,797 handwritten digits, upsampled from 8x8 and copied
  to three channels, a fast sanity check;
- ``'cifar10'``: the full CIFAR-10 through torchvision, when it is on disk.

:func:`get_loaders` splits the training images into a training and a validation part (the
search signal) and keeps the test images apart (the final report), with seeded shuffling.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Dataset, Subset, TensorDataset

from nascourse import data
from nascourse._checks import check_choice, check_int
from nascourse.registry import Registry

SPLITS: tuple[str, ...] = ("train", "test", "all")
CIFAR10_CLASSES: tuple[str, ...] = ("airplane", "automobile", "bird", "cat", "deer",
                                    "dog", "frog", "horse", "ship", "truck")
#: Per-channel mean and standard deviation of the 50,000 CIFAR-10 training images.
CIFAR10_MEAN: tuple[float, float, float] = (0.4914, 0.4822, 0.4465)
CIFAR10_STD: tuple[float, float, float] = (0.2470, 0.2435, 0.2616)
#: The digits kept for testing: a fixed, class-stratified draw, the same for every seed.
DIGITS_N_TEST = 400


def _normalise(images: torch.Tensor, mean: tuple[float, ...], std: tuple[float, ...]) -> torch.Tensor:
    shape = (1, -1, 1, 1)
    return (images - torch.tensor(mean).view(shape)) / torch.tensor(std).view(shape)


# ----- the shipped CIFAR-10 images ---------------------------------------------------------
@cache
def _cifar10_arrays() -> dict[str, np.ndarray]:
    with np.load(data.path("cifar10_images.npz"), allow_pickle=False) as f:
        return {key: f[key] for key in f.files}


def load_cifar10_subset(split: str = "train", size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """The shipped CIFAR-10 images of ``split`` ('train': 3,000, 'test': 1,000, 'all').

    Returns ``(images, labels)``: float32 ``(N, 3, size, size)`` normalised with
    :data:`CIFAR10_MEAN` and :data:`CIFAR10_STD`, and int64 labels 0..9. A ``size`` other
    than 32 resamples the normalised images bilinearly (anti-aliased): smaller images make
    a network several times faster on a CPU (the live searches of chapters 03 and 04).
    """
    check_choice("split", split, SPLITS)
    size = check_int("size", size)
    arrays = _cifar10_arrays()
    keep = np.ones(len(arrays["y"]), dtype=bool) if split == "all" else arrays["split"] == SPLITS.index(split)
    images = torch.from_numpy(arrays["x"][keep]).permute(0, 3, 1, 2).float().div(255)
    images = _normalise(images, CIFAR10_MEAN, CIFAR10_STD)
    if size != images.shape[-1]:
        images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False, antialias=True)
    return images, torch.from_numpy(arrays["y"][keep]).long()


# ----- scikit-learn digits -----------------------------------------------------------------
@cache
def _digits_split() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits as sklearn_digits
    from sklearn.model_selection import train_test_split

    x, y = sklearn_digits(return_X_y=True)
    test = np.zeros(len(y), dtype=bool)
    _, test_rows = train_test_split(np.arange(len(y)), test_size=DIGITS_N_TEST, stratify=y, random_state=0)
    test[test_rows] = True
    return x.reshape(-1, 1, 8, 8) / 16.0, y, test


def load_digits(split: str = "train", size: int = 32) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's handwritten digits as ``size`` x ``size`` three-channel images.

    The 8x8 images are upsampled bilinearly, copied to three identical channels (the
    network's stem expects RGB) and standardised with the training split's statistics.
    ``split``: 'train' (1,397 images), 'test' (a fixed stratified 400) or 'all'.
    """
    check_choice("split", split, SPLITS)
    size = check_int("size", size, minimum=8)      # the digits are 8x8
    x, y, test = _digits_split()
    images = F.interpolate(torch.from_numpy(x).float(), size=(size, size), mode="bilinear",
                           align_corners=False)
    train = torch.from_numpy(~test)
    mean, std = images[train].mean().item(), images[train].std().item()
    keep = {"train": train, "test": ~train, "all": torch.ones_like(train)}[split]
    images = ((images[keep] - mean) / std).expand(-1, 3, -1, -1).contiguous()
    return images, torch.from_numpy(y)[keep].long()


# ----- the shipped data sets by name ----------------------------------------------------------
#: The data sets held in memory: name -> ``loader(split, size)`` returning ``(images, labels)``.
#: A new one is a function of that signature registered in one line.
TENSOR_SETS: Registry = Registry("image data set")
TENSOR_SETS.add("cifar10-subset", load_cifar10_subset)
TENSOR_SETS.add("digits", load_digits)
#: Data set names understood by :func:`get_dataset` and :func:`get_loaders`.
DATASETS: tuple[str, ...] = (*TENSOR_SETS.names, "cifar10")


# ----- full CIFAR-10 through torchvision ---------------------------------------------------
def load_cifar10(root: str | Path = "data", split: str = "train", download: bool = False) -> Dataset:
    """The full CIFAR-10 ``split`` ('train': 50,000, 'test': 10,000) from ``root`` via torchvision.

    Images come out normalised like :func:`load_cifar10_subset`. Nothing is fetched unless
    ``download=True``; a missing torchvision or data set raises an error saying what to do.
    """
    check_choice("split", split, ("train", "test"))
    try:
        from torchvision import datasets as tv_datasets
        from torchvision import transforms
    except ImportError as err:
        raise ImportError(
            "Full CIFAR-10 needs torchvision, which is not installed (or does not import beside this "
            "torch). Install the build that matches your torch, e.g. `pip install torchvision` on Colab, "
            "or use get_dataset('cifar10-subset'), which ships with the course."
        ) from err
    root = Path(root).expanduser()
    if not download and not (root / "cifar-10-batches-py").is_dir():
        raise FileNotFoundError(
            f"CIFAR-10 is not in {root} (expected the folder {root / 'cifar-10-batches-py'}). "
            f"Call load_cifar10(root={str(root)!r}, download=True) once to fetch it (~170 MB), "
            "or use get_dataset('cifar10-subset'), which ships with the course."
        )
    transform = transforms.Compose([transforms.ToTensor(), transforms.Normalize(CIFAR10_MEAN, CIFAR10_STD)])
    try:
        return tv_datasets.CIFAR10(str(root), train=split == "train", download=download, transform=transform)
    except RuntimeError as err:
        raise FileNotFoundError(f"CIFAR-10 in {root} is incomplete or corrupted ({err}); delete the folder "
                                "and call load_cifar10(root, download=True).") from err


# ----- one entry point -----------------------------------------------------------------------
def get_dataset(name: str, split: str = "train", root: str | Path = "data",
                download: bool = False, image_size: int | None = None) -> Dataset:
    """Data set ``name`` (one of :data:`DATASETS`) as a torch ``Dataset`` of (image, label).

    ``image_size`` resamples the shipped data sets (default: 32x32, see
    :func:`load_cifar10_subset` and :func:`load_digits`); full CIFAR-10 is read as it is.
    """
    check_choice("dataset name", name, DATASETS)
    if name == "cifar10":
        if image_size not in (None, 32):
            raise ValueError(f"image_size={image_size!r} is only available for the shipped data sets "
                             f"'cifar10-subset' and 'digits'; full CIFAR-10 is read at 32x32")
        return load_cifar10(root, split, download)
    return TensorDataset(*TENSOR_SETS.get(name)(split, size=32 if image_size is None else image_size))


class Loaders(NamedTuple):
    """Training, validation (``None`` when ``n_valid=0``) and test loaders."""

    train: DataLoader
    valid: DataLoader | None
    test: DataLoader


class RandomCropFlip:
    """Batch augmentation: random shifts of up to ``pad`` pixels and horizontal flips,
    drawn from its own seeded generator (used as a DataLoader ``collate_fn``)."""

    def __init__(self, seed: int = 0, pad: int = 4):
        self.pad = pad
        self.generator = torch.Generator().manual_seed(seed)

    def __call__(self, batch: list[tuple[torch.Tensor, torch.Tensor]]) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = torch.utils.data.default_collate(batch)
        n, _, h, w = images.shape
        padded = F.pad(images, [self.pad] * 4)
        dy, dx = torch.randint(0, 2 * self.pad + 1, (2, n), generator=self.generator).tolist()
        images = torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])
        flip = torch.rand(n, generator=self.generator) < 0.5
        return torch.where(flip.view(-1, 1, 1, 1), images.flip(-1), images), labels


def _count(name: str, value: int | None, default: int) -> int:
    value = check_int(name, value, minimum=0, allow_none=True)
    return default if value is None else value


def get_loaders(name: str = "cifar10-subset", batch_size: int = 64, n_train: int | None = None,
                n_valid: int | None = None, seed: int = 0, augment: bool = False, num_workers: int = 0,
                root: str | Path = "data", download: bool = False, image_size: int | None = None) -> Loaders:
    """Seeded DataLoaders for data set ``name``.

    The training images are shuffled by ``seed``; the first ``n_valid`` become the
    validation set (default: a quarter; 0 gives no validation loader) and the next
    ``n_train`` the training set (default: all the rest). The test loader holds the data set's test split.
    Training batches are shuffled by a generator seeded with ``seed``, so the same seed
    gives the same batches (:func:`nascourse.train.train` restarts it with its own seed);
    ``augment`` adds random crops and flips to them. ``image_size`` resamples the shipped
    data sets (:func:`get_dataset`).
    """
    batch_size = check_int("batch_size", batch_size)
    train_set = get_dataset(name, "train", root, download, image_size)
    test_set = get_dataset(name, "test", root, download, image_size)
    total = len(train_set)
    n_valid = _count("n_valid", n_valid, total // 4)
    n_train = _count("n_train", n_train, total - n_valid)
    if n_train < 1 or n_train + n_valid > total:
        raise ValueError(f"{name!r} has {total} training images: cannot take n_train={n_train} (at least 1) "
                         f"plus n_valid={n_valid}")
    order = np.random.default_rng(seed).permutation(total)
    collate = RandomCropFlip(seed) if augment else None
    train = DataLoader(Subset(train_set, order[n_valid:n_valid + n_train].tolist()), batch_size=batch_size,
                       shuffle=True, generator=torch.Generator().manual_seed(seed), collate_fn=collate,
                       num_workers=num_workers)
    valid = None
    if n_valid:
        valid = DataLoader(Subset(train_set, order[:n_valid].tolist()),
                           batch_size=batch_size, num_workers=num_workers)
    return Loaders(train, valid, DataLoader(test_set, batch_size=batch_size, num_workers=num_workers))


def cifar10_loaders(batch_size: int = 64, n_train: int | None = None, n_valid: int | None = None,
                    seed: int = 0, augment: bool = False, num_workers: int = 0) -> Loaders:
    """:func:`get_loaders` for the shipped CIFAR-10 images (3,000 to split, 1,000 to test)."""
    return get_loaders("cifar10-subset", batch_size, n_train, n_valid, seed, augment, num_workers)
