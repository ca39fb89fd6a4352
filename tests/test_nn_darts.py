"""Tests of the DARTS network: shapes, the published parameter counts (DARTS paper,
NAS-Bench-301 sample), training on the CPU, bad input; and its computational graphs
(gennape.graphs.trace, and the fast path trace_darts that must give the same graphs)."""

import networkx as nx
import numpy as np
import pytest
import torch
from scipy import stats

from nascourse import benchmarks
from nascourse.gennape.graphs import count_ops, graph_flops, node_features, node_label, trace, trace_darts
from nascourse.nn.darts import (OPERATIONS, DartsCell, FactorizedReduce, darts_network, make_op,
                                reduction_layers)
from nascourse.nn.ops import count_parameters
from nascourse.spaces import darts

V2 = darts.DARTS_V2


def test_forward_shapes(one_torch_thread):
    net = darts_network(V2, C=8, layers=5)
    assert net(torch.randn(2, 3, 32, 32)).shape == (2, 10)
    other = darts_network(darts.random_genotype(0), C=8, layers=6, num_classes=7)
    assert other(torch.randn(1, 3, 16, 16)).shape == (1, 7)
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
    table = benchmarks.load_nb301()
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
    with pytest.raises(ValueError, match="unknown DARTS operation 'conv_3x3'"):
        make_op("conv_3x3", 4)
    with pytest.raises(ValueError, match="stride must be an int from 1 to 2"):
        make_op("sep_conv_3x3", 4, stride=3)
    with pytest.raises(ValueError, match="even number of output channels"):
        FactorizedReduce(4, 5)
    with pytest.raises(TypeError, match="darts.Cell"):
        DartsCell(V2, 8, 8, 8, False, False)


# ----------------------------------------------------------------- computational graphs

# every operation once: node 0 = sep_conv_3x3(c_{k-2}) + dil_conv_5x5(c_{k-1}), node 1 =
# max_pool(c_{k-2}) + skip(node 0), node 2 = avg_pool(c_{k-1}) + sep_conv_5x5(node 1),
# node 3 = dil_conv_3x3(node 2) + skip(c_{k-2})
ALL_OPS = darts.Cell((("sep_conv_3x3", 0), ("dil_conv_5x5", 1), ("max_pool_3x3", 0), ("skip_connect", 2),
                      ("avg_pool_3x3", 1), ("sep_conv_5x5", 3), ("dil_conv_3x3", 4), ("skip_connect", 0)))


class OneInputCell(torch.nn.Module):
    """A cell fed the same tensor as both inputs, so that it traces from one input."""

    def __init__(self, reduction: bool):
        super().__init__()
        self.cell = DartsCell(ALL_OPS, 8, 8, 8, reduction=reduction, reduction_prev=False)

    def forward(self, x):
        return self.cell(x, x)


def counts(g):
    return {op: count_ops(g, op) for op in ("conv", "bn", "relu", "maxpool", "avgpool", "add", "concat", "slice")}


def test_traced_cell_has_the_hand_counted_operations(one_torch_thread):
    g = trace(OneInputCell(reduction=False), input_shape=(1, 8, 8, 8))
    # preprocessing 2 x (relu, conv1x1, bn); sep_conv 2 x (relu, dw, pw, bn) each; dil_conv
    # (relu, dw, pw, bn) each; skips contracted; four sums and one concatenation
    assert counts(g) == {"conv": 2 + 4 + 2 + 4 + 2, "bn": 2 + 2 + 1 + 2 + 1, "relu": 2 + 2 + 1 + 2 + 1,
                         "maxpool": 1, "avgpool": 1, "add": 4, "concat": 1, "slice": 0}
    convs = [d for _, d in g.nodes(data=True) if d["op"] == "conv"]
    assert sorted((d["kernel"], d["dilation"]) for d in convs if "dilation" in d) == [(3, 2), (5, 2)]
    assert sum(d["groups"] == 8 for d in convs) == 6                       # the depthwise ones
    assert sorted(node_label(d) for d in convs if d["groups"] > 1) == [
        "dil3x3", "dil5x5", "dw3x3", "dw3x3", "dw5x5", "dw5x5"]
    out = next(d for _, d in g.nodes(data=True) if d["op"] == "concat")
    assert (out["c_out"], out["hw"]) == (32, 8)
    # as a reduction cell: stride 2 on the cell inputs, and skip(c_{k-2}) becomes a factorized
    # reduction (relu, two 1x1 stride-2 convs, the second on a shifted slice, concat, bn)
    r = trace(OneInputCell(reduction=True), input_shape=(1, 8, 8, 8))
    assert counts(r) == {"conv": 14 + 2, "bn": 8 + 1, "relu": 8 + 1, "maxpool": 1, "avgpool": 1, "add": 4,
                         "concat": 2, "slice": 1}
    strided = [d for _, d in r.nodes(data=True) if d.get("stride", 1) == 2]
    assert sorted(node_label(d) for d in strided) == ["avg3/2", "conv1x1/2", "conv1x1/2", "dil5x5/2", "dw3x3/2",
                                                      "max3/2"]
    assert next(d for _, d in r.nodes(data=True) if d["op"] == "output")["hw"] == 4


def test_traced_network_runs_every_convolution(one_torch_thread):
    net = darts_network(V2, C=8, layers=5)
    g = trace(net)
    assert nx.is_directed_acyclic_graph(g) and sorted(g) == list(range(g.number_of_nodes()))
    assert count_ops(g, "conv") == sum(isinstance(m, torch.nn.Conv2d) for m in net.modules())
    assert count_ops(g, "maxpool") == 5 * 2                  # the two reduction cells of DARTS-V2
    assert count_ops(g, "concat") == 5 + 2                   # one per cell, one per factorized reduction
    x = node_features(g)
    kernel = x[:, -len(("kernel", "strided", "grouped", "log_c_in", "log_c_out", "log_hw"))]
    dilated = [v for v, d in g.nodes(data=True) if "dilation" in d]
    assert len(dilated) == 3 and np.allclose(kernel[dilated], 5 / 7)   # a 3x3 kernel spread over 5 pixels


@pytest.mark.parametrize("C, layers", [(8, 3), (8, 5), (16, 8)])
def test_fast_path_gives_the_traced_graph(C, layers, one_torch_thread):
    table = benchmarks.load_nb301()
    for genotype in (V2, darts.random_genotype(C + layers), table["genotype"][layers]):
        traced = trace(darts_network(genotype, C=C, layers=layers))
        assert nx.utils.graphs_equal(trace_darts(genotype, C=C, layers=layers), traced)
    other = trace_darts(V2, C=C, layers=layers, num_classes=100, input_shape=(2, 3, 16, 16))
    assert nx.utils.graphs_equal(other, trace(darts_network(V2, C=C, layers=layers, num_classes=100),
                                              input_shape=(2, 3, 16, 16)))


def test_fast_path_returns_copies_and_checks_input():
    g = trace_darts(V2, C=8, layers=5)
    g.nodes[1]["op"] = "changed"
    g.remove_node(0)
    assert trace_darts(V2, C=8, layers=5).nodes[1]["op"] == "conv"
    with pytest.raises(TypeError, match="Genotype"):
        trace_darts(V2.normal)
    with pytest.raises(ValueError, match="layers must be an int >= 3"):
        trace_darts(V2, layers=2)
    with pytest.raises(ValueError, match=r"\(batch, 3, height, width\)"):
        trace_darts(V2, input_shape=(1, 3, 32))
    with pytest.raises(TypeError, match="input_shape"):
        trace_darts(V2, input_shape="1x3x32x32")


def test_graph_flops_rank_like_the_nb301_flops():
    # NAS-Bench-Suite-Zero's flops count more than the multiply-accumulates of convolutions
    # and the classifier, but on the same network they must rank the 500 the same way
    table = benchmarks.load_nb301().iloc[::10]
    ours = np.array([graph_flops(trace_darts(g, C=32, layers=8)) for g in table["genotype"]])
    assert stats.spearmanr(ours, table["flops"])[0] > 0.99
    assert (table["flops"].to_numpy() >= ours).all()
