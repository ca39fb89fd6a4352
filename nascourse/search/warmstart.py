"""Warm starts for black-box search (chapter 05; the strategies are chapter 03's): begin
regularised evolution or Bayesian optimisation from promising cells instead of random ones.

Two sources of promising cells, both on the NAS-Bench-201 table:

- **proxy** (:func:`proxy_start`): draw a random pool of cells, rank it by a precomputed
  zero-cost proxy of the shipped NAS-Bench-Suite-Zero table (chapter 05) and take the top
  ``k``. The pool costs ``pool_size`` proxy evaluations, no training: :func:`proxy_cost`
  measures one in training steps, and :func:`steps_per_query` says how many training
  steps one query (one benchmark training run) stands for, so the pool's cost can be put
  on the query axis.
- **transfer** (:func:`transfer_start`), meta-learning across data sets: the best ``k``
  distinct cells that a search on a source data set (CIFAR-10) found start the search on
  the target (ImageNet16-120). The source search is a finished job whose queries are not
  charged to the target's budget.

A third start, **pool** (:func:`pool_start`), is the control of the proxy start: ``k``
cells of the same pool, unranked. The shipped proxy table covers only the 9,445 cells
without unreachable operations, so drawing from it already avoids degenerate cells that a
random start can draw; comparing the proxy start with the pool start isolates what the
proxy's ranking adds.

Either way the start cells are evaluated first and each costs a query of the target's
budget (``init_cells`` of :func:`~nascourse.search.blackbox.regularized_evolution` and
:func:`~nascourse.search.blackbox.bayesian_optimisation`). :func:`compare_starts` runs
every (strategy, start) over seeds in the layout of
:func:`nascourse.search.experiments.compare`, so that
:func:`~nascourse.search.experiments.test_regret`,
:func:`~nascourse.search.experiments.final_summary` and
:func:`~nascourse.search.experiments.mean_band` apply; :func:`early_regret_test` asks
whether a start lowers the regret of the first queries.

The pool and the source search draw from their own generators, derived from the run's
seed, so a warm-started run and the random-start run of the same seed share no draws.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import stats

from nascourse import benchmarks
from nascourse._checks import check_choice, check_int
from nascourse.rng import as_generator, derived_generator
from nascourse.search.experiments import check_options, compare
from nascourse.search.blackbox import get_strategy
from nascourse.search.objectives import BenchmarkObjective
from nascourse.spaces import nb201

#: How a search starts: ``random`` (the strategy's own start), ``pool`` (the proxy start's
#: control), ``proxy``, ``transfer``.
STARTS: tuple[str, ...] = ("random", "pool", "proxy", "transfer")
#: The strategies that accept ``init_cells``.
WARM_STRATEGIES: tuple[str, ...] = ("evolution", "bo")
#: The default proxy: the best single proxy of chapter 05 on CIFAR-10 (Spearman's rho with
#: validation accuracy 0.82 over the 9,445 cells of the table), second on ImageNet16-120.
DEFAULT_PROXY = "jacov"
#: Epochs of one NAS-Bench-201 training run (one query).
QUERY_EPOCHS = 200
#: Training images behind the score a search selects on: CIFAR-10's validation accuracy
#: comes from training on half of the 50,000 training images; ImageNet16-120 has 151,700
#: (Dong & Yang, 2020).
TRAINING_IMAGES: dict[str, int] = {"cifar10": 25_000, "ImageNet16-120": 151_700}

_POOL_STREAM, _SOURCE_STREAM = 1, 2   # the derived generators of a run's seed


def draw_pool(dataset: str = "cifar10", pool_size: int = 100, seed: int | np.random.Generator = 0) -> np.ndarray:
    """The benchmark indices of ``pool_size`` cells drawn without replacement from the cells
    of the shipped proxy table of ``dataset`` (the 9,445 cells without unreachable
    operations), in the order drawn."""
    index = benchmarks.load_zc_proxies(dataset).index.to_numpy()
    pool_size = check_int("pool_size", pool_size, maximum=len(index))
    return as_generator(seed).choice(index, size=pool_size, replace=False)


def proxy_pool(dataset: str = "cifar10", proxy: str = DEFAULT_PROXY, pool_size: int = 100,
               seed: int | np.random.Generator = 0) -> pd.Series:
    """The ``proxy`` values of the cells of :func:`draw_pool`, best (highest) first; the
    index is the benchmark index."""
    check_choice("proxy", proxy, benchmarks.ZC_PROXIES)
    pool = draw_pool(dataset, pool_size, seed)
    return benchmarks.load_zc_proxies(dataset).loc[pool, proxy].sort_values(ascending=False, kind="stable")


def _check_k(k: int, pool_size: int) -> int:
    k = check_int("k", k)
    if k > pool_size:
        raise ValueError(f"k must be at most pool_size ({pool_size}), got {k}")
    return k


def pool_start(k: int = 10, dataset: str = "cifar10", pool_size: int = 100,
               seed: int | np.random.Generator = 0) -> list[nb201.Cell]:
    """The first ``k`` cells of the pool :func:`proxy_start` ranks (same ``seed``), in the
    order drawn: the control start, without the proxy's ranking."""
    k = _check_k(k, pool_size)
    return [nb201.Cell.from_index(int(i)) for i in draw_pool(dataset, pool_size, seed)[:k]]


def proxy_start(k: int = 10, dataset: str = "cifar10", proxy: str = DEFAULT_PROXY, pool_size: int = 100,
                seed: int | np.random.Generator = 0) -> list[nb201.Cell]:
    """The ``k`` cells of a random pool (:func:`proxy_pool`) with the highest ``proxy``,
    best first."""
    k = _check_k(k, pool_size)
    ranked = proxy_pool(dataset, proxy, pool_size, seed)
    return [nb201.Cell.from_index(int(i)) for i in ranked.index[:k]]


def transfer_start(strategy: str, k: int = 10, seed: int | np.random.Generator = 0, source: str = "cifar10",
                   budget: int = 100, **options) -> list[nb201.Cell]:
    """The ``k`` best distinct cells (by the score the search selects on) of one run of
    ``strategy`` with ``budget`` queries on the ``source`` data set, best first.
    ``options`` go to the strategy."""
    k, budget = check_int("k", k), check_int("budget", budget)
    if k > budget:
        raise ValueError(f"k must be at most the source budget ({budget}), got {k}")
    history = get_strategy(strategy)(BenchmarkObjective(source), budget, seed=seed, **options)
    best: dict[nb201.Cell, float] = {}
    for ev in history.successful():
        best[ev.arch] = max(ev.score, best.get(ev.arch, -math.inf))
    ranked = sorted(best, key=lambda cell: -best[cell])   # stable: ties keep the order of evaluation
    return ranked[:k]


def start_cells(start: str, strategy: str, dataset: str, seed: int, k: int = 10, proxy: str = DEFAULT_PROXY,
                pool_size: int = 100, source: str = "cifar10", source_budget: int = 100,
                **options) -> list[nb201.Cell] | None:
    """The ``init_cells`` of run ``seed`` for ``start`` (``None`` for ``'random'``): the
    proxy pool and the source search use generators derived from ``seed``
    (:func:`nascourse.rng.derived_generator`)."""
    check_choice("start", start, STARTS)
    if start == "random":
        return None
    if start == "pool":
        return pool_start(k, dataset, pool_size, derived_generator(seed, _POOL_STREAM))
    if start == "proxy":
        return proxy_start(k, dataset, proxy, pool_size, derived_generator(seed, _POOL_STREAM))
    if benchmarks.check_dataset(dataset) == benchmarks.check_dataset(source):
        raise ValueError(f"a transfer start needs a target data set other than its source {source!r}")
    return transfer_start(strategy, k, derived_generator(seed, _SOURCE_STREAM), source, source_budget, **options)


def label(strategy: str, start: str) -> str:
    """The ``strategy`` label of a warm-started run in :func:`compare_starts`' table."""
    return f"{strategy}/{start}"


def start_options(name: str, dataset: str, seed: int, settings: Mapping[str, object],
                  options: Mapping[str, dict]) -> dict:
    """The extra keyword arguments of run ``seed`` of the :func:`label` ``name`` on
    ``dataset`` in :func:`compare_starts`: its ``init_cells`` (none for a random start).
    ``settings`` are the keyword arguments of :func:`start_cells` that do not change with
    the run; ``options`` (strategy name -> keyword arguments) also reach a transfer start's
    source search."""
    strategy, start = name.split("/")
    cells = start_cells(start, strategy, dataset, seed, **settings, **options.get(strategy, {}))
    return {} if cells is None else {"init_cells": cells}


def compare_starts(strategies: Iterable[str] = WARM_STRATEGIES, starts: Iterable[str] = STARTS,
                   datasets: Iterable[str] = ("ImageNet16-120",), seeds: Iterable[int] = range(30),
                   budget: int = 100, k: int = 10, proxy: str = DEFAULT_PROXY, pool_size: int = 100,
                   source: str = "cifar10", source_budget: int = 100,
                   options: Mapping[str, dict] | None = None, n_jobs: int = 1) -> pd.DataFrame:
    """Trajectories of every strategy from every start on every data set (a transfer start
    only where the data set is not ``source``), in the layout of
    :func:`nascourse.search.experiments.compare`, which runs them: one row per (dataset,
    strategy, seed), the strategy level labelled ``"<strategy>/<start>"`` (:func:`label`),
    columns ``1..budget`` the incumbent's test accuracy. ``options`` (strategy name ->
    keyword arguments) apply to the target search and to the source search of a transfer
    start. ``attrs['cpu_seconds']`` holds the CPU seconds of each (dataset, label), summed
    over processes (the start cells included, a transfer start's source search too)."""
    strategies, starts = list(strategies), list(starts)
    for name in strategies:
        check_choice("strategy", name, WARM_STRATEGIES)
    for start in starts:
        check_choice("start", start, STARTS)
    datasets = [benchmarks.check_dataset(d) for d in datasets]
    seeds = [check_int("seed", s, minimum=0) for s in seeds]
    budget, n_jobs = check_int("budget", budget), check_int("n_jobs", n_jobs, minimum=-1)
    if len(seeds) < 2:
        raise ValueError(f"give at least two seeds, got {len(seeds)}")
    options = check_options(options, strategies)
    check_choice("proxy", proxy, benchmarks.ZC_PROXIES)
    k, pool_size, source_budget = (check_int(name, v) for name, v in
                                   (("k", k), ("pool_size", pool_size), ("source_budget", source_budget)))
    source = benchmarks.check_dataset(source)
    if k > min(budget, pool_size, source_budget):
        raise ValueError(f"k must be at most budget, pool_size and source_budget, got {k}")
    if "proxy" in starts or "pool" in starts:
        for d in datasets:
            benchmarks.check_dataset(d, benchmarks.ZC_DATASETS)   # proxies are shipped for these only
    settings = {"k": k, "proxy": proxy, "pool_size": pool_size, "source": source, "source_budget": source_budget}
    runs = {label(s, st): s for s in strategies for st in starts}
    return compare(runs, datasets, seeds, budget, n_jobs,
                   options={name: options[s] for name, s in runs.items() if s in options},
                   seed_options=partial(start_options, settings=settings, options=options),
                   skip=lambda d, name: name.endswith("/transfer") and d == source)


def early_regret_test(regret: pd.DataFrame, warm: str, baseline: str, queries: int = 20) -> dict[str, float]:
    """Does the runs' ``warm`` strategy label lower the regret of the first ``queries``
    queries below ``baseline``'s? ``regret`` is a table of
    :func:`~nascourse.search.experiments.test_regret` for one data set (rows indexed by
    strategy label and seed, or with a dataset level holding one data set). Each run is
    summarised by its mean regret over queries 1 to ``queries`` (the area under its
    regret curve there); a one-sided Mann-Whitney U test compares the two groups of runs.
    Returns both means of that summary, the difference (warm minus baseline), U and p."""
    queries = check_int("queries", queries, maximum=int(regret.columns[-1]))
    if "dataset" in regret.index.names:
        if regret.index.unique("dataset").size != 1:
            raise ValueError("regret holds several data sets; pass the rows of one")
        regret = regret.droplevel("dataset")
    names = list(regret.index.unique("strategy"))
    check_choice("warm", warm, names)
    check_choice("baseline", baseline, names)
    early = regret.loc[:, 1:queries].mean(axis=1)
    a, b = early.loc[warm].to_numpy(), early.loc[baseline].to_numpy()
    test = stats.mannwhitneyu(a, b, alternative="less")
    return {"warm": float(a.mean()), "baseline": float(b.mean()), "difference": float(a.mean() - b.mean()),
            "U": float(test.statistic), "p": float(test.pvalue)}


def steps_per_query(dataset: str, batch: int = 64) -> int:
    """Training steps of ``batch`` images in one query: :data:`QUERY_EPOCHS` epochs over the
    :data:`TRAINING_IMAGES` of ``dataset`` (the batch of chapter 05's proxy timing by
    default; NAS-Bench-201 itself trained with 256, which changes the step, not the
    images seen)."""
    check_choice("dataset", dataset, tuple(TRAINING_IMAGES))
    batch = check_int("batch", batch)
    return QUERY_EPOCHS * -(-TRAINING_IMAGES[dataset] // batch)


def proxy_cost(cells: Sequence[nb201.Cell], proxy: str = DEFAULT_PROXY, batch: int = 64,
               repeats: int = 3, seed: int = 0) -> np.ndarray:
    """What scoring ``proxy`` costs, in training steps, for each of ``cells``: the median
    CPU time of the proxy over the median CPU time of one training step
    (:func:`nascourse.proxies.timing.cost_ratio`), for the benchmark's network (C=16, N=5,
    ten classes) on ``batch`` of the shipped CIFAR-10 training images, one thread. The
    ratio stands in for ImageNet16-120 too (its smaller images shrink both times)."""
    import torch

    from nascourse import image_data
    from nascourse.nn import nb201_network
    from nascourse.proxies import timing
    from nascourse.rng import torch_seeded

    check_choice("proxy", proxy, benchmarks.ZC_PROXIES)
    batch, repeats = check_int("batch", batch), check_int("repeats", repeats)
    images, labels = image_data.load_cifar10_subset("train")
    x, y = images[:batch], labels[:batch]
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        ratios = []
        for cell in cells:
            with torch_seeded(seed):
                net = nb201_network(cell, C=16, N=5, num_classes=10).eval()
            ratios.append(timing.cost_ratio(net, x, y, names=[proxy], repeats=repeats).ratio_cpu)
    finally:
        torch.set_num_threads(threads)
    return np.array(ratios)


def pool_cost_in_queries(steps_per_proxy: float, pool_size: int, dataset: str) -> float:
    """The cost of scoring a pool of ``pool_size`` cells, at ``steps_per_proxy`` training
    steps per cell (:func:`proxy_cost`), in queries of ``dataset`` (:func:`steps_per_query`)."""
    pool_size = check_int("pool_size", pool_size)
    return pool_size * float(steps_per_proxy) / steps_per_query(dataset)
