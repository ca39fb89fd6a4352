"""Tests of the shipped data files: present, intact, reproducible from the raw tables."""

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from nascourse import data

ROOT = Path(__file__).resolve().parents[1]
RAW = ROOT.parent / "shared" / "data"


@pytest.fixture
def data_copy(tmp_path, monkeypatch):
    """Point nascourse.data at a private copy of the data folder."""
    copy = tmp_path / "data"
    shutil.copytree(data.DATA_DIR, copy, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    monkeypatch.setattr(data, "DATA_DIR", copy)
    monkeypatch.setattr(data, "SUMS_FILE", copy / "SHA256SUMS")
    data.checksums.cache_clear()
    data._verified.cache_clear()
    yield copy
    data.checksums.cache_clear()
    data._verified.cache_clear()


def test_every_shipped_file_matches_its_checksum():
    assert len(data.names()) == 11
    for name in data.names():
        assert data.path(name).stat().st_size > 0


def test_package_data_stays_within_budget():
    assert sum(data.path(n).stat().st_size for n in data.names()) <= 25 * 1024 * 1024


def test_provenance_note_covers_every_file():
    note = (data.DATA_DIR / "PROVENANCE.md").read_text()
    for name in data.names():
        assert f"`{name}`" in note, name


def test_corrupted_file_is_reported_with_its_name(data_copy):
    target = data_copy / "nb201.csv.gz"
    raw = bytearray(target.read_bytes())
    raw[100] ^= 0xFF
    target.write_bytes(bytes(raw))
    with pytest.raises(data.DataFileError, match=r"nb201\.csv\.gz is corrupted.*git checkout"):
        data.path("nb201.csv.gz")
    assert data.path("zc_cifar10.csv.gz").exists()


def test_missing_file_is_reported_with_its_name(data_copy):
    (data_copy / "robustness.csv.gz").unlink()
    with pytest.raises(data.DataFileError, match=r"robustness\.csv\.gz is missing"):
        data.path("robustness.csv.gz")


def test_missing_checksum_list(data_copy):
    (data_copy / "SHA256SUMS").unlink()
    with pytest.raises(data.DataFileError, match="SHA256SUMS"):
        data.path("nb201.csv.gz")


def test_unknown_file_names_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown data file 'nb202.csv'.*nb201\.csv\.gz"):
        data.path("nb202.csv")
    with pytest.raises(TypeError):
        data.path(Path("nb201.csv.gz"))


def test_images_are_real_cifar10_with_both_splits():
    with np.load(data.path("cifar10_images.npz"), allow_pickle=False) as z:
        x, y, split, orig = z["x"], z["y"], z["split"], z["orig_index"]
    assert x.shape == (4000, 32, 32, 3) and x.dtype == np.uint8
    assert np.bincount(split).tolist() == [3000, 1000]
    # published facts about CIFAR-10: data_batch_1 labels start 6 9 9 4 1 1 2 7 8 3,
    # test_batch labels start 3 8 8 0 6 6 1 6 3 1, and image 0 of data_batch_1 (CHW
    # flattened) starts 59 43 50.
    assert y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y[split == 1][:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert x[0].transpose(2, 0, 1).reshape(-1)[:3].tolist() == [59, 43, 50]
    assert orig[split == 1].tolist() == list(range(1000))


@pytest.mark.skipif(not RAW.is_dir(), reason="the raw tables (../shared/data) are not beside this clone")
def test_build_script_reproduces_the_shipped_files(tmp_path):
    """Maintainers' check: rebuilding from the raw tables gives byte-identical files."""
    work = tmp_path / "repo"
    shutil.copytree(ROOT, work, ignore=shutil.ignore_patterns(
        "_build", ".venv", ".git", "node_modules", "*.npz", "*.gz", "_static"))
    subprocess.run([sys.executable, "scripts/build_package_data.py", "--raw", str(RAW)],
                   cwd=work, check=True, capture_output=True, text=True, env={"PYTHONPATH": str(work), "PATH": ""})
    assert (work / "nascourse/data/SHA256SUMS").read_text() == data.SUMS_FILE.read_text()
