"""The transfer experiment of chapter 08: families of traced networks with their labels,
one seed of "pre-train on NAS-Bench-101, predict a target family" with its ablations and
baselines, the variants of the pre-training tried to close the gap to FLOPs, and the
correlation of FLOPs with accuracy in every family the course ships.

Networks are traced at reduced size (fewer channels and one cell per stage): the graph
structure is what the encoder reads, and tracing the benchmark-size networks would cost
several times more. FLOPs for the label transform are the published ones of the
benchmark-size networks (NAS-Bench-Suite-Zero), in millions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Sequence

import networkx as nx
import numpy as np
import pandas as pd
from scipy import stats
from sklearn.ensemble import RandomForestRegressor

from nascourse import benchmarks, features
from nascourse._checks import check_choice, check_int, check_sequence, check_type
from nascourse.gennape.contrastive import pretrain
from nascourse.gennape.encoder import GraphEncoder, embed, make_encoder, train_regression
from nascourse.gennape.ensemble import GennapeRegressor
from nascourse.gennape.graphs import GraphBatch, batch_graphs, laplacian_spectrum, trace, trace_darts
from nascourse.gennape.transform import FlopsTransform
from nascourse.nn.darts import darts_network
from nascourse.nn.nb101 import nb101_network
from nascourse.nn.nb201 import nb201_network
from nascourse.predictors.metrics import spearman
from nascourse.registry import Registry
from nascourse.spaces import darts, nb101, nb201


@dataclass
class Family:
    """Traced networks of one search space: ``cells``, their computational ``graphs``,
    ``accuracy`` (%) and published ``flops`` (millions); ``features`` (networks x features,
    optional) is the space's own tabular encoding for the random-forest baseline; ``batch``
    and ``spectra`` derived."""

    name: str
    cells: list
    graphs: list[nx.DiGraph]
    accuracy: np.ndarray
    flops: np.ndarray
    features: np.ndarray | None = field(default=None, repr=False)
    batch: GraphBatch = field(init=False, repr=False)
    spectra: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.batch = batch_graphs(self.graphs)
        self.spectra = np.array([laplacian_spectrum(g) for g in self.graphs])

    def __len__(self) -> int:
        return len(self.cells)


def nb101_family(C: int = 16, cells_per_stack: int = 1) -> Family:
    """The distinct cells of the shipped NAS-Bench-101 sample (isomorphic duplicates merged,
    their validation accuracies averaged), traced at reduced size."""
    table = benchmarks.load_nb101_sample()
    cells = [nb101.Cell(m, o).pruned() for m, o in zip(table["matrix"], table["ops"])]
    table["hash"] = [c.hash() for c in cells]
    first = ~table["hash"].duplicated().to_numpy()
    mean_acc = table.groupby("hash")["val_acc"].mean()
    unique = [c for c, keep in zip(cells, first) if keep]
    graphs = [trace(nb101_network(c, C=C, cells_per_stack=cells_per_stack)) for c in unique]
    return Family("NAS-Bench-101", unique, graphs, mean_acc.loc[table["hash"][first]].to_numpy(),
                  table["flops"].to_numpy()[first])


def nb201_family(n: int, seed: int, C: int = 16, N: int = 1, exclude: Family | None = None) -> Family:
    """``n`` random NAS-Bench-201 cells among the 9,445 without unreachable operations (those
    with published FLOPs), with CIFAR-10 test accuracy, traced at reduced size; with
    ``exclude``, cells of that family are not drawn."""
    zc = benchmarks.load_zc_proxies("cifar10")
    pool = zc.index.to_numpy()
    if exclude is not None:
        pool = np.setdiff1d(pool, [c.index for c in exclude.cells])
    n = check_int("n", n, minimum=2, maximum=len(pool))
    index = np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))
    cells = [nb201.Cell.from_index(int(i)) for i in index]
    graphs = [trace(nb201_network(c, C=C, N=N)) for c in cells]
    accuracy = benchmarks.load_nb201("cifar10").loc[index, "test_acc"].to_numpy()
    return Family("NAS-Bench-201", cells, graphs, accuracy, zc.loc[index, "flops"].to_numpy(),
                  features.graf(cells).to_numpy())


def nb301_family(n: int, seed: int, C: int = 16, layers: int = 5, exclude: Family | None = None,
                 fast: bool = True) -> Family:
    """``n`` random architectures of the shipped NAS-Bench-301 sample (DARTS space), with
    their CIFAR-10 validation accuracy and published FLOPs, traced at reduced size: ``C``
    channels and ``layers`` cells (the default 5 is one normal cell per stage, with the two
    reduction cells between, against 8 cells and 32 channels in the benchmark). With
    ``exclude``, architectures of that family are not drawn. ``features`` holds
    :func:`darts_features`. With ``fast`` (default) the graphs come from
    :func:`~nascourse.gennape.graphs.trace_darts`, which writes the graph ``torch.fx``
    traces for the same network without building it (``fast=False`` traces each network)."""
    table = benchmarks.load_nb301()
    pool = np.arange(len(table))
    if exclude is not None:
        taken = {c.to_compact() for c in exclude.cells}
        pool = np.array([i for i in pool if darts.from_compact(table["genotype"][i]).to_compact() not in taken])
    n = check_int("n", n, minimum=2, maximum=len(pool))
    index = np.sort(np.random.default_rng(seed).choice(pool, size=n, replace=False))
    genotypes = [darts.from_compact(table["genotype"][i]) for i in index]
    graphs = ([trace_darts(g, C=C, layers=layers) for g in genotypes] if fast
              else [trace(darts_network(g, C=C, layers=layers)) for g in genotypes])
    return Family("NAS-Bench-301", genotypes, graphs, table["val_acc"].to_numpy()[index],
                  table["flops"].to_numpy()[index], darts_features(genotypes).to_numpy())


def darts_features(genotypes: Sequence[darts.Genotype]) -> pd.DataFrame:
    """Hand-made graph features of DARTS genotypes in the spirit of GRAF (chapter 07), for
    the random-forest baseline on NAS-Bench-301 (GRAF's own feature set is defined for cells
    with operations on edges and one input, such as NAS-Bench-201's).

    Per cell type (normal, reduce): the count of each operation; the number of
    convolutions (separable or dilated) reading each cell input; how many intermediate
    nodes read another intermediate node; the depth of every intermediate node (edges on
    its longest path from a cell input) and the largest depth. 30 columns.
    """
    rows = []
    for genotype in check_sequence("genotypes", genotypes, darts.Genotype, "spaces.darts.Genotype"):
        row = {}
        for kind in ("normal", "reduce"):
            cell = getattr(genotype, kind)
            for op in darts.OPS:
                row[f"{kind} {op}"] = sum(o == op for o, _ in cell.edges)
            for j, name in enumerate(("c_{k-2}", "c_{k-1}")):
                row[f"{kind} convs from {name}"] = sum(src == j and "conv" in o for o, src in cell.edges)
            row[f"{kind} chained nodes"] = sum(any(src >= darts.NUM_CELL_INPUTS for _, src in cell.inputs(k))
                                               for k in range(cell.num_nodes))
            depth = [0, 0]
            for k in range(cell.num_nodes):
                depth.append(1 + max(depth[src] for _, src in cell.inputs(k)))
            for k in range(cell.num_nodes):
                row[f"{kind} depth of node {k}"] = depth[darts.NUM_CELL_INPUTS + k]
            row[f"{kind} depth"] = max(depth)
        rows.append(row)
    return pd.DataFrame(rows)


def nb201_flops() -> pd.Series:
    """FLOPs (millions) of all 15,625 NAS-Bench-201 networks (C=16, N=5, CIFAR-10), indexed
    like :func:`nascourse.benchmarks.load_nb201`.

    NAS-Bench-Suite-Zero publishes FLOPs for the 9,445 cells without unreachable operations
    only. The FLOPs of a network are a constant (stem, reductions, classifier) plus a fixed
    cost per 1x1 convolution, 3x3 convolution and average pooling of its cells, whatever
    their position: we fit those four numbers by least squares on the published values
    (which they reproduce to rounding, checked here) and apply them to every cell, counting
    every operation of the cell as a profiler running the network does.
    """
    table = benchmarks.load_nb201("cifar10")
    ids = np.array([nb201.Cell.from_index(int(i)).op_ids() for i in table.index])
    counts = [(ids == nb201.OPS.index(op)).sum(axis=1) for op in ("nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")]
    X = np.column_stack([np.ones(len(ids)), *counts])
    zc = benchmarks.load_zc_proxies("cifar10")
    rows = table.index.get_indexer(zc.index)
    coef, *_ = np.linalg.lstsq(X[rows], zc["flops"].to_numpy(), rcond=None)
    flops = X @ coef
    error = np.abs(flops[rows] - zc["flops"].to_numpy()).max()
    if error > 1e-6:
        raise RuntimeError(f"the published FLOPs are not linear in the operation counts (error {error:.3g})")
    return pd.Series(flops, index=table.index, name="flops")


def flops_correlations(nb301: bool = True) -> pd.DataFrame:
    """Spearman's rho between FLOPs and accuracy in every family the course ships: one row
    per family and protocol, with the number of networks, which accuracy, and rho.

    NAS-Bench-201: all 15,625 cells (FLOPs from :func:`nb201_flops`) on its three data
    sets, test accuracy; and the 9,445 cells with published FLOPs, CIFAR-10 validation
    accuracy. The NAS-Bench-101 sample (validation accuracy), TransNAS-Bench-101 micro
    (autoencoder validation score) and, with ``nb301``, the NAS-Bench-301 sample (surrogate
    validation accuracy).
    """
    rows = []

    def add(family, networks, accuracy, flops, acc) -> None:
        rows.append({"family": family, "networks": len(acc), "accuracy": accuracy,
                     "rho": stats.spearmanr(flops, acc).statistic, "protocol": networks})

    flops = nb201_flops()
    for dataset in benchmarks.NB201_DATASETS:
        add(f"NAS-Bench-201 {dataset}", "all cells", "test", flops, benchmarks.load_nb201(dataset)["test_acc"])
    zc = benchmarks.load_zc_proxies("cifar10")
    add("NAS-Bench-201 cifar10", "published FLOPs", "validation", zc["flops"], zc["val_acc"])
    nb101_table = benchmarks.load_nb101_sample()
    add("NAS-Bench-101", "sample", "validation", nb101_table["flops"], nb101_table["val_acc"])
    tnb = benchmarks.load_tnb101_micro()
    add("TransNAS-Bench-101 micro", "all cells", "validation score", tnb["flops"], tnb["val_acc"])
    if nb301:
        table = benchmarks.load_nb301()
        add("NAS-Bench-301", "sample", "validation", table["flops"], table["val_acc"])
    return pd.DataFrame(rows)[["family", "protocol", "networks", "accuracy", "rho"]]


@dataclass(frozen=True)
class Variant:
    """A setting of GENNAPE's pre-training: the encoder's size (``hidden``, ``layers``), the
    contrastive loss (``temperature``, ``bandwidth_scale`` of the positive weights), the
    pre-training ``epochs``, and ``extra``: names of families whose graphs join the
    NAS-Bench-101 graphs as unlabelled pre-training data (see :func:`variant_seed`)."""

    name: str
    hidden: int = 32
    layers: int = 3
    temperature: float = 0.1
    bandwidth_scale: float = 0.25
    epochs: int = 20
    extra: tuple[str, ...] = ()

    def encoder_kwargs(self) -> dict:
        return {"hidden": self.hidden, "layers": self.layers}


#: The variants of chapter 08 and ``scripts/gennape_variants.py`` by name: the chapter's
#: setting first, then one change each (or the two larger-data changes together).
VARIANTS: Registry[Variant] = Registry("variant")


def add_variant(name: str, **settings) -> Variant:
    """Register ``Variant(name, **settings)`` in :data:`VARIANTS` and return it."""
    return VARIANTS.add(name, Variant(name, **settings))


add_variant("as in the chapter")
add_variant("+ unlabelled target-space graphs", extra=("target space",))
add_variant("+ unlabelled graphs of the other space", extra=("other space",))
add_variant("+ both", extra=("target space", "other space"))
add_variant("6 layers", layers=6)
add_variant("hidden width 64", hidden=64)
add_variant("temperature 0.5", temperature=0.5)
add_variant("temperature 0.05", temperature=0.05)
add_variant("narrow positives (bandwidth x 0.4)", bandwidth_scale=0.1)
add_variant("broad positives (bandwidth x 4)", bandwidth_scale=1.0)
add_variant("40 epochs", epochs=40)


def pretrained_encoder(source: Family, seed: int, epochs: int = 20, extra: Sequence[Family] = (),
                       temperature: float = 0.1, bandwidth_scale: float = 0.25,
                       **encoder_kwargs) -> tuple[GraphEncoder, list[float]]:
    """An encoder (``encoder_kwargs`` as for :class:`GraphEncoder`) pre-trained contrastively
    from ``seed`` on the graphs of ``source`` and of the ``extra`` families (unlabelled: only
    their graphs are used), and its loss curve."""
    encoder = make_encoder(seed, **encoder_kwargs)
    families = [source, *extra]
    batch = batch_graphs([g for fam in families for g in fam.graphs])
    spectra = np.concatenate([fam.spectra for fam in families])
    return encoder, pretrain(encoder, batch, spectra, epochs=epochs, seed=seed, temperature=temperature,
                             bandwidth_scale=bandwidth_scale)


def supervised_encoder(source: Family, seed: int, epochs: int = 20, **encoder_kwargs) -> GraphEncoder:
    """The ablation without contrastive pre-training: an encoder drawn from ``seed`` and
    trained with a linear head to regress the FLOPs-transformed labels of ``source``."""
    model = make_encoder(seed, **encoder_kwargs)
    y = FlopsTransform().fit_transform(source.accuracy, flops=source.flops)
    train_regression(model, source.batch, y, epochs=epochs, seed=seed)
    return model


@dataclass
class TransferRun:
    """One seed of the transfer experiment as the methods of :data:`TRANSFER_METHODS` see
    it: the families, the target networks for fine-tuning (``tune``) and for the score
    (``test``), and the encoders, pre-trained (``encoder``) or trained on the source's
    labels (``supervised``) when a method first asks for them."""

    source: Family
    target: Family
    seed: int
    tune: np.ndarray
    test: np.ndarray
    n_clusters: int = 4
    epochs: int = 20
    encoder_kwargs: dict = field(default_factory=dict)
    encoder: GraphEncoder | None = None
    supervised: GraphEncoder | None = None

    def pretrained_encoder(self) -> GraphEncoder:
        if self.encoder is None:
            self.encoder = pretrained_encoder(self.source, self.seed, self.epochs, **self.encoder_kwargs)[0]
        return self.encoder

    def supervised_encoder(self) -> GraphEncoder:
        if self.supervised is None:
            self.supervised = supervised_encoder(self.source, self.seed, self.epochs, **self.encoder_kwargs)
        return self.supervised

    def rho(self, predicted: np.ndarray) -> float:
        """Spearman's rho of ``predicted`` with the accuracies of the test networks."""
        return spearman(self.target.accuracy[self.test], predicted)

    def gennape(self, encoder: GraphEncoder, n_clusters: int, use_flops: bool) -> tuple[float, float]:
        """Zero-shot and fine-tuned rho of a :class:`GennapeRegressor` on ``encoder``'s
        embeddings, fitted on the source family."""
        source, target, test, tune = self.source, self.target, self.test, self.tune
        Zs, Zt = embed(encoder, source.batch), embed(encoder, target.batch)
        reg = GennapeRegressor(n_clusters=n_clusters, use_flops=use_flops, random_state=self.seed)
        reg.fit(Zs, source.accuracy, flops=source.flops)
        zero = self.rho(reg.predict(Zt[test], flops=target.flops[test]))
        reg.fine_tune(Zt[tune], target.accuracy[tune], flops=target.flops[tune])
        return zero, self.rho(reg.predict(Zt[test], flops=target.flops[test]))


#: The methods of :func:`transfer_seed` by name: each maps a :class:`TransferRun` to its
#: zero-shot and fine-tuned rho (NaN for a method that needs target labels).
TRANSFER_METHODS: Registry[Callable[[TransferRun], tuple[float, float]]] = Registry("transfer method")


@TRANSFER_METHODS.register("GENNAPE")
def gennape_transfer(run: TransferRun) -> tuple[float, float]:
    return run.gennape(run.pretrained_encoder(), run.n_clusters, use_flops=True)


@TRANSFER_METHODS.register("without contrastive pre-training")
def supervised_transfer(run: TransferRun) -> tuple[float, float]:
    return run.gennape(run.supervised_encoder(), run.n_clusters, use_flops=True)


@TRANSFER_METHODS.register("without the ensemble")
def single_head_transfer(run: TransferRun) -> tuple[float, float]:
    return run.gennape(run.pretrained_encoder(), 1, use_flops=True)


@TRANSFER_METHODS.register("without the FLOPs transform")
def plain_labels_transfer(run: TransferRun) -> tuple[float, float]:
    return run.gennape(run.pretrained_encoder(), run.n_clusters, use_flops=False)


@TRANSFER_METHODS.register("FLOPs alone")
def flops_transfer(run: TransferRun) -> tuple[float, float]:
    rho = run.rho(run.target.flops[run.test])
    return rho, rho


@TRANSFER_METHODS.register("GRAF random forest")
def forest_transfer(run: TransferRun) -> tuple[float, float]:
    """A random forest on the target's tabular features (GRAF's for NAS-Bench-201),
    trained on the fine-tuning networks only: it has no zero-shot version."""
    if run.target.features is None:
        raise ValueError(f"{run.target.name} has no tabular features for the random forest")
    X = run.target.features
    forest = RandomForestRegressor(n_estimators=100, random_state=run.seed, n_jobs=1)
    forest.fit(X[run.tune], run.target.accuracy[run.tune])
    return np.nan, run.rho(forest.predict(X[run.test]))


#: The rows of :func:`transfer_seed`, in order (the names of :data:`TRANSFER_METHODS`).
METHODS: tuple[str, ...] = tuple(TRANSFER_METHODS.names)


def transfer_seed(source: Family, target: Family, seed: int, n_finetune: int = 50, n_clusters: int = 4,
                  encoder: GraphEncoder | None = None, epochs: int = 20,
                  methods: Sequence[str] = METHODS, supervised: GraphEncoder | None = None,
                  **encoder_kwargs) -> list[dict]:
    """One seed of the transfer experiment: Spearman's rho on the target cells not used for
    fine-tuning, with no target labels ("zero-shot") and after fine-tuning on ``n_finetune``
    random target cells, for GENNAPE, its three ablations and two baselines (``methods``,
    names of :data:`TRANSFER_METHODS`, default all).

    ``encoder``: a contrastively pre-trained encoder to use for this seed (else one is
    pre-trained here, with ``encoder_kwargs``). The encoder without contrastive pre-training
    (``supervised``, else trained here) is trained from the same seed to regress the
    source's transformed labels instead (:func:`supervised_encoder`). The random forest
    reads ``target.features`` (the GRAF features for NAS-Bench-201).
    """
    n_finetune = check_int("n_finetune", n_finetune, minimum=2, maximum=len(target) - 2)
    names = [TRANSFER_METHODS.canonical(m) for m in check_sequence("methods", methods, str, min_length=1)]
    order = np.random.default_rng(seed).permutation(len(target))
    run = TransferRun(source, target, seed, order[:n_finetune], order[n_finetune:], n_clusters, epochs,
                      encoder_kwargs, encoder, supervised)
    rows = []
    for name in names:
        zero, tuned = TRANSFER_METHODS[name](run)
        rows.append({"seed": seed, "method": name, "zero-shot": zero, "fine-tuned": tuned})
    return rows


def variant_seed(source: Family, target: Family, seed: int, variant: Variant,
                 unlabelled: dict[str, Family] | None = None, n_finetune: int = 50,
                 encoder: tuple[GraphEncoder, list[float]] | None = None) -> dict:
    """GENNAPE pre-trained with ``variant`` from ``seed`` and transferred to ``target``
    (zero-shot and fine-tuned Spearman's rho, as in :func:`transfer_seed`). The names in
    ``variant.extra`` are keys of ``unlabelled``: families whose graphs are added to the
    pre-training data (for instance other cells of the target's space, never the target
    cells themselves, and the graphs of another space). ``encoder``: an (encoder, loss
    curve) pair already pre-trained with this variant and seed, to reuse across targets."""
    check_type("variant", variant, Variant, "an experiment.Variant")
    unlabelled = unlabelled or {}
    for name in variant.extra:
        check_choice("unlabelled family", name, list(unlabelled))
    encoder, history = encoder or pretrained_encoder(source, seed, variant.epochs,
                                                     [unlabelled[k] for k in variant.extra], variant.temperature,
                                                     variant.bandwidth_scale, **variant.encoder_kwargs())
    row = transfer_seed(source, target, seed, n_finetune, encoder=encoder, methods=("GENNAPE",))[0]
    return {"variant": variant.name, "seed": seed, "zero-shot": row["zero-shot"],
            "fine-tuned": row["fine-tuned"], "final loss": history[-1]}
