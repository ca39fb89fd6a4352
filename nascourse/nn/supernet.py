"""The NAS-Bench-201 supernet for one-shot search (chapter 04).

Every edge of the cell carries a :class:`MixedOp` holding all five operations, so one
network contains all 15,625 cells and every cell uses a subset of its weights (weight
sharing). The skeleton around the cells (stem, stages, reduction blocks, head) is the
stand-alone :class:`~nascourse.nn.nb201.NB201Network`, built with supernet cells.

The architecture parameters ``alpha`` (one row of five logits per edge) are kept apart
from the network weights: :meth:`NB201Supernet.arch_parameters` and
:meth:`NB201Supernet.weight_parameters` split :meth:`~torch.nn.Module.parameters` in
two, so that each optimiser of the bilevel problem sees only its own variables.

A forward pass mixes the operations in one of three ways: with given mixing weights
(one row per edge, e.g. the softmax of ``alpha`` for DARTS); with one operation per edge
(a cell, as random search with weight sharing samples it), running only that path; or
with a one-hot row per edge and the index of its one (GDAS), which runs one path but
lets the gradient reach the weights. :func:`extract_network` copies the shared weights
of one cell into a stand-alone network, :func:`evaluate_cell` scores a cell with the
shared weights, and :func:`discretise` turns ``alpha`` into a cell.

All batch normalisation layers of the supernet normalise with the statistics of the
current batch, in training and evaluation alike: running averages collected while the
operations were mixed would be wrong for any single cell.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from nascourse._checks import check_int, check_type
from nascourse.nn.nb201 import NB201Cell, NB201Network, as_cell
from nascourse.nn.ops import make_op
from nascourse.spaces.nb201 import EDGES, NUM_NODES, OPS, Cell

NUM_EDGES = len(EDGES)
NUM_OPS = len(OPS)


def use_batch_statistics(module: nn.Module) -> nn.Module:
    """Make every BatchNorm layer of ``module`` normalise with batch statistics only (in
    place; returns ``module``). Used for the supernet and the networks extracted from it."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.running_mean = None
            m.running_var = None
            m.num_batches_tracked = None
    return module


class BoxAverage(nn.Module):
    """The ``avg_pool_3x3`` operation of NAS-Bench-201 (3x3 average, stride 1, border pixels
    averaging their real neighbours only) computed as a depthwise convolution with a box
    kernel: the same numbers as :class:`torch.nn.AvgPool2d`, several times faster on a CPU.

    It is the fastest form for a forward and a backward pass (about 2x faster than the band
    matrices of :class:`nascourse.proxies.passes.WindowSumAvgPool2d` on 32x32 images), but
    a grouped convolution is slow to differentiate twice, which is what grasp needs."""

    def __init__(self, C: int):
        super().__init__()
        self.C = C
        self.register_buffer("kernel", torch.ones(C, 1, 3, 3), persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(1, 1, *x.shape[-2:], dtype=x.dtype, device=x.device)
        count = F.conv2d(ones, self.kernel[:1].to(x.dtype), padding=1)
        return F.conv2d(x, self.kernel.to(x.dtype), padding=1, groups=self.C) / count


class MixedOp(nn.Module):
    """All operations of :data:`~nascourse.spaces.nb201.OPS` on ``C`` channels, in that order.

    ``forward(x, weights)`` returns ``sum_k weights[k] * op_k(x)`` (skipping ``none``, whose
    term is zero); ``forward(x, index=k)``
    runs only operation ``k``; ``forward(x, weights, index=k)`` runs only operation ``k``
    and multiplies it by ``weights[k]`` (the other weights must be zero, as with GDAS).
    """

    def __init__(self, C: int, affine: bool = False):
        super().__init__()
        self.ops = nn.ModuleList(BoxAverage(C) if name == "avg_pool_3x3" else make_op(name, C, affine)
                                 for name in OPS)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                index: int | None = None) -> torch.Tensor:
        if index is not None:
            out = self.ops[index](x)
            return out if weights is None else weights[index] * out
        if weights is None:
            raise ValueError("MixedOp needs mixing weights or the index of one operation")
        # ``none`` outputs zeros: its term adds nothing to the output or to any gradient.
        return sum(w * op(x) for w, op, name in zip(weights, self.ops, OPS) if name != "none")


class SuperCell(nn.Module):
    """A NAS-Bench-201 cell with a :class:`MixedOp` on each of its six edges.

    ``weights`` is a ``(6, 5)`` tensor of mixing weights (rows in
    :data:`~nascourse.spaces.nb201.EDGES` order, columns in ``OPS`` order) or ``None``;
    ``path`` gives one operation index per edge (only those operations run).
    """

    def __init__(self, C: int, affine: bool = False):
        super().__init__()
        self.edges = nn.ModuleList(MixedOp(C, affine) for _ in EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                path: Sequence[int] | None = None) -> torch.Tensor:
        nodes = [x]
        for target in range(1, NUM_NODES):
            terms = []
            for e, ((source, t), mixed) in enumerate(zip(EDGES, self.edges)):
                if t == target:
                    terms.append(mixed(nodes[source], None if weights is None else weights[e],
                                       None if path is None else path[e]))
            nodes.append(sum(terms))
        return nodes[-1]


def _path(cell: Cell | str | Sequence[int]) -> tuple[int, ...]:
    """Operation indices of a cell (a Cell, an NB201 string or six indices into OPS)."""
    if isinstance(cell, (Cell, str)):
        return as_cell(cell).op_ids()
    what = f"a Cell, an NB201 string or {NUM_EDGES} operation indices (positions in {list(OPS)})"
    check_type("a path", cell, Sequence, what)
    ids = tuple(check_int(f"operation index {k} of the path", i, minimum=0, maximum=NUM_OPS - 1)
                for k, i in enumerate(cell))
    if len(ids) != NUM_EDGES:
        raise ValueError(f"a path must be {what}; got {len(ids)} operation indices")
    return ids


class NB201Supernet(NB201Network):
    """The NAS-Bench-201 network with a :class:`SuperCell` in every cell position.

    All cells share one ``alpha`` (the search space has one cell). ``forward(x)`` mixes
    every edge with ``softmax(alpha)``; ``forward(x, weights=w)`` with the ``(6, 5)``
    tensor ``w``; ``forward(x, cell=c)`` runs the single path of cell ``c``;
    ``forward(x, weights=onehot, cell=c)`` runs that path scaled by the one-hot entries.
    """

    def __init__(self, C: int = 16, N: int = 5, num_classes: int = 10, affine: bool = False):
        super().__init__(lambda channels: SuperCell(channels, affine), C, N, num_classes)
        self.C, self.N, self.num_classes, self.affine = C, N, num_classes, affine
        self.alpha = nn.Parameter(1e-3 * torch.randn(NUM_EDGES, NUM_OPS))
        use_batch_statistics(self)

    def arch_parameters(self) -> list[nn.Parameter]:
        """The architecture parameters: ``[alpha]``."""
        return [self.alpha]

    def weight_parameters(self) -> list[nn.Parameter]:
        """Every parameter except ``alpha``: the weights of the operations, stem, blocks and head."""
        return [p for name, p in self.named_parameters() if name != "alpha"]

    def mixing_weights(self) -> torch.Tensor:
        """``softmax(alpha)`` row by row: the DARTS weight of each operation on each edge."""
        return F.softmax(self.alpha, dim=-1)

    def forward(self, x: torch.Tensor, weights: torch.Tensor | None = None,
                cell: Cell | str | Sequence[int] | None = None) -> torch.Tensor:
        path = None if cell is None else _path(cell)
        if weights is None and path is None:
            weights = self.mixing_weights()
        if weights is not None and tuple(weights.shape) != (NUM_EDGES, NUM_OPS):
            raise ValueError(f"weights must have shape ({NUM_EDGES}, {NUM_OPS}) (edges x {list(OPS)}), "
                             f"got {tuple(weights.shape)}")
        h = self.stem(x)
        for layer in self.cells:
            h = layer(h, weights, path) if isinstance(layer, SuperCell) else layer(h)
        return self.classifier(self.head(h))


def discretise(alpha: torch.Tensor, exclude: Sequence[str] = ()) -> Cell:
    """The cell that keeps the strongest operation of every edge: ``argmax`` of each row of
    ``alpha`` (or of its softmax: same order), leaving out the operations in ``exclude``."""
    check_type("alpha", alpha, torch.Tensor, f"a torch.Tensor of shape ({NUM_EDGES}, {NUM_OPS})")
    if tuple(alpha.shape) != (NUM_EDGES, NUM_OPS):
        raise ValueError(f"alpha must have shape ({NUM_EDGES}, {NUM_OPS}) (edges x {list(OPS)}), "
                         f"got {tuple(alpha.shape)}")
    if isinstance(exclude, str):
        exclude = (exclude,)
    unknown = [op for op in exclude if op not in OPS]
    if unknown:
        raise ValueError(f"cannot exclude unknown operations {unknown}; valid operations are {list(OPS)}")
    if len(set(exclude)) == NUM_OPS:
        raise ValueError(f"exclude={list(exclude)} leaves no operation to choose")
    scores = alpha.detach().clone().float()
    for op in exclude:
        scores[:, OPS.index(op)] = -torch.inf
    return Cell(tuple(OPS[i] for i in scores.argmax(dim=1).tolist()))


def extract_network(net: NB201Supernet, cell: Cell | str) -> NB201Network:
    """A stand-alone network of ``cell`` holding copies of ``net``'s shared weights.

    It computes what ``net(x, cell=cell)`` computes (batch statistics in its BatchNorm
    layers too), as an ordinary :class:`~nascourse.nn.nb201.NB201Network` that can be
    fine-tuned or scored on its own.
    """
    check_type("net", net, NB201Supernet, "an NB201Supernet")
    cell = as_cell(cell)
    out = NB201Network(lambda channels: NB201Cell(cell, channels, affine=net.affine), net.C, net.N,
                       net.num_classes)
    use_batch_statistics(out)
    ids = cell.op_ids()
    state = {}
    for name, tensor in net.state_dict().items():
        parts = name.split(".")
        if name == "alpha":
            continue
        if parts[0] == "cells" and parts[2] == "edges":
            # cells.<layer>.edges.<edge>.ops.<op>.<rest> -> cells.<layer>.edges.<edge>.<rest>
            if int(parts[5]) != ids[int(parts[3])]:
                continue
            name = ".".join(parts[:4] + parts[6:])
        state[name] = tensor
    out.load_state_dict(state)
    return out.to(net.alpha.device)


def evaluate_cell(net: NB201Supernet, cell: Cell | str, loader: DataLoader,
                  device: torch.device | str | None = None, max_batches: int | None = None) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction) of ``cell`` run with ``net``'s shared
    weights on ``loader`` (its first ``max_batches`` batches if given): the one-shot
    estimate of how good the cell is. Batch normalisation uses the batch's statistics
    (the supernet keeps none), so the network's train/eval mode does not matter."""
    from nascourse.train import evaluate

    check_type("net", net, NB201Supernet, "an NB201Supernet")
    return evaluate(net, loader, device, max_batches, cell=_path(cell))
