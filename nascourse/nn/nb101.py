"""The NAS-Bench-101 network: a searched cell stacked in a fixed skeleton (chapter 02 defines
the cell; chapter 08 traces these networks into computational graphs).

The macro structure follows Ying et al. (ICML 2019): a 3x3 convolution stem (Conv-BN-ReLU),
then ``stacks`` stacks of ``cells_per_stack`` cells, with a 2x2 max pooling that halves the
resolution between stacks while the next stack doubles the channels, then global average
pooling and a linear classifier. The benchmark uses ``C=128``, three stacks of three cells.

Inside a cell, as in the benchmark: every hidden vertex sums its inputs and applies its
operation (Conv-BN-ReLU or a 3x3 max pooling); an edge from the cell input goes through a
1x1 Conv-BN-ReLU projection to the vertex's channel count; the output concatenates the
vertices that feed it, whose channels split the output channels, and adds a projection of
the input if the input feeds the output directly. A vertex that does not feed the output
gets the largest channel count among its successors, and its tensor is truncated to fewer
channels where a successor needs fewer.
"""

from __future__ import annotations

import torch
from torch import nn

from nascourse._checks import check_int, check_type
from nascourse.spaces import nb101


def as_cell(cell: nb101.Cell) -> nb101.Cell:
    """Validate ``cell`` and return it pruned; anything but an ``nb101.Cell`` is a TypeError."""
    check_type("cell", cell, nb101.Cell, "a nascourse.spaces.nb101.Cell")
    return cell.validate().pruned()


class ConvBNReLU(nn.Sequential):
    """A bias-free convolution, batch normalisation, ReLU (the benchmark's post-activation order)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int):
        super().__init__(nn.Conv2d(C_in, C_out, kernel_size, padding=kernel_size // 2, bias=False),
                         nn.BatchNorm2d(C_out), nn.ReLU())


def _vertex_op(op: str, C: int) -> nn.Module:
    if op == "conv3x3-bn-relu":
        return ConvBNReLU(C, C, 3)
    if op == "conv1x1-bn-relu":
        return ConvBNReLU(C, C, 1)
    return nn.MaxPool2d(3, stride=1, padding=1)


def vertex_channels(cell: nb101.Cell, C_in: int, C_out: int) -> list[int]:
    """Channels of every vertex of a pruned cell: the input has ``C_in``, the output ``C_out``,
    the vertices feeding the output split ``C_out`` (the first ones take the remainder), and
    any other vertex takes the largest count among its successors."""
    n, m = cell.num_nodes, cell.matrix
    channels = [0] * n
    channels[0], channels[-1] = C_in, C_out
    feeders = [v for v in range(1, n - 1) if m[v, n - 1]]
    for k, v in enumerate(feeders):
        channels[v] = C_out // len(feeders) + (1 if k < C_out % len(feeders) else 0)
    for v in range(n - 2, 0, -1):
        if not m[v, n - 1]:
            channels[v] = max(channels[w] for w in range(v + 1, n - 1) if m[v, w])
    return channels


class NB101Cell(nn.Module):
    """One NAS-Bench-101 cell from ``C_in`` to ``C_out`` channels (see the module docstring)."""

    def __init__(self, cell: nb101.Cell, C_in: int, C_out: int):
        super().__init__()
        self.cell = as_cell(cell)
        n, m = self.cell.num_nodes, self.cell.matrix
        self.channels = vertex_channels(self.cell, C_in, C_out)
        self.preds = [[u for u in range(1, v) if m[u, v]] for v in range(n)]
        self.projections = nn.ModuleDict({str(v): ConvBNReLU(C_in, self.channels[v], 1)
                                          for v in range(1, n) if m[0, v]})
        self.ops = nn.ModuleDict({str(v): _vertex_op(self.cell.ops[v], self.channels[v]) for v in range(1, n - 1)})
        self.feeders = [v for v in range(1, n - 1) if m[v, n - 1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = self.cell.num_nodes
        tensors: dict[int, torch.Tensor] = {}
        for v in range(1, n - 1):
            c = self.channels[v]
            inputs = [tensors[u] if self.channels[u] == c else tensors[u][:, :c] for u in self.preds[v]]
            if str(v) in self.projections:
                inputs.append(self.projections[str(v)](x))
            total = inputs[0]
            for extra in inputs[1:]:
                total = total + extra
            tensors[v] = self.ops[str(v)](total)
        parts = [tensors[v] for v in self.feeders]
        out = (parts[0] if len(parts) == 1 else torch.cat(parts, dim=1)) if parts else None
        if str(n - 1) in self.projections:
            skip = self.projections[str(n - 1)](x)
            out = skip if out is None else out + skip
        return out

    def extra_repr(self) -> str:
        return f"ops={list(self.cell.ops)}, channels={self.channels}"


class NB101Network(nn.Module):
    """The NAS-Bench-101 skeleton around one cell; returns logits ``(batch, num_classes)``."""

    def __init__(self, cell: nb101.Cell, C: int = 128, stacks: int = 3, cells_per_stack: int = 3,
                 num_classes: int = 10):
        super().__init__()
        for name, value in (("C", C), ("stacks", stacks), ("cells_per_stack", cells_per_stack),
                            ("num_classes", num_classes)):
            check_int(name, value)
        cell = as_cell(cell)
        layers: list[nn.Module] = [ConvBNReLU(3, C, 3)]
        channels = C
        for stack in range(stacks):
            if stack > 0:
                layers.append(nn.MaxPool2d(2, stride=2))
                C *= 2
            for _ in range(cells_per_stack):
                layers.append(NB101Cell(cell, channels, C))
                channels = C
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(x)))


def nb101_network(cell: nb101.Cell, C: int = 128, stacks: int = 3, cells_per_stack: int = 3,
                  num_classes: int = 10) -> NB101Network:
    """The NAS-Bench-101 network of ``cell`` (benchmark size: ``C=128``, 3 stacks of 3 cells)."""
    return NB101Network(cell, C, stacks, cells_per_stack, num_classes)
