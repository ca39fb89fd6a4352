"""The data of a one-shot search: the training images split in two halves, one for the
weights and one for the architecture (the bilevel problem)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch
from torch.utils.data import DataLoader, Subset

from nascourse import image_data
from nascourse._checks import check_choice, check_int, check_sequence, check_type

#: Data sets :func:`search_data` understands (both CIFAR-10, hence ten classes).
DATASETS: tuple[str, ...] = ("cifar10-subset", "cifar10")
NUM_CLASSES = 10
#: The chapter's data: 1,000 of the shipped CIFAR-10 training images (500 for the weights,
#: 500 for the architecture) at 16x16 pixels, in batches of 32.
LAPTOP_DATA: dict[str, Any] = {"dataset": "cifar10-subset", "n_images": 1000, "image_size": 16, "batch_size": 32}
#: The data of the paper settings: full CIFAR-10 (25,000 + 25,000 images) in batches of 64.
PAPER_DATA: dict[str, Any] = {"dataset": "cifar10", "batch_size": 64}


class SearchData(NamedTuple):
    """The bilevel split: ``train`` fits the weights, ``valid`` the architecture."""

    train: DataLoader
    valid: DataLoader


def search_data(dataset: str = "cifar10-subset", n_images: int | None = None, image_size: int | None = None,
                batch_size: int = 64, seed: int = 0, root: str | Path = "data",
                download: bool = False) -> SearchData:
    """Split the training images of ``dataset`` into two equal, shuffled halves.

    ``'cifar10-subset'`` are the 3,000 shipped training images, ``'cifar10'`` the 50,000 of
    full CIFAR-10 on disk under ``root`` (fetched first with ``download=True``), split
    25,000 + 25,000 as in DARTS. ``n_images`` keeps only that many images (seeded draw)
    before halving; ``image_size`` downsamples the shipped images (anti-aliased), which
    makes a CPU run several times faster. Both loaders shuffle with generators seeded from
    ``seed``, so a run sees the same batches every time.
    """
    check_choice("dataset", dataset, DATASETS)
    batch_size = check_int("batch_size", batch_size)
    n_images = check_int("n_images", n_images, allow_none=True)
    image_size = check_int("image_size", image_size, allow_none=True)
    full = image_data.get_dataset(dataset, "train", root, download, image_size)
    total = len(full)
    n_images = total if n_images is None else n_images
    if not 2 <= n_images <= total:
        raise ValueError(f"n_images must be between 2 and {total} (the training images of {dataset!r}), "
                         f"got {n_images}")
    order = np.random.default_rng(seed).permutation(total)[:n_images]
    half = n_images // 2
    loaders = []
    for offset, part in enumerate((order[:half], order[half:2 * half])):
        loaders.append(DataLoader(Subset(full, part.tolist()), batch_size=batch_size, shuffle=True,
                                  generator=torch.Generator().manual_seed(seed + offset)))
    return SearchData(*loaders)


def check_search_data(data: Any) -> tuple[DataLoader, DataLoader]:
    """The two loaders of ``data``, a ``(train, valid)`` pair of DataLoaders such as
    :func:`search_data` returns, each yielding at least one batch."""
    check_type("data", data, tuple, "a (train, valid) pair of DataLoaders such as search_data() returns")
    train, valid = check_sequence("data", data[:2], DataLoader, "DataLoader", min_length=2)
    if len(train) == 0 or len(valid) == 0:
        raise ValueError("both loaders of data must yield at least one batch")
    return train, valid
