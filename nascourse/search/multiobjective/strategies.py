r"""Multi-objective and constrained search strategies on NAS-Bench-201 (chapter 09).

Every strategy has chapter 03's shape, ``strategy(objective, budget, seed, ...,
executor=None) -> History``, and runs through :func:`nascourse.search.base.run` (so it
evaluates serially or on any executor, and records failures). A multi-objective
``objective`` returns a dict whose entries ``objective.names`` form the objective vector,
with directions ``objective.maximize`` (see
:class:`~nascourse.search.multiobjective.hardware.HardwareObjective`).

Multi-objective strategies (:data:`MO_STRATEGIES`):

- ``'random'``: chapter 03's random search (it never reads the scores);
- ``'evolution'``: multi-objective regularised evolution
  (:func:`mo_regularized_evolution`): chapter 03's ageing evolution whose tournament
  ranks the sampled members by Pareto rank in the population, then by crowding distance;
- ``'nsga2'``: NSGA-II (Deb et al. 2002) as Optuna's ``NSGAIISampler`` implements it,
  driven through Optuna's ask-and-tell interface (:func:`nsga2`).

Constrained single-objective strategies (:data:`CONSTRAINED_STRATEGIES`): the best
accuracy under a cost budget :math:`T`, three ways, all on chapter 03's regularised
evolution: ``'rejection'`` (infeasible cells are never proposed: the cost is a cheap
look-up known before training), ``'penalty'`` (:class:`PenaltyObjective`) and
``'mnasnet'`` (MnasNet's soft reward, :class:`MnasNetObjective`). Read their result with
:func:`best_feasible`.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import math
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from nascourse._checks import check_int, check_number, check_sequence, check_type
from nascourse.registry import Registry
from nascourse.rng import as_generator
from nascourse.search.base import Evaluation, History, NB201Space, SearchSpace, run
from nascourse.search.blackbox import random_search, regularized_evolution
from nascourse.search.experiments import check_options
from nascourse.search.multiobjective.hardware import objective_values
from nascourse.search.multiobjective.pareto import (crowding_distance, hypervolume, non_dominated_sort,
                                                    pareto_front, to_minimisation)
from nascourse.search.optuna_search import OptunaProposer, quiet_optuna

__all__ = ["CONSTRAINED_STRATEGIES", "MO_STRATEGIES", "FeasibleSpace", "MnasNetObjective", "PenaltyObjective",
           "best_feasible", "compare_hypervolume", "feasible_trajectory", "hypervolume_trajectory", "mnasnet_reward",
           "mnasnet_search", "mo_regularized_evolution", "nsga2", "penalty_search", "rejection_search"]

#: Multi-objective strategies by name.
MO_STRATEGIES: Registry[Callable[..., History]] = Registry("multi-objective strategy")
#: Constrained single-objective strategies by name.
CONSTRAINED_STRATEGIES: Registry[Callable[..., History]] = Registry("constrained strategy")

MO_STRATEGIES.add("random", random_search)


def _directions(objective: Any, names: Sequence[str] | None,
                maximize: Sequence[bool] | None) -> tuple[tuple[str, ...], np.ndarray]:
    """The objective vector's names and directions: given, or the objective's own."""
    names = getattr(objective, "names", None) if names is None else names
    maximize = getattr(objective, "maximize", None) if maximize is None else maximize
    if names is None or maximize is None:
        raise ValueError("the objective has no 'names' and 'maximize' attributes (as a HardwareObjective "
                         "has): pass names=... and maximize=... to say which entries of its dict to optimise")
    names = tuple(check_sequence("names", names, str, min_length=1))
    flags = check_sequence("maximize", maximize, (bool, np.bool_), what="bool (one per objective)")
    if len(flags) != len(names):
        raise ValueError(f"maximize must hold one bool per name in {names}, got {flags}")
    return names, np.array(flags, dtype=bool)


class _MOEvolution:
    """Multi-objective regularised evolution as a proposer (see :func:`mo_regularized_evolution`)."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, population_size: int, sample_size: int,
                 names: tuple[str, ...], maximize: np.ndarray):
        self.space, self.rng = space, rng
        self.population_size, self.sample_size = population_size, sample_size
        self.names, self.maximize = names, maximize
        self.population: collections.deque[Evaluation] = collections.deque()
        self.seen = self.proposed = 0

    def __call__(self, history: History) -> Any:
        for ev in history.evaluations[self.seen:]:
            if ev.ok:
                self.population.append(ev)
                if len(self.population) > self.population_size:
                    self.population.popleft()  # ageing: the oldest dies
        self.seen = len(history)
        self.proposed += 1
        if self.proposed <= self.population_size or not self.population:
            return self.space.sample(self.rng)
        Y = to_minimisation([[e.info[n] for n in self.names] for e in self.population], self.maximize)
        ranks = non_dominated_sort(Y)
        crowding = np.zeros(len(Y))
        for r in np.unique(ranks):
            members = np.flatnonzero(ranks == r)
            crowding[members] = crowding_distance(Y[members])
        picks = self.rng.choice(len(Y), size=min(self.sample_size, len(Y)), replace=False)
        winner = min(picks, key=lambda i: (ranks[i], -crowding[i]))  # ties: the first drawn
        return self.space.mutate(self.population[winner].arch, self.rng)


@MO_STRATEGIES.register("evolution")
def mo_regularized_evolution(objective: Callable, budget: int, seed: int | np.random.Generator = 0,
                             population_size: int = 20, sample_size: int = 5,
                             names: Sequence[str] | None = None, maximize: Sequence[bool] | None = None,
                             space: SearchSpace | None = None, executor: cf.Executor | None = None,
                             max_in_flight: int | None = None,
                             callback: Callable[[Evaluation], None] | None = None) -> History:
    """Multi-objective regularised evolution.

    As chapter 03's regularised evolution (Real et al. 2019): ``population_size`` random
    cells, then each proposal mutates the winner of a tournament among ``sample_size``
    members drawn from the population, and the oldest member dies when a new one joins.
    The tournament is NSGA-II's crowded comparison: the member with the lowest Pareto
    rank in the current population wins (:func:`non_dominated_sort`), ties go to the
    larger crowding distance within its rank (:func:`crowding_distance`), which favours
    the less explored parts of the front. (Selection by hypervolume contribution is the
    alternative; crowding needs no reference point.) ``names``/``maximize`` default to
    the objective's own attributes.
    """
    population_size = check_int("population_size", population_size)
    sample_size = check_int("sample_size", sample_size)
    names, flags = _directions(objective, names, maximize)
    proposer = _MOEvolution(NB201Space() if space is None else space, as_generator(seed), population_size,
                            sample_size, names, flags)
    return run(proposer, objective, budget, executor, max_in_flight, callback)


@MO_STRATEGIES.register("nsga2")
def nsga2(objective: Callable, budget: int, seed: int | np.random.Generator = 0, population_size: int = 20,
          names: Sequence[str] | None = None, maximize: Sequence[bool] | None = None,
          executor: cf.Executor | None = None, max_in_flight: int | None = None,
          callback: Callable[[Evaluation], None] | None = None, **sampler_options) -> History:
    """NSGA-II (Deb et al. 2002) through Optuna's ``NSGAIISampler`` on the NAS-Bench-201 cells.

    Each generation of ``population_size`` children is bred from the parents chosen by
    non-dominated sorting and crowding distance, with Optuna's default uniform crossover
    of the six categorical edge parameters and random mutation; ``sampler_options`` go to
    the sampler (e.g. ``mutation_prob``, ``crossover_prob``). The sampler is seeded from
    ``seed``, so a run is reproducible. Only the search space adapter is ours: Optuna asks
    for ``edge0..edge5``, the objective is the same as for the other strategies.
    """
    import optuna

    population_size = check_int("population_size", population_size, minimum=2)
    names, flags = _directions(objective, names, maximize)
    sampler_seed = int(as_generator(seed).integers(2**31))  # a draw even from an int seed (unlike 'tpe')
    with quiet_optuna():  # no line per trial, no ExperimentalWarning
        sampler = optuna.samplers.NSGAIISampler(population_size=population_size, seed=sampler_seed,
                                                **sampler_options)
        study = optuna.create_study(directions=["maximize" if f else "minimize" for f in flags], sampler=sampler)
        proposer = OptunaProposer(study, values=lambda ev: [ev.info[n] for n in names])
        return run(proposer, objective, budget, executor, max_in_flight, callback)


def _reference(objective: Any, reference: Sequence[float] | None) -> Sequence[float]:
    """``reference``, or the objective's own reference point when it is None."""
    if reference is not None:
        return reference
    if not callable(getattr(objective, "reference_point", None)):
        raise ValueError("pass reference=...: the objective has no reference_point() method")
    return objective.reference_point()


def hypervolume_trajectory(history: History, objective: Any = None, reference: Sequence[float] | None = None,
                           names: Sequence[str] | None = None,
                           maximize: Sequence[bool] | None = None) -> np.ndarray:
    """After each evaluation of ``history``, the hypervolume of everything found so far.

    The objective vector is ``names``/``maximize`` (default: ``objective.names`` and
    ``objective.maximize``); ``reference`` defaults to ``objective.reference_point()``,
    fixed for the whole table so that runs compare. Failed evaluations repeat the
    previous value (0 before the first success).
    """
    names, flags = _directions(objective, names, maximize)
    reference = _reference(objective, reference)
    Y = objective_values(history, names, failed="nan")
    out = np.zeros(len(Y))
    front = np.empty((0, len(names)))
    value = 0.0
    for i, row in enumerate(Y):
        if not np.isnan(row).any():
            candidate = np.vstack([front, row])
            keep = pareto_front(candidate, flags, keep_duplicates=False)
            if keep[-1]:  # the new point is on the front: the hypervolume grows
                front = candidate[keep]
                value = hypervolume(front, reference, flags)
        out[i] = value
    return out


def compare_hypervolume(strategies: Iterable[str], objective: Any, seeds: Iterable[int] = range(30),
                        budget: int = 200, options: Mapping[str, dict] | None = None,
                        reference: Sequence[float] | None = None) -> pd.DataFrame:
    """Hypervolume trajectories of :data:`MO_STRATEGIES` over seeds.

    One row per (strategy, seed), one column per query (``1..budget``) holding the
    hypervolume of everything found so far (:func:`hypervolume_trajectory`, against
    ``reference`` or ``objective.reference_point()``). ``options`` maps a strategy name to
    extra keyword arguments. ``frame.attrs['seconds']`` holds each strategy's wall time.
    """
    strategies, seeds = list(strategies), [check_int("seed", s, minimum=0) for s in seeds]
    budget = check_int("budget", budget)
    options = check_options(options, strategies)
    functions = {name: MO_STRATEGIES.get(name) for name in strategies}  # unknown names fail here
    reference = _reference(objective, reference)
    rows, seconds = [], {}
    for name, fn in functions.items():
        start = time.perf_counter()
        for seed in seeds:
            history = fn(objective, budget, seed=seed, **options.get(name, {}))
            rows.append(hypervolume_trajectory(history, objective, reference))
        seconds[name] = time.perf_counter() - start
    index = pd.MultiIndex.from_product([strategies, seeds], names=["strategy", "seed"])
    frame = pd.DataFrame(np.array(rows), index=index, columns=pd.RangeIndex(1, budget + 1, name="queries"))
    frame.attrs["seconds"] = seconds
    return frame


# ----- constrained single-objective search --------------------------------------------------------

def mnasnet_reward(accuracy, cost, target: float, alpha: float = -0.07, beta: float = -0.07):
    r"""MnasNet's reward (Tan et al. 2019):

    .. math:: \mathrm{ACC}(m) \cdot \Big[\frac{\mathrm{LAT}(m)}{T}\Big]^{w}, \qquad
              w = \begin{cases} \alpha & \mathrm{LAT}(m) \le T \\ \beta & \text{otherwise.} \end{cases}

    The paper's soft constraint is :math:`\alpha = \beta = -0.07`, chosen so that twice
    the latency is worth about 5% more accuracy (:math:`1.05 \cdot 2^{-0.07} \approx 1`);
    :math:`\alpha = 0, \beta = -1` is their hard constraint. Works on numbers and arrays.
    """
    target = check_number("target", target, positive=True)
    alpha = check_number("alpha", alpha, minimum=None)
    beta = check_number("beta", beta, minimum=None)
    cost = np.asarray(cost, dtype=float)
    w = np.where(cost <= target, alpha, beta)
    out = np.asarray(accuracy, dtype=float) * (cost / target) ** w
    return float(out) if out.ndim == 0 else out


class _Scalarised:
    """A multi-objective objective turned into one score; the cost stays in ``info``."""

    def __init__(self, objective: Callable, limit: float, metric: str | None):
        self.objective = objective
        self.limit = check_number("limit", limit, positive=True)
        self.metric = getattr(objective, "metric", None) if metric is None else metric
        check_type("metric", self.metric, str, "a str naming the cost in the objective's dict (e.g. 'latency')")

    def score(self, accuracy: float, cost: float) -> float:
        raise NotImplementedError

    def __call__(self, arch: Any) -> dict:
        result = dict(self.objective(arch))
        result["score"] = self.score(float(result["score"]), float(result[self.metric]))
        return result


class PenaltyObjective(_Scalarised):
    r"""Accuracy minus a penalty for exceeding the cost budget :math:`T`:

    .. math:: s = \mathrm{acc} - \lambda \cdot \max\Big(0, \frac{c - T}{T}\Big),

    so with ``weight`` :math:`\lambda = 100` each 1% over the budget costs one accuracy
    point (accuracies are in %); cells within budget keep their accuracy.
    """

    def __init__(self, objective: Callable, limit: float, weight: float = 100.0, metric: str | None = None):
        super().__init__(objective, limit, metric)
        self.weight = check_number("weight", weight)

    def score(self, accuracy: float, cost: float) -> float:
        return accuracy - self.weight * max(0.0, (cost - self.limit) / self.limit)


class MnasNetObjective(_Scalarised):
    """MnasNet's soft reward :func:`mnasnet_reward` as the score to maximise."""

    def __init__(self, objective: Callable, limit: float, alpha: float = -0.07, beta: float = -0.07,
                 metric: str | None = None):
        super().__init__(objective, limit, metric)
        self.alpha = check_number("alpha", alpha, minimum=None)
        self.beta = check_number("beta", beta, minimum=None)

    def score(self, accuracy: float, cost: float) -> float:
        return mnasnet_reward(accuracy, cost, self.limit, self.alpha, self.beta)


class FeasibleSpace:
    """A search space whose samples, mutations and neighbours all meet a cost budget:
    rejection sampling, with the cost read from ``objective.cost(cells)`` (a look-up or
    a cheap on-device measurement, known before any training). ``max_tries`` bounds the
    redraws; a space with no feasible cell near the parent then samples afresh."""

    def __init__(self, objective: Any, limit: float, space: SearchSpace | None = None, max_tries: int = 1000):
        if not callable(getattr(objective, "cost", None)):
            raise TypeError("objective must have a cost(cells) method (as a HardwareObjective has) "
                            "for rejection sampling")
        self.objective, self.limit = objective, check_number("limit", limit, positive=True)
        self.space = NB201Space() if space is None else space
        self.max_tries = check_int("max_tries", max_tries)

    def feasible(self, arch: Any) -> bool:
        cost = float(self.objective.cost([arch])[0])
        return cost <= self.limit  # NaN (no cost on this device) is infeasible

    def _draw(self, make: Callable[[], Any]) -> Any:
        for _ in range(self.max_tries):
            arch = make()
            if self.feasible(arch):
                return arch
        raise ValueError(f"no cell with cost <= {self.limit} found in {self.max_tries} draws: "
                         "the budget is too tight for this device")

    def sample(self, rng: np.random.Generator) -> Any:
        return self._draw(lambda: self.space.sample(rng))

    def mutate(self, arch: Any, rng: np.random.Generator) -> Any:
        try:
            return self._draw(lambda: self.space.mutate(arch, rng))
        except ValueError:
            return self.sample(rng)

    def neighbours(self, arch: Any) -> list:
        return [a for a in self.space.neighbours(arch) if self.feasible(a)]

    def encode(self, archs: list) -> np.ndarray:
        return self.space.encode(archs)


@CONSTRAINED_STRATEGIES.register("rejection")
def rejection_search(objective: Callable, budget: int, seed: int | np.random.Generator = 0, *, limit: float,
                     population_size: int = 10, sample_size: int = 3, executor: cf.Executor | None = None,
                     max_in_flight: int | None = None,
                     callback: Callable[[Evaluation], None] | None = None) -> History:
    """Best accuracy with cost <= ``limit`` by rejection: regularised evolution on the
    :class:`FeasibleSpace`, so no query is spent on an infeasible cell."""
    return regularized_evolution(objective, budget, seed, population_size=population_size,
                                 sample_size=sample_size, space=FeasibleSpace(objective, limit),
                                 executor=executor, max_in_flight=max_in_flight, callback=callback)


@CONSTRAINED_STRATEGIES.register("penalty")
def penalty_search(objective: Callable, budget: int, seed: int | np.random.Generator = 0, *, limit: float,
                   weight: float = 100.0, population_size: int = 10, sample_size: int = 3,
                   executor: cf.Executor | None = None, max_in_flight: int | None = None,
                   callback: Callable[[Evaluation], None] | None = None) -> History:
    """Best accuracy with cost <= ``limit`` by a penalty: regularised evolution on
    :class:`PenaltyObjective` (``score`` in the history is the penalised accuracy)."""
    return regularized_evolution(PenaltyObjective(objective, limit, weight), budget, seed,
                                 population_size=population_size, sample_size=sample_size,
                                 executor=executor, max_in_flight=max_in_flight, callback=callback)


@CONSTRAINED_STRATEGIES.register("mnasnet")
def mnasnet_search(objective: Callable, budget: int, seed: int | np.random.Generator = 0, *, limit: float,
                   alpha: float = -0.07, beta: float = -0.07, population_size: int = 10, sample_size: int = 3,
                   executor: cf.Executor | None = None, max_in_flight: int | None = None,
                   callback: Callable[[Evaluation], None] | None = None) -> History:
    """Best accuracy with cost <= ``limit`` by MnasNet's soft reward: regularised evolution
    on :class:`MnasNetObjective` (a soft constraint, so the search also visits cells over
    the budget; :func:`best_feasible` picks the answer among those within it)."""
    return regularized_evolution(MnasNetObjective(objective, limit, alpha, beta), budget, seed,
                                 population_size=population_size, sample_size=sample_size,
                                 executor=executor, max_in_flight=max_in_flight, callback=callback)


def best_feasible(history: History, limit: float, metric: str = "latency",
                  accuracy: str = "accuracy") -> Evaluation | None:
    """The evaluation with the highest ``info[accuracy]`` among those with
    ``info[metric] <= limit`` (ties: the earliest); None when no evaluation is feasible."""
    check_type("history", history, History, "a nascourse.search.History")
    limit = check_number("limit", limit, positive=True)
    feasible = [e for e in history if e.ok and e.info[metric] <= limit]
    if not feasible:
        return None
    return max(feasible, key=lambda e: (e.info[accuracy], -e.step))


def feasible_trajectory(history: History, limit: float, metric: str = "latency", accuracy: str = "accuracy",
                        report: str = "test_acc") -> np.ndarray:
    """After each evaluation, ``info[report]`` of the best feasible cell so far (by
    ``info[accuracy]``, cost <= ``limit``); NaN until the first feasible one."""
    check_type("history", history, History, "a nascourse.search.History")
    limit = check_number("limit", limit, positive=True)
    out = np.full(len(history), np.nan)
    best, value = -math.inf, math.nan
    for i, e in enumerate(history):
        if e.ok and e.info[metric] <= limit and e.info[accuracy] > best:
            best, value = e.info[accuracy], e.info[report]
        out[i] = value
    return out
