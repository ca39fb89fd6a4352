"""What the predictors share beyond scikit-learn's contract (chapter 06): the
:class:`FitsMany` protocol, for estimators that fit one copy per seed side by side.

Every estimator of :mod:`nascourse.predictors` is a scikit-learn estimator
(``BaseEstimator``, with ``RegressorMixin`` or ``ClassifierMixin``): hyper-parameters in
``__init__``, ``fit`` returns ``self``, ``NotFittedError`` before ``fit``, and a
``random_state`` that seeds the estimator's own generators (never a global one). The
experiments repeat a fit over many seeds; an estimator that can train those copies faster
together than one by one (the GCNs: many tiny networks as one batched network) says so by
subclassing :class:`FitsMany`, and :mod:`~nascourse.predictors.experiments` then calls
its ``fit_many`` instead of one ``fit`` per seed.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Sequence


class FitsMany(ABC):
    """An estimator that fits one copy of itself per training set in one call.

    ``fit_many(X, y, train_sets, random_states)`` returns a list of fitted copies: copy
    ``k`` must be what ``clone(self).set_params(random_state=random_states[k]).fit(
    X[train_sets[k]], y[train_sets[k]])`` gives (up to floating-point rounding), where ``y``
    has one target per row of ``X`` (the GCNs also accept a list with one target array per
    training set). An implementation may require the training sets to have one size;
    callers pass sets of one size only.
    """

    @abstractmethod
    def fit_many(self, X, y, train_sets: Sequence[Sequence[int]], random_states: Sequence[int]) -> list:
        """One fitted copy per training set (see the class docstring)."""
