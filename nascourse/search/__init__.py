"""Search strategies (chapters 03 and 04).

Black-box strategies share one shape: ``strategy(objective, budget, seed, ...,
executor=None) -> History``. See :mod:`nascourse.search.base` for the loop and the
history, :mod:`nascourse.search.blackbox` for the strategies and
:mod:`nascourse.search.objectives` for benchmark look-ups.
"""

from nascourse.search.base import Evaluation, History, NB201Space, run
from nascourse.search.blackbox import (ACQUISITIONS, STRATEGIES, acquisition, bayesian_optimisation,
                                       get_strategy, hyperband, local_search, random_search,
                                       regularized_evolution, successive_halving)
from nascourse.search.objectives import BenchmarkObjective

__all__ = ["ACQUISITIONS", "STRATEGIES", "BenchmarkObjective", "Evaluation", "History", "NB201Space",
           "acquisition", "bayesian_optimisation", "get_strategy", "hyperband", "local_search",
           "random_search", "regularized_evolution", "run", "successive_halving"]
