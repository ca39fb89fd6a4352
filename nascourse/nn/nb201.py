"""The NAS-Bench-201 network: one cell repeated in a fixed ResNet-like skeleton (chapter 02).

The macro structure follows Dong & Yang (ICLR 2020): a 3x3 convolution stem, three stages
of ``N`` cells with ``C``, ``2C`` and ``4C`` channels, a residual reduction block between
stages that halves the resolution and doubles the channels, then BatchNorm, ReLU, global
average pooling and a linear classifier. Only the cell changes from one architecture to
the next. :func:`nb201_num_params` gives the parameter count without building anything.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from nascourse._checks import check_int
from nascourse.nn.ops import make_op
from nascourse.spaces.nb201 import EDGES, NUM_NODES, Cell


def as_cell(cell: Cell | str) -> Cell:
    """Accept a :class:`Cell` or its NAS-Bench-201 string; anything else is a TypeError."""
    if isinstance(cell, Cell):
        return cell
    if isinstance(cell, str):
        return Cell.from_str(cell)
    raise TypeError(f"cell must be a nascourse.spaces.nb201.Cell or an NB201 string, got "
                    f"{type(cell).__name__} {cell!r}")


class NB201Cell(nn.Module):
    """A cell on ``C`` channels: node ``j`` sums its incoming edges ``op(node i)``, ``i < j``."""

    def __init__(self, cell: Cell | str, C: int, affine: bool = True):
        super().__init__()
        self.cell = as_cell(cell)
        self.edges = nn.ModuleList(make_op(op, C, affine) for op in self.cell.ops)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for target in range(1, NUM_NODES):
            nodes.append(sum(op(nodes[s]) for (s, t), op in zip(EDGES, self.edges) if t == target))
        return nodes[-1]

    def extra_repr(self) -> str:
        return self.cell.to_str()


class ReductionBlock(nn.Module):
    """Residual block between stages: two ReLU-conv-BN (the first with stride 2) plus a
    shortcut of 2x2 average pooling and a 1x1 convolution."""

    def __init__(self, C_in: int, C_out: int):
        super().__init__()
        self.conv_a = nn.Sequential(nn.ReLU(), nn.Conv2d(C_in, C_out, 3, stride=2, padding=1, bias=False),
                                    nn.BatchNorm2d(C_out))
        self.conv_b = nn.Sequential(nn.ReLU(), nn.Conv2d(C_out, C_out, 3, padding=1, bias=False),
                                    nn.BatchNorm2d(C_out))
        self.shortcut = nn.Sequential(nn.AvgPool2d(2, stride=2), nn.Conv2d(C_in, C_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shortcut(x) + self.conv_b(self.conv_a(x))


class NB201Network(nn.Module):
    """The NAS-Bench-201 skeleton around cells built by ``make_cell(channels)``.

    :func:`nb201_network` fills it with one fixed cell; a supernet passes a cell that mixes
    all operations. The forward pass returns logits of shape ``(batch, num_classes)``.
    """

    def __init__(self, make_cell: Callable[[int], nn.Module], C: int = 16, N: int = 5, num_classes: int = 10):
        super().__init__()
        check_int("C", C)
        check_int("N", N)
        check_int("num_classes", num_classes)
        self.stem = nn.Sequential(nn.Conv2d(3, C, 3, padding=1, bias=False), nn.BatchNorm2d(C))
        layers: list[nn.Module] = []
        for stage, channels in enumerate((C, 2 * C, 4 * C)):
            if stage > 0:
                layers.append(ReductionBlock(channels // 2, channels))
            layers.extend(make_cell(channels) for _ in range(N))
        self.cells = nn.Sequential(*layers)
        self.head = nn.Sequential(nn.BatchNorm2d(4 * C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(4 * C, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classifier(self.head(self.cells(self.stem(x))))


def nb201_network(cell: Cell | str, C: int = 16, N: int = 5, num_classes: int = 10) -> NB201Network:
    """The NAS-Bench-201 network of ``cell`` (benchmark size: ``C=16, N=5``)."""
    cell = as_cell(cell)
    return NB201Network(lambda channels: NB201Cell(cell, channels), C, N, num_classes)


def _op_params(op: str, c: int) -> int:
    """Parameters of one cell operation on ``c`` channels (conv weights + BN scale and shift)."""
    return {"nor_conv_1x1": c * c + 2 * c, "nor_conv_3x3": 9 * c * c + 2 * c}.get(op, 0)


def nb201_num_params(cell: Cell | str, C: int = 16, N: int = 5, num_classes: int = 10) -> int:
    """The parameter count of :func:`nb201_network` in closed form (no network built).

    Only convolutions carry weights: the stem, the ops of the cells, the two reduction
    blocks; BatchNorm layers add a scale and a shift per channel; the classifier is linear.
    """
    cell = as_cell(cell)
    for name, value in (("C", C), ("N", N), ("num_classes", num_classes)):
        check_int(name, value)
    stem = 27 * C + 2 * C
    cells = sum(N * sum(_op_params(op, c) for op in cell.ops) for c in (C, 2 * C, 4 * C))
    # conv_a (c -> 2c, 3x3), conv_b (2c -> 2c, 3x3), each with BN, and the 1x1 shortcut
    reductions = sum(18 * c * c + 36 * c * c + 8 * c + 2 * c * c for c in (C, 2 * C))
    head = 2 * 4 * C + 4 * C * num_classes + num_classes
    return stem + cells + reductions + head
