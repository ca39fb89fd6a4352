"""The transfer experiment of chapter 08: families of traced networks with their labels,
and one seed of "pre-train on NAS-Bench-101, predict NAS-Bench-201" with its ablations
and baselines.

Networks are traced at reduced size (fewer channels and one cell per stage): the graph
structure is what the encoder reads, and tracing the benchmark-size networks would cost
several times more. FLOPs for the label transform are the published ones of the
benchmark-size networks (NAS-Bench-Suite-Zero), in millions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import networkx as nx
import numpy as np
from sklearn.ensemble import RandomForestRegressor

from nascourse import bench, features
from nascourse.gennape.contrastive import pretrain
from nascourse.gennape.encoder import GraphEncoder, embed, make_encoder, train_regression
from nascourse.gennape.ensemble import GennapeRegressor
from nascourse.gennape.graphs import GraphBatch, batch_graphs, laplacian_spectrum, trace
from nascourse.gennape.transform import FlopsTransform
from nascourse.nn.nb101 import nb101_network
from nascourse.nn.nb201 import nb201_network
from nascourse.predictors.metrics import spearman
from nascourse.spaces import nb101, nb201


@dataclass
class Family:
    """Traced networks of one search space: ``cells``, their computational ``graphs``,
    ``accuracy`` (%) and published ``flops`` (millions); ``batch`` and ``spectra`` derived."""

    name: str
    cells: list
    graphs: list[nx.DiGraph]
    accuracy: np.ndarray
    flops: np.ndarray
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
    table = bench.load_nb101_sample()
    cells = [nb101.Cell(m, o).pruned() for m, o in zip(table["matrix"], table["ops"])]
    table["hash"] = [c.hash() for c in cells]
    first = ~table["hash"].duplicated().to_numpy()
    mean_acc = table.groupby("hash")["val_acc"].mean()
    unique = [c for c, keep in zip(cells, first) if keep]
    graphs = [trace(nb101_network(c, C=C, cells_per_stack=cells_per_stack)) for c in unique]
    return Family("NAS-Bench-101", unique, graphs, mean_acc.loc[table["hash"][first]].to_numpy(),
                  table["flops"].to_numpy()[first])


def nb201_family(n: int, seed: int, C: int = 16, N: int = 1) -> Family:
    """``n`` random NAS-Bench-201 cells among the 9,445 without unreachable operations (those
    with published FLOPs), with CIFAR-10 test accuracy, traced at reduced size."""
    zc = bench.load_zc_proxies("cifar10")
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or not 2 <= n <= len(zc):
        raise ValueError(f"n must be an int in 2..{len(zc)}, got {n!r}")
    index = np.sort(np.random.default_rng(seed).choice(zc.index.to_numpy(), size=int(n), replace=False))
    cells = [nb201.Cell.from_index(int(i)) for i in index]
    graphs = [trace(nb201_network(c, C=C, N=N)) for c in cells]
    accuracy = bench.load_nb201("cifar10").loc[index, "test_acc"].to_numpy()
    return Family("NAS-Bench-201", cells, graphs, accuracy, zc.loc[index, "flops"].to_numpy())


#: The rows of :func:`transfer_seed`, in order.
METHODS: tuple[str, ...] = ("GENNAPE", "without contrastive pre-training", "without the ensemble",
                            "without the FLOPs transform", "FLOPs alone", "GRAF random forest")


def pretrained_encoder(source: Family, seed: int, epochs: int = 20) -> tuple[GraphEncoder, list[float]]:
    """An encoder pre-trained contrastively on ``source`` from ``seed``, and its loss curve."""
    encoder = make_encoder(seed)
    return encoder, pretrain(encoder, source.batch, source.spectra, epochs=epochs, seed=seed)


def transfer_seed(source: Family, target: Family, seed: int, n_finetune: int = 50, n_clusters: int = 4,
                  encoder: GraphEncoder | None = None, epochs: int = 20) -> list[dict]:
    """One seed of the transfer experiment: Spearman's rho on the target cells not used for
    fine-tuning, with no target labels ("zero-shot") and after fine-tuning on ``n_finetune``
    random target cells, for GENNAPE, its three ablations and two baselines (:data:`METHODS`).

    ``encoder``: a contrastively pre-trained encoder to use for this seed (else one is
    pre-trained here). The encoder without contrastive pre-training is trained, from the
    same seed, to regress the source's transformed labels instead.
    """
    if not 2 <= n_finetune < len(target) - 1:
        raise ValueError(f"n_finetune must be in 2..{len(target) - 2}, got {n_finetune!r}")
    encoder = encoder or pretrained_encoder(source, seed, epochs)[0]
    supervised = make_encoder(seed)
    y = FlopsTransform().fit_transform(source.accuracy, source.flops)
    train_regression(supervised, source.batch, y, epochs=epochs, seed=seed)
    order = np.random.default_rng(seed).permutation(len(target))
    tune, test = order[:n_finetune], order[n_finetune:]
    settings = {"GENNAPE": (encoder, n_clusters, True), "without contrastive pre-training": (supervised, n_clusters, True),
                "without the ensemble": (encoder, 1, True), "without the FLOPs transform": (encoder, n_clusters, False)}
    rows = []
    for method, (model, clusters, use_flops) in settings.items():
        Zs, Zt = embed(model, source.batch), embed(model, target.batch)
        reg = GennapeRegressor(n_clusters=clusters, use_flops=use_flops, random_state=seed)
        reg.fit(Zs, source.accuracy, source.flops)
        zero = spearman(target.accuracy[test], reg.predict(Zt[test], target.flops[test]))
        reg.fine_tune(Zt[tune], target.accuracy[tune], target.flops[tune])
        tuned = spearman(target.accuracy[test], reg.predict(Zt[test], target.flops[test]))
        rows.append({"seed": seed, "method": method, "zero-shot": zero, "fine-tuned": tuned})
    flops_rho = spearman(target.accuracy[test], target.flops[test])
    rows.append({"seed": seed, "method": "FLOPs alone", "zero-shot": flops_rho, "fine-tuned": flops_rho})
    X = features.graf(target.cells).to_numpy()
    forest = RandomForestRegressor(n_estimators=100, random_state=seed, n_jobs=1).fit(X[tune], target.accuracy[tune])
    rows.append({"seed": seed, "method": "GRAF random forest", "zero-shot": np.nan,
                 "fine-tuned": spearman(target.accuracy[test], forest.predict(X[test]))})
    return rows
