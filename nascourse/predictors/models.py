"""The tabular predictors of chapters 06 and 07, by name, with the settings the chapters use.

Each entry of :data:`MODELS` builds a fresh scikit-learn estimator from a seed, so that an
experiment can ask for "the random forest with seed 3" by name. The forest and the boosted
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


def random_forest(random_state: int = 0, **params) -> RandomForestRegressor:
    """scikit-learn's random forest (Breiman, 2001) with its defaults: 100 fully grown
    trees, each on a bootstrap sample, every feature considered at every split."""
    return RandomForestRegressor(random_state=random_state, **params)


def gradient_boosting(random_state: int = 0, **params) -> GradientBoostingRegressor:
    """scikit-learn's gradient boosting with its defaults: 100 trees of depth 3, learning
    rate 0.1, squared error. (The histogram variant needs 20 samples per leaf by default and
    predicts a constant from 32 training cells.)"""
    return GradientBoostingRegressor(random_state=random_state, **params)


def mlp(random_state: int = 0, hidden_layer_sizes: tuple[int, ...] = (64, 64), max_iter: int = 2000,
        **params) -> TransformedTargetRegressor:
    """A multi-layer perceptron (ReLU, Adam, L2 penalty ``alpha``) on standardised inputs,
    predicting the standardised target."""
    net = MLPRegressor(hidden_layer_sizes=hidden_layer_sizes, max_iter=max_iter, random_state=random_state,
                       **params)
    return TransformedTargetRegressor(regressor=make_pipeline(StandardScaler(), net),
                                      transformer=StandardScaler())


def gcn(random_state: int = 0, **params) -> GCNRegressor:
    """The Neural Predictor (:class:`GCNRegressor`); it reads graph rows, not a table."""
    return GCNRegressor(random_state=random_state, **params)


#: Predictor factories by name: ``MODELS[name](random_state) -> estimator``.
MODELS: dict[str, Callable[..., BaseEstimator]] = {
    "random forest": random_forest,
    "boosting": gradient_boosting,
    "MLP": mlp,
    "GCN": gcn,
}


def make_model(name: str, random_state: int = 0, **params) -> BaseEstimator:
    """A fresh estimator of the kind ``name`` (a key of :data:`MODELS`)."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; valid names are {list(MODELS)}")
    return MODELS[name](random_state=random_state, **params)
