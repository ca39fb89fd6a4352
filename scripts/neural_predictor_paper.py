"""The Neural Predictor at the size of Wen et al. (2020) beside the course's reduced GCN,
on NAS-Bench-201 (chapter 06 quotes what this prints).

For each GCN size and each seed, fit the one-stage regressor and the two-stage predictor
on ``--n-train`` random cells (the 9,445 cells in which every operation matters, CIFAR-10
validation accuracy), then report on all other cells: Kendall's tau, MSE and R^2 (for the
two-stage predictor also over the cells its classifier accepts, as the replication of
Trirat and Sawadwuthikul (2021) scores it), tau among the best 10%, and the search
efficiency of the one-stage predictor (the distinct cells trained before the search first
trains a top-1% cell and the best cell). The paper's size: three graph convolutions of
width 144, a 128-unit head, batches of 10, 300 epochs, Adam with learning rate 1e-4
(2e-4 for the classifier), weight decay 1e-3, dropout 0.1.

    python scripts/neural_predictor_paper.py --seeds 5
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nascourse import benchmarks, features  # noqa: E402
from nascourse.predictors import GCNClassifier, GCNRegressor, TwoStagePredictor, experiments, metrics  # noqa: E402
from nascourse.spaces import nb201  # noqa: E402

PAPER = dict(hidden=144, n_layers=3, head=128, batch_size=10, epochs=300, lr=1e-4, weight_decay=1e-3,
             dropout=0.1, min_steps=0)
PAPER_CLASSIFIER = dict(PAPER, lr=2e-4)


def predictors(size: str, epochs: int | None) -> dict[str, object]:
    """The one- and two-stage predictors of one GCN size (``epochs`` overrides, for tests)."""
    if size == "reduced":
        reg, clf = GCNRegressor(), GCNClassifier()
    else:
        reg, clf = GCNRegressor(**PAPER), GCNClassifier(**PAPER_CLASSIFIER)
    if epochs is not None:
        reg.set_params(epochs=epochs, min_steps=0)
        clf.set_params(epochs=epochs, min_steps=0)
    return {"one stage": reg, "two stages": TwoStagePredictor(clf, reg)}


def scores(model, X, y, rest: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """The scores of predictions ``p`` of the cells ``rest``."""
    t = y[rest]
    top = t >= np.quantile(t, 0.9)
    out = {"tau": metrics.kendall_tau(t, p), "mse": metrics.mse(t, p), "r2": metrics.r2(t, p),
           "tau top 10%": metrics.kendall_tau(t[top], p[top])}
    if isinstance(model, TwoStagePredictor):
        keep = model.accepts(X[rest])
        if keep.sum() >= 2:                              # an untrained classifier may accept none
            out.update({"tau acc.": metrics.kendall_tau(t[keep], p[keep]),
                        "mse acc.": metrics.mse(t[keep], p[keep]), "r2 acc.": metrics.r2(t[keep], p[keep])})
    return out


def run(sizes, seeds, n_train: int, epochs: int | None = None) -> pd.DataFrame:
    """One row per (size, predictor, seed)."""
    zc = benchmarks.load_zc_proxies("cifar10")
    y = zc["val_acc"].to_numpy()
    X = features.graph_rows([nb201.Cell.from_index(i) for i in zc.index])
    targets = {"top 1%": y >= np.quantile(y, 0.99), "best": y == y.max()}
    splits = [experiments.split(len(y), n_train, s) for s in seeds]
    rows = []
    for size in sizes:
        for name, model in predictors(size, epochs).items():
            start = time.process_time()
            fitted = model.fit_many(X, y, [tr for tr, _ in splits], list(seeds))
            cpu = (time.process_time() - start) / len(seeds)
            for seed, m, (train, rest) in zip(seeds, fitted, splits):
                p = m.predict(X[rest])
                row = {"size": size, "predictor": name, "seed": seed, "fit CPU s": cpu, **scores(m, X, y, rest, p)}
                if name == "one stage":                  # the order of experiments.predictor_orders
                    first = np.random.default_rng(seed).permutation(len(y))[:n_train]
                    order = np.concatenate([first, rest[np.argsort(-p, kind="stable")]])
                    q = experiments.queries_to_reach({"gcn": [order]}, targets)
                    row.update({f"queries to {t}": v for t, v in zip(q["target"], q["queries"])})
                rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds, 0..seeds-1 (default 5)")
    parser.add_argument("--n-train", type=int, default=172, help="training cells (default 172, the paper's N)")
    parser.add_argument("--sizes", nargs="+", default=["reduced", "paper"], choices=["reduced", "paper"])
    parser.add_argument("--epochs", type=int, default=None, help="override the epochs (for quick tests)")
    args = parser.parse_args(argv)
    if args.seeds < 2:
        parser.error("--seeds must be at least 2 (the table reports a spread)")
    start = time.time()
    table = run(args.sizes, list(range(args.seeds)), args.n_train, args.epochs)
    stats = table.drop(columns="seed").groupby(["size", "predictor"], sort=False).agg(["mean", "std"])
    pd.set_option("display.width", 80)
    print(f"N = {args.n_train} training cells, seeds 0-{args.seeds - 1}; mean (std) over seeds")
    for column in stats.columns.levels[0]:
        if column in table and table[column].notna().any():
            mean, std = stats[(column, "mean")], stats[(column, "std")]
            cells = [f"{m:8.3f} ({s:.3f})" for m, s in zip(mean, std) if not np.isnan(m)]
            names = [f"{a}, {b}" for (a, b), m in zip(stats.index, mean) if not np.isnan(m)]
            print(f"{column}:")
            for n, c in zip(names, cells):
                print(f"  {n:<22}{c}")
    print(f"took {time.time() - start:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
