"""The two-stage Neural Predictor of Wen et al. (2020), chapter 06: a classifier first
separates promising architectures from poor ones, then a regressor trained only on the
promising ones ranks them.

The idea answers a property of NAS benchmarks: accuracies have a long tail of poor
architectures, and a regressor fitted to all of them spends its capacity telling bad from
terrible, while a search only cares about the order at the top.
"""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin, clone
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse._checks import check_fraction
from nascourse.predictors.base import FitsMany
from nascourse.predictors.gcn import GCNClassifier, GCNRegressor


class TwoStagePredictor(RegressorMixin, FitsMany, BaseEstimator):
    """Classifier then regressor.

    ``fit`` labels the best ``top_fraction`` of the training cells (by rank of ``y``) as
    promising, trains ``classifier`` (default :class:`GCNClassifier`) on all cells to
    recognise them and ``regressor`` (default :class:`GCNRegressor`) on the promising ones
    only. ``predict`` returns the regressor's value (at least ``threshold_``, the lowest
    promising training value) for cells the classifier accepts, and for the others a value
    between ``low_mean_`` (the mean training value of the poor cells) and ``threshold_``,
    lower the surer the classifier is that the cell is poor. So every accepted cell ranks
    above every rejected one.
    ``random_state`` seeds both stages when given. :meth:`fit_many` (the
    :class:`~nascourse.predictors.base.FitsMany` protocol) trains the stages of many seeds
    side by side when the stages are themselves :class:`FitsMany` (the GCNs).
    """

    def __init__(self, classifier=None, regressor=None, top_fraction: float = 0.5, random_state=None) -> None:
        self.classifier = classifier
        self.regressor = regressor
        self.top_fraction = top_fraction
        self.random_state = random_state

    def _stages(self):
        stages = [clone(GCNClassifier() if self.classifier is None else self.classifier),
                  clone(GCNRegressor() if self.regressor is None else self.regressor)]
        if self.random_state is not None:
            for stage in stages:
                if "random_state" in stage.get_params():
                    stage.set_params(random_state=self.random_state)
        return stages

    def _labels(self, y: np.ndarray) -> np.ndarray:
        check_fraction("top_fraction", self.top_fraction, allow_zero=False, allow_one=False)
        n_top = min(max(math.ceil(self.top_fraction * len(y)), 1), len(y) - 1) if len(y) > 1 else 1
        good = np.zeros(len(y), dtype=bool)
        good[np.argsort(-y, kind="stable")[:n_top]] = True
        return good

    def fit(self, X, y) -> "TwoStagePredictor":
        """Fit both stages on ``X``, ``y``; returns ``self``."""
        X, y = validate_data(self, X, y, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        good = self._labels(y)
        self.classifier_, self.regressor_ = self._stages()
        if good.all():                                   # a single training cell
            self.classifier_ = None
        else:
            self.classifier_.fit(X, good)
        self.regressor_.fit(X[good], y[good])
        self._set_range(y, good)
        return self

    def _set_range(self, y: np.ndarray, good: np.ndarray) -> None:
        self.threshold_ = float(y[good].min())
        self.low_mean_ = float(y[~good].mean()) if (~good).any() else self.threshold_

    def fit_many(self, X, y, train_sets: Sequence[Sequence[int]], random_states: Sequence[int]) -> list:
        """One fitted copy per training set (all of one size), as ``fit`` would train them one
        by one; a stage that is a :class:`FitsMany` (the GCN stages) trains its copies side by
        side."""
        X, y = validate_data(clone(self), X, y, y_numeric=True)
        y = np.asarray(y, dtype=np.float64)
        sets = [np.asarray(s, dtype=np.int64) for s in train_sets]
        copies = [clone(self).set_params(random_state=r) for r in random_states]
        goods = [c._labels(y[s]) for c, s in zip(copies, sets)]
        stages = [c._stages() for c in copies]
        jobs = (([s for s in sets], goods),                            # classifier: all cells
                ([s[g] for s, g in zip(sets, goods)], [y[s[g]] for s, g in zip(sets, goods)]))
        for k, (rows, targets) in enumerate(jobs):
            first = stages[0][k]
            if isinstance(first, FitsMany) and len({len(r) for r in rows}) == 1:
                fitted = first.fit_many(X, list(targets), rows, [st[k].get_params()["random_state"] for st in stages])
            else:
                fitted = [st[k].fit(X[r], t) for st, r, t in zip(stages, rows, targets)]
            for st, f in zip(stages, fitted):
                st[k] = f
        for c, (clf, reg), s, g in zip(copies, stages, sets, goods):
            c.n_features_in_ = X.shape[1]
            c.classifier_, c.regressor_ = clf, reg
            c._set_range(y[s], g)
        return copies

    def accepts(self, X) -> np.ndarray:
        """Which rows the classifier accepts as promising (probability at least one half);
        all of them when a single training cell left no classifier. The replication of
        Trirat and Sawadwuthikul (2021) scores the second stage on these rows only."""
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, reset=False)
        if self.classifier_ is None:
            return np.ones(len(X), dtype=bool)
        return self._p_good(X) >= 0.5

    def _p_good(self, X: np.ndarray) -> np.ndarray:
        return self.classifier_.predict_proba(X)[:, list(self.classifier_.classes_).index(True)]

    def predict(self, X) -> np.ndarray:
        """Predicted targets; accepted cells first in any ranking (see the class docstring)."""
        check_is_fitted(self, "regressor_")
        X = validate_data(self, X, reset=False)
        value = np.maximum(self.regressor_.predict(X), self.threshold_)
        if self.classifier_ is None:
            return value
        p_good = self._p_good(X)
        rejected = self.threshold_ - (1 - p_good) * (self.threshold_ - self.low_mean_)
        return np.where(p_good >= 0.5, value, np.minimum(rejected, self.threshold_))

