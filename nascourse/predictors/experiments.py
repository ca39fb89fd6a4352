"""The experiments of chapters 06 and 07, as functions: learning curves of predictors over
training-set sizes and seeds, and the Neural Predictor's search (train on N cells,
evaluate the predicted top K).

Splits are nested and shared: for a seed, the training cells are the first ``size`` of one
random permutation (so the 32 cells of seed 0 are among its 128), and every encoding and
model sees exactly the same cells; the test set is every remaining cell. Estimators with a
``fit_many`` method (the GCNs) train all seeds of one size side by side. Independent fits
run on ``n_jobs`` threads (the heavy parts of scikit-learn's trees and of torch release
the GIL); CPU times are measured per thread, so they do not depend on ``n_jobs``.
"""

from __future__ import annotations

import time
import warnings
from typing import Callable, Mapping, Sequence

import numpy as np
import pandas as pd
from joblib import Parallel, delayed

from nascourse.predictors import metrics

ModelFactory = Callable[[int], object]


def split(n: int, size: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``(train, test)`` positions: the first ``size`` of a permutation of ``range(n)``
    drawn with ``seed``, and all the others."""
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or not 1 <= size < n:
        raise ValueError(f"size must be an int in 1..{n - 1}, got {size!r}")
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


def learning_curve(encodings: Mapping[str, object], y, models: Mapping[str, ModelFactory],
                   sizes: Sequence[int], seeds: Sequence[int],
                   combos: Sequence[tuple[str, str]] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Fit every (encoding, model) pair of ``combos`` (default: all pairs) on ``size``
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
        if e not in encodings or m not in models:
            raise ValueError(f"unknown encoding {e!r} or model {m!r}")
    arrays = {e: _as_array(X) for e, X in encodings.items()}
    n = len(next(iter(ys.values())))
    for e, X in arrays.items():
        if len(X) != n:
            raise ValueError(f"encoding {e!r} has {len(X)} rows for {n} targets")
    tasks, labels = [], []
    for target, values in ys.items():
        for e, m in combos:
            batched = hasattr(models[m](0), "fit_many")
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


def summary(results: pd.DataFrame, metric: str = "kendall_tau") -> pd.DataFrame:
    """Mean and standard deviation of ``metric`` over seeds: one row per (encoding, model),
    columns ``(statistic, size)``."""
    table = results.groupby(["encoding", "model", "size"])[metric].agg(["mean", "std"])
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
    proto = factory(seeds[0])
    if hasattr(proto, "fit_many"):
        models = proto.fit_many(X, y_select, [tr for tr, _ in splits], list(seeds))
    else:
        models = [factory(s).fit(X[tr], y_select[tr]) for s, (tr, _) in zip(seeds, splits)]
    rows = []
    for seed, model, (train, rest) in zip(seeds, models, splits):
        top = rest[np.argsort(-model.predict(X[rest]), kind="stable")[:k]]
        evaluated = np.concatenate([train, top])
        pick = evaluated[np.argmax(y_select[evaluated])]
        rows.append({"seed": seed, "n_train": n_train, "k": k, "pick": int(pick),
                     "select_value": y_select[pick], "report_value": y_report[pick]})
    return pd.DataFrame(rows)


def random_search(y_select, y_report, budget: int, seeds: Sequence[int]) -> pd.DataFrame:
    """The baseline: evaluate ``budget`` random cells and pick the best by ``y_select``."""
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
    if not 1 <= n_initial <= budget <= len(y_select) or batch < 1:
        raise ValueError("need 1 <= n_initial <= budget <= number of cells, and batch >= 1")
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

    if not isinstance(X, pd.DataFrame):
        raise TypeError("X must be a DataFrame, so that features keep their names")
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
