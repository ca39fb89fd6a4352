"""Tests of the image loaders: the shipped CIFAR-10 images, the digits, full CIFAR-10's errors."""

import sys
import types

import numpy as np
import pytest
import torch

from nascourse import data, image_data

# Class counts of images 0..999 of CIFAR-10's official test_batch.
TEST_BATCH_FIRST_1000_COUNTS = [103, 89, 100, 103, 90, 86, 112, 102, 106, 109]


# ----- the shipped CIFAR-10 images ---------------------------------------------------------
@pytest.mark.parametrize("split, n", [("train", 3000), ("test", 1000), ("all", 4000)])
def test_cifar10_subset_shapes_and_dtypes(split, n):
    x, y = image_data.load_cifar10_subset(split)
    assert x.shape == (n, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    assert y.min() == 0 and y.max() == 9


def test_cifar10_subset_is_normalised():
    x, _ = image_data.load_cifar10_subset("train")
    mean, std = x.mean((0, 2, 3)), x.std((0, 2, 3))
    assert torch.all(mean.abs() < 0.05), mean
    assert torch.all((std - 1).abs() < 0.05), std


def test_cifar10_subset_keeps_the_pixels_in_channel_first_order():
    with np.load(data.path("cifar10_images.npz"), allow_pickle=False) as f:
        raw, split = f["x"], f["split"]
    x, _ = image_data.load_cifar10_subset("test")
    mean = torch.tensor(image_data.CIFAR10_MEAN).view(3, 1, 1)
    std = torch.tensor(image_data.CIFAR10_STD).view(3, 1, 1)
    pixels = (x[7] * std + mean) * 255
    expected = torch.from_numpy(raw[split == 1][7]).permute(2, 0, 1).float()
    assert torch.allclose(pixels, expected, atol=1e-3)


def test_cifar10_subset_at_a_smaller_size_averages_the_pixels():
    full, labels = image_data.load_cifar10_subset("test")
    small, small_labels = image_data.load_cifar10_subset("test", size=16)
    assert small.shape == (1000, 3, 16, 16) and torch.equal(labels, small_labels)
    # halving the side with anti-aliasing: close to the mean of each 2x2 block
    blocks = full.unflatten(2, (16, 2)).unflatten(4, (16, 2)).mean((3, 5))
    assert (small - blocks).abs().mean() < 0.1 * blocks.abs().mean()
    with pytest.raises(ValueError, match="size"):
        image_data.load_cifar10_subset("train", size=0)
    with pytest.raises(TypeError, match="size"):
        image_data.load_cifar10_subset("train", size=16.0)


def test_cifar10_test_split_has_the_known_class_counts():
    _, y = image_data.load_cifar10_subset("test")
    assert torch.bincount(y, minlength=10).tolist() == TEST_BATCH_FIRST_1000_COUNTS
    assert len(image_data.CIFAR10_CLASSES) == 10


# ----- digits ------------------------------------------------------------------------------
@pytest.mark.parametrize("split, n", [("train", 1397), ("test", 400), ("all", 1797)])
def test_digits_shapes(split, n):
    x, y = image_data.load_digits(split)
    assert x.shape == (n, 3, 32, 32) and x.dtype == torch.float32
    assert y.shape == (n,) and y.dtype == torch.int64
    assert set(y.tolist()) == set(range(10))
    assert torch.equal(x[:, 0], x[:, 2])


def test_digits_are_standardised_and_test_split_is_stratified():
    x, _ = image_data.load_digits("train")
    assert abs(x.mean().item()) < 1e-4 and abs(x.std().item() - 1) < 1e-3
    _, y = image_data.load_digits("test")
    assert torch.bincount(y).min() >= 39 and torch.bincount(y).max() <= 41


def test_digits_size_option_and_errors():
    assert image_data.load_digits("test", size=16)[0].shape == (400, 3, 16, 16)
    with pytest.raises(ValueError, match="size"):
        image_data.load_digits("train", size=4)
    with pytest.raises(TypeError, match="size"):
        image_data.load_digits("train", size=16.0)


# ----- get_dataset and loaders -------------------------------------------------------------
def test_get_dataset_dispatches():
    ds = image_data.get_dataset("cifar10-subset", "test")
    assert len(ds) == 1000 and ds[0][0].shape == (3, 32, 32)
    assert len(image_data.get_dataset("digits", "train")) == 1397
    assert image_data.get_dataset("digits", "test", image_size=8)[0][0].shape == (3, 8, 8)
    assert image_data.get_loaders("cifar10-subset", n_train=10, image_size=12).train.dataset[0][0].shape == (3, 12, 12)
    with pytest.raises(ValueError, match="image_size=16 is only available"):
        image_data.get_dataset("cifar10", image_size=16)


def test_bad_names_and_splits():
    with pytest.raises(ValueError, match=r"mnist.*'cifar10-subset', 'digits', 'cifar10'"):
        image_data.get_dataset("mnist")
    with pytest.raises(TypeError):
        image_data.get_dataset(None)
    with pytest.raises(ValueError, match="valid.*'train', 'test', 'all'"):
        image_data.load_cifar10_subset("valid")
    with pytest.raises(ValueError, match="'train', 'test'"):
        image_data.get_dataset("cifar10", "all")


def _indices(loader):
    return list(loader.dataset.indices)


def test_loader_sizes_and_disjoint_split():
    loaders = image_data.cifar10_loaders(batch_size=100)
    assert len(loaders.train.dataset) == 2250 and len(loaders.valid.dataset) == 750
    assert len(loaders.test.dataset) == 1000 and len(loaders.test) == 10
    assert not set(_indices(loaders.train)) & set(_indices(loaders.valid))
    small = image_data.cifar10_loaders(batch_size=32, n_train=300, n_valid=0)
    assert small.valid is None and len(small.train.dataset) == 300
    x, y = next(iter(small.train))
    assert x.shape == (32, 3, 32, 32) and y.dtype == torch.int64


def test_validation_set_does_not_depend_on_n_train():
    a = image_data.cifar10_loaders(n_train=100, n_valid=200, seed=3)
    b = image_data.cifar10_loaders(n_train=500, n_valid=200, seed=3)
    assert _indices(a.valid) == _indices(b.valid)


def test_seeded_loaders_are_reproducible():
    def first_epoch(seed, **kwargs):
        loaders = image_data.get_loaders("digits", batch_size=50, n_train=200, n_valid=100, seed=seed, **kwargs)
        return _indices(loaders.valid), [y.tolist() for _, y in loaders.train], loaders

    va, ea, loaders = first_epoch(0)
    vb, eb, _ = first_epoch(0)
    vc, ec, _ = first_epoch(1)
    assert va == vb and ea == eb
    assert va != vc and ea != ec
    assert [y.tolist() for _, y in loaders.train] != ea  # a new epoch reshuffles


def test_augmentation_is_seeded_and_changes_images():
    def batch(seed, augment):
        loaders = image_data.cifar10_loaders(batch_size=16, n_train=64, n_valid=0, seed=seed, augment=augment)
        return next(iter(loaders.train))

    (xa, ya), (xb, yb) = batch(0, True), batch(0, True)
    xc, yc = batch(0, False)
    assert torch.equal(xa, xb) and torch.equal(ya, yc)
    assert xa.shape == xc.shape and not torch.equal(xa, xc)


def test_bad_loader_arguments():
    with pytest.raises(ValueError, match="3000 training images"):
        image_data.cifar10_loaders(n_train=2900, n_valid=200)
    with pytest.raises(ValueError, match="batch_size"):
        image_data.cifar10_loaders(batch_size=0)
    with pytest.raises(ValueError, match="n_valid"):
        image_data.cifar10_loaders(n_valid=-1)
    with pytest.raises(TypeError, match="n_train"):
        image_data.cifar10_loaders(n_train=0.5)


# ----- full CIFAR-10 -----------------------------------------------------------------------
def test_full_cifar10_without_torchvision_says_how_to_get_it(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torchvision", None)  # makes `import torchvision` fail
    with pytest.raises(ImportError, match="pip install torchvision"):
        image_data.get_dataset("cifar10", root=tmp_path)


def test_full_cifar10_missing_on_disk_says_how_to_get_it(monkeypatch, tmp_path):
    fake = types.ModuleType("torchvision")
    fake.datasets, fake.transforms = types.SimpleNamespace(), types.SimpleNamespace()
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    with pytest.raises(FileNotFoundError, match="download=True"):
        image_data.load_cifar10(tmp_path / "nowhere")


# ----- names ---------------------------------------------------------------------------------
def test_old_module_name_is_the_same_module():
    import nascourse
    from nascourse import datasets
    from nascourse.datasets import RandomCropFlip

    assert datasets is image_data is nascourse.datasets and RandomCropFlip is image_data.RandomCropFlip
    assert "nascourse.benchmarks" in image_data.__doc__ and "nascourse.data" in image_data.__doc__
    assert "nascourse.benchmarks" in data.__doc__ and "nascourse.image_data" in data.__doc__


def test_a_new_tensor_set_is_one_registered_function(monkeypatch):
    def tiny(split="train", size=32):
        n = 6 if split == "train" else 2
        return torch.zeros(n, 3, size, size), torch.arange(n) % 2

    monkeypatch.setattr(image_data, "TENSOR_SETS", image_data.Registry("image data set"))
    monkeypatch.setattr(image_data, "DATASETS", ("tiny",))
    image_data.TENSOR_SETS.add("tiny", tiny)
    loaders = image_data.get_loaders("tiny", batch_size=2, n_valid=2, image_size=4)
    assert len(loaders.train.dataset) == 4 and loaders.test.dataset[0][0].shape == (3, 4, 4)
    assert set(image_data.TENSOR_SETS.names) <= set(image_data.DATASETS)
