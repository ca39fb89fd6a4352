"""Fuzzy c-means clustering, written out for the course (chapter 08, section on the
ensemble; the algorithm is Bezdek's, 1981).

Fuzzy c-means gives every point ``x_i`` a membership ``u_ik`` in each of ``c`` clusters,
non-negative and summing to one over the clusters, and minimises
``J = sum_i sum_k u_ik^m ||x_i - v_k||^2`` (``m > 1`` sets the fuzziness) by alternating

    v_k  = sum_i u_ik^m x_i / sum_i u_ik^m                      (centres)
    u_ik = 1 / sum_j (||x_i - v_k|| / ||x_i - v_j||)^(2/(m-1))   (memberships)

until the memberships move less than ``tol`` (Frobenius norm). The iteration matches
scikit-fuzzy's ``cmeans``, which the tests check it against on the same data and start.
"""

from __future__ import annotations

import numpy as np

from nascourse._checks import check_int
from nascourse.rng import as_generator

_EPS = np.finfo(np.float64).eps


def _as_data(X, name: str = "X") -> np.ndarray:
    try:
        X = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric 2-D array (points x features)") from err
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"{name} must be a 2-D array (points x features), got shape {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name} must be finite (no NaN or inf)")
    return X


def memberships(X, centers: np.ndarray, m: float = 2.0) -> np.ndarray:
    """Memberships (points x clusters, rows summing to one) of the points ``X`` in clusters
    with ``centers``: the membership update of the module docstring."""
    X, centers = _as_data(X), _as_data(centers, "centers")
    if X.shape[1] != centers.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but the centres have {centers.shape[1]}")
    _check_m(m)
    d = np.fmax(np.sqrt(((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)), _EPS)
    power = d ** (-2.0 / (m - 1.0))
    return power / power.sum(axis=1, keepdims=True)


def _check_m(m: float) -> float:
    if isinstance(m, bool) or not isinstance(m, (int, float, np.floating)) or not m > 1:
        raise ValueError(f"the fuzziness m must be a number > 1, got {m!r}")
    return float(m)


class FuzzyCMeans:
    """Fuzzy c-means as a scikit-learn style estimator.

    After :meth:`fit`: ``cluster_centers_`` (clusters x features), ``memberships_`` (points
    x clusters), ``objective_`` (``J`` after each iteration) and ``n_iter_``. ``init``
    (points x clusters, non-negative) fixes the starting memberships; otherwise they are
    drawn from ``random_state``.
    """

    def __init__(self, n_clusters: int = 4, m: float = 2.0, tol: float = 1e-5, max_iter: int = 300,
                 random_state: int = 0, init: np.ndarray | None = None):
        self.n_clusters = n_clusters
        self.m = m
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.init = init

    def _start(self, n: int) -> np.ndarray:
        c = self.n_clusters
        if self.init is None:
            u = as_generator(self.random_state).random((n, c))
        else:
            u = np.array(self.init, dtype=np.float64)
            if u.shape != (n, c) or (u < 0).any() or not np.isfinite(u).all():
                raise ValueError(f"init must be a non-negative finite {n} x {c} array, got shape {u.shape}")
        return u

    def fit(self, X) -> "FuzzyCMeans":
        """Cluster the rows of ``X``; returns ``self``."""
        X = _as_data(X)
        c, m = self.n_clusters, _check_m(self.m)
        if isinstance(c, bool) or not isinstance(c, (int, np.integer)) or not 2 <= c <= len(X):
            raise ValueError(f"n_clusters must be an int in 2..{len(X)} (the number of points), got {c!r}")
        check_int("max_iter", self.max_iter)
        u = self._start(len(X))
        u = np.fmax(u / u.sum(axis=1, keepdims=True), _EPS)
        objective = []
        for iteration in range(1, int(self.max_iter) + 1):
            previous = u
            um = previous ** m
            centers = um.T @ X / um.sum(axis=0)[:, None]
            d = np.fmax(np.sqrt(((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)), _EPS)
            objective.append(float((um * d ** 2).sum()))
            power = d ** (-2.0 / (m - 1.0))
            u = power / power.sum(axis=1, keepdims=True)
            if np.linalg.norm(u - previous) < self.tol:
                break
        self.cluster_centers_ = centers
        self.memberships_ = u
        self.objective_ = np.array(objective)
        self.n_iter_ = iteration
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Memberships of new points in the fitted clusters (points x clusters)."""
        if not hasattr(self, "cluster_centers_"):
            raise RuntimeError("call fit before predict_proba")
        return memberships(X, self.cluster_centers_, self.m)

    def predict(self, X) -> np.ndarray:
        """The cluster of largest membership of each point."""
        return self.predict_proba(X).argmax(axis=1)
