"""Accuracy and hardware cost of NAS-Bench-201 cells as a multi-objective objective
(chapter 09), from the shipped NAS-Bench-201 and HW-NAS-Bench tables.

:func:`hardware_objective` returns a :class:`HardwareObjective`: called on a cell it
returns a dict with ``'score'`` (the selection accuracy, so chapter 03's single-objective
tools still read it), ``'accuracy'`` (the same), ``'test_acc'`` (reported, as in chapter
03) and the cost (``'latency'`` or ``'energy'``). Its :attr:`~HardwareObjective.names` and
:attr:`~HardwareObjective.maximize` say which entries form the objective vector, so
:func:`objective_values` turns a search history into the matrix that
:func:`~nascourse.search.multiobjective.pareto.pareto_front` and
:func:`~nascourse.search.multiobjective.pareto.hypervolume` read.

HW-NAS-Bench stores -1 for the Edge TPU latency of the 4,699 cells that its Edge TPU
compiler rejected; :func:`nascourse.benchmarks.load_hw` gives NaN there, so those cells have
no latency here (NaN in :meth:`HardwareObjective.table`)
and evaluating one raises, which a search records as a failed evaluation.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np
import pandas as pd

from nascourse import benchmarks
from nascourse._checks import check_choice, check_number, check_sequence, check_type
from nascourse.search.base import History
from nascourse.search.multiobjective.pareto import hypervolume, pareto_front
from nascourse.search.objectives import BenchmarkObjective
from nascourse.spaces import nb201

__all__ = ["DEVICES", "DEVICE_METRICS", "HardwareObjective", "devices_table", "hardware_objective", "objective_values"]

#: The six HW-NAS-Bench devices and the cost metrics each one has (the Eyeriss
#: arithmetic intensity is not a cost, so it is left out).
DEVICE_METRICS: dict[str, tuple[str, ...]] = {
    "edgegpu": ("latency", "energy"),
    "raspi4": ("latency",),
    "edgetpu": ("latency",),
    "pixel3": ("latency",),
    "eyeriss": ("latency", "energy"),
    "fpga": ("latency", "energy"),
}
DEVICES: tuple[str, ...] = tuple(DEVICE_METRICS)
#: Units of the metrics in HW-NAS-Bench.
UNITS = {"latency": "ms", "energy": "mJ"}


class HardwareObjective:
    """Accuracy (maximised) and a hardware cost (minimised) of a NAS-Bench-201 cell.

    Built by :func:`hardware_objective`. The accuracy is selected as in chapter 03's
    :class:`~nascourse.search.objectives.BenchmarkObjective` (validation accuracy on
    CIFAR-10, test accuracy elsewhere, see :attr:`selects_on_test`).
    """

    def __init__(self, device: str = "edgegpu", metric: str = "latency", dataset: str = "cifar10",
                 select_on: str = "auto"):
        device = check_choice("device", device, DEVICES)
        self.metric = check_choice(f"metric (for device {device!r})", metric, DEVICE_METRICS[device])
        self.device = device
        self.accuracy = BenchmarkObjective(dataset, select_on)
        self.dataset = self.accuracy.dataset
        self.select_on = self.accuracy.select_on
        self.selects_on_test = self.accuracy.selects_on_test
        self.column = f"{device}_{self.metric}"
        #: The entries of the returned dict that form the objective vector, and their directions.
        self.names: tuple[str, str] = ("accuracy", self.metric)
        self.maximize: tuple[bool, bool] = (True, False)
        self.unit = UNITS[self.metric]

    @cached_property
    def _cost(self) -> np.ndarray:
        return benchmarks.load_hw(self.dataset)[self.column].to_numpy(dtype=float)  # NaN: not measured

    def __call__(self, cell: nb201.Cell) -> dict:
        check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell")
        cost = self._cost[cell.index]
        if np.isnan(cost):
            raise ValueError(f"HW-NAS-Bench has no {self.device} {self.metric} for cell {cell.index} "
                             f"({cell}): the device's compiler rejected it")
        result = self.accuracy(cell)
        return {"score": result["score"], "accuracy": result["score"], "test_acc": result["test_acc"],
                self.metric: float(cost)}

    def cost(self, cells) -> np.ndarray:
        """The cost of each cell of ``cells`` (NaN where the device has none)."""
        return self._cost[[c.index for c in cells]]

    def table(self, dropna: bool = True) -> pd.DataFrame:
        """Every cell's ``accuracy`` (selection), ``test_acc`` and cost, indexed by the
        benchmark index; without the cells that have no cost unless ``dropna=False``."""
        nb = benchmarks.load_nb201(self.dataset)
        frame = pd.DataFrame({"accuracy": nb["val_acc" if self.select_on == "val" else "test_acc"],
                              "test_acc": nb["test_acc"], self.metric: self._cost}, index=nb.index)
        return frame.dropna() if dropna else frame

    def reference_point(self, margin: float = 0.01) -> np.ndarray:
        """A reference point for the hypervolume that every cell strictly dominates: the
        worst accuracy and the worst cost in the whole table, each moved outwards by
        ``margin`` times that objective's range. Fixed per objective, so hypervolumes of
        different searches compare."""
        margin = check_number("margin", margin, positive=True)
        values = self.table()[list(self.names)].to_numpy()
        low, high = values.min(axis=0), values.max(axis=0)
        span = high - low
        return np.array([low[0] - margin * span[0], high[1] + margin * span[1]])

    def table_front(self) -> pd.DataFrame:
        """The rows of :meth:`table` on the Pareto front of (accuracy, cost), sorted by
        cost: the best any search can find."""
        table = self.table()
        front = table[pareto_front(table[list(self.names)].to_numpy(), self.maximize)]
        return front.sort_values(list(self.names[::-1]))

    def optimal_hypervolume(self, reference=None) -> float:
        """The hypervolume of the whole table's front (against ``reference``, by default
        :meth:`reference_point`): the ceiling of any search's hypervolume."""
        reference = self.reference_point() if reference is None else reference
        return hypervolume(self.table_front()[list(self.names)].to_numpy(), reference, self.maximize)

    def __getstate__(self):  # ship only the settings to worker processes
        return {k: v for k, v in self.__dict__.items() if k != "_cost"}

    def __repr__(self) -> str:
        return (f"HardwareObjective(device={self.device!r}, metric={self.metric!r}, "
                f"dataset={self.dataset!r}, select_on={self.select_on!r})")


def hardware_objective(device: str = "edgegpu", metric: str = "latency", dataset: str = "cifar10",
                       select_on: str = "auto") -> HardwareObjective:
    """The (accuracy, cost) objective of NAS-Bench-201 cells on one HW-NAS-Bench device.

    ``device`` is one of :data:`DEVICES`; ``metric`` one of the device's
    :data:`DEVICE_METRICS` (``'latency'`` everywhere, ``'energy'`` on edgegpu, eyeriss and
    fpga); ``dataset`` one of NAS-Bench-201's three data sets (the latency of the network
    configured for that data set, with its accuracy); ``select_on`` as for
    :class:`~nascourse.search.objectives.BenchmarkObjective`. An unknown device or metric
    is a ValueError that lists the valid ones.
    """
    return HardwareObjective(device, metric, dataset, select_on)


def devices_table(dataset: str = "cifar10", metric: str = "latency", select_on: str = "auto") -> pd.DataFrame:
    """Every cell's ``accuracy`` (selection), ``test_acc`` and ``metric`` on every device
    that has it (one column per device, NaN where HW-NAS-Bench has no value), indexed by
    the benchmark index: for comparing devices, e.g. ``table.drop(columns=["accuracy",
    "test_acc"]).corr("kendall")``."""
    devices = [d for d in DEVICES if metric in DEVICE_METRICS[d]]
    if not devices:
        valid = sorted({m for metrics in DEVICE_METRICS.values() for m in metrics})
        raise ValueError(f"unknown metric {metric!r}; valid metrics are {valid}")
    objectives = [HardwareObjective(d, metric, dataset, select_on) for d in devices]
    frame = objectives[0].table(dropna=False)[["accuracy", "test_acc"]]
    for device, objective in zip(devices, objectives):
        frame[device] = objective.table(dropna=False)[metric]
    return frame


def objective_values(history: History, names=("accuracy", "latency"), failed: str = "drop") -> np.ndarray:
    """The matrix of objective values of a search: one row per successful evaluation
    (in history order), one column per name in ``names`` (keys of the objective's dict,
    e.g. ``objective.names``). ``failed='drop'`` leaves failed evaluations out;
    ``'nan'`` keeps a row of NaN for each, so rows match the history's steps."""
    check_type("history", history, History, "a nascourse.search.History")
    check_choice("failed", failed, ("drop", "nan"))
    names = tuple(check_sequence("names", names, str, min_length=1))
    rows = []
    for e in history:
        if e.ok:
            missing = [n for n in names if n not in e.info]
            if missing:
                raise ValueError(f"evaluation {e.step} has no {missing}; its objective reported "
                                 f"{sorted(e.info)}")
            rows.append([e.info[n] for n in names])
        elif failed == "nan":
            rows.append([np.nan] * len(names))
    return np.array(rows, dtype=float).reshape(len(rows), len(names))
