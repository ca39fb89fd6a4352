"""``canonical()`` means the same in every search space (issue 14).

In nb201, nb101 and darts, ``cell.canonical()`` returns a cell of the same class in
canonical form (hashable, so it keys a dict), ``canonical_str()`` a string key for the same
classes; both are idempotent, equal for cells the space treats as the same function, and
different for cells it does not.
"""

import numpy as np
import pytest

from nascourse import benchmarks
from nascourse.spaces import darts, nb101, nb201


def nb201_cases(rng):
    """Cells of classes with several members, each with another member of its class."""
    classes: dict[str, list] = {}
    for cell in nb201.all_cells():
        classes.setdefault(cell.canonical_str(), []).append(cell)
    big = [members for members in classes.values() if len(members) > 1]
    picks = rng.choice(len(big), size=30, replace=False)
    return [(big[k][0], big[k][int(rng.integers(1, len(big[k])))]) for k in picks]


def nb101_cases(rng):
    """Sample cells, each with a copy whose hidden nodes are numbered in a random order."""
    table = benchmarks.load_nb101_sample().iloc[:30]
    out = []
    for matrix, ops in zip(table["matrix"], table["ops"]):
        n = len(ops)
        order = [0, *(1 + rng.permutation(n - 2)), n - 1]
        out.append((nb101.Cell.from_matrix(matrix, ops),
                    nb101.Cell.from_matrix(matrix[np.ix_(order, order)], [ops[i] for i in order])))
    return out


def darts_cases(rng):
    """Random cells, each with the copy whose nodes list their two inputs the other way round."""
    out = []
    for _ in range(30):
        cell = darts.random_cell(rng)
        swapped = [pair for node in range(cell.num_nodes) for pair in reversed(cell.inputs(node))]
        out.append((cell, darts.Cell(tuple(swapped))))
    return out


SPACES = {"nb201": nb201_cases, "nb101": nb101_cases, "darts": darts_cases}


@pytest.fixture(scope="module", params=list(SPACES))
def pairs(request):
    return request.param, SPACES[request.param](np.random.default_rng(0))


def test_canonical_returns_a_cell_of_the_same_class_and_is_idempotent(pairs):
    _, cases = pairs
    for cell, _ in cases:
        form = cell.canonical()
        assert type(form) is type(cell)
        assert form.canonical() == form and form.canonical_str() == cell.canonical_str()
        assert {form: 1}[cell.canonical()] == 1          # hashable: a dict key


def test_equivalent_cells_share_the_canonical_form(pairs):
    name, cases = pairs
    for cell, twin in cases:
        if name != "nb101":       # renumbering an nb101 cell can give the same matrix
            assert cell != twin
        assert cell.canonical() == twin.canonical()
        assert cell.canonical_str() == twin.canonical_str()
    if name == "nb101":
        assert sum(cell != twin for cell, twin in cases) > 20
        assert all(cell.is_isomorphic(twin) for cell, twin in cases)


def test_different_classes_get_different_forms(pairs):
    _, cases = pairs
    cells = [cell for cell, _ in cases]
    forms = [c.canonical() for c in cells]
    strings = [c.canonical_str() for c in cells]
    for i in range(len(cells)):
        for j in range(i + 1, len(cells)):
            assert (forms[i] == forms[j]) == (strings[i] == strings[j])
    assert len(set(forms)) > 1


def test_nb101_canonical_form_agrees_with_isomorphism():
    table = benchmarks.load_nb101_sample()
    cells = [nb101.Cell.from_matrix(m, o) for m, o in zip(table["matrix"], table["ops"])]
    forms = [c.canonical() for c in cells]
    # the benchmark's graph hash and the exact canonical form give the same partition
    assert len(set(forms)) == len({c.hash() for c in cells}) == len(set(zip(forms, (c.hash() for c in cells))))
    rng = np.random.default_rng(1)
    for i, j in rng.integers(len(cells), size=(200, 2)):
        assert (forms[i] == forms[j]) == cells[i].is_isomorphic(cells[j])
    assert all(form.is_valid() for form in forms)


def test_nb101_canonical_form_needs_a_dag():
    cycle = nb101.Cell.from_matrix([[0, 1, 0, 0], [0, 0, 1, 0], [0, 1, 0, 1], [0, 0, 0, 0]],
                                   ["input", "conv3x3-bn-relu", "maxpool3x3", "output"])
    with pytest.raises(ValueError, match="cycle"):
        cycle.canonical()
