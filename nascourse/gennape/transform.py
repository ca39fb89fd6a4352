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


def _vector(values, name: str) -> np.ndarray:
    try:
        out = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a 1-D array of numbers") from err
    if out.ndim != 1 or len(out) == 0:
        raise ValueError(f"{name} must be a non-empty 1-D array, got shape {out.shape}")
    if not np.isfinite(out).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return out


class FlopsTransform:
    """``y = Z(A / (log10(F + 1) + 1))`` (or ``Z(A)`` with ``use_flops=False``); after
    :meth:`fit`, ``mean_`` and ``std_`` hold the standardisation."""

    def __init__(self, use_flops: bool = True):
        if not isinstance(use_flops, (bool, np.bool_)):
            raise TypeError(f"use_flops must be True or False, got {use_flops!r}")
        self.use_flops = bool(use_flops)

    def _scale(self, flops, n: int) -> np.ndarray:
        if not self.use_flops:
            return np.ones(n)
        if flops is None:
            raise ValueError("this transform uses FLOPs: pass flops (one value per network)")
        f = _vector(flops, "flops")
        if len(f) != n:
            raise ValueError(f"got {len(f)} FLOPs values for {n} networks")
        if (f < 0).any():
            raise ValueError(f"FLOPs must be >= 0, got minimum {f.min()}")
        return np.log10(f + 1.0) + 1.0

    def fit(self, accuracy, flops=None) -> "FlopsTransform":
        """Fit the standardisation on training accuracies (and their FLOPs)."""
        a = _vector(accuracy, "accuracy")
        ratio = a / self._scale(flops, len(a))
        if len(a) < 2 or ratio.std() == 0:
            raise ValueError("need at least two training labels that differ to standardise")
        self.mean_, self.std_ = float(ratio.mean()), float(ratio.std())
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "mean_"):
            raise RuntimeError("call fit before transform or inverse_transform")

    def transform(self, accuracy, flops=None) -> np.ndarray:
        """Accuracies -> standardised labels."""
        self._check_fitted()
        a = _vector(accuracy, "accuracy")
        return (a / self._scale(flops, len(a)) - self.mean_) / self.std_

    def fit_transform(self, accuracy, flops=None) -> np.ndarray:
        """:meth:`fit`, then :meth:`transform` of the same labels."""
        return self.fit(accuracy, flops).transform(accuracy, flops)

    def inverse_transform(self, y, flops=None) -> np.ndarray:
        """Standardised labels (predictions) -> accuracies."""
        self._check_fitted()
        y = _vector(y, "y")
        return (self.mean_ + self.std_ * y) * self._scale(flops, len(y))
