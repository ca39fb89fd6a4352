r"""The REINFORCE controller of NAS-Bench-201's reinforcement-learning baseline (chapter 03).

The controller is a **factorised categorical policy**: one vector of logits
:math:`\theta_e \in \mathbb{R}^5` per edge :math:`e` of the cell, and the probability of a
cell :math:`a = (a_1, \dots, a_6)` is the product over edges of
:math:`\pi_\theta(a_e) = \operatorname{softmax}(\theta_e)_{a_e}`. Each step samples a cell,
queries the objective for its reward :math:`R` (the validation accuracy, in %), and moves
the logits along the REINFORCE estimate of the gradient of the expected reward
(Williams 1992),

.. math::

    \nabla_\theta\, \mathbb{E}_{a \sim \pi_\theta}[R(a)]
    = \mathbb{E}\big[(R(a) - b)\, \nabla_\theta \log \pi_\theta(a)\big],
    \qquad
    \frac{\partial \log \pi_\theta(a)}{\partial \theta_{e,k}} = [a_e = k] - \pi_\theta(k \mid e),

where the baseline :math:`b` (any number that does not depend on :math:`a`) leaves the
expectation unchanged and lowers the variance of the estimate.

The settings follow NAS-Bench-201's baseline (Dong & Yang 2020; their code in
AutoDL-Projects, read for the settings only): logits initialised to :math:`10^{-3}` times
standard normal draws, Adam on the logits (:math:`\beta = (0.9, 0.999)`,
:math:`\epsilon = 10^{-8}`, learning rate 0.01, the value their NATS-Bench scripts pass; their
NAS-Bench-201 script takes it as an argument and was tuned over 0.01 to 0.5), and a
bias-corrected exponential moving average of the rewards with momentum 0.9 as the baseline,
updated with the new reward *before* the advantage :math:`R - b` is formed (so the first
step has advantage zero). Rewards are **not scaled**: the reward is the objective's score
as it comes (validation accuracy in %). Adam divides each step by a running estimate of
the gradient's size, so multiplying every reward by a constant changes the steps only
through :math:`\epsilon`; with plain SGD the scale would act as a learning rate. The search
returns, like every strategy, the whole history; the cell it recommends is the best one
evaluated (as in the baseline's code), not the policy's mode.

The controller runs as a proposer of :func:`nascourse.search.base.run`, so it evaluates
serially or on an executor. Serially it is exactly the algorithm above. With several
evaluations in flight, each result updates the policy when it arrives, with the gradient
taken at the current logits (the cell may have been drawn from slightly older ones), and a
failed evaluation gives no update. Repeated cells are evaluated and counted again, as in
random search: the policy samples with replacement.
"""

from __future__ import annotations

import concurrent.futures as cf
from typing import Callable

import numpy as np

from nascourse._checks import check_array, check_int, check_number, check_type
from nascourse.rng import as_generator
from nascourse.search.base import Evaluation, History, NB201Space, run
from nascourse.search.blackbox import STRATEGIES
from nascourse.spaces import nb201

__all__ = ["Adam", "CategoricalPolicy", "ExponentialBaseline", "ReinforceController", "reinforce_search"]


class CategoricalPolicy:
    """Independent categorical distributions, one per decision (an edge of the cell), over
    the same ``n_choices`` options (the operations), parametrised by a matrix of logits of
    shape ``(n_decisions, n_choices)``."""

    def __init__(self, logits: np.ndarray):
        logits = check_array("logits", logits, ndim=2)
        if logits.shape[1] < 2:
            raise ValueError(f"logits need at least two choices per decision, got shape {logits.shape}")
        self.logits = logits.copy()

    @classmethod
    def nb201(cls, rng: int | np.random.Generator = 0, scale: float = 1e-3) -> "CategoricalPolicy":
        """A policy over the NAS-Bench-201 cells: six edges, five operations, logits drawn as
        ``scale`` times standard normal numbers (NAS-Bench-201's baseline: ``1e-3``, a
        policy that is uniform up to tiny differences)."""
        scale = check_number("scale", scale)
        shape = (len(nb201.EDGES), len(nb201.OPS))
        return cls(scale * as_generator(rng).standard_normal(shape))

    @property
    def shape(self) -> tuple[int, int]:
        return self.logits.shape

    def probabilities(self) -> np.ndarray:
        """The softmax of each row of the logits (each row sums to one)."""
        z = self.logits - self.logits.max(axis=1, keepdims=True)
        p = np.exp(z)
        return p / p.sum(axis=1, keepdims=True)

    def check_actions(self, actions: np.ndarray) -> np.ndarray:
        """``actions`` (one choice index per decision) as an int array; a ValueError when it
        has the wrong length or an index out of range."""
        actions = np.asarray(check_array("actions", actions, ndim=1), dtype=np.int64)
        n_decisions, n_choices = self.shape
        if len(actions) != n_decisions or actions.min() < 0 or actions.max() >= n_choices:
            raise ValueError(f"actions must be {n_decisions} indices from 0 to {n_choices - 1}, got {actions.tolist()}")
        return actions

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """One choice per decision, drawn independently from the rows' distributions."""
        check_type("rng", rng, np.random.Generator, "a numpy.random.Generator")
        cumulative = np.cumsum(self.probabilities(), axis=1)
        u = rng.random(self.shape[0])
        return np.minimum((cumulative < u[:, None]).sum(axis=1), self.shape[1] - 1)

    def log_prob(self, actions: np.ndarray) -> float:
        """:math:`\\log \\pi(a) = \\sum_e \\log \\operatorname{softmax}(\\theta_e)_{a_e}`."""
        actions = self.check_actions(actions)
        p = self.probabilities()
        return float(np.log(p[np.arange(len(actions)), actions]).sum())

    def grad_log_prob(self, actions: np.ndarray) -> np.ndarray:
        """The gradient of :meth:`log_prob` with respect to the logits: for each decision,
        the one-hot vector of its choice minus the row's probabilities."""
        actions = self.check_actions(actions)
        grad = -self.probabilities()
        grad[np.arange(len(actions)), actions] += 1.0
        return grad

    def mode(self) -> np.ndarray:
        """The most probable choice of each decision."""
        return self.logits.argmax(axis=1)

    def entropy(self) -> float:
        """The entropy of the whole policy (the sum over decisions), in nats:
        :math:`6 \\log 5 \\approx 9.66` for a uniform NAS-Bench-201 policy."""
        p = self.probabilities()
        return float(-(p * np.log(np.maximum(p, 1e-300))).sum())


class ExponentialBaseline:
    """A bias-corrected exponential moving average of the rewards:
    :math:`b_t = \\frac{\\sum_{i \\le t} (1-m)\\, m^{t-i} R_i}{\\sum_{i \\le t} (1-m)\\, m^{t-i}}`
    (the correction makes the first value the first reward, not :math:`(1-m) R_1`)."""

    def __init__(self, momentum: float = 0.9):
        self.momentum = check_number("momentum", momentum, below=1)
        self.numerator = 0.0
        self.denominator = 0.0

    def update(self, reward: float) -> float:
        """Add ``reward`` and return the new baseline."""
        reward = check_number("reward", reward, minimum=None)
        self.numerator = self.momentum * self.numerator + (1 - self.momentum) * reward
        self.denominator = self.momentum * self.denominator + (1 - self.momentum)
        return self.value

    @property
    def value(self) -> float:
        """The current baseline (NaN before the first reward)."""
        return self.numerator / self.denominator if self.denominator else float("nan")


class Adam:
    """Adam (Kingma & Ba 2015) for one array of parameters, minimising: ``step(grad)``
    returns the change to add to the parameters (PyTorch's defaults)."""

    def __init__(self, shape: tuple[int, ...], lr: float = 0.01, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8):
        self.lr = check_number("lr", lr, positive=True)
        self.beta1, self.beta2 = (check_number(f"betas[{k}]", b, below=1) for k, b in enumerate(betas))
        self.eps = check_number("eps", eps)
        self.m, self.v, self.t = np.zeros(shape), np.zeros(shape), 0

    def step(self, grad: np.ndarray) -> np.ndarray:
        self.t += 1
        self.m = self.beta1 * self.m + (1 - self.beta1) * grad
        self.v = self.beta2 * self.v + (1 - self.beta2) * grad**2
        m_hat = self.m / (1 - self.beta1**self.t)
        v_hat = self.v / (1 - self.beta2**self.t)
        return -self.lr * m_hat / (np.sqrt(v_hat) + self.eps)


class ReinforceController:
    """The REINFORCE controller as a proposer: :meth:`__call__` reads the new results of the
    history, updates the policy with each (:meth:`update`) and samples the next cell."""

    def __init__(self, rng: np.random.Generator, lr: float = 0.01, momentum: float = 0.9,
                 init_scale: float = 1e-3):
        self.rng = rng
        self.policy = CategoricalPolicy.nb201(rng, init_scale)
        self.optimizer = Adam(self.policy.shape, lr)
        self.baseline = ExponentialBaseline(momentum)
        self.seen = 0
        #: After each update: the reward, the baseline and the policy's entropy.
        self.log: list[dict[str, float]] = []

    def update(self, cell: nb201.Cell, reward: float) -> None:
        """One REINFORCE step for ``cell`` and its ``reward``: the baseline takes the reward
        in first, then the logits move by Adam along ``(reward - baseline) * grad log pi``."""
        check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell")
        baseline = self.baseline.update(reward)
        advantage = reward - baseline
        # the loss is -(R - b) log pi(a): its gradient is -(R - b) grad log pi(a)
        grad = -advantage * self.policy.grad_log_prob(np.array(cell.op_ids()))
        self.policy.logits += self.optimizer.step(grad)
        self.log.append({"reward": reward, "baseline": baseline, "entropy": self.policy.entropy()})

    def sample(self) -> nb201.Cell:
        """A cell drawn from the current policy."""
        return nb201.Cell(tuple(nb201.OPS[i] for i in self.policy.sample(self.rng)))

    def __call__(self, history: History) -> nb201.Cell:
        for ev in history.evaluations[self.seen:]:
            if ev.ok:
                self.update(ev.arch, ev.score)
        self.seen = len(history)
        return self.sample()


@STRATEGIES.register("reinforce")
def reinforce_search(objective: Callable, budget: int, seed: int | np.random.Generator = 0, lr: float = 0.01,
                     momentum: float = 0.9, init_scale: float = 1e-3, space: NB201Space | None = None,
                     executor: cf.Executor | None = None, max_in_flight: int | None = None,
                     callback: Callable[[Evaluation], None] | None = None,
                     controller: ReinforceController | None = None) -> History:
    """REINFORCE with a factorised categorical policy over the six NAS-Bench-201 edges and
    an exponential-moving-average baseline, NAS-Bench-201's reinforcement-learning
    baseline (see the module's documentation for the maths and the settings).

    ``lr`` is Adam's learning rate on the logits, ``momentum`` the baseline's, and
    ``init_scale`` the standard deviation of the initial logits. The reward is the
    objective's score, unscaled. Pass a ``controller`` (a :class:`ReinforceController`) to
    read its policy and its log after the run; ``seed`` and the settings are then ignored.
    The policy is defined on the NAS-Bench-201 cells only, so ``space`` must be None or an
    :class:`~nascourse.search.base.NB201Space`.
    """
    budget = check_int("budget", budget)
    check_type("space", space, (NB201Space, type(None)), "None or a NB201Space (the policy is over NB201 cells)")
    if controller is None:
        controller = ReinforceController(as_generator(seed), lr, momentum, init_scale)
    check_type("controller", controller, ReinforceController, "a ReinforceController or None")
    return run(controller, objective, budget, executor, max_in_flight, callback)
