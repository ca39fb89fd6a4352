"""Encodings of an architecture, the inputs of the performance predictors of chapters 06
and 07: one-hot (:func:`onehot`), the op-on-node graph of the Neural Predictor
(:func:`adjacency`, :func:`graph_rows`), the path encoding (:func:`path`), the shipped
zero-cost proxies (:func:`zcp`) and the GRAF neural graph features (:func:`graf`, with
their definitions as data in :data:`GRAF_NB201`, the course's earlier
:data:`GRAF_NB201_SMALL`, and :data:`GRAF_TNB101_MICRO`).
"""

from nascourse.features.encodings import (NODE_LABELS, PATH_OPS, adjacency, graph_rows,
                                          input_output_paths, onehot, onehot_names, op_id_matrix,
                                          path, path_names)
from nascourse.features.graf import (GRAF_NB201, GRAF_NB201_SMALL, GRAF_TNB101_MICRO,
                                     GRAF_TNB101_MICRO_SMALL, GROUP_SETS, KINDS, NO_LONGEST_PATH,
                                     NO_PATH, SHORT_NAMES, TNB101_MICRO_OPS, FeatureGroup,
                                     feature_names, graf, graf_groups, op_subsets,
                                     tnb101_micro_cells)
from nascourse.features.zcp import zcp

__all__ = ["GRAF_NB201", "GRAF_NB201_SMALL", "GRAF_TNB101_MICRO", "GRAF_TNB101_MICRO_SMALL",
           "GROUP_SETS", "KINDS", "NODE_LABELS", "NO_LONGEST_PATH", "NO_PATH", "PATH_OPS",
           "SHORT_NAMES", "TNB101_MICRO_OPS", "FeatureGroup", "adjacency", "feature_names", "graf",
           "graf_groups", "graph_rows", "input_output_paths", "onehot", "onehot_names",
           "op_id_matrix", "op_subsets", "path", "path_names", "tnb101_micro_cells", "zcp"]
