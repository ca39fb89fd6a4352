"""GRAF against the predictor families of White et al. (2021) on NAS-Bench-201 (chapter 07).

A *family* is a pair: an encoding of the cell and a model that learns accuracy from it.
The families are data (:data:`FAMILIES`, name -> :class:`Family`), so that a comparison is
a list of names, and :func:`compare` runs them all on the *same* seeded training sets
(:func:`nascourse.predictors.experiments.split`: for one seed the 32 training cells are
among its 128, and every family sees exactly those cells) and scores each on all the
other cells. The families are the kinds that White et al. compare, in the course's own,
smaller versions:

- ``GCN``: the Neural Predictor's graph network on the op-on-node graph;
- ``path MLP``: a multi-layer perceptron on the path encoding, as in BANANAS (one network,
  not BANANAS' ensemble of five);
- ``one-hot boosting``: gradient-boosted trees on the one-hot encoding;
- ``arch2vec forest``: a random forest on the unsupervised arch2vec embedding;
- ``best proxy``: a single zero-cost proxy, the one that ranks the training cells best
  (:class:`BestProxy`); it needs no model beyond that choice;
- ``GRAF forest`` and ``GRAF + proxies forest``: the random forest of Kadlecová et al.
  (2024) on the neural graph features, without and with the 13 proxies.

Every family is measured on the 9,445 NAS-Bench-201 cells that have zero-cost proxies.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from nascourse import bench, features
from nascourse._checks import check_choice, check_int
from nascourse.predictors import experiments, metrics
from nascourse.predictors.models import make_model
from nascourse.spaces import nb201


class BestProxy(RegressorMixin, BaseEstimator):
    """The zero-cost proxy (a column of ``X``) that ranks the training cells best.

    ``fit`` computes Kendall's tau between each column and ``y`` on the training cells
    and keeps the column with the largest tau (``best_``, its tau ``tau_``); ``predict``
    returns that column. Choosing among the proxies is all it learns, so it shows what
    the best single proxy gives when the training cells are all we may use to pick it.
    """

    def fit(self, X, y) -> "BestProxy":
        X, y = validate_data(self, X, y, y_numeric=True)
        if len(y) < 2:
            raise ValueError(f"BestProxy needs at least 2 training cells, got n_samples={len(y)}")
        taus = np.array([metrics.kendall_tau(y, X[:, j]) for j in range(X.shape[1])])
        self.best_ = int(np.argmax(taus))
        self.tau_ = float(taus[self.best_])
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self, "best_")
        X = validate_data(self, X, reset=False)
        return X[:, self.best_].astype(float)


@dataclass(frozen=True)
class Family:
    """One predictor family: the name of an encoding (a key of :data:`ENCODINGS`), a short
    name of the model, and a factory ``seed -> fresh estimator``."""

    encoding: str
    model: str
    factory: Callable[[int], BaseEstimator]

    def __post_init__(self) -> None:
        check_choice("encoding", self.encoding, ENCODINGS)
        if not isinstance(self.model, str):
            raise TypeError(f"model must be a str naming the model, got {type(self.model).__name__}")
        if not callable(self.factory):
            raise TypeError(f"factory must be a callable seed -> estimator, got {type(self.factory).__name__}")


def _proxies(cells: Sequence[nb201.Cell], dataset: str) -> np.ndarray:
    return features.zcp(cells, dataset).to_numpy(dtype=float)


def _graf(cells: Sequence[nb201.Cell], dataset: str) -> np.ndarray:
    return features.graf(cells).to_numpy(dtype=float)


#: Encodings by name: ``ENCODINGS[name](cells, dataset) -> array`` (one row per cell).
ENCODINGS: dict[str, Callable[[Sequence[nb201.Cell], str], np.ndarray]] = {
    "graph": lambda cells, dataset: features.graph_rows(cells),
    "path": lambda cells, dataset: features.path(cells),
    "one-hot": lambda cells, dataset: features.onehot(cells),
    "arch2vec": lambda cells, dataset: bench.load_arch2vec().loc[[c.index for c in cells]].to_numpy(),
    "proxies": _proxies,
    "GRAF": _graf,
    "GRAF + proxies": lambda cells, dataset: np.hstack([_graf(cells, dataset), _proxies(cells, dataset)]),
}

#: The families of :func:`compare`, by name, in the order tables and figures show them.
FAMILIES: dict[str, Family] = {
    "GCN": Family("graph", "GCN", lambda seed: make_model("GCN", seed)),
    "path MLP": Family("path", "MLP", lambda seed: make_model("MLP", seed)),
    "one-hot boosting": Family("one-hot", "boosting", lambda seed: make_model("boosting", seed)),
    "arch2vec forest": Family("arch2vec", "random forest", lambda seed: make_model("random forest", seed)),
    "best proxy": Family("proxies", "best proxy", lambda seed: BestProxy()),
    "GRAF forest": Family("GRAF", "random forest", lambda seed: make_model("random forest", seed)),
    "GRAF + proxies forest": Family("GRAF + proxies", "random forest",
                                    lambda seed: make_model("random forest", seed)),
}


def benchmark_cells(dataset: str = "cifar10") -> tuple[list[nb201.Cell], np.ndarray]:
    """The cells every family is measured on (the 9,445 with shipped proxies) and their
    validation accuracy on ``dataset`` ('cifar10' or 'ImageNet16-120')."""
    check_choice("dataset", dataset, bench.ZC_DATASETS)
    table = bench.load_zc_proxies(dataset)
    return [nb201.Cell.from_index(i) for i in table.index], table["val_acc"].to_numpy(dtype=float)


def encode(names: Sequence[str], cells: Sequence[nb201.Cell], dataset: str = "cifar10") -> dict[str, np.ndarray]:
    """Each encoding of ``names`` (keys of :data:`ENCODINGS`) for ``cells``, computed once."""
    if isinstance(names, str):
        raise TypeError("names must be a sequence of encoding names, not a str")
    return {name: ENCODINGS[check_choice("encoding", name, ENCODINGS)](cells, dataset) for name in dict.fromkeys(names)}


def compare(families: Sequence[str] | None = None, sizes: Sequence[int] = (32, 128, 1024),
            seeds: Sequence[int] = range(10), dataset: str = "cifar10", n_jobs: int = 1,
            encodings: dict[str, np.ndarray] | None = None, y: Sequence[float] | None = None) -> pd.DataFrame:
    """Fit every family of ``families`` (names in :data:`FAMILIES`, default all) on
    ``size`` random cells for each size and seed, and score it on all the other cells.

    Every family sees the same training cells for a given size and seed
    (:func:`experiments.split`). ``encodings`` (name -> array, e.g. from :func:`encode`)
    and ``y`` may be passed to reuse them; by default they are computed for the cells of
    :func:`benchmark_cells`. Returns a tidy table, one row per fit: ``family``,
    ``encoding``, ``model``, ``size``, ``seed``, ``kendall_tau``, ``spearman``, and the fit
    CPU seconds ``fit_cpu_s`` (for the GCN, which trains all seeds of a size side by side,
    the total divided by the number of seeds).

    BLAS runs on one thread during the fits: the models multiply small matrices, and BLAS
    threads on top of ``n_jobs`` fits oversubscribe the cores (on two cores the path MLP at
    1,024 cells took about 18 times the CPU time without the limit, for the same result).
    """
    names = list(FAMILIES) if families is None else families
    if isinstance(names, str):
        raise TypeError("families must be a sequence of family names, not a str")
    names = [check_choice("family", f, FAMILIES) for f in names]
    if not names or len(set(names)) != len(names):
        raise ValueError(f"families must be non-empty and without repeats, got {names}")
    if isinstance(sizes, (int, str)) or isinstance(seeds, (int, str)):
        raise TypeError("sizes and seeds must be sequences of ints")
    sizes = [check_int("size", s, minimum=2) for s in sizes]
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if not sizes or not seeds:
        raise ValueError("sizes and seeds must be non-empty")
    check_int("n_jobs", n_jobs)
    needed = [FAMILIES[f].encoding for f in names]
    if y is None:
        cells, y = benchmark_cells(dataset)
        if encodings is None:
            encodings = encode(needed, cells, dataset)
    elif encodings is None:
        raise ValueError("pass encodings together with y (y alone cannot be matched to cells)")
    missing = sorted(set(needed) - set(encodings))
    if missing:
        raise ValueError(f"encodings lacks {missing}, needed by the families {names}")
    y = np.asarray(y, dtype=float)
    if max(sizes) >= len(y):
        raise ValueError(f"every size must be below the number of cells ({len(y)}), got {max(sizes)}")
    models = {f: FAMILIES[f].factory for f in names}
    with threadpool_limits(limits=1, user_api="blas"):    # see the docstring
        runs = experiments.learning_curve({f: encodings[FAMILIES[f].encoding] for f in names}, y, models,
                                          sizes=sizes, seeds=seeds, combos=[(f, f) for f in names],
                                          n_jobs=n_jobs)
    runs = runs.rename(columns={"encoding": "family"}).drop(columns="model")
    runs.insert(1, "encoding", runs["family"].map(lambda f: FAMILIES[f].encoding))
    runs.insert(2, "model", runs["family"].map(lambda f: FAMILIES[f].model))
    return runs[["family", "encoding", "model", "size", "seed", "kendall_tau", "spearman", "fit_cpu_s"]]


def table(runs: pd.DataFrame, metric: str = "kendall_tau") -> pd.DataFrame:
    """Mean and standard deviation of ``metric`` over seeds: one row per family (in
    :data:`FAMILIES` order), columns ``(statistic, size)``."""
    check_choice("metric", metric, ("kendall_tau", "spearman"))
    out = experiments.summary(runs, metric, by=("family",))
    order = [f for f in FAMILIES if f in out.index]
    return out.loc[order]
