"""The NAS-Bench-201 cell search space (chapter 02; used by every later chapter).

A cell is a DAG on four nodes: node 0 is the cell input, node 3 its output, and every
pair ``i < j`` is joined by an edge carrying one of five operations, so there are
``5**6 = 15,625`` cells (Dong & Yang, ICLR 2020). This module converts between the
benchmark's string form, the 6-tuple order used by NAS-Bench-Suite-Zero / GRAF, the
benchmark index and a networkx graph, and it reasons about what a cell computes:
isomorphic cells (same function, different encoding) and operations that can never
affect the output.
"""

from __future__ import annotations

import csv
import gzip
import itertools
from dataclasses import dataclass
from functools import cache
from typing import Iterator, Sequence

import networkx as nx
import numpy as np

from nascourse import data
from nascourse._checks import check_choice, check_int, check_sequence, check_type

#: The five operations, in NAS-Bench-201's own order (their position is the op id).
OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")

#: The six edges ``(source, target)`` in the order of the benchmark's string form.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))

#: Op ids of the 6-tuple form (NAS-Bench-Suite-Zero, zc_combine / GRAF, NASLib).
TUPLE_OPS: tuple[str, ...] = ("skip_connect", "none", "nor_conv_3x3", "nor_conv_1x1", "avg_pool_3x3")

#: Edges of the 6-tuple form, as positions in :data:`EDGES` (its order is 1-2, 1-3, 1-4,
#: 2-3, 2-4, 3-4 with nodes numbered from one).
TUPLE_EDGE_ORDER: tuple[int, ...] = (0, 1, 3, 2, 4, 5)

NUM_NODES = 4
NUM_CELLS = len(OPS) ** len(EDGES)
PARAMETRIC_OPS = ("nor_conv_1x1", "nor_conv_3x3")


def _check_op(op: str) -> str:
    return check_choice("operation", op, OPS)


@dataclass(frozen=True, order=True)
class Cell:
    """One NAS-Bench-201 cell: the operation on each edge, in :data:`EDGES` order."""

    ops: tuple[str, ...]

    def __post_init__(self) -> None:
        ops = tuple(check_sequence("ops", self.ops, str, f"operation name (one per edge, {len(EDGES)} edges)"))
        if len(ops) != len(EDGES):
            raise ValueError(f"a cell has {len(EDGES)} edges, got {len(ops)} operations: {ops!r}")
        for op in ops:
            _check_op(op)
        object.__setattr__(self, "ops", ops)

    # ----- conversions ---------------------------------------------------------------
    @classmethod
    def from_str(cls, arch_str: str) -> "Cell":
        """Parse the benchmark string ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|``."""
        check_type("an NB201 string", arch_str, str)
        example = "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|skip_connect~0|none~1|nor_conv_1x1~2|"
        nodes = arch_str.split("+")
        if len(nodes) != NUM_NODES - 1:
            raise ValueError(
                f"malformed NB201 string {arch_str!r}: expected {NUM_NODES - 1} nodes joined by '+', "
                f"like {example!r}"
            )
        ops = []
        for target, node in enumerate(nodes, start=1):
            if not (node.startswith("|") and node.endswith("|")):
                raise ValueError(f"malformed NB201 string {arch_str!r}: node {node!r} must be wrapped in '|'")
            entries = node[1:-1].split("|")
            if len(entries) != target:
                raise ValueError(
                    f"malformed NB201 string {arch_str!r}: node {target} must have {target} inputs, "
                    f"got {node!r}"
                )
            for source, entry in enumerate(entries):
                op, sep, src = entry.partition("~")
                if not sep or src != str(source):
                    raise ValueError(
                        f"malformed NB201 string {arch_str!r}: expected 'op~{source}' in node {target}, "
                        f"got {entry!r}"
                    )
                if op not in OPS:
                    raise ValueError(
                        f"unknown operation {op!r} in NB201 string {arch_str!r}; valid operations are {list(OPS)}"
                    )
                ops.append(op)
        return cls(tuple(ops))

    def to_str(self) -> str:
        """The benchmark string form."""
        parts, k = [], 0
        for target in range(1, NUM_NODES):
            entries = [f"{self.ops[k + s]}~{s}" for s in range(target)]
            parts.append("|" + "|".join(entries) + "|")
            k += target
        return "+".join(parts)

    @classmethod
    def from_tuple(cls, net: Sequence[int]) -> "Cell":
        """Build a cell from the 6-tuple of op ids used by NAS-Bench-Suite-Zero and GRAF."""
        net = tuple(check_sequence("a 6-tuple cell", net, object, f"{len(EDGES)} op ids (ints)"))
        if len(net) != len(EDGES):
            raise ValueError(f"a 6-tuple cell needs {len(EDGES)} op ids, got {len(net)}: {net!r}")
        ops: list[str] = [""] * len(EDGES)
        for position, op_id in zip(TUPLE_EDGE_ORDER, net):
            check_int("an op id", op_id, minimum=None)
            if not 0 <= op_id < len(TUPLE_OPS):
                raise ValueError(
                    f"op id {op_id} in {net!r} is out of range; valid ids are "
                    f"{dict(enumerate(TUPLE_OPS))}"
                )
            ops[position] = TUPLE_OPS[op_id]
        return cls(tuple(ops))

    def to_tuple(self) -> tuple[int, ...]:
        """The 6-tuple of op ids (inverse of :meth:`from_tuple`)."""
        return tuple(TUPLE_OPS.index(self.ops[p]) for p in TUPLE_EDGE_ORDER)

    @classmethod
    def from_index(cls, index: int) -> "Cell":
        """The cell at a NAS-Bench-201 benchmark index (0..15,624)."""
        index = check_int("a benchmark index", index, minimum=0, maximum=NUM_CELLS - 1)
        return all_cells()[index]

    @property
    def index(self) -> int:
        """This cell's NAS-Bench-201 benchmark index (its row in the benchmark tables)."""
        return _index_of()[self.ops]

    def op_ids(self) -> tuple[int, ...]:
        """Op ids in :data:`OPS` numbering, one per edge in :data:`EDGES` order."""
        return tuple(OPS.index(op) for op in self.ops)

    def edges(self) -> Iterator[tuple[int, int, str]]:
        """Yield ``(source, target, op)`` for the six edges."""
        for (s, t), op in zip(EDGES, self.ops):
            yield s, t, op

    def to_graph(self, drop_none: bool = False) -> nx.DiGraph:
        """The cell as a directed graph on nodes 0..3, the op stored on each edge.

        With ``drop_none`` the ``none`` edges (which carry nothing) are left out.
        """
        g = nx.DiGraph()
        g.add_nodes_from(range(NUM_NODES))
        for s, t, op in self.edges():
            if not (drop_none and op == "none"):
                g.add_edge(s, t, op=op)
        return g

    # ----- what the cell computes --------------------------------------------------
    def unreachable_edges(self) -> list[tuple[int, int, str]]:
        """Operations that cannot affect the output.

        An edge is dead when its op is not ``none`` but its source receives nothing from
        the input, or its target never reaches the output, along non-``none`` edges.
        """
        g = self.to_graph(drop_none=True)
        fed = nx.descendants(g, 0) | {0}
        feeding = nx.ancestors(g, NUM_NODES - 1) | {NUM_NODES - 1}
        return [(s, t, op) for s, t, op in self.edges() if op != "none" and not (s in fed and t in feeding)]

    def has_unreachable_ops(self) -> bool:
        """True when some operation can never affect the output (see :meth:`unreachable_edges`)."""
        return bool(self.unreachable_edges())

    def is_disconnected(self) -> bool:
        """True when no path of non-``none`` edges joins input and output (constant output)."""
        return not nx.has_path(self.to_graph(drop_none=True), 0, NUM_NODES - 1)

    def canonical(self) -> "Cell":
        """The canonical representative of this cell's class, a :class:`Cell` (hashable).

        Two cells get the same representative exactly when :meth:`canonical_str` gives
        them the same string, i.e. when they differ only by the order of summed inputs or
        by operations whose input is exactly zero. The representative is the first cell of
        the class in :func:`enumerate_cells` order (op ids of :data:`OPS`, so ``none`` is
        preferred on every edge), and ``cell.canonical().canonical() == cell.canonical()``.
        As in every space of :mod:`nascourse.spaces`, ``canonical()`` returns a cell of the
        same class and ``canonical_str()`` a string key for the same classes.
        """
        return _representatives()[self.canonical_str()]

    def canonical_str(self) -> str:
        """An isomorphism-invariant string: cells that differ only by the order of summed
        inputs or by edges that carry nothing get the same string.

        Each node is written as the sorted ``+``-sum of what its incoming edges deliver:
        ``skip_connect`` delivers its source's expression unchanged, ``none`` a zero ``#``,
        any other op ``(source)@op`` (or ``#`` when its source is exactly zero). The input
        is ``0``. This is the rule behind NAS-Bench-201's own ``UniqueString`` and yields
        its 6,466 classes; chapter 02 discusses what it still leaves apart.
        """
        values = ["0"]
        for target in range(1, NUM_NODES):
            terms = []
            for s, t, op in self.edges():
                if t != target:
                    continue
                if op == "none" or values[s] == "#":
                    terms.append("#")
                elif op == "skip_connect":
                    terms.append(values[s])
                else:
                    terms.append(f"({values[s]})@{op}")
            values.append("+".join(sorted(terms)))
        return values[-1]

    def num_ops(self, op: str) -> int:
        """How many edges carry ``op``."""
        return self.ops.count(_check_op(op))

    # ----- neighbourhood (used by the search strategies) ------------------------------
    def neighbours(self) -> list["Cell"]:
        """All 24 cells that differ from this one on exactly one edge."""
        out = []
        for position, current in enumerate(self.ops):
            for op in OPS:
                if op != current:
                    ops = list(self.ops)
                    ops[position] = op
                    out.append(Cell(tuple(ops)))
        return out

    def mutate(self, rng: np.random.Generator) -> "Cell":
        """A random neighbour: one edge gets a different operation."""
        position = int(rng.integers(len(EDGES)))
        choices = [op for op in OPS if op != self.ops[position]]
        ops = list(self.ops)
        ops[position] = choices[int(rng.integers(len(choices)))]
        return Cell(tuple(ops))

    def __str__(self) -> str:
        return self.to_str()


def random_cell(rng: np.random.Generator) -> Cell:
    """A cell drawn uniformly from the 15,625."""
    return Cell(tuple(OPS[i] for i in rng.integers(len(OPS), size=len(EDGES))))


@cache
def all_cells() -> tuple[Cell, ...]:
    """All 15,625 cells, in NAS-Bench-201 benchmark index order."""
    with gzip.open(data.path("nb201.csv.gz"), "rt", newline="") as f:
        rows = csv.DictReader(f)
        cells = tuple(Cell.from_str(row["arch_str"]) for row in rows)
    if len(cells) != NUM_CELLS:
        raise data.DataFileError(f"nb201.csv.gz holds {len(cells)} cells, expected {NUM_CELLS}")
    return cells


@cache
def _representatives() -> dict[str, Cell]:
    """Each :meth:`Cell.canonical_str` class -> its first cell in :func:`enumerate_cells` order."""
    out: dict[str, Cell] = {}
    for cell in enumerate_cells():
        out.setdefault(cell.canonical_str(), cell)
    return out


@cache
def _index_of() -> dict[tuple[str, ...], int]:
    return {cell.ops: i for i, cell in enumerate(all_cells())}


def enumerate_cells() -> Iterator[Cell]:
    """All 15,625 cells in lexicographic order of op ids, generated without any data."""
    for ids in itertools.product(range(len(OPS)), repeat=len(EDGES)):
        yield Cell(tuple(OPS[i] for i in ids))
