"""Torch building blocks (chapter 02 builds a NAS-Bench-201 network; chapter 04 reuses the
operations in a supernet; chapter 05 scores untrained networks).

``ops`` holds the five cell operations and :func:`count_parameters`; ``nb201`` the
NAS-Bench-201 cell and macro network, and the parameter count of a cell in closed form.
"""

from nascourse.nn.nb201 import NB201Cell, NB201Network, ReductionBlock, nb201_network, nb201_num_params
from nascourse.nn.ops import OPERATIONS, ReLUConvBN, Zero, count_parameters

__all__ = ["OPERATIONS", "NB201Cell", "NB201Network", "ReLUConvBN", "ReductionBlock", "Zero",
           "count_parameters", "nb201_network", "nb201_num_params"]
