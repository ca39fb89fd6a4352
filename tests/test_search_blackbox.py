"""Tests of the black-box search strategies on small synthetic objectives."""

import concurrent.futures as cf
import subprocess
import sys
import threading
import time

import numpy as np
import pytest
from sklearn.exceptions import NotFittedError
from sklearn.utils.estimator_checks import parametrize_with_checks

from nascourse import search
from nascourse.spaces import nb201


def conv_count(cell: nb201.Cell) -> float:
    """A synthetic objective: the optimum (score 6) is the all-conv3x3 cell."""
    return float(cell.num_ops("nor_conv_3x3"))


class Flaky:
    """Fails on about a quarter of the cells, like crashed training runs."""

    def __call__(self, cell):
        if sum(cell.op_ids()) % 4 == 0:
            raise RuntimeError("worker lost")
        return {"score": conv_count(cell), "extra": 1}


QUERY_STRATEGIES = sorted(search.STRATEGIES)


@pytest.mark.parametrize("name", QUERY_STRATEGIES)
def test_each_strategy_spends_its_budget_and_improves(name):
    fn = search.get_strategy(name)
    h = fn(conv_count, 60, seed=1)
    assert len(h) == 60
    traj = h.incumbent_trajectory()
    assert np.all(np.diff(traj[~np.isnan(traj)]) >= 0)
    assert traj[-1] >= 3


@pytest.mark.parametrize("name, budget", [("evolution", 300), ("local", 300), ("bo", 100)])
def test_guided_strategies_find_the_synthetic_optimum(name, budget):
    best = [search.get_strategy(name)(conv_count, budget, seed=s).best().score for s in range(3)]
    assert max(best) == 6


@pytest.mark.parametrize("name", QUERY_STRATEGIES)
def test_histories_are_reproducible_from_the_seed(name):
    fn = search.get_strategy(name)
    a, b, c = (fn(conv_count, 40, seed=s) for s in (7, 7, 8))
    assert [e.arch for e in a] == [e.arch for e in b]
    assert [e.arch for e in a] != [e.arch for e in c]


@pytest.mark.parametrize("name", QUERY_STRATEGIES)
def test_failed_evaluations_are_recorded_and_the_search_goes_on(name):
    h = search.get_strategy(name)(Flaky(), 50, seed=3)
    failed = [e for e in h if not e.ok]
    assert len(h) == 50 and failed
    assert all(e.score is None and "worker lost" in e.error for e in failed)
    assert all(e.info == {"extra": 1} for e in h.successful())
    assert h.best().ok


def test_parallel_run_through_an_executor():
    lock, state = threading.Lock(), {"running": 0, "peak": 0}
    flaky = Flaky()

    def slow(cell):
        with lock:
            state["running"] += 1
            state["peak"] = max(state["peak"], state["running"])
        time.sleep(0.01)
        with lock:
            state["running"] -= 1
        return flaky(cell)

    with cf.ThreadPoolExecutor(max_workers=3) as pool:
        h = search.regularized_evolution(slow, 40, seed=0, executor=pool)
    assert len(h) == 40 and any(not e.ok for e in h)
    assert [e.step for e in h] == list(range(40))
    assert state["peak"] == 3  # three evaluations were in flight at once
    assert h.best().score == max(e.score for e in h.successful())


def test_regularized_evolution_removes_the_oldest():
    proposer = search.blackbox._Evolution(search.NB201Space(), np.random.default_rng(0), 3, 2)
    history = search.History()
    for step, score in enumerate([5.0, 1.0, 2.0, 3.0]):
        history.evaluations.append(search.Evaluation(step, nb201.random_cell(np.random.default_rng(step)), score))
    proposer(history)
    assert [e.score for e in proposer.population] == [1.0, 2.0, 3.0]  # the best (5.0) was the oldest


def test_benchmark_objective_selects_on_validation_and_reports_test():
    obj = search.BenchmarkObjective("cifar10")
    best = nb201.Cell.from_index(6111)
    out = obj(best)
    assert out["test_acc"] == pytest.approx(94.3733, abs=1e-3) and out["score"] == pytest.approx(91.6067, abs=1e-3)
    assert obj.optimum == pytest.approx(94.3733, abs=1e-3) and not obj.selects_on_test
    assert search.BenchmarkObjective("ImageNet16-120").selects_on_test
    with pytest.raises(ValueError, match="no validation accuracy is shipped for 'cifar100'"):
        search.BenchmarkObjective("cifar100", select_on="val")
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        search.BenchmarkObjective("svhn")
    with pytest.raises(TypeError):
        obj("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")


def test_acquisition_functions():
    rng = np.random.default_rng(0)
    mean, std = np.array([1.0, 1.0, 2.0]), np.array([0.1, 1.0, 0.1])
    ei = search.acquisition("ei", mean, std, best=1.5, rng=rng, xi=0.0)
    assert np.argmax(ei) == 2 and ei[1] > ei[0]  # more uncertainty, more expected improvement
    # closed form of EI at mean == best: std * pdf(0)
    assert search.acquisition("ei", np.array([1.5]), np.array([2.0]), 1.5, rng, xi=0.0)[0] == pytest.approx(2.0 / np.sqrt(2 * np.pi))
    assert search.acquisition("ucb", mean, std, 0, rng, kappa=2.0).tolist() == pytest.approx([1.2, 3.0, 2.2])
    with pytest.raises(ValueError, match="unknown acquisition 'max'"):
        search.acquisition("max", mean, std, 0, rng)
    with pytest.raises(ValueError, match="kappa must be a non-negative finite number"):
        search.acquisition("ucb", mean, std, 0, rng, kappa=-1.0)


def test_successive_halving_and_hyperband_with_epochs_as_fidelity():
    calls = []

    def objective(cell, epochs):
        calls.append(epochs)
        return conv_count(cell) * (1 - 1 / (1 + epochs))

    h = search.successive_halving(objective, 27, 1, 27, eta=3, seed=0)
    fids = [e.info["fidelity"] for e in h]
    assert [fids.count(f) for f in (1, 3, 9, 27)] == [27, 9, 3, 1]
    hb = search.hyperband(objective, 1, 27, eta=3, seed=0)
    assert {e.info["fidelity"] for e in hb} == {1, 3, 9, 27} and len(hb) > len(h)
    first_rung = [e for e in h if e.info["fidelity"] == 1]
    winner = next(e for e in h if e.info["fidelity"] == 27)
    assert conv_count(winner.arch) == max(conv_count(e.arch) for e in first_rung)


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(budget=0), ValueError, "budget must be a positive int, got 0"),
    (dict(budget=-5), ValueError, "budget must be a positive int, got -5"),
    (dict(budget=2.5), TypeError, "budget must be a positive int, got float 2.5"),
    (dict(budget=True), TypeError, "budget must be a positive int, got bool"),
    (dict(budget=10, seed="a"), TypeError, "seed"),
])
def test_bad_budgets_and_seeds(kwargs, error, message):
    with pytest.raises(error, match=message):
        search.random_search(conv_count, **kwargs)


def test_bad_strategy_and_options():
    with pytest.raises(ValueError, match=r"unknown strategy 'annealing'; valid names are \['random', 'evolution'"):
        search.get_strategy("annealing")
    with pytest.raises(TypeError, match="a strategy name must be a str"):
        search.get_strategy(3)
    with pytest.raises(ValueError, match=r"unknown surrogate 'mlp'; valid names are \['forest', 'gp'\]"):
        search.bayesian_optimisation(conv_count, 10, surrogate="mlp")
    with pytest.raises(ValueError, match="unknown acquisition 'max'"):
        search.bayesian_optimisation(conv_count, 10, acquisition_function="max")
    with pytest.raises(ValueError, match="population_size"):
        search.regularized_evolution(conv_count, 10, population_size=0)
    with pytest.raises(TypeError, match="population_size"):
        search.regularized_evolution(conv_count, 10, population_size=True)   # a bool is not a size
    assert len(search.regularized_evolution(conv_count, 12, population_size=np.int64(4), seed=0)) == 12
    with pytest.raises(ValueError, match="eta must be an int >= 2, got 1"):
        search.successive_halving(lambda c, e: 0.0, 9, 1, 9, eta=1)
    with pytest.raises(TypeError, match="eta must be an int >= 2, got float 2.5"):
        search.successive_halving(lambda c, e: 0.0, 9, 1, 9, eta=2.5)
    with pytest.raises(TypeError, match="n_archs must be a positive int"):
        search.successive_halving(lambda c, e: 0.0, 9.0, 1, 9)
    with pytest.raises(ValueError, match="need min_fidelity <= max_fidelity, got 5 and 1"):
        search.hyperband(lambda c, e: 0.0, 5, 1)
    with pytest.raises(ValueError, match="min_fidelity must be a positive finite number, got 0"):
        search.hyperband(lambda c, e: 0.0, 0, 1)
    with pytest.raises(TypeError, match="max_fidelity must be a positive finite number, got str"):
        search.hyperband(lambda c, e: 0.0, 1, "9")
    with pytest.raises(ValueError, match="non-finite"):
        search.base._unpack(float("nan"))


@pytest.mark.parametrize("surrogate", search.SURROGATES)
@pytest.mark.parametrize("acq", search.ACQUISITIONS)
def test_bo_with_every_surrogate_and_acquisition(surrogate, acq):
    h = search.bayesian_optimisation(conv_count, 30, seed=0, surrogate=surrogate, acquisition_function=acq,
                                     n_init=8, refit_every=4, n_candidates=40)
    archs = [e.arch for e in h]
    assert len(set(archs)) == len(archs) == 30  # BO never proposes an architecture twice
    assert h.best().score >= 4


def test_bo_refit_schedule_and_sequential_mode():
    proposer = search.blackbox._BayesOpt(search.NB201Space(), np.random.default_rng(0), 5, "gp", "ei", 30, 3)
    search.run(proposer, conv_count, 26)
    assert proposer.fitted_at == 23  # fits after 5, 8, 11, ..., 23 results
    gp = proposer.model
    assert gp.tuned_at_ == 20  # hyperparameters tuned at 5, then at 20 >= 4 * 5 results; fixed in between
    h1 = search.bayesian_optimisation(conv_count, 15, seed=2, refit_every=1, n_init=5)
    assert len(h1) == 15 and h1.best().score >= 3


@pytest.mark.parametrize("name", search.SURROGATES)
def test_surrogates_predict_with_uncertainty_as_scikit_learn_does(name):
    rng = np.random.default_rng(0)
    space = search.NB201Space()
    cells = [space.sample(rng) for _ in range(120)]
    X, y = space.encode(cells), np.array([conv_count(c) for c in cells])
    model = search.SURROGATES[name](random_state=0).fit(X[:100], y[:100])
    mean, std = model.predict(X[100:], return_std=True)
    assert mean.shape == std.shape == (20,) and (std >= 0).all() and std.max() > 0
    assert np.corrcoef(mean, y[100:])[0, 1] > 0.8  # the count of 3x3 convolutions is easy to learn
    alone = model.predict(X[100:])  # without return_std: the means only, like GaussianProcessRegressor
    assert isinstance(alone, np.ndarray) and np.array_equal(alone, mean)
    with pytest.raises(TypeError, match="return_std must be True or False"):
        model.predict(X[100:], return_std=1)


def test_surrogates_registry():
    assert search.SURROGATES.names == ["forest", "gp"]
    assert search.SURROGATES["gp"] is search.GPSurrogate and search.SURROGATES["forest"] is search.ForestSurrogate
    assert search.ACQUISITIONS.names == ["ei", "pi", "ucb", "ts"]
    assert search.ACQUISITIONS["ei"] is search.blackbox.expected_improvement


@parametrize_with_checks([search.ForestSurrogate(), search.GPSurrogate()])
def test_surrogates_are_scikit_learn_estimators(estimator, check):
    """Every scikit-learn estimator check passes (the warm-started GP too: a second fit on
    the same data keeps the kernel it tuned there, so it predicts the same)."""
    check(estimator)


@pytest.mark.parametrize("name", search.SURROGATES)
def test_unfitted_surrogates_say_so(name):
    with pytest.raises(NotFittedError):
        search.SURROGATES[name]().predict(np.zeros((2, 30)), return_std=True)


def test_gp_keeps_its_tuned_kernel_only_with_warm_start():
    rng = np.random.default_rng(0)
    X, y = rng.integers(0, 2, size=(32, 30)).astype(float), rng.normal(size=32)
    warm, cold = search.GPSurrogate().fit(X[:8], y[:8]), search.GPSurrogate(warm_start=False).fit(X[:8], y[:8])
    assert warm.tuned_at_ == cold.tuned_at_ == 8
    kernel = warm.kernel_
    assert warm.fit(X[:20], y[:20]).kernel_ is kernel and warm.tuned_at_ == 8   # 20 < 4 * 8: kept
    assert warm.fit(X, y).tuned_at_ == 32 and warm.kernel_ is not kernel       # 32 >= 4 * 8: re-tuned
    assert cold.fit(X[:20], y[:20]).tuned_at_ == 20                             # every fit tunes
    with pytest.raises(ValueError, match="retune_growth must be a finite number >= 1"):
        search.GPSurrogate(retune_growth=0.5).fit(X, y)


def test_importing_the_strategies_loads_neither_scikit_learn_nor_scipy():
    """Worker processes import nascourse.search to unpickle an objective: they stay light."""
    code = ("import sys, nascourse.search; "
            "print(sorted(m for m in ('sklearn', 'scipy', 'torch') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_hyperband_brackets():
    assert search.hyperband_brackets(1, 27, 3) == [(27, 1), (12, 3), (6, 9), (4, 27)]
    assert search.hyperband_brackets(1, 9, 3) == [(9, 1), (5, 3), (3, 9)]
    assert all(isinstance(f, int) for _, f in search.hyperband_brackets(1, 9, 3))
    hb = search.hyperband(lambda c, e: conv_count(c) + e / 100, 1, 9, eta=3, seed=0)
    assert {e.info["bracket"] for e in hb} == {0, 1, 2}
    assert sum(e.info["fidelity"] for e in hb) == 9 * 1 + 3 * 3 + 1 * 9 + 5 * 3 + 1 * 9 + 3 * 9


def test_evaluations_say_where_and_when_they_ran():
    h = search.random_search(conv_count, 3, seed=0)
    frame = h.to_frame()
    assert {"worker", "started", "finished", "seconds"} <= set(frame.columns)
    assert (frame["finished"] >= frame["started"]).all() and frame["worker"].str.contains(":").all()
    with cf.ThreadPoolExecutor(3) as pool:
        assert search.executor_slots(pool) == 3


def test_compare_is_independent_of_the_number_of_processes():
    from nascourse.search import experiments

    kwargs = dict(datasets=["cifar10", "cifar100"], seeds=range(3), budget=15,
                  options={"bo": dict(n_init=5, refit_every=5)})
    serial = experiments.compare(["random", "bo"], n_jobs=1, **kwargs)
    parallel = experiments.compare(["random", "bo"], n_jobs=2, **kwargs)
    pd_testing = pytest.importorskip("pandas.testing")
    pd_testing.assert_frame_equal(serial, parallel)
    assert serial.shape == (2 * 2 * 3, 15) and list(serial.index.names) == ["dataset", "strategy", "seed"]
    regret = experiments.test_regret(serial)
    assert (regret >= 0).all().all()  # (not monotone: a better validation score can mean a worse test one)
    summary = experiments.final_summary(serial)
    assert summary.loc[("cifar10", "random"), "runs"] == 3
    assert summary.loc[("cifar10", "random"), "test acc mean"] == pytest.approx(serial.loc[("cifar10", "random"), 15].mean())
    with pytest.raises(ValueError, match="unknown dataset 'svhn'"):
        experiments.compare(["random"], ["svhn"], budget=5)
    with pytest.raises(ValueError, match="unknown strategy 'annealing'"):
        experiments.compare(["annealing"], budget=5)
    with pytest.raises(ValueError, match="budget must be a positive int, got 0"):
        experiments.compare(["random"], budget=0, seeds=[0])
    with pytest.raises(ValueError, match=r"options given for strategies that are not compared: \['bo'\]"):
        experiments.compare(["random"], budget=5, options={"bo": {}})


def test_mean_band_is_a_t_interval():
    from scipy import stats

    from nascourse.search import experiments

    values = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 9.0]])
    mean, low, high = experiments.mean_band(values, level=0.9)
    assert mean.tolist() == [2.0, 5.0]
    expected = stats.t.interval(0.9, 2, loc=2.0, scale=stats.sem(values[:, 0]))
    assert (low[0], high[0]) == pytest.approx(expected)
    with pytest.raises(ValueError, match="values must have at least 2 rows, got 1"):
        experiments.mean_band(values[:1])
    with pytest.raises(ValueError, match=r"level must be a number in \(0, 1\), got 1"):
        experiments.mean_band(values, level=1)


@pytest.mark.parametrize("name", QUERY_STRATEGIES)
def test_callback_sees_every_evaluation(name):
    seen = []
    h = search.get_strategy(name)(conv_count, 12, seed=0, callback=seen.append)
    assert seen == h.evaluations


@pytest.fixture
def strategies():
    """The strategy registry; entries that the test adds are dropped after it."""
    with search.STRATEGIES.scratch():
        yield search.STRATEGIES


def test_a_new_strategy_is_one_function_registered_in_one_line(strategies):
    """How to add a strategy: write one function with the shared signature and register it
    with the decorator; get_strategy and experiments.compare then find it by name."""
    from nascourse.search import experiments

    @strategies.register("greedy")
    def greedy(objective, budget, seed=0, space=None, executor=None, max_in_flight=None, callback=None):
        """Mutate the best architecture so far (a random one until there is one)."""
        rng, space = np.random.default_rng(seed), space or search.NB201Space()

        def propose(history):
            return space.mutate(history.best().arch, rng) if history.successful() else space.sample(rng)

        return search.run(propose, objective, budget, executor, max_in_flight, callback)

    assert search.get_strategy("greedy") is greedy and "greedy" in search.STRATEGIES.names
    h = search.get_strategy("greedy")(conv_count, 40, seed=0)
    assert len(h) == 40 and h.best().score >= 4
    frame = experiments.compare(["greedy", "random"], seeds=range(2), budget=10)
    assert list(frame.index.unique("strategy")) == ["greedy", "random"] and frame.notna().all().all()


def test_evaluate_all_records_a_batch_in_order_with_its_failures():
    cells = [nb201.random_cell(np.random.default_rng(s)) for s in range(12)]
    flaky = Flaky()
    for executor in (None, cf.ThreadPoolExecutor(3)):
        history = search.History()
        evaluations = search.evaluate_all(flaky, cells, history, executor)
        assert evaluations == history.evaluations and [e.arch for e in evaluations] == cells
        assert [e.ok for e in evaluations] == [sum(c.op_ids()) % 4 != 0 for c in cells]
        if executor is not None:
            executor.shutdown()
