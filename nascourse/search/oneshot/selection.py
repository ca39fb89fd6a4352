"""Choosing a cell from a trained supernet: ranking sampled cells with the shared weights
(random search with weight sharing) and perturbation-based selection."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from nascourse._checks import check_int, check_number, check_type
from nascourse.devices import as_device
from nascourse.nn.nb201 import as_cell
from nascourse.nn.supernet import NUM_EDGES, NUM_OPS, NB201Supernet, evaluate_cell
from nascourse.progress import progress_bar
from nascourse.search.oneshot.data import check_search_data
from nascourse.search.oneshot.loop import SearchResult, run_search
from nascourse.spaces.nb201 import OPS, Cell, random_cell
from nascourse.train import evaluate


def _in_order(loader: DataLoader) -> DataLoader:
    """The same data set and batch size, unshuffled: the same batches on every pass. (It
    owns a generator only so that iterating it draws nothing from torch's global one.)"""
    return DataLoader(loader.dataset, batch_size=loader.batch_size, shuffle=False, generator=torch.Generator())


def rank_cells(net: NB201Supernet, cells: Iterable[Cell | str], loader: DataLoader,
               device: torch.device | str | None = None, max_batches: int | None = None) -> pd.DataFrame:
    """One-shot scores of ``cells``: their validation loss and accuracy (in %) with the shared
    weights of ``net``, one row per cell indexed by benchmark index, best first."""
    rows = []
    for cell in map(as_cell, cells):
        loss, acc = evaluate_cell(net, cell, loader, device, max_batches)
        rows.append({"index": cell.index, "arch_str": cell.to_str(), "oneshot_loss": loss,
                     "oneshot_acc": 100 * acc})
    if not rows:
        raise ValueError("cells is empty: give at least one cell to rank")
    return pd.DataFrame(rows).set_index("index").sort_values("oneshot_acc", ascending=False, kind="stable")


def random_weight_sharing(data: tuple[DataLoader, DataLoader], epochs: int = 10, n_candidates: int = 30,
                          max_batches: int | None = None, seed: int = 0, device: torch.device | str | None = None,
                          **kwargs: Any) -> tuple[SearchResult, pd.DataFrame]:
    """Random search with weight sharing (Li & Talwalkar 2020): train the supernet on one
    random cell per step, then rank ``n_candidates`` random cells (seeded, distinct) by
    their accuracy with the shared weights on ``data.valid`` (unshuffled, so that with
    ``max_batches`` every cell sees the same images). ``seed`` seeds both the training and
    the draw of candidates; other arguments as :func:`run_search`. Returns the run and the
    ranking (:func:`rank_cells`); the ranking's first row is the chosen cell."""
    n_candidates = check_int("n_candidates", n_candidates)
    result = run_search("rsws", data, epochs, seed=seed, device=device, **kwargs)
    rng = np.random.default_rng(seed)
    cells: dict[Cell, None] = {}
    while len(cells) < n_candidates:
        cells[random_cell(rng)] = None
    ranking = rank_cells(result.supernet, cells, _in_order(data[1]), device, max_batches)
    return result, ranking


@dataclass
class PerturbationResult:
    """The cell chosen edge by edge, and ``table``: the validation accuracy (%) of the
    supernet with each operation removed, one row per edge in the order they were decided."""

    cell: Cell
    table: pd.DataFrame


def perturbation_selection(net: NB201Supernet, data: tuple[DataLoader, DataLoader], tune_steps: int = 5,
                           eval_batches: int = 4, tune_lr: float = 0.01, seed: int = 0,
                           device: torch.device | str | None = None, progress: bool = True) -> PerturbationResult:
    """Perturbation-based architecture selection (Wang et al. 2021) on a trained supernet.

    Visit the edges in a random order. On each, remove every operation in turn (set its
    mixing weight to zero) and measure the supernet's validation accuracy on the first
    ``eval_batches`` batches of ``data.valid`` (unshuffled: the same images every time);
    keep the operation whose removal hurts most (ties: the larger loss), fix the edge to
    it, and train the weights for ``tune_steps`` steps (SGD, ``tune_lr``, batches of
    ``data.train`` drawn with ``seed``) before the next edge. ``net`` is not changed, and
    the same arguments give the same result.
    """
    check_type("net", net, NB201Supernet, "an NB201Supernet")
    train_loader, valid_loader = check_search_data(data)
    tune_steps = check_int("tune_steps", tune_steps, minimum=0)
    tune_lr = check_number("tune_lr", tune_lr, positive=True)
    seed = check_int("seed", seed, minimum=0)
    eval_batches = check_int("eval_batches", eval_batches)
    device = as_device(device)
    net = copy.deepcopy(net).to(device)
    weights = net.mixing_weights().detach().clone()
    batches = [(x.to(device), y.to(device)) for _, (x, y) in zip(range(eval_batches), _in_order(valid_loader))]
    tune_loader = DataLoader(train_loader.dataset, batch_size=train_loader.batch_size, shuffle=True,
                             generator=torch.Generator().manual_seed(seed))

    def score(w: torch.Tensor) -> tuple[float, float]:
        loss, acc = evaluate(net, batches, device, weights=w)
        return 100 * acc, loss

    opt = torch.optim.SGD(net.weight_parameters(), lr=tune_lr, momentum=0.9)
    order = np.random.default_rng(seed).permutation(NUM_EDGES).tolist()
    rows, choice = [], [0] * NUM_EDGES
    for e in progress_bar(order, desc="perturbation", disable=not progress):
        row: dict[str, Any] = {"edge": e, "supernet": score(weights)[0]}
        results = {}
        for o, op in enumerate(OPS):
            removed = weights.clone()
            removed[e, o] = 0.0
            results[op] = score(removed)
            row[op] = results[op][0]
        best = min(OPS, key=lambda op: (results[op][0], -results[op][1]))
        choice[e] = OPS.index(best)
        row["chosen"] = best
        rows.append(row)
        weights[e] = F.one_hot(torch.tensor(choice[e]), NUM_OPS).to(weights)
        net.train()
        for _, (x, y) in zip(range(tune_steps), tune_loader):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x.to(device), weights=weights), y.to(device)).backward()
            opt.step()
    return PerturbationResult(Cell(tuple(OPS[i] for i in choice)), pd.DataFrame(rows).set_index("edge"))
