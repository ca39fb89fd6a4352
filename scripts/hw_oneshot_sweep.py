"""Hardware-aware one-shot search (chapter 09): a sweep of the latency penalty.

Prints :func:`nascourse.search.multiobjective.latency_penalty_sweep`: first-order DARTS on
chapter 04's NAS-Bench-201 supernet once without a penalty and once per penalty weight
lambda with ``'darts_latency'``, all with the same seed and data; for each run the
derived cell, its CIFAR-10 test accuracy in NAS-Bench-201, its measured latency in
HW-NAS-Bench and the lookup table's estimate: the points of an accuracy-latency front
traced by lambda.

    python scripts/hw_oneshot_sweep.py                          # chapter 04's settings, pixel3
    python scripts/hw_oneshot_sweep.py --epochs 2 --lambdas 0.001 0.01 --target edgegpu
"""

from __future__ import annotations

import argparse
import sys
import time

import torch

from nascourse.search import oneshot
from nascourse.search.multiobjective import DEVICES, latency_penalty_sweep


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
    runs = latency_penalty_sweep(args.lambdas, args.target, args.seed, args.epochs,
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
