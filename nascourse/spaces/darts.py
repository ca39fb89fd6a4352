"""The DARTS cell search space (chapter 02 counts it; chapter 04 searches it).

A DARTS network (Liu, Simonyan & Yang, ICLR 2019) stacks two kinds of cells, *normal*
and *reduction*. Each cell has two inputs, the outputs of the two previous cells, called
``c_{k-2}`` and ``c_{k-1}``, and four intermediate nodes. Intermediate node ``i`` sums two
operations applied to two *different* earlier nodes (a cell input or an earlier
intermediate node); the cell output ``c_{k}`` concatenates the four intermediate nodes.
The supernet also mixes a ``none`` (zero) operation, but a derived cell never keeps it,
so a cell uses the seven operations of :data:`OPS`.

A cell is written as DARTS writes its genotypes: a list of ``(op, input)`` pairs, two per
intermediate node, where inputs 0 and 1 are ``c_{k-2}`` and ``c_{k-1}`` and input ``j >= 2``
is intermediate node ``j - 2``. NASLib, and the NAS-Bench-301 sample the course ships
(chapter 08), write a genotype compactly as ``(input, op id)`` pairs: :func:`from_compact`
reads that form and :meth:`Genotype.to_compact` writes it.

:func:`space_size` counts the space under several conventions; with DARTS's own (the two
inputs of a node are different nodes, their order does not matter, seven operations, a
normal and a reduction cell) one cell has 1,037,664,180 choices and a genotype
1,076,746,950,455,072,400 (about 1.08e18), the "10^18 architectures" quoted by
NAS-Bench-301 (Siems et al., 2020) and later work.
"""

from __future__ import annotations

import ast
import itertools
import math
from dataclasses import dataclass
from typing import Sequence

import networkx as nx
import numpy as np

from nascourse._checks import check_bool, check_choice, check_int, check_sequence, check_type
from nascourse.rng import as_generator

#: The seven operations of a derived cell, in DARTS's order.
OPS: tuple[str, ...] = (
    "max_pool_3x3",
    "avg_pool_3x3",
    "skip_connect",
    "sep_conv_3x3",
    "sep_conv_5x5",
    "dil_conv_3x3",
    "dil_conv_5x5",
)
#: The operations mixed on every edge of the DARTS supernet: ``none`` and :data:`OPS`.
SUPERNET_OPS: tuple[str, ...] = ("none", *OPS)
#: Intermediate nodes per cell, inputs per intermediate node and inputs per cell in DARTS.
NUM_NODES = 4
INPUTS_PER_NODE = 2
NUM_CELL_INPUTS = 2
#: Names of the nodes that are not intermediate: the two cell inputs and the cell output.
CELL_INPUTS: tuple[str, ...] = ("c_{k-2}", "c_{k-1}")
CELL_OUTPUT = "c_{k}"

_ENUMERATION_LIMIT = 10_000_000


def node_name(j: int) -> str:
    """The graph name of input index ``j``: a cell input for 0 and 1, else ``str(j - 2)``."""
    return CELL_INPUTS[j] if j < NUM_CELL_INPUTS else str(j - NUM_CELL_INPUTS)


def _pair(name: str, value: object, what: str) -> tuple:
    """``value`` as a 2-tuple if it is a (non-string) sequence of two items."""
    check_type(name, value, (tuple, list), f"a pair {what}")
    if len(value) != 2:
        raise TypeError(f"{name} must be a pair {what}, got {len(value)} items: {value!r}")
    return tuple(value)


@dataclass(frozen=True)
class Cell:
    """One derived DARTS cell: ``edges`` holds ``(op, input)``, two per intermediate node."""

    edges: tuple[tuple[str, int], ...]

    def __post_init__(self) -> None:
        edges = []
        for pair in check_sequence("edges", self.edges, (tuple, list), "(op, input) pair"):
            op, src = _pair("an edge", pair, "(op, input)")
            if op == "none":
                raise ValueError(f"unknown operation 'none' ('none' exists only in the supernet, never in a "
                                 f"derived cell); valid operations are {list(OPS)}")
            check_choice("operation", op, OPS)
            edges.append((op, check_int("an input index", src, minimum=None)))
        if not edges or len(edges) % INPUTS_PER_NODE:
            raise ValueError(
                f"a cell needs {INPUTS_PER_NODE} edges per intermediate node, got {len(edges)} edges"
            )
        for node in range(len(edges) // INPUTS_PER_NODE):
            pair = edges[INPUTS_PER_NODE * node: INPUTS_PER_NODE * (node + 1)]
            valid = list(range(NUM_CELL_INPUTS + node))
            for _, src in pair:
                if src not in valid:
                    raise ValueError(f"intermediate node {node} cannot take input {src}; valid inputs are {valid}")
            if len({src for _, src in pair}) < len(pair):
                raise ValueError(
                    f"intermediate node {node} takes input {pair[0][1]} twice; its {INPUTS_PER_NODE} inputs "
                    f"must be different nodes among {valid}"
                )
        object.__setattr__(self, "edges", tuple(edges))

    @property
    def num_nodes(self) -> int:
        """Number of intermediate nodes."""
        return len(self.edges) // INPUTS_PER_NODE

    def inputs(self, node: int) -> tuple[tuple[str, int], ...]:
        """The ``(op, input)`` pairs of intermediate node ``node``."""
        check_int("node", node, minimum=None)
        if not 0 <= node < self.num_nodes:
            raise ValueError(f"intermediate node {node} does not exist; valid nodes are 0..{self.num_nodes - 1}")
        return self.edges[INPUTS_PER_NODE * node: INPUTS_PER_NODE * (node + 1)]

    def canonical(self) -> "Cell":
        """The canonical representative of this cell's class, a :class:`Cell` (hashable):
        the same cell with each node's pairs sorted by input, then op.

        A node sums its two terms, so their order does not change what it computes; cells
        that differ only by that order get the same representative, and
        ``cell.canonical().canonical() == cell.canonical()``. Renumbering intermediate
        nodes is not undone (it permutes the channels that the output concatenates). As in
        every space of :mod:`nascourse.spaces`, ``canonical()`` returns a cell of the same
        class and ``canonical_str()`` a string key for the same classes.
        """
        out: list[tuple[str, int]] = []
        for node in range(self.num_nodes):
            out.extend(sorted(self.inputs(node), key=lambda p: (p[1], p[0])))
        return Cell(tuple(out))

    def canonical_str(self) -> str:
        """:meth:`canonical` as a string, e.g. ``'sep_conv_3x3(c_{k-2}) + skip_connect(c_{k-1}) | ...'``."""
        return str(self.canonical())

    def to_graph(self) -> nx.DiGraph:
        """See :func:`to_graph`."""
        return to_graph(self)

    def __str__(self) -> str:
        return " | ".join(
            " + ".join(f"{op}({node_name(src)})" for op, src in self.inputs(n)) for n in range(self.num_nodes)
        )


@dataclass(frozen=True)
class Genotype:
    """A DARTS architecture: one normal and one reduction cell."""

    normal: Cell
    reduce: Cell

    def __post_init__(self) -> None:
        for name in ("normal", "reduce"):
            check_type(name, getattr(self, name), Cell, "a darts.Cell")

    @classmethod
    def from_lists(cls, normal: Sequence[tuple[str, int]], reduce: Sequence[tuple[str, int]]) -> "Genotype":
        """Build from the two ``[(op, input), ...]`` lists of a DARTS genotype."""
        return cls(Cell(tuple(map(tuple, normal))), Cell(tuple(map(tuple, reduce))))  # type: ignore[arg-type]

    def to_lists(self) -> dict[str, list]:
        """The DARTS genotype fields: ``normal``, ``normal_concat``, ``reduce``, ``reduce_concat``."""
        return {
            "normal": list(self.normal.edges),
            "normal_concat": list(range(NUM_CELL_INPUTS, NUM_CELL_INPUTS + self.normal.num_nodes)),
            "reduce": list(self.reduce.edges),
            "reduce_concat": list(range(NUM_CELL_INPUTS, NUM_CELL_INPUTS + self.reduce.num_nodes)),
        }

    def to_compact(self) -> tuple[tuple[tuple[int, int], ...], tuple[tuple[int, int], ...]]:
        """NASLib's compact encoding: per cell, ``(input, op id)`` pairs with op ids in
        :data:`OPS` order (the inverse of :func:`from_compact`)."""
        return tuple(  # type: ignore[return-value]
            tuple((src, OPS.index(op)) for op, src in cell.edges) for cell in (self.normal, self.reduce)
        )

    def mutate(self, rng: int | np.random.Generator) -> "Genotype":
        """A random neighbour: in one of the two cells, one edge changes its op or its input."""
        rng = as_generator(rng)
        which = "normal" if rng.random() < 0.5 else "reduce"
        cell: Cell = getattr(self, which)
        edges = list(cell.edges)
        k = int(rng.integers(len(edges)))
        node = k // INPUTS_PER_NODE
        op, src = edges[k]
        taken = {s for i, (_, s) in enumerate(cell.inputs(node)) if INPUTS_PER_NODE * node + i != k}
        free = [j for j in range(NUM_CELL_INPUTS + node) if j not in taken and j != src]
        if free and rng.random() < 0.5:
            edges[k] = (op, free[int(rng.integers(len(free)))])
        else:
            others = [o for o in OPS if o != op]
            edges[k] = (others[int(rng.integers(len(others)))], src)
        new = Cell(tuple(edges))
        return Genotype(new, self.reduce) if which == "normal" else Genotype(self.normal, new)


#: The CIFAR-10 cells found by second-order DARTS (Liu et al., 2019, Figures 4 and 5).
DARTS_V2 = Genotype.from_lists(
    normal=[("sep_conv_3x3", 0), ("sep_conv_3x3", 1), ("sep_conv_3x3", 0), ("sep_conv_3x3", 1),
            ("sep_conv_3x3", 1), ("skip_connect", 0), ("skip_connect", 0), ("dil_conv_3x3", 2)],
    reduce=[("max_pool_3x3", 0), ("max_pool_3x3", 1), ("skip_connect", 2), ("max_pool_3x3", 1),
            ("max_pool_3x3", 0), ("skip_connect", 2), ("skip_connect", 2), ("max_pool_3x3", 1)],
)


def from_compact(compact: str | Sequence) -> Genotype:
    """A genotype from NASLib's compact encoding of the DARTS space (NAS-Bench-301 tables).

    ``compact`` is a pair ``[normal, reduce]``, each a sequence of ``(input, op id)`` pairs
    (two per intermediate node), or that pair written as a Python literal, as NASLib keys
    its tables: ``'[[(0, 4), (1, 3), ...], [...]]'``. Inputs follow DARTS (0 and 1 are
    ``c_{k-2}`` and ``c_{k-1}``, ``j >= 2`` is intermediate node ``j - 2``); op ids index
    :data:`OPS`, the order of NASLib's ``convert_compact_to_genotype``.
    """
    if isinstance(compact, str):
        try:
            compact = ast.literal_eval(compact)
        except (ValueError, SyntaxError) as err:
            raise ValueError(f"cannot read a compact genotype from {compact!r}: {err}") from None
    compact = _pair("compact", compact, "[normal, reduce] of (input, op id) lists")
    cells = []
    for name, cell in zip(("normal", "reduce"), compact):
        edges = []
        for pair in check_sequence(f"the {name} cell", cell, (tuple, list), "(input, op id) pair"):
            src, op = _pair(f"each edge of the {name} cell", pair, "(input, op id)")
            check_int("an op id", op, minimum=None)
            if not 0 <= op < len(OPS):
                raise ValueError(f"op id {op} in the {name} cell is not one of 0..{len(OPS) - 1} ({list(OPS)})")
            edges.append((OPS[op], src))
        cells.append(Cell(tuple(edges)))
    return Genotype(*cells)


def random_cell(rng: int | np.random.Generator, num_nodes: int = NUM_NODES) -> Cell:
    """A uniformly random cell: each node picks two different inputs and two ops."""
    rng = as_generator(rng)
    check_int("num_nodes", num_nodes)
    edges: list[tuple[str, int]] = []
    for node in range(num_nodes):
        sources = sorted(int(s) for s in rng.choice(NUM_CELL_INPUTS + node, size=INPUTS_PER_NODE, replace=False))
        edges.extend((OPS[int(rng.integers(len(OPS)))], s) for s in sources)
    return Cell(tuple(edges))


def random_genotype(rng: int | np.random.Generator, num_nodes: int = NUM_NODES) -> Genotype:
    """A uniformly random genotype (normal and reduction cell drawn independently)."""
    rng = as_generator(rng)
    return Genotype(random_cell(rng, num_nodes), random_cell(rng, num_nodes))


def to_graph(cell: Cell) -> nx.DiGraph:
    """The cell as a DiGraph: nodes ``c_{k-2}``, ``c_{k-1}``, ``'0'``..``'3'`` and ``c_{k}``.

    Operation edges carry ``op``; the edges from every intermediate node to ``c_{k}`` carry
    ``op='concat'``. Nodes carry ``kind``: ``'input'``, ``'intermediate'`` or ``'output'``.
    """
    check_type("cell", cell, Cell, "a darts.Cell (use genotype.normal or genotype.reduce)")
    g = nx.DiGraph()
    for name in CELL_INPUTS:
        g.add_node(name, kind="input")
    for node in range(cell.num_nodes):
        g.add_node(str(node), kind="intermediate")
    g.add_node(CELL_OUTPUT, kind="output")
    for node in range(cell.num_nodes):
        for op, src in cell.inputs(node):
            g.add_edge(node_name(src), str(node), op=op)
        g.add_edge(str(node), CELL_OUTPUT, op="concat")
    return g


def _counting_settings(inputs_per_node: int, num_ops: int, num_cell_inputs: int, ordered: bool,
                       distinct: bool) -> tuple[int, int, int, bool, bool]:
    """The checked arguments shared by :func:`node_choices` and :func:`count_by_enumeration`."""
    return (check_int("inputs_per_node", inputs_per_node), check_int("num_ops", num_ops),
            check_int("num_cell_inputs", num_cell_inputs), check_bool("ordered", ordered),
            check_bool("distinct", distinct))


def node_choices(
    node: int,
    inputs_per_node: int = INPUTS_PER_NODE,
    num_ops: int = len(OPS),
    num_cell_inputs: int = NUM_CELL_INPUTS,
    ordered: bool = False,
    distinct: bool = True,
) -> int:
    """How many ways intermediate node ``node`` (from 0) can choose its inputs and ops.

    It has ``m = num_cell_inputs + node`` candidate inputs and picks ``k = inputs_per_node``
    of them, each with one of ``o = num_ops`` operations:
    ``distinct`` and unordered: ``C(m, k) o^k``; ``distinct`` and ``ordered``: ``m!/(m-k)! o^k``;
    repeats allowed and ``ordered``: ``(m o)^k``; repeats allowed and unordered: multisets
    of ``k`` (input, op) pairs, ``C(m o + k - 1, k)``.
    """
    node = check_int("node", node, minimum=0)
    k, o, c, ordered, distinct = _counting_settings(inputs_per_node, num_ops, num_cell_inputs, ordered, distinct)
    m = c + node
    if distinct:
        return (math.perm(m, k) if ordered else math.comb(m, k)) * o**k
    return (m * o) ** k if ordered else math.comb(m * o + k - 1, k)


def space_size(
    num_nodes: int = NUM_NODES,
    inputs_per_node: int = INPUTS_PER_NODE,
    num_ops: int = len(OPS),
    num_cell_inputs: int = NUM_CELL_INPUTS,
    ordered: bool = False,
    distinct: bool = True,
    reduction: bool = True,
) -> int:
    """Count the cells (or, with ``reduction``, the normal-reduction pairs) by combinatorics.

    The product over intermediate nodes of :func:`node_choices`, squared when a separate
    reduction cell is searched too. DARTS's convention is the default: ``distinct=True``
    (the two inputs of a node are different nodes, as DARTS derives them),
    ``ordered=False`` (the node sums its inputs, so their order is irrelevant),
    ``num_ops=7`` (``none`` is never kept) and ``reduction=True``; it gives
    ``1,037,664,180**2`` = about 1.08e18, the figure quoted for the DARTS space by
    NAS-Bench-301 (Siems et al., 2020). Labelled cells are counted: cells that compute the
    same function after renumbering intermediate nodes are counted separately.
    """
    n = check_int("num_nodes", num_nodes)
    reduction = check_bool("reduction", reduction)
    per_cell = math.prod(
        node_choices(i, inputs_per_node, num_ops, num_cell_inputs, ordered, distinct) for i in range(n)
    )
    return per_cell**2 if reduction else per_cell


def count_by_enumeration(
    num_nodes: int,
    inputs_per_node: int = INPUTS_PER_NODE,
    num_ops: int = len(OPS),
    num_cell_inputs: int = NUM_CELL_INPUTS,
    ordered: bool = False,
    distinct: bool = True,
) -> int:
    """Count one cell's choices by listing them, to check :func:`space_size` on small spaces.

    Every whole cell, as a raw sequence of ``(input, op)`` choices, is generated; cells
    with a repeated input at some node are dropped when ``distinct``, each node's choices
    are sorted when not ``ordered``, and the distinct results are counted. Refuses spaces with more than ten million raw sequences.
    """
    n = check_int("num_nodes", num_nodes)
    k, o, c, ordered, distinct = _counting_settings(inputs_per_node, num_ops, num_cell_inputs, ordered, distinct)
    raw = math.prod(((c + i) * o) ** k for i in range(n))
    if raw > _ENUMERATION_LIMIT:
        raise ValueError(
            f"enumerating {raw:,} sequences is too slow; keep it below {_ENUMERATION_LIMIT:,} "
            f"(use space_size for large spaces)"
        )
    per_node = [
        list(itertools.product(itertools.product(range(c + i), range(o)), repeat=k)) for i in range(n)
    ]
    cells = set()
    for cell in itertools.product(*per_node):
        if distinct and any(len({src for src, _ in node}) < k for node in cell):
            continue
        cells.add(cell if ordered else tuple(tuple(sorted(node)) for node in cell))
    return len(cells)
