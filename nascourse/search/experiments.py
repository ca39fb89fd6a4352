"""Many seeded runs of the black-box strategies on the NAS-Bench-201 table, and the
statistics that compare them (chapter 03): incumbent trajectories, test regret and
confidence bands over seeds.

A *trajectory* is, after each query, the test accuracy of the architecture the search
would return at that point (the best one by its selection score). Regret is the optimum
of the space minus that accuracy. Runs are independent, so :func:`compare` can spread
them over processes with joblib; the result does not depend on ``n_jobs``.
"""

from __future__ import annotations

import time
from functools import partial
from typing import Callable, Iterable, Mapping

import numpy as np
import pandas as pd
from joblib import Parallel, delayed
from scipy import stats

from nascourse import benchmarks
from nascourse._checks import check_array, check_fraction, check_int, check_type
from nascourse.search.blackbox import get_strategy
from nascourse.search.objectives import BenchmarkObjective


def trajectories(strategy: str, dataset: str, seeds: Iterable[int], budget: int,
                 select_on: str = "auto", seed_options: Callable[[int], dict] | None = None,
                 **options) -> tuple[np.ndarray, float]:
    """Run ``strategy`` once per seed on the benchmark table of ``dataset``.

    ``seed_options``, if given, maps a seed to extra keyword arguments for that run only
    (for example start cells that change with the seed); it is called inside the timed
    loop, so its own CPU time is counted. Returns an array with one row per seed and one
    column per query (the incumbent's test accuracy, in %), and the CPU seconds the runs
    took.
    """
    fn, objective = get_strategy(strategy), BenchmarkObjective(dataset, select_on)
    start, rows = time.process_time(), []
    for seed in seeds:
        extra = {} if seed_options is None else seed_options(int(seed))
        history = fn(objective, budget, seed=int(seed), **options, **extra)
        rows.append(history.incumbent_trajectory("test_acc"))
    return np.array(rows), time.process_time() - start


def check_options(options: Mapping[str, dict] | None, strategies: list[str]) -> dict[str, dict]:
    """``options`` (strategy name -> extra keyword arguments) as a dict; options for a
    strategy that is not among ``strategies`` are a ValueError."""
    options = dict(options or {})
    unknown = set(options) - set(strategies)
    if unknown:
        raise ValueError(f"options given for strategies that are not compared: {sorted(unknown)}")
    return options


def compare(strategies: Iterable[str] | Mapping[str, str], datasets: Iterable[str] = ("cifar10",),
            seeds: Iterable[int] = range(30), budget: int = 200, n_jobs: int = 1,
            options: Mapping[str, dict] | None = None, select_on: str = "auto", *,
            seed_options: Callable[[str, str, int], dict] | None = None,
            skip: Callable[[str, str], bool] | None = None) -> pd.DataFrame:
    """Trajectories of every strategy on every data set, one row per (dataset, strategy, seed).

    Columns ``1..budget`` hold the incumbent's test accuracy after that many queries;
    ``options`` maps a strategy name to extra keyword arguments. The table's ``attrs``
    record the CPU seconds each (dataset, strategy) took, summed over processes.

    ``strategies`` may also map labels to strategy names, to run one strategy in several
    variants: the labels then name the rows and key ``options``. ``seed_options(label,
    dataset, seed)`` returns extra keyword arguments for one run (its CPU time counts for
    that label), and the (dataset, label) pairs for which ``skip(dataset, label)`` is true
    are not run and have no rows. :func:`nascourse.search.warmstart.compare_starts` uses
    all three.
    """
    if isinstance(strategies, Mapping):
        runs = {check_type("strategy label", k, str): check_type("strategy", v, str) for k, v in strategies.items()}
    else:
        runs = {name: name for name in strategies}
    labels, datasets, seeds = list(runs), [benchmarks.check_dataset(d) for d in datasets], list(seeds)
    budget = check_int("budget", budget)
    options = check_options(options, labels)
    for name in runs.values():
        get_strategy(name)  # unknown names fail here, before any work
    cases = [(d, s) for d in datasets for s in labels if skip is None or not skip(d, s)]
    halves = [seeds[: len(seeds) // 2], seeds[len(seeds) // 2:]] if n_jobs != 1 else [seeds]
    jobs = [(d, s, part) for d, s in cases for part in halves if part]
    results = Parallel(n_jobs=n_jobs)(
        delayed(trajectories)(runs[s], d, part, budget, select_on,
                              None if seed_options is None else partial(seed_options, s, d), **options.get(s, {}))
        for d, s, part in jobs)
    blocks, cpu = {}, {}
    for (d, s, part), (values, seconds) in zip(jobs, results):
        blocks.setdefault((d, s), []).append(values)
        cpu[(d, s)] = cpu.get((d, s), 0.0) + seconds
    rows = [(d, s, seed) for d, s in cases for seed in seeds]
    levels = [pd.Categorical([r[k] for r in rows], categories=order)  # keeps the given order, sorted
              for k, order in enumerate((datasets, labels, sorted(set(seeds))))]
    index = pd.MultiIndex.from_arrays(levels, names=["dataset", "strategy", "seed"])
    values = np.concatenate([np.concatenate(blocks[case]) for case in cases])
    frame = pd.DataFrame(values, index=index, columns=pd.RangeIndex(1, budget + 1, name="queries"))
    frame.attrs["cpu_seconds"] = cpu
    return frame


def test_regret(frame: pd.DataFrame) -> pd.DataFrame:
    """Optimum test accuracy of the data set minus the incumbent's (same shape as ``frame``)."""
    optimum = {d: float(benchmarks.load_nb201(d)["test_acc"].max()) for d in frame.index.unique("dataset")}
    offset = np.array([optimum[d] for d in frame.index.get_level_values("dataset")])
    return (-frame).add(offset, axis=0)


def mean_band(values: np.ndarray, level: float = 0.95) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean over the rows of ``values`` and a Student-t confidence interval for it
    (``level``, e.g. 0.95), column by column. Needs at least two rows."""
    values = check_array("values", values, ndim=2, finite=False, min_rows=2)
    level = check_fraction("level", level, allow_zero=False, allow_one=False)
    mean = values.mean(axis=0)
    half = stats.t.ppf(0.5 + level / 2, len(values) - 1) * stats.sem(values, axis=0)
    return mean, mean - half, mean + half


def final_summary(frame: pd.DataFrame, queries: int | None = None) -> pd.DataFrame:
    """Mean and standard deviation over seeds of the test accuracy and regret after
    ``queries`` queries (default: all), one row per (dataset, strategy)."""
    queries = frame.columns[-1] if queries is None else queries
    acc, reg = frame[queries], test_regret(frame)[queries]
    keys = ["dataset", "strategy"]
    out = pd.DataFrame({"test acc mean": acc.groupby(level=keys, sort=False).mean(),
                        "test acc std": acc.groupby(level=keys, sort=False).std(),
                        "regret mean": reg.groupby(level=keys, sort=False).mean(),
                        "regret std": reg.groupby(level=keys, sort=False).std(),
                        "runs": acc.groupby(level=keys, sort=False).size()})
    return out


def nb201_local_optima(values: np.ndarray) -> np.ndarray:
    """Which NAS-Bench-201 cells are strict local maxima of ``values`` (one value per cell,
    in benchmark index order): every cell that differs on one edge has a lower value."""
    from nascourse.spaces import nb201

    values = check_array("values", values, finite=False)
    if values.shape != (nb201.NUM_CELLS,):
        raise ValueError(f"need one value per cell, shape ({nb201.NUM_CELLS},), got {values.shape}")
    n_ops, n_edges = len(nb201.OPS), len(nb201.EDGES)
    ids = np.array([cell.op_ids() for cell in nb201.all_cells()])
    weights = n_ops ** np.arange(n_edges)
    index_of_code = np.empty(nb201.NUM_CELLS, dtype=np.int64)
    index_of_code[ids @ weights] = np.arange(nb201.NUM_CELLS)
    best_neighbour = np.full(nb201.NUM_CELLS, -np.inf)
    for edge in range(n_edges):
        for shift in range(1, n_ops):
            changed = ids.copy()
            changed[:, edge] = (changed[:, edge] + shift) % n_ops
            best_neighbour = np.maximum(best_neighbour, values[index_of_code[changed @ weights]])
    return values > best_neighbour
