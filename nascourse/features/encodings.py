"""Classic encodings of a NAS-Bench-201 cell (chapter 06): one-hot, the op-on-node graph a
GCN reads, and the path encoding.

Every function takes a sequence of :class:`nascourse.spaces.nb201.Cell` and returns one row
per cell, in the order given. The conventions follow chapter 02: edges in
:data:`nb201.EDGES` order, operations in :data:`nb201.OPS` order.
"""

from __future__ import annotations

from functools import cache
from typing import Sequence

import numpy as np

from nascourse._checks import check_sequence
from nascourse.spaces import nb201

#: Node labels of the op-on-node graph: the cell input, the five operations, the output.
NODE_LABELS: tuple[str, ...] = ("input", *nb201.OPS, "output")
#: Nodes of the op-on-node graph: the input, one node per edge (``EDGES`` order), the output.
NUM_GRAPH_NODES = len(nb201.EDGES) + 2


def op_id_matrix(cells: Sequence[nb201.Cell]) -> np.ndarray:
    """The op ids (:data:`nb201.OPS` numbering) of each cell's six edges, shape ``(n, 6)``.

    Raises ``TypeError`` unless ``cells`` is a sequence (list, tuple, ...) of ``Cell``.
    """
    cells = check_sequence("cells", cells, nb201.Cell, "nb201.Cell (for one cell, pass [cell])")
    rows = [cell.op_ids() for cell in cells]
    return np.array(rows, dtype=np.int64).reshape(len(rows), len(nb201.EDGES))


def onehot(cells: Sequence[nb201.Cell]) -> np.ndarray:
    """One-hot encoding: for each edge (``EDGES`` order) a block of five 0/1 columns, one per
    operation (``OPS`` order); shape ``(n, 30)``. Column names: :func:`onehot_names`."""
    ids = op_id_matrix(cells)
    out = np.zeros((len(ids), len(nb201.EDGES), len(nb201.OPS)), dtype=np.int64)
    np.put_along_axis(out, ids[:, :, None], 1, axis=2)
    return out.reshape(len(ids), -1)


def onehot_names() -> list[str]:
    """Column names of :func:`onehot`, such as ``'0->1:nor_conv_3x3'``."""
    return [f"{s}->{t}:{op}" for s, t in nb201.EDGES for op in nb201.OPS]


@cache
def _line_graph() -> np.ndarray:
    """Adjacency of the op-on-node graph when no edge carries ``none`` (8 x 8)."""
    a = np.zeros((NUM_GRAPH_NODES, NUM_GRAPH_NODES), dtype=np.float32)
    last = NUM_GRAPH_NODES - 1
    for k, (s, t) in enumerate(nb201.EDGES, start=1):
        if s == 0:
            a[0, k] = 1
        if t == nb201.NUM_NODES - 1:
            a[k, last] = 1
        for m, (s2, _) in enumerate(nb201.EDGES, start=1):
            if s2 == t:
                a[k, m] = 1
    return a


def adjacency(cells: Sequence[nb201.Cell], drop_none: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The op-on-node graph of each cell, as the Neural Predictor (Wen et al., 2020) reads it.

    Every edge of the cell becomes a node carrying its operation, between an input and an
    output node (8 nodes: input, the six edges in ``EDGES`` order, output); node ``u`` feeds
    node ``v`` when the edge of ``u`` ends where the edge of ``v`` starts. Returns
    ``(adj, nodes)``: ``adj[i, u, v] = 1`` for a link ``u -> v`` (shape ``(n, 8, 8)``) and
    ``nodes[i, u]`` the one-hot label of node ``u`` over :data:`NODE_LABELS` (shape
    ``(n, 8, 7)``). With ``drop_none`` (the default) the links of ``none`` nodes are cut, so
    that the graph shows where data actually flows; the node keeps its ``none`` label.
    """
    ids = op_id_matrix(cells)
    n = len(ids)
    adj = np.broadcast_to(_line_graph(), (n, NUM_GRAPH_NODES, NUM_GRAPH_NODES)).copy()
    if drop_none:
        dead = np.zeros((n, NUM_GRAPH_NODES), dtype=bool)
        dead[:, 1:-1] = ids == nb201.OPS.index("none")
        adj[dead] = 0                              # rows: links out of a none node
        adj.transpose(0, 2, 1)[dead] = 0           # columns: links into it
    labels = np.empty((n, NUM_GRAPH_NODES), dtype=np.int64)
    labels[:, 0], labels[:, -1] = 0, len(NODE_LABELS) - 1
    labels[:, 1:-1] = ids + 1
    nodes = np.eye(len(NODE_LABELS), dtype=np.float32)[labels]
    return adj, nodes


def graph_rows(cells: Sequence[nb201.Cell], drop_none: bool = True) -> np.ndarray:
    """:func:`adjacency` flattened to one row per cell, ``[adj (8*8) | nodes (8*7)]``: the 2-D
    input that :class:`nascourse.predictors.GCNRegressor` (``n_nodes=8``) expects."""
    adj, nodes = adjacency(cells, drop_none=drop_none)
    return np.concatenate([adj.reshape(len(adj), -1), nodes.reshape(len(nodes), -1)], axis=1)


@cache
def input_output_paths(edges: tuple[tuple[int, int], ...] = nb201.EDGES,
                       num_nodes: int = nb201.NUM_NODES) -> tuple[tuple[int, ...], ...]:
    """Every path from node 0 to node ``num_nodes - 1`` of the DAG with these ``edges``, each
    as a tuple of edge positions, shortest first (NB201: 0->3, 0->1->3, 0->2->3, 0->1->2->3)."""
    paths: list[tuple[int, ...]] = []

    def walk(node: int, used: tuple[int, ...]) -> None:
        if node == num_nodes - 1:
            paths.append(used)
            return
        for k, (s, t) in enumerate(edges):
            if s == node:
                walk(t, used + (k,))

    walk(0, ())
    return tuple(sorted(paths, key=lambda p: (len(p), p)))


#: Operations that may appear on a path of the path encoding (``none`` carries no data).
PATH_OPS: tuple[str, ...] = tuple(op for op in nb201.OPS if op != "none")


@cache
def _path_offsets() -> tuple[int, ...]:
    """First column of the block of paths of length 1, 2, 3, ... in :func:`path`."""
    longest = max(len(p) for p in input_output_paths())
    sizes = [len(PATH_OPS) ** length for length in range(1, longest + 1)]
    return tuple(np.concatenate([[0], np.cumsum(sizes)]).tolist())


def path(cells: Sequence[nb201.Cell]) -> np.ndarray:
    """Path encoding (White et al., 2021, BANANAS): one 0/1 column per possible sequence of
    operations from input to output; a column is 1 when the cell has a path carrying exactly
    that sequence. Only paths that carry data count (no ``none`` on them), so there are
    4 + 4**2 + 4**3 = 84 columns, ordered by length; names: :func:`path_names`."""
    ids = op_id_matrix(cells)
    n = len(ids)
    code = np.full(len(nb201.OPS), -1)
    code[[nb201.OPS.index(op) for op in PATH_OPS]] = np.arange(len(PATH_OPS))
    codes = code[ids]                                   # -1 marks a none edge
    offsets = _path_offsets()
    out = np.zeros((n, offsets[-1]), dtype=np.int64)
    for edges_on_path in input_output_paths():
        on_path = codes[:, list(edges_on_path)]
        column = offsets[len(edges_on_path) - 1] + on_path @ (len(PATH_OPS) ** np.arange(len(edges_on_path)))
        alive = (on_path >= 0).all(axis=1)
        out[np.flatnonzero(alive), column[alive]] = 1
    return out


def path_names() -> list[str]:
    """Column names of :func:`path`, such as ``'nor_conv_3x3>skip_connect'`` (input first)."""
    names = []
    for length in range(1, len(_path_offsets())):
        for number in range(len(PATH_OPS) ** length):
            digits = [(number // len(PATH_OPS) ** j) % len(PATH_OPS) for j in range(length)]
            names.append(">".join(PATH_OPS[d] for d in digits))
    return names
