"""Tests of the NAS-Bench-101 cell space: the rules, pruning, the isomorphism hash and the
500 shipped benchmark cells."""

import collections
import itertools

import networkx as nx
import numpy as np
import pytest

from nascourse import benchmarks
from nascourse.spaces import nb101

C3, C1, MP = nb101.OPS


@pytest.fixture(scope="module")
def table():
    return benchmarks.load_nb101_sample()


@pytest.fixture(scope="module")
def cells(table):
    return [nb101.Cell.from_matrix(m, o) for m, o in zip(table["matrix"], table["ops"])]


def chain(n, extra=()):
    """An n-node chain input -> ... -> output plus ``extra`` edges."""
    m = np.zeros((n, n), dtype=int)
    for i in range(n - 1):
        m[i, i + 1] = 1
    for i, j in extra:
        m[i, j] = 1
    return m


def ops_for(n):
    return ["input"] + [nb101.OPS[i % 3] for i in range(n - 2)] + ["output"]


def test_constants():
    assert nb101.OPS == ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
    assert (nb101.INPUT, nb101.OUTPUT, nb101.MAX_NODES, nb101.MAX_EDGES) == ("input", "output", 7, 9)
    assert nb101.NUM_UNIQUE_CELLS == 423_624


def test_every_shipped_cell_is_valid(cells):
    assert len(cells) == 500
    assert all(c.is_valid() for c in cells)


def test_shipped_rows_are_292_distinct_benchmark_cells(table, cells):
    # NASLib stored the *unpruned* sampled specifications, so several rows are one
    # benchmark cell. The hash groups them; an exact isomorphism test confirms each group,
    # and each group's accuracies take at most the three values of NB101's three repeats.
    hashes = [c.hash() for c in cells]
    groups = collections.defaultdict(list)
    for i, h in enumerate(hashes):
        groups[h].append(i)
    assert len(groups) == 292
    for members in groups.values():
        first = cells[members[0]]
        assert all(first.is_isomorphic(cells[i]) for i in members[1:])
        assert table["val_acc"].iloc[members].round(6).nunique() <= 3
    reps = [cells[m[0]].pruned() for m in groups.values()]
    by_shape = collections.defaultdict(list)
    for r in reps:
        by_shape[(tuple(sorted(r.ops)), r.num_edges)].append(r)
    for same in by_shape.values():
        for a, b in itertools.combinations(same, 2):
            assert not a.is_isomorphic(b)
    sizes = collections.Counter(len(m) for m in groups.values())
    assert sizes[1] == 244 and max(len(m) for m in groups.values()) == 55


def test_pruning_removes_dead_ends_and_unreachable_nodes():
    # 0 -> 1 -> 4 is the only path; node 2 is a dead end, node 3 is never fed
    m = np.zeros((5, 5), dtype=int)
    m[0, 1] = m[1, 4] = m[0, 2] = m[3, 4] = 1
    cell = nb101.Cell.from_matrix(m, ["input", C3, C1, MP, "output"])
    pruned = cell.pruned()
    assert pruned.ops == ("input", C3, "output")
    assert pruned.matrix.tolist() == [[0, 1, 0], [0, 0, 1], [0, 0, 0]]
    assert (cell.num_nodes, cell.num_edges, pruned.num_nodes, pruned.num_edges) == (5, 4, 3, 2)
    assert cell.is_valid()
    assert cell.hash() == pruned.hash()


def test_no_path_from_input_to_output_is_invalid():
    m = np.zeros((4, 4), dtype=int)
    m[0, 1] = m[2, 3] = 1
    cell = nb101.Cell.from_matrix(m, ["input", C3, C1, "output"])
    with pytest.raises(ValueError, match="no path"):
        cell.pruned()
    with pytest.raises(ValueError, match="no path"):
        cell.validate()
    with pytest.raises(ValueError, match="no path"):
        cell.hash()
    assert not cell.is_valid()


def test_each_rule_is_named_when_broken():
    ok = nb101.Cell.from_matrix(chain(7), ops_for(7))
    assert ok.validate() is ok
    with pytest.raises(ValueError, match="8 nodes.*at most 7"):
        nb101.Cell.from_matrix(chain(8), ops_for(8)).validate()
    lower = chain(4)
    lower[2, 1] = 1
    with pytest.raises(ValueError, match=r"strictly upper triangular.*\(2, 1\)"):
        nb101.Cell.from_matrix(lower, ops_for(4)).validate()
    self_loop = chain(4)
    self_loop[1, 1] = 1
    with pytest.raises(ValueError, match="upper triangular"):
        nb101.Cell.from_matrix(self_loop, ops_for(4)).validate()
    with pytest.raises(ValueError, match="first op must be 'input'"):
        nb101.Cell.from_matrix(chain(3), [C3, C1, "output"]).validate()
    with pytest.raises(ValueError, match="last 'output'"):
        nb101.Cell.from_matrix(chain(3), ["input", C1, MP]).validate()
    with pytest.raises(ValueError, match="node 1 carries 'output'"):
        nb101.Cell.from_matrix(chain(3), ["input", "output", "output"]).validate()


def test_edge_limit_applies_after_pruning():
    ten = chain(7, extra=[(0, 2), (0, 3), (0, 4), (0, 5)])
    with pytest.raises(ValueError, match="10 edges.*at most 9"):
        nb101.Cell.from_matrix(ten, ops_for(7)).validate()
    nine = chain(7, extra=[(0, 2), (0, 3), (0, 4)])
    assert nb101.Cell.from_matrix(nine, ops_for(7)).is_valid()
    # ten edges as written, but node 5 is a dead end: nine once pruned, so valid
    m = np.zeros((7, 7), dtype=int)
    for i, j in [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6), (0, 2), (0, 3), (0, 4), (0, 6), (1, 5)]:
        m[i, j] = 1
    cell = nb101.Cell.from_matrix(m, ops_for(7))
    assert cell.num_edges == 10 and cell.is_valid()
    assert cell.pruned().num_edges == 9 and cell.pruned().num_nodes == 6


def test_constructor_rejects_malformed_input():
    with pytest.raises(ValueError, match="square"):
        nb101.Cell.from_matrix(np.zeros((3, 4), dtype=int), ops_for(3))
    with pytest.raises(ValueError, match=r"0 or 1, got \[2\]"):
        nb101.Cell.from_matrix([[0, 2], [0, 0]], ["input", "output"])
    with pytest.raises(ValueError, match="needs 3 ops, got 2"):
        nb101.Cell.from_matrix(chain(3), ["input", "output"])
    with pytest.raises(ValueError, match="unknown operation 'conv5x5'.*conv3x3-bn-relu"):
        nb101.Cell.from_matrix(chain(3), ["input", "conv5x5", "output"])
    with pytest.raises(TypeError):
        nb101.Cell.from_matrix(chain(3), "input")
    with pytest.raises(TypeError):
        nb101.Cell.from_matrix([["a", "b"], ["c", "d"]], ["input", "output"])
    with pytest.raises(ValueError, match="at least an input and an output"):
        nb101.Cell.from_matrix([[0]], ["input"])


def test_matrix_is_a_copy_and_cells_are_hashable():
    cell = nb101.Cell.from_matrix(chain(4), ops_for(4))
    same = nb101.Cell.from_matrix(chain(4).tolist(), tuple(ops_for(4)))
    assert cell == same and len({cell, same}) == 1
    m = cell.matrix
    m[0, 3] = 1
    assert cell.matrix[0, 3] == 0
    assert cell.matrix.dtype == np.int64


def test_to_graph(cells):
    cell = cells[0]
    g = cell.to_graph()
    assert isinstance(g, nx.DiGraph)
    assert g.number_of_nodes() == cell.num_nodes and g.number_of_edges() == cell.num_edges
    assert [g.nodes[i]["op"] for i in g] == list(cell.ops)
    assert all(cell.matrix[i, j] == 1 for i, j in g.edges)


def test_hash_is_invariant_under_relabelling(cells):
    relabelled = 0
    for cell in cells[:120]:
        p = cell.pruned()
        g = p.to_graph()
        relabellings = (
            nb101.Cell.from_matrix(p.matrix[np.ix_(o, o)], [p.ops[i] for i in o])
            for o in itertools.islice(nx.all_topological_sorts(g), 50)
        )
        other = next((c for c in relabellings if c != p), None)
        if other is None:
            continue
        assert other.is_valid()
        assert other.hash() == p.hash() == cell.hash()
        assert other.is_isomorphic(cell)
        relabelled += 1
    assert relabelled > 20


def test_hash_tells_apart_different_cells():
    base = nb101.Cell.from_matrix(chain(5, extra=[(0, 2)]), ["input", C3, C1, MP, "output"])
    other_op = nb101.Cell.from_matrix(base.matrix, ["input", C3, C3, MP, "output"])
    other_edge = nb101.Cell.from_matrix(chain(5, extra=[(1, 3)]), ["input", C3, C1, MP, "output"])
    hashes = {base.hash(), other_op.hash(), other_edge.hash()}
    assert len(hashes) == 3
    assert not base.is_isomorphic(other_op)
    with pytest.raises(TypeError):
        base.is_isomorphic("not a cell")


def test_random_cell_is_valid_pruned_and_seeded():
    assert nb101.random_cell(3) == nb101.random_cell(3)
    assert nb101.random_cell(np.random.default_rng(3)) == nb101.random_cell(3)
    rng = np.random.default_rng(0)
    drawn = [nb101.random_cell(rng) for _ in range(150)]
    assert all(c.is_valid() and c.pruned() == c for c in drawn)
    assert {c.num_nodes for c in drawn} >= {3, 4, 5, 6}
    assert {op for c in drawn for op in c.ops[1:-1]} == set(nb101.OPS)
    assert len({c.hash() for c in drawn}) > 100
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        nb101.random_cell("seed")
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        nb101.random_cell(1.5)


def test_mutate_gives_a_different_valid_cell(cells):
    rng = np.random.default_rng(1)
    for cell in cells[:20]:
        child = cell.mutate(rng)
        assert child.is_valid()
        assert child.hash() != cell.hash()
    assert cells[0].mutate(5) == cells[0].mutate(5)
    tiny = nb101.Cell.from_matrix([[0, 1], [0, 0]], ["input", "output"])
    assert tiny.mutate(0).is_valid() and tiny.mutate(0).num_nodes > 2
    broken = nb101.Cell.from_matrix(np.zeros((3, 3), dtype=int), ops_for(3))
    with pytest.raises(ValueError, match="no path"):
        broken.mutate(0)
    with pytest.raises(TypeError):
        cells[0].mutate(None)
