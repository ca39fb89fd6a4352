"""The NAS-Bench-101 cell search space (chapter 02; the predictors of chapters 06-07 use it).

A cell is a DAG of at most seven nodes given by an upper-triangular 0/1 adjacency matrix
and one operation per node: the first node is the cell input, the last its output, and
every node in between is a 3x3 convolution, a 1x1 convolution or a 3x3 max pool. A cell
may use at most nine edges. Ying et al. (ICML 2019) enumerated every such cell, merged
isomorphic ones with an iterative graph hash and found 423,624 unique valid cells.

As in the benchmark, a cell is judged after *pruning*: nodes that lie on no path from
input to output compute nothing that reaches the output and are removed first.
:meth:`Cell.hash` is a Weisfeiler-Lehman style hash of the pruned cell, so two cells that
differ only by the numbering of their nodes get the same hash.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Sequence

import networkx as nx
import numpy as np

from nascourse._checks import check_choice, check_sequence, check_type
from nascourse.rng import as_generator

#: The three operations a hidden node may carry.
OPS: tuple[str, ...] = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
INPUT = "input"
OUTPUT = "output"
#: Most nodes a cell may have, input and output included.
MAX_NODES = 7
#: Most edges a (pruned) cell may have.
MAX_EDGES = 9
#: Unique valid cells reported by Ying et al. (2019), isomorphic cells counted once.
NUM_UNIQUE_CELLS = 423_624

_VOCABULARY = (INPUT, OUTPUT, *OPS)
_MAX_MUTATION_TRIES = 10_000


def _sha(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Cell:
    """One NAS-Bench-101 cell: ``adjacency[i][j] == 1`` means an edge from node i to node j.

    The adjacency is stored as a tuple of tuples so that cells are hashable; use
    :attr:`matrix` for a numpy copy. The constructor only checks the shapes and names;
    :meth:`validate` checks the rules of the space.
    """

    adjacency: tuple[tuple[int, ...], ...]
    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = tuple(check_sequence("ops", self.ops, str, "operation name"))
        for op in ops:
            check_choice("operation", op, _VOCABULARY)
        try:
            matrix = np.asarray(self.adjacency)
        except ValueError as err:
            raise ValueError(f"adjacency must be a square 0/1 matrix, got {self.adjacency!r}") from err
        if matrix.ndim != 2 or matrix.shape[0] != matrix.shape[1]:
            raise ValueError(f"adjacency must be a square matrix, got shape {matrix.shape}")
        if matrix.dtype.kind not in "biu" and not (matrix.dtype.kind == "f" and np.all(matrix == np.round(matrix))):
            raise TypeError(f"adjacency entries must be 0 or 1, got dtype {matrix.dtype}")
        if not np.isin(matrix, (0, 1)).all():
            bad = sorted({int(v) if float(v).is_integer() else float(v) for v in matrix[~np.isin(matrix, (0, 1))]})
            raise ValueError(f"adjacency entries must be 0 or 1, got {bad}")
        if matrix.shape[0] != len(ops):
            raise ValueError(f"a {matrix.shape[0]}-node adjacency needs {matrix.shape[0]} ops, got {len(ops)}: {ops!r}")
        if len(ops) < 2:
            raise ValueError(f"a cell needs at least an input and an output node, got {len(ops)} node(s)")
        object.__setattr__(self, "adjacency", tuple(tuple(int(v) for v in row) for row in matrix))
        object.__setattr__(self, "ops", ops)

    # ----- construction and views ---------------------------------------------------------
    @classmethod
    def from_matrix(cls, matrix: Sequence[Sequence[int]] | np.ndarray, ops: Sequence[str]) -> "Cell":
        """Build a cell from an adjacency matrix (numpy array or nested lists) and op names."""
        return cls(matrix, ops)  # type: ignore[arg-type]

    @property
    def matrix(self) -> np.ndarray:
        """The adjacency matrix as a new ``int64`` numpy array."""
        return np.array(self.adjacency, dtype=np.int64)

    @property
    def num_nodes(self) -> int:
        """Number of nodes, input and output included."""
        return len(self.ops)

    @property
    def num_edges(self) -> int:
        """Number of edges (ones in the adjacency matrix)."""
        return sum(map(sum, self.adjacency))

    def to_graph(self) -> nx.DiGraph:
        """The cell as a networkx DiGraph on nodes ``0..n-1`` with an ``op`` node attribute."""
        g = nx.DiGraph()
        for i, op in enumerate(self.ops):
            g.add_node(i, op=op)
        n = self.num_nodes
        g.add_edges_from((i, j) for i in range(n) for j in range(n) if self.adjacency[i][j])
        return g

    # ----- the rules of the space ----------------------------------------------------------
    def pruned(self) -> "Cell":
        """The cell without the nodes that lie on no input-to-output path.

        Raises ``ValueError`` when no path joins input and output (such a cell is invalid).
        """
        g = self.to_graph()
        last = self.num_nodes - 1
        if not nx.has_path(g, 0, last):
            raise ValueError(f"no path from the input to the output node in {self!r}; the cell is invalid")
        keep = sorted((nx.descendants(g, 0) | {0}) & (nx.ancestors(g, last) | {last}))
        sub = self.matrix[np.ix_(keep, keep)]
        return Cell(sub, tuple(self.ops[i] for i in keep))  # type: ignore[arg-type]

    def validate(self) -> "Cell":
        """Return the cell if it obeys the rules of the space, else raise ``ValueError``
        naming the broken rule.

        The rules: at most :data:`MAX_NODES` nodes, a strictly upper-triangular matrix,
        ``input`` first, ``output`` last and only :data:`OPS` in between, a path from input
        to output, and at most :data:`MAX_EDGES` edges once pruned (the benchmark prunes
        before counting edges).
        """
        n = self.num_nodes
        if n > MAX_NODES:
            raise ValueError(f"the cell has {n} nodes; the space allows at most {MAX_NODES}")
        lower = [(i, j) for i in range(n) for j in range(i + 1) if self.adjacency[i][j]]
        if lower:
            raise ValueError(
                f"the adjacency must be strictly upper triangular (edges only from node i to j > i); "
                f"found entries at {lower}"
            )
        if self.ops[0] != INPUT or self.ops[-1] != OUTPUT:
            raise ValueError(
                f"the first op must be {INPUT!r} and the last {OUTPUT!r}, got {self.ops[0]!r} and {self.ops[-1]!r}"
            )
        for i, op in enumerate(self.ops[1:-1], start=1):
            if op not in OPS:
                raise ValueError(f"node {i} carries {op!r}; hidden nodes must carry one of {list(OPS)}")
        pruned = self.pruned()
        if pruned.num_edges > MAX_EDGES:
            raise ValueError(
                f"the pruned cell has {pruned.num_edges} edges; the space allows at most {MAX_EDGES}"
            )
        return self

    def is_valid(self) -> bool:
        """True when :meth:`validate` passes."""
        try:
            self.validate()
        except ValueError:
            return False
        return True

    # ----- isomorphism ---------------------------------------------------------------------
    def hash(self) -> str:
        """An isomorphism-invariant hash (hex string) of the pruned cell.

        Every node starts from a label made of its op, in-degree and out-degree; for as many
        rounds as there are nodes, each label is rehashed together with the sorted labels of
        its predecessors and, separately, of its successors (Weisfeiler-Lehman refinement).
        The hash of the sorted final labels names the cell. Equal cells up to node numbering
        always get equal hashes; the converse is not guaranteed for all graphs, but holds in
        this space as far as the benchmark found.
        """
        cell = self.pruned()
        g = cell.to_graph()
        labels = {v: _sha(f"{cell.ops[v]}|{g.in_degree(v)}|{g.out_degree(v)}") for v in g}
        for _ in range(cell.num_nodes):
            labels = {
                v: _sha(
                    labels[v]
                    + "<"
                    + ",".join(sorted(labels[u] for u in g.predecessors(v)))
                    + ">"
                    + ",".join(sorted(labels[w] for w in g.successors(v)))
                )
                for v in g
            }
        return _sha("|".join(sorted(labels.values())))

    def canonical(self) -> "Cell":
        """The canonical representative of this cell's class, a :class:`Cell` (hashable).

        The cell is pruned, then its nodes are renumbered in the topological order that
        gives the smallest ``(ops, adjacency)`` in Python's tuple order; the input stays
        first and the output last. Two cells get the same representative exactly when
        their pruned cells are equal up to node numbering (what :meth:`is_isomorphic`
        tests), and ``cell.canonical().canonical() == cell.canonical()``. As in every
        space of :mod:`nascourse.spaces`, ``canonical()`` returns a cell of the same class
        and ``canonical_str()`` a string key for the same classes; :meth:`hash` is the
        benchmark's faster graph hash.

        Raises ``ValueError`` when no path joins input and output, or when the edges
        form a cycle.
        """
        cell = self.pruned()
        g = cell.to_graph()
        if not nx.is_directed_acyclic_graph(g):
            raise ValueError(f"the edges of {self!r} form a cycle; a cell must be a DAG")
        best: tuple | None = None
        for order in nx.all_topological_sorts(g):
            key = (tuple(cell.ops[i] for i in order),
                   tuple(tuple(cell.adjacency[i][j] for j in order) for i in order))
            best = key if best is None or key < best else best
        return Cell(best[1], best[0])  # type: ignore[index]

    def canonical_str(self) -> str:
        """:meth:`canonical` as a string: the ops, then the rows of the adjacency matrix,
        e.g. ``'input,conv3x3-bn-relu,output|010,001,000'``."""
        cell = self.canonical()
        return ",".join(cell.ops) + "|" + ",".join("".join(map(str, row)) for row in cell.adjacency)

    def is_isomorphic(self, other: "Cell") -> bool:
        """Exact test (networkx VF2) that the pruned cells are equal up to node numbering."""
        check_type("other", other, Cell, "an nb101.Cell")
        return nx.is_isomorphic(
            self.pruned().to_graph(), other.pruned().to_graph(), node_match=lambda a, b: a["op"] == b["op"]
        )

    # ----- neighbourhood -------------------------------------------------------------------
    def mutate(self, rng: int | np.random.Generator) -> "Cell":
        """A random valid cell with a different :meth:`hash`, returned pruned.

        The cell is padded to :data:`MAX_NODES` nodes (new hidden nodes get random ops and no
        edges) so that it can grow; then each possible edge flips with probability 1/21 and
        each hidden op changes with probability 1/5, at least one change per try, until the
        result is valid and not isomorphic to this cell.
        """
        rng = as_generator(rng)
        self.validate()
        base = self.pruned()
        own_hash = base.hash()
        n = base.num_nodes
        matrix = np.zeros((MAX_NODES, MAX_NODES), dtype=np.int64)
        keep = list(range(n - 1)) + [MAX_NODES - 1]
        matrix[np.ix_(keep, keep)] = base.matrix
        ops = [OPS[int(k)] for k in rng.integers(len(OPS), size=MAX_NODES)]
        ops[0], ops[-1] = INPUT, OUTPUT
        for i in range(1, n - 1):
            ops[i] = base.ops[i]
        rows, cols = np.triu_indices(MAX_NODES, k=1)
        for _ in range(_MAX_MUTATION_TRIES):
            m, o = matrix.copy(), list(ops)
            flips = rng.random(len(rows)) < 1.0 / len(rows)
            changes = rng.random(MAX_NODES - 2) < 1.0 / (MAX_NODES - 2)
            if not flips.any() and not changes.any():
                flips[rng.integers(len(rows))] = True
            m[rows[flips], cols[flips]] ^= 1
            for i in np.flatnonzero(changes) + 1:
                o[i] = OPS[(OPS.index(o[i]) + 1 + int(rng.integers(len(OPS) - 1))) % len(OPS)]
            child = Cell(m, o)  # type: ignore[arg-type]
            if child.is_valid() and child.hash() != own_hash:
                return child.pruned()
        raise RuntimeError(f"no valid mutation of {self!r} found in {_MAX_MUTATION_TRIES} tries")

    def __repr__(self) -> str:
        return f"Cell(matrix={[list(r) for r in self.adjacency]}, ops={list(self.ops)})"


def random_cell(rng: int | np.random.Generator) -> Cell:
    """A random valid cell, returned pruned.

    Rejection sampling: a 7-node strictly upper-triangular matrix with each edge present
    with probability 1/2 and random hidden ops, redrawn until valid. This is uniform over
    *labelled* 7-node specifications, not over the 423,624 unique cells.
    """
    rng = as_generator(rng)
    rows, cols = np.triu_indices(MAX_NODES, k=1)
    while True:
        matrix = np.zeros((MAX_NODES, MAX_NODES), dtype=np.int64)
        matrix[rows, cols] = rng.integers(2, size=len(rows))
        ops = [INPUT] + [OPS[int(k)] for k in rng.integers(len(OPS), size=MAX_NODES - 2)] + [OUTPUT]
        cell = Cell(matrix, ops)  # type: ignore[arg-type]
        if cell.is_valid():
            return cell.pruned()
