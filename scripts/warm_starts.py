"""Warm starts for regularised evolution and Bayesian optimisation on NAS-Bench-201
(chapter 05): a random start, a zero-cost proxy start (and its control, the same pool
unranked) and a transfer start from CIFAR-10.

For every strategy and start, ``--seeds`` runs of ``--budget`` queries on each data set
(the transfer start only where the data set is not CIFAR-10, its source). The proxy start
evaluates first the ``--k`` cells of a random pool of ``--pool`` cells that the shipped
``--proxy`` ranks highest, the pool start the first ``--k`` cells of the same pool (the
proxy table covers only the 9,445 cells without unreachable operations, so the pool alone
is a better start than a random one: the last line of each block tests the proxy's
ranking against it); the transfer start evaluates first the ``--k`` best distinct
cells of one run of the same strategy on CIFAR-10 (``--source-budget`` queries, not
charged to the target). The table gives the test regret (points) after 10, 20, 50 and 100
queries, mean and standard deviation over seeds, and two Mann-Whitney p-values against
the random start: one-sided on each run's mean regret over queries 1-20 ("does the start
lower the early regret?") and two-sided on the regret at the last query. The proxies'
cost is timed live (CPU time of the proxy over one training step, on ``--timing-cells``
cells) and converted into queries.

    python scripts/warm_starts.py --seeds 30
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nascourse import benchmarks, rng  # noqa: E402
from nascourse.search import experiments, warmstart  # noqa: E402

QUERIES = (10, 20, 50, 100)


def table_lines(frame, queries=QUERIES) -> list[str]:
    """The printed table of :func:`warmstart.compare_starts`' ``frame`` (at most 80
    characters a line): one block per data set, one row per (strategy, start)."""
    regret = experiments.test_regret(frame)
    last = int(frame.columns[-1])
    queries = [q for q in queries if q <= last]
    lines = []
    for dataset in frame.index.unique("dataset"):
        rows = regret.loc[dataset]
        selects = "validation" if dataset == "cifar10" else "test"
        lines += [f"{dataset} (selects on {selects} accuracy), {rows.index.unique('seed').size} seeds: "
                  "test regret, mean±std", f"{'strategy/start':<19}" + "".join(f"{f'q{q}':>11}" for q in queries)
                  + f"{'p(1-20)':>8}{f'p({last})':>8}"]
        for name in rows.index.unique("strategy"):
            runs = rows.loc[name]                     # one row per seed, one column per query
            cells = "".join(f"{runs[q].mean():>6.2f}±{runs[q].std():<4.2f}" for q in queries)
            strategy, start = name.split("/")
            baseline = warmstart.label(strategy, "random")
            if start == "random" or baseline not in rows.index.unique("strategy"):
                p_early = p_last = "-"
            else:
                p_early = f"{warmstart.early_regret_test(rows, name, baseline, min(20, last))['p']:.1e}"
                p_last = f"{stats.mannwhitneyu(runs[last], rows.loc[baseline][last]).pvalue:.1e}"
            lines.append(f"{name:<19}{cells}{p_early:>8}{p_last:>8}")
        names = rows.index.unique("strategy")
        ranking = [f"{s} {warmstart.early_regret_test(rows, f'{s}/proxy', f'{s}/pool', min(20, last))['p']:.1e}"
                   for s in dict.fromkeys(n.split("/")[0] for n in names)
                   if f"{s}/proxy" in names and f"{s}/pool" in names]
        if ranking:
            lines.append("proxy against pool start, p(1-20): " + ", ".join(ranking))
        lines.append("")
    return lines


def cost_lines(proxy: str, pool: int, n_cells: int, seed: int) -> list[str]:
    """The proxy's measured cost per cell in training steps, and the pool's in queries."""
    cells = warmstart.proxy_start(n_cells, "cifar10", proxy, pool, rng.derived_generator(seed, 1))
    steps = warmstart.proxy_cost(cells, proxy)
    median = float(np.median(steps))
    lines = [f"{proxy} costs {median:.2f} training steps a cell (median of {len(steps)} cells, "
             f"{steps.min():.2f} to {steps.max():.2f};", "CPU time, one thread, batch of 64 CIFAR-10 images)"]
    for dataset in warmstart.TRAINING_IMAGES:
        queries = warmstart.pool_cost_in_queries(median, pool, dataset)
        lines.append(f"pool of {pool}: {pool * median:.0f} steps = {queries:.5f} queries on {dataset} "
                     f"({warmstart.steps_per_query(dataset):,} a query)")
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=30, help="number of seeds, 0..seeds-1 (default 30)")
    parser.add_argument("--budget", type=int, default=100, help="queries per run (default 100)")
    parser.add_argument("--strategies", nargs="+", default=list(warmstart.WARM_STRATEGIES),
                        choices=list(warmstart.WARM_STRATEGIES))
    parser.add_argument("--datasets", nargs="+", default=list(benchmarks.ZC_DATASETS),
                        choices=list(benchmarks.ZC_DATASETS))
    parser.add_argument("--k", type=int, default=10, help="start cells (default 10: evolution's population, "
                        "BO's initial design)")
    parser.add_argument("--pool", type=int, default=100, help="cells in the proxy's random pool (default 100)")
    parser.add_argument("--proxy", default=warmstart.DEFAULT_PROXY, choices=list(benchmarks.ZC_PROXIES))
    parser.add_argument("--source-budget", type=int, default=100, help="queries of the CIFAR-10 source search")
    parser.add_argument("--timing-cells", type=int, default=3, help="cells on which the proxy is timed (0: skip)")
    parser.add_argument("--n-jobs", type=int, default=1, help="processes (default 1)")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (the table reports a spread and a test)")
    start = time.time()
    frame = warmstart.compare_starts(args.strategies, warmstart.STARTS, args.datasets, range(args.seeds),
                                     args.budget, args.k, args.proxy, args.pool, "cifar10", args.source_budget,
                                     n_jobs=args.n_jobs)
    print(f"k = {args.k} start cells; proxy {args.proxy}, pool of {args.pool}; transfer: "
          f"{args.source_budget} CIFAR-10 queries")
    print("p(1-20): one-sided Mann-Whitney, mean regret over queries 1-20, against")
    print(f"the random start; p({args.budget}): two-sided, regret at query {args.budget}")
    print()
    print("\n".join(table_lines(frame)))
    if args.timing_cells > 0:
        print("\n".join(cost_lines(args.proxy, args.pool, args.timing_cells, 0)))
    cpu = frame.attrs["cpu_seconds"]
    print("search CPU s: " + ", ".join(f"{s} {sum(v for (d, n), v in cpu.items() if n.startswith(s + '/')):.0f}"
                                        for s in args.strategies))
    print(f"took {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
