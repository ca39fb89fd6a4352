"""The predictors of chapters 06 and 07, by name, with the settings the chapters use.

Each entry of :data:`MODELS` (a :class:`~nascourse.registry.Registry`) builds a fresh
scikit-learn estimator from a seed, so that an experiment can ask for "the random forest
with seed 3" by name: ``make_model("random_forest", 3)``. The names are ``random_forest``,
``gradient_boosting``, ``mlp`` and ``gcn``; the names of earlier versions ("random forest",
"boosting", "MLP", "GCN") still resolve, as aliases. Adding a model is one factory
``(random_state, **params) -> estimator`` and one line::

    @MODELS.register("extra_trees")
    def extra_trees(random_state: int = 0, **params) -> ExtraTreesRegressor:
        return ExtraTreesRegressor(random_state=random_state, **params)
 The forest and the boosted
trees are scikit-learn's own with their default hyper-parameters (the GRAF paper uses the
default forest); the MLP standardises its inputs and its target, without which a small
network on raw accuracies (tens of points) and proxies (spanning orders of magnitude)
trains badly.
"""

from __future__ import annotations

from typing import Callable

from sklearn.base import BaseEstimator
from sklearn.compose import TransformedTargetRegressor
from sklearn.ensemble import GradientBoostingRegressor, RandomForestRegressor
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from nascourse.predictors.gcn import GCNRegressor
from nascourse.registry import Registry

#: Predictor factories by name: ``MODELS[name](random_state, **params) -> estimator``.
MODELS: Registry[Callable[..., BaseEstimator]] = Registry("model")


@MODELS.register("random_forest", aliases=("random forest",))   # alias: the name of earlier versions
def random_forest(random_state: int = 0, **params) -> RandomForestRegressor:
    """scikit-learn's random forest (Breiman, 2001) with its defaults: 100 fully grown
    trees, each on a bootstrap sample, every feature considered at every split."""
    return RandomForestRegressor(random_state=random_state, **params)


@MODELS.register("gradient_boosting", aliases=("boosting",))    # alias: the name of earlier versions
def gradient_boosting(random_state: int = 0, **params) -> GradientBoostingRegressor:
    """scikit-learn's gradient boosting with its defaults: 100 trees of depth 3, learning
    rate 0.1, squared error. (The histogram variant needs 20 samples per leaf by default and
    predicts a constant from 32 training cells.)"""
    return GradientBoostingRegressor(random_state=random_state, **params)


@MODELS.register("mlp", aliases=("MLP",))                       # alias: the name of earlier versions
def mlp(random_state: int = 0, hidden_layer_sizes: tuple[int, ...] = (64, 64), max_iter: int = 2000,
        **params) -> TransformedTargetRegressor:
    """A multi-layer perceptron (ReLU, Adam, L2 penalty ``alpha``) on standardised inputs,
    predicting the standardised target."""
    net = MLPRegressor(hidden_layer_sizes=hidden_layer_sizes, max_iter=max_iter, random_state=random_state,
                       **params)
    return TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), net),
                                      transformer=StandardScaler())


@MODELS.register("gcn", aliases=("GCN",))                       # alias: the name of earlier versions
def gcn(random_state: int = 0, **params) -> GCNRegressor:
    """The Neural Predictor (:class:`GCNRegressor`); it reads graph rows, not a table."""
    return GCNRegressor(random_state=random_state, **params)


def make_model(name: str, random_state: int = 0, **params) -> BaseEstimator:
    """A fresh estimator of the kind ``name`` (a name or alias in :data:`MODELS`), seeded by
    ``random_state``; ``params`` go to the factory. An unknown name is a ValueError listing
    the valid names, a name that is not a str a TypeError."""
    return MODELS.get(name)(random_state=random_state, **params)
