"""GENNAPE, performance predictors that generalise across search spaces (chapter 08).

- :mod:`~nascourse.gennape.graphs`: computational graphs of any torch network (``torch.fx``),
  and of a DARTS genotype's network without tracing (:func:`trace_darts`, the same graph);
  node features, batches, Laplacian spectra, FLOPs, drawing;
- :mod:`~nascourse.gennape.encoder`: the message-passing graph encoder;
- :mod:`~nascourse.gennape.contrastive`: the contrastive loss with structural positives and
  pre-training;
- :mod:`~nascourse.gennape.fuzzy`: fuzzy c-means;
- :mod:`~nascourse.gennape.transform`: the FLOPs-aware label transform;
- :mod:`~nascourse.gennape.ensemble`: regression heads weighted by fuzzy membership;
- :mod:`~nascourse.gennape.experiment`: the families and the transfer experiment of the chapter.

:class:`FuzzyCMeans`, :class:`FlopsTransform` and :class:`GennapeRegressor` are scikit-learn
estimators (``tests/test_estimators.py`` runs scikit-learn's checks on them); the FLOPs go
in as the keyword ``flops=``. Everything random comes from explicit generators
(:func:`~nascourse.gennape.encoder.seeded_module` for torch weights): torch's and numpy's
global generators are never seeded.
"""

from nascourse.gennape.contrastive import pretrain, structural_nt_xent, structural_similarity
from nascourse.gennape.encoder import GraphEncoder, embed, make_encoder, train_regression
from nascourse.gennape.ensemble import GennapeRegressor, HeadEnsemble
from nascourse.gennape.fuzzy import FuzzyCMeans, memberships
from nascourse.gennape.graphs import (OP_TYPES, GraphBatch, batch_graphs, count_ops, draw_graph, graph_flops,
                                      laplacian_spectrum, node_features, trace, trace_darts)
from nascourse.gennape.transform import FlopsTransform

__all__ = ["OP_TYPES", "FlopsTransform", "FuzzyCMeans", "GennapeRegressor", "GraphBatch", "GraphEncoder",
           "HeadEnsemble", "batch_graphs", "count_ops", "draw_graph", "embed", "graph_flops",
           "laplacian_spectrum", "make_encoder", "memberships", "node_features", "pretrain",
           "structural_nt_xent", "structural_similarity", "trace", "trace_darts", "train_regression"]
