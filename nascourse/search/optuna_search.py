"""Optuna, the library practitioners reach for, driving the course's objectives (chapter 03).

- :func:`tpe_search` (strategy ``'tpe'`` of :data:`~nascourse.search.blackbox.STRATEGIES`):
  Optuna's tree-structured Parzen estimator (Bergstra et al. 2011) on the NAS-Bench-201
  cells, one categorical parameter ``edge0..edge5`` per edge, through Optuna's
  ask-and-tell interface (:class:`OptunaProposer`), so that it runs in the same loop,
  counts queries the same way and returns the same :class:`~nascourse.search.base.History`
  as the hand-written strategies.
- :func:`optuna_hyperband`: BOHB's idea (Falkner et al. 2018), TPE proposing cells and
  Optuna's ``HyperbandPruner`` stopping unpromising training runs, over real training with
  epochs as the fidelity: each trial trains one cell epoch by epoch
  (:class:`TrainingCurve`), reports the validation accuracy after every epoch and stops
  when the pruner says so.
- :func:`optuna_hyperband_brackets`: the brackets Optuna's ``HyperbandPruner`` builds,
  measured through its public behaviour, to set beside
  :func:`~nascourse.search.blackbox.hyperband_brackets`.

Optuna is imported inside the functions (it is heavy, and worker processes that only
evaluate cells do not need it); :func:`quiet_optuna` silences its one log line per trial
and its experimental-feature warnings for the duration of a call and then restores
Optuna's logging level.
"""

from __future__ import annotations

import collections
import concurrent.futures as cf
import contextlib
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from nascourse._checks import check_bool, check_int, check_type
from nascourse.rng import as_generator
from nascourse.search.base import Evaluation, History, NB201Space, run
from nascourse.search.blackbox import STRATEGIES, hyperband_brackets
from nascourse.spaces import nb201

__all__ = ["OptunaProposer", "TrainingCurve", "optuna_hyperband", "optuna_hyperband_brackets", "quiet_optuna",
           "tpe_search"]


@contextlib.contextmanager
def quiet_optuna() -> Iterator[None]:
    """A block in which Optuna logs warnings and errors only (not a line per trial) and its
    ``ExperimentalWarning`` is not shown; Optuna's logging level is restored afterwards."""
    import optuna

    verbosity = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            yield
    finally:
        optuna.logging.set_verbosity(verbosity)


def sampler_seed(seed: int | np.random.Generator) -> int:
    """The int seed to give an Optuna sampler: ``seed`` itself when it is an int, a draw
    from it when it is a numpy Generator."""
    check_type("seed", seed, (int, np.integer, np.random.Generator), "an int or a numpy.random.Generator")
    if isinstance(seed, np.random.Generator):
        return int(seed.integers(2**31))
    return check_int("seed", seed, minimum=0)


def edge_distributions() -> dict:
    """One Optuna categorical distribution per NAS-Bench-201 edge, ``edge0..edge5``, over
    the five operations."""
    from optuna.distributions import CategoricalDistribution

    return {f"edge{k}": CategoricalDistribution(nb201.OPS) for k in range(len(nb201.EDGES))}


class OptunaProposer:
    """Optuna's ask-and-tell loop as a proposer for :func:`nascourse.search.base.run`.

    Each call tells the study the results that arrived since the last call (the score, or
    ``values(evaluation)`` for several objectives; a failed evaluation as a failed trial,
    one with ``info['pruned']`` as a pruned trial), then asks for a new trial over
    :func:`edge_distributions` and returns its cell. A cell that Optuna proposes twice is
    evaluated twice: each trial costs one query, as in random search. :attr:`last_trial`
    is the trial of the cell returned last (an objective that reports intermediate values
    reads it)."""

    def __init__(self, study, values: Callable[[Evaluation], Any] | None = None):
        self.study = study
        self.values = values
        self.distributions = edge_distributions()
        self.pending: dict[nb201.Cell, collections.deque] = collections.defaultdict(collections.deque)
        self.seen = 0
        self.last_trial = None

    def tell(self, history: History) -> None:
        """Tell the study every evaluation of ``history`` it has not been told yet."""
        from optuna.trial import TrialState

        for ev in history.evaluations[self.seen:]:
            trial = self.pending[ev.arch].popleft()  # copies of one cell give the same values
            if not ev.ok:
                self.study.tell(trial, state=TrialState.FAIL)
            elif ev.info.get("pruned", False):
                self.study.tell(trial, state=TrialState.PRUNED)
            else:
                self.study.tell(trial, ev.score if self.values is None else self.values(ev))
        self.seen = len(history)

    def __call__(self, history: History) -> nb201.Cell:
        self.tell(history)
        trial = self.study.ask(self.distributions)
        cell = nb201.Cell(tuple(trial.params[f"edge{k}"] for k in range(len(nb201.EDGES))))
        self.pending[cell].append(trial)
        self.last_trial = trial
        return cell


@STRATEGIES.register("tpe")
def tpe_search(objective: Callable, budget: int, seed: int | np.random.Generator = 0,
               space: NB201Space | None = None, executor: cf.Executor | None = None,
               max_in_flight: int | None = None, callback: Callable[[Evaluation], None] | None = None,
               **sampler_options) -> History:
    """Optuna's TPE sampler on the NAS-Bench-201 cells: ``optuna.samplers.TPESampler(seed=seed,
    **sampler_options)``, maximising the objective's score. With Optuna 5's defaults the
    first ten trials are random; after them TPE splits the trials into good and poor ones,
    fits a density to each (multivariate for one objective: a mixture with one product of
    per-edge categorical kernels per trial) and proposes the best of 24 cells drawn from
    the good density by the ratio of the two densities. Every trial is one query, repeated cells
    included (the sampler may propose a cell again; our BO never does, random search and
    evolution may). With an executor, pending trials are handled by Optuna's "constant
    liar" (on by default in Optuna 5). The space is the NB201 cells: ``space`` must be None
    or an :class:`~nascourse.search.base.NB201Space`."""
    import optuna

    budget = check_int("budget", budget)
    check_type("space", space, (NB201Space, type(None)), "None or a NB201Space (the parameters are NB201 edges)")
    seed = sampler_seed(seed)
    with quiet_optuna():
        sampler = optuna.samplers.TPESampler(seed=seed, **sampler_options)
        study = optuna.create_study(direction="maximize", sampler=sampler)
        return run(OptunaProposer(study), objective, budget, executor, max_in_flight, callback)


# ----------------------------------------------------------------------------------- Hyperband


def optuna_hyperband_brackets(min_resource: int, max_resource: int, eta: int = 3,
                              n_trials: int = 2000) -> list[tuple[float, int]]:
    """The brackets of Optuna's ``HyperbandPruner(min_resource, max_resource, eta)``, found
    through its public behaviour: ``n_trials`` trials each report a NaN (which the pruner
    stops at the first rung it judges) at the steps ``min_resource * eta**k``; the step at
    which a trial is stopped is its bracket's first rung. Returns, for each bracket from
    the most exploratory, ``(share of the trials, first rung)``. Optuna assigns a trial to
    a bracket by a hash of the study name and the trial number, in proportion to the
    bracket's size in Hyperband, so the shares approach those proportions."""
    import optuna

    min_resource, max_resource = check_int("min_resource", min_resource), check_int("max_resource", max_resource)
    eta, n_trials = check_int("eta", eta, minimum=2), check_int("n_trials", n_trials)
    if min_resource > max_resource:
        raise ValueError(f"need min_resource <= max_resource, got {min_resource} and {max_resource}")
    steps = [min_resource * eta**k for k in range(64) if min_resource * eta**k <= max_resource]
    first_rung: collections.Counter = collections.Counter()
    with quiet_optuna():
        pruner = optuna.pruners.HyperbandPruner(min_resource, max_resource, eta)
        study = optuna.create_study(direction="maximize", pruner=pruner, study_name="bracket-probe",
                                    sampler=optuna.samplers.RandomSampler(seed=0))
        for _ in range(n_trials):
            trial = study.ask()
            stopped = None
            for step in steps:
                trial.report(float("nan"), step)
                if trial.should_prune():
                    stopped = step
                    break
            first_rung[stopped] += 1
            study.tell(trial, state=optuna.trial.TrialState.PRUNED)
    if None in first_rung:
        raise RuntimeError(f"{first_rung[None]} probe trials were never judged by the pruner")
    return [(first_rung[step] / n_trials, step) for step in sorted(first_rung)]


class TrainingCurve:
    """A :class:`~nascourse.search.training.TrainingObjective` trained epoch by epoch:
    ``curve(cell, epochs)`` is an iterator that trains the cell's network one more epoch
    per item and yields the result after it (the validation accuracy in % as ``score``,
    ``test_acc``, ``train_loss``, ``epoch``).

    The objective itself returns only the end of a run; a pruner needs the value after
    every epoch of one run instead. So the network is built as the objective builds it
    (same seed, same width and depth, same data, same optimiser) and trained by
    :func:`nascourse.train.train_epochs`: ONE uninterrupted run of ``epochs`` epochs, one
    optimiser whose momentum carries on from epoch to epoch, and a learning rate annealed
    batch by batch along a cosine over all ``epochs``. The validation accuracy after epoch
    ``r`` of an ``epochs``-long run is therefore that of the full run's network after ``r``
    epochs, still training at the learning rate of epoch ``r`` of the cosine: it equals
    ``curves.train_curve(objective, cell, epochs)["valid_acc"][r - 1]``, and at the last
    epoch the score ``objective(cell, epochs)`` returns, but before the last epoch it is
    not the score ``objective(cell, r)`` (whose cosine ends at ``r``). The objective's
    thread count is set while an epoch trains and restored before the result is yielded,
    and the run's random numbers are its own (the caller's are left alone), so what the
    caller does between epochs (a pruner, a sampler) does not change the curve.

    The test accuracy is measured after the last epoch only (NaN before it), unless
    ``test_every_epoch``: a pruner reads the validation accuracy, and evaluating the test
    images every epoch would add their cost to every epoch."""

    def __init__(self, objective, test_every_epoch: bool = False):
        from nascourse.search.training import TrainingObjective

        self.objective = check_type("objective", objective, TrainingObjective, "a TrainingObjective")
        self.test_every_epoch = check_bool("test_every_epoch", test_every_epoch)

    def __call__(self, cell: nb201.Cell | str, epochs: int) -> Iterator[dict]:
        cell = nb201.Cell.from_str(cell) if isinstance(cell, str) else cell
        check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell or its string")
        return self._epochs(cell, check_int("epochs", epochs))

    def _epochs(self, cell: nb201.Cell, epochs: int) -> Iterator[dict]:
        import torch

        from nascourse import train
        from nascourse.devices import as_device
        from nascourse.nn import nb201_network
        from nascourse.rng import torch_seeded

        objective = self.objective
        device, loaders = as_device(objective.device), objective.loaders()
        with torch_seeded(objective.seed, device):
            net = nb201_network(cell, C=objective.C, N=objective.N, num_classes=objective.num_classes)
        run = train.train_epochs(net, loaders.train, epochs, lr=objective.lr, valid_loader=loaders.valid,
                                 device=device, optimizer=objective.optimizer, seed=objective.seed, progress=False)
        with contextlib.closing(run):  # a caller that stops early closes the run too
            while True:
                threads = torch.get_num_threads()
                try:  # the thread count is set per epoch: between epochs the caller runs
                    if objective.num_threads is not None:
                        torch.set_num_threads(objective.num_threads)
                    record = next(run, None)
                    if record is None:
                        return
                    test_acc = float("nan")
                    if self.test_every_epoch or record["epoch"] == epochs:
                        with torch_seeded(objective.seed, device):  # the caller's generators stay as they are
                            _, test_acc = train.evaluate(net, loaders.test, device)
                finally:
                    torch.set_num_threads(threads)
                yield {"score": 100 * record["valid_acc"], "test_acc": 100 * test_acc,
                       "train_loss": record["train_loss"], "epoch": record["epoch"]}


class PrunedTraining:
    """The objective of one Hyperband trial: train ``cell`` epoch by epoch along
    ``curve(cell, max_epochs)``, report each epoch's score to the trial the proposer asked
    for last, and stop when the pruner says so. Returns the last result with ``epochs``
    (trained), ``fidelity`` (the same number, as in :func:`~nascourse.search.blackbox.hyperband`)
    and ``pruned``."""

    def __init__(self, curve: Callable[[nb201.Cell, int], Any], proposer: OptunaProposer, max_epochs: int):
        self.curve, self.proposer, self.max_epochs = curve, proposer, max_epochs

    def __call__(self, cell: nb201.Cell) -> dict:
        trial = self.proposer.last_trial
        result, epochs, pruned = None, 0, False
        for epochs, result in enumerate(self.curve(cell, self.max_epochs), start=1):
            result = result if isinstance(result, dict) else {"score": result}
            trial.report(float(result["score"]), epochs)
            if epochs >= self.max_epochs:
                break
            if trial.should_prune():
                pruned = True
                break
        if result is None:
            raise ValueError(f"the curve of {cell} yielded no epoch")
        return {**result, "epochs": epochs, "fidelity": epochs, "pruned": pruned}


def optuna_hyperband(objective: Any, min_epochs: int, max_epochs: int, eta: int = 3, n_trials: int = 50,
                     seed: int | np.random.Generator = 0, callback: Callable[[Evaluation], None] | None = None,
                     **sampler_options) -> History:
    """BOHB's idea with Optuna: TPE proposes cells (``TPESampler(seed=seed, **sampler_options)``)
    and ``HyperbandPruner(min_epochs, max_epochs, eta)`` stops training runs whose
    validation accuracy, reported after every epoch, is not in the top ``1/eta`` of those
    that reached the same rung; ``n_trials`` cells are tried.

    ``objective`` is a :class:`~nascourse.search.training.TrainingObjective`, trained epoch
    by epoch by :class:`TrainingCurve` (not retrained from scratch at each rung as our
    :func:`~nascourse.search.blackbox.hyperband` does: the pruner keeps a trial's bracket
    to itself, so a trial cannot know at which rung it will first be judged, and
    retraining at every possible rung would charge it for the rungs below its bracket), or any ``curve(cell, max_epochs)`` that returns an
    iterable of per-epoch results (numbers, or dicts with a ``'score'``). Each trial is one
    evaluation of the history, with ``info['epochs']`` (the epochs it trained, the cost),
    ``info['pruned']`` and the last epoch's result; ``info['fidelity']`` repeats the epochs,
    so that, as with :func:`~nascourse.search.blackbox.hyperband`, the cells to compare are
    those with ``fidelity == max_epochs``. The study is named after the seed because the
    pruner assigns trials to brackets by hashing the study name with the trial number: the
    same seed gives the same brackets and the same run. (BOHB proper fits its density
    model per budget and runs Hyperband's synchronous brackets; Optuna's pruner is
    asynchronous, see :func:`optuna_hyperband_brackets` and chapter 03.)
    """
    import optuna

    from nascourse.search.training import TrainingObjective

    curve = TrainingCurve(objective) if isinstance(objective, TrainingObjective) else objective
    check_type("objective", curve, Callable, "a TrainingObjective or a curve(cell, max_epochs) callable")
    min_epochs, max_epochs = check_int("min_epochs", min_epochs), check_int("max_epochs", max_epochs)
    hyperband_brackets(min_epochs, max_epochs, eta)  # the same checks as our Hyperband
    n_trials = check_int("n_trials", n_trials)
    seed = sampler_seed(seed)
    with quiet_optuna():
        study = optuna.create_study(direction="maximize", study_name=f"optuna-hyperband-seed{seed}",
                                    sampler=optuna.samplers.TPESampler(seed=seed, **sampler_options),
                                    pruner=optuna.pruners.HyperbandPruner(min_epochs, max_epochs, eta))
        proposer = OptunaProposer(study)
        history = run(proposer, PrunedTraining(curve, proposer, max_epochs), n_trials, callback=callback)
        proposer.tell(history)  # the last result too: the study is complete
    return history
