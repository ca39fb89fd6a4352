"""GENNAPE's FLOPs-aware label transform and its inverse (chapter 08, section on labels).

Instead of the accuracy ``A`` of a network with ``F`` FLOPs, GENNAPE's heads learn

    y = Z( A / (log10(F + 1) + 1) ),

``Z`` the standardisation (subtract the mean, divide by the standard deviation) fitted on
the training labels. The division takes out the part of the accuracy that size alone
explains; at prediction time the inverse multiplies it back in,
``A = (mean + std * y) * (log10(F + 1) + 1)``, so a network's own FLOPs always enter its
predicted accuracy. With ``use_flops=False`` the transform is a plain standardisation.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse._checks import check_array, check_bool


class FlopsTransform(TransformerMixin, BaseEstimator):
    """``y = Z(A / (log10(F + 1) + 1))`` (or ``Z(A)`` with ``use_flops=False``), a
    scikit-learn transformer of accuracies.

    ``X`` holds the accuracies: a vector (one per network; the result is then a vector
    too) or a 2-D array (networks x columns, each column standardised on its own, the
    shape ``TransformedTargetRegressor`` hands its transformer). The networks' FLOPs go in
    as the keyword ``flops`` (one value per network) to every method, because the
    transform of a network depends on its own size. After :meth:`fit`, ``mean_`` and
    ``std_`` (one value per column) hold the standardisation; :meth:`transform` and
    :meth:`inverse_transform` raise ``NotFittedError`` before it.
    """

    def __init__(self, use_flops: bool = True):
        self.use_flops = use_flops

    def _labels(self, X, reset: bool) -> tuple[np.ndarray, bool]:
        """``X`` as a 2-D float array, and whether it came as a vector (a column)."""
        vector = np.asarray(X).ndim == 1
        if vector and not reset and self.n_features_in_ != 1:
            raise ValueError(f"Reshape your data: a vector of accuracies is one column, but this transform "
                             f"was fitted on {self.n_features_in_} columns")
        return validate_data(self, np.reshape(X, (-1, 1)) if vector else X, dtype=np.float64, reset=reset), vector

    def _scale(self, flops, n: int) -> np.ndarray:
        """``log10(F + 1) + 1`` as a column (ones without FLOPs)."""
        if not check_bool("use_flops", self.use_flops):
            return np.ones((n, 1))
        if flops is None:
            raise ValueError("this transform uses FLOPs: pass flops= (one value per network), or set use_flops=False")
        f = check_array("flops", flops, ndim=1)
        if len(f) != n:
            raise ValueError(f"got {len(f)} FLOPs values for {n} networks")
        if (f < 0).any():
            raise ValueError(f"FLOPs must be >= 0, got minimum {f.min()}")
        return (np.log10(f + 1.0) + 1.0)[:, None]

    def fit(self, X, y=None, *, flops=None) -> "FlopsTransform":
        """Fit the standardisation on training accuracies ``X`` (and their ``flops``);
        ``y`` is ignored."""
        X, _ = self._labels(X, reset=True)
        ratio = X / self._scale(flops, len(X))
        if len(X) < 2:
            raise ValueError("need at least two training labels to standardise, got 1 sample")
        std = ratio.std(axis=0)
        if not std.all():
            raise ValueError("need training labels that differ to standardise (a column is constant)")
        self.mean_, self.std_ = ratio.mean(axis=0), std
        return self

    def transform(self, X, *, flops=None) -> np.ndarray:
        """Accuracies -> standardised labels."""
        check_is_fitted(self)
        X, vector = self._labels(X, reset=False)
        out = (X / self._scale(flops, len(X)) - self.mean_) / self.std_
        return out[:, 0] if vector else out

    def fit_transform(self, X, y=None, *, flops=None) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same labels."""
        return self.fit(X, y, flops=flops).transform(X, flops=flops)

    def inverse_transform(self, X, *, flops=None) -> np.ndarray:
        """Standardised labels (predictions) -> accuracies."""
        check_is_fitted(self)
        X, vector = self._labels(X, reset=False)
        out = (self.mean_ + self.std_ * X) * self._scale(flops, len(X))
        return out[:, 0] if vector else out
