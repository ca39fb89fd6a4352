"""GENNAPE's predictor: regression heads weighted by fuzzy cluster membership (chapter 08,
section on the ensemble).

Fuzzy c-means splits the (standardised) embeddings of the training family into ``c``
overlapping clusters. There is one small MLP head per cluster, and a network with
embedding ``z`` and memberships ``u_k(z)`` is predicted as ``y(z) = sum_k u_k(z) h_k(z)``.
All heads are trained together on the weighted sum, so each one specialises in its own
region of the embedding space; a network of an unseen family is predicted by the heads of
the regions it falls into. Labels go through :class:`~nascourse.gennape.transform.FlopsTransform`.
"""

from __future__ import annotations

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.metrics import r2_score
from sklearn.utils.validation import check_is_fitted, validate_data
from torch import nn

from nascourse._checks import check_int
from nascourse.gennape.encoder import seeded_module
from nascourse.gennape.fuzzy import FuzzyCMeans
from nascourse.gennape.transform import FlopsTransform
from nascourse.devices import default_device


class HeadEnsemble(nn.Module):
    """``n_heads`` MLPs (``embedding -> hidden -> 1``) and their membership-weighted sum."""

    def __init__(self, embedding: int, n_heads: int, hidden: int = 32):
        super().__init__()
        self.heads = nn.ModuleList(nn.Sequential(nn.Linear(embedding, hidden), nn.ReLU(), nn.Linear(hidden, 1))
                                   for _ in range(n_heads))

    def forward(self, z: torch.Tensor, u: torch.Tensor) -> torch.Tensor:
        outputs = torch.cat([head(z) for head in self.heads], dim=1)
        return (outputs * u).sum(dim=1)


class GennapeRegressor(RegressorMixin, BaseEstimator):
    """Embeddings -> accuracy, the GENNAPE way, a scikit-learn regressor.

    ``n_clusters`` heads weighted by fuzzy c-means memberships (``n_clusters=1``: one plain
    head, the ablation without the ensemble); labels transformed with FLOPs when
    ``use_flops`` (then every method takes the networks' FLOPs as the keyword ``flops``).
    :meth:`fit` trains on a source family, :meth:`fine_tune` continues training on a few
    labelled networks of a target family, :meth:`predict` returns accuracies. Everything
    random (memberships' start, heads' weights) comes from ``random_state`` (an int seed or
    a ``numpy.random.Generator``) through explicit generators. Fitted attributes:
    ``scaler_mean_``, ``scaler_std_`` (of the embeddings), ``fcm_`` (or ``None``),
    ``transform_``, ``model_``, ``n_features_in_``; before :meth:`fit`, the other methods
    raise ``NotFittedError``.
    """

    def __init__(self, n_clusters: int = 4, m: float = 2.0, hidden: int = 32, epochs: int = 300,
                 fine_tune_epochs: int = 100, lr: float = 3e-3, weight_decay: float = 1e-4,
                 use_flops: bool = True, random_state: int | np.random.Generator = 0):
        self.n_clusters = n_clusters
        self.m = m
        self.hidden = hidden
        self.epochs = epochs
        self.fine_tune_epochs = fine_tune_epochs
        self.lr = lr
        self.weight_decay = weight_decay
        self.use_flops = use_flops
        self.random_state = random_state

    def _inputs(self, X: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        scaled = (X - self.scaler_mean_) / self.scaler_std_
        u = np.ones((len(X), 1)) if self.fcm_ is None else self.fcm_.predict_proba(scaled)
        device = default_device()
        return (torch.as_tensor(scaled, dtype=torch.float32, device=device),
                torch.as_tensor(u, dtype=torch.float32, device=device))

    def _train(self, X: np.ndarray, y: np.ndarray, epochs: int) -> None:
        z, u = self._inputs(X)
        target = torch.as_tensor(y, dtype=torch.float32, device=z.device)
        optimiser = torch.optim.Adam(self.model_.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        self.model_.train()
        for _ in range(epochs):
            loss = nn.functional.mse_loss(self.model_(z, u), target)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
        self.model_.eval()

    def fit(self, X, y, *, flops=None) -> "GennapeRegressor":
        """Cluster the embeddings ``X`` (networks x dims) and train the heads on the
        accuracies ``y`` (with the networks' ``flops`` when ``use_flops``)."""
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        c = check_int("n_clusters", self.n_clusters)
        epochs = check_int("epochs", self.epochs)
        hidden = check_int("hidden", self.hidden)
        self.transform_ = FlopsTransform(self.use_flops)
        target = self.transform_.fit_transform(y, flops=flops)
        self.scaler_mean_, self.scaler_std_ = X.mean(axis=0), X.std(axis=0) + 1e-8
        scaled = (X - self.scaler_mean_) / self.scaler_std_
        self.fcm_ = None if c == 1 else FuzzyCMeans(c, m=self.m, random_state=self.random_state).fit(scaled)
        self.model_ = seeded_module(lambda: HeadEnsemble(X.shape[1], c, hidden), self.random_state)
        self._train(X, target, epochs)
        return self

    def fine_tune(self, X, y, *, flops=None) -> "GennapeRegressor":
        """Refit the label standardisation on a target family's accuracies ``y`` and train
        the heads on them for ``fine_tune_epochs`` more steps (clusters and embedding
        scaling unchanged)."""
        check_is_fitted(self)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=False)
        target = self.transform_.fit_transform(y, flops=flops)
        self._train(X, target, check_int("fine_tune_epochs", self.fine_tune_epochs))
        return self

    def predict_labels(self, X) -> np.ndarray:
        """Standardised (transformed) labels of the networks with embeddings ``X``."""
        check_is_fitted(self)
        z, u = self._inputs(validate_data(self, X, dtype=np.float64, reset=False))
        with torch.no_grad():
            return self.model_(z, u).cpu().numpy().astype(np.float64)

    def predict(self, X, *, flops=None) -> np.ndarray:
        """Predicted accuracies (the inverse label transform of :meth:`predict_labels`)."""
        labels = self.predict_labels(X)
        return self.transform_.inverse_transform(labels, flops=flops)

    def score(self, X, y, sample_weight=None, *, flops=None) -> float:
        """R^2 of :meth:`predict` against the accuracies ``y`` (the FLOPs passed on)."""
        return float(r2_score(y, self.predict(X, flops=flops), sample_weight=sample_weight))
