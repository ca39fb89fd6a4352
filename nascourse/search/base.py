"""What every search strategy shares (chapter 03): the history of evaluations, the search
space interface, and the loop that evaluates architectures serially or through any
``concurrent.futures.Executor`` (local processes, a Dask or Ray cluster).

A strategy is a *proposer*: given the history so far it returns the next architecture to
evaluate. :func:`run` owns the loop, so every strategy gets asynchronous parallel
evaluation and fault tolerance for free: a failed evaluation is recorded with its error
and the search goes on.
"""

from __future__ import annotations

import concurrent.futures as cf
import functools
import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

import numpy as np
import pandas as pd

from nascourse._checks import check_int
from nascourse.spaces import nb201


@dataclass
class Evaluation:
    """One evaluated architecture.

    ``score`` is what the strategy maximises (``None`` when the evaluation failed, with the
    reason in ``error``); ``info`` holds whatever else the objective reported (for a
    benchmark objective, the test accuracy used for reporting); ``seconds`` is the time the
    objective took where it ran.
    """

    step: int
    arch: Any
    score: float | None
    info: dict = field(default_factory=dict)
    error: str | None = None
    seconds: float = 0.0
    #: Where and when it ran (wall-clock ``time.time()`` stamps): for timelines of parallel runs.
    worker: str = ""
    started: float = float("nan")
    finished: float = float("nan")

    @property
    def ok(self) -> bool:
        return self.error is None


@dataclass
class History:
    """Evaluations in the order they finished, with helpers for plots and tables."""

    evaluations: list[Evaluation] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.evaluations)

    def __iter__(self):
        return iter(self.evaluations)

    def successful(self) -> list[Evaluation]:
        return [e for e in self.evaluations if e.ok]

    def best(self) -> Evaluation:
        """The evaluation with the highest score (ties: the earliest)."""
        ok = self.successful()
        if not ok:
            raise ValueError("no successful evaluation in this history")
        return max(ok, key=lambda e: (e.score, -e.step))

    def incumbent_trajectory(self, key: str | None = None) -> np.ndarray:
        """After each evaluation, the value of the best-scoring architecture so far.

        With ``key=None`` the score itself; otherwise ``info[key]`` of the incumbent (e.g.
        the test accuracy of the architecture selected on validation accuracy). NaN until
        the first success.
        """
        out = np.full(len(self.evaluations), np.nan)
        best_score, best_value = -np.inf, np.nan
        for i, e in enumerate(self.evaluations):
            if e.ok and e.score > best_score:
                best_score = e.score
                best_value = e.score if key is None else e.info[key]
            out[i] = best_value
        return out

    def to_frame(self) -> pd.DataFrame:
        rows = []
        for e in self.evaluations:
            rows.append({"step": e.step, "arch": str(e.arch), "score": e.score, "error": e.error,
                         "seconds": e.seconds, "worker": e.worker, "started": e.started,
                         "finished": e.finished, **e.info})
        return pd.DataFrame(rows)


class SearchSpace(Protocol):
    """What a black-box strategy needs from a search space."""

    def sample(self, rng: np.random.Generator) -> Any: ...
    def mutate(self, arch: Any, rng: np.random.Generator) -> Any: ...
    def neighbours(self, arch: Any) -> list: ...
    def encode(self, archs: list) -> np.ndarray: ...


class NB201Space:
    """The NAS-Bench-201 cell space as seen by the search strategies."""

    name = "nb201"

    def sample(self, rng: np.random.Generator) -> nb201.Cell:
        return nb201.random_cell(rng)

    def mutate(self, arch: nb201.Cell, rng: np.random.Generator) -> nb201.Cell:
        return arch.mutate(rng)

    def neighbours(self, arch: nb201.Cell) -> list[nb201.Cell]:
        return arch.neighbours()

    def encode(self, archs: list[nb201.Cell]) -> np.ndarray:
        """One-hot encoding: one block of five per edge (30 columns, :func:`nascourse.features.onehot`)."""
        from nascourse.features import onehot

        return onehot(list(archs)).astype(float)


Proposer = Callable[[History], Any]


def _unpack(result: Any) -> tuple[float, dict]:
    """Objectives return a number, or a dict with a ``'score'`` key and extra information."""
    if isinstance(result, dict):
        if "score" not in result:
            raise ValueError(f"an objective returning a dict must include 'score'; got keys {sorted(result)}")
        info = {k: v for k, v in result.items() if k != "score"}
        score = result["score"]
    else:
        score, info = result, {}
    score = float(score)
    if not np.isfinite(score):
        raise ValueError(f"objective returned a non-finite score {score}")
    return score, info


def _timed_call(objective: Callable, arch: Any) -> tuple[Any, dict]:
    """Call ``objective(arch)`` and say where and when it ran (this runs on the worker)."""
    started, start = time.time(), time.perf_counter()
    result = objective(arch)
    seconds = time.perf_counter() - start
    where = {"seconds": seconds, "worker": f"{socket.gethostname()}:{os.getpid()}",
             "started": started, "finished": started + seconds}
    return result, where


def _describe(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def _record(history: History, arch: Any, call: Callable[[], tuple[Any, dict]]) -> Evaluation:
    """Append the outcome of ``call`` to ``history``; an exception becomes a failed evaluation."""
    try:
        result, where = call()
        score, info = _unpack(result)
        ev = Evaluation(len(history), arch, score, info, None, **where)
    except Exception as exc:  # a failed evaluation must not end the search
        ev = Evaluation(len(history), arch, None, {}, _describe(exc))
    history.evaluations.append(ev)
    return ev


def _reraise(exc: BaseException):
    raise exc


def _submit(executor: cf.Executor, objective: Callable, arch: Any) -> Callable[[], tuple[Any, dict]]:
    """Hand ``objective(arch)`` to ``executor``; returns what gives its outcome (the future's
    ``result``, or, when the executor refuses the task, a call that raises its error)."""
    try:
        return executor.submit(_timed_call, objective, arch).result
    except Exception as exc:  # e.g. a broken process pool: a failed evaluation, not a failed search
        return functools.partial(_reraise, exc)


def evaluate_all(objective: Callable, archs: list, history: History,
                 executor: cf.Executor | None = None) -> list[Evaluation]:
    """Evaluate every architecture of ``archs`` (all at once when an executor is given) and
    append the evaluations to ``history`` in the order of ``archs``; returns them. A failed
    evaluation is recorded with its error, as in :func:`run`. (For strategies that
    evaluate a whole batch before deciding, such as a rung of successive halving.)"""
    if executor is None:
        calls = [functools.partial(_timed_call, objective, arch) for arch in archs]
    else:
        calls = [_submit(executor, objective, arch) for arch in archs]
    return [_record(history, arch, call) for arch, call in zip(archs, calls)]


def executor_slots(executor: cf.Executor) -> int:
    """How many evaluations ``executor`` runs at once: a pool's worker count, or the
    total threads of the workers of a Dask executor; 2 when it cannot tell."""
    workers = getattr(executor, "_max_workers", None)
    if workers:
        return int(workers)
    client = getattr(executor, "_client", None)  # distributed.cfexecutor.ClientExecutor
    if client is not None:
        try:
            return max(1, sum(client.nthreads().values()))
        except Exception:  # a client that cannot answer: fall back to the default
            pass
    return 2


def run(propose: Proposer, objective: Callable, budget: int, executor: cf.Executor | None = None,
        max_in_flight: int | None = None, callback: Callable[[Evaluation], None] | None = None) -> History:
    """Evaluate ``budget`` architectures proposed one at a time by ``propose``.

    Serial when ``executor`` is None. With an executor, up to ``max_in_flight`` evaluations
    run at once (default: :func:`executor_slots`); each time one finishes it is recorded
    and a new proposal is made from the updated history, so the search is asynchronous.
    Failed evaluations (an exception in the objective, a lost worker, an executor that
    refuses the task) are recorded with ``score=None`` and count towards the budget.
    """
    budget = check_int("budget", budget)
    history = History()
    if executor is None:
        while len(history) < budget:
            arch = propose(history)
            ev = _record(history, arch, lambda: _timed_call(objective, arch))
            if callback:
                callback(ev)
        return history
    slots = executor_slots(executor) if max_in_flight is None else max_in_flight
    slots = check_int("max_in_flight", slots)
    pending: dict[cf.Future, tuple[int, Any]] = {}
    submitted = 0
    while len(history) < budget:
        while len(pending) < slots and submitted < budget:
            arch = propose(history)
            submitted += 1
            try:
                pending[executor.submit(_timed_call, objective, arch)] = (submitted, arch)
            except Exception as exc:  # e.g. a broken process pool: record the failure, go on
                ev = _record(history, arch, functools.partial(_reraise, exc))
                if callback:
                    callback(ev)
        if not pending:
            continue
        done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
        for future in sorted(done, key=lambda f: pending[f][0]):  # ties: in submission order
            _, arch = pending.pop(future)
            ev = _record(history, arch, future.result)
            if callback:
                callback(ev)
    return history
