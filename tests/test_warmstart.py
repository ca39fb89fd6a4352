"""Warm starts (chapter 05): ``init_cells`` of evolution and BO, the proxy and transfer
starts of :mod:`nascourse.search.warmstart`, and ``scripts/warm_starts.py``."""

import numpy as np
import pytest

from nascourse import benchmarks, rng, search
from nascourse.predictors.experiments import CellSubset
from nascourse.search import experiments, warmstart
from nascourse.spaces import nb201

# The benchmark indices that seed 0 evaluated before init_cells existed (computed with
# commit 2d2b376): the default start must stay exactly the random one.
EVOLUTION_SEED0 = [9347, 12958, 13250, 1175, 237, 9259, 15118, 3202, 13969, 2910, 4853, 6732, 10063, 7723,
                   12759, 7963, 12848, 8037, 7209, 12577, 12672, 11331, 12759, 13660, 15537, 15003, 15593,
                   6904, 8012, 6030, 6657, 13991, 13503, 11443, 5069, 6171, 8380, 111, 1902, 3261]
BO_SEED0 = [11531, 13213, 1335, 12395, 6888, 10638, 10340, 8247, 14592, 10894, 9751, 1869, 9749, 14985, 3298,
            12630, 10541, 10573, 4454, 13604, 1810, 5719, 824, 9617, 8654, 11887, 14491, 12118, 15524, 1724]
BO_FOREST_IN16_SEED0 = [11531, 13213, 1335, 12395, 6888, 10638, 10340, 8247, 14592, 10894, 9751, 4454, 12630,
                        9749, 4782, 8785, 5711, 1578, 6802, 4133, 8276, 15120, 14881, 461, 12866, 7544, 2603,
                        7348, 9336, 7985]


def indices(history):
    return [e.arch.index for e in history]


@pytest.fixture(scope="module")
def objective():
    return search.BenchmarkObjective("cifar10")


def test_without_init_cells_the_searches_are_bit_identical_to_before(objective):
    for init in (None, []):
        assert indices(search.regularized_evolution(objective, 40, seed=0, init_cells=init)) == EVOLUTION_SEED0
        assert indices(search.bayesian_optimisation(objective, 30, seed=0, init_cells=init)) == BO_SEED0
    in16 = search.BenchmarkObjective("ImageNet16-120")
    assert indices(search.bayesian_optimisation(in16, 30, seed=0, surrogate="forest",
                                                refit_every=5)) == BO_FOREST_IN16_SEED0


def test_init_cells_are_evaluated_first_and_random_cells_fill_the_start(objective):
    init = [nb201.Cell.from_index(i) for i in (5, 77, 1234)]
    evo = search.regularized_evolution(objective, 30, seed=1, population_size=10, init_cells=init)
    bo = search.bayesian_optimisation(objective, 20, seed=1, n_init=6, init_cells=init)
    for history in (evo, bo):
        assert indices(history)[:3] == [5, 77, 1234]
        assert all(e.ok for e in history.evaluations[:3])
    assert len(set(indices(bo)[:6])) == 6      # BO's random design avoids the cells already proposed
    # the rest of evolution's first population is random: the same draws as a random start
    assert indices(evo)[3:10] == indices(search.regularized_evolution(objective, 7, seed=1))
    # more start cells than the population: all are evaluated before the first mutation
    many = [nb201.Cell.from_index(i) for i in range(100, 112)]
    evo = search.regularized_evolution(objective, 20, seed=0, population_size=5, init_cells=many)
    assert indices(evo)[:12] == list(range(100, 112))
    parents = {c.index for c in many[-5:]}
    neighbours = {n.index for p in parents for n in nb201.Cell.from_index(p).neighbours()}
    assert indices(evo)[12] in neighbours     # the first child mutates one of the last five
    # a warm start must change the search, or the comparison could not fail
    assert indices(search.bayesian_optimisation(objective, 20, seed=1, n_init=6)) != indices(bo)


def test_bad_init_cells_are_clear_errors(objective):
    cell = nb201.Cell.from_index(3)
    with pytest.raises(TypeError, match="init_cells must be a sequence"):
        search.regularized_evolution(objective, 10, init_cells=cell)
    with pytest.raises(TypeError, match=r"init_cells\[1\] must be a nascourse.spaces.nb201.Cell"):
        search.bayesian_optimisation(objective, 10, init_cells=[cell, cell.to_str()])
    with pytest.raises(ValueError, match="more than the budget of 2 queries"):
        search.regularized_evolution(objective, 2, init_cells=[nb201.Cell.from_index(i) for i in range(3)])
    with pytest.raises(ValueError, match="repeats a cell"):
        search.bayesian_optimisation(objective, 10, init_cells=[cell, cell])
    with pytest.raises(ValueError, match="not in this subset"):    # a cell outside the space searched
        search.regularized_evolution(objective, 10, space=CellSubset([1, 2, 4]), init_cells=[cell])

    class Strings:   # another space, whose architectures are strings
        def encode(self, archs):
            return np.array([[len(a)] for a in archs], dtype=float)

    with pytest.raises(TypeError, match="architectures of the search space"):
        search.blackbox.check_init_cells([3], Strings(), 10)
    assert search.blackbox.check_init_cells(["ab"], Strings(), 10) == ["ab"]


def test_proxy_start_takes_the_top_k_of_the_pool_by_the_proxy():
    table = benchmarks.load_zc_proxies("ImageNet16-120")
    generator = rng.derived_generator(4, 1)
    pool = np.random.default_rng([4, 1]).choice(table.index.to_numpy(), size=50, replace=False)
    expected = table.loc[pool, "nwot"].nlargest(7).index
    cells = warmstart.proxy_start(7, "ImageNet16-120", "nwot", 50, generator)
    assert [c.index for c in cells] == list(expected)
    values = table.loc[[c.index for c in cells], "nwot"].to_numpy()
    assert (np.diff(values) <= 0).all() and values[-1] >= table.loc[pool, "nwot"].nlargest(8).iloc[-1]
    control = warmstart.pool_start(7, "ImageNet16-120", 50, rng.derived_generator(4, 1))
    assert [c.index for c in control] == list(pool[:7])           # the same pool, unranked
    assert [c.index for c in cells] != [c.index for c in control]
    ranked = warmstart.proxy_pool("cifar10", "jacov", 30, 0)
    assert len(ranked) == 30 and ranked.is_monotonic_decreasing
    with pytest.raises(ValueError, match="k must be at most pool_size"):
        warmstart.proxy_start(11, pool_size=10)
    with pytest.raises(ValueError, match="unknown proxy"):
        warmstart.proxy_start(3, proxy="accuracy")
    with pytest.raises(ValueError, match="unknown dataset"):
        warmstart.proxy_start(3, dataset="cifar100")


def test_transfer_start_takes_the_best_distinct_cells_of_the_source_search(objective):
    cells = warmstart.transfer_start("evolution", 5, seed=2, budget=40)
    history = search.regularized_evolution(objective, 40, seed=2)
    scores = {e.arch.index: e.score for e in history}
    assert len({c.index for c in cells}) == 5
    assert [scores[c.index] for c in cells] == sorted(scores.values(), reverse=True)[:5]
    with pytest.raises(ValueError, match="other than its source"):
        warmstart.start_cells("transfer", "evolution", "cifar10", 0)
    with pytest.raises(ValueError, match="unknown start"):
        warmstart.start_cells("oracle", "evolution", "cifar10", 0)
    assert warmstart.start_cells("random", "bo", "cifar10", 0) is None


def test_compare_starts_has_the_layout_of_compare_and_transfer_lowers_early_regret():
    frame = warmstart.compare_starts(["evolution"], datasets=["cifar10", "ImageNet16-120"], seeds=range(12),
                                     budget=25)
    assert list(frame.index.names) == ["dataset", "strategy", "seed"] and frame.shape == (7 * 12, 25)
    assert list(frame.loc["cifar10"].index.unique("strategy")) == ["evolution/random", "evolution/pool",
                                                                   "evolution/proxy"]
    random = experiments.compare(["evolution"], ["ImageNet16-120"], range(12), 25)
    assert np.array_equal(frame.loc[("ImageNet16-120", "evolution/random")].to_numpy(),
                          random.loc[("ImageNet16-120", "evolution")].to_numpy())   # the same random start
    regret = experiments.test_regret(frame)
    out = warmstart.early_regret_test(regret.loc["ImageNet16-120"], "evolution/transfer", "evolution/random")
    assert out["difference"] < 0 and out["p"] < 0.01
    same = warmstart.early_regret_test(regret.loc["ImageNet16-120"], "evolution/random", "evolution/random")
    assert same["difference"] == 0 and same["p"] > 0.4
    with pytest.raises(ValueError, match="several data sets"):
        warmstart.early_regret_test(regret, "evolution/proxy", "evolution/random")
    with pytest.raises(ValueError, match="unknown strategy"):
        warmstart.compare_starts(["local"], seeds=range(2))
    with pytest.raises(ValueError, match="unknown dataset"):
        warmstart.compare_starts(["evolution"], ["proxy"], datasets=["cifar100"], seeds=range(2))
    with pytest.raises(ValueError, match="at least two seeds"):
        warmstart.compare_starts(["evolution"], seeds=[0])


def test_proxy_cost_is_counted_in_training_steps_and_queries():
    assert warmstart.steps_per_query("cifar10") == 200 * 391
    assert warmstart.steps_per_query("ImageNet16-120", batch=256) == 200 * 593
    assert warmstart.pool_cost_in_queries(2.0, 100, "cifar10") == pytest.approx(200 / 78_200)
    steps = warmstart.proxy_cost([nb201.Cell.from_index(10)], "synflow", batch=16, repeats=1)
    assert steps.shape == (1,) and 0 < steps[0] < 20
    with pytest.raises(ValueError, match="unknown dataset"):
        warmstart.steps_per_query("cifar100")


def test_the_script_prints_the_table(capsys):
    from scripts import warm_starts as script

    assert script.main(["--seeds", "3", "--budget", "20", "--strategies", "evolution", "--timing-cells", "0"]) == 0
    printed = capsys.readouterr().out
    assert "evolution/transfer" in printed and "q20" in printed and "p(1-20)" in printed
    assert "proxy against pool start, p(1-20): evolution" in printed
    assert max(len(line) for line in printed.splitlines()) <= 80
    with pytest.raises(SystemExit):
        script.main(["--seeds", "1"])
    frame = warmstart.compare_starts(["evolution"], datasets=["ImageNet16-120"], seeds=range(4), budget=20)
    lines = script.table_lines(frame, queries=(10, 20))
    row = next(line for line in lines if line.startswith("evolution/proxy"))
    means = experiments.final_summary(frame, 10)["regret mean"], experiments.final_summary(frame, 20)["regret mean"]
    assert [float(cell.split("±")[0]) for cell in row.split()[1:3]] == [
        round(m.loc[("ImageNet16-120", "evolution/proxy")], 2) for m in means]


def test_compare_runs_labelled_variants_with_per_seed_options_and_skips_pairs():
    seen = []

    def per_seed(name, dataset, seed):
        seen.append((name, dataset, seed))
        if name == "evo/warm":
            return {"init_cells": [nb201.Cell.from_index(100 + seed)]}
        return {}

    frame = experiments.compare({"evo/plain": "evolution", "evo/warm": "evolution"},
                                ["cifar10", "ImageNet16-120"], seeds=[3, 5], budget=12,
                                options={"evo/warm": {"population_size": 5}}, seed_options=per_seed,
                                skip=lambda d, name: d == "cifar10" and name == "evo/warm")
    assert list(frame.index.unique("strategy")) == ["evo/plain", "evo/warm"]
    assert frame.shape == (3 * 2, 12) and ("cifar10", "evo/warm") not in frame.index.droplevel("seed")
    assert sorted(frame.attrs["cpu_seconds"]) == sorted([("cifar10", "evo/plain"), ("ImageNet16-120", "evo/plain"),
                                                          ("ImageNet16-120", "evo/warm")])
    assert ("cifar10", "evo/warm") not in {(d, n) for n, d, _ in seen} and len(seen) == 6
    objective = search.BenchmarkObjective("ImageNet16-120")
    warm = search.regularized_evolution(objective, 12, seed=5, population_size=5,
                                        init_cells=[nb201.Cell.from_index(105)])
    assert np.array_equal(frame.loc[("ImageNet16-120", "evo/warm", 5)].to_numpy(),
                          warm.incumbent_trajectory("test_acc"))
    plain = experiments.compare(["evolution"], ["ImageNet16-120"], seeds=[3, 5], budget=12)
    assert np.array_equal(frame.loc[("ImageNet16-120", "evo/plain")].to_numpy(),
                          plain.loc[("ImageNet16-120", "evolution")].to_numpy())
    with pytest.raises(ValueError, match="not compared"):
        experiments.compare({"evo/plain": "evolution"}, budget=5, seeds=[0], options={"evolution": {}})
    with pytest.raises(ValueError, match="unknown strategy"):
        experiments.compare({"x": "annealing"}, budget=5, seeds=[0])
    with pytest.raises(TypeError, match="strategy must be a str"):
        experiments.compare({"x": 3}, budget=5, seeds=[0])
