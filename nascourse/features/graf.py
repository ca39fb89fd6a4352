"""GRAF, the neural graph features of Kadlecová et al. (ICML 2024), for cells with operations
on the edges of a small DAG (chapter 07 explains them, with drawings).

Each feature looks at the cell's graph through a *subset* ``S`` of the operations: only the
edges whose operation is in ``S`` are kept, and a simple property of what is left is
measured. The properties (:data:`KINDS`) follow the authors' released code (``graf_nas``,
``features/base.py`` and ``features/nasbench201.py``; its predecessor ``zc_combine``):

- ``op_count``: how many edges carry an operation of the subset (used for single operations);
- ``min_path``: the fewest edges on an input-output path that uses only kept edges, i.e. the
  shortest path when the operations outside ``S`` are banned; :data:`NO_PATH` (6, the number
  of edges, the authors' score) when there is none;
- ``max_path``: the most edges on such a path; :data:`NO_LONGEST_PATH` (-1, the authors'
  score: their path of no nodes minus one) when there is none;
- ``input_out_degree`` / ``output_in_degree``: kept edges leaving the input node / entering
  the output node;
- ``mean_in_degree`` / ``mean_out_degree``: the mean number of kept edges entering / leaving
  a node, the mean taken over *all* nodes of the cell as in the authors' code. Every edge
  leaves one node and enters one, so on NAS-Bench-201 both equal ``op_count`` of ``S``
  divided by the four nodes: the count of the whole subset, which the single-operation
  counts do not give directly;
- ``mid_in_degree`` / ``mid_out_degree``: the same means over the *intermediate* nodes
  only, as the talk's slide words it ("mean in/out degree of intermediate nodes") and as
  this package computed them before it followed the authors' code.

Where the course's earlier implementation differed from the authors' code it now follows
theirs: the unreachable scores were 4 and 0 (the authors' 6 and -1 order the cells the same
way, so a tree model splits them identically), and the mean degrees were over intermediate
nodes (kept as the ``mid_*`` kinds). ``zc_combine`` wrote the shortest-path subsets as
*banned* sets; banning ``B`` is allowing the complement of ``B``, and the released code
lists allowed sets, as we do.

*Which* subsets each property uses is data, not code: a feature set is a tuple of
:class:`FeatureGroup` (a kind and its subsets). :data:`GRAF_NB201` is the authors'
NAS-Bench-201 configuration (``graf_nas/configs/nb201.json``): the five operation counts,
and every non-empty subset of the five operations, ``2**5 - 1 = 31`` of them, for the
shortest path, the longest path and the four degree features of ``node_degree``
(input out-degree, output in-degree, mean in- and out-degree):
``5 + 31 + 31 + 4 * 31 = 191`` features. As in the paper, ``none`` is an operation like
any other, so subsets containing it describe the graph as drawn rather than the
computation; on the full subset every property is the same for all cells (the
NAS-Bench-201 graph is complete), so six of the 191 columns are constant, as in the
authors' table. :data:`GRAF_NB201_SMALL` is the course's earlier set: the 30 non-empty
*proper* subsets and the intermediate-node means, ``5 + 6 * 30 = 185`` features.
All features are computed at once with array operations over the cells.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np
import pandas as pd

from nascourse._checks import check_bool, check_sequence
from nascourse.features.encodings import input_output_paths, op_id_matrix
from nascourse.spaces import nb201

#: Short operation names used in feature names.
SHORT_NAMES: dict[str, str] = {"none": "none", "skip_connect": "skip", "nor_conv_1x1": "conv1x1",
                               "nor_conv_3x3": "conv3x3", "avg_pool_3x3": "avgpool"}

#: ``min_path`` of a cell with no path over the subset: the number of edges, longer than any
#: real path (the authors' ``max_val``, ``len(edges)``).
NO_PATH: int = len(nb201.EDGES)

#: ``max_path`` of a cell with no path over the subset (the authors' score: -1).
NO_LONGEST_PATH: int = -1

#: The operations of a TransNAS-Bench-101 micro cell, by the digit that encodes them.
TNB101_MICRO_OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3")


@dataclass(frozen=True)
class FeatureGroup:
    """One property (a key of :data:`KINDS`) measured once for each operation subset."""

    kind: str
    subsets: tuple[tuple[str, ...], ...]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown feature kind {self.kind!r}; valid kinds are {list(KINDS)}")
        subsets = tuple(tuple(s) for s in self.subsets)
        for subset in subsets:
            if not subset or len(set(subset)) != len(subset):
                raise ValueError(f"a subset must be non-empty without repeats, got {subset!r}")
            for op in subset:
                if op not in nb201.OPS:
                    raise ValueError(f"unknown operation {op!r} in {subset!r}; valid: {list(nb201.OPS)}")
        object.__setattr__(self, "subsets", subsets)

    def names(self) -> list[str]:
        """One column name per subset, such as ``'min_path(skip,conv3x3)'``."""
        return [f"{self.kind}({','.join(SHORT_NAMES[op] for op in s)})" for s in self.subsets]


def op_subsets(ops: Sequence[str], proper: bool = True) -> tuple[tuple[str, ...], ...]:
    """Every non-empty subset of ``ops`` (without ``ops`` itself when ``proper``), smallest
    first and in the order of ``ops`` within each size."""
    top = len(ops) - 1 if proper else len(ops)
    return tuple(s for k in range(1, top + 1) for s in itertools.combinations(tuple(ops), k))


#: The families of the authors' NAS-Bench-201 configuration after the operation counts, in
#: order (``node_degree`` gives the last four).
FULL_KINDS: tuple[str, ...] = ("min_path", "max_path", "input_out_degree", "output_in_degree",
                               "mean_in_degree", "mean_out_degree")
#: The families of the course's earlier, smaller set after the operation counts.
SMALL_KINDS: tuple[str, ...] = ("min_path", "max_path", "input_out_degree", "output_in_degree",
                                "mid_in_degree", "mid_out_degree")


def graf_groups(ops: Sequence[str], small: bool = False) -> tuple[FeatureGroup, ...]:
    """The authors' feature set for a space with operations ``ops``: one count per
    operation, and every path and degree property (:data:`FULL_KINDS`) over every non-empty
    subset of ``ops``, ``len(ops) + 6 * (2**len(ops) - 1)`` features.

    With ``small=True``, the course's earlier set: the non-empty *proper* subsets and the
    intermediate-node mean degrees (:data:`SMALL_KINDS`), ``len(ops) + 6 * (2**len(ops) - 2)``.
    """
    ops = check_sequence("ops", ops, str, "operation name")
    small = check_bool("small", small)
    subsets = op_subsets(ops, proper=small)
    kinds = SMALL_KINDS if small else FULL_KINDS
    return (FeatureGroup("op_count", tuple((op,) for op in ops)),
            *(FeatureGroup(kind, subsets) for kind in kinds))


# ----- the properties, each a function of the (cells x edges) mask of kept edges -------------

def _sources(node: int) -> list[int]:
    return [k for k, (s, _) in enumerate(nb201.EDGES) if s == node]


def _targets(node: int) -> list[int]:
    return [k for k, (_, t) in enumerate(nb201.EDGES) if t == node]


def _path_lengths(kept: np.ndarray) -> np.ndarray:
    """Length of every input-output path, or NaN where the path uses a banned edge."""
    paths = input_output_paths()
    lengths = np.array([len(p) for p in paths], dtype=float)
    alive = np.stack([kept[:, list(p)].all(axis=1) for p in paths], axis=1)
    return np.where(alive, lengths, np.nan)


def _min_path(kept: np.ndarray) -> np.ndarray:
    lengths = np.nan_to_num(_path_lengths(kept), nan=np.inf).min(axis=1)
    return np.where(np.isinf(lengths), NO_PATH, lengths)


def _max_path(kept: np.ndarray) -> np.ndarray:
    return np.nan_to_num(_path_lengths(kept), nan=NO_LONGEST_PATH).max(axis=1)


def _mean_degree(kept: np.ndarray, edges_of: Callable[[int], list[int]], nodes: range) -> np.ndarray:
    return np.mean([kept[:, edges_of(v)].sum(axis=1) for v in nodes], axis=0)


_ALL_NODES = range(nb201.NUM_NODES)
_MIDDLE = range(1, nb201.NUM_NODES - 1)

#: Every property GRAF measures, by name: a function of the boolean mask (cells x edges) of
#: the edges whose operation is in the subset.
KINDS: dict[str, Callable[[np.ndarray], np.ndarray]] = {
    "op_count": lambda kept: kept.sum(axis=1),
    "min_path": _min_path,
    "max_path": _max_path,
    "input_out_degree": lambda kept: kept[:, _sources(0)].sum(axis=1),
    "output_in_degree": lambda kept: kept[:, _targets(nb201.NUM_NODES - 1)].sum(axis=1),
    "mean_in_degree": lambda kept: _mean_degree(kept, _targets, _ALL_NODES),
    "mean_out_degree": lambda kept: _mean_degree(kept, _sources, _ALL_NODES),
    "mid_in_degree": lambda kept: _mean_degree(kept, _targets, _MIDDLE),
    "mid_out_degree": lambda kept: _mean_degree(kept, _sources, _MIDDLE),
}

#: The authors' GRAF feature set for NAS-Bench-201 (191 features, six of them constant).
GRAF_NB201: tuple[FeatureGroup, ...] = graf_groups(nb201.OPS)
#: The course's earlier, smaller NAS-Bench-201 set (185 features; see the module docstring).
GRAF_NB201_SMALL: tuple[FeatureGroup, ...] = graf_groups(nb201.OPS, small=True)
#: GRAF for TransNAS-Bench-101 micro cells over their four operations (no pooling):
#: ``4 + 6 * 15 = 94`` features. The authors' configuration lists avg_pool too, which these
#: cells never contain, so its extra columns repeat these or are zero.
GRAF_TNB101_MICRO: tuple[FeatureGroup, ...] = graf_groups(TNB101_MICRO_OPS)
#: The course's earlier TransNAS-Bench-101 micro set (``4 + 6 * 14 = 88`` features).
GRAF_TNB101_MICRO_SMALL: tuple[FeatureGroup, ...] = graf_groups(TNB101_MICRO_OPS, small=True)

#: The named feature sets, for callers that pick one by name.
GROUP_SETS: dict[str, tuple[FeatureGroup, ...]] = {
    "nb201": GRAF_NB201, "nb201_small": GRAF_NB201_SMALL,
    "tnb101_micro": GRAF_TNB101_MICRO, "tnb101_micro_small": GRAF_TNB101_MICRO_SMALL}


def feature_names(groups: Sequence[FeatureGroup] = GRAF_NB201) -> list[str]:
    """The column names :func:`graf` gives for ``groups``, in order."""
    return [name for group in groups for name in group.names()]


def graf(cells: Sequence[nb201.Cell], groups: Sequence[FeatureGroup] = GRAF_NB201,
         index: Sequence | None = None) -> pd.DataFrame:
    """GRAF features of ``cells``: one row per cell (in order), one column per feature of
    ``groups`` (default: the authors' NAS-Bench-201 set, 191 features; pass
    ``GRAF_NB201_SMALL`` for the course's earlier 185).

    The rows are labelled by ``index`` if given, else by the NAS-Bench-201 benchmark index
    of each cell, so that the result joins with the tables of :mod:`nascourse.benchmarks`. For
    TransNAS-Bench-101 micro cells (:func:`tnb101_micro_cells`) pass
    ``groups=GRAF_TNB101_MICRO`` and that table's own index.
    """
    groups = check_sequence("groups", groups, FeatureGroup, "FeatureGroup (e.g. features.GRAF_NB201)")
    ids = op_id_matrix(cells)
    if index is not None and len(index) != len(ids):
        raise ValueError(f"index has {len(index)} labels for {len(ids)} cells")
    bits = np.left_shift(1, ids)                        # one bit per operation
    columns = []
    for group in groups:
        fn = KINDS[group.kind]
        for subset in group.subsets:
            mask = sum(1 << nb201.OPS.index(op) for op in subset)
            columns.append(fn((bits & mask) != 0))
    values = np.stack(columns, axis=1).astype(float) if columns else np.empty((len(ids), 0))
    labels = pd.Index(index if index is not None else [c.index for c in cells], name="index")
    return pd.DataFrame(values, index=labels, columns=feature_names(groups))


def tnb101_micro_cells(nets: Sequence[str]) -> list[nb201.Cell]:
    """TransNAS-Bench-101 micro cells from their six-digit codes (``load_tnb101_micro().net``).

    The micro cell has NAS-Bench-201's graph (4 nodes, 6 edges) and four operations. Each
    digit is one edge, in the order of NAS-Bench-201's string form (0->1, 0->2, 1->2, 0->3,
    1->3, 2->3), which is TransNAS-Bench-101's own ``64-41414-a_bc_def`` order; the digit is
    the operation: 0 none (zeroise), 1 skip_connect, 2 nor_conv_1x1, 3 nor_conv_3x3
    (:data:`TNB101_MICRO_OPS`). The cells come back as :class:`nb201.Cell`, so every tool for
    NB201 cells (drawings, GRAF) applies. (NASLib lists these operations in another order,
    ``Identity, Zero, ReLUConvBN3x3, ReLUConvBN1x1``, but writes the digits unchanged into
    the benchmark's string; parameter counts confirm 2 = 1x1 and 3 = 3x3 convolution.)
    """
    cells = []
    for net in check_sequence("nets", nets, str, "six-digit string such as '013200'"):
        if len(net) != len(nb201.EDGES) or not set(net) <= set("0123"):
            raise ValueError(f"a TransNAS-Bench-101 micro code is six digits 0-3, got {net!r}")
        cells.append(nb201.Cell(tuple(TNB101_MICRO_OPS[int(d)] for d in net)))
    return cells
