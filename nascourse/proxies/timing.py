"""What the proxies cost (chapter 05): the time of :func:`nascourse.proxies.score` as a
multiple of one forward and backward pass of the same network on the same batch.

Both are measured in CPU time (less sensitive than wall-clock time to other programs on a
shared machine) and interleaved, and the medians of ``repeats`` runs are compared after
one warm-up run of each. ``scripts/bench_proxies.py`` prints the ratio for NAS-Bench-201
networks.
"""

from __future__ import annotations

import copy
import statistics
import time
from typing import Callable, Iterable

import torch
import torch.nn.functional as F
from torch import nn

from nascourse._checks import check_int


def _clock(fn: Callable[[], object]) -> tuple[float, float]:
    cpu, wall = time.process_time(), time.perf_counter()
    fn()
    return time.process_time() - cpu, time.perf_counter() - wall


def cost_ratio(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
               names: Iterable[str] | None = None, repeats: int = 3,
               separately: bool = False) -> dict[str, float]:
    """Median CPU and wall time of scoring ``names`` (default: all proxies) and of one
    training-mode forward + backward pass of a copy of ``net``, and their ratios.

    With ``separately=True`` every proxy is scored by its own call, so that nothing is
    shared: the cost of an implementation without shared passes.
    """
    from nascourse import proxies

    repeats = check_int("repeats", repeats)
    names = list(proxies.NAMES if names is None else names)
    trainee = copy.deepcopy(net).train()

    def step():
        trainee.zero_grad(set_to_none=True)
        F.cross_entropy(trainee(inputs), targets).backward()

    def scoring():
        for group in ([[n] for n in names] if separately else [names]):
            proxies.score(net, inputs, targets, group)

    step(), scoring()                         # warm-up: allocator, kernels, caches
    steps, scores = [], []
    for _ in range(repeats):
        steps.append(_clock(step))
        scores.append(_clock(scoring))
    step_cpu, step_wall = (statistics.median(t[i] for t in steps) for i in (0, 1))
    score_cpu, score_wall = (statistics.median(t[i] for t in scores) for i in (0, 1))
    return {"step_cpu": step_cpu, "score_cpu": score_cpu, "ratio_cpu": score_cpu / step_cpu,
            "step_wall": step_wall, "score_wall": score_wall, "ratio_wall": score_wall / step_wall}
