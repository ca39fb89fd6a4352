"""GRAF against the predictor families on NAS-Bench-201 (chapter 07): the full grid.

Fits every family of :data:`nascourse.predictors.families.FAMILIES` (the GCN, a path-encoding
MLP, boosting on one-hot, a forest on arch2vec, the best single proxy, and forests on GRAF
and on GRAF with proxies) on the same random training cells for each size and seed, scores
each on all the other cells, and prints Kendall's tau (and Spearman's rho), mean ± standard
deviation over seeds. The chapter runs a reduced grid live and quotes this one.

    python scripts/predictor_families.py                      # 32, 128, 1024 cells, 10 seeds
    python scripts/predictor_families.py --sizes 32 128 --seeds 3 --families "GRAF forest" GCN
    python scripts/predictor_families.py --csv runs.csv     # also every fit, one row each
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

from nascourse import benchmarks
from nascourse.predictors import families


def format_table(runs: pd.DataFrame, metric: str) -> pd.DataFrame:
    """``mean ± std`` strings, one row per family, one column per training-set size."""
    stats = families.table(runs, metric)
    return stats["mean"].map("{:.3f}".format) + " ± " + stats["std"].map("{:.3f}".format)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[32, 128, 1024], help="training-set sizes")
    parser.add_argument("--seeds", type=int, default=10, help="number of seeds (first-seed, first-seed+1, ...)")
    parser.add_argument("--first-seed", type=int, default=0)
    parser.add_argument("--families", nargs="+", default=list(families.FAMILIES), choices=list(families.FAMILIES))
    parser.add_argument("--dataset", default="cifar10", choices=list(benchmarks.ZC_DATASETS))
    parser.add_argument("--n-jobs", type=int, default=2, help="threads for independent fits")
    parser.add_argument("--csv", type=Path, help="also write the tidy table of every fit to this file")
    args = parser.parse_args(argv)
    if args.seeds < 1 or args.first_seed < 0:
        parser.error("--seeds must be >= 1 and --first-seed >= 0")

    start = time.perf_counter()
    runs = families.compare(args.families, sizes=args.sizes,
                            seeds=range(args.first_seed, args.first_seed + args.seeds),
                            dataset=args.dataset, n_jobs=args.n_jobs)
    wall = time.perf_counter() - start
    if args.csv is not None:
        runs.to_csv(args.csv, index=False)
    seeds = f"seeds {args.first_seed}..{args.first_seed + args.seeds - 1}"
    with pd.option_context("display.width", 100, "display.max_columns", 10):
        for metric, label in (("kendall_tau", "Kendall tau"), ("spearman", "Spearman rho")):
            print(f"{label} on all other cells, NB201 {args.dataset}, mean ± std over {seeds}:")
            print(format_table(runs, metric).to_string())
            print()
    print(f"{len(runs)} fits, {runs['fit_cpu_s'].sum():.0f} s of fit CPU time, {wall:.0f} s wall "
          f"({args.n_jobs} thread(s))")
    return 0


if __name__ == "__main__":
    sys.exit(main())
