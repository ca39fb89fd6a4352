"""The five NAS-Bench-201 cell operations as torch modules (chapter 02; the supernet of
chapter 04 mixes the same modules).

Every operation maps ``C`` channels to ``C`` channels at stride 1, so any of them can sit
on any edge of a cell. :data:`OPERATIONS` (a :class:`~nascourse.registry.Registry`) maps
each name of :data:`nascourse.spaces.nb201.OPS` to a constructor ``(C, affine=True) -> nn.Module``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from nascourse._checks import check_type
from nascourse.registry import Registry


class Zero(nn.Module):
    """The ``none`` operation: the edge carries nothing (an all-zero tensor)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mul(0.0)


class ReLUConvBN(nn.Sequential):
    """ReLU, then a bias-free convolution, then batch normalisation (pre-activation order)."""

    def __init__(self, C_in: int, C_out: int, kernel_size: int, stride: int = 1, affine: bool = True):
        super().__init__(
            nn.ReLU(inplace=False),
            nn.Conv2d(C_in, C_out, kernel_size, stride=stride, padding=kernel_size // 2, bias=False),
            nn.BatchNorm2d(C_out, affine=affine),
        )


#: Operation name -> constructor ``(C, affine=True) -> nn.Module`` (C channels in and out),
#: in the order of :data:`nascourse.spaces.nb201.OPS`.
OPERATIONS: Registry[Callable[..., nn.Module]] = Registry("NAS-Bench-201 operation")


@OPERATIONS.register("none")
def _none(C: int, affine: bool = True) -> nn.Module:
    return Zero()


@OPERATIONS.register("skip_connect")
def _skip(C: int, affine: bool = True) -> nn.Module:
    return nn.Identity()


@OPERATIONS.register("nor_conv_1x1")
def _conv1x1(C: int, affine: bool = True) -> nn.Module:
    return ReLUConvBN(C, C, 1, affine=affine)


@OPERATIONS.register("nor_conv_3x3")
def _conv3x3(C: int, affine: bool = True) -> nn.Module:
    return ReLUConvBN(C, C, 3, affine=affine)


@OPERATIONS.register("avg_pool_3x3")
def _avg_pool(C: int, affine: bool = True) -> nn.Module:
    # Border pixels average only the real neighbours, as in NAS-Bench-201.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


def make_op(name: str, C: int, affine: bool = True) -> nn.Module:
    """Build operation ``name`` for ``C`` channels; a clear error for an unknown name."""
    return OPERATIONS.get(name)(C, affine=affine)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``module`` (BatchNorm running statistics excluded)."""
    check_type("module", module, nn.Module, "a torch.nn.Module")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
