"""Performance predictors (chapters 06 and 07): scikit-learn estimators that learn an
architecture's accuracy from an encoding of it.

- :mod:`~nascourse.predictors.base`: the :class:`FitsMany` protocol (fit one copy per seed
  side by side), beside scikit-learn's estimator contract that every estimator follows;
- :mod:`~nascourse.predictors.models`: the random forest, gradient boosting, an MLP and the
  GCN by name (the registry :data:`MODELS`, :func:`make_model`);
- :mod:`~nascourse.predictors.gcn`: the Neural Predictor of Wen et al. (2020), a directed
  GCN (:class:`GCNRegressor`, :class:`GCNClassifier`), which trains many seeds side by side;
- :mod:`~nascourse.predictors.two_stage`: its two-stage variant (:class:`TwoStagePredictor`);
- :mod:`~nascourse.predictors.metrics`: Kendall tau, Spearman, MSE, R^2, top-K;
- :mod:`~nascourse.predictors.experiments`: data curves (ranking quality against
  training-set size), the predictor-guided search and its sample efficiency;
- :mod:`~nascourse.predictors.families`: the predictor families of chapter 07 compared on the
  same splits.
"""

from nascourse.predictors import experiments, families, metrics
from nascourse.predictors.base import FitsMany
from nascourse.predictors.gcn import GCNClassifier, GCNRegressor
from nascourse.predictors.models import MODELS, gradient_boosting, make_model, mlp, random_forest
from nascourse.predictors.two_stage import TwoStagePredictor

__all__ = ["FitsMany", "GCNClassifier", "GCNRegressor", "MODELS", "TwoStagePredictor", "experiments", "families",
           "gradient_boosting", "make_model", "metrics", "mlp", "random_forest"]
