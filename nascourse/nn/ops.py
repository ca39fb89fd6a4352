"""The five NAS-Bench-201 cell operations as torch modules (chapter 02; the supernet of
chapter 04 mixes the same modules).

Every operation maps ``C`` channels to ``C`` channels at stride 1, so any of them can sit
on any edge of a cell. :data:`OPERATIONS` maps each name of
:data:`nascourse.spaces.nb201.OPS` to a constructor ``(C, affine=True) -> nn.Module``.
"""

from __future__ import annotations

from typing import Callable

import torch
from torch import nn


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


def _none(C: int, affine: bool = True) -> nn.Module:
    return Zero()


def _skip(C: int, affine: bool = True) -> nn.Module:
    return nn.Identity()


def _conv1x1(C: int, affine: bool = True) -> nn.Module:
    return ReLUConvBN(C, C, 1, affine=affine)


def _conv3x3(C: int, affine: bool = True) -> nn.Module:
    return ReLUConvBN(C, C, 3, affine=affine)


def _avg_pool(C: int, affine: bool = True) -> nn.Module:
    # Border pixels average only the real neighbours, as in NAS-Bench-201.
    return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)


#: Operation name -> constructor ``(C, affine=True) -> nn.Module`` (C channels in and out).
OPERATIONS: dict[str, Callable[..., nn.Module]] = {
    "none": _none,
    "skip_connect": _skip,
    "nor_conv_1x1": _conv1x1,
    "nor_conv_3x3": _conv3x3,
    "avg_pool_3x3": _avg_pool,
}


def make_op(name: str, C: int, affine: bool = True) -> nn.Module:
    """Build operation ``name`` for ``C`` channels; a clear error for an unknown name."""
    if not isinstance(name, str):
        raise TypeError(f"an operation name must be a str, one of {list(OPERATIONS)}; got {name!r}")
    if name not in OPERATIONS:
        raise ValueError(f"unknown operation {name!r}; valid operations are {list(OPERATIONS)}")
    return OPERATIONS[name](C, affine=affine)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of scalar parameters of ``module`` (BatchNorm running statistics excluded)."""
    if not isinstance(module, nn.Module):
        raise TypeError(f"expected a torch.nn.Module, got {type(module).__name__}")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)
