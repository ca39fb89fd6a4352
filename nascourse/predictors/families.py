"""GRAF against the predictor families of White et al. (2021) on NAS-Bench-201 (chapter 07).

A *family* is a pair: an encoding of the cell and a model that learns accuracy from it.
The families are data (:data:`FAMILIES`, a :class:`~nascourse.registry.Registry` of
:class:`Family`), so that a comparison is a list of names, and :func:`compare` runs them
all on the *same* seeded training sets (:func:`nascourse.predictors.experiments.split`:
for one seed the 32 training cells are among its 128, and every family sees exactly
those cells) and scores each on all the other cells. The families are the kinds that
White et al. compare, in the course's own, smaller versions:

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
A new family is one line, e.g. ``FAMILIES.add("path forest", Family("path", "random forest",
partial(make_model, "random_forest")))``; a new encoding is one line in :data:`ENCODINGS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data
from threadpoolctl import threadpool_limits

from nascourse import benchmarks, features
from nascourse._checks import check_choice, check_int, check_sequence, check_type
from nascourse.predictors import experiments, metrics
from nascourse.predictors.models import make_model
from nascourse.registry import Registry
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
    """One predictor family: the name of an encoding (in :data:`ENCODINGS`), a short name of
    the model (the label of tables, e.g. "random forest"), and a factory ``seed -> fresh
    estimator``."""

    encoding: str
    model: str
    factory: Callable[[int], BaseEstimator]

    def __post_init__(self) -> None:
        ENCODINGS.canonical(self.encoding)
        check_type("model", self.model, str, "a str naming the model")
        check_type("factory", self.factory, Callable, "a callable seed -> estimator")


def _proxies(cells: Sequence[nb201.Cell], dataset: str) -> np.ndarray:
    return features.zcp(cells, dataset).to_numpy(dtype=float)


def _graf(cells: Sequence[nb201.Cell], dataset: str) -> np.ndarray:
    return features.graf(cells).to_numpy(dtype=float)


#: Encodings by name: ``ENCODINGS[name](cells, dataset) -> array`` (one row per cell).
ENCODINGS: Registry[Callable[[Sequence[nb201.Cell], str], np.ndarray]] = Registry("encoding")
ENCODINGS.add("graph", lambda cells, dataset: features.graph_rows(cells))
ENCODINGS.add("path", lambda cells, dataset: features.path(cells))
ENCODINGS.add("one-hot", lambda cells, dataset: features.onehot(cells))
ENCODINGS.add("arch2vec", lambda cells, dataset: benchmarks.load_arch2vec().loc[[c.index for c in cells]].to_numpy())
ENCODINGS.add("proxies", _proxies)
ENCODINGS.add("GRAF", _graf)
ENCODINGS.add("GRAF + proxies", lambda cells, dataset: np.hstack([_graf(cells, dataset), _proxies(cells, dataset)]))

#: The families of :func:`compare`, by name, in the order tables and figures show them.
FAMILIES: Registry[Family] = Registry("predictor family")
FAMILIES.add("GCN", Family("graph", "GCN", partial(make_model, "gcn")))
FAMILIES.add("path MLP", Family("path", "MLP", partial(make_model, "mlp")))
FAMILIES.add("one-hot boosting", Family("one-hot", "boosting", partial(make_model, "gradient_boosting")))
FAMILIES.add("arch2vec forest", Family("arch2vec", "random forest", partial(make_model, "random_forest")))
FAMILIES.add("best proxy", Family("proxies", "best proxy", lambda seed: BestProxy()))
FAMILIES.add("GRAF forest", Family("GRAF", "random forest", partial(make_model, "random_forest")))
FAMILIES.add("GRAF + proxies forest", Family("GRAF + proxies", "random forest", partial(make_model, "random_forest")))


def benchmark_cells(dataset: str = "cifar10") -> tuple[list[nb201.Cell], np.ndarray]:
    """The cells every family is measured on (the 9,445 with shipped proxies) and their
    validation accuracy on ``dataset`` ('cifar10' or 'ImageNet16-120')."""
    check_choice("dataset", dataset, benchmarks.ZC_DATASETS)
    table = benchmarks.load_zc_proxies(dataset)
    return [nb201.Cell.from_index(i) for i in table.index], table["val_acc"].to_numpy(dtype=float)


def encode(names: Sequence[str], cells: Sequence[nb201.Cell], dataset: str = "cifar10") -> dict[str, np.ndarray]:
    """Each encoding of ``names`` (names in :data:`ENCODINGS`) for ``cells``, computed once."""
    names = check_sequence("names", names, str, "encoding names")
    return {name: ENCODINGS.get(name)(cells, dataset) for name in dict.fromkeys(names)}


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
    names = FAMILIES.names if families is None else check_sequence("families", families, str, "family names",
                                                                   min_length=1)
    names = [FAMILIES.canonical(f) for f in names]
    if len(set(names)) != len(names):
        raise ValueError(f"families must be without repeats, got {names}")
    sizes = [check_int("size", s, minimum=2) for s in check_sequence("sizes", sizes, (int, np.integer), "ints",
                                                                      min_length=1)]
    seeds = [check_int("seed", s, minimum=0) for s in check_sequence("seeds", seeds, (int, np.integer), "ints",
                                                                      min_length=1)]
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
        runs = experiments.data_curve({f: encodings[FAMILIES[f].encoding] for f in names}, y, models,
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
