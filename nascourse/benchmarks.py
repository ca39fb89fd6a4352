"""The benchmark tables (published accuracies, proxies, costs of architectures) as DataFrames.

The image data sets for live training are in :mod:`nascourse.image_data`; the shipped
files behind both, with their checksums, in :mod:`nascourse.data`. Every chapter reads
these tables; chapter 01 introduces them and ``nascourse/data/PROVENANCE.md`` lists their
sources. (Old name: ``nascourse.bench``, kept as an alias.)

Every NAS-Bench-201 table is a ``pandas.DataFrame`` indexed by the benchmark index of the
cell (``Cell.index``), so tables join on their index and a row is found with
``table.loc[cell.index]``. All loading goes through :mod:`nascourse.data`, which checks
each file's checksum; results are cached, and a copy is returned so that callers may
modify what they get.
"""

from __future__ import annotations

import gzip
import json
from functools import cache

import numpy as np
import pandas as pd

from nascourse import data
from nascourse._checks import check_choice

#: The data sets of NAS-Bench-201, as the benchmark names them.
NB201_DATASETS: tuple[str, ...] = ("cifar10", "cifar100", "ImageNet16-120")
#: Data sets for which zero-cost proxies are shipped.
ZC_DATASETS: tuple[str, ...] = ("cifar10", "ImageNet16-120")
#: The thirteen precomputed zero-cost proxies (NAS-Bench-Suite-Zero).
ZC_PROXIES: tuple[str, ...] = ("epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm",
                               "nwot", "params", "plain", "snip", "synflow", "zen")
#: The nine zero-cost proxies NASLib ships for its NAS-Bench-301 sample (besides flops, params).
NB301_PROXIES: tuple[str, ...] = ("epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "plain",
                                  "snip", "synflow")
#: The ten HW-NAS-Bench metrics.
HW_METRICS: tuple[str, ...] = ("edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency",
                               "pixel3_latency", "eyeriss_latency", "eyeriss_energy",
                               "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy")

_TEST_COLUMN = {"cifar10": "cifar10_test", "cifar100": "cifar100_test", "ImageNet16-120": "imagenet16_test"}
_ZC_FILE = {"cifar10": "zc_cifar10.csv.gz", "ImageNet16-120": "zc_imagenet16.csv.gz"}


def check_dataset(dataset: str, valid: tuple[str, ...] = NB201_DATASETS) -> str:
    """Return ``dataset`` if it is one of ``valid``; otherwise raise a helpful error."""
    return check_choice("dataset", dataset, valid)


def _read_csv(name: str, **kwargs) -> pd.DataFrame:
    return pd.read_csv(data.path(name), **kwargs)


@cache
def _nb201_raw() -> pd.DataFrame:
    return _read_csv("nb201.csv.gz").set_index("index")


def load_nb201(dataset: str = "cifar10") -> pd.DataFrame:
    """All 15,625 NAS-Bench-201 cells with their accuracy on ``dataset``.

    Columns: ``arch_str``, ``unique_str`` (the benchmark's isomorphism class) and
    ``test_acc`` (test accuracy in %, 200-epoch training, mean over seeds; NATS-Bench
    topology space). For ``'cifar10'`` also ``val_acc`` (accuracy on the held-out half of
    the training set when trained on the other half, the benchmark's "cifar10-valid"
    protocol, used to *select* cells), ``params`` (millions of parameters of the C=16, N=5
    network) and ``naswot_score`` (NaN where the published score is -inf).
    """
    check_dataset(dataset)
    raw = _nb201_raw()
    out = raw[["arch_str", "unique_str"]].copy()
    out["test_acc"] = raw[_TEST_COLUMN[dataset]]
    if dataset == "cifar10":
        out["val_acc"] = raw["cifar10_valid"]
        out["params"] = raw["params_m"]
        out["naswot_score"] = raw["naswot_score"]
    out.index.name = "index"
    return out


@cache
def _zc(dataset: str) -> pd.DataFrame:
    return _read_csv(_ZC_FILE[dataset]).set_index("index")


def load_zc_proxies(dataset: str = "cifar10") -> pd.DataFrame:
    """The 13 precomputed zero-cost proxies and the validation accuracy (``val_acc``)
    of the 9,445 cells without unreachable operations (NAS-Bench-Suite-Zero)."""
    check_dataset(dataset, ZC_DATASETS)
    return _zc(dataset).copy()


@cache
def _hw() -> pd.DataFrame:
    return _read_csv("hw_nas_bench.csv.gz")


def load_hw(dataset: str = "cifar10") -> pd.DataFrame:
    """HW-NAS-Bench latency and energy on six devices for all 15,625 cells, for the
    network configured for ``dataset``.

    Where HW-NAS-Bench has no measurement it stores -1: the edge TPU's compiler rejected
    4,699 cells, including every disconnected one. Those entries are NaN here, so that a
    placeholder is never read as a cost (``.fillna(-1)`` gives the published table back)."""
    check_dataset(dataset)
    hw = _hw()
    hw = hw[hw["dataset"] == dataset].drop(columns="dataset").set_index("index")
    return hw.where(hw > 0)


@cache
def _robustness() -> pd.DataFrame:
    return _read_csv("robustness.csv.gz").set_index("index")


def load_robustness() -> pd.DataFrame:
    """Clean CIFAR-10 validation accuracy (``val_acc``) and accuracies under 32
    adversarial attacks (``attack@Linf_eps-e``) for all 15,625 cells (Jung et al. 2023)."""
    return _robustness().copy()


@cache
def _arch2vec() -> pd.DataFrame:
    return _read_csv("arch2vec_nb201.csv.gz").set_index("index")


def load_arch2vec() -> pd.DataFrame:
    """16-dimensional arch2vec embeddings of the 9,445 cells of the proxy table."""
    return _arch2vec().copy()


@cache
def _tnb101() -> pd.DataFrame:
    return _read_csv("tnb101_micro.csv.gz", dtype={"net": str})


def load_tnb101_micro() -> pd.DataFrame:
    """TransNAS-Bench-101 micro cells (autoencoder task): ``net`` (six op ids, one digit
    per edge), validation score ``val_acc`` and the 13 zero-cost proxies."""
    return _tnb101().copy()


@cache
def _nb101() -> tuple[dict, ...]:
    with gzip.open(data.path("nb101_sample.json.gz"), "rt", encoding="utf-8") as f:
        return tuple(json.load(f))


def load_nb101_sample() -> pd.DataFrame:
    """500 NAS-Bench-101 cells: ``matrix`` (adjacency, a numpy array), ``ops`` (names per
    node), CIFAR-10 ``val_acc`` and 11 zero-cost proxies (NAS-Bench-Suite-Zero)."""
    df = pd.DataFrame(list(_nb101()))
    df["matrix"] = [np.array(m, dtype=np.int64) for m in df["matrix"]]
    df["ops"] = [list(o) for o in df["ops"]]
    return df


@cache
def _nb301() -> pd.DataFrame:
    return _read_csv("nb301_sample.csv.gz")


def load_nb301() -> pd.DataFrame:
    """500 NAS-Bench-301 architectures of the DARTS space (chapter 08 transfers to them).

    One row per architecture, in the order of NASLib's table: ``genotype`` (NASLib's
    compact string; :func:`nascourse.spaces.darts.from_compact` turns it into a
    ``Genotype``), ``val_acc`` (CIFAR-10 validation accuracy in %, as NAS-Bench-301
    gives it), ``flops`` (MFLOPs), ``params`` (millions) and the zero-cost proxies of
    :data:`NB301_PROXIES` (NAS-Bench-Suite-Zero), all measured on NASLib's network of
    32 initial channels and 8 cells, whose parameter count
    ``nascourse.nn.darts.darts_network(genotype, C=32, layers=8, affine=False)`` matches.
    """
    return _nb301().copy()
