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
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse._checks import check_array, check_int, check_number
from nascourse.rng import as_generator

_EPS = np.finfo(np.float64).eps


def check_fuzziness(m) -> float:
    """The fuzziness ``m`` as a float if it is a finite number above 1."""
    m = check_number("the fuzziness m", m, minimum=1.0)
    if m == 1.0:
        raise ValueError("the fuzziness m must be a finite number > 1 (m = 1 is k-means), got 1.0")
    return m


def _distances(X: np.ndarray, centers: np.ndarray) -> np.ndarray:
    """``||x_i - v_k||`` (points x clusters), at least machine epsilon."""
    return np.fmax(np.sqrt(((X[:, None, :] - centers[None, :, :]) ** 2).sum(axis=2)), _EPS)


def _memberships(distances: np.ndarray, m: float) -> np.ndarray:
    """The membership update of the module docstring, from the distances."""
    power = distances ** (-2.0 / (m - 1.0))
    return power / power.sum(axis=1, keepdims=True)


def memberships(X, centers: np.ndarray, m: float = 2.0) -> np.ndarray:
    """Memberships (points x clusters, rows summing to one) of the points ``X`` in clusters
    with ``centers``: the membership update of the module docstring."""
    X = check_array("X", X, ndim=2, min_rows=1)
    centers = check_array("centers", centers, ndim=2, min_rows=1)
    if X.shape[1] != centers.shape[1]:
        raise ValueError(f"X has {X.shape[1]} features but the centres have {centers.shape[1]}")
    return _memberships(_distances(X, centers), check_fuzziness(m))


class FuzzyCMeans(ClusterMixin, BaseEstimator):
    """Fuzzy c-means, a scikit-learn clustering estimator.

    After :meth:`fit`: ``cluster_centers_`` (clusters x features), ``memberships_`` (points
    x clusters), ``labels_`` (the cluster of largest membership of each point),
    ``objective_`` (``J`` after each iteration), ``n_iter_`` and ``n_features_in_``.
    ``init`` (points x clusters, non-negative) fixes the starting memberships; otherwise
    they are drawn from ``random_state`` (an int seed or a ``numpy.random.Generator``).
    Parameters are checked by :meth:`fit`; :meth:`predict` and :meth:`predict_proba`
    raise ``NotFittedError`` before it.
    """

    def __init__(self, n_clusters: int = 4, m: float = 2.0, tol: float = 1e-5, max_iter: int = 300,
                 random_state: int | np.random.Generator = 0, init: np.ndarray | None = None):
        self.n_clusters = n_clusters
        self.m = m
        self.tol = tol
        self.max_iter = max_iter
        self.random_state = random_state
        self.init = init

    def _start(self, n: int, c: int) -> np.ndarray:
        if self.init is None:
            return as_generator(self.random_state).random((n, c))
        u = check_array("init", self.init, ndim=2)
        if u.shape != (n, c) or (u < 0).any() or not u.sum(axis=1).all():
            raise ValueError(f"init must be a non-negative {n} x {c} array (points x clusters) with no row "
                             f"of zeros, got shape {u.shape}")
        return u

    def fit(self, X, y=None) -> "FuzzyCMeans":
        """Cluster the rows of ``X`` (``y`` is ignored); returns ``self``."""
        X = validate_data(self, X, dtype=np.float64)
        c = check_int("n_clusters", self.n_clusters)
        if c > len(X):
            raise ValueError(f"n_clusters={c} needs at least {c} points, got {len(X)} sample"
                             + ("s" if len(X) != 1 else ""))
        m = check_fuzziness(self.m)
        tol = check_number("tol", self.tol)
        max_iter = check_int("max_iter", self.max_iter)
        u = self._start(len(X), c)
        u = np.fmax(u / u.sum(axis=1, keepdims=True), _EPS)
        objective = []
        for iteration in range(1, max_iter + 1):
            previous = u
            um = previous ** m
            centers = um.T @ X / um.sum(axis=0)[:, None]
            d = _distances(X, centers)
            objective.append(float((um * d ** 2).sum()))
            u = _memberships(d, m)
            if np.linalg.norm(u - previous) < tol:
                break
        self.cluster_centers_ = centers
        self.memberships_ = u
        self.labels_ = u.argmax(axis=1)
        self.objective_ = np.array(objective)
        self.n_iter_ = iteration
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Memberships of new points in the fitted clusters (points x clusters)."""
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        return _memberships(_distances(X, self.cluster_centers_), check_fuzziness(self.m))

    def predict(self, X) -> np.ndarray:
        """The cluster of largest membership of each point."""
        return self.predict_proba(X).argmax(axis=1)
