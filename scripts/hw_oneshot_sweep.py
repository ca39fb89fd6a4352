"""Hardware-aware one-shot search (chapter 09): a sweep of the latency penalty.

Runs first-order DARTS on chapter 04's NAS-Bench-201 supernet once without a penalty and
once per penalty weight lambda with ``'darts_latency'`` (architecture loss = validation
cross-entropy + lambda x the cell's expected latency on one HW-NAS-Bench device, from the
device's additive lookup table), all with the same seed and data, and prints for each
run the derived cell, its CIFAR-10 test accuracy in NAS-Bench-201 and its measured
latency in HW-NAS-Bench (and the lookup table's estimate): the points of an
accuracy-latency front traced by lambda.

    python scripts/hw_oneshot_sweep.py                          # chapter 04's settings, pixel3
    python scripts/hw_oneshot_sweep.py --epochs 2 --lambdas 0.001 0.01 --target edgegpu
"""

from __future__ import annotations

import argparse
import sys
import time

import pandas as pd
import torch

from nascourse import benchmarks
from nascourse.search import oneshot
from nascourse.search.multiobjective import DEVICES, device_table, hardware_objective
from nascourse.spaces import nb201

#: One character per operation, for a cell that fits a printed line (edges in nb201.EDGES order).
SHORT = {"none": "-", "skip_connect": "S", "nor_conv_1x1": "1", "nor_conv_3x3": "3", "avg_pool_3x3": "P"}


def short(cell: nb201.Cell) -> str:
    """The cell as one character per edge, e.g. ``'3 3 1 S - 3'``."""
    return " ".join(SHORT[op] for op in cell.ops)


def sweep(lambdas: list[float], target: str = "pixel3", seed: int = 0, epochs: int | None = None,
          data_options: dict | None = None, settings: dict | None = None, device: str = "cpu",
          progress: bool = False) -> pd.DataFrame:
    """One row per run: the unconstrained DARTS run (``lambda`` 0) then one
    ``'darts_latency'`` run per weight in ``lambdas``; the derived cell, its table test
    accuracy, HW-NAS-Bench latency and lookup-table latency on ``target``, and the run's
    seconds. ``data_options`` and ``settings`` default to chapter 04's
    (:data:`~nascourse.search.oneshot.LAPTOP_DATA`, :data:`~nascourse.search.oneshot.LAPTOP_SETTINGS`)."""
    data_options = {**oneshot.LAPTOP_DATA, **(data_options or {})}
    settings = {**oneshot.LAPTOP_SETTINGS, **(settings or {})}
    if epochs is not None:
        settings["epochs"] = epochs
    objective = hardware_objective(target, "latency")
    table = device_table(target)
    test_acc = benchmarks.load_nb201("cifar10")["test_acc"]
    data = oneshot.search_data(**data_options, seed=seed)
    rows = []
    for weight in [0.0, *lambdas]:
        start = time.perf_counter()
        if weight == 0:
            result = oneshot.run_search("darts", data, seed=seed, device=device, progress=progress, **settings)
        else:
            result = oneshot.run_search("darts_latency", data, seed=seed, device=device, progress=progress,
                                        options={"latency_weight": weight, "target": target}, **settings)
        cell = result.cell
        rows.append({"lambda": weight, "cell": short(cell), "test_acc": float(test_acc.loc[cell.index]),
                     "latency": float(objective.cost([cell])[0]), "table_lat": float(table.predict([cell])[0]),
                     "seconds": time.perf_counter() - start})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lambdas", type=float, nargs="+", default=[0.0003, 0.001, 0.003, 0.01, 0.03],
                        help="penalty weights (per ms of expected latency), each > 0")
    parser.add_argument("--target", default="pixel3", choices=list(DEVICES), help="HW-NAS-Bench device")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--epochs", type=int, default=oneshot.LAPTOP_SETTINGS["epochs"])
    parser.add_argument("--n-images", type=int, default=oneshot.LAPTOP_DATA["n_images"])
    parser.add_argument("--image-size", type=int, default=oneshot.LAPTOP_DATA["image_size"])
    parser.add_argument("--batch-size", type=int, default=oneshot.LAPTOP_DATA["batch_size"])
    parser.add_argument("--C", type=int, default=oneshot.LAPTOP_SETTINGS["C"], help="supernet width")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    args = parser.parse_args(argv)
    if min(args.lambdas) <= 0 or args.seed < 0 or args.epochs < 1 or args.threads < 1:
        parser.error("--lambdas must be > 0, --seed >= 0, --epochs and --threads >= 1")

    torch.set_num_threads(args.threads)
    start = time.perf_counter()
    runs = sweep(args.lambdas, args.target, args.seed, args.epochs,
                 data_options={"n_images": args.n_images, "image_size": args.image_size,
                               "batch_size": args.batch_size},
                 settings={"C": args.C})
    wall = time.perf_counter() - start
    print(f"first-order DARTS, {args.epochs} epochs, C={args.C}, {args.n_images} images at "
          f"{args.image_size}px, seed {args.seed}")
    print(f"test_acc: CIFAR-10 test accuracy (%) in NAS-Bench-201; latency: {args.target} ms\n"
          "in HW-NAS-Bench; table_lat: the estimate of the device's lookup table")
    print("cell: one operation per edge (S skip, 1 conv 1x1, 3 conv 3x3, P pool, - none)")
    shown = runs.drop(columns="seconds").rename(columns={"lambda": "λ"})
    print(shown.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    base = runs.iloc[0]
    lower = runs.iloc[1:][runs.iloc[1:]["latency"] < base["latency"]]
    print(f"{len(lower)} of {len(runs) - 1} penalised runs derive a cell with lower {args.target} "
          f"latency than the\nunconstrained run ({base['latency']:.3g} ms); {wall:.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
