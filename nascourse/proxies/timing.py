"""What the proxies cost (chapter 05), in CPU seconds and in training steps.

A *training step* here is one forward and backward pass of the mean cross-entropy of a
train-mode copy of the network on the batch (no optimiser). :func:`step_seconds` times
one, :func:`cpu_seconds` any call, and :func:`cost_ratio` compares the time of
:func:`nascourse.proxies.score` with that of a training step. Times are CPU times, less
sensitive than wall-clock times to other programs on a shared machine; a warm-up call
pays the one-time costs (allocator, kernels, caches) before anything is timed.
``scripts/bench_proxies.py`` prints the ratio for NAS-Bench-201 networks.
"""

from __future__ import annotations

import copy
import statistics
import time
from dataclasses import dataclass
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from nascourse import proxies
from nascourse._checks import check_bool, check_int, check_type


def clock(fn: Callable[[], object]) -> tuple[float, float]:
    """CPU and wall-clock seconds of one call of ``fn``."""
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def cpu_seconds(fn: Callable[[], object], repeats: int = 1, warmup: int = 1) -> float:
    """Median CPU seconds of ``repeats`` calls of ``fn``, after ``warmup`` untimed calls."""
    repeats, warmup = check_int("repeats", repeats), check_int("warmup", warmup, minimum=0)
    for _ in range(warmup):
        fn()
    return statistics.median(clock(fn)[0] for _ in range(repeats))


def training_step(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> Callable[[], None]:
    """A function that runs one training step (forward and backward of the mean
    cross-entropy on the batch) of a train-mode copy of ``net``; ``net`` is not touched."""
    check_type("net", net, nn.Module, "a torch.nn.Module")
    trainee = copy.deepcopy(net).train()

    def step() -> None:
        trainee.zero_grad(set_to_none=True)
        F.cross_entropy(trainee(inputs), targets).backward()

    return step


def step_seconds(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor, repeats: int = 1,
                 warmup: int = 1) -> float:
    """Median CPU seconds of one training step of ``net`` on the batch (:func:`training_step`),
    over ``repeats`` timed steps after ``warmup`` untimed ones (the first is slower)."""
    return cpu_seconds(training_step(net, inputs, targets), repeats, warmup)


@dataclass(frozen=True)
class CostRatio:
    """Median times (seconds) of scoring proxies and of one training step, and their ratios."""

    step_cpu: float
    score_cpu: float
    step_wall: float
    score_wall: float

    @property
    def ratio_cpu(self) -> float:
        """Scoring time in training steps, CPU time."""
        return self.score_cpu / self.step_cpu

    @property
    def ratio_wall(self) -> float:
        """Scoring time in training steps, wall-clock time."""
        return self.score_wall / self.step_wall


def cost_ratio(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
               names: Iterable[str] | None = None, repeats: int = 3,
               separately: bool = False) -> CostRatio:
    """Median CPU and wall time of scoring ``names`` (default: all proxies) and of one
    training step of ``net``, timed interleaved after one warm-up run of each.

    With ``separately=True`` every proxy is scored by its own call, so that nothing is
    shared: the cost of an implementation without shared passes.
    """
    repeats, separately = check_int("repeats", repeats), check_bool("separately", separately)
    names = list(proxies.NAMES if names is None else names)
    step = training_step(net, inputs, targets)

    def scoring():
        for group in ([[n] for n in names] if separately else [names]):
            proxies.score(net, inputs, targets, group)

    step(), scoring()                         # warm-up: allocator, kernels, caches
    steps, scores = [], []
    for _ in range(repeats):
        steps.append(clock(step))
        scores.append(clock(scoring))
    step_cpu, step_wall = (statistics.median(t[i] for t in steps) for i in (0, 1))
    score_cpu, score_wall = (statistics.median(t[i] for t in scores) for i in (0, 1))
    return CostRatio(step_cpu=step_cpu, score_cpu=score_cpu, step_wall=step_wall, score_wall=score_wall)
