"""Tests of nascourse.search.multiobjective: fronts and hypervolume against moocore and
brute force, the hardware objective, and the multi-objective and constrained strategies."""

import concurrent.futures as cf

import moocore
import numpy as np
import pytest
from sklearn.utils.estimator_checks import parametrize_with_checks

from nascourse.search import History
from nascourse.search import multiobjective as mo
from nascourse.spaces import nb201


def brute_force_front(Y, maximize):
    """Row i is on the front iff no row j is <= in every objective and < in one (chunked)."""
    Z = np.where(maximize, -np.asarray(Y, float), np.asarray(Y, float))
    dominated = np.zeros(len(Z), dtype=bool)
    for start in range(0, len(Z), 512):
        block = Z[start:start + 512, None, :]
        le = np.all(Z[None] <= block, axis=2)
        lt = np.any(Z[None] < block, axis=2)
        dominated[start:start + 512] = np.any(le & lt, axis=1)
    return ~dominated


def random_sets(seed=0, count=120):
    """Random point sets: continuous and on a coarse grid (many ties and duplicates),
    two to four objectives, every mix of directions."""
    rng = np.random.default_rng(seed)
    for k in range(count):
        m, n = int(rng.integers(2, 5)), int(rng.integers(1, 80))
        Y = rng.integers(0, 5, size=(n, m)).astype(float) if k % 2 else rng.normal(size=(n, m))
        if k % 5 == 0 and n > 2:
            Y[: n // 2] = Y[n // 2: 2 * (n // 2)]  # exact duplicates
        yield Y, [bool(b) for b in rng.random(m) < 0.5]


# ----- fronts ------------------------------------------------------------------------------

def test_front_small_example_with_ties_and_duplicates():
    Y = np.array([[1, 1], [0, 1], [1, 0], [1, 0], [0, 2], [2, 2]], float)  # minimise both
    assert mo.pareto_front(Y).tolist() == [False, True, True, True, False, False]
    assert mo.pareto_front(Y, keep_duplicates=False).tolist() == [False, True, True, False, False, False]
    # (0, 1) and (0, 2) tie on the first objective: the second decides
    assert mo.pareto_front(Y, maximize=True).tolist() == [False, False, False, False, False, True]
    assert mo.pareto_front(Y, maximize=[True, False]).tolist() == [False, False, True, True, False, True]


def test_fronts_and_ranks_match_moocore_and_brute_force_on_random_sets():
    for Y, maximize in random_sets():
        mask = mo.pareto_front(Y, maximize)
        assert np.array_equal(mask, moocore.is_nondominated(Y, maximise=maximize, keep_weakly=True))
        assert np.array_equal(mask, brute_force_front(Y, maximize))
        assert np.array_equal(mo.pareto_front(Y, maximize, keep_duplicates=False),
                              moocore.is_nondominated(Y, maximise=maximize))
        assert np.array_equal(mo.non_dominated_sort(Y, maximize), moocore.pareto_rank(Y, maximise=maximize))


@pytest.mark.parametrize("device", mo.DEVICES)
def test_front_equals_brute_force_on_every_device_table(device):
    objective = mo.hardware_objective(device, "latency")
    Y = objective.table()[list(objective.names)].to_numpy()
    mask = mo.pareto_front(Y, objective.maximize)
    assert np.array_equal(mask, brute_force_front(Y, objective.maximize))
    assert 1 <= mask.sum() < 200


def test_crowding_distance_by_hand():
    Y = np.array([[0.0, 4.0], [1.0, 2.0], [3.0, 1.0], [4.0, 0.0]])
    d = mo.crowding_distance(Y)
    assert np.isinf(d[0]) and np.isinf(d[3])
    assert d[1] == pytest.approx(3 / 4 + 3 / 4) and d[2] == pytest.approx(3 / 4 + 2 / 4)
    assert np.all(np.isinf(mo.crowding_distance(Y[:2])))
    assert mo.crowding_distance(np.array([[1.0, 0], [1, 1], [1, 2]]))[1] == pytest.approx(1.0)  # flat objective adds 0


def test_dominates():
    assert mo.dominates([1, 1], [1, 2]) and not mo.dominates([1, 1], [1, 1])
    assert mo.dominates([90.0, 5.0], [80.0, 5.0], maximize=[True, False])


# ----- hypervolume -------------------------------------------------------------------------

def test_hypervolume_by_hand():
    assert mo.hypervolume([[1, 3], [2, 2], [3, 1]], [4, 4]) == pytest.approx(6.0)
    assert mo.hypervolume([[1, 3], [2, 2], [2, 2], [3, 3]], [4, 4]) == pytest.approx(5.0)  # dup + dominated
    assert mo.hypervolume([[90, 5]], [80, 10], maximize=[True, False]) == pytest.approx(50.0)
    assert mo.hypervolume([[0, 0, 0]], [1, 2, 3]) == pytest.approx(6.0)
    assert mo.hypervolume(np.empty((0, 2)), [1, 1]) == 0.0


def test_hypervolume_and_contributions_match_moocore():
    for Y, maximize in random_sets(seed=1):
        reference = np.where(maximize, Y.min(axis=0) - 0.25, Y.max(axis=0) + 0.25)
        expected = moocore.hypervolume(Y, ref=reference, maximise=maximize)
        assert abs(mo.hypervolume(Y, reference, maximize) - expected) <= 1e-9 * max(1.0, expected)
        if Y.shape[1] == 4 and len(Y) > 30:
            continue  # contributions by removal in four objectives are slow; the smaller sets cover it
        assert np.allclose(mo.hypervolume_contributions(Y, reference, maximize),
                           moocore.hv_contributions(Y, ref=reference, maximise=maximize, ignore_dominated=False),
                           rtol=0, atol=1e-9)


def test_hypervolume_ignore_outside_matches_moocore():
    Y = np.array([[1.0, 3], [2, 2], [5, 1], [3, 4]])  # the last two touch or pass the reference
    with pytest.raises(ValueError, match=r"points\[2\].*does not strictly dominate"):
        mo.hypervolume(Y, [4, 4])
    assert mo.hypervolume(Y, [4, 4], ignore_outside=True) == pytest.approx(moocore.hypervolume(Y, ref=[4, 4]))


@pytest.mark.parametrize("points, reference, maximize, error, match", [
    ([[1, 2], [3, 4]], [4, 4], False, ValueError, "does not strictly dominate"),  # 4 is not < 4
    ([[90, 5]], [95, 10], [True, False], ValueError, "does not strictly dominate"),
    ([1, 2], [4, 4], False, ValueError, "2-D"),
    ([[1, 2]], [4, 4, 4], False, ValueError, "one value per objective"),
    ([[1, np.nan]], [4, 4], False, ValueError, "finite"),
    ([[1, 2]], [4, np.inf], False, ValueError, "finite"),
    ([[1, 2]], [4, 4], [True], ValueError, "one bool per objective"),
    ([[1, 2]], [4, 4], 1, TypeError, "maximize"),
    ([[1, 2]], [4, 4], ["yes", "no"], TypeError, "maximize"),
    ("points", [4, 4], False, TypeError, "numeric array"),
])
def test_hypervolume_bad_input(points, reference, maximize, error, match):
    with pytest.raises(error, match=match):
        mo.hypervolume(points, reference, maximize)


def test_front_bad_input():
    with pytest.raises(ValueError, match="2-D"):
        mo.pareto_front([1.0, 2.0])
    with pytest.raises(ValueError, match="finite"):
        mo.pareto_front([[1.0, np.nan]])
    with pytest.raises(TypeError, match="keep_duplicates"):
        mo.pareto_front([[1.0, 2.0]], keep_duplicates=1)
    assert mo.pareto_front(np.empty((0, 2))).shape == (0,)


# ----- the hardware objective --------------------------------------------------------------

def test_hardware_objective_values_and_reference():
    objective = mo.hardware_objective("pixel3", "latency")
    cell = nb201.Cell.from_index(123)
    result = objective(cell)
    assert set(result) == {"score", "accuracy", "test_acc", "latency"} and result["latency"] > 0
    table = objective.table()
    assert len(table) == nb201.NUM_CELLS and table.loc[123, "latency"] == result["latency"]
    reference = objective.reference_point()
    assert np.all(table["accuracy"] > reference[0]) and np.all(table["latency"] < reference[1])


def test_hardware_objective_errors_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"unknown device 'iphone'.*'edgegpu'.*'fpga'"):
        mo.hardware_objective("iphone")
    with pytest.raises(ValueError, match=r"metric \(for device 'pixel3'\).*\['latency'\]"):
        mo.hardware_objective("pixel3", "energy")
    with pytest.raises(ValueError, match="unknown dataset"):
        mo.hardware_objective("pixel3", "latency", "mnist")
    with pytest.raises(TypeError, match="device"):
        mo.hardware_objective(3)
    with pytest.raises(TypeError, match="cell"):
        mo.hardware_objective()("|none~0|")
    assert mo.hardware_objective("eyeriss", "energy").names == ("accuracy", "energy")


def test_edgetpu_cells_without_latency_fail_cleanly():
    objective = mo.hardware_objective("edgetpu")
    table = objective.table(dropna=False)
    missing = table.index[table["latency"].isna()]
    assert len(missing) == 4699 and len(objective.table()) == nb201.NUM_CELLS - 4699
    with pytest.raises(ValueError, match="no edgetpu latency"):
        objective(nb201.Cell.from_index(int(missing[0])))
    history = mo.nsga2(objective, 30, seed=0)
    assert len(history) == 30 and 0 < len(history.successful()) < 30  # failures recorded, search goes on
    assert mo.objective_values(history, objective.names).shape == (len(history.successful()), 2)
    assert mo.objective_values(history, objective.names, failed="nan").shape == (30, 2)


# ----- strategies --------------------------------------------------------------------------

@pytest.mark.parametrize("name", list(mo.MO_STRATEGIES))
def test_mo_strategies_run_and_are_reproducible(name):
    objective = mo.hardware_objective("edgegpu", "latency")
    fn = mo.MO_STRATEGIES[name]
    first, again, other = (fn(objective, 60, seed=s) for s in (3, 3, 4))
    assert len(first) == 60 and all(e.ok for e in first)
    assert [e.arch for e in first] == [e.arch for e in again]
    assert [e.arch for e in first] != [e.arch for e in other]
    trajectory = mo.hypervolume_trajectory(first, objective)
    assert np.all(np.diff(trajectory) >= 0) and trajectory[0] > 0
    Y = mo.objective_values(first, objective.names)
    assert trajectory[-1] == pytest.approx(mo.hypervolume(Y, objective.reference_point(), objective.maximize))


def test_mo_evolution_with_an_executor():
    objective = mo.hardware_objective("fpga", "energy")
    with cf.ThreadPoolExecutor(2) as pool:
        history = mo.mo_regularized_evolution(objective, 40, seed=0, executor=pool)
    assert len(history) == 40 and all(e.ok for e in history)


def test_strategies_reject_bad_arguments():
    objective = mo.hardware_objective()
    with pytest.raises(ValueError, match=r"unknown multi-objective strategy 'nsga3'.*'nsga2'"):
        mo.MO_STRATEGIES.get("nsga3")
    with pytest.raises(TypeError, match="population_size"):
        mo.mo_regularized_evolution(objective, 10, population_size=2.5)
    with pytest.raises(ValueError, match="population_size"):
        mo.nsga2(objective, 10, population_size=1)
    with pytest.raises(ValueError, match="names=... and maximize"):
        mo.nsga2(lambda cell: 1.0, 10)
    with pytest.raises(ValueError, match="one bool per name"):
        mo.mo_regularized_evolution(objective, 10, maximize=[True])
    with pytest.raises(ValueError, match="options given for strategies"):
        mo.compare_hypervolume(["random"], objective, [0], 5, options={"nsga2": {}})


def test_compare_hypervolume_table():
    objective = mo.hardware_objective("raspi4")
    frame = mo.compare_hypervolume(["random", "nsga2"], objective, seeds=[0, 1], budget=15)
    assert frame.shape == (4, 15) and list(frame.columns)[-1] == 15
    assert set(frame.attrs["seconds"]) == {"random", "nsga2"}
    assert np.all(np.diff(frame.to_numpy(), axis=1) >= 0)


# ----- constrained search ------------------------------------------------------------------

def test_mnasnet_reward():
    assert mo.mnasnet_reward(80.0, 10.0, 10.0) == pytest.approx(80.0)
    # the paper's calibration: twice the latency is worth about 5% more accuracy
    assert mo.mnasnet_reward(80.0 * 1.05, 20.0, 10.0) == pytest.approx(mo.mnasnet_reward(80.0, 10.0, 10.0), rel=2e-3)
    hard = mo.mnasnet_reward(np.array([80.0, 80.0]), np.array([5.0, 20.0]), 10.0, alpha=0.0, beta=-1.0)
    assert hard.tolist() == [80.0, 40.0]
    with pytest.raises(ValueError, match="target"):
        mo.mnasnet_reward(80.0, 10.0, 0.0)


@pytest.mark.parametrize("name", list(mo.CONSTRAINED_STRATEGIES))
def test_constrained_strategies(name):
    objective = mo.hardware_objective("pixel3")
    limit = float(objective.table()["latency"].median())
    fn = mo.CONSTRAINED_STRATEGIES[name]
    history = fn(objective, 60, seed=1, limit=limit)
    again = fn(objective, 60, seed=1, limit=limit)
    assert [e.arch for e in history] == [e.arch for e in again]
    best = mo.best_feasible(history, limit)
    assert best is not None and best.info["latency"] <= limit
    feasible = [e for e in history if e.info["latency"] <= limit]
    assert best.info["accuracy"] == max(e.info["accuracy"] for e in feasible)
    if name == "rejection":
        assert len(feasible) == 60  # no query is spent on an infeasible cell
    trajectory = mo.feasible_trajectory(history, limit)
    assert trajectory[-1] == best.info["test_acc"]


def test_penalty_and_mnasnet_scores():
    objective = mo.hardware_objective("pixel3")
    cell = nb201.Cell.from_index(7)
    raw = objective(cell)
    limit = raw["latency"] / 2  # the cell is 100% over budget
    assert mo.PenaltyObjective(objective, limit, weight=10.0)(cell)["score"] == pytest.approx(raw["accuracy"] - 10.0)
    assert mo.MnasNetObjective(objective, limit)(cell)["score"] == pytest.approx(raw["accuracy"] * 2 ** -0.07)
    with pytest.raises(ValueError, match="limit"):
        mo.rejection_search(objective, 10, limit=-1.0)
    with pytest.raises(ValueError, match="too tight"):
        mo.rejection_search(objective, 10, limit=1e-6)
    with pytest.raises(TypeError, match="cost"):
        mo.FeasibleSpace(lambda cell: 0.0, 1.0)
    with pytest.raises(TypeError, match="history"):
        mo.best_feasible([], 1.0)
    assert mo.best_feasible(History(), 1.0) is None


def test_table_front_and_optimal_hypervolume():
    objective = mo.hardware_objective("eyeriss", "latency")
    front = objective.table_front()
    assert np.all(np.diff(front["latency"]) >= 0) and np.all(np.diff(front["accuracy"]) > 0)
    history = mo.MO_STRATEGIES["random"](objective, 50, seed=0)
    assert mo.hypervolume_trajectory(history, objective)[-1] <= objective.optimal_hypervolume() + 1e-9


# ----- latency models ----------------------------------------------------------------------

def test_lookup_table_recovers_an_additive_cost():
    from nascourse.search.multiobjective.latency import LookupTable

    rng = np.random.default_rng(0)
    truth = rng.random((len(nb201.EDGES), len(nb201.OPS)))
    truth[:, nb201.OPS.index("none")] = 0.0
    cells = [nb201.Cell.from_index(int(i)) for i in rng.choice(nb201.NUM_CELLS, 300, replace=False)]
    cost = np.array([2.0 + truth[np.arange(6), c.op_ids()].sum() for c in cells])
    table = LookupTable().fit(cells, cost)
    assert table.base_ == pytest.approx(2.0) and np.allclose(table.costs_.to_numpy(), truth)
    other = [nb201.Cell.from_index(5), nb201.Cell.from_index(9000)]
    assert np.allclose(table.predict(other), [2.0 + truth[np.arange(6), c.op_ids()].sum() for c in other])
    with pytest.raises(ValueError, match="one value per cell"):
        LookupTable().fit(cells, cost[:-1])
    with pytest.raises(ValueError, match="not fitted"):
        LookupTable().predict(other)
    with pytest.raises(TypeError, match="cells"):
        LookupTable().fit(["|none~0|"], [1.0])


@parametrize_with_checks([mo.LookupTable()])
def test_lookup_table_is_a_scikit_learn_regressor(estimator, check):
    check(estimator)


def test_lookup_table_reads_cells_or_their_encoding():
    cells = list(nb201.all_cells()[:400])
    cost = mo.hardware_objective("edgegpu").cost(cells)
    by_cells = mo.LookupTable().fit(cells, cost)
    by_matrix = mo.LookupTable().fit(mo.LookupTable.encode(cells), cost)
    assert by_cells.n_features_in_ == 24 and not hasattr(by_matrix, "costs_")
    assert np.allclose(by_cells.predict(cells[:5]), by_matrix.predict(mo.LookupTable.encode(cells[:5])))
    assert by_cells.predict([]).shape == (0,)


def test_expected_cost_numpy_and_torch_agree():
    import torch

    from nascourse.search.multiobjective.latency import expected_cost

    rng = np.random.default_rng(1)
    alpha, costs = rng.normal(size=(6, 5)), rng.random((6, 5))
    weights = np.exp(alpha) / np.exp(alpha).sum(axis=1, keepdims=True)
    assert expected_cost(alpha, costs, 1.0) == pytest.approx(1.0 + (weights * costs).sum())
    a = torch.tensor(alpha, requires_grad=True)
    value = expected_cost(a, costs, 1.0)
    value.backward()
    assert value.item() == pytest.approx(expected_cost(alpha, costs, 1.0)) and a.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="shape"):
        expected_cost(alpha, costs[:, :4])


def test_latency_models_table():
    from nascourse.search.multiobjective.latency import latency_models

    frame = latency_models(["fpga", "pixel3"], n_train=200, n_estimators=10, seed=0)
    assert list(frame.index) == ["fpga", "pixel3"]
    assert frame.loc["fpga", "table_r2"] > 0.99  # the FPGA latency is additive over operations
    assert frame.loc["pixel3", "table_r2"] < 0.95 and frame.loc["pixel3", "forest_tau"] > 0.7
    with pytest.raises(ValueError, match="unknown device"):
        latency_models(["tpu"])


def test_front_staircase_encloses_the_hypervolume():
    for Y, maximize in random_sets(seed=2, count=40):
        Y = Y[:, :2]
        maximize = maximize[:2]
        reference = np.where(maximize, Y.min(axis=0) - 0.5, Y.max(axis=0) + 0.5)
        x, y = mo.front_staircase(Y, maximize, reference)
        X, Z = np.append(x, reference[0]), np.append(y, reference[1])  # close at the reference corner
        area = 0.5 * abs(np.dot(X, np.roll(Z, 1)) - np.dot(Z, np.roll(X, 1)))
        assert area == pytest.approx(mo.hypervolume(Y, reference, maximize), rel=1e-9, abs=1e-12)
        x, y = mo.front_staircase(Y, maximize)
        assert len(x) == len(y) == 2 * mo.pareto_front(Y, maximize, keep_duplicates=False).sum() - 1
    with pytest.raises(ValueError, match="two objective columns"):
        mo.front_staircase(np.zeros((3, 3)))


def test_trajectory_needs_a_reference_for_a_plain_objective():
    history = mo.MO_STRATEGIES["random"](lambda cell: {"score": 1.0, "a": 1.0, "b": 2.0}, 5, seed=0)
    with pytest.raises(ValueError, match="pass reference"):
        mo.hypervolume_trajectory(history, names=["a", "b"], maximize=[True, False])
    trajectory = mo.hypervolume_trajectory(history, reference=[0.0, 3.0], names=["a", "b"], maximize=[True, False])
    assert trajectory.tolist() == [1.0] * 5


def test_devices_table():
    table = mo.devices_table("cifar10", "energy")
    assert list(table.columns) == ["accuracy", "test_acc", "edgegpu", "eyeriss", "fpga"]
    latency = mo.devices_table()
    assert list(latency.columns[2:]) == list(mo.DEVICES) and latency["edgetpu"].isna().sum() == 4699
    assert latency.loc[42, "pixel3"] == mo.hardware_objective("pixel3")(nb201.Cell.from_index(42))["latency"]
    with pytest.raises(ValueError, match=r"unknown metric 'power'.*\['energy', 'latency'\]"):
        mo.devices_table(metric="power")
