"""The settings of a one-shot search: :class:`SearchSettings`, and the two sets the course
uses (the paper's, and the chapter's laptop-sized ones)."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from nascourse._checks import check_choice, check_int, check_number
from nascourse.search.oneshot.methods import METHODS, OneShotMethod, method_instance

#: The search settings of DARTS on NAS-Bench-201 (Dong & Yang 2020, after Liu et al. 2019):
#: 50 epochs of the C=16, N=5 supernet on the 25,000 + 25,000 split of CIFAR-10, batch 64,
#: SGD with learning rate 0.025 annealed to 0.001 by a cosine, Adam 3e-4 for ``alpha``.
PAPER_SETTINGS: dict[str, Any] = {
    "epochs": 50, "C": 16, "N": 5, "w_lr": 0.025, "w_lr_min": 0.001, "w_momentum": 0.9,
    "w_weight_decay": 3e-4, "grad_clip": 5.0, "a_lr": 3e-4, "a_weight_decay": 1e-3,
}
#: The chapter's laptop settings: a narrow, shallow supernet (C=8, N=1) and 10 epochs.
#: With two orders of magnitude fewer steps than the paper, ``alpha`` gets a learning rate
#: a hundred times larger (with 0.01, thirty epochs ended with the skip connection far
#: ahead for some seeds and not at all for others). Use them with :data:`LAPTOP_DATA`.
LAPTOP_SETTINGS: dict[str, Any] = {**PAPER_SETTINGS, "epochs": 10, "C": 8, "N": 1, "a_lr": 0.03}


@dataclass(frozen=True)
class SearchSettings:
    """Everything that decides what a one-shot run computes (how it runs, on which device,
    with which checkpoint and progress bar, is not part of it).

    ``method`` is a name in :data:`~nascourse.search.oneshot.methods.METHODS`; ``order=2``
    (the unrolled gradient) only for a method that supports it (DARTS). The weights train
    with SGD (``w_lr`` annealed to ``w_lr_min`` by a cosine over the ``epochs``,
    ``w_momentum``, ``w_weight_decay``, gradient norm clipped to ``grad_clip``, 0 for no
    clipping), ``alpha`` with Adam (``a_lr``, ``a_weight_decay``); a method that samples
    with a temperature anneals it linearly from ``tau_max`` to ``tau_min``. ``C`` and
    ``N`` size the supernet. ``options`` are the method's own settings (keyword arguments
    of its class, e.g. ``{"latency_weight": 0.001, "target": "pixel3"}`` for
    ``'darts_latency'``). The values are checked and normalised on creation (a wrong type
    is a TypeError, a bad value a ValueError).
    """

    method: str
    epochs: int = 10
    C: int = 8
    N: int = 1
    order: Literal[1, 2] = 1
    seed: int = 0
    w_lr: float = 0.025
    w_lr_min: float = 0.001
    w_momentum: float = 0.9
    w_weight_decay: float = 3e-4
    grad_clip: float = 5.0
    a_lr: float = 0.01
    a_weight_decay: float = 1e-3
    tau_max: float = 10.0
    tau_min: float = 0.1
    options: Mapping[str, Any] = field(default_factory=dict, hash=False)   # a dict: left out of the hash

    def __post_init__(self) -> None:
        checked = {"method": METHODS.canonical(self.method), "epochs": check_int("epochs", self.epochs),
                   "C": check_int("C", self.C), "N": check_int("N", self.N),
                   "order": check_choice("order", self.order, (1, 2)),
                   "seed": check_int("seed", self.seed, minimum=0),
                   "w_momentum": check_number("w_momentum", self.w_momentum, below=1)}
        for name in ("w_lr", "a_lr", "tau_max", "tau_min"):
            checked[name] = check_number(name, getattr(self, name), positive=True)
        for name in ("w_lr_min", "w_weight_decay", "grad_clip", "a_weight_decay"):
            checked[name] = check_number(name, getattr(self, name))
        method_instance(checked["method"], self.options)     # checks the options
        checked["options"] = dict(self.options)
        for name, value in checked.items():
            object.__setattr__(self, name, value)
        if self.w_lr_min > self.w_lr:
            raise ValueError(f"w_lr_min={self.w_lr_min} must not exceed w_lr={self.w_lr}")
        if self.tau_min > self.tau_max:
            raise ValueError(f"tau_min={self.tau_min} must not exceed tau_max={self.tau_max}")
        if self.order == 2 and not METHODS[self.method].second_order:
            raise ValueError(f"order=2 (the unrolled gradient) is a DARTS option; {self.method!r} takes order=1")

    def as_dict(self) -> dict[str, Any]:
        """The settings as a plain dict (what a checkpoint stores and compares); without
        ``options`` when there are none, so the checkpoints of runs written before methods
        had options still resume."""
        settings = dataclasses.asdict(self)
        if not settings["options"]:
            del settings["options"]
        return settings

    def build_method(self) -> OneShotMethod:
        """The method of these settings, built with their ``options``."""
        return method_instance(self.method, self.options)

    def learning_rate(self, epoch: int) -> float:
        """The weights' learning rate during ``epoch`` (0-based): a cosine from ``w_lr`` to
        ``w_lr_min``."""
        lo, hi = self.w_lr_min, self.w_lr
        return lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * epoch / self.epochs))

    def temperature(self, epoch: int) -> float:
        """The sampling temperature during ``epoch``: linear from ``tau_max`` (first epoch)
        to ``tau_min`` (last epoch)."""
        done = epoch / max(self.epochs - 1, 1)
        return (1 - done) * self.tau_max + done * self.tau_min
