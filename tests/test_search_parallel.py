"""Parallel evaluation: process pools and a local Dask cluster, with evaluations that fail
by raising and by killing their worker process. The objectives are the package's own, so
that worker processes can unpickle them."""

import concurrent.futures as cf
import multiprocessing

import pytest

from nascourse import search
from nascourse.search import parallel
from nascourse.spaces import nb201

BUDGET = 24


@pytest.fixture(scope="module")
def objective():
    return search.BenchmarkObjective("cifar10")


def check_search_survived(history, failing):
    assert len(history) == BUDGET
    failed = [e for e in history if not e.ok]
    assert failed and all(e.score is None and e.error for e in failed)
    assert all(failing.fails(e.arch) for e in history if e.error and "simulated failure" in e.error)
    assert not any(failing.fails(e.arch) for e in history.successful())
    assert history.best().ok


def test_simulated_failures_are_deterministic_and_never_kill_the_main_process(objective):
    failing = search.SimulatedFailures(objective, rate=0.3, mode="kill", seed=1)
    cells = nb201.all_cells()[:200]
    share = sum(map(failing.fails, cells)) / len(cells)
    assert 0.2 < share < 0.4
    assert [failing.fails(c) for c in cells] == [search.SimulatedFailures(objective, 0.3, seed=1).fails(c) for c in cells]
    doomed = next(c for c in cells if failing.fails(c))
    with pytest.raises(RuntimeError, match="simulated failure"):
        failing(doomed)  # in the main process a kill becomes an exception
    with pytest.raises(ValueError, match=r"rate must be a number in \[0, 1\], got 1.5"):
        search.SimulatedFailures(objective, rate=1.5)
    with pytest.raises(TypeError, match="rate must be a number in"):
        search.SimulatedFailures(objective, rate="0.1")
    with pytest.raises(ValueError, match="unknown mode 'explode'"):
        search.SimulatedFailures(objective, mode="explode")


def test_process_pool_with_evaluations_that_raise(objective):
    failing = search.SimulatedFailures(objective, rate=0.25, mode="raise")
    with cf.ProcessPoolExecutor(2) as pool:
        assert search.executor_slots(pool) == 2
        h = search.regularized_evolution(failing, BUDGET, seed=0, population_size=5, executor=pool)
    check_search_survived(h, failing)


def test_restarting_pool_survives_killed_workers(objective):
    failing = search.SimulatedFailures(objective, rate=0.15, mode="kill", seed=2)
    pool = search.RestartingProcessPool(2, mp_context=multiprocessing.get_context("fork"))
    try:
        h = search.random_search(failing, BUDGET, seed=0, executor=pool)
    finally:
        pool.shutdown()
    assert pool.restarts >= 1
    assert len(h) == BUDGET and h.best().ok
    assert any("BrokenProcessPool" in e.error or "terminated abruptly" in e.error for e in h if not e.ok)
    # every architecture that kills its worker failed; innocent bystanders may fail with it
    assert all(not e.ok for e in h if failing.fails(e.arch))


def test_a_broken_executor_is_recorded_not_raised(objective):
    class Refusing(cf.ThreadPoolExecutor):
        def submit(self, fn, /, *args, **kwargs):
            raise RuntimeError("no workers left")

    with Refusing(2) as pool:
        h = search.random_search(objective, 5, seed=0, executor=pool)
    assert len(h) == 5 and all("no workers left" in e.error for e in h)
    with Refusing(2) as pool:
        h = search.successive_halving(lambda c, f: 1.0, 4, 1, 2, eta=2, executor=pool)
    assert len(h) == 4 and not h.successful()


def test_bad_parallel_settings(objective):
    with pytest.raises(ValueError, match="max_in_flight"):
        with cf.ThreadPoolExecutor(2) as pool:
            search.random_search(objective, 5, executor=pool, max_in_flight=0)
    with pytest.raises(ValueError, match="max_workers"):
        search.RestartingProcessPool(0)
    with pytest.raises(ValueError, match="n_workers"):
        with search.dask_executor(0):
            pass


def test_local_dask_cluster_survives_raising_and_killed_workers(objective):
    raising = search.SimulatedFailures(objective, rate=0.25, mode="raise")
    killing = search.SimulatedFailures(objective, rate=0.1, mode="kill", seed=3)
    with search.dask_executor(2) as executor:
        assert search.executor_slots(executor) == 2
        futures = [executor.submit(objective, c) for c in nb201.all_cells()[:4]]
        done, _ = cf.wait(futures, return_when=cf.ALL_COMPLETED, timeout=60)
        assert len(done) == 4  # concurrent.futures.wait works on what the executor returns
        h = search.regularized_evolution(raising, BUDGET, seed=0, population_size=5, executor=executor)
        check_search_survived(h, raising)
        h = search.random_search(killing, 12, seed=1, executor=executor)  # one of its cells kills
    assert len(h) == 12 and h.best().ok
    killed = [e for e in h if not e.ok]
    assert len(killed) == 1 and "KilledWorker" in killed[0].error and killing.fails(killed[0].arch)
    assert len({e.worker for e in h.successful()}) >= 2


def timed_history(spans):
    """A history of evaluations on the given workers with the given (start, finish) times."""
    from nascourse.search.base import Evaluation, History

    cells = nb201.all_cells()
    return History([Evaluation(step, cells[step], 90.0, worker=worker, started=start, finished=end,
                               seconds=end - start) for step, (worker, start, end) in enumerate(spans)]
                   + [Evaluation(len(spans), cells[len(spans)], None, error="RuntimeError: lost")])


def test_busy_workers_is_the_mean_number_of_evaluations_in_flight():
    # two workers busy for 0-4 s, then one alone for 4-6 s: 10 busy seconds in 6
    history = timed_history([("a", 0, 2), ("b", 0, 4), ("a", 2, 6)])
    assert parallel.busy_workers(history) == pytest.approx(10 / 6)
    assert parallel.busy_workers(timed_history([("a", 0, 1), ("a", 1, 3)])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="no successful evaluation"):
        parallel.busy_workers(timed_history([]))


def test_timeline_fits_the_text_column_with_legible_labels():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from nascourse import viz

    history = timed_history([("a", 10, 12), ("b", 10, 14), ("a", 12, 16)])
    ax = parallel.plot_timeline(history)
    try:
        assert ax.figure.get_size_inches()[0] <= viz.TEXT_WIDTH
        assert len(ax.patches) == 3                                 # one bar per success
        assert sorted(t.get_text() for t in ax.texts) == ["0", "1", "2"]
        assert min(t.get_fontsize() for t in ax.texts) >= 9
        assert [t.get_text() for t in ax.get_yticklabels()] == ["worker 0", "worker 1"]
        assert min(p.get_x() for p in ax.patches) == 0              # seconds from the first start
    finally:
        plt.close(ax.figure)
