r"""Latency models of NAS-Bench-201 cells (chapter 09): is a device's latency additive
over the cell's operations?

FBNet and ProxylessNAS assume it is: a *lookup table* holds one cost per (edge,
operation) and a network's latency is their sum. :class:`LookupTable` fits such a table by
least squares,

.. math:: \widehat{\mathrm{lat}}(c) = b + \sum_{e=1}^{6} t_{e, o_e(c)}, \qquad
          t_{e,\texttt{none}} = 0,

(the cost of ``none`` is fixed at 0 on every edge, so the other costs are relative to an
empty edge and the fit is unique), and :func:`latency_models` compares it on held-out
cells with a GRAF random forest (chapter 07's features), by :math:`R^2` and Kendall's
:math:`\tau`. :func:`device_table` is the table of one device fitted on every cell it has
a cost for, and :func:`expected_cost` the table's differentiable form for one-shot
search: with architecture weights :math:`\alpha_e` per edge,
:math:`\mathbb{E}[\mathrm{lat}] = b + \sum_e \sum_o \mathrm{softmax}(\alpha_e)_o\, t_{e,o}`.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from functools import lru_cache

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse import features
from nascourse._checks import check_array, check_int, check_sequence
from nascourse.rng import as_generator
from nascourse.search.multiobjective.hardware import DEVICES, hardware_objective
from nascourse.spaces import nb201

__all__ = ["LookupTable", "device_table", "expected_cost", "latency_models"]

_KEEP = [k for k, op in enumerate(nb201.OPS) if op != "none"]   # the operations with a cost column


class LookupTable(RegressorMixin, BaseEstimator):
    """An additive cost model: a base cost plus one cost per (edge, operation), fitted by
    least squares (a scikit-learn regressor: :meth:`fit` returns ``self``; the learned
    ``base_`` and ``costs_`` (a 6 x 5 DataFrame, edges by operations) end in ``_``).

    ``X`` is a sequence of :class:`~nascourse.spaces.nb201.Cell`, encoded by
    :meth:`encode` (one column per edge and operation other than ``none``), or any numeric
    matrix, for which the model is ordinary least squares with an intercept (``base_``;
    ``coef_`` the slopes; ``costs_`` only for cells)."""

    @staticmethod
    def encode(cells: Sequence[nb201.Cell]) -> np.ndarray:
        """The cells' design matrix: for each edge, a one-hot column per operation but
        ``none`` (24 columns, :data:`~nascourse.spaces.nb201.EDGES` order)."""
        cells = check_sequence("cells", cells, nb201.Cell, what="nascourse.spaces.nb201.Cell", min_length=1)
        onehot = features.onehot(cells).reshape(len(cells), len(nb201.EDGES), len(nb201.OPS))
        return onehot[:, :, _KEEP].reshape(len(cells), -1).astype(float)

    @staticmethod
    def _reads_cells(X) -> bool:
        return isinstance(X, (list, tuple)) and len(X) > 0 and not isinstance(
            X[0], (list, tuple, np.ndarray, numbers.Number))

    def fit(self, X, y) -> "LookupTable":
        cells = self._reads_cells(X)
        if cells:
            X = self.encode(X)
            y = check_array("y", y, ndim=1)
            if len(y) != len(X):
                raise ValueError(f"y must have one value per cell ({len(X)}), got {len(y)}")
        X, y = validate_data(self, X, y, y_numeric=True)
        coef, *_ = np.linalg.lstsq(np.hstack([np.ones((len(X), 1)), X]), y, rcond=None)
        self.base_, self.coef_ = float(coef[0]), coef[1:]
        if cells:
            table = np.zeros((len(nb201.EDGES), len(nb201.OPS)))
            table[:, _KEEP] = self.coef_.reshape(len(nb201.EDGES), len(_KEEP))
            self.costs_ = pd.DataFrame(table, index=[f"{s}->{t}" for s, t in nb201.EDGES], columns=list(nb201.OPS))
        elif hasattr(self, "costs_"):
            del self.costs_
        return self

    def predict(self, X) -> np.ndarray:
        check_is_fitted(self)
        if isinstance(X, (list, tuple)) and not X:
            return np.zeros(0)
        if self._reads_cells(X):
            X = self.encode(X)
        X = validate_data(self, X, reset=False)
        return self.base_ + X @ self.coef_


def device_table(device: str, metric: str = "latency", dataset: str = "cifar10") -> LookupTable:
    """The :class:`LookupTable` of ``device``'s ``metric`` fitted on every NAS-Bench-201
    cell that HW-NAS-Bench has a cost for (the cost model of a hardware-aware one-shot
    search). An unknown device or metric is a ValueError that lists the valid ones. The
    table is computed once per (device, metric, dataset) and shared: do not modify it."""
    objective = hardware_objective(device, metric, dataset)   # checks the three names
    return _fit_device_table(objective.device, objective.metric, objective.dataset)


@lru_cache(maxsize=None)
def _fit_device_table(device: str, metric: str, dataset: str) -> LookupTable:
    cells = nb201.all_cells()
    cost = hardware_objective(device, metric, dataset).cost(cells)
    known = np.flatnonzero(~np.isnan(cost))
    return LookupTable().fit([cells[i] for i in known], cost[known])


def expected_cost(alpha, costs, base: float = 0.0):
    r"""The expected cost of a cell drawn from the architecture weights ``alpha`` (one row
    of logits per edge, one column per operation, a torch tensor or numpy array):
    ``base + sum(softmax(alpha, dim=1) * costs)``, differentiable in ``alpha`` when it is a
    torch tensor (the latency term of a hardware-aware one-shot loss). ``costs`` has the
    same shape (e.g. ``LookupTable.costs_.to_numpy()``)."""
    if type(alpha).__module__.startswith("torch"):
        import torch

        costs = torch.as_tensor(np.asarray(costs, dtype=np.float64), dtype=alpha.dtype, device=alpha.device)
        if costs.shape != alpha.shape:
            raise ValueError(f"costs must have the shape of alpha {tuple(alpha.shape)}, got {tuple(costs.shape)}")
        return base + (torch.softmax(alpha, dim=1) * costs).sum()
    alpha = check_array("alpha", alpha, ndim=2)
    costs = check_array("costs", costs, ndim=2)
    if costs.shape != alpha.shape:
        raise ValueError(f"costs must have the shape of alpha {alpha.shape}, got {costs.shape}")
    weights = np.exp(alpha - alpha.max(axis=1, keepdims=True))
    weights /= weights.sum(axis=1, keepdims=True)
    return float(base + (weights * costs).sum())


def latency_models(devices: Sequence[str] = DEVICES, dataset: str = "cifar10", metric: str = "latency",
                   n_train: int = 1000, seed: int | np.random.Generator = 0,
                   n_estimators: int = 30) -> pd.DataFrame:
    """How well a lookup table and a GRAF random forest predict each device's cost.

    Both models are fitted on the same ``n_train`` random cells (those the device has a
    cost for) and scored on all the others: :math:`R^2` and Kendall's tau, one row per
    device. The forest has ``n_estimators`` trees (30 by default: within 0.01 of 100
    trees on every device, in a third of the time). The table's residuals show where additivity breaks:
    ``resid_disconnected`` is its mean absolute error on cells whose output is cut off
    from the input, ``resid_unreachable`` on cells with operations that cannot affect
    the output (the rest of the space is ``resid_other``); NaN where the device has no
    such cell (the Edge TPU compiler rejected every disconnected cell).
    """
    from sklearn.ensemble import RandomForestRegressor

    from nascourse.predictors.metrics import kendall_tau, r2

    devices = check_sequence("devices", devices, str, min_length=1)
    n_train = check_int("n_train", n_train, minimum=2)
    n_estimators = check_int("n_estimators", n_estimators)
    rng = as_generator(seed)
    cells = nb201.all_cells()
    graf = features.graf(cells).to_numpy()
    disconnected = np.array([c.is_disconnected() for c in cells])
    unreachable = np.array([c.has_unreachable_ops() for c in cells]) & ~disconnected
    rows = []
    for device in devices:
        objective = hardware_objective(device, metric, dataset)
        cost = objective.cost(cells)
        known = np.flatnonzero(~np.isnan(cost))
        if n_train >= len(known):
            raise ValueError(f"n_train must be below the {len(known)} cells with a {device} {metric}, got {n_train}")
        train = np.sort(rng.choice(known, size=n_train, replace=False))
        test = np.setdiff1d(known, train)
        table = LookupTable().fit([cells[i] for i in train], cost[train])
        lut = table.predict([cells[i] for i in test])
        forest = RandomForestRegressor(n_estimators, random_state=int(rng.integers(2**31)), n_jobs=1)
        rf = forest.fit(graf[train], cost[train]).predict(graf[test])
        error = np.abs(lut - cost[test])
        groups = {"disconnected": disconnected[test], "unreachable": unreachable[test]}
        groups["other"] = ~groups["disconnected"] & ~groups["unreachable"]
        rows.append({"device": device, "table_r2": r2(cost[test], lut), "table_tau": kendall_tau(cost[test], lut),
                     "forest_r2": r2(cost[test], rf), "forest_tau": kendall_tau(cost[test], rf),
                     **{f"resid_{name}": float(error[mask].mean()) if mask.any() else np.nan
                        for name, mask in groups.items()}})
    return pd.DataFrame(rows).set_index("device")
