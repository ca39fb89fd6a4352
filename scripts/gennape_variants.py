"""GENNAPE's pre-training variants, transferred to NAS-Bench-201 and NAS-Bench-301 (chapter 08).

For every variant of :data:`nascourse.gennape.experiment.VARIANTS` (more unlabelled
pre-training graphs, encoder size, loss temperature and positive weights, longer
pre-training) and every seed, pre-trains an encoder on the NAS-Bench-101 sample, fits
GENNAPE on it and measures Spearman's rho on each target family, zero-shot and after
fine-tuning on 50 target networks, as the chapter does for the setting it runs. The
unlabelled graphs: for a target, "target space" is a second sample of its own space
(disjoint from the target networks) and "other space" the other target family.

Prints one table per target: mean and standard deviation over the seeds, the mean paired
difference with the chapter's setting and the number of seeds on which the variant beat
it, and the FLOPs alone for reference.

    python scripts/gennape_variants.py                      # 5 seeds, every variant
    python scripts/gennape_variants.py --seeds 1 --nb201 40 --nb301 30 --unlabelled 20 \\
        --finetune 10 --variants "as in the chapter" "temperature 0.5"    # a quick look
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import pandas as pd
import torch

from nascourse.gennape import experiment
from nascourse.predictors.metrics import spearman


def run(seeds: int, n_nb201: int, n_nb301: int, n_unlabelled: int, names: list[str] | None,
        n_finetune: int = 50, log=print) -> pd.DataFrame:
    """One row per (target, variant, seed): zero-shot and fine-tuned rho, final loss.
    ``names``: names of :data:`nascourse.gennape.experiment.VARIANTS` (default: all)."""
    variants = [experiment.VARIANTS[name] for name in (experiment.VARIANTS.names if names is None else names)]
    start = time.perf_counter()
    source = experiment.nb101_family()
    nb201 = experiment.nb201_family(n_nb201, seed=0)
    nb301 = experiment.nb301_family(n_nb301, seed=0)
    needs = {name for v in variants for name in v.extra}
    more201 = experiment.nb201_family(n_unlabelled, seed=1, exclude=nb201) if "target space" in needs else None
    more301 = experiment.nb301_family(n_unlabelled, seed=1, exclude=nb301) if "target space" in needs else None
    log(f"traced the families in {time.perf_counter() - start:.0f} s")
    targets = {"NAS-Bench-201": (nb201, {"target space": more201, "other space": nb301}),
               "NAS-Bench-301": (nb301, {"target space": more301, "other space": nb201})}
    rows = []
    for variant in variants:
        for seed in range(seeds):
            shared = None if variant.extra else experiment.pretrained_encoder(
                source, seed, variant.epochs, (), variant.temperature, variant.bandwidth_scale,
                **variant.encoder_kwargs())
            for name, (target, unlabelled) in targets.items():
                row = experiment.variant_seed(source, target, seed, variant, unlabelled, n_finetune, shared)
                rows.append({"target": name, **row})
            log(f"{variant.name}, seed {seed}: {time.perf_counter() - start:.0f} s")
    results = pd.DataFrame(rows)
    for name, (target, _) in targets.items():
        for seed in range(seeds):
            order = np.random.default_rng(seed).permutation(len(target))[n_finetune:]
            rho = spearman(target.accuracy[order], target.flops[order])
            results.loc[(results["target"] == name) & (results["seed"] == seed), "FLOPs alone"] = rho
    return results


def summarise(results: pd.DataFrame, reference: str = "as in the chapter") -> pd.DataFrame:
    """Per target and variant: mean and std over seeds; paired difference with ``reference``
    and seeds on which the variant did better, zero-shot and fine-tuned."""
    out = []
    for (target, variant), group in results.groupby(["target", "variant"], sort=False):
        ref = results[(results["target"] == target) & (results["variant"] == reference)].set_index("seed")
        g = group.set_index("seed")
        row = {"target": target, "variant": variant}
        for column, short in (("zero-shot", "zero"), ("fine-tuned", "tuned")):
            diff = g[column] - ref[column].reindex(g.index)
            row[f"{short} mean"] = g[column].mean()
            row[f"{short} std"] = g[column].std()
            row[f"{short} diff"] = diff.mean()
            row[f"{short} wins"] = int((diff > 0).sum())
        row["FLOPs"] = g["FLOPs alone"].mean()
        out.append(row)
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    parser.add_argument("--nb201", type=int, default=300, help="NAS-Bench-201 target networks")
    parser.add_argument("--nb301", type=int, default=200, help="NAS-Bench-301 target networks")
    parser.add_argument("--finetune", type=int, default=50, help="labelled target networks for fine-tuning")
    parser.add_argument("--unlabelled", type=int, default=200,
                        help="networks of the second, unlabelled sample of each target space")
    parser.add_argument("--variants", nargs="*", default=None, help="variant names (default: all)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--csv", default=None, help="also write every row to this CSV file")
    args = parser.parse_args(argv)
    if args.seeds < 1:
        parser.error("--seeds must be at least 1")
    torch.set_num_threads(args.threads)
    results = run(args.seeds, args.nb201, args.nb301, args.unlabelled, args.variants, args.finetune)
    if args.csv:
        results.to_csv(args.csv, index=False)
    table = summarise(results)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        for target, group in table.groupby("target", sort=False):
            print(f"\n{target} (Spearman's rho, {args.seeds} seeds; diff and wins against the chapter's setting)")
            print(group.drop(columns="target").set_index("variant").round(3).to_string())
    return 0


if __name__ == "__main__":
    sys.exit(main())
