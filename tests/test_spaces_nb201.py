"""Tests of the NAS-Bench-201 cell space against the benchmark's own tables."""

import collections
import itertools

import numpy as np
import pytest

from nascourse import benchmarks
from nascourse.spaces import nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"


@pytest.fixture(scope="module")
def table():
    return benchmarks.load_nb201("cifar10")


def test_string_round_trip_for_every_cell(table):
    cells = nb201.all_cells()
    assert [c.to_str() for c in cells] == list(table["arch_str"])


def test_index_matches_the_table_row_by_row(table):
    for i, arch in enumerate(table["arch_str"]):
        assert nb201.Cell.from_str(arch).index == i
    assert nb201.Cell.from_index(1234).to_str() == table["arch_str"].iloc[1234]


def test_all_cells_equals_the_enumerated_space():
    cells = nb201.all_cells()
    assert len(cells) == 15625 == nb201.NUM_CELLS
    assert set(cells) == set(nb201.enumerate_cells())


def test_tuple_order_matches_the_proxy_table():
    # Rows of NAS-Bench-Suite-Zero as published: 6-tuple and NB201 string of the same cell.
    pairs = {
        (4, 0, 3, 1, 4, 3): "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|nor_conv_1x1~2|",
        (2, 4, 0, 0, 3, 2): "|nor_conv_3x3~0|+|avg_pool_3x3~0|skip_connect~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
    }
    for tup, arch in pairs.items():
        assert nb201.Cell.from_tuple(tup).to_str() == arch
        assert nb201.Cell.from_str(arch).to_tuple() == tup


def test_tuple_round_trip_everywhere():
    for cell in nb201.all_cells()[::7]:
        assert nb201.Cell.from_tuple(cell.to_tuple()) == cell
    assert nb201.Cell.from_tuple(np.array([2, 4, 0, 0, 3, 2])).to_tuple() == (2, 4, 0, 0, 3, 2)


def test_best_cells_are_the_benchmark_optimum(table):
    # two cells share the CIFAR-10 optimum; the all-conv3x3 cell BEST is 0.01 behind
    best = table["test_acc"].nlargest(2)
    assert list(best.round(2)) == [94.37, 94.37]
    assert {nb201.Cell.from_index(i).to_str() for i in best.index} == {
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_1x1~1|nor_conv_3x3~2|",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
    }
    assert round(table.loc[nb201.Cell.from_str(BEST).index, "test_acc"], 2) == 94.36


def test_graph_has_the_cell_edges():
    cell = nb201.Cell.from_str(BEST)
    g = cell.to_graph()
    assert sorted(g.edges) == sorted(nb201.EDGES)
    assert g.edges[0, 3]["op"] == "skip_connect" and g.edges[2, 3]["op"] == "nor_conv_3x3"
    zero = nb201.Cell(("none",) * 6)
    assert zero.to_graph(drop_none=True).number_of_edges() == 0
    assert zero.to_graph().number_of_edges() == 6


def test_canonical_form_gives_the_benchmark_partition(table):
    cells = nb201.all_cells()
    strings = [c.canonical_str() for c in cells]
    forms = [c.canonical() for c in cells]
    assert len(set(strings)) == len(set(forms)) == 6466
    assert table["unique_str"].nunique() == 6466
    # same partition: the maps between the three labellings are bijections
    assert len(set(zip(forms, table["unique_str"]))) == len(set(zip(forms, strings))) == 6466


def test_canonical_form_is_invariant_to_summand_order():
    a = nb201.Cell.from_str("|nor_conv_3x3~0|+|nor_conv_1x1~0|none~1|+|skip_connect~0|none~1|none~2|")
    b = nb201.Cell.from_str("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|none~1|none~2|")
    assert a != b and a.canonical_str() == b.canonical_str() == "#+#+0"
    # the representative: the first cell of the class in op-id order (none before skip)
    only_skip = nb201.Cell(("none", "none", "none", "skip_connect", "none", "none"))
    assert a.canonical() == b.canonical() == only_skip == only_skip.canonical()
    c = nb201.Cell.from_str("|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|")
    d = nb201.Cell.from_str("|none~0|+|none~0|none~1|+|nor_conv_1x1~0|none~1|none~2|")
    assert c.canonical_str() != d.canonical_str() and c.canonical() != d.canonical()
    assert c.canonical() == c and d.canonical() == d


def test_unreachable_operations_leave_the_proxy_cells():
    kept = {c.index for c in nb201.all_cells() if not c.has_unreachable_ops()}
    assert len(kept) == 9445
    assert kept == set(benchmarks.load_zc_proxies("cifar10").index)


def test_unreachable_edges_on_hand_made_cells():
    # the conv 2->3 gets no input: both edges into node 2 are none
    cell = nb201.Cell.from_tuple((2, 1, 0, 1, 0, 2))
    assert cell.unreachable_edges() == [(2, 3, "nor_conv_3x3")]
    assert not nb201.Cell.from_str(BEST).has_unreachable_ops()
    # node 1 feeds nothing: edges 1->2 and 1->3 are none
    dead_end = nb201.Cell.from_str("|nor_conv_3x3~0|+|skip_connect~0|none~1|+|skip_connect~0|none~1|skip_connect~2|")
    assert dead_end.unreachable_edges() == [(0, 1, "nor_conv_3x3")]
    assert nb201.Cell(("none",) * 6).is_disconnected()
    assert not dead_end.is_disconnected()


def test_disconnected_cells_are_at_chance_level(table):
    disconnected = [c.index for c in nb201.all_cells() if c.is_disconnected()]
    # Count independently: a cell is disconnected when each of the paths 0-3, 0-1-3,
    # 0-2-3 and 0-1-2-3 has a `none` edge; each live edge has 4 choices of operation.
    expected = 0
    for live in itertools.product([True, False], repeat=6):
        e01, e02, e12, e03, e13, e23 = live
        if not (e03 or (e01 and e13) or (e02 and e23) or (e01 and e12 and e23)):
            expected += 4 ** sum(live)
    assert len(disconnected) == expected
    assert table.loc[disconnected, "test_acc"].max() < 11


def test_neighbours_and_mutation():
    cell = nb201.Cell.from_str(BEST)
    nbrs = cell.neighbours()
    assert len(nbrs) == 24 and len(set(nbrs)) == 24 and cell not in nbrs
    assert all(sum(a != b for a, b in zip(n.ops, cell.ops)) == 1 for n in nbrs)
    rng = np.random.default_rng(0)
    assert all(cell.mutate(rng) in nbrs for _ in range(50))
    same = [nb201.random_cell(np.random.default_rng(3)) for _ in range(2)]
    assert same[0] == same[1]
    draws = collections.Counter(nb201.random_cell(rng).ops[0] for _ in range(2000))
    assert set(draws) == set(nb201.OPS) and min(draws.values()) > 300


def test_num_ops():
    cell = nb201.Cell.from_str(BEST)
    assert cell.num_ops("nor_conv_3x3") == 5 and cell.num_ops("skip_connect") == 1
    with pytest.raises(ValueError, match="conv3x3"):
        cell.num_ops("conv3x3")


@pytest.mark.parametrize(
    "bad, message",
    [
        ("|nor_conv_3x3~0|+|none~0|skip_connect~1|", "3 nodes"),
        ("|conv3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|", "unknown operation 'conv3x3'"),
        ("|nor_conv_3x3~1|+|none~0|skip_connect~1|+|none~0|none~1|none~2|", "op~0"),
        ("|nor_conv_3x3~0|+|none~0|+|none~0|none~1|none~2|", "2 inputs"),
        ("nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|none~2|", "wrapped"),
        ("", "3 nodes"),
    ],
)
def test_bad_strings_name_the_problem(bad, message):
    with pytest.raises(ValueError, match=message) as info:
        nb201.Cell.from_str(bad)
    assert repr(bad) in str(info.value)


def test_unknown_operation_lists_the_valid_ones():
    with pytest.raises(ValueError) as info:
        nb201.Cell(("nor_conv_3x3", "sep_conv_3x3", "none", "none", "none", "none"))
    assert "sep_conv_3x3" in str(info.value) and "avg_pool_3x3" in str(info.value)


@pytest.mark.parametrize(
    "bad, error, message",
    [
        ((2, 4, 0, 0, 3), ValueError, "6 op ids"),
        ((2, 4, 0, 0, 3, 2, 1), ValueError, "6 op ids"),
        ((2, 4, 0, 0, 3, 5), ValueError, "op id 5"),
        ((2, 4, 0, 0, 3, -1), ValueError, "op id -1"),
        ((2, 4, 0, 0, 3, 2.0), TypeError, "op id must be an int, got float 2.0"),
        ("240032", TypeError, "sequence of 6 op ids"),
    ],
)
def test_bad_tuples(bad, error, message):
    with pytest.raises(error, match=message):
        nb201.Cell.from_tuple(bad)


def test_bad_cells_and_indices():
    with pytest.raises(ValueError, match="6 edges"):
        nb201.Cell(("none",) * 5)
    with pytest.raises(TypeError):
        nb201.Cell("none")
    with pytest.raises(TypeError):
        nb201.Cell.from_str(42)
    with pytest.raises(ValueError, match="15624"):
        nb201.Cell.from_index(15625)
    with pytest.raises(TypeError):
        nb201.Cell.from_index("3")
