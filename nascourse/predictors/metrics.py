"""How good is a performance predictor? (chapter 06 defines each measure.)

A predictor used inside a search only has to *rank* architectures, so the rank
correlations (Kendall's tau, Spearman's rho) come first; MSE and R^2 measure the values
themselves; :func:`top_k` asks what a search that trusts the predictor would find.
Every function takes ``y_true`` then ``y_pred`` (1-D, same length, finite).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np
from scipy import stats

from nascourse._checks import check_array, check_int


def _pair(y_true: Sequence[float], y_pred: Sequence[float], min_len: int = 2) -> tuple[np.ndarray, np.ndarray]:
    a, b = check_array("y_true", y_true, ndim=1), check_array("y_pred", y_pred, ndim=1)
    if len(a) != len(b):
        raise ValueError(f"y_true and y_pred differ in length: {len(a)} != {len(b)}")
    if len(a) < min_len:
        raise ValueError(f"need at least {min_len} values, got {len(a)}")
    return a, b


def kendall_tau(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Kendall's tau-b: (concordant - discordant pairs), corrected for ties; 0 when the
    prediction is constant (it orders nothing)."""
    a, b = _pair(y_true, y_pred)
    if np.ptp(b) == 0 or np.ptp(a) == 0:
        return 0.0
    return float(stats.kendalltau(a, b).statistic)


def spearman(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Spearman's rho, the Pearson correlation of the ranks; 0 for a constant prediction."""
    a, b = _pair(y_true, y_pred)
    if np.ptp(b) == 0 or np.ptp(a) == 0:
        return 0.0
    return float(stats.spearmanr(a, b).statistic)


def mse(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Mean squared error, in squared units of the target (e.g. accuracy points squared)."""
    a, b = _pair(y_true, y_pred, min_len=1)
    return float(np.mean((a - b) ** 2))


def r2(y_true: Sequence[float], y_pred: Sequence[float]) -> float:
    """Coefficient of determination: 1 - MSE / variance of ``y_true`` (can be negative)."""
    a, b = _pair(y_true, y_pred)
    variance = np.var(a)
    if variance == 0:
        raise ValueError("R^2 is undefined when y_true is constant")
    return float(1 - np.mean((a - b) ** 2) / variance)


def top_k(y_true: Sequence[float], y_pred: Sequence[float], k: int) -> float:
    """The best true value among the ``k`` items the predictor ranks highest: what a search
    finds if it evaluates only the predictor's top ``k`` (ties broken by position)."""
    a, b = _pair(y_true, y_pred, min_len=1)
    k = check_int("k", k, maximum=len(a))
    chosen = np.argsort(-b, kind="stable")[:k]
    return float(a[chosen].max())


def report(y_true: Sequence[float], y_pred: Sequence[float]) -> dict[str, float]:
    """All the measures above (``top_k`` with k = 1, 10 and 100 where possible), by name."""
    out = {"kendall_tau": kendall_tau(y_true, y_pred), "spearman": spearman(y_true, y_pred),
           "mse": mse(y_true, y_pred), "r2": r2(y_true, y_pred)}
    for k in (1, 10, 100):
        if k <= len(y_true):
            out[f"top_{k}"] = top_k(y_true, y_pred, k)
    return out
