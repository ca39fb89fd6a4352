"""Black-box search strategies (chapter 03): random search, regularised evolution, local
search, Bayesian optimisation, successive halving and Hyperband.

Each strategy takes an objective (a callable from an architecture to a score to
maximise, or to a dict with a ``'score'`` and extra information), a budget, a seed and
optionally a ``concurrent.futures.Executor``, and returns a :class:`~nascourse.search.base.History`.

The query-budget strategies are looked up by name in :data:`STRATEGIES` (a
:class:`~nascourse.registry.Registry`), as are the acquisition functions of Bayesian
optimisation (:data:`ACQUISITIONS`) and its surrogate models
(:data:`nascourse.search.surrogates.SURROGATES`).
Regularised evolution and Bayesian optimisation can be *warm-started*: ``init_cells``
are evaluated first, as the start of the initial population or design, and random cells
fill the rest (:func:`check_init_cells`; :mod:`nascourse.search.warmstart` makes such
starts from zero-cost proxies and from a search on another data set).

A new strategy is one function with the shared signature, registered in one line::

    @STRATEGIES.register("greedy")
    def greedy(objective, budget, seed=0, space=None, executor=None, max_in_flight=None,
               callback=None) -> History:
        ...

after which ``get_strategy("greedy")`` and :func:`nascourse.search.experiments.compare`
find it (``tests/test_search_blackbox.py`` adds a toy one this way).

The loops are written here; the surrogate models (:mod:`nascourse.search.surrogates`)
are scikit-learn regressors and the normal distribution of the acquisition functions
comes from scipy (both imported where they are used, so that a worker process that only
evaluates architectures does not load them).
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import functools
import math
from typing import Any, Callable, Sequence

import numpy as np

from nascourse._checks import check_int, check_number, check_sequence
from nascourse.registry import Registry
from nascourse.rng import as_generator as as_rng
from nascourse.search.base import Evaluation, History, NB201Space, SearchSpace, evaluate_all, run
from nascourse.spaces import nb201

#: The query-budget strategies, ``strategy(objective, budget, seed, ..., space, executor,
#: max_in_flight, callback) -> History``: ``random``, ``evolution``, ``local``, ``bo``.
STRATEGIES: Registry[Callable[..., History]] = Registry("strategy")
#: Acquisition functions, ``f(mean, std, best, rng, xi, kappa) -> values`` (higher is better).
ACQUISITIONS: Registry[Callable[..., np.ndarray]] = Registry("acquisition")


@functools.cache
def _blas_controller():
    import scipy.linalg  # noqa: F401  (scipy ships its own BLAS: load it first, so that it is limited too)
    from threadpoolctl import ThreadpoolController
    return ThreadpoolController()


def _one_blas_thread():
    """A context in which BLAS uses one thread (the surrogates' matrices are tiny)."""
    return _blas_controller().limit(limits=1, user_api="blas")


def _space(space: SearchSpace | None) -> SearchSpace:
    return NB201Space() if space is None else space


def check_init_cells(init_cells: Sequence | None, space: SearchSpace, budget: int) -> list:
    """``init_cells`` (the cells a strategy evaluates first) as a list, checked against the
    search space and the budget; ``None`` is an empty list.

    On the NAS-Bench-201 space (:class:`~nascourse.search.base.NB201Space` and any space
    with a ``position`` method, such as :class:`~nascourse.predictors.experiments.CellSubset`,
    which also checks that each cell lies in it) the cells must be
    :class:`nascourse.spaces.nb201.Cell` objects (a TypeError otherwise); on any other space
    they must be accepted by ``space.encode``. Repeated cells (each would cost a query and
    teach nothing) and more cells than ``budget`` are a ValueError.
    """
    budget = check_int("budget", budget)
    if init_cells is None:
        return []
    if isinstance(space, NB201Space) or hasattr(space, "position"):
        cells = check_sequence("init_cells", init_cells, nb201.Cell,
                               "nascourse.spaces.nb201.Cell (a cell of the NAS-Bench-201 space)")
        for cell in cells:
            if hasattr(space, "position"):
                space.position(cell)   # a ValueError for a cell outside the subset
    else:
        cells = check_sequence("init_cells", init_cells, object)
        try:
            space.encode(cells)
        except Exception as exc:
            raise TypeError(f"init_cells must be architectures of the search space {space!r}; "
                            f"encoding them failed: {exc}") from exc
    if len(cells) > budget:
        raise ValueError(f"init_cells holds {len(cells)} cells, more than the budget of {budget} queries")
    if len(set(cells)) != len(cells):
        raise ValueError("init_cells repeats a cell; give each cell once")
    return cells


@STRATEGIES.register("random")
def random_search(objective: Callable, budget: int, seed: int = 0, space: SearchSpace | None = None,
                  executor: cf.Executor | None = None, max_in_flight: int | None = None,
                  callback: Callable[[Evaluation], None] | None = None) -> History:
    """Evaluate ``budget`` architectures drawn uniformly at random. (``callback``, as for
    every strategy, is called with each evaluation as it is recorded: e.g. to save it.)"""
    rng, space = as_rng(seed), _space(space)
    return run(lambda history: space.sample(rng), objective, budget, executor, max_in_flight, callback)


class _Evolution:
    """Regularised (ageing) evolution of Real et al. (2019) as a proposer."""

    def __init__(self, space: SearchSpace, rng: np.random.Generator, population_size: int, sample_size: int,
                 init_cells: Sequence = ()):
        self.space, self.rng = space, rng
        self.population_size, self.sample_size = population_size, sample_size
        self.init_cells = list(init_cells)
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
        if self.proposed <= len(self.init_cells):  # a warm start: the given cells come first
            return self.init_cells[self.proposed - 1]
        if self.proposed <= max(self.population_size, len(self.init_cells)) or not self.population:
            return self.space.sample(self.rng)
        k = min(self.sample_size, len(self.population))
        picks = self.rng.choice(len(self.population), size=k, replace=False)
        parent = max((self.population[i] for i in picks), key=lambda e: e.score)
        return self.space.mutate(parent.arch, self.rng)


@STRATEGIES.register("evolution")
def regularized_evolution(objective: Callable, budget: int, seed: int = 0, population_size: int = 10,
                          sample_size: int = 3, space: SearchSpace | None = None,
                          executor: cf.Executor | None = None, max_in_flight: int | None = None,
                          callback: Callable[[Evaluation], None] | None = None,
                          init_cells: Sequence | None = None) -> History:
    """Regularised evolution: tournament selection of a parent among ``sample_size``
    random members of the population, one mutation, and ageing (the oldest member is
    removed). The defaults are those used for NAS-Bench-201's baseline.

    ``init_cells`` (a warm start, checked by :func:`check_init_cells`) are evaluated first,
    in order, each costing a query; random cells fill the initial population up to
    ``population_size``. With more cells than that, all are evaluated before the first
    mutation and ageing keeps the last ``population_size``. Without ``init_cells`` the
    search is exactly the random-start one."""
    population_size, sample_size = check_int("population_size", population_size), check_int("sample_size", sample_size)
    space = _space(space)
    init_cells = check_init_cells(init_cells, space, budget)
    proposer = _Evolution(space, as_rng(seed), population_size, sample_size, init_cells)
    return run(proposer, objective, budget, executor, max_in_flight, callback)


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


@STRATEGIES.register("local")
def local_search(objective: Callable, budget: int, seed: int = 0, space: SearchSpace | None = None,
                 executor: cf.Executor | None = None, max_in_flight: int | None = None,
                 callback: Callable[[Evaluation], None] | None = None) -> History:
    """Local search: from a random start, evaluate neighbours in random order and move to
    the first better one; restart at random from a local optimum."""
    return run(_LocalSearch(_space(space), as_rng(seed)), objective, budget, executor, max_in_flight, callback)


@ACQUISITIONS.register("ei")
def expected_improvement(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                         xi: float, kappa: float) -> np.ndarray:
    """Expected improvement, ``E[max(f - best - xi, 0)]`` for ``f ~ N(mean, std^2)``."""
    from scipy import stats  # imported here, so that worker processes that only train stay light

    z = (mean - best - xi) / std
    return (mean - best - xi) * stats.norm.cdf(z) + std * stats.norm.pdf(z)


@ACQUISITIONS.register("pi")
def probability_of_improvement(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                               xi: float, kappa: float) -> np.ndarray:
    """Probability of improvement, ``P(f > best + xi)``."""
    from scipy import stats

    return stats.norm.cdf((mean - best - xi) / std)


@ACQUISITIONS.register("ucb")
def upper_confidence_bound(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                           xi: float, kappa: float) -> np.ndarray:
    """Upper confidence bound, ``mean + kappa * std``."""
    return mean + kappa * std


@ACQUISITIONS.register("ts")
def thompson_sample(mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                    xi: float, kappa: float) -> np.ndarray:
    """A Thompson sample from the Gaussian ``N(mean, std^2)`` of each candidate."""
    return rng.normal(mean, std)


def acquisition(name: str, mean: np.ndarray, std: np.ndarray, best: float, rng: np.random.Generator,
                xi: float = 0.01, kappa: float = 2.0) -> np.ndarray:
    """Acquisition values (higher is better) for maximisation, by the name of an entry of
    :data:`ACQUISITIONS`: ``ei`` (expected improvement, ``E[max(f - best - xi, 0)]``),
    ``pi`` (probability of improvement ``P(f > best + xi)``), ``ucb`` (``mean + kappa *
    std``) or ``ts`` (a Thompson sample from the Gaussian ``N(mean, std^2)``). Standard
    deviations below 1e-9 count as 1e-9."""
    function = ACQUISITIONS.get(name)
    xi = check_number("xi", xi, minimum=None)
    kappa = check_number("kappa", kappa)
    return function(np.asarray(mean, dtype=float), np.maximum(std, 1e-9), best, rng, xi, kappa)


class _BayesOpt:
    """Model-based proposals: fit a surrogate on the evaluated encodings, score candidate
    architectures made by mutating the best ones (as BANANAS does) and by random sampling,
    and propose the candidates that maximise the acquisition function, best first, until
    the next refit."""

    def __init__(self, space, rng, n_init, surrogate, acq, n_candidates, refit_every, init_cells=()):
        from nascourse.search.surrogates import SURROGATES  # scikit-learn: loaded only when BO runs

        self.space, self.rng = space, rng
        self.init_cells = list(init_cells)  # proposed first (a warm start), consumed in order
        self.n_init, self.acq = n_init, acq
        self.n_candidates, self.refit_every = n_candidates, refit_every
        self.model = SURROGATES.get(surrogate)(random_state=int(rng.integers(2**31)))
        self.proposed: set = set()
        self.queue: list = []
        self.fitted_at = -1

    def _fresh(self, make: Callable[[], Any], tries: int = 50) -> Any:
        arch = make()
        for _ in range(tries):
            if arch not in self.proposed:
                break
            arch = make()
        return arch

    def _next_batch(self, ok: list[Evaluation]) -> list:
        with _one_blas_thread():  # small matrices: threads only add overhead
            self.model.fit(self.space.encode([e.arch for e in ok]), np.array([e.score for e in ok]))
            self.fitted_at = len(ok)
            best = max(e.score for e in ok)
            parents = sorted(ok, key=lambda e: e.score, reverse=True)[:10]
            candidates = {self.space.mutate(parents[int(self.rng.integers(len(parents)))].arch, self.rng)
                          for _ in range(self.n_candidates)}
            candidates |= {self.space.sample(self.rng) for _ in range(self.n_candidates // 4)}
            candidates = sorted(c for c in candidates if c not in self.proposed)  # no set order
            if not candidates:
                return []
            mean, std = self.model.predict(self.space.encode(candidates), return_std=True)
            values = acquisition(self.acq, mean, std, best, self.rng)
        order = np.argsort(-values, kind="stable")[:self.refit_every]
        return [candidates[i] for i in order]

    def __call__(self, history: History) -> Any:
        ok = history.successful()
        if self.init_cells:
            arch = self.init_cells.pop(0)
        elif len(self.proposed) < self.n_init or len(ok) < 2:
            arch = self._fresh(lambda: self.space.sample(self.rng))
        else:
            if not self.queue or len(ok) - self.fitted_at >= self.refit_every:
                self.queue = self._next_batch(ok)
            self.queue = [a for a in self.queue if a not in self.proposed]
            arch = self.queue.pop(0) if self.queue else self._fresh(lambda: self.space.sample(self.rng))
        self.proposed.add(arch)
        return arch


@STRATEGIES.register("bo")
def bayesian_optimisation(objective: Callable, budget: int, seed: int = 0, n_init: int = 10,
                          surrogate: str = "gp", acquisition_function: str = "ei",
                          n_candidates: int = 100, refit_every: int = 10, space: SearchSpace | None = None,
                          executor: cf.Executor | None = None, max_in_flight: int | None = None,
                          callback: Callable[[Evaluation], None] | None = None,
                          init_cells: Sequence | None = None) -> History:
    """Bayesian optimisation over architectures.

    The initial design is ``n_init`` architectures: the ``init_cells`` first (a warm
    start, checked by :func:`check_init_cells`; each costs a query, and all are evaluated
    even when there are more than ``n_init``), then random ones. Without ``init_cells`` it
    is exactly the random design. After it, a surrogate is fitted to the results:
    ``'gp'`` (a Gaussian process with a kernel of the Hamming distance between cells, see
    :class:`~nascourse.search.surrogates.GPSurrogate`), ``'forest'`` (a random forest
    whose trees' spread is the uncertainty, see
    :class:`~nascourse.search.surrogates.ForestSurrogate`) or any other entry of
    :data:`~nascourse.search.surrogates.SURROGATES`. The acquisition function (``'ei'``,
    ``'pi'``, ``'ucb'``, ``'ts'``) is maximised over ``n_candidates`` single-edge mutations
    of the ten best cells plus ``n_candidates // 4`` random cells. The surrogate is refitted
    after every ``refit_every`` new results; in between, the next-best candidates of the
    last round are proposed, so each round proposes a batch of ``refit_every`` (BANANAS
    proposes ten per round). ``refit_every=1`` is classic sequential BO.
    """
    from nascourse.search.surrogates import SURROGATES  # scikit-learn: loaded only when BO runs

    SURROGATES.get(surrogate), ACQUISITIONS.get(acquisition_function)  # unknown names fail here
    n_init, n_candidates, refit_every = (check_int(name, value) for name, value in
                                         (("n_init", n_init), ("n_candidates", n_candidates), ("refit_every", refit_every)))
    space = _space(space)
    init_cells = check_init_cells(init_cells, space, budget)
    proposer = _BayesOpt(space, as_rng(seed), n_init, surrogate, acquisition_function,
                         n_candidates, refit_every, init_cells)
    return run(proposer, objective, budget, executor, max_in_flight, callback)


class _AtFidelity:
    """A picklable ``arch -> objective(arch, fidelity)``."""

    def __init__(self, objective: Callable, fidelity: float):
        self.objective, self.fidelity = objective, fidelity

    def __call__(self, arch: Any) -> Any:
        return self.objective(arch, self.fidelity)


def _check_fidelities(min_fidelity: float, max_fidelity: float, eta: int) -> None:
    check_int("eta", eta, minimum=2)
    check_number("min_fidelity", min_fidelity, positive=True)
    check_number("max_fidelity", max_fidelity, positive=True)
    if min_fidelity > max_fidelity:
        raise ValueError(f"need min_fidelity <= max_fidelity, got {min_fidelity} and {max_fidelity}")


def successive_halving(objective: Callable, n_archs: int, min_fidelity: float, max_fidelity: float,
                       eta: int = 3, seed: int = 0, space: SearchSpace | None = None,
                       executor: cf.Executor | None = None, archs: list | None = None,
                       history: History | None = None, extra: dict | None = None) -> History:
    """Successive halving (Jamieson & Talwalkar 2016): evaluate ``n_archs`` random
    architectures (or the given ``archs``) at ``min_fidelity`` (e.g. epochs), keep the best
    ``1/eta`` of them, multiply the fidelity by ``eta``, and repeat until ``max_fidelity``.

    ``objective(arch, fidelity)`` returns the score at that fidelity. Every evaluation is
    recorded with ``info['fidelity']`` (and ``extra``); failures are dropped from the next
    rung. With an executor, the evaluations of a rung run in parallel.
    """
    check_int("n_archs", n_archs)
    _check_fidelities(min_fidelity, max_fidelity, eta)
    rng, space = as_rng(seed), _space(space)
    history = History() if history is None else history
    current = list(archs) if archs is not None else [space.sample(rng) for _ in range(n_archs)]
    fidelity = min_fidelity
    while current:
        results = evaluate_all(_AtFidelity(objective, fidelity), current, history, executor)
        for ev in results:
            ev.info.update(fidelity=fidelity, **(extra or {}))
        ok = sorted((e for e in results if e.ok), key=lambda e: e.score, reverse=True)
        if fidelity >= max_fidelity or len(ok) <= 1:
            break
        current = [e.arch for e in ok[:max(1, len(ok) // eta)]]
        fidelity = min(max_fidelity, fidelity * eta)
    return history


def hyperband_brackets(min_fidelity: float, max_fidelity: float, eta: int = 3) -> list[tuple[int, float]]:
    """The (number of architectures, starting fidelity) of each Hyperband bracket, from the
    most exploratory to plain full-fidelity evaluation. Integer fidelities stay integers."""
    _check_fidelities(min_fidelity, max_fidelity, eta)
    s_max = int(math.floor(math.log(max_fidelity / min_fidelity, eta) + 1e-9))
    out = []
    for s in range(s_max, -1, -1):
        n = int(math.ceil((s_max + 1) / (s + 1) * eta**s))
        start = max_fidelity * eta**-s
        if isinstance(min_fidelity, int) and isinstance(max_fidelity, int):
            start = max(min_fidelity, int(round(start)))
        out.append((n, start))
    return out


def hyperband(objective: Callable, min_fidelity: float, max_fidelity: float, eta: int = 3, seed: int = 0,
              space: SearchSpace | None = None, executor: cf.Executor | None = None) -> History:
    """Hyperband (Li et al. 2018): successive halving brackets that trade the number of
    architectures against the starting fidelity, from many cheap runs to a few full ones
    (:func:`hyperband_brackets`). Evaluations carry ``info['bracket']``."""
    rng, history = as_rng(seed), History()
    for bracket, (n, start) in enumerate(hyperband_brackets(min_fidelity, max_fidelity, eta)):
        successive_halving(objective, n, start, max_fidelity, eta, rng, space, executor,
                           history=history, extra={"bracket": bracket})
    return history


def get_strategy(name: str) -> Callable[..., History]:
    """A query-budget strategy by name: one of :data:`STRATEGIES` (``random``,
    ``evolution``, ``local``, ``bo``, and any registered later)."""
    return STRATEGIES.get(name)
