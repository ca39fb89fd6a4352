"""Hardware-aware one-shot search, swept over the penalty weight (chapter 09).

:func:`latency_penalty_sweep` runs first-order DARTS on chapter 04's NAS-Bench-201
supernet once without a penalty and once per weight lambda with the one-shot method
``'darts_latency'`` (architecture loss = validation cross-entropy + lambda x the expected
latency of the cell on one HW-NAS-Bench device, from the device's additive lookup table),
all with the same seed and data. Each derived cell is then looked up: its CIFAR-10 test
accuracy in NAS-Bench-201, its measured latency in HW-NAS-Bench and the lookup table's
estimate. The rows are the points of an accuracy-latency front traced by lambda.
``scripts/hw_oneshot_sweep.py`` prints the sweep; chapter 09 runs one weight live.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence

import pandas as pd

from nascourse import benchmarks
from nascourse._checks import check_bool, check_choice, check_int, check_number, check_sequence, check_type
from nascourse.search.multiobjective.hardware import DEVICES, hardware_objective
from nascourse.search.multiobjective.latency import device_table
from nascourse.spaces import nb201

#: One character per operation, so that a cell fits a printed line (edges in ``nb201.EDGES`` order).
SHORT_OPS: dict[str, str] = {"none": "-", "skip_connect": "S", "nor_conv_1x1": "1", "nor_conv_3x3": "3",
                             "avg_pool_3x3": "P"}


def short_cell(cell: nb201.Cell) -> str:
    """The cell as one character per edge (:data:`SHORT_OPS`), e.g. ``'3 3 1 S - 3'``."""
    check_type("cell", cell, nb201.Cell)
    return " ".join(SHORT_OPS[op] for op in cell.ops)


def latency_penalty_sweep(lambdas: Sequence[float], target: str = "pixel3", seed: int = 0,
                          epochs: int | None = None, data_options: Mapping | None = None,
                          settings: Mapping | None = None, device: str = "cpu",
                          progress: bool = False) -> pd.DataFrame:
    """One row per run: the unconstrained DARTS run (``lambda`` 0) first, then one
    ``'darts_latency'`` run per weight in ``lambdas`` (each > 0, per ms of expected
    latency). Columns: ``lambda``, ``cell`` (:func:`short_cell`), ``test_acc`` (NAS-Bench-201
    CIFAR-10 test accuracy, %), ``latency`` (HW-NAS-Bench, ms, on ``target``),
    ``table_lat`` (the lookup table's estimate, ms) and ``seconds`` (the run's wall time).
    ``data_options`` and ``settings`` default to chapter 04's
    (:data:`~nascourse.search.oneshot.LAPTOP_DATA`,
    :data:`~nascourse.search.oneshot.LAPTOP_SETTINGS`); ``epochs`` overrides the settings'."""
    from nascourse.search import oneshot  # the one-shot package imports this one lazily too

    weights = [check_number("each lambda", w, positive=True) for w in
               check_sequence("lambdas", lambdas, (int, float), what="a sequence of penalty weights",
                              min_length=1)]
    check_choice("target", target, DEVICES)
    check_int("seed", seed, minimum=0)
    check_int("epochs", epochs, allow_none=True)
    check_bool("progress", progress)
    data_options = {**oneshot.LAPTOP_DATA, **dict(data_options or {})}
    settings = {**oneshot.LAPTOP_SETTINGS, **dict(settings or {})}
    if epochs is not None:
        settings["epochs"] = epochs
    objective = hardware_objective(target, "latency")
    table = device_table(target)
    test_acc = benchmarks.load_nb201("cifar10")["test_acc"]
    data = oneshot.search_data(**data_options, seed=seed)
    rows = []
    for weight in [0.0, *weights]:
        start = time.perf_counter()
        if weight == 0:
            result = oneshot.run_search("darts", data, seed=seed, device=device, progress=progress, **settings)
        else:
            result = oneshot.run_search("darts_latency", data, seed=seed, device=device, progress=progress,
                                        options={"latency_weight": weight, "target": target}, **settings)
        cell = result.cell
        rows.append({"lambda": weight, "cell": short_cell(cell), "test_acc": float(test_acc.loc[cell.index]),
                     "latency": float(objective.cost([cell])[0]), "table_lat": float(table.predict([cell])[0]),
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)
