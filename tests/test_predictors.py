"""Tests of nascourse.predictors: the model registry, the Neural Predictor's training loop, side-by-side fitting, the two-stage predictor, the metrics and
the experiment helpers, and bad input."""

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats
from sklearn.base import clone
from sklearn.dummy import DummyRegressor
from sklearn.ensemble import RandomForestRegressor
from sklearn.exceptions import NotFittedError

from nascourse import benchmarks, features
from nascourse.predictors import (MODELS, FitsMany, GCNClassifier, GCNRegressor, TwoStagePredictor,
                                  experiments, make_model, metrics)
from nascourse.spaces import nb201
from nascourse.registry import Registry
import nascourse.predictors.gcn as gcn_module
import nascourse.predictors.models as models_module

pytestmark = [pytest.mark.usefixtures("one_torch_thread"),
              pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")]

# A few optimiser steps suffice for the argument checks; learning is tested on NB201 below.
TINY = dict(n_nodes=1, epochs=2, min_steps=4)


@pytest.fixture(scope="module")
def nb201_data():
    zc = benchmarks.load_zc_proxies("cifar10")
    cells = [nb201.Cell.from_index(i) for i in zc.index]
    return features.graph_rows(cells), zc["val_acc"].to_numpy(), zc


# ----- the model registry (scikit-learn's checks are in test_estimators.py) --------------------

def test_model_factories_build_fresh_seeded_estimators():
    assert MODELS.names == ["random_forest", "gradient_boosting", "mlp", "gcn"]
    for name in MODELS:
        a, b = make_model(name, random_state=3), make_model(name, random_state=3)
        assert a is not b and repr(a) == repr(b) and repr(clone(a)) == repr(a)
        assert repr(make_model(name, random_state=4)) != repr(a)
    for old, new in (("random forest", "random_forest"), ("boosting", "gradient_boosting"), ("MLP", "mlp"),
                     ("GCN", "gcn")):                                  # the old names stay as aliases
        assert repr(make_model(old, 1)) == repr(make_model(new, 1)) and old not in MODELS.names
    assert make_model("random_forest", 0, n_estimators=7).n_estimators == 7
    with pytest.raises(ValueError, match="unknown model 'svm'; valid names are"):
        make_model("svm")
    with pytest.raises(TypeError, match="model name"):
        make_model(3)


def test_a_new_model_is_one_function_and_one_registration_line(monkeypatch):
    scratch = Registry("model")                          # a copy, so that the real registry stays as it was
    for name in MODELS:
        scratch.add(name, MODELS[name])
    monkeypatch.setattr(models_module, "MODELS", scratch)

    @models_module.MODELS.register("mean", aliases=("average",))
    def mean_model(random_state: int = 0, strategy: str = "mean"):
        return DummyRegressor(strategy=strategy)

    X, y = np.arange(12.0).reshape(6, 2), np.arange(6.0)
    assert "mean" in scratch.names and "average" not in scratch.names
    np.testing.assert_allclose(make_model("mean", 0).fit(X, y).predict(X[:2]), [2.5, 2.5])
    assert make_model("average", 0, strategy="median").fit(X, y).predict(X[:1])[0] == 2.5
    rows = experiments.data_curve({"table": X}, y, {"mean": lambda s: make_model("mean", s)}, sizes=[3],
                                  seeds=[0])
    assert list(rows.model) == ["mean"]
    with pytest.raises(ValueError, match="already registered"):
        scratch.add("mean", mean_model)


def test_fit_many_is_a_declared_protocol():
    assert isinstance(GCNRegressor(), FitsMany) and isinstance(GCNClassifier(), FitsMany)
    assert isinstance(TwoStagePredictor(), FitsMany)
    assert not isinstance(make_model("random_forest"), FitsMany)

    class Undeclared(DummyRegressor):                   # a fit_many alone is not the protocol
        def fit_many(self, *args):
            raise AssertionError("experiments must not call an undeclared fit_many")

    X, y = np.arange(20.0).reshape(10, 2), np.arange(10.0)
    rows = experiments.data_curve({"t": X}, y, {"u": lambda s: Undeclared()}, sizes=[4], seeds=[0, 1])
    assert len(rows) == 2


# ----- the Neural Predictor -------------------------------------------------------------------

def test_gcn_learns_to_rank_nb201_cells(nb201_data):
    X, y, _ = nb201_data
    train, test = experiments.split(len(y), 100, seed=0)
    model = GCNRegressor(random_state=0).fit(X[train], y[train])
    assert model.loss_curve_[-1] < 0.5 * model.loss_curve_[0]
    assert metrics.kendall_tau(y[test], model.predict(X[test])) > 0.55


def test_gcn_is_reproducible_and_leaves_torch_global_rng_alone(nb201_data):
    X, y, _ = nb201_data
    state = torch.get_rng_state()
    a = GCNRegressor(random_state=1, min_steps=20).fit(X[:40], y[:40]).predict(X[40:60])
    assert torch.equal(state, torch.get_rng_state())
    b = GCNRegressor(random_state=1, min_steps=20).fit(X[:40], y[:40]).predict(X[40:60])
    c = GCNRegressor(random_state=2, min_steps=20).fit(X[:40], y[:40]).predict(X[40:60])
    assert np.array_equal(a, b) and not np.allclose(a, c)


def test_training_zeroes_gradients_every_step_and_drops_no_sample(nb201_data, monkeypatch):
    X, y, _ = nb201_data
    seen, zeroed = [], []
    forward, zero_grad = gcn_module._Members.forward, torch.optim.Adam.zero_grad

    def spy_forward(self, both, nodes):
        if self.training:
            seen.append(nodes.shape[1])
        return forward(self, both, nodes)

    def spy_zero_grad(self, *args, **kwargs):
        zeroed.append(1)
        return zero_grad(self, *args, **kwargs)

    monkeypatch.setattr(gcn_module._Members, "forward", spy_forward)
    monkeypatch.setattr(torch.optim.Adam, "zero_grad", spy_zero_grad)
    model = GCNRegressor(batch_size=32, epochs=3, min_steps=0, random_state=0).fit(X[:70], y[:70])
    assert model.n_epochs_ == 3 and seen == [32, 32, 6] * 3          # the short batch is kept
    assert len(zeroed) == len(seen)                                    # zeroed before every step


def test_a_training_set_smaller_than_a_batch_still_trains(nb201_data):
    X, y, _ = nb201_data
    model = GCNRegressor(batch_size=32, epochs=5, min_steps=40, random_state=0).fit(X[:5], y[:5])
    assert model.n_epochs_ == 40 and len(model.loss_curve_) == 40
    assert model.loss_curve_[-1] < model.loss_curve_[0]
    one = GCNRegressor(min_steps=3, random_state=0).fit(X[:1], y[:1])       # constant target
    assert np.allclose(one.predict(X[:3]), y[0], atol=0.05)


def test_fit_many_matches_one_by_one_fits(nb201_data):
    X, y, _ = nb201_data
    base = GCNRegressor(epochs=4, min_steps=0, batch_size=16)
    sets = [np.arange(0, 40), np.arange(30, 70), np.arange(100, 140)]
    many = base.fit_many(X, y, sets, [5, 6, 7])
    for model, rows, seed in zip(many, sets, [5, 6, 7]):
        alone = clone(base).set_params(random_state=seed).fit(X[rows], y[rows])
        np.testing.assert_allclose(model.predict(X[200:260]), alone.predict(X[200:260]), rtol=1e-4, atol=1e-3)
        assert model.get_params()["random_state"] == seed


def test_gcn_classifier_separates_good_from_poor_cells(nb201_data):
    X, y, _ = nb201_data
    train, test = experiments.split(len(y), 150, seed=0)
    good = y > np.median(y[train])
    clf = GCNClassifier(random_state=0).fit(X[train], good[train])
    proba = clf.predict_proba(X[test])
    assert list(clf.classes_) == [False, True] and np.allclose(proba.sum(axis=1), 1)
    assert (clf.predict(X[test]) == good[test]).mean() > 0.75


def test_gcn_rejects_bad_input(nb201_data):
    X, y, _ = nb201_data
    with pytest.raises(ValueError, match="feature"):
        GCNRegressor().fit(X[:10, :-1], y[:10])                      # not a graph of 8 nodes
    with pytest.raises(NotFittedError):
        GCNRegressor().predict(X[:3])
    bad = X[:10].copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError):
        GCNRegressor(**{**TINY, "n_nodes": 8}).fit(bad, y[:10])
    with pytest.raises(ValueError, match="infinity|finite"):
        GCNRegressor().fit(X[:10], np.r_[y[:9], np.inf])
    fitted = GCNRegressor(min_steps=2, epochs=1).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="features"):
        fitted.predict(X[:3, :100])
    for params, error in (({"hidden": 0}, ValueError), ({"dropout": 1.0}, ValueError), ({"lr": 0}, ValueError),
                          ({"batch_size": 2.5}, TypeError)):
        with pytest.raises(error):
            GCNRegressor(**params).fit(X[:10], y[:10])
    with pytest.raises(ValueError, match="training sets of one"):
        GCNRegressor().fit_many(X, y, [np.arange(10), np.arange(12)], [0, 1])
    with pytest.raises(ValueError, match="one random state"):
        GCNRegressor().fit_many(X, y, [np.arange(10)], [0, 1])


# ----- the two-stage predictor ----------------------------------------------------------------

def test_two_stage_ranks_accepted_cells_above_rejected_ones(nb201_data):
    X, y, _ = nb201_data
    train, test = experiments.split(len(y), 120, seed=0)
    model = TwoStagePredictor(GCNClassifier(min_steps=100), GCNRegressor(min_steps=100), random_state=0)
    model.fit(X[train], y[train])
    assert model.threshold_ == np.sort(y[train])[-60] and model.low_mean_ < model.threshold_
    pred = model.predict(X[test])
    accepted = model.classifier_.predict_proba(X[test])[:, 1] >= 0.5
    assert 0 < accepted.sum() < len(test)
    assert pred[accepted].min() >= model.threshold_ > pred[~accepted].max()
    assert metrics.kendall_tau(y[test], pred) > 0.4


def test_two_stage_fit_many_matches_fit(nb201_data):
    X, y, _ = nb201_data
    base = TwoStagePredictor(GCNClassifier(min_steps=20), GCNRegressor(min_steps=20))
    sets = [np.arange(0, 30), np.arange(50, 80)]
    for model, rows, seed in zip(base.fit_many(X, y, sets, [0, 1]), sets, [0, 1]):
        alone = clone(base).set_params(random_state=seed).fit(X[rows], y[rows])
        np.testing.assert_allclose(model.predict(X[300:340]), alone.predict(X[300:340]), rtol=1e-4, atol=1e-3)
    with pytest.raises(ValueError, match="top_fraction"):
        TwoStagePredictor(top_fraction=1.0).fit(X[:10], y[:10])


# ----- metrics --------------------------------------------------------------------------------

def test_metrics_on_known_cases():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    assert metrics.kendall_tau(y, y) == 1 and metrics.kendall_tau(y, -y) == -1
    assert metrics.kendall_tau(y, [1, 3, 2, 4]) == pytest.approx(stats.kendalltau(y, [1, 3, 2, 4]).statistic)
    assert metrics.kendall_tau(y, [5, 5, 5, 5]) == 0 and metrics.spearman(y, [5, 5, 5, 5]) == 0
    assert metrics.spearman(y, y**3) == 1
    assert metrics.mse(y, y + 2) == 4 and metrics.r2(y, y) == 1
    assert metrics.r2(y, np.full(4, y.mean())) == 0
    assert metrics.top_k(y, [0, 9, 8, 1], k=1) == 2 and metrics.top_k(y, [0, 9, 8, 1], k=2) == 3
    assert metrics.top_k(y, [0, 9, 8, 1], k=4) == 4
    assert set(metrics.report(y, y)) == {"kendall_tau", "spearman", "mse", "r2", "top_1"}


@pytest.mark.parametrize("call, message", [
    (lambda: metrics.kendall_tau([1, 2, 3], [1, 2]), "differ in length"),
    (lambda: metrics.spearman([1, 2, np.nan], [1, 2, 3]), "finite"),
    (lambda: metrics.mse(np.ones((2, 2)), np.ones((2, 2))), "1-D"),
    (lambda: metrics.r2([2, 2, 2], [1, 2, 3]), "constant"),
    (lambda: metrics.top_k([1, 2, 3], [1, 2, 3], k=0), "k must be"),
    (lambda: metrics.top_k([1, 2, 3], [1, 2, 3], k=4), "k must be"),
    (lambda: metrics.kendall_tau([1], [1]), "at least 2"),
])
def test_metrics_reject_bad_input(call, message):
    with pytest.raises(ValueError, match=message):
        call()


# ----- experiment helpers ---------------------------------------------------------------------

def test_splits_are_nested_disjoint_and_complete():
    small, rest_small = experiments.split(100, 10, seed=4)
    big, rest_big = experiments.split(100, 40, seed=4)
    assert set(small) <= set(big)
    assert not set(big) & set(rest_big) and len(big) + len(rest_big) == 100
    assert not np.array_equal(small, experiments.split(100, 10, seed=5)[0])
    with pytest.raises(ValueError):
        experiments.split(100, 100, seed=0)


def test_data_curve_fits_every_combination_and_batches_the_gcn(nb201_data):
    X, y, zc = nb201_data
    encodings = {"zcp": zc[list(benchmarks.ZC_PROXIES)], "graph": X}
    models = {"random forest": lambda s: make_model("random_forest", s, n_estimators=10),
              "GCN": lambda s: GCNRegressor(random_state=s, min_steps=10, epochs=1)}
    combos = [("zcp", "random forest"), ("graph", "GCN")]
    out = experiments.data_curve(encodings, y, models, sizes=[20, 40], seeds=[0, 1], combos=combos, n_jobs=2)
    assert len(out) == 2 * 2 * 2 and set(zip(out.encoding, out.model)) == set(combos)
    assert (out.fit_cpu_s > 0).all() and out.kendall_tau.between(-1, 1).all()
    table = experiments.summary(out)
    assert table.shape == (2, 4) and table.loc[("zcp", "random forest"), ("mean", 40)] > 0.3
    again = experiments.data_curve(encodings, y, models, sizes=[20, 40], seeds=[0, 1], combos=combos)
    assert np.allclose(out.kendall_tau, again.kendall_tau)              # threads change nothing
    with pytest.raises(ValueError, match="unknown encoding"):
        experiments.data_curve(encodings, y, models, [20], [0], combos=[("path", "GCN")])
    assert experiments.learning_curve is experiments.data_curve         # the old name stays as an alias


def test_search_with_predictor_picks_the_best_evaluated_cell(nb201_data):
    _, y, zc = nb201_data
    X = zc[list(benchmarks.ZC_PROXIES)]
    test_acc = benchmarks.load_nb201("cifar10").loc[zc.index, "test_acc"].to_numpy()
    runs = experiments.search_with_predictor(X, y, test_acc, lambda s: make_model("random_forest", s),
                                             n_train=30, k=20, seeds=[0, 1, 2])
    assert list(runs.seed) == [0, 1, 2] and (runs.k == 20).all()
    assert np.allclose(runs.report_value, test_acc[runs.pick]) and np.allclose(runs.select_value, y[runs.pick])
    baseline = experiments.best_of_random(y, test_acc, budget=50, seeds=[0, 1, 2])
    assert runs.select_value.mean() > baseline.select_value.mean()
    assert math.isclose(baseline.select_value[0], y[experiments.split(len(y), 50, 0)[0]].max())


def test_shap_ranks_find_the_feature_that_matters():
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(300, 4)), columns=["noise1", "signal", "noise2", "weak"])
    y = 3 * X["signal"] + 0.3 * X["weak"] + rng.normal(scale=0.1, size=300)
    ranks = experiments.shap_ranks(X, y, lambda s: RandomForestRegressor(n_estimators=20, random_state=s),
                                   n_train=200, n_explain=50, seeds=[0, 1])
    assert list(ranks.index[:2]) == ["signal", "weak"] and ranks.loc["signal", "mean_rank"] == 1
    assert list(ranks.columns) == [0, 1, "mean_rank"]
    with pytest.raises(TypeError, match="DataFrame"):
        experiments.shap_ranks(X.to_numpy(), y, RandomForestRegressor, 200, 50, [0])


def test_guided_search_beats_random_search_and_returns_a_trajectory(nb201_data):
    _, y, zc = nb201_data
    X = zc[list(benchmarks.ZC_PROXIES)]
    test_acc = benchmarks.load_nb201("cifar10").loc[zc.index, "test_acc"].to_numpy()
    rf = lambda s: make_model("random_forest", s, n_estimators=20)
    guided = [experiments.guided_search(X, y, test_acc, rf, budget=40, n_initial=10, batch=10, seed=s)
              for s in range(3)]
    random = [experiments.guided_search(X, y, test_acc, None, budget=40, n_initial=40, batch=10, seed=s)
              for s in range(3)]
    run = guided[0]
    assert list(run.step) == list(range(1, 41)) and run.pick.nunique() == 40
    assert run.best_report.iloc[-1] == test_acc[run.pick[np.argmax(run.select_value)]]
    assert np.mean([g.select_value.max() for g in guided]) > np.mean([r.select_value.max() for r in random])
    assert list(random[0].pick[:10]) == list(run.pick[:10])            # same random start
    with pytest.raises(ValueError, match="predictor factory"):
        experiments.guided_search(X, y, test_acc, None, budget=40, n_initial=10, batch=10, seed=0)


def test_data_curve_predicts_several_targets_separately(nb201_data):
    _, y, zc = nb201_data
    X = zc[list(benchmarks.ZC_PROXIES)]
    targets = pd.DataFrame({"acc": y, "minus acc": -y})
    rf = {"rf": lambda s: make_model("random_forest", s, n_estimators=10)}
    out = experiments.data_curve({"zcp": X}, targets, rf, sizes=[50], seeds=[0, 1])
    assert list(out.target) == ["acc", "acc", "minus acc", "minus acc"]
    assert out.kendall_tau.iloc[:2].mean() > 0.5 and out.kendall_tau.iloc[2:].mean() > 0.5


# ----- search efficiency: queries to reach a target -------------------------------------------

def test_queries_to_reach_counts_distinct_cells_until_the_first_target():
    target = np.zeros(6, dtype=bool)
    target[4] = True
    orders = {"a": [[0, 0, 1, 4, 2]], "b": [[1, 2, 3]]}
    out = experiments.queries_to_reach(orders, {"t": target}, seeds=[7])
    a, b = out.set_index("method").loc["a"], out.set_index("method").loc["b"]
    assert a.queries == 3 and a.evaluations == 5 and a.seed == 7      # the repeat of 0 is free
    assert math.isnan(b.queries)                                      # never met
    with pytest.raises(ValueError, match="at least one True"):
        experiments.queries_to_reach(orders, {"t": np.zeros(6, dtype=bool)})
    with pytest.raises(ValueError, match="positions"):
        experiments.queries_to_reach({"c": [[9]]}, {"t": target})
    with pytest.raises(ValueError, match="runs for"):
        experiments.queries_to_reach(orders, {"t": target}, seeds=[0, 1])


def test_predictor_orders_start_with_the_training_cells_then_follow_the_predictions(nb201_data):
    _, y, zc = nb201_data
    X = zc[list(benchmarks.ZC_PROXIES)].to_numpy()
    rf = lambda s: make_model("random_forest", s, n_estimators=10)
    orders = experiments.predictor_orders(X, y, rf, n_train=30, seeds=[0, 1])
    for seed, order in zip([0, 1], orders):
        train, rest = experiments.split(len(y), 30, seed)
        assert sorted(order) == list(range(len(y)))                  # every cell once
        assert sorted(order[:30]) == list(train)
        p = rf(seed).fit(X[train], y[train]).predict(X[order[30:]])
        assert np.all(np.diff(p) <= 0)                                # best predictions first
    runs = experiments.search_with_predictor(X, y, y, rf, n_train=30, k=20, seeds=[0])
    assert runs.select_value[0] == y[orders[0][:50]].max()            # the search's cells
    # a predictor finds the best cell sooner than the random order of its first cells
    best = experiments.queries_to_reach({"p": orders}, {"best": y == y.max()})
    assert (best.queries < len(y) / 4).all()


def test_cell_subset_keeps_black_box_strategies_inside_the_subset(nb201_data):
    from nascourse.search import blackbox

    _, y, zc = nb201_data
    space = experiments.CellSubset(zc.index)
    assert len(space) == len(y) and space.position(space.cells[5]) == 5
    history = blackbox.regularized_evolution(lambda c: y[space.position(c)], 300, seed=0, space=space)
    inside = set(int(i) for i in zc.index)
    assert all(e.arch.index in inside for e in history)
    rng = np.random.default_rng(0)
    cell = space.cells[0]
    assert all(space.mutate(cell, rng) in space.neighbours(cell) for _ in range(20))
    assert all(c.index in inside for c in space.neighbours(cell))
    outside = next(c for c in nb201.all_cells() if c.index not in inside)
    with pytest.raises(ValueError, match="not in this subset"):
        space.position(outside)
    with pytest.raises(ValueError, match="distinct"):
        experiments.CellSubset([1, 1])
    with pytest.raises(TypeError):
        experiments.CellSubset(["a"])


def test_returned_after_reports_the_best_validated_of_the_first_distinct_cells():
    y_select = np.array([1.0, 5.0, 3.0, 4.0])
    y_report = np.array([10.0, 50.0, 30.0, 40.0])
    out = experiments.returned_after({"a": [[2, 2, 0, 3, 1]]}, y_select, y_report, counts=[1, 3, 4, 5])
    assert list(out.queries) == [1, 3, 4, 5]
    assert out.report_value.iloc[:3].tolist() == [30.0, 40.0, 50.0] and math.isnan(out.report_value.iloc[3])
    with pytest.raises(ValueError):
        experiments.returned_after({"a": [[0]]}, y_select, y_report, counts=[0])
    with pytest.raises(ValueError, match="positions must be in 0..3"):
        experiments.returned_after({"a": [[0, 4]]}, y_select, y_report, counts=[1])
    with pytest.raises(ValueError, match="same length"):
        experiments.returned_after({"a": [[0]]}, y_select, y_report[:3], counts=[1])
    with pytest.raises(ValueError, match="2 seeds"):
        experiments.returned_after({"a": [[0]]}, y_select, y_report, counts=[1], seeds=[0, 1])


def test_two_stage_accepts_marks_the_cells_ranked_above_the_threshold(nb201_data):
    X, y, _ = nb201_data
    model = TwoStagePredictor(random_state=0).fit(X[:120], y[:120])
    keep, p = model.accepts(X[120:600]), model.predict(X[120:600])
    assert keep.any() and (~keep).any()
    assert p[keep].min() >= model.threshold_ > p[~keep].max()
    with pytest.raises(NotFittedError):
        TwoStagePredictor().accepts(X[:5])
