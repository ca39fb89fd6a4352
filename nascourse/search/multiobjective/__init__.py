"""Multi-objective and hardware-aware search (chapter 09).

- :mod:`~nascourse.search.multiobjective.pareto`: dominance, :func:`pareto_front`,
  :func:`non_dominated_sort`, :func:`crowding_distance`, :func:`hypervolume` and
  :func:`hypervolume_contributions` (tested against moocore);
- :mod:`~nascourse.search.multiobjective.hardware`: :func:`hardware_objective`, the
  (accuracy, latency or energy) objective of NAS-Bench-201 cells on the six HW-NAS-Bench
  devices, :func:`devices_table` (every device's cost side by side) and
  :func:`objective_values` to read a search history as a matrix;
- :mod:`~nascourse.search.multiobjective.latency`: is latency additive? An additive
  :class:`LookupTable` fitted by least squares, :func:`latency_models` (table against a
  GRAF forest per device), :func:`device_table` (one device's table, fitted on all its
  cells) and :func:`expected_cost` (the table's differentiable form for hardware-aware
  one-shot search, the ``'darts_latency'`` method of :mod:`nascourse.search.oneshot`);
- :mod:`~nascourse.search.multiobjective.oneshot_sweep`: :func:`latency_penalty_sweep`,
  that method run over a range of penalty weights, each derived cell looked up;
- :mod:`~nascourse.search.multiobjective.strategies`: multi-objective strategies
  (:data:`MO_STRATEGIES`: random search, multi-objective regularised evolution, NSGA-II
  through Optuna), constrained single-objective search (:data:`CONSTRAINED_STRATEGIES`:
  rejection, a penalty, MnasNet's soft reward) and hypervolume trajectories.

A typical use::

    from nascourse.search import multiobjective as mo

    objective = mo.hardware_objective("pixel3", "latency")
    history = mo.MO_STRATEGIES["nsga2"](objective, budget=200, seed=0)
    Y = mo.objective_values(history, objective.names)
    front = Y[mo.pareto_front(Y, objective.maximize)]
    hv = mo.hypervolume(front, objective.reference_point(), objective.maximize)
"""

from nascourse.search.multiobjective.hardware import (DEVICE_METRICS, DEVICES, HardwareObjective, devices_table,
                                                      hardware_objective, objective_values)
from nascourse.search.multiobjective.latency import LookupTable, device_table, expected_cost, latency_models
from nascourse.search.multiobjective.oneshot_sweep import SHORT_OPS, latency_penalty_sweep, short_cell
from nascourse.search.multiobjective.pareto import (crowding_distance, dominates, front_staircase, hypervolume,
                                                    hypervolume_contributions, non_dominated_sort,
                                                    pareto_front, to_minimisation)
from nascourse.search.multiobjective.strategies import (CONSTRAINED_STRATEGIES, MO_STRATEGIES, FeasibleSpace,
                                                        MnasNetObjective, PenaltyObjective, best_feasible,
                                                        compare_hypervolume, feasible_trajectory,
                                                        hypervolume_trajectory, mnasnet_reward, mnasnet_search,
                                                        mo_regularized_evolution, nsga2, penalty_search,
                                                        rejection_search)

__all__ = ["CONSTRAINED_STRATEGIES", "DEVICES", "DEVICE_METRICS", "FeasibleSpace", "HardwareObjective",
           "LookupTable", "MO_STRATEGIES", "MnasNetObjective", "PenaltyObjective", "SHORT_OPS", "best_feasible", "compare_hypervolume",
           "crowding_distance", "device_table", "devices_table", "dominates", "expected_cost", "feasible_trajectory", "front_staircase", "hardware_objective", "hypervolume",
           "hypervolume_contributions", "hypervolume_trajectory", "latency_models", "latency_penalty_sweep", "mnasnet_reward", "mnasnet_search",
           "mo_regularized_evolution", "non_dominated_sort", "nsga2", "objective_values", "pareto_front",
           "penalty_search", "rejection_search", "short_cell", "to_minimisation"]
