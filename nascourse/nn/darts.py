"""The DARTS network: a normal and a reduction cell stacked into a CIFAR network (chapter 04
searches the DARTS space; chapter 08 traces these networks to transfer a predictor to the
NAS-Bench-301 sample).

The macro structure follows the evaluation network of Liu, Simonyan & Yang (ICLR 2019): a
3x3 convolution stem with ``3C`` channels, then ``layers`` cells; the cells at one third
and two thirds of the depth are reduction cells that halve the resolution and double the
channels, all others are normal cells; then global average pooling and a linear
classifier. Every cell takes the outputs of the two cells before it, brings both to its
own channel count (a 1x1 ReLU-conv-BN, or a factorized reduction when the cell before the
previous one ran at twice the resolution), computes its four intermediate nodes, each the
sum of two operations on earlier nodes, and concatenates them (``4C`` output channels).
In a reduction cell the operations on the two cell inputs have stride 2.

The paper's CIFAR-10 network has ``C=36, layers=20`` (about 3.3M parameters for the
DARTS-V2 cells); NAS-Bench-301 trained ``C=32, layers=8``, and NASLib's network of that
size, whose operations' batch norms have no learned scale and shift (``affine=False``),
has the parameter counts of the shipped NAS-Bench-301 sample. Small networks (``C=8..16``,
``layers=5..8``) run and trace in a fraction of a second. There is no auxiliary head and no
drop path: the networks are traced and scored, not trained to the paper's accuracy.
"""

from __future__ import annotations

from typing import Callable, Sequence

import torch
from torch import nn

from nascourse._checks import check_bool, check_int, check_type
from nascourse.nn.ops import ReLUConvBN, Zero
from nascourse.registry import Registry
from nascourse.spaces import darts
from nascourse.spaces.darts import Genotype


def as_genotype(genotype: Genotype | str | Sequence) -> Genotype:
    """Accept a :class:`~nascourse.spaces.darts.Genotype`, or NASLib's compact encoding of
    one (as ``benchmarks.load_nb301()`` gives it, read by ``darts.from_compact``)."""
    if isinstance(genotype, Genotype):
        return genotype
    if isinstance(genotype, (str, list, tuple)):
        return darts.from_compact(genotype)
    raise TypeError(f"genotype must be a nascourse.spaces.darts.Genotype or NASLib's compact encoding, "
                    f"got {type(genotype).__name__} {genotype!r}")


class SepConv(nn.Sequential):
    """DARTS's separable convolution: twice (ReLU, depthwise ``k x k``, pointwise 1x1, BN);
    only the first depthwise convolution has the stride."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, affine: bool = True):
        pad = kernel_size // 2
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_in, 1, bias=False),
            nn.BatchNorm2d(C_in, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, padding=pad, groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class DilConv(nn.Sequential):
    """DARTS's dilated convolution: ReLU, depthwise ``k x k`` with dilation 2, pointwise 1x1, BN
    (a ``k x k`` kernel spread over ``2k - 1`` pixels)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_in, kernel_size, stride=stride, padding=kernel_size - 1, dilation=2,
                      groups=C_in, bias=False),
            nn.Conv2d(C_in, C_out, 1, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


class FactorizedReduce(nn.Module):
    """Halve the resolution without losing every other pixel: ReLU, then two 1x1 stride-2
    convolutions, the second on the input shifted by one pixel, concatenated (half of
    ``C_out`` each), then BN. DARTS's ``skip_connect`` in a reduction cell."""

    def __init__(self, C_in: int, C_out: int, affine: bool = True):
        super().__init__()
        if C_out % 2:
            raise ValueError(f"FactorizedReduce needs an even number of output channels, got C_out={C_out}")
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.conv_2 = nn.Conv2d(C_in, C_out // 2, 1, stride=2, bias=False)
        self.bn = nn.BatchNorm2d(C_out, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.relu(x)
        return self.bn(torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1))


class StridedZero(nn.Module):
    """DARTS's ``none`` at stride 2: an all-zero tensor at half the resolution."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, ::2, ::2].mul(0.0)


#: DARTS operation name -> constructor ``(C, stride, affine=True) -> nn.Module`` (``C``
#: channels in and out; stride 1 or 2). ``none`` exists only in the supernet: a derived
#: cell (:class:`nascourse.spaces.darts.Cell`) never holds it.
OPERATIONS: Registry[Callable[..., nn.Module]] = Registry("DARTS operation")
OPERATIONS.add("none", lambda C, stride, affine=True: Zero() if stride == 1 else StridedZero())
OPERATIONS.add("max_pool_3x3", lambda C, stride, affine=True: nn.MaxPool2d(3, stride=stride, padding=1))
OPERATIONS.add("avg_pool_3x3", lambda C, stride, affine=True: nn.AvgPool2d(3, stride=stride, padding=1,
                                                                           count_include_pad=False))
OPERATIONS.add("skip_connect", lambda C, stride, affine=True: (nn.Identity() if stride == 1
                                                               else FactorizedReduce(C, C, affine=affine)))
OPERATIONS.add("sep_conv_3x3", lambda C, stride, affine=True: SepConv(C, C, 3, stride, affine))
OPERATIONS.add("sep_conv_5x5", lambda C, stride, affine=True: SepConv(C, C, 5, stride, affine))
OPERATIONS.add("dil_conv_3x3", lambda C, stride, affine=True: DilConv(C, C, 3, stride, affine))
OPERATIONS.add("dil_conv_5x5", lambda C, stride, affine=True: DilConv(C, C, 5, stride, affine))


def make_op(name: str, C: int, stride: int = 1, affine: bool = True) -> nn.Module:
    """Build DARTS operation ``name`` on ``C`` channels with ``stride`` 1 or 2."""
    make = OPERATIONS.get(name)
    check_int("C", C)
    stride = check_int("stride", stride, maximum=2)
    return make(C, stride, affine=affine)


class DartsCell(nn.Module):
    """One derived cell on ``C`` channels; inputs have ``C_prev_prev`` and ``C_prev`` channels,
    the output ``4C`` (the concatenated intermediate nodes)."""

    def __init__(self, cell: darts.Cell, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool, affine: bool = True):
        super().__init__()
        check_type("cell", cell, darts.Cell, "a nascourse.spaces.darts.Cell")
        self.cell, self.reduction = cell, bool(reduction)
        self.preprocess0 = (FactorizedReduce(C_prev_prev, C) if reduction_prev
                            else ReLUConvBN(C_prev_prev, C, 1))
        self.preprocess1 = ReLUConvBN(C_prev, C, 1)
        self.ops = nn.ModuleList(
            make_op(op, C, 2 if self.reduction and src < darts.NUM_CELL_INPUTS else 1, affine)
            for op, src in cell.edges
        )

    def forward(self, s0: torch.Tensor, s1: torch.Tensor) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        k = darts.INPUTS_PER_NODE
        for node in range(self.cell.num_nodes):
            terms = [self.ops[k * node + i](states[src]) for i, (_, src) in enumerate(self.cell.inputs(node))]
            total = terms[0]
            for term in terms[1:]:
                total = total + term
            states.append(total)
        return torch.cat(states[darts.NUM_CELL_INPUTS:], dim=1)

    def extra_repr(self) -> str:
        return f"{'reduce' if self.reduction else 'normal'}: {self.cell}"


def reduction_layers(layers: int) -> tuple[int, int]:
    """Positions of the two reduction cells among ``layers`` cells: ``layers // 3`` and
    ``2 * layers // 3`` (as in DARTS)."""
    layers = check_int("layers", layers, minimum=3)
    return layers // 3, 2 * layers // 3


class DartsNetwork(nn.Module):
    """The DARTS evaluation network of ``genotype`` (see the module docstring); the forward
    pass returns logits of shape ``(batch, num_classes)``. ``affine``: whether the batch
    norms inside the cell operations learn a scale and a shift (DARTS: yes; NASLib's
    NAS-Bench-301 network: no)."""

    def __init__(self, genotype: Genotype | str, C: int = 16, layers: int = 8, num_classes: int = 10,
                 stem_multiplier: int = 3, affine: bool = True):
        super().__init__()
        self.genotype = as_genotype(genotype)
        check_int("C", C)
        check_int("num_classes", num_classes)
        check_int("stem_multiplier", stem_multiplier)
        affine = check_bool("affine", affine)
        reductions = reduction_layers(layers)
        C_stem = stem_multiplier * C
        self.stem = nn.Sequential(nn.Conv2d(3, C_stem, 3, padding=1, bias=False), nn.BatchNorm2d(C_stem))
        C_prev_prev, C_prev, C_curr, reduction_prev = C_stem, C_stem, C, False
        self.cells = nn.ModuleList()
        for i in range(layers):
            reduction = i in reductions
            if reduction:
                C_curr *= 2
            cell = self.genotype.reduce if reduction else self.genotype.normal
            self.cells.append(DartsCell(cell, C_prev_prev, C_prev, C_curr, reduction, reduction_prev, affine))
            C_prev_prev, C_prev, reduction_prev = C_prev, cell.num_nodes * C_curr, reduction
        self.head = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.classifier = nn.Linear(C_prev, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            s0, s1 = s1, cell(s0, s1)
        return self.classifier(self.head(s1))


def darts_network(genotype: Genotype | str, C: int = 16, layers: int = 8, num_classes: int = 10,
                  affine: bool = True) -> DartsNetwork:
    """The DARTS network of ``genotype`` (a ``Genotype`` or NASLib's compact string).

    Paper size ``C=36, layers=20``; NAS-Bench-301 size ``C=32, layers=8`` (with
    ``affine=False`` it has exactly the parameter count ``benchmarks.load_nb301()`` lists); the
    default ``C=16, layers=8`` is a small network that still has two cells per stage."""
    return DartsNetwork(genotype, C, layers, num_classes, affine=affine)
