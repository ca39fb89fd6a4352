"""The practitioners' black-box tools beside chapter 03's strategies.

Part 1, on the NAS-Bench-201 CIFAR-10 table (select on validation, report test accuracy):
random search, regularised evolution, BO, the REINFORCE controller and Optuna's TPE, each
over the same seeds and the same number of queries. Prints the final test accuracy and
regret (mean and standard deviation over seeds), the share of runs at zero regret, the
wall time of each strategy, two-sided Mann-Whitney tests of REINFORCE against random
search and of TPE against our BO, and NAS-Bench-201's published numbers beside ours.

Part 2 (``--training-seeds``), with real training on chapter 03's miniature objective
(CIFAR-10 images at 8x8, 512 training images, C=4, N=1): our Hyperband, which retrains
each promoted cell from scratch at every rung, against Optuna's Hyperband pruner with TPE,
which trains each cell once, epoch by epoch, and stops it at a rung. Optuna tries as many
cells as our Hyperband samples. Both picks (the best validation accuracy among the cells
trained for ``max_epochs``) are retrained with the same reference run, so that the picks
compare on equal terms.

    python scripts/blackbox_tools.py                      # 30 seeds x 200 queries, 3 training seeds
    python scripts/blackbox_tools.py --seeds 5 --budget 50 --training-seeds 0
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
from scipy import stats

from nascourse import search
from nascourse.search import experiments
from nascourse.search.optuna_search import optuna_hyperband

STRATEGIES = ["random", "evolution", "bo", "reinforce", "tpe"]

#: NAS-Bench-201 (Dong & Yang 2020), CIFAR-10 test accuracy (%) of the selected cell,
#: mean and standard deviation over their runs (a 12,000 s simulated time budget of
#: 12-epoch searches, not a number of queries); our BO is not BOHB, TPE has no entry.
PUBLISHED = {"random": "93.70 ± 0.36", "evolution": "93.92 ± 0.30", "reinforce": "93.85 ± 0.37",
             "bo": "(BOHB) 93.61 ± 0.52"}


def table_runs(strategies: list[str], seeds: list[int], budget: int,
               dataset: str = "cifar10") -> tuple[pd.DataFrame, dict[str, float]]:
    """The trajectories of every strategy (one :func:`experiments.compare` per strategy,
    one process) and each strategy's wall-clock seconds."""
    frames, wall = [], {}
    for name in strategies:  # an untimed short run first: data, imports and caches
        experiments.compare([name], [dataset], seeds=seeds[:1], budget=min(budget, 15))
    for name in strategies:
        start = time.perf_counter()
        frames.append(experiments.compare([name], [dataset], seeds=seeds, budget=budget))
        wall[name] = time.perf_counter() - start
    return pd.concat(frames), wall


def summary(frame: pd.DataFrame, wall: dict[str, float], budget: int) -> pd.DataFrame:
    """One row per strategy: test accuracy and regret after ``budget`` queries (mean and
    standard deviation over seeds), runs at zero regret, wall seconds, and the paper."""
    final = experiments.final_summary(frame, budget).droplevel("dataset")
    regret = experiments.test_regret(frame)[budget].droplevel("dataset")
    out = pd.DataFrame({
        "test acc": final["test acc mean"].map("{:.2f}".format) + " ± " + final["test acc std"].map("{:.2f}".format),
        "regret": final["regret mean"].map("{:.3f}".format) + " ± " + final["regret std"].map("{:.2f}".format),
        "at 0": regret.groupby(level="strategy", observed=True).agg(lambda r: int((r < 1e-9).sum())),
        "wall s": pd.Series(wall).round(1),
        "paper": pd.Series(PUBLISHED)})
    return out.reindex(list(wall)).fillna("")


def mann_whitney(frame: pd.DataFrame, pairs: list[tuple[str, str]], budget: int) -> pd.DataFrame:
    """Two-sided Mann-Whitney U tests of the final regrets, one row per (a, b) pair."""
    regret = experiments.test_regret(frame)[budget].droplevel("dataset")
    rows = []
    for a, b in pairs:
        if a in regret.index and b in regret.index:
            ra, rb = regret.loc[a].to_numpy(), regret.loc[b].to_numpy()
            test = stats.mannwhitneyu(ra, rb, alternative="two-sided")
            rows.append({"pair": f"{a} vs {b}", "mean regret a": ra.mean(), "mean regret b": rb.mean(),
                         "U": test.statistic, "p": test.pvalue})
    return pd.DataFrame(rows).set_index("pair") if rows else pd.DataFrame()


def training_runs(seeds: list[int], min_epochs: int = 1, max_epochs: int = 9, eta: int = 3) -> pd.DataFrame:
    """Part 2: our Hyperband and Optuna's Hyperband pruner with TPE on chapter 03's
    miniature training objective, one row per (method, seed)."""
    objective = search.TrainingObjective("cifar10-subset", epochs=max_epochs, image_size=8, n_train=512,
                                         n_valid=500, C=4, N=1, batch_size=64, lr=0.3, seed=0)
    objective.warm_up()
    n_cells = sum(n for n, _ in search.hyperband_brackets(min_epochs, max_epochs, eta))
    rows = []
    for seed in seeds:
        for method in ("ours", "optuna"):
            start = time.perf_counter()
            if method == "ours":
                history = search.hyperband(objective, min_epochs, max_epochs, eta, seed=seed)
            else:
                history = optuna_hyperband(objective, min_epochs, max_epochs, eta, n_trials=n_cells, seed=seed)
            seconds = time.perf_counter() - start
            frame = history.to_frame()
            full = frame[frame["fidelity"] == max_epochs]
            pick = history.evaluations[int(full["score"].idxmax())].arch
            reference = objective(pick, max_epochs)
            rows.append({"method": method, "seed": seed, "cells": frame["arch"].nunique(),
                         "runs": len(frame), "epochs": int(frame["fidelity"].sum()), "full": len(full),
                         "pick val": full["score"].max(), "ref val": reference["score"],
                         "ref test": reference["test_acc"], "s": seconds})
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=30, help="seeds 0..N-1 per strategy (default 30)")
    parser.add_argument("--budget", type=int, default=200, help="queries per run (default 200)")
    parser.add_argument("--strategies", nargs="+", default=STRATEGIES, choices=list(search.STRATEGIES))
    parser.add_argument("--training-seeds", type=int, default=3,
                        help="seeds of part 2, real training (default 3; 0 skips it)")
    parser.add_argument("--max-epochs", type=int, default=9, help="part 2's maximum epochs (default 9)")
    args = parser.parse_args(argv)
    pd.set_option("display.width", 80)
    seeds = list(range(args.seeds))

    print(f"Part 1: NAS-Bench-201 CIFAR-10, {args.seeds} seeds x {args.budget} queries")
    frame, wall = table_runs(args.strategies, seeds, args.budget)
    print(summary(frame, wall, args.budget).to_string())
    print("paper: NAS-Bench-201 (Dong & Yang 2020), 12,000 s budgets of 12-epoch runs")
    for name in args.strategies:
        print(f"  {name}: {wall[name] / args.seeds:.3f} s per run")
    tests = mann_whitney(frame, [("reinforce", "random"), ("tpe", "bo"), ("tpe", "random")], args.budget)
    if len(tests):
        print("Mann-Whitney U, two-sided, final regrets:")
        print(tests.round({"mean regret a": 3, "mean regret b": 3, "U": 1}).to_string(
            formatters={"p": "{:.2g}".format}))
    regret = experiments.test_regret(frame).droplevel("dataset")
    marks = [q for q in (10, 20, 50, 100, 200) if q <= args.budget]
    means = regret[marks].groupby(level="strategy", observed=True).mean()
    print("mean test regret after q queries:")
    print(means.round(3).to_string())

    if args.training_seeds:
        print(f"\nPart 2: Hyperband over real training, 1 to {args.max_epochs} epochs, eta 3, "
              f"{args.training_seeds} seeds")
        runs = training_runs(list(range(args.training_seeds)), max_epochs=args.max_epochs)
        print(runs.round(1).to_string(index=False))
        means = runs.groupby("method", sort=False)[["epochs", "full", "pick val", "ref val", "ref test", "s"]].mean()
        print("means over seeds:")
        print(means.round(1).to_string())
    sys.stdout.flush()


if __name__ == "__main__":
    main()
