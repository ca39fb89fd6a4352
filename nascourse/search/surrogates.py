"""Surrogate models of Bayesian optimisation (chapter 03), looked up by name in
:data:`SURROGATES`.

A surrogate is a scikit-learn regressor (``BaseEstimator`` and ``RegressorMixin``:
hyperparameters in ``__init__``, ``fit(X, y)`` returns the model, ``NotFittedError``
before it is fitted, ``score`` is R^2) that also says how uncertain it is, in the
convention of scikit-learn's ``GaussianProcessRegressor``: ``predict(X)`` returns the
predicted means and ``predict(X, return_std=True)`` the tuple ``(mean, std)``. A new
surrogate is one such class registered in one line, ``@SURROGATES.register("name")``; it
is made with ``random_state=seed``.

This module imports scikit-learn; :mod:`nascourse.search.blackbox` imports it only when
Bayesian optimisation runs, so that worker processes that only evaluate architectures
do not load it.
"""

from __future__ import annotations

import warnings

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse._checks import check_bool, check_int, check_number
from nascourse.registry import Registry

#: Surrogate models by name (classes, made with ``random_state=seed``): ``forest``, ``gp``.
SURROGATES: Registry[type] = Registry("surrogate")


@SURROGATES.register("forest")
class ForestSurrogate(RegressorMixin, BaseEstimator):
    """A random forest (Breiman 2001) of ``n_estimators`` trees as a surrogate, as in SMAC:
    the mean over the trees is the prediction and their spread the uncertainty."""

    def __init__(self, n_estimators: int = 20, random_state: int | None = 0):
        self.n_estimators = n_estimators
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> "ForestSurrogate":
        from sklearn.ensemble import RandomForestRegressor

        check_int("n_estimators", self.n_estimators)
        X, y = validate_data(self, X, y, y_numeric=True)
        self.model_ = RandomForestRegressor(self.n_estimators, max_features=0.5,
                                            random_state=self.random_state).fit(X, y)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The mean over the trees for each row of ``X``; with ``return_std``, also the
        standard deviation over the trees."""
        check_is_fitted(self)
        return_std = check_bool("return_std", return_std)
        X = validate_data(self, X, reset=False)
        X32 = np.ascontiguousarray(X, dtype=np.float32)  # the trees' own input type: no re-validation per tree
        per_tree = np.stack([t.tree_.predict(X32).reshape(len(X32), -1)[:, 0] for t in self.model_.estimators_])
        mean, std = per_tree.mean(axis=0), per_tree.std(axis=0)
        return (mean, std) if return_std else mean


@SURROGATES.register("gp")
class GPSurrogate(RegressorMixin, BaseEstimator):
    """A Gaussian process on one-hot encodings with the kernel
    ``k(a, b) = s^2 exp(-||x_a - x_b||^2 / (2 l^2)) = s^2 exp(-hamming(a, b) / l^2)`` plus
    white noise: architectures that differ on fewer edges are more alike.

    The hyperparameters ``s``, ``l`` and the noise level maximise the marginal likelihood
    (scikit-learn's optimiser); the tuned kernel is ``kernel_``. As tuning is the expensive
    part, with ``warm_start`` (scikit-learn's name for keeping what an earlier ``fit``
    learnt) a refit re-tunes them only when the data has grown by ``retune_growth`` since
    the last tuning, and no more once there are over ``retune_until`` points (by then they
    are well determined); in between they are kept fixed, and a refit costs one Cholesky
    factorisation. Without ``warm_start`` every fit tunes afresh.
    """

    def __init__(self, retune_growth: float = 4.0, retune_until: int = 100, warm_start: bool = True,
                 random_state: int | None = 0):
        self.retune_growth = retune_growth
        self.retune_until = retune_until
        self.warm_start = warm_start
        self.random_state = random_state

    def fit(self, X: np.ndarray, y: np.ndarray) -> "GPSurrogate":
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, ConstantKernel, WhiteKernel

        retune_growth = check_number("retune_growth", self.retune_growth, minimum=1.0)
        retune_until = check_int("retune_until", self.retune_until, minimum=0)
        warm = check_bool("warm_start", self.warm_start) and hasattr(self, "kernel_")
        X, y = validate_data(self, X, y, y_numeric=True)
        tune = not warm or retune_growth * self.tuned_at_ <= len(y) <= retune_until
        kernel = self.kernel_ if warm else (
            ConstantKernel(1.0, (1e-3, 1e3)) * RBF(2.0, (0.1, 100.0)) + WhiteKernel(0.1, (1e-6, 1.0)))
        with warnings.catch_warnings():  # hyperparameters at a bound are fine here
            warnings.simplefilter("ignore", ConvergenceWarning)
            self.model_ = GaussianProcessRegressor(kernel, normalize_y=True, random_state=self.random_state,
                                                   optimizer="fmin_l_bfgs_b" if tune else None).fit(X, y)
        if tune:
            self.kernel_, self.tuned_at_ = self.model_.kernel_, len(y)
        return self

    def predict(self, X: np.ndarray, return_std: bool = False) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """The posterior mean for each row of ``X``; with ``return_std``, also the posterior
        standard deviation."""
        check_is_fitted(self)
        return_std = check_bool("return_std", return_std)
        return self.model_.predict(validate_data(self, X, reset=False), return_std=return_std)
