"""Tests of the training objective on tiny networks and a few dozen digits."""

import pickle
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from nascourse import search
from nascourse.search.training import TrainingObjective
from nascourse.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")

BEST = nb201.Cell.from_index(6111)
EMPTY = nb201.Cell(("none",) * 6)  # no path from input to output: cannot learn


def tiny(**kwargs):
    options = dict(dataset="digits", C=4, N=1, n_train=32, n_valid=64, batch_size=16, lr=0.05)
    options.update(kwargs)
    return TrainingObjective(**options)


def test_scores_by_validation_accuracy_and_reports_test_accuracy():
    out = tiny(epochs=2)(BEST)
    assert set(out) >= {"score", "test_acc", "train_loss", "epochs", "params", "cpu_seconds"}
    assert 0 <= out["score"] <= 100 and 0 <= out["test_acc"] <= 100
    assert out["epochs"] == 2 and out["params"] > 0 and out["cpu_seconds"] > 0
    # a 64-image validation set: accuracies are multiples of 1/64
    assert (out["score"] / 100 * 64) == pytest.approx(round(out["score"] / 100 * 64))


def test_same_cell_same_score_and_the_architecture_matters():
    objective = tiny(epochs=3, n_train=160)  # enough to learn something
    first, again = objective(BEST), objective(BEST.to_str())
    assert first == {**again, "cpu_seconds": first["cpu_seconds"]}
    assert objective(EMPTY)["score"] < first["score"]


def test_epochs_per_call_is_the_fidelity():
    objective = tiny(epochs=1)
    assert objective(BEST, 2)["epochs"] == 2
    assert objective(BEST, 2.0)["epochs"] == 2  # Hyperband's fidelities can come out as floats
    with pytest.raises(ValueError, match="epochs must be a positive int"):
        objective(BEST, 0)
    with pytest.raises(TypeError, match="epochs must be a positive int, got float 1.5"):
        objective(BEST, 1.5)


def test_restores_the_thread_count_and_pickles_without_data():
    import torch

    torch.set_num_threads(2)
    try:
        tiny(num_threads=1)(BEST)  # trains on one thread, then gives the caller its two back
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(1)
    objective = tiny()
    # what a worker process receives: the settings (a few hundred bytes), not the data
    assert len(pickle.dumps(objective)) < 2000
    with ProcessPoolExecutor(1) as pool:
        assert pool.submit(repr, objective).result() == repr(objective)


def test_cifar_subset_at_a_reduced_size():
    objective = tiny(dataset="cifar10-subset", image_size=8, n_valid=32)
    assert objective.warm_up() == 32
    assert objective.loaders().train.dataset[0][0].shape == (3, 8, 8)
    assert 0 <= objective(BEST)["score"] <= 100


@pytest.mark.parametrize("kwargs, message", [
    (dict(dataset="mnist"), "unknown dataset 'mnist'"),
    (dict(epochs=0), "epochs must be a positive int"),
    (dict(C=0), "C must be a positive int"),
    (dict(n_valid=0), "n_valid must be a positive int"),
    (dict(lr=-1.0), "lr must be a positive finite number, got -1.0"),
    (dict(lr=float("inf")), "lr must be a positive finite number, got inf"),
    (dict(seed=-1), "seed must be a non-negative int, got -1"),
    (dict(optimizer="lbfgs"), "unknown optimizer 'lbfgs'"),
    (dict(n_train=5000), "cannot take n_train=5000"),
])
def test_bad_settings(kwargs, message):
    with pytest.raises(ValueError, match=message):
        objective = tiny(**kwargs)
        objective(BEST)


def test_rejects_what_is_not_a_cell_and_settings_of_the_wrong_type():
    with pytest.raises(TypeError, match="cell must be a nascourse.spaces.nb201.Cell or its string, got int 42"):
        tiny()(42)
    with pytest.raises(TypeError, match="lr must be a positive finite number, got str '0.1'"):
        tiny(lr="0.1")
    with pytest.raises(TypeError, match="lr must be a positive finite number, got bool True"):
        tiny(lr=True)


def test_successive_halving_with_real_training():
    objective = tiny(n_valid=32)
    h = search.successive_halving(objective, 4, 1, 2, eta=2, seed=0)
    fids = [e.info["fidelity"] for e in h]
    assert fids == [1, 1, 1, 1, 2, 2]
    assert all(e.info["epochs"] == e.info["fidelity"] for e in h)
    promoted = {e.arch for e in h if e.info["fidelity"] == 2}
    first = sorted((e for e in h if e.info["fidelity"] == 1), key=lambda e: -e.score)
    assert promoted == {e.arch for e in first[:2]}


def test_a_search_with_real_training_is_reproducible():
    objective = tiny(n_valid=32)
    a, b = (search.regularized_evolution(objective, 6, seed=1, population_size=3) for _ in range(2))
    assert [(e.arch, e.score) for e in a] == [(e.arch, e.score) for e in b]
    assert np.isfinite(a.best().score)


def test_seeds_only_within_the_call_and_ignores_the_global_generator():
    import torch

    state = torch.get_rng_state()
    first = tiny()(BEST)
    assert torch.equal(torch.get_rng_state(), state)  # torch's global generator is left as it was
    torch.rand(7)  # a different global state: the same run
    assert tiny()(BEST)["score"] == first["score"]
