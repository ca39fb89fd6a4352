"""Tests of the DARTS network: shapes, the published parameter counts (DARTS paper,
NAS-Bench-301 sample), training on the CPU, and bad input."""

import pytest
import torch

from nascourse import bench
from nascourse.nn.darts import (OPERATIONS, DartsCell, FactorizedReduce, darts_network, make_op,
                                reduction_layers)
from nascourse.nn.ops import count_parameters
from nascourse.spaces import darts

V2 = darts.DARTS_V2


def test_forward_shapes(one_torch_thread):
    net = darts_network(V2, C=8, layers=5)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    assert darts_network(darts.random_genotype(0), C=8, layers=6, num_classes=7)(torch.randn(1, 3, 16, 16)).shape == (1, 7)
    # reductions at a third and two thirds of the depth, as in DARTS (20 cells: 6 and 13)
    assert reduction_layers(20) == (6, 13) and reduction_layers(8) == (2, 5)
    assert [c.reduction for c in net.cells] == [False, True, False, True, False]


def test_cells_keep_or_halve_the_resolution(one_torch_thread):
    normal = DartsCell(V2.normal, 24, 24, 8, reduction=False, reduction_prev=False)
    assert normal(torch.randn(1, 24, 8, 8), torch.randn(1, 24, 8, 8)).shape == (1, 32, 8, 8)
    reduce = DartsCell(V2.reduce, 24, 32, 16, reduction=True, reduction_prev=False)
    assert reduce(torch.randn(1, 24, 8, 8), torch.randn(1, 32, 8, 8)).shape == (1, 64, 4, 4)
    after = DartsCell(V2.normal, 32, 64, 16, reduction=False, reduction_prev=True)
    assert after(torch.randn(1, 32, 8, 8), torch.randn(1, 64, 4, 4)).shape == (1, 64, 4, 4)


@pytest.mark.parametrize("name", list(OPERATIONS))
def test_every_operation_keeps_channels_and_strides(name, one_torch_thread):
    x = torch.randn(1, 6, 8, 8)
    assert make_op(name, 6)(x).shape == (1, 6, 8, 8)
    assert make_op(name, 6, stride=2)(x).shape == (1, 6, 4, 4)
    if name == "none":
        assert not make_op(name, 6, stride=2)(x).any()


def test_operation_structure():
    # separable: two depthwise + pointwise pairs; dilated: one pair, dilation 2
    sep = make_op("sep_conv_5x5", 4)
    convs = [m for m in sep.modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size[0], c.groups) for c in convs] == [(5, 4), (1, 1), (5, 4), (1, 1)]
    dil = [m for m in make_op("dil_conv_3x3", 4).modules() if isinstance(m, torch.nn.Conv2d)]
    assert [(c.kernel_size[0], c.dilation[0], c.groups) for c in dil] == [(3, 2, 4), (1, 1, 1)]
    assert isinstance(make_op("skip_connect", 4, stride=2), FactorizedReduce)
    assert isinstance(make_op("skip_connect", 4), torch.nn.Identity)


def test_darts_v2_has_the_published_size():
    # Liu, Simonyan & Yang (ICLR 2019), Table 1: DARTS (second order) on CIFAR-10, 3.3M
    # parameters for 20 cells of 36 initial channels (the auxiliary head is not counted)
    n = count_parameters(darts_network(V2, C=36, layers=20))
    assert n / 1e6 == pytest.approx(3.3, abs=0.05)


def test_parameter_counts_match_the_nb301_sample():
    # NASLib's NAS-Bench-301 network: C=32, 8 cells, operations' batch norms without affine
    # parameters; this also checks the op ids of the compact encoding
    table = bench.load_nb301()
    for i in range(0, 500, 25):
        net = darts_network(table["genotype"][i], C=32, layers=8, affine=False)
        assert count_parameters(net) == round(table["params"][i] * 1e6), i
    assert count_parameters(darts_network(table["genotype"][0], C=32, layers=8)) > table["params"][0] * 1e6


def test_forward_backward_on_cpu(one_torch_thread):
    torch.manual_seed(0)
    net = darts_network(darts.random_genotype(3), C=8, layers=5)
    x, y = torch.randn(4, 3, 16, 16), torch.tensor([0, 1, 2, 3])
    loss = torch.nn.functional.cross_entropy(net(x), y)
    loss.backward()
    assert torch.isfinite(loss)
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in net.parameters())
    opt = torch.optim.SGD(net.parameters(), lr=0.05)
    for _ in range(3):
        opt.zero_grad()
        loss_now = torch.nn.functional.cross_entropy(net(x), y)
        loss_now.backward()
        opt.step()
    assert loss_now.item() < loss.item()


def test_bad_input():
    with pytest.raises(TypeError, match="darts.Genotype or NASLib's compact encoding"):
        darts_network(V2.normal)
    with pytest.raises(ValueError, match="op id 9"):
        darts_network("[[(0, 9), (1, 3)], [(0, 3), (1, 3)]]")
    with pytest.raises(ValueError, match="C must be a positive int"):
        darts_network(V2, C=0)
    with pytest.raises(ValueError, match="layers must be an int >= 3"):
        darts_network(V2, layers=2)
    with pytest.raises(TypeError, match="num_classes"):
        darts_network(V2, num_classes=2.0)
    with pytest.raises(TypeError, match="affine"):
        darts_network(V2, affine="no")
    with pytest.raises(ValueError, match="unknown operation 'conv_3x3'"):
        make_op("conv_3x3", 4)
    with pytest.raises(ValueError, match="stride must be 1 or 2"):
        make_op("sep_conv_3x3", 4, stride=3)
    with pytest.raises(ValueError, match="even number of output channels"):
        FactorizedReduce(4, 5)
    with pytest.raises(TypeError, match="darts.Cell"):
        DartsCell(V2, 8, 8, 8, False, False)
