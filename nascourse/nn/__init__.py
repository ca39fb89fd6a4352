"""Torch building blocks (chapter 02 builds a NAS-Bench-201 network; chapter 04 reuses the
operations in a supernet; chapter 05 scores untrained networks).

``ops`` holds the five cell operations and :func:`count_parameters`; ``nb101`` the
NAS-Bench-101 network (chapter 08 traces it); ``nb201`` the NAS-Bench-201 cell and macro
network, and the parameter count of a cell in closed form;
``supernet`` the one-shot supernet, its discretisation and the evaluation of a cell with
the shared weights; ``darts`` the DARTS-space network of a genotype (chapter 08 traces the
NAS-Bench-301 sample's networks).
"""

from nascourse.nn.darts import DartsNetwork, darts_network
from nascourse.nn.nb101 import NB101Cell, NB101Network, nb101_network
from nascourse.nn.nb201 import NB201Cell, NB201Network, ReductionBlock, nb201_network, nb201_num_params
from nascourse.nn.ops import OPERATIONS, ReLUConvBN, Zero, count_parameters
from nascourse.nn.supernet import MixedOp, NB201Supernet, SuperCell, discretise, evaluate_cell, extract_network

__all__ = ["DartsNetwork", "OPERATIONS", "MixedOp", "NB101Cell", "NB101Network", "NB201Cell", "NB201Network",
           "NB201Supernet", "ReLUConvBN", "ReductionBlock", "SuperCell", "Zero", "count_parameters",
           "darts_network", "discretise", "evaluate_cell", "extract_network", "nb101_network", "nb201_network",
           "nb201_num_params"]
