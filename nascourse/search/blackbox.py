"""Black-box search strategies (chapter 03): random search, regularised evolution, local
search, Bayesian optimisation, successive halving and Hyperband.

Each strategy takes an objective (a callable from an architecture to a score to
maximise, or to a dict with a ``'score'`` and extra information), a budget, a seed and
optionally a ``concurrent.futures.Executor``, and returns a :class:`~nascourse.search.base.History`.
The loops are written here; the surrogate models come from scikit-learn and the normal
distribution of the acquisition functions from scipy.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import math
from typing import Any, Callable

import numpy as np
from scipy import stats
from sklearn.ensemble import RandomForestRegressor
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

from nascourse.search.base import (Evaluation, History, NB201Space, SearchSpace, _record,
                                   _timed_call, as_rng, check_budget, run)

ACQUISITIONS = ("ei", "pi", "ucb", "ts")
SURROGATES = ("forest", "gp")


def _space(space: SearchSpace | None) -> SearchSpace:
    return NB201Space() if space is None else space


def random_search(objective: Callable, budget: int, seed: int = 0, space: SearchSpace | None = None,
                  executor: cf.Executor | None = None, max_in_flight: int | None = None) -> History:
    """Evaluate ``budget`` architectures drawn uniformly at random."""
    rng, space = as_rng(seed), _space(space)
    return run(lambda history: space.sample(rng), objective, budget, executor, max_in_flight)


class _Evolution:
    """Regularised (ageing) evolution of Real et al. (2019) as a proposer."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, population_size: int, sample_size: int):
        self.space, self.rng = space, rng
        self.population_size, self.sample_size = population_size, sample_size
        self.population: collections.deque[Evaluation] = collections.deque()
        self.seen = 0
        self.proposed = 0

    def __call__(self, history: History) -> Any:
        for ev in history.evaluations[self.seen:]:
            if ev.ok:
                self.population.append(ev)
                if len(self.population) > self.population_size:
                    self.population.popleft()  # the oldest dies, not the worst
        self.seen = len(history)
        self.proposed += 1
        if self.proposed <= self.population_size or not self.population:
            return self.space.sample(self.rng)
        k = min(self.sample_size, len(self.population))
        picks = self.rng.choice(len(self.population), size=k, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda e: e.score)
        return self.space.mutate(parent.arch, self.rng)


def regularized_evolution(objective: Callable, budget: int, seed: int = 0, population_size: int = 10,
                          sample_size: int = 3, space: SearchSpace | None = None,
                          executor: cf.Executor | None = None, max_in_flight: int | None = None) -> History:
    """Regularised evolution: tournament selection of a parent among ``sample_size``
    random members of the population, one mutation, and ageing (the oldest member is
    removed). The defaults are those used for NAS-Bench-201's baseline."""
    for name, value in (("population_size", population_size), ("sample_size", sample_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    proposer = _Evolution(_space(space), as_rng(seed), population_size, sample_size)
    return run(proposer, objective, budget, executor, max_in_flight)


class _LocalSearch:
    """First-improvement hill climbing over single-edge mutations, with random restarts."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator):
        self.space, self.rng = space, rng
        self.current: Evaluation | None = None
        self.queue: list = []
        self.seen = 0

    def __call__(self, history: History) -> Any:
        for ev in history.evaluations[self.seen:]:
            if not ev.ok:
                continue
            if self.current is None or ev.score > self.current.score:
                self.current = ev
                neighbours = self.space.neighbours(ev.arch)
                self.queue = [neighbours[i] for i in self.rng.permutation(len(neighbours))]
        self.seen = len(history)
        if self.current is not None and not self.queue:  # a local optimum: restart
            self.current = None
        if self.current is None:
            return self.space.sample(self.rng)
        return self.queue.pop()


def local_search(objective: Callable, budget: int, seed: int = 0, space: SearchSpace | None = None,
                 executor: cf.Executor | None = None, max_in_flight: int | None = None) -> History:
    """Local search: from a random start, evaluate neighbours in random order and move to
    the first better one; restart at random from a local optimum."""
    return run(_LocalSearch(_space(space), as_rng(seed)), objective, budget, executor, max_in_flight)


def acquisition(name: str, mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                xi: float = 0.01, kappa: float = 2.0) -> np.ndarray:
    """Acquisition values (higher is better) for maximisation.

    ``ei``: expected improvement, ``E[max(f - best - xi, 0)]``; ``pi``: probability of
    improvement ``P(f > best + xi)``; ``ucb``: ``mean + kappa * std``; ``ts``: a Thompson
    sample from the Gaussian ``N(mean, std^2)``.
    """
    if name not in ACQUISITIONS:
        raise ValueError(f"unknown acquisition {name!r}; valid choices are {list(ACQUISITIONS)}")
    std = np.maximum(std, 1e-9)
    z = (mean - best - xi) / std
    if name == "ei":
        return (mean - best - xi) * stats.norm.cdf(z) + std * stats.norm.pdf(z)
    if name == "pi":
        return stats.norm.cdf(z)
    if name == "ucb":
        return mean + kappa * std
    return rng.normal(mean, std)


def _surrogate(name: str, seed: int):
    if name == "forest":
        return RandomForestRegressor(n_estimators=30, min_samples_leaf=1, max_features=0.5, random_state=seed)
    kernel = ConstantKernel(1.0, (1e-2, 1e2)) * RBF(2.0, (0.3, 30.0)) + WhiteKernel(0.1, (1e-4, 1.0))
    return GaussianProcessRegressor(kernel, normalize_y=True, random_state=seed)


def _predict(model, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    if isinstance(model, RandomForestRegressor):
        X32 = np.ascontiguousarray(X, dtype=np.float32)  # the trees' own input type: skips re-validation
        per_tree = np.stack([tree.tree_.predict(X32).reshape(len(X32), -1)[:, 0] for tree in model.estimators_])
        return per_tree.mean(axis=0), per_tree.std(axis=0)
    return model.predict(X, return_std=True)


class _BayesOpt:
    """Model-based proposals: fit a surrogate on the evaluated encodings, score candidate
    architectures made by mutating the best ones (as BANANAS does) and by random sampling,
    and propose the candidate that maximises the acquisition function."""

    def __init__(self, space, rng, n_init, surrogate, acq, n_candidates, refit_every):
        self.space, self.rng = space, rng
        self.n_init, self.surrogate, self.acq = n_init, surrogate, acq
        self.n_candidates, self.refit_every = n_candidates, refit_every
        self.proposed: set = set()
        self.model, self.fitted_at = None, -1

    def _fresh(self, make: Callable[[], Any], tries: int = 50) -> Any:
        arch = make()
        for _ in range(tries):
            if arch not in self.proposed:
                break
            arch = make()
        return arch

    def __call__(self, history: History) -> Any:
        ok = history.successful()
        if len(self.proposed) < self.n_init or len(ok) < 2:
            arch = self._fresh(lambda: self.space.sample(self.rng))
        else:
            if self.model is None or len(ok) - self.fitted_at >= self.refit_every:
                X = self.space.encode([e.arch for e in ok])
                y = np.array([e.score for e in ok])
                self.model = _surrogate(self.surrogate, int(self.rng.integers(2**31))).fit(X, y)
                self.fitted_at = len(ok)
            best = max(e.score for e in ok)
            parents = sorted(ok, key=lambda e: e.score, reverse=True)[:10]
            candidates = {self.space.mutate(parents[int(self.rng.integers(len(parents)))].arch, self.rng)
                          for _ in range(self.n_candidates)}
            candidates |= {self.space.sample(self.rng) for _ in range(self.n_candidates // 4)}
            candidates = [c for c in candidates if c not in self.proposed] or [self.space.sample(self.rng)]
            candidates.sort(key=str)  # set order must not leak into the result
            mean, std = _predict(self.model, self.space.encode(candidates))
            arch = candidates[int(np.argmax(acquisition(self.acq, mean, std, best, self.rng)))]
        self.proposed.add(arch)
        return arch


def bayesian_optimisation(objective: Callable, budget: int, seed: int = 0, n_init: int = 10,
                          surrogate: str = "forest", acquisition_function: str = "ei",
                          n_candidates: int = 100, refit_every: int = 1, space: SearchSpace | None = None,
                          executor: cf.Executor | None = None, max_in_flight: int | None = None) -> History:
    """Bayesian optimisation over architectures.

    ``surrogate`` is ``'forest'`` (a random forest; its trees' spread is the uncertainty)
    or ``'gp'`` (a Gaussian process with an RBF kernel on the one-hot encoding, i.e. a
    kernel of the Hamming distance between cells). The acquisition function (``'ei'``,
    ``'pi'``, ``'ucb'``, ``'ts'``) is maximised over mutations of the ten best cells plus
    random cells; ``refit_every`` refits the surrogate only after that many new results.
    """
    if surrogate not in SURROGATES:
        raise ValueError(f"unknown surrogate {surrogate!r}; valid choices are {list(SURROGATES)}")
    if acquisition_function not in ACQUISITIONS:
        raise ValueError(f"unknown acquisition {acquisition_function!r}; valid choices are {list(ACQUISITIONS)}")
    for name, value in (("n_init", n_init), ("n_candidates", n_candidates), ("refit_every", refit_every)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    proposer = _BayesOpt(_space(space), as_rng(seed), n_init, surrogate, acquisition_function,
                         n_candidates, refit_every)
    return run(proposer, objective, budget, executor, max_in_flight)


def _evaluate_all(objective: Callable, jobs: list[tuple[Any, float]], history: History,
                  executor: cf.Executor | None) -> list[Evaluation]:
    """Evaluate (arch, fidelity) pairs, in parallel when an executor is given."""
    def call(arch, fidelity):
        return _timed_call(lambda a: objective(a, fidelity), arch)

    out = []
    if executor is None:
        for arch, fidelity in jobs:
            ev = _record(history, arch, lambda: call(arch, fidelity))
            ev.info["fidelity"] = fidelity
            out.append(ev)
        return out
    futures = [executor.submit(_timed_call, _AtFidelity(objective, fidelity), arch) for arch, fidelity in jobs]
    for (arch, fidelity), future in zip(jobs, futures):
        cf.wait([future])
        ev = _record(history, arch, future.result)
        ev.info["fidelity"] = fidelity
        out.append(ev)
    return out


class _AtFidelity:
    """A picklable ``arch -> objective(arch, fidelity)``."""

    def __init__(self, objective: Callable, fidelity: float):
        self.objective, self.fidelity = objective, fidelity

    def __call__(self, arch: Any) -> Any:
        return self.objective(arch, self.fidelity)


def successive_halving(objective: Callable, n_archs: int, min_fidelity: float, max_fidelity: float,
                       eta: int = 3, seed: int = 0, space: SearchSpace | None = None,
                       executor: cf.Executor | None = None, archs: list | None = None,
                       history: History | None = None) -> History:
    """Successive halving (Jamieson & Talwalkar 2016): evaluate ``n_archs`` random
    architectures at ``min_fidelity`` (e.g. epochs), keep the best ``1/eta``, multiply the
    fidelity by ``eta``, and repeat until ``max_fidelity``.

    ``objective(arch, fidelity)`` returns the score at that fidelity. Every evaluation is
    recorded with ``info['fidelity']``; failures are dropped from the next rung.
    """
    check_budget(n_archs)
    if not (isinstance(eta, int) and eta >= 2):
        raise ValueError(f"eta must be an int of at least 2, got {eta!r}")
    if not 0 < min_fidelity <= max_fidelity:
        raise ValueError(f"need 0 < min_fidelity <= max_fidelity, got {min_fidelity} and {max_fidelity}")
    rng, space = as_rng(seed), _space(space)
    history = History() if history is None else history
    current = list(archs) if archs is not None else [space.sample(rng) for _ in range(n_archs)]
    fidelity = min_fidelity
    while current:
        results = _evaluate_all(objective, [(a, fidelity) for a in current], history, executor)
        ok = sorted((e for e in results if e.ok), key=lambda e: e.score, reverse=True)
        if fidelity >= max_fidelity or len(ok) <= 1:
            break
        current = [e.arch for e in ok[:max(1, len(ok) // eta)]]
        fidelity = min(max_fidelity, fidelity * eta)
    return history


def hyperband(objective: Callable, min_fidelity: float, max_fidelity: float, eta: int = 3, seed: int = 0,
              space: SearchSpace | None = None, executor: cf.Executor | None = None) -> History:
    """Hyperband (Li et al. 2018): successive halving brackets that trade the number of
    architectures against the starting fidelity, from many cheap runs to a few full ones."""
    if not 0 < min_fidelity <= max_fidelity:
        raise ValueError(f"need 0 < min_fidelity <= max_fidelity, got {min_fidelity} and {max_fidelity}")
    if not (isinstance(eta, int) and eta >= 2):
        raise ValueError(f"eta must be an int of at least 2, got {eta!r}")
    rng = as_rng(seed)
    s_max = int(math.floor(math.log(max_fidelity / min_fidelity, eta) + 1e-9))
    history = History()
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        successive_halving(objective, n, max_fidelity * eta**-s, max_fidelity, eta, rng, space, executor,
                           history=history)
    return history


STRATEGIES: dict[str, Callable[..., History]] = {
    "random": random_search,
    "evolution": regularized_evolution,
    "local": local_search,
    "bo": bayesian_optimisation,
}


def get_strategy(name: str) -> Callable[..., History]:
    """A query-budget strategy by name (``random``, ``evolution``, ``local``, ``bo``)."""
    if name not in STRATEGIES:
        raise ValueError(f"unknown strategy {name!r}; valid choices are {list(STRATEGIES)}")
    return STRATEGIES[name]
