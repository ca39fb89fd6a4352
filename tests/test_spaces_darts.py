"""Tests of the DARTS cell space: genotypes, sampling, graphs and the size of the space."""

import math

import networkx as nx
import numpy as np
import pytest

from nascourse.spaces import darts

V2 = darts.DARTS_V2


def test_operations():
    assert len(darts.OPS) == 7 and "none" not in darts.OPS
    assert darts.SUPERNET_OPS == ("none", *darts.OPS)


def test_darts_convention_gives_the_famous_1e18():
    per_cell = darts.space_size(reduction=False)
    # node i chooses 2 of its i + 2 possible inputs (1, 3, 6, 10 ways) and 7 ops for each
    assert per_cell == 1 * 3 * 6 * 10 * 7**8 == 1_037_664_180
    assert darts.space_size() == per_cell**2 == 1_076_746_950_455_072_400
    assert 1e18 < darts.space_size() < 1.1e18


@pytest.mark.parametrize(
    "kwargs, per_cell",
    [
        (dict(ordered=True), 2 * 6 * 12 * 20 * 7**8),
        (dict(distinct=False, ordered=True), (2 * 3 * 4 * 5) ** 2 * 7**8),
        (dict(distinct=False), 105 * 231 * 406 * 630),  # C(15,2) C(22,2) C(29,2) C(36,2)
        (dict(num_ops=8), 180 * 8**8),  # keeping 'none' as an eighth op
    ],
)
def test_other_conventions(kwargs, per_cell):
    assert darts.space_size(reduction=False, **kwargs) == per_cell
    assert darts.space_size(**kwargs) == per_cell**2


def test_node_choices_by_hand():
    assert darts.node_choices(0) == 49  # both cell inputs, 7 x 7 ops
    assert darts.node_choices(3) == 10 * 49
    assert darts.node_choices(0, ordered=True) == 2 * 49
    assert darts.node_choices(0, distinct=False) == math.comb(15, 2)
    assert darts.node_choices(0, inputs_per_node=3) == 0  # only two candidates


@pytest.mark.parametrize("ordered", [False, True])
@pytest.mark.parametrize("distinct", [False, True])
@pytest.mark.parametrize("num_nodes, k, ops, inputs", [(3, 2, 2, 2), (2, 2, 3, 2), (2, 3, 1, 3), (2, 1, 2, 1)])
def test_formula_matches_brute_force(ordered, distinct, num_nodes, k, ops, inputs):
    kw = dict(inputs_per_node=k, num_ops=ops, num_cell_inputs=inputs, ordered=ordered, distinct=distinct)
    listed = darts.count_by_enumeration(num_nodes, **kw)
    assert listed == darts.space_size(num_nodes, reduction=False, **kw)
    assert darts.space_size(num_nodes, reduction=True, **kw) == listed**2


def test_brute_force_by_hand():
    # 3 nodes, 2 distinct unordered inputs, 2 ops: (1*4) * (3*4) * (6*4)
    assert darts.count_by_enumeration(3, 2, 2) == 4 * 12 * 24 == 1152
    with pytest.raises(ValueError, match="too slow"):
        darts.count_by_enumeration(4)


def test_bad_counting_arguments():
    with pytest.raises(ValueError, match="num_nodes must be a positive int, got 0"):
        darts.space_size(num_nodes=0)
    with pytest.raises(TypeError, match="num_ops"):
        darts.space_size(num_ops=2.5)
    with pytest.raises(TypeError, match="ordered"):
        darts.space_size(ordered="yes")
    with pytest.raises(TypeError, match="num_nodes"):
        darts.space_size(num_nodes=True)
    with pytest.raises(ValueError, match="node"):
        darts.node_choices(-1)


def test_cell_rules():
    with pytest.raises(ValueError, match="'none' exists only in the supernet"):
        darts.Cell((("none", 0), ("skip_connect", 1)))
    with pytest.raises(ValueError, match=r"unknown operation 'conv_3x3'.*sep_conv_3x3"):
        darts.Cell((("conv_3x3", 0), ("skip_connect", 1)))
    with pytest.raises(ValueError, match=r"node 1 cannot take input 3; valid inputs are \[0, 1, 2\]"):
        darts.Cell((("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 3), ("skip_connect", 0)))
    with pytest.raises(ValueError, match="takes input 1 twice"):
        darts.Cell((("skip_connect", 1), ("sep_conv_3x3", 1)))
    with pytest.raises(ValueError, match="2 edges per intermediate node, got 3"):
        darts.Cell((("skip_connect", 0), ("skip_connect", 1), ("skip_connect", 0)))
    with pytest.raises(TypeError):
        darts.Cell((("skip_connect", 0, 1), ("skip_connect", 1)))
    with pytest.raises(TypeError):
        darts.Cell((("skip_connect", True), ("skip_connect", 1)))
    with pytest.raises(TypeError):
        darts.Cell("skip_connect")
    with pytest.raises(TypeError):
        darts.Genotype(V2.normal, "reduce")


def test_darts_v2_and_list_round_trip():
    assert V2.normal.num_nodes == V2.reduce.num_nodes == 4
    lists = V2.to_lists()
    assert lists["normal_concat"] == lists["reduce_concat"] == [2, 3, 4, 5]
    assert darts.Genotype.from_lists(lists["normal"], lists["reduce"]) == V2
    assert V2.normal.inputs(3) == (("skip_connect", 0), ("dil_conv_3x3", 2))
    assert "dil_conv_3x3(0)" in str(V2.normal)
    with pytest.raises(ValueError, match="valid nodes are 0..3"):
        V2.normal.inputs(4)


def test_canonical_ignores_the_order_of_a_nodes_inputs():
    swapped = darts.Cell((("sep_conv_3x3", 1), ("skip_connect", 0)))
    plain = darts.Cell((("skip_connect", 0), ("sep_conv_3x3", 1)))
    assert swapped != plain and swapped.canonical() == plain.canonical() == plain


def test_random_genotypes_are_seeded_and_cover_the_space():
    assert darts.random_genotype(4) == darts.random_genotype(np.random.default_rng(4))
    rng = np.random.default_rng(0)
    genotypes = [darts.random_genotype(rng) for _ in range(300)]
    ops = {op for g in genotypes for op, _ in g.normal.edges + g.reduce.edges}
    assert ops == set(darts.OPS)
    last_inputs = {src for g in genotypes for _, src in g.normal.inputs(3)}
    assert last_inputs == {0, 1, 2, 3, 4}
    assert len(set(genotypes)) == 300
    assert darts.random_cell(0, num_nodes=2).num_nodes == 2
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        darts.random_genotype("x")


def test_graph_of_a_cell():
    g = darts.to_graph(V2.normal)
    assert isinstance(g, nx.DiGraph) and nx.is_directed_acyclic_graph(g)
    assert g.number_of_nodes() == 7
    op_edges = [(u, v) for u, v, d in g.edges(data=True) if d["op"] != "concat"]
    assert len(op_edges) == 8 and g.in_degree(darts.CELL_OUTPUT) == 4
    assert all(g.in_degree(str(i)) == 2 for i in range(4))
    assert g.edges["0", "3"]["op"] == "dil_conv_3x3"
    assert g.nodes["c_{k-1}"]["kind"] == "input"
    assert V2.reduce.to_graph().edges["c_{k-2}", "0"]["op"] == "max_pool_3x3"
    with pytest.raises(TypeError, match="genotype.normal"):
        darts.to_graph(V2)


def test_mutate_changes_exactly_one_edge():
    rng = np.random.default_rng(2)
    for _ in range(50):
        g = darts.random_genotype(rng)
        child = g.mutate(rng)
        diffs = [
            (a, b) for cell, new in ((g.normal, child.normal), (g.reduce, child.reduce))
            for a, b in zip(cell.edges, new.edges) if a != b
        ]
        assert len(diffs) == 1
    assert V2.mutate(3) == V2.mutate(3)


def test_compact_encoding_follows_naslib():
    # NASLib's convert_genotype_to_compact: (input, op id) pairs, ids in DARTS's op order
    compact = V2.to_compact()
    assert compact[0][:2] == ((0, 3), (1, 3))  # sep_conv_3x3 is id 3
    assert compact[1][0] == (0, 0)  # max_pool_3x3 is id 0
    assert compact[0][-1] == (2, 5)  # dil_conv_3x3 on intermediate node 0
    assert darts.from_compact(compact) == V2
    as_naslib_key = str([list(cell) for cell in compact])
    assert as_naslib_key.startswith("[[(0, 3), (1, 3), (0, 3), (1, 3), (1, 3), (0, 2)")
    assert darts.from_compact(as_naslib_key) == V2
    g = darts.from_compact([[(0, 4), (1, 6), (2, 1), (0, 2), (3, 0), (1, 5), (4, 2), (2, 3)]] * 2)
    assert g.normal.inputs(0) == (("sep_conv_5x5", 0), ("dil_conv_5x5", 1))
    assert g.normal.inputs(3) == (("skip_connect", 4), ("sep_conv_3x3", 2))
    rng = np.random.default_rng(5)
    for _ in range(20):
        r = darts.random_genotype(rng)
        assert darts.from_compact(r.to_compact()) == r


def test_bad_compact_encodings():
    good = [list(cell) for cell in V2.to_compact()]
    with pytest.raises(ValueError, match=r"op id 7 in the reduce cell is not one of 0..6"):
        darts.from_compact([good[0], [(0, 7)] + good[1][1:]])
    with pytest.raises(ValueError, match="takes input 1 twice"):
        darts.from_compact([[(1, 3), (1, 3)] + good[0][2:], good[1]])
    with pytest.raises(ValueError, match="cannot read a compact genotype"):
        darts.from_compact("[[(0, 3), (1, 3)")
    with pytest.raises(TypeError, match=r"pair \[normal, reduce\]"):
        darts.from_compact([good[0]])
    with pytest.raises(TypeError, match="op id must be an int"):
        darts.from_compact([[(0, "3")] + good[0][1:], good[1]])
    with pytest.raises(TypeError, match="each edge of the normal cell"):
        darts.from_compact([[(0, 3, 1)] + good[0][1:], good[1]])
