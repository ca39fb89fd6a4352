"""Train NAS-Bench-201 cells on the shipped CIFAR-10 images and record their learning
curves: the validation accuracy and training loss after every epoch (chapter 06).

The cells are a stratified sample of the benchmark: the isomorphism classes sorted by
their published CIFAR-10 validation accuracy are cut into ``--cells`` strata of equal
size and one cell is drawn from each (seeded), so the sample spans the accuracy range
as the space does. Every cell is trained by :func:`nascourse.curves.train_curve` with
the same seed, data split and cosine schedule over ``--epochs`` epochs, on one thread.
The shipped file ``nascourse/data/nb201_curves.csv.gz`` was made with the defaults:

    nice python scripts/train_curves.py            # 48 cells x 20 epochs, 32 px, C=8, N=1
    python scripts/train_curves.py --cells 2 --epochs 2 --out /tmp/curves.csv.gz

Writing into ``nascourse/data`` also records the file's checksum in ``SHA256SUMS``.
One row per cell and epoch: index, arch_str, epoch, valid_acc (%), train_loss, and the
cell's final test_acc (%) and cpu_seconds.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from nascourse import benchmarks, curves, data
from nascourse.search.training import TrainingObjective
from nascourse.spaces import nb201

DEFAULT_OUT = data.DATA_DIR / curves.CURVES_FILE


def stratified_cells(n_cells: int, seed: int) -> list[nb201.Cell]:
    """One cell from each of ``n_cells`` equal strata of the isomorphism classes sorted by
    published CIFAR-10 validation accuracy (one representative per class), seeded."""
    table = benchmarks.load_nb201("cifar10").drop_duplicates("unique_str").sort_values(["val_acc", "arch_str"])
    rng = np.random.default_rng(seed)
    picks = [int(rng.choice(stratum)) for stratum in np.array_split(table.index.to_numpy(), n_cells)]
    return [nb201.Cell.from_index(i) for i in picks]


def record_checksum(path: Path) -> None:
    """Write ``path``'s SHA-256 into ``SHA256SUMS`` (lines sorted by file name)."""
    sums = dict(data.checksums())
    sums[path.name] = hashlib.sha256(path.read_bytes()).hexdigest()
    data.SUMS_FILE.write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))
    data.checksums.cache_clear()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=48, help="number of cells (strata)")
    parser.add_argument("--epochs", type=int, default=20, help="epochs per cell (the cosine schedule's length)")
    parser.add_argument("--dataset", default="cifar10-subset", choices=["cifar10-subset", "digits"],
                        help="the shipped CIFAR-10 images, or the digits for a quick trial")
    parser.add_argument("--image-size", type=int, default=32, help="images are resampled to this many pixels")
    parser.add_argument("--channels", type=int, default=8, help="C, channels of the first stage")
    parser.add_argument("--cells-per-stage", type=int, default=1, help="N, cells per stage")
    parser.add_argument("--seed", type=int, default=0, help="seeds the sample, the split, the weights, the batches")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="gzip CSV to write")
    parser.add_argument("--checkpoint", type=Path, help="also write the rows so far here (plain CSV) after every cell")
    parser.add_argument("--resume", action="store_true", help="keep the cells already in --checkpoint")
    parser.add_argument("--max-minutes", type=float, help="start no new cell after this many minutes")
    parser.add_argument("--part", default="0/1", help="I/N: train only every N-th cell from the I-th, so that "
                        "N processes share the work (each with its own --checkpoint; concatenate the "
                        "checkpoints and --resume from them to write the file)")
    args = parser.parse_args(argv)
    try:
        part, n_parts = (int(k) for k in args.part.split("/"))
    except ValueError:
        parser.error(f"--part must be I/N with integers, got {args.part!r}")
    if not 0 <= part < n_parts:
        parser.error(f"--part I/N needs 0 <= I < N, got {args.part!r}")

    torch.set_num_threads(args.threads)
    objective = TrainingObjective(args.dataset, epochs=args.epochs, C=args.channels, N=args.cells_per_stage,
                                  image_size=args.image_size, seed=args.seed, num_threads=args.threads)
    objective.warm_up()
    # the strata are trained in a seeded random order, so that the cells done when
    # --max-minutes stops the run are a random subset of them
    cells = stratified_cells(args.cells, args.seed)
    cells = [cells[i] for i in np.random.default_rng(args.seed).permutation(len(cells))]
    done = []
    if args.resume and args.checkpoint is not None and args.checkpoint.exists():
        done = pd.read_csv(args.checkpoint).to_dict("records")
    skip = {row["index"] for row in done}
    todo = [c for c in cells[part::n_parts] if c.index not in skip]
    start = time.perf_counter()

    def report(k: int, cell: nb201.Cell, run: dict) -> None:
        print(f"{len(skip) + k:3d}/{len(cells)} cell {cell.index:5d}: valid {run['valid_acc'][0]:5.1f} -> "
              f"{run['valid_acc'][-1]:5.1f}%  {run['cpu_seconds']:5.1f} s CPU  "
              f"({time.perf_counter() - start:6.0f} s)", flush=True)
        done.extend(curves.curve_rows(cell, run))
        if args.checkpoint is not None:
            pd.DataFrame(done).to_csv(args.checkpoint, index=False)

    def stop() -> bool:
        return args.max_minutes is not None and time.perf_counter() - start > 60 * args.max_minutes

    if todo:
        curves.train_curves(todo, objective, callback=report, stop=stop)
    table = pd.DataFrame(done)
    order = {cell.index: k for k, cell in enumerate(stratified_cells(args.cells, args.seed))}
    table = table.sort_values(["epoch"]).sort_values("index", key=lambda i: i.map(order), kind="stable")
    table = table.reset_index(drop=True)
    n_cells = table["index"].nunique()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(args.out, index=False, lineterminator="\n", compression={"method": "gzip", "mtime": 0})
    cpu = table.drop_duplicates("index")["cpu_seconds"].sum()
    print(f"{n_cells} cells x {args.epochs} epochs: {cpu / 60:.1f} min CPU, "
          f"{(time.perf_counter() - start) / 60:.1f} min wall -> {args.out}")
    if args.out.resolve().parent == data.DATA_DIR:
        record_checksum(args.out.resolve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
