"""Tests of the NAS-Bench-101 network: shapes, channel rules, the benchmark's parameter counts."""

import numpy as np
import pytest
import torch

from nascourse import benchmarks
from nascourse.nn.nb101 import NB101Cell, nb101_network, vertex_channels
from nascourse.nn.ops import count_parameters
from nascourse.spaces import nb101

CHAIN = nb101.Cell([[0, 1, 0], [0, 0, 1], [0, 0, 0]], ["input", "conv3x3-bn-relu", "output"])
BRANCHY = nb101.Cell([[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                     ["input", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "output"])


def test_forward_shapes(one_torch_thread):
    for cell in (CHAIN, BRANCHY):
        net = nb101_network(cell, C=8, cells_per_stack=1)
        assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)


def test_vertex_channels_split_the_output():
    assert vertex_channels(BRANCHY, 16, 32) == [16, 16, 16, 16, 32]
    odd = nb101.Cell([[0, 1, 1, 0], [0, 0, 0, 1], [0, 0, 0, 1], [0, 0, 0, 0]],
                     ["input", "conv3x3-bn-relu", "conv3x3-bn-relu", "output"])
    assert vertex_channels(odd, 8, 33) == [8, 17, 16, 33]


def test_cell_output_channels(one_torch_thread):
    cell = NB101Cell(BRANCHY, 8, 20)
    assert cell(torch.randn(1, 8, 8, 8)).shape == (1, 20, 8, 8)


def test_parameter_counts_match_the_benchmark():
    table = benchmarks.load_nb101_sample()
    for i in range(0, 500, 50):
        net = nb101_network(nb101.Cell(table["matrix"][i], table["ops"][i]))
        assert count_parameters(net) / 1e6 == pytest.approx(table["params"][i], abs=1e-6)


def test_bad_input():
    with pytest.raises(TypeError, match="nb101.Cell"):
        nb101_network(np.eye(3))
    with pytest.raises(ValueError, match="C must be a positive int"):
        nb101_network(CHAIN, C=0)
    with pytest.raises(TypeError, match="stacks"):
        nb101_network(CHAIN, stacks=1.5)
    invalid = nb101.Cell([[0, 0], [0, 0]], ["input", "output"])
    with pytest.raises(ValueError, match="no path"):
        nb101_network(invalid)
