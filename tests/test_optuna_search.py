"""Tests of the Optuna strategies: TPE as a registered strategy, Optuna's Hyperband pruner
over epoch-by-epoch training, and its brackets against our Hyperband's."""

import logging
import warnings

import numpy as np
import optuna
import pytest
import torch

from nascourse import search
from nascourse.search.optuna_search import (TrainingCurve, optuna_hyperband, optuna_hyperband_brackets,
                                            quiet_optuna, tpe_search)
from nascourse.search.training import TrainingObjective
from nascourse.spaces import nb201


def conv_count(cell: nb201.Cell) -> float:
    return float(cell.num_ops("nor_conv_3x3"))


class Counting:
    """An objective that counts its calls."""

    def __init__(self):
        self.calls = 0

    def __call__(self, cell):
        self.calls += 1
        return {"score": conv_count(cell), "test_acc": 1.0}


class SaturatingCurve:
    """A synthetic learning curve: the number of conv3x3 edges times (1 - exp(-epoch / 5)),
    trained lazily; counts the epochs it was asked for."""

    def __init__(self):
        self.epochs = 0

    def __call__(self, cell, max_epochs):
        quality = 1.0 + conv_count(cell) + 0.1 * cell.num_ops("nor_conv_1x1")
        for epoch in range(1, max_epochs + 1):
            self.epochs += 1
            yield {"score": quality * (1 - np.exp(-epoch / 5)), "test_acc": quality}


# ------------------------------------------------------------------------------------- TPE

def test_tpe_is_a_registered_strategy_that_counts_every_query():
    assert search.get_strategy("tpe") is tpe_search
    objective = Counting()
    history = tpe_search(objective, 120, seed=0)
    assert len(history) == objective.calls == 120
    # a cell proposed again is evaluated again and costs a query, as in random search
    assert len({e.arch for e in history}) <= 120
    assert history.best().score >= 5


def test_tpe_learns_on_a_synthetic_objective():
    """After its ten random start-up trials TPE queries good cells far more often than random search."""
    tpe = [np.mean([e.score for e in tpe_search(conv_count, 100, seed=s)][50:]) for s in range(3)]
    rand = [np.mean([e.score for e in search.random_search(conv_count, 100, seed=s)][50:]) for s in range(3)]
    assert min(tpe) > max(rand) + 1


def test_tpe_runs_reproduce_from_the_seed():
    objective = search.BenchmarkObjective("cifar10")
    a, b, c = (tpe_search(objective, 40, seed=s) for s in (3, 3, 4))
    assert [(e.arch, e.score) for e in a] == [(e.arch, e.score) for e in b]
    assert [e.arch for e in a] != [e.arch for e in c]


def test_optuna_stays_quiet_and_its_logging_level_is_restored(capsys, caplog):
    before = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    try:
        with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.INFO):
            warnings.simplefilter("always")
            tpe_search(conv_count, 15, seed=0)
            optuna_hyperband(SaturatingCurve(), 1, 9, 3, n_trials=6, seed=0)
        out = capsys.readouterr()
        assert "Trial" not in out.out + out.err and not [r for r in caplog.records if "Trial" in r.getMessage()]
        assert not [w for w in caught if issubclass(w.category, optuna.exceptions.ExperimentalWarning)]
        assert optuna.logging.get_verbosity() == optuna.logging.INFO
    finally:
        optuna.logging.set_verbosity(before)
    with quiet_optuna():
        assert optuna.logging.get_verbosity() == optuna.logging.WARNING


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(budget=0), ValueError, "budget must be a positive int"),
    (dict(budget=2.5), TypeError, "budget must be a positive int"),
    (dict(seed=-3), ValueError, "seed must be a non-negative int"),
    (dict(seed="0"), TypeError, "seed must be an int or a numpy.random.Generator"),
    (dict(space="nb201"), TypeError, "space must be None or a NB201Space"),
    (dict(n_startup=5), TypeError, "unexpected keyword argument 'n_startup'"),
])
def test_tpe_bad_input_is_a_clear_error(kwargs, error, message):
    settings = dict(objective=conv_count, budget=10)
    settings.update(kwargs)
    with pytest.raises(error, match=message):
        tpe_search(**settings)


# ---------------------------------------------------------------------- Hyperband's brackets

@pytest.mark.parametrize("min_resource, max_resource, eta", [(1, 27, 3), (1, 81, 3), (1, 16, 2), (3, 27, 3)])
def test_optuna_builds_our_hyperband_brackets_where_the_ratio_is_a_power_of_eta(min_resource, max_resource, eta):
    ours = search.hyperband_brackets(min_resource, max_resource, eta)
    theirs = optuna_hyperband_brackets(min_resource, max_resource, eta)
    assert len(theirs) == len(ours)
    assert [rung for _, rung in theirs] == [start for _, start in ours]   # the same first rungs
    total = sum(n for n, _ in ours)
    # trials go to brackets by a hash, in proportion to the brackets' sizes in Hyperband
    np.testing.assert_allclose([share for share, _ in theirs], [n / total for n, _ in ours], atol=0.04)


def test_where_optuna_and_our_hyperband_differ():
    # log(243, 3) is 4.999999999999999 in floating point: Optuna's floor drops a bracket
    assert len(search.hyperband_brackets(1, 243, 3)) == 6
    assert len(optuna_hyperband_brackets(1, 243, 3, n_trials=300)) == 5
    # a ratio that is no power of eta: ours anchors the rungs at the maximum, Optuna at the minimum
    assert [start for _, start in search.hyperband_brackets(2, 50, 3)] == [6, 17, 50]
    assert [rung for _, rung in optuna_hyperband_brackets(2, 50, 3, n_trials=300)] == [2, 6, 18]


def test_bracket_probe_bad_input():
    with pytest.raises(ValueError, match="need min_resource <= max_resource"):
        optuna_hyperband_brackets(9, 3)
    with pytest.raises(ValueError, match="eta must be an int >= 2"):
        optuna_hyperband_brackets(1, 9, 1)
    with pytest.raises(TypeError, match="max_resource must be a positive int"):
        optuna_hyperband_brackets(1, 9.0)


# ------------------------------------------------------------------- Hyperband over training

def test_optuna_hyperband_prunes_at_rungs_and_counts_the_epochs():
    curve = SaturatingCurve()
    history = optuna_hyperband(curve, 1, 27, 3, n_trials=60, seed=0)
    frame = history.to_frame()
    assert len(frame) == 60 and history.successful() == list(history)
    assert frame["epochs"].sum() == curve.epochs          # training stops when pruned
    assert (frame["fidelity"] == frame["epochs"]).all()
    complete, pruned = frame[~frame["pruned"]], frame[frame["pruned"]]
    assert (complete["epochs"] == 27).all() and len(pruned) > 0
    assert set(pruned["epochs"]) <= {1, 3, 9}             # pruned only at a rung
    assert frame["epochs"].sum() < 27 * 60 * 0.9
    best = complete.loc[complete["score"].idxmax()]
    assert best["test_acc"] >= 6


def test_optuna_hyperband_reproduces_and_tells_optuna_every_trial():
    runs = [optuna_hyperband(SaturatingCurve(), 1, 9, 3, n_trials=20, seed=s) for s in (1, 1, 2)]
    key = [[(e.arch, e.info["epochs"]) for e in h] for h in runs]
    assert key[0] == key[1] and key[0] != key[2]


def test_a_failing_curve_is_a_failed_trial_and_the_search_goes_on():
    def curve(cell, max_epochs):
        if cell.num_ops("none") >= 2:
            raise RuntimeError("diverged")
        return iter([1.0, 2.0, 3.0][:max_epochs])

    history = optuna_hyperband(curve, 1, 3, 3, n_trials=20, seed=0)
    failed = [e for e in history if not e.ok]
    assert len(history) == 20 and failed and all("diverged" in e.error for e in failed)
    empty = optuna_hyperband(lambda cell, epochs: iter([]), 1, 3, 3, n_trials=2, seed=0)
    assert all("yielded no epoch" in e.error for e in empty)


def test_optuna_hyperband_bad_input():
    with pytest.raises(ValueError, match="need min_fidelity <= max_fidelity"):
        optuna_hyperband(SaturatingCurve(), 9, 3)
    with pytest.raises(ValueError, match="eta must be an int >= 2"):
        optuna_hyperband(SaturatingCurve(), 1, 9, eta=1)
    with pytest.raises(TypeError, match="objective must be a TrainingObjective or a curve"):
        optuna_hyperband("cifar10", 1, 9)
    with pytest.raises(ValueError, match="n_trials must be a positive int"):
        optuna_hyperband(SaturatingCurve(), 1, 9, n_trials=0)


@pytest.mark.usefixtures("one_torch_thread")
def test_training_curve_trains_epoch_by_epoch_and_hyperband_uses_it():
    objective = TrainingObjective("digits", C=4, N=1, n_train=256, n_valid=64, batch_size=16, lr=0.1)
    curve = TrainingCurve(objective)
    best = nb201.Cell.from_index(6111)
    first = list(curve(best, 3))
    assert [r["epoch"] for r in first] == [1, 2, 3]
    assert all(0 <= r["score"] <= 100 for r in first) and 0 <= first[-1]["test_acc"] <= 100
    assert np.isnan(first[0]["test_acc"]) and np.isnan(first[1]["test_acc"])   # measured at the end only
    every = list(TrainingCurve(objective, test_every_epoch=True)(best.to_str(), 3))   # seeded: the same run
    assert [r["score"] for r in every] == [r["score"] for r in first]
    assert every[-1]["test_acc"] == first[-1]["test_acc"] and not np.isnan(every[0]["test_acc"])
    assert first[-1]["score"] > list(curve(nb201.Cell(("none",) * 6), 3))[-1]["score"]
    history = optuna_hyperband(objective, 1, 3, 3, n_trials=4, seed=0)
    assert len(history) == 4 and all(e.ok and 1 <= e.info["epochs"] <= 3 for e in history)
    with pytest.raises(TypeError, match="objective must be a TrainingObjective"):
        TrainingCurve(search.BenchmarkObjective("cifar10"))
    with pytest.raises(TypeError, match="cell must be a nascourse.spaces.nb201.Cell"):
        curve(3, 2)
    with pytest.raises(TypeError, match="test_every_epoch must be True or False"):
        TrainingCurve(objective, test_every_epoch=1)



@pytest.mark.usefixtures("one_torch_thread")
def test_training_curve_is_one_uninterrupted_run_of_the_objective():
    from nascourse import curves

    objective = TrainingObjective("digits", C=4, N=1, n_train=256, n_valid=64, batch_size=32, lr=0.1,
                                  image_size=8, num_threads=1)
    cell, other = nb201.Cell.from_index(6111), nb201.Cell.from_index(1000)
    whole = curves.train_curve(objective, cell, 3)
    torch.manual_seed(123)
    caller_alone = torch.rand(3)
    torch.manual_seed(123)
    results, caller = [], []
    for result in TrainingCurve(objective)(cell, 3):
        results.append(result)
        caller.append(torch.rand(1))                 # the caller draws between epochs
    # the accuracy after epoch r is that of one run whose learning rate follows the cosine
    # over 3 epochs (momentum carried on): train_curve's, to the last bit
    assert [r["score"] for r in results] == whole["valid_acc"]
    assert [r["train_loss"] for r in results] == whole["train_loss"]
    assert results[-1]["test_acc"] == whole["test_acc"]
    assert results[-1]["score"] == objective(cell, 3)["score"]
    assert torch.equal(torch.cat(caller), caller_alone)   # the caller's generator is left alone
    # two curves of one objective share its loaders: interleaved, each is still its own run
    alone = [r["score"] for r in TrainingCurve(objective)(other, 3)]
    zipped = list(zip(TrainingCurve(objective)(cell, 3), TrainingCurve(objective)(other, 3)))
    assert [a["score"] for a, _ in zipped] == whole["valid_acc"] and [b["score"] for _, b in zipped] == alone


# ------------------------------------------------------------------ scripts/blackbox_tools.py

@pytest.mark.usefixtures("one_torch_thread")
def test_the_script_runs_on_a_tiny_setting(capsys):
    from scripts import blackbox_tools as script

    script.main(["--seeds", "3", "--budget", "12", "--strategies", "random", "reinforce", "tpe",
                 "--training-seeds", "1", "--max-epochs", "3"])
    out = capsys.readouterr().out
    assert "3 seeds x 12 queries" in out and "reinforce vs random" in out
    assert "tpe vs bo" not in out                      # BO was not run: no test against it
    assert "93.85 ± 0.37" in out and "Part 2" in out
    assert max(len(line) for line in out.splitlines()) <= 80
    rows = [line.split() for line in out.splitlines() if line.split()[:2] in (["ours", "0"], ["optuna", "0"])]
    assert len(rows) == 2 and all(int(row[3]) >= 3 for row in rows)   # each trained at least 3 times


def test_tpe_runs_asynchronously_on_an_executor():
    import concurrent.futures as cf

    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        history = tpe_search(conv_count, 40, seed=0, executor=pool)
    assert len(history) == 40 and history.best().score >= 4
