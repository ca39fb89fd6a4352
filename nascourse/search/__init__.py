"""Search strategies (chapters 03 and 04).

Black-box strategies share one shape: ``strategy(objective, budget, seed, ...,
executor=None) -> History``. See :mod:`nascourse.search.base` for the loop and the
history, :mod:`nascourse.search.blackbox` for the strategies (and
:mod:`nascourse.search.surrogates` for the surrogate models of Bayesian optimisation),
:mod:`nascourse.search.objectives` and :mod:`nascourse.search.training` for benchmark
look-ups and real training runs, :mod:`nascourse.search.parallel` for running the
evaluations on a process pool or a Dask cluster, and :mod:`nascourse.search.experiments`
for comparing strategies over many seeds. One-shot strategies on the NAS-Bench-201
supernet (DARTS, GDAS, random search with weight sharing, perturbation-based selection)
are in :mod:`nascourse.search.oneshot` (a new one-shot method is one class registered in
``oneshot.METHODS``). Multi-objective and hardware-aware search (Pareto fronts,
hypervolume, NSGA-II, constrained search, latency models) is in
:mod:`nascourse.search.multiobjective`.
"""

from nascourse.search.base import Evaluation, History, NB201Space, evaluate_all, executor_slots, run
from nascourse.search.blackbox import (ACQUISITIONS, STRATEGIES, acquisition, bayesian_optimisation, get_strategy,
                                       hyperband, hyperband_brackets, local_search, random_search,
                                       regularized_evolution, successive_halving)
from nascourse.search.objectives import BenchmarkObjective
from nascourse.search.optuna_search import optuna_hyperband, tpe_search  # registers 'tpe' (Optuna loads when used)
from nascourse.search.reinforce import reinforce_search  # registers 'reinforce'
from nascourse.search.parallel import DaskExecutor, RestartingProcessPool, SimulatedFailures, dask_executor


#: The surrogate models of Bayesian optimisation, from :mod:`nascourse.search.surrogates` when first used.
SURROGATE_NAMES: tuple[str, ...] = ("SURROGATES", "ForestSurrogate", "GPSurrogate")

#: One-shot names (chapter 04), imported from :mod:`nascourse.search.oneshot` when first used.
ONESHOT_NAMES: tuple[str, ...] = ("SearchSettings", "darts", "gdas", "perturbation_selection",
                                  "random_weight_sharing", "rank_cells", "run_search", "search_data",
                                  "step_memory")


def __getattr__(name: str):
    # The training objective and the one-shot strategies need torch; importing them only
    # when asked keeps the benchmark-only strategies (and their worker processes) light.
    if name == "TrainingObjective":
        from nascourse.search.training import TrainingObjective
        return TrainingObjective
    if name in SURROGATE_NAMES:  # scikit-learn estimators: loaded when first used
        from nascourse.search import surrogates
        return getattr(surrogates, name)
    if name == "multiobjective":  # chapter 09: Optuna and moocore are loaded only when used
        import importlib
        return importlib.import_module("nascourse.search.multiobjective")
    if name == "oneshot" or name in ONESHOT_NAMES:
        import importlib
        module = importlib.import_module("nascourse.search.oneshot")
        return module if name == "oneshot" else getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["ACQUISITIONS", "STRATEGIES", "SURROGATES", "BenchmarkObjective", "DaskExecutor", "Evaluation", "ForestSurrogate",
           "GPSurrogate", "History", "NB201Space", "RestartingProcessPool", "SimulatedFailures",
           "TrainingObjective", "acquisition", "bayesian_optimisation", "dask_executor", "evaluate_all", "executor_slots",
           "get_strategy", "hyperband", "hyperband_brackets", "local_search", "optuna_hyperband", "random_search",
           "regularized_evolution", "reinforce_search", "run", "successive_halving", "tpe_search", *ONESHOT_NAMES]
