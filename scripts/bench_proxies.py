"""Time all thirteen zero-cost proxies against one forward + backward pass (chapter 05).

For NAS-Bench-201 networks (C=16, N=5) on a batch of 64 shipped CIFAR-10 training images,
prints the CPU and wall time of ``nascourse.proxies.score`` (all proxies) and of one
training step without the optimiser, and their ratio; first for the best CIFAR-10 cell,
then for cells drawn at random from the proxy table. The course's budget is a ratio of at
most 8; ``--check`` exits with status 1 if any cell's ratio exceeds it.

    python scripts/bench_proxies.py                 # best cell + 5 random cells
    python scripts/bench_proxies.py --cells 10 --repeats 5 --threads 1
    python scripts/bench_proxies.py --separately    # also: one call per proxy, nothing shared
    python scripts/bench_proxies.py --grasp-gap     # also: how much scoring grasp moves the others

``--grasp-gap`` adds, for each cell, the largest relative change of a proxy between a call
with grasp and one without (``nascourse.proxies.grasp_gap``; float32 rounding, see
``nascourse.proxies.score``) and the proxy that shows it.
"""

from __future__ import annotations

import argparse
import statistics
import sys

import numpy as np
import torch

from nascourse import benchmarks, image_data, proxies
from nascourse.nn import nb201_network
from nascourse.proxies.timing import cost_ratio
from nascourse.spaces import nb201

BUDGET = 8.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=5, help="random cells besides the best one")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per cell (median)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1: most stable)")
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--separately", action="store_true",
                        help="also time one call per proxy (no shared passes), for comparison")
    parser.add_argument("--grasp-gap", action="store_true",
                        help="also print how much scoring grasp in the same call moves the other proxies")
    parser.add_argument("--check", action="store_true", help=f"exit 1 if any cell's ratio > {BUDGET:g}")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    images, labels = image_data.load_cifar10_subset("train")
    x, y = images[:args.batch], labels[:args.batch]
    table = benchmarks.load_nb201("cifar10")
    best = int(table["test_acc"].idxmax())
    # the cells of the proxy table, except the one whose output ignores its input (no score)
    pool = [i for i in benchmarks.load_zc_proxies("cifar10").index if not nb201.Cell.from_index(i).is_disconnected()]
    rng = np.random.default_rng(args.seed)
    cells = [best] + [int(i) for i in rng.choice(pool, size=args.cells, replace=False)]

    print(f"torch {torch.__version__}, {args.threads} thread(s), batch {tuple(x.shape)}, "
          f"median of {args.repeats} runs; times in seconds")
    extra = f"  {'unshared':>8}" if args.separately else ""
    extra += f"  {'grasp gap':>17}" if args.grasp_gap else ""
    print(f"{'cell':>6}  {'step cpu':>8}  {'proxies cpu':>11}  {'ratio cpu':>9}  {'ratio wall':>10}{extra}  arch")
    ratios, unshared = [], []
    for index in cells:
        torch.manual_seed(args.seed)
        net = nb201_network(nb201.Cell.from_index(index), C=16, N=5, num_classes=10)
        r = cost_ratio(net, x, y, repeats=args.repeats)
        ratios.append(r.ratio_cpu)
        if args.separately:
            unshared.append(cost_ratio(net, x, y, repeats=args.repeats, separately=True).ratio_cpu)
        tag = "  (best on CIFAR-10)" if index == best else ""
        extra = f"  {unshared[-1]:8.2f}" if args.separately else ""
        if args.grasp_gap:
            gaps = proxies.grasp_gap(net, x, y)
            worst = max(gaps, key=gaps.get)
            extra += f"  {gaps[worst]:7.1e} {worst:>9}"
        print(f"{index:>6}  {r.step_cpu:8.2f}  {r.score_cpu:11.2f}  {r.ratio_cpu:9.2f}  "
              f"{r.ratio_wall:10.2f}{extra}  {nb201.Cell.from_index(index).to_str()}{tag}")
    median = statistics.median(ratios)
    print(f"cost of all 13 proxies / one forward+backward pass (CPU time): best cell {ratios[0]:.2f}, "
          f"median {median:.2f}, max {max(ratios):.2f}; budget {BUDGET:g}")
    if args.separately:
        print(f"the same proxies computed one call each (nothing shared): median ratio "
              f"{statistics.median(unshared):.2f}")
    return 1 if args.check and max(ratios) > BUDGET else 0


if __name__ == "__main__":
    sys.exit(main())
