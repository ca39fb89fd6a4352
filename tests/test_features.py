"""Tests of the encodings of nascourse.features on hand-drawn cells, against independent
networkx computations on many cells, and on bad input."""

import time

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from nascourse import benchmarks, features
from nascourse.spaces import nb201

ALL_CONV3 = nb201.Cell(("nor_conv_3x3",) * 6)
ALL_NONE = nb201.Cell(("none",) * 6)
# 0->1 skip, 1->2 conv1x1, 2->3 conv3x3, every other edge none: a chain of three.
CHAIN = nb201.Cell(("skip_connect", "none", "nor_conv_1x1", "none", "none", "nor_conv_3x3"))
BEST = nb201.Cell.from_index(6111)    # skip on 0->3, 1x1 on 2->3, 3x3 elsewhere


def one_cell_graf(cell, groups=features.GRAF_NB201):
    return features.graf([cell], groups).iloc[0]


# ----- one-hot and the op-on-node graph -------------------------------------------------------

def test_onehot_marks_one_operation_per_edge():
    x = features.onehot([ALL_CONV3, CHAIN])
    assert x.shape == (2, 30) and (x.reshape(2, 6, 5).sum(axis=2) == 1).all()
    assert x[0].reshape(6, 5)[:, nb201.OPS.index("nor_conv_3x3")].tolist() == [1] * 6
    decoded = [tuple(nb201.OPS[j] for j in row.reshape(6, 5).argmax(axis=1)) for row in x]
    assert decoded == [ALL_CONV3.ops, CHAIN.ops]
    assert features.onehot_names()[:2] == ["0->1:none", "0->1:skip_connect"]


def test_onehot_matches_chapter_02_per_edge_matrix_for_every_cell():
    cells = nb201.all_cells()
    x = features.onehot(cells)
    expected = np.eye(5, dtype=int)[np.array([c.op_ids() for c in cells])].reshape(len(cells), -1)
    assert (x == expected).all()


def test_adjacency_of_a_cell_without_none_is_the_line_graph():
    adj, nodes = features.adjacency([ALL_CONV3])
    # nodes: 0 input, 1..6 the edges 01, 02, 12, 03, 13, 23, 7 output
    links = {(u, v) for u, v in zip(*np.nonzero(adj[0]))}
    assert links == {(0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7)}
    assert nodes.shape == (1, 8, 7) and (nodes[0].sum(axis=1) == 1).all()
    assert [features.NODE_LABELS[j] for j in nodes[0].argmax(axis=1)] == ["input"] + ["nor_conv_3x3"] * 6 + ["output"]


def test_adjacency_cuts_none_nodes_and_keeps_the_data_path():
    adj, _ = features.adjacency([CHAIN])
    links = {(u, v) for u, v in zip(*np.nonzero(adj[0]))}
    assert links == {(0, 1), (1, 3), (3, 6), (6, 7)}           # input -> skip -> 1x1 -> 3x3 -> output
    kept, _ = features.adjacency([CHAIN], drop_none=False)
    assert kept[0].sum() == 10
    assert features.adjacency([ALL_NONE])[0].sum() == 0


def test_graph_rows_flatten_adjacency_then_nodes():
    rows = features.graph_rows([BEST, CHAIN])
    adj, nodes = features.adjacency([BEST, CHAIN])
    assert rows.shape == (2, 8 * 8 + 8 * 7)
    assert (rows[:, :64].reshape(2, 8, 8) == adj).all() and (rows[:, 64:].reshape(2, 8, 7) == nodes).all()


# ----- the path encoding ----------------------------------------------------------------------

def test_input_output_paths_of_the_nb201_cell():
    assert features.input_output_paths() == ((3,), (0, 4), (1, 5), (0, 2, 5))


def test_path_encoding_of_hand_drawn_cells():
    names = features.path_names()
    assert len(names) == 84 == features.path([ALL_CONV3]).shape[1]
    on = lambda cell: {names[j] for j in np.flatnonzero(features.path([cell])[0])}
    c3 = "nor_conv_3x3"
    assert on(ALL_CONV3) == {c3, f"{c3}>{c3}", f"{c3}>{c3}>{c3}"}
    assert on(CHAIN) == {"skip_connect>nor_conv_1x1>nor_conv_3x3"}
    assert on(ALL_NONE) == set()
    assert on(BEST) == {"skip_connect", f"{c3}>{c3}", f"{c3}>nor_conv_1x1", f"{c3}>{c3}>nor_conv_1x1"}


def test_path_encoding_agrees_with_networkx_paths_on_every_cell():
    cells = nb201.all_cells()[::7]
    x = features.path(cells)
    names = features.path_names()
    for cell, row in zip(cells, x):
        g = cell.to_graph(drop_none=True)
        found = {">".join(g.edges[u, v]["op"] for u, v in zip(p, p[1:]))
                 for p in nx.all_simple_paths(g, 0, 3)}
        assert {names[j] for j in np.flatnonzero(row)} == found


# ----- GRAF -----------------------------------------------------------------------------------

FULL = tuple(nb201.OPS)                 # the subset of all five operations
FULL_NAME = "none,skip,conv1x1,conv3x3,avgpool"


def test_graf_feature_set_is_the_authors_191():
    groups = features.GRAF_NB201
    assert [g.kind for g in groups] == ["op_count", "min_path", "max_path", "input_out_degree",
                                        "output_in_degree", "mean_in_degree", "mean_out_degree"]
    assert len(groups[0].subsets) == 5 and all(len(g.subsets) == 2 ** 5 - 1 == 31 for g in groups[1:])
    assert len(features.feature_names()) == 5 + 31 + 31 + 4 * 31 == 191
    assert all(FULL in g.subsets for g in groups[1:])                       # the full set is in
    assert ("nor_conv_3x3", "skip_connect") not in groups[1].subsets        # OPS order within a subset
    assert ("skip_connect", "nor_conv_3x3") in groups[1].subsets
    assert len(features.feature_names(features.GRAF_TNB101_MICRO)) == 4 + 6 * 15 == 94


def test_the_smaller_set_is_the_courses_earlier_185():
    small = features.GRAF_NB201_SMALL
    assert [g.kind for g in small][-2:] == ["mid_in_degree", "mid_out_degree"]
    assert all(len(g.subsets) == 30 and FULL not in g.subsets for g in small[1:])
    assert len(features.feature_names(small)) == 5 + 6 * 30 == 185
    assert len(features.feature_names(features.GRAF_TNB101_MICRO_SMALL)) == 4 + 6 * 14
    assert features.GROUP_SETS["nb201_small"] is small and features.GROUP_SETS["nb201"] is features.GRAF_NB201
    # the shared families agree column by column; the six added columns are constant
    cells = nb201.all_cells()[::7]
    full, part = features.graf(cells), features.graf(cells, small)
    shared = [c for c in part if c in full]
    assert len(shared) == 5 + 4 * 30
    pd.testing.assert_frame_equal(full[shared], part[shared])
    added = [c for c in full if c.endswith(f"({FULL_NAME})")]
    assert len(added) == 6 and (full[added].nunique() == 1).all()


def test_graf_of_the_all_conv3x3_cell():
    f = one_cell_graf(ALL_CONV3)
    assert f["op_count(conv3x3)"] == 6 and f["op_count(none)"] == 0
    assert f["min_path(conv3x3)"] == 1 and f["max_path(conv3x3)"] == 3
    assert f["min_path(skip)"] == features.NO_PATH == 6                 # the authors' len(edges)
    assert f["max_path(skip)"] == features.NO_LONGEST_PATH == -1        # the authors' score
    assert f["input_out_degree(conv3x3)"] == 3 and f["output_in_degree(conv3x3)"] == 3
    # in-degrees 0, 1, 2, 3 and out-degrees 3, 2, 1, 0 over the four nodes
    assert f["mean_in_degree(conv3x3)"] == 1.5 and f["mean_out_degree(conv3x3)"] == 1.5
    assert f["mean_in_degree(skip)"] == 0 and f["input_out_degree(skip,avgpool)"] == 0
    m = one_cell_graf(ALL_CONV3, features.GRAF_NB201_SMALL)
    assert m["mid_in_degree(conv3x3)"] == 1.5 and m["mid_out_degree(conv3x3)"] == 1.5


def test_graf_of_a_chain_and_of_the_best_cell():
    f = one_cell_graf(CHAIN)
    assert f["min_path(skip,conv1x1,conv3x3)"] == 3 == f["max_path(skip,conv1x1,conv3x3)"]
    assert f["min_path(skip,conv3x3)"] == 6 and f["max_path(skip,conv3x3)"] == -1
    assert f["min_path(none)"] == 1 and f["max_path(none)"] == 1      # none counts as drawn: edge 0->3
    assert f["max_path(none,skip)"] == 2                              # 0->1 skip, 1->3 none
    # 0->1 skip and 1->2 conv1x1 are kept: two edges over four nodes, both ways
    assert f["mean_in_degree(skip,conv1x1)"] == 0.5 == f["mean_out_degree(skip,conv1x1)"]
    assert f["input_out_degree(none,skip)"] == 3 and f["output_in_degree(none,skip)"] == 2
    # through every operation the complete graph is back: the same numbers for every cell
    assert (f[f"min_path({FULL_NAME})"], f[f"max_path({FULL_NAME})"]) == (1, 3)
    assert f[f"input_out_degree({FULL_NAME})"] == 3 == f[f"output_in_degree({FULL_NAME})"]
    assert f[f"mean_in_degree({FULL_NAME})"] == 1.5 == f[f"mean_out_degree({FULL_NAME})"]
    m = one_cell_graf(CHAIN, features.GRAF_NB201_SMALL)
    assert m["mid_in_degree(skip,conv1x1)"] == 1.0                    # node 1: skip, node 2: 1x1
    assert m["mid_out_degree(skip,conv1x1)"] == 0.5                   # node 1: 1x1, node 2: conv3x3
    b = one_cell_graf(BEST)
    assert b["min_path(skip)"] == 1 and b["min_path(conv3x3)"] == 2 and b["max_path(conv1x1,conv3x3)"] == 3
    assert b["output_in_degree(conv3x3)"] == 1 and b["input_out_degree(conv3x3)"] == 2
    assert b["mean_in_degree(conv1x1,conv3x3)"] == 5 / 4


def test_graf_agrees_with_networkx_on_many_cells():
    cells = nb201.all_cells()[::13]
    table = features.graf(cells)
    small = features.graf(cells, features.GRAF_NB201_SMALL)
    for subset in [("skip_connect",), ("nor_conv_3x3",), ("skip_connect", "nor_conv_3x3"),
                   ("none", "avg_pool_3x3"), ("skip_connect", "nor_conv_1x1", "nor_conv_3x3"), FULL]:
        name = ",".join(features.SHORT_NAMES[op] for op in subset)
        for cell, (i, row) in zip(cells, table.iterrows()):
            g = nx.DiGraph([(s, t) for s, t, op in cell.edges() if op in subset])
            g.add_nodes_from(range(4))
            lengths = [len(p) - 1 for p in nx.all_simple_paths(g, 0, 3)]
            assert row[f"min_path({name})"] == (min(lengths) if lengths else 6)
            assert row[f"max_path({name})"] == (max(lengths) if lengths else -1)
            assert row[f"input_out_degree({name})"] == g.out_degree(0)
            assert row[f"output_in_degree({name})"] == g.in_degree(3)
            assert row[f"mean_in_degree({name})"] == np.mean([g.in_degree(v) for v in range(4)])
            assert row[f"mean_out_degree({name})"] == np.mean([g.out_degree(v) for v in range(4)])
            if len(subset) == 1:
                assert row[f"op_count({name})"] == g.number_of_edges()
            if subset != FULL:
                assert small.loc[i, f"mid_in_degree({name})"] == (g.in_degree(1) + g.in_degree(2)) / 2
                assert small.loc[i, f"mid_out_degree({name})"] == (g.out_degree(1) + g.out_degree(2)) / 2


def test_authors_mean_degrees_are_a_quarter_of_the_subset_count():
    table = features.graf(nb201.all_cells())
    for subset in features.GRAF_NB201[1].subsets:
        name = ",".join(features.SHORT_NAMES[op] for op in subset)
        count = sum(table[f"op_count({features.SHORT_NAMES[op]})"] for op in subset)
        assert (table[f"mean_in_degree({name})"] == count / 4).all()
        assert (table[f"mean_out_degree({name})"] == count / 4).all()


def test_graf_rows_are_indexed_by_benchmark_index():
    cells = [nb201.Cell.from_index(i) for i in (5, 6111, 17)]
    table = features.graf(cells)
    assert list(table.index) == [5, 6111, 17] and table.index.name == "index"
    assert list(features.graf(cells, index=["a", "b", "c"]).index) == ["a", "b", "c"]
    assert features.graf([]).shape == (0, 191)


def test_graf_of_the_whole_space_takes_under_two_seconds():
    cells = nb201.all_cells()
    features.graf(cells[:10])                          # warm the index cache
    wall, cpu = time.perf_counter(), time.process_time()
    table = features.graf(cells)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    assert table.shape == (15625, 191) and not table.isna().any().any()
    assert cpu < 2.0, f"{cpu:.2f} s of CPU time (wall {wall:.2f} s)"
    cpu = time.process_time()
    assert features.graf(cells, features.GRAF_NB201_SMALL).shape == (15625, 185)
    assert time.process_time() - cpu < 2.0


def test_custom_feature_groups_are_data():
    groups = (features.FeatureGroup("max_path", (("nor_conv_3x3", "skip_connect"),)),)
    table = features.graf([ALL_CONV3, CHAIN], groups)
    assert list(table.columns) == ["max_path(conv3x3,skip)"] and table.iloc[:, 0].tolist() == [3, -1]
    assert features.op_subsets(("a", "b", "c")) == (("a",), ("b",), ("c",), ("a", "b"), ("a", "c"), ("b", "c"))
    assert len(features.op_subsets(("a", "b", "c"), proper=False)) == 7


# ----- TransNAS-Bench-101 micro ---------------------------------------------------------------

def test_tnb101_micro_codes_decode_to_cells():
    (cell,) = features.tnb101_micro_cells(["000300"])
    assert dict(zip(nb201.EDGES, cell.ops))[(0, 3)] == "nor_conv_3x3"
    assert features.tnb101_micro_cells(["123000"])[0].ops[:3] == ("skip_connect", "nor_conv_1x1", "nor_conv_3x3")


def test_tnb101_micro_table_is_exactly_the_cells_without_unreachable_ops():
    table = benchmarks.load_tnb101_micro()
    cells = features.tnb101_micro_cells(list(table["net"]))
    assert not any(c.has_unreachable_ops() for c in cells)
    assert len(set(cells)) == len(cells) == 2128
    # 3x3 convolutions carry nine times the weights of 1x1 ones: the digit order is right.
    p = table.set_index("net")["params"]
    assert 8 < (p["000300"] - p["000000"]) / (p["000200"] - p["000000"]) < 10
    f = features.graf(cells, features.GRAF_TNB101_MICRO, index=table.index)
    assert f.shape == (2128, 94) and "op_count(avgpool)" not in f


# ----- zero-cost proxies ----------------------------------------------------------------------

def test_zcp_looks_up_the_shipped_values():
    table = benchmarks.load_zc_proxies("cifar10")
    cells = [nb201.Cell.from_index(i) for i in table.index[:3]]
    got = features.zcp(cells)
    assert list(got.columns) == list(benchmarks.ZC_PROXIES)
    pd.testing.assert_frame_equal(got, table.loc[table.index[:3], list(benchmarks.ZC_PROXIES)])
    assert list(features.zcp(cells, "ImageNet16-120", proxies=["nwot"]).columns) == ["nwot"]


# ----- bad input ------------------------------------------------------------------------------

@pytest.mark.parametrize("fn", [features.onehot, features.path, features.graf, features.graph_rows,
                                features.adjacency, features.zcp])
def test_encodings_reject_what_is_not_a_list_of_cells(fn):
    with pytest.raises(TypeError, match="sequence of nb201.Cell"):
        fn(ALL_CONV3)
    with pytest.raises(TypeError, match=r"cells\[1\] must be a nb201.Cell"):
        fn([ALL_CONV3, ALL_CONV3.to_str()])


def test_bad_feature_definitions_and_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown feature kind"):
        features.FeatureGroup("longest_cycle", (("skip_connect",),))
    with pytest.raises(ValueError, match="unknown operation"):
        features.FeatureGroup("min_path", (("conv3x3",),))
    with pytest.raises(ValueError, match="non-empty"):
        features.FeatureGroup("min_path", ((),))
    with pytest.raises(TypeError, match="FeatureGroup"):
        features.graf([ALL_CONV3], features.GRAF_NB201[0])
    with pytest.raises(TypeError, match="ops must be a sequence"):
        features.graf_groups("skip_connect")
    with pytest.raises(TypeError, match="small must be True or False"):
        features.graf_groups(nb201.OPS, small=1)
    with pytest.raises(ValueError, match="unknown operation"):
        features.graf_groups(("skip_connect", "conv3x3"))
    with pytest.raises(ValueError, match="index has 1 labels for 2 cells"):
        features.graf([ALL_CONV3, CHAIN], index=[0])
    with pytest.raises(ValueError, match="six digits"):
        features.tnb101_micro_cells(["00040"])
    with pytest.raises(ValueError, match="six digits"):
        features.tnb101_micro_cells(["000400"])


def test_zcp_refuses_cells_without_proxies_and_unknown_proxies():
    dead_end = nb201.Cell(("nor_conv_3x3",) + ("none",) * 5)      # 0->1 leads nowhere
    assert dead_end.has_unreachable_ops()
    with pytest.raises(KeyError, match="unreachable"):
        features.zcp([ALL_CONV3, dead_end])
    with pytest.raises(ValueError, match="unknown proxies"):
        features.zcp([ALL_CONV3], proxies=["naswot"])
    with pytest.raises(TypeError, match="proxies must be a sequence of proxy name"):
        features.zcp([ALL_CONV3], proxies="nwot")
    with pytest.raises(ValueError, match="unknown dataset"):
        features.zcp([ALL_CONV3], dataset="cifar100")
