"""Tests of the REINFORCE controller (NAS-Bench-201's reinforcement-learning baseline)."""

import numpy as np
import pytest

from nascourse import search
from nascourse.search.reinforce import (Adam, CategoricalPolicy, ExponentialBaseline, ReinforceController,
                                        reinforce_search)
from nascourse.spaces import nb201


def pool_count(cell: nb201.Cell) -> float:
    """A reward that always favours one operation: the number of average-pooling edges."""
    return float(cell.num_ops("avg_pool_3x3"))


def test_registered_as_a_strategy():
    assert search.get_strategy("reinforce") is reinforce_search
    assert "reinforce" in search.STRATEGIES.names


def test_policy_probabilities_sum_to_one_and_start_near_uniform():
    rng = np.random.default_rng(0)
    policy = CategoricalPolicy(rng.normal(0, 3, size=(6, 5)))
    p = policy.probabilities()
    assert p.shape == (6, 5) and np.all(p > 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0)
    start = CategoricalPolicy.nb201(rng)
    np.testing.assert_allclose(start.probabilities(), 0.2, atol=1e-3)
    assert start.entropy() == pytest.approx(6 * np.log(5), abs=1e-4)
    # huge logits do not overflow
    big = CategoricalPolicy(np.array([[1000.0, 0, 0], [0, 0, -1000.0]]))
    np.testing.assert_allclose(big.probabilities()[0], [1, 0, 0])


def test_gradient_of_the_log_probability_matches_finite_differences():
    rng = np.random.default_rng(1)
    policy = CategoricalPolicy(rng.normal(size=(6, 5)))
    actions = np.array([0, 4, 2, 2, 1, 3])
    grad = policy.grad_log_prob(actions)
    numeric = np.zeros_like(grad)
    for i in range(6):
        for j in range(5):
            for sign in (1, -1):
                shifted = CategoricalPolicy(policy.logits)
                shifted.logits[i, j] += sign * 1e-6
                numeric[i, j] += sign * shifted.log_prob(actions) / 2e-6
    np.testing.assert_allclose(grad, numeric, atol=1e-6)
    np.testing.assert_allclose(grad.sum(axis=1), 0.0, atol=1e-12)  # a softmax's gradient rows sum to 0


def test_samples_follow_the_probabilities():
    policy = CategoricalPolicy(np.log(np.array([[0.7, 0.1, 0.1, 0.05, 0.05]] * 6)))
    rng = np.random.default_rng(2)
    draws = np.array([policy.sample(rng) for _ in range(4000)])
    frequencies = np.stack([np.bincount(draws[:, e], minlength=5) / len(draws) for e in range(6)])
    np.testing.assert_allclose(frequencies, policy.probabilities(), atol=0.03)


def test_exponential_baseline_is_bias_corrected():
    baseline = ExponentialBaseline(0.9)
    assert np.isnan(baseline.value)
    assert baseline.update(80.0) == pytest.approx(80.0)  # not 0.1 * 80
    rewards = [80.0, 90.0, 70.0, 85.0]
    for r in rewards[1:]:
        baseline.update(r)
    weights = 0.1 * 0.9 ** np.arange(len(rewards))[::-1]
    assert baseline.value == pytest.approx(np.dot(weights, rewards) / weights.sum())


def test_adam_first_step_has_the_size_of_the_learning_rate():
    adam = Adam((2, 3), lr=0.01)
    grad = np.array([[5.0, -0.001, 2.0], [-3.0, 7.0, 0.5]])
    np.testing.assert_allclose(adam.step(grad), -0.01 * np.sign(grad), rtol=1e-4)


def test_a_reward_that_favours_one_operation_concentrates_the_policy_on_it():
    controller = ReinforceController(np.random.default_rng(0), lr=0.05)
    history = reinforce_search(pool_count, 400, controller=controller)
    assert len(history) == 400 and len(controller.log) == 399
    p = controller.policy.probabilities()
    pool = nb201.OPS.index("avg_pool_3x3")
    assert np.all(p[:, pool] > 0.8)
    assert controller.policy.mode().tolist() == [pool] * 6
    assert controller.log[-1]["entropy"] < 0.5 * controller.log[0]["entropy"]
    late = [e.score for e in history][-50:]
    assert np.mean(late) > 5   # random cells average 6/5 = 1.2 pooling edges


def test_a_constant_reward_leaves_the_policy_where_it_was():
    controller = ReinforceController(np.random.default_rng(0))
    start = controller.policy.logits.copy()
    reinforce_search(lambda cell: 90.0, 200, controller=controller)
    # every advantage is zero up to rounding (about 1e-14, which Adam's eps keeps tiny)
    np.testing.assert_allclose(controller.policy.logits, start, atol=1e-5)


def test_rewards_are_not_scaled_and_adam_makes_the_scale_irrelevant():
    runs = {}
    for scale in (1.0, 100.0):
        controller = ReinforceController(np.random.default_rng(3))
        reinforce_search(lambda cell, s=scale: s * pool_count(cell), 100, controller=controller)
        runs[scale] = controller
    assert runs[100.0].log[5]["reward"] == 100 * runs[1.0].log[5]["reward"]
    np.testing.assert_allclose(runs[100.0].policy.logits, runs[1.0].policy.logits, atol=1e-5)


def test_failed_evaluations_do_not_update_the_policy():
    def broken(cell):
        raise RuntimeError("worker lost")

    controller = ReinforceController(np.random.default_rng(0))
    start = controller.policy.logits.copy()
    history = reinforce_search(broken, 20, controller=controller)
    assert len(history) == 20 and not history.successful() and controller.log == []
    np.testing.assert_array_equal(controller.policy.logits, start)


def test_seeded_runs_reproduce():
    objective = search.BenchmarkObjective("cifar10")
    a, b, c = (reinforce_search(objective, 80, seed=s) for s in (5, 5, 6))
    assert [(e.arch, e.score) for e in a] == [(e.arch, e.score) for e in b]
    assert [e.arch for e in a] != [e.arch for e in c]
    generator = reinforce_search(objective, 30, seed=np.random.default_rng(5))
    assert [e.arch for e in generator] == [e.arch for e in a][:30]


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(budget=0), ValueError, "budget must be a positive int"),
    (dict(budget="10"), TypeError, "budget must be a positive int"),
    (dict(lr=-0.1), ValueError, "lr must be a positive finite number"),
    (dict(momentum=1.0), ValueError, "momentum must be a non-negative finite number below 1"),
    (dict(init_scale=float("nan")), ValueError, "scale must be a non-negative finite number"),
    (dict(seed=True), TypeError, "seed must be a non-negative int, got bool"),
    (dict(seed=1.5), TypeError, "seed must be an int or a numpy.random.Generator"),
    (dict(seed=-1), ValueError, "seed must be a non-negative int"),
    (dict(space="nb201"), TypeError, "space must be None or a NB201Space"),
    (dict(controller="mine"), TypeError, "controller must be a ReinforceController"),
])
def test_bad_settings_are_clear_errors(kwargs, error, message):
    settings = dict(objective=pool_count, budget=10)
    settings.update(kwargs)
    with pytest.raises(error, match=message):
        reinforce_search(**settings)


def test_bad_policy_input_is_a_clear_error():
    with pytest.raises(ValueError, match="logits must be a 2-D array"):
        CategoricalPolicy(np.zeros(5))
    with pytest.raises(ValueError, match="at least two choices"):
        CategoricalPolicy(np.zeros((6, 1)))
    with pytest.raises(ValueError, match="finite"):
        CategoricalPolicy(np.full((6, 5), np.inf))
    policy = CategoricalPolicy.nb201()
    with pytest.raises(ValueError, match="actions must be 6 indices from 0 to 4"):
        policy.log_prob([0, 1, 2])
    with pytest.raises(ValueError, match="actions must be 6 indices from 0 to 4"):
        policy.grad_log_prob([0, 1, 2, 3, 4, 5])
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator"):
        policy.sample(0)
    controller = ReinforceController(np.random.default_rng(0))
    with pytest.raises(ValueError, match="reward must be a finite number"):
        controller.update(nb201.Cell(("none",) * 6), float("nan"))
    with pytest.raises(TypeError, match="cell must be a nascourse.spaces.nb201.Cell"):
        controller.update("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|", 1.0)


def test_runs_asynchronously_on_an_executor():
    import concurrent.futures as cf

    controller = ReinforceController(np.random.default_rng(0), lr=0.05)
    with cf.ThreadPoolExecutor(max_workers=2) as pool:
        history = reinforce_search(pool_count, 60, controller=controller, executor=pool)
    assert len(history) == 60 and [e.step for e in history] == list(range(60))
    # every result that arrived before the last proposal updated the policy
    assert 57 <= len(controller.log) <= 59
    assert controller.policy.probabilities()[:, nb201.OPS.index("avg_pool_3x3")].mean() > 0.2
