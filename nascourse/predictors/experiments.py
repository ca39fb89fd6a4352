"""The experiments of chapters 06 and 07, as functions: data curves of predictors (their
ranking quality over training-set sizes and seeds, :func:`data_curve`), the Neural Predictor's search (train on N cells, evaluate
the predicted top K), and its search efficiency: how many distinct cells a search trains
before it first trains a target cell and what it returns after a number of cells
(:func:`predictor_orders`, :func:`queries_to_reach`, :func:`returned_after`, with
:class:`CellSubset` to run chapter 03's black-box strategies on the same cells).

Splits are nested and shared: for a seed, the training cells are the first ``size`` of one
random permutation (so the 32 cells of seed 0 are among its 128), and every encoding and
model sees exactly the same cells; the test set is every remaining cell.

A model is given as a factory ``seed -> unfitted estimator``. When the estimator is a
:class:`~nascourse.predictors.base.FitsMany` (the GCNs and the two-stage predictor), every
experiment here trains all seeds of one training-set size in one ``fit_many`` call, side
by side; any other estimator is fitted once per seed. Independent fits
run on ``n_jobs`` threads (the heavy parts of scikit-learn's trees and of torch release
the GIL); CPU times are measured per thread, so they do not depend on ``n_jobs``.
"""

from __future__ import annotations

import math
import time
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from nascourse._checks import check_choice, check_int, check_type
from nascourse.predictors import metrics
from nascourse.predictors.base import FitsMany
from nascourse.spaces import nb201

ModelFactory = Callable[[int], object]


def split(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` positions: the first ``size`` of a permutation of ``range(n)``
    drawn with ``seed``, and all the others."""
    check_int("size", size, maximum=n - 1)
    order = np.random.default_rng(seed).permutation(n)
    return np.sort(order[:size]), np.sort(order[size:])


def _as_array(X) -> np.ndarray:
    return X.to_numpy() if isinstance(X, pd.DataFrame) else np.asarray(X)


class _Clock:
    """Wall and CPU (this thread) seconds of a block."""

    def __enter__(self) -> "_Clock":
        self.wall, self.cpu = time.perf_counter(), time.thread_time()
        return self

    def __exit__(self, *exc) -> None:
        self.wall, self.cpu = time.perf_counter() - self.wall, time.thread_time() - self.cpu


def _scores(y_test: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {"kendall_tau": metrics.kendall_tau(y_test, pred), "spearman": metrics.spearman(y_test, pred),
            "mse": metrics.mse(y_test, pred), "r2": metrics.r2(y_test, pred)}


def _one_fit(X, y, factory, size, seed) -> list[dict]:
    train, test = split(len(y), size, seed)
    with _Clock() as fit:
        model = factory(seed).fit(X[train], y[train])
    with _Clock() as pred:
        p = model.predict(X[test])
    return [{"size": size, "seed": seed, **_scores(y[test], p), "fit_s": fit.wall, "fit_cpu_s": fit.cpu,
             "predict_s": pred.wall, "predict_cpu_s": pred.cpu}]


def _many_fits(X, y, factory, size, seeds) -> list[dict]:
    splits = [split(len(y), size, s) for s in seeds]
    with _Clock() as fit:
        models = factory(seeds[0]).fit_many(X, y, [tr for tr, _ in splits], list(seeds))
    rows = []
    for seed, model, (_, test) in zip(seeds, models, splits):
        with _Clock() as pred:
            p = model.predict(X[test])
        rows.append({"size": size, "seed": seed, **_scores(y[test], p), "fit_s": fit.wall / len(seeds),
                     "fit_cpu_s": fit.cpu / len(seeds), "predict_s": pred.wall, "predict_cpu_s": pred.cpu})
    return rows


def data_curve(encodings: Mapping[str, object], y, models: Mapping[str, ModelFactory],
               sizes: Sequence[int], seeds: Sequence[int],
               combos: Sequence[tuple[str, str]] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """A predictor's data curve: its ranking quality against the number of cells it is
    trained on (not a learning curve, which in this course is one architecture's accuracy
    against its training epochs). Fit every (encoding, model) pair of ``combos`` (default: all pairs) on ``size``
    training cells for each size and seed, and score it on all remaining cells.

    ``encodings`` maps a name to a feature table (rows aligned with ``y``); ``models`` maps
    a name to a factory ``seed -> estimator``; ``y`` is one target, or a DataFrame of
    several (each is then predicted separately, and a ``target`` column names it). Returns
    one row per fit: encoding, model, size, seed, Kendall tau, Spearman, MSE, R^2, and fit
    and predict times (wall and CPU seconds; for side-by-side fits, the total divided by
    the number of seeds).
    """
    many = isinstance(y, pd.DataFrame)
    ys = {t: y[t].to_numpy(dtype=float) for t in y} if many else {None: np.asarray(y, dtype=float)}
    combos = list(combos) if combos is not None else [(e, m) for e in encodings for m in models]
    for e, m in combos:
        check_choice("encoding", e, encodings)
        check_choice("model", m, models)
    arrays = {e: _as_array(X) for e, X in encodings.items()}
    n = len(next(iter(ys.values())))
    for e, X in arrays.items():
        if len(X) != n:
            raise ValueError(f"encoding {e!r} has {len(X)} rows for {n} targets")
    tasks, labels = [], []
    for target, values in ys.items():
        for e, m in combos:
            batched = isinstance(models[m](0), FitsMany)
            for size in sizes:
                if batched:
                    tasks.append(delayed(_many_fits)(arrays[e], values, models[m], size, list(seeds)))
                    labels.append((target, e, m))
                else:
                    for seed in seeds:
                        tasks.append(delayed(_one_fit)(arrays[e], values, models[m], size, seed))
                        labels.append((target, e, m))
    results = Parallel(n_jobs=n_jobs, prefer="threads")(tasks)
    rows = [{**({"target": t} if many else {}), "encoding": e, "model": m, **row}
            for (t, e, m), out in zip(labels, results) for row in out]
    return pd.DataFrame(rows)


learning_curve = data_curve     # the old name of data_curve


def summary(results: pd.DataFrame, metric: str = "kendall_tau",
            by: Sequence[str] = ("encoding", "model")) -> pd.DataFrame:
    """Mean and standard deviation of ``metric`` over seeds: one row per combination of the
    ``by`` columns (default (encoding, model)), columns ``(statistic, size)``."""
    table = results.groupby([*by, "size"])[metric].agg(["mean", "std"])
    return table.unstack("size")


def search_with_predictor(X, y_select, y_report, factory: ModelFactory, n_train: int, k: int,
                          seeds: Sequence[int]) -> pd.DataFrame:
    """The Neural Predictor's search (Wen et al., 2020): evaluate ``n_train`` random cells,
    fit a predictor on them, evaluate the ``k`` other cells it ranks highest, and pick the
    evaluated cell with the best ``y_select`` (validation accuracy); report its
    ``y_report`` (test accuracy). One row per seed: ``n_train``, ``k``, the ``pick`` (a
    row position) and its ``select_value`` and ``report_value``."""
    X, y_select, y_report = _as_array(X), np.asarray(y_select, float), np.asarray(y_report, float)
    splits = [split(len(y_select), n_train, s) for s in seeds]
    models = _fit_splits(X, y_select, factory, splits, list(seeds))
    rows = []
    for seed, model, (train, rest) in zip(seeds, models, splits):
        top = rest[np.argsort(-model.predict(X[rest]), kind="stable")[:k]]
        evaluated = np.concatenate([train, top])
        pick = evaluated[np.argmax(y_select[evaluated])]
        rows.append({"seed": seed, "n_train": n_train, "k": k, "pick": int(pick),
                     "select_value": y_select[pick], "report_value": y_report[pick]})
    return pd.DataFrame(rows)


def _fit_splits(X: np.ndarray, y: np.ndarray, factory: ModelFactory, splits, seeds: Sequence[int]) -> list:
    """One model per seed, fitted on that seed's training positions (side by side when the
    estimator is a :class:`FitsMany`)."""
    proto = factory(seeds[0])
    if isinstance(proto, FitsMany):
        return proto.fit_many(X, y, [tr for tr, _ in splits], list(seeds))
    return [factory(s).fit(X[tr], y[tr]) for s, (tr, _) in zip(seeds, splits)]


def predictor_orders(X, y_select, factory: ModelFactory, n_train: int, seeds: Sequence[int]) -> list[np.ndarray]:
    """The order in which the Neural Predictor's search trains the cells, one array per seed.

    First the ``n_train`` random cells of :func:`split` (in the order of the seed's
    permutation, as if trained one after the other), then every other cell from the highest
    prediction of a predictor fitted on them to the lowest. The first ``n_train + k``
    entries are the cells :func:`search_with_predictor` evaluates with that ``k``; the
    whole order says after how many trainings the search meets any given cell.
    """
    X, y_select = _as_array(X), np.asarray(y_select, float)
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    if not seeds:
        raise ValueError("give at least one seed")
    splits = [split(len(y_select), n_train, s) for s in seeds]
    models = _fit_splits(X, y_select, factory, splits, seeds)
    orders = []
    for seed, model, (_, rest) in zip(seeds, models, splits):
        first = np.random.default_rng(seed).permutation(len(y_select))[:n_train]
        ranked = rest[np.argsort(-model.predict(X[rest]), kind="stable")]
        orders.append(np.concatenate([first, ranked]))
    return orders


def queries_to_reach(orders: Mapping[str, Sequence[Sequence[int]]], targets: Mapping[str, np.ndarray],
                     seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """How many *distinct* cells each search trained before (and including) its first
    target cell.

    ``orders`` maps a method to one sequence of evaluated positions per run (repeats
    allowed: re-evaluating a cell already trained costs nothing, it is a look-up);
    ``targets`` maps a target name to a boolean mask over the positions. Returns one row
    per (method, run, target) with ``queries`` (NaN when the run never met the target)
    and ``evaluations``, the length of the run. ``seeds`` labels the runs (default
    0, 1, ...).
    """
    masks = {name: np.asarray(m, dtype=bool) for name, m in targets.items()}
    if not masks or any(m.ndim != 1 or not m.any() for m in masks.values()):
        raise ValueError("every target must be a one-dimensional boolean mask with at least one True")
    size = len(next(iter(masks.values())))
    if any(len(m) != size for m in masks.values()):
        raise ValueError("all target masks must have the same length")
    rows = []
    for method, seed, run in _runs(orders, seeds, size):
        new = np.zeros(len(run), dtype=bool)
        new[np.unique(run, return_index=True)[1]] = True      # first time each cell is met
        distinct = np.cumsum(new)
        for name, mask in masks.items():
            hits = np.flatnonzero(mask[run])
            queries = float(distinct[hits[0]]) if hits.size else math.nan
            rows.append({"method": method, "seed": seed, "target": name, "queries": queries,
                         "evaluations": len(run)})
    return pd.DataFrame(rows)


def _runs(orders: Mapping[str, Sequence[Sequence[int]]], seeds: Sequence[int] | None, size: int):
    """Yield ``(method, seed label, run as an int array)`` for every run of every method,
    checking that the labels match the runs and that positions lie in ``0..size-1``."""
    for method, runs in orders.items():
        labels = list(range(len(runs))) if seeds is None else list(seeds)
        if len(labels) != len(runs):
            raise ValueError(f"{method!r}: {len(runs)} runs for {len(labels)} seeds")
        for seed, run in zip(labels, runs):
            run = np.asarray(run, dtype=np.int64)
            if run.size and (run.min() < 0 or run.max() >= size):
                raise ValueError(f"{method!r}: positions must be in 0..{size - 1}")
            yield method, seed, run


def returned_after(orders: Mapping[str, Sequence[Sequence[int]]], y_select, y_report,
                   counts: Sequence[int], seeds: Sequence[int] | None = None) -> pd.DataFrame:
    """What each search returns after training ``counts`` distinct cells: the ``y_report``
    (test accuracy) of the cell with the best ``y_select`` (validation accuracy) among them.
    One row per (method, run, count): ``queries`` and ``report_value`` (NaN when the run
    trained fewer distinct cells)."""
    y_select, y_report = np.asarray(y_select, float), np.asarray(y_report, float)
    counts = [check_int("count", c) for c in counts]
    if y_select.shape != y_report.shape or y_select.ndim != 1:
        raise ValueError(f"y_select and y_report must be one-dimensional and of the same length, "
                         f"got shapes {y_select.shape} and {y_report.shape}")
    rows = []
    for method, seed, run in _runs(orders, seeds, len(y_select)):
        distinct = run[np.sort(np.unique(run, return_index=True)[1])]   # in order of first training
        for c in counts:
            value = math.nan
            if len(distinct) >= c:
                value = float(y_report[distinct[:c][np.argmax(y_select[distinct[:c]])]])
            rows.append({"method": method, "seed": seed, "queries": c, "report_value": value})
    return pd.DataFrame(rows)


class CellSubset:
    """A subset of the NAS-Bench-201 cells (by benchmark index) as a search space for the
    black-box strategies of chapter 03 (:mod:`nascourse.search.blackbox`), so that they
    search the same cells as a predictor.

    ``sample`` draws a cell of the subset uniformly; ``mutate`` picks uniformly among the
    cell's one-edge neighbours that lie in the subset (what mutating until the child lies in
    the subset would give), or samples afresh if none does; ``position`` maps a cell to its
    row in ``indices``.
    """

    def __init__(self, indices: Sequence[int]) -> None:
        indices = [check_int("index", i, minimum=0) for i in indices]
        if not indices or len(set(indices)) != len(indices) or max(indices) >= nb201.NUM_CELLS:
            raise ValueError(f"indices must be distinct benchmark indices in 0..{nb201.NUM_CELLS - 1}")
        self.cells = [nb201.Cell.from_index(i) for i in indices]
        self._position = {i: k for k, i in enumerate(indices)}
        self._neighbours: dict[int, list[nb201.Cell]] = {}

    def __len__(self) -> int:
        return len(self.cells)

    def position(self, cell: nb201.Cell) -> int:
        """The row of ``cell`` in the subset (``ValueError`` if it is not in it)."""
        if cell.index not in self._position:
            raise ValueError(f"cell {cell.index} is not in this subset")
        return self._position[cell.index]

    def sample(self, rng: np.random.Generator) -> nb201.Cell:
        return self.cells[int(rng.integers(len(self.cells)))]

    def neighbours(self, arch: nb201.Cell) -> list[nb201.Cell]:
        """The cell's one-edge neighbours that lie in the subset (cached)."""
        if arch.index not in self._neighbours:
            self._neighbours[arch.index] = [c for c in arch.neighbours() if c.index in self._position]
        return list(self._neighbours[arch.index])

    def mutate(self, arch: nb201.Cell, rng: np.random.Generator) -> nb201.Cell:
        inside = self.neighbours(arch)
        return inside[int(rng.integers(len(inside)))] if inside else self.sample(rng)

    def encode(self, archs: list[nb201.Cell]) -> np.ndarray:
        from nascourse.features import onehot

        return onehot(list(archs)).astype(float)


def best_of_random(y_select, y_report, budget: int, seeds: Sequence[int]) -> pd.DataFrame:
    """The baseline of :func:`search_with_predictor`: for each seed, evaluate the ``budget``
    random cells of :func:`split` and pick the best by ``y_select``. One row per seed:
    ``budget``, ``pick``, ``select_value`` and ``report_value``. (Chapter 03's
    :func:`nascourse.search.random_search` is the black-box strategy with a history.)"""
    y_select, y_report = np.asarray(y_select, float), np.asarray(y_report, float)
    rows = []
    for seed in seeds:
        sample, _ = split(len(y_select), budget, seed)
        pick = sample[np.argmax(y_select[sample])]
        rows.append({"seed": seed, "budget": budget, "pick": int(pick), "select_value": y_select[pick],
                     "report_value": y_report[pick]})
    return pd.DataFrame(rows)


def guided_search(X, y_select, y_report, factory: ModelFactory | None, budget: int, n_initial: int,
                  batch: int, seed: int) -> pd.DataFrame:
    """A predictor-guided search (chapter 07): evaluate ``n_initial`` random cells, then
    repeatedly fit ``factory(seed)`` on every cell evaluated so far and evaluate the
    ``batch`` unevaluated cells it ranks highest, until ``budget`` cells are evaluated.
    With ``n_initial == budget`` (and ``factory=None``) this is random search.

    One row per evaluation, in order: ``step`` (1-based), ``pick``, its ``select_value``
    and ``report_value``, and ``best_report``, the ``y_report`` of the best cell by
    ``y_select`` evaluated so far (what the search would return if stopped there).
    """
    X, y_select, y_report = _as_array(X), np.asarray(y_select, float), np.asarray(y_report, float)
    budget = check_int("budget", budget, maximum=len(y_select))
    check_int("n_initial", n_initial, maximum=budget)
    check_int("batch", batch)
    if n_initial < budget and factory is None:
        raise ValueError("a guided search needs a predictor factory")
    evaluated = list(np.random.default_rng(seed).permutation(len(y_select))[:n_initial])
    while len(evaluated) < budget:
        model = factory(seed).fit(X[evaluated], y_select[evaluated])
        rest = np.setdiff1d(np.arange(len(y_select)), evaluated)
        ranked = rest[np.argsort(-model.predict(X[rest]), kind="stable")]
        evaluated += list(ranked[:min(batch, budget - len(evaluated))])
    picks = np.asarray(evaluated)
    best = np.maximum.accumulate(y_select[picks])
    best_at = np.array([picks[np.flatnonzero(y_select[picks[:i + 1]] == best[i])[0]] for i in range(len(picks))])
    return pd.DataFrame({"step": np.arange(1, len(picks) + 1), "pick": picks, "select_value": y_select[picks],
                         "report_value": y_report[picks], "best_report": y_report[best_at]})


def shap_ranks(X: pd.DataFrame, y, factory: ModelFactory, n_train: int, n_explain: int,
               seeds: Sequence[int]) -> pd.DataFrame:
    """Feature importance by SHAP (Lundberg & Lee, 2017), as ranks (chapter 07).

    For each seed: fit ``factory(seed)`` (a tree model) on ``n_train`` random cells, compute
    exact TreeSHAP values for ``n_explain`` of the other cells, score each feature by its
    mean absolute SHAP value and rank the features (1 = most important). Returns one column
    of ranks per seed plus ``mean_rank``, sorted by it.
    """
    with warnings.catch_warnings():                      # shap's import warns about tqdm widgets
        warnings.simplefilter("ignore")
        import shap                                      # imported here: only this needs it

    check_type("X", X, pd.DataFrame, "a DataFrame, so that features keep their names")
    y = np.asarray(y, dtype=float)
    ranks = {}
    for seed in seeds:
        train, rest = split(len(y), n_train, seed)
        model = factory(seed).fit(X.iloc[train], y[train])
        values = shap.TreeExplainer(model).shap_values(X.iloc[rest[:n_explain]])
        ranks[seed] = pd.Series(np.abs(values).mean(axis=0), index=X.columns).rank(ascending=False)
    out = pd.DataFrame(ranks)
    out["mean_rank"] = out.mean(axis=1)
    return out.sort_values("mean_rank")
