"""The Neural Predictor of Wen et al. (ECCV 2020): a graph convolutional network that reads
an architecture's graph and predicts its accuracy, with scikit-learn's interface
(chapter 06 builds it up and tests it).

Input rows are flattened graphs, ``[adjacency (N*N) | node features (N*F)]`` for a fixed
number of nodes ``N`` (:func:`nascourse.features.graph_rows` makes them for NB201 cells,
``N = 8``); ``F`` follows from the row width. The network:

- a linear embedding of the node features;
- ``n_layers`` *directed* graph convolutions: messages flow along the edges and, with
  separate weights, against them (the architecture is a DAG; a plain GCN would see an
  undirected graph), each direction row-normalised with self-loops, the two averaged,
  then layer normalisation and ReLU;
- mean pooling over the nodes and a head ``Linear -> ReLU -> Dropout -> Linear``.

Training is plain and complete, avoiding two faults of common re-implementations: Adam with
weight decay and a cosine learning-rate schedule, gradients zeroed before every step, and
every training sample used in every epoch (the last, smaller batch is kept, so a training
set smaller than a batch still trains). Targets are standardised for training and mapped
back for prediction. Everything random (initialisation, shuffling, dropout) comes from a
``torch.Generator`` seeded by ``random_state`` (fresh entropy when it is ``None``); neither
torch's nor numpy's global generator is seeded or drawn from.

Experiments repeat a fit over many seeds. :meth:`GCNRegressor.fit_many` (the
:class:`~nascourse.predictors.base.FitsMany` protocol) trains those networks side by side as one batched network: Adam, weight decay and the schedule act on
each weight separately, each member has its own generator and its own training cells, so
every member ends as it would have alone (up to floating-point rounding), in a fraction
of the time, because a step on tiny graphs costs mostly overhead.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

from nascourse._checks import check_int, check_number
from nascourse.predictors.base import FitsMany

_PREDICT_CHUNK = 4096


class _Members(torch.nn.Module):
    """``E`` independent GCNs evaluated as one batched network (``E = 1`` for one model).

    Weights carry a leading member axis; inputs are ``(E, B, N, ...)``.
    """

    def __init__(self, generators: Sequence[torch.Generator], n_features: int, hidden: int,
                 n_layers: int, head: int, dropout: float, n_outputs: int) -> None:
        super().__init__()
        self.dropout = dropout
        self.generators = list(generators)
        shapes = [("embed", n_features, hidden)]
        shapes += [(f"conv{i}", hidden, 2 * hidden) for i in range(n_layers)]
        shapes += [("head", hidden, head), ("out", head, n_outputs)]
        self.layers = [name for name, _, _ in shapes]
        for name, fan_in, fan_out in shapes:             # nn.Linear's default initialisation
            bound = 1 / math.sqrt(fan_in)
            w = [_uniform((fan_in, fan_out), bound, g) for g in self.generators]
            b = [_uniform((fan_out,), bound, g) for g in self.generators]
            self.register_parameter(f"{name}_w", torch.nn.Parameter(torch.stack(w)))
            self.register_parameter(f"{name}_b", torch.nn.Parameter(torch.stack(b)))
        for i in range(n_layers):
            self.register_parameter(f"norm{i}_g", torch.nn.Parameter(torch.ones(len(self.generators), hidden)))
            self.register_parameter(f"norm{i}_b", torch.nn.Parameter(torch.zeros(len(self.generators), hidden)))
        self.n_layers = n_layers

    def _linear(self, name: str, x: torch.Tensor) -> torch.Tensor:
        e, rows = x.shape[0], x.shape[1:-1]
        flat = x.reshape(e, -1, x.shape[-1])
        out = torch.baddbmm(getattr(self, f"{name}_b")[:, None], flat, getattr(self, f"{name}_w"))
        return out.reshape(e, *rows, out.shape[-1])

    def forward(self, both: torch.Tensor, nodes: torch.Tensor) -> torch.Tensor:
        """``both``: the halved, normalised forward and backward adjacencies, interleaved
        ``(E, B, N, 2N)`` (see :func:`_graph_tensors`)."""
        e, b, n = nodes.shape[:3]
        h = self._linear("embed", nodes)
        for i in range(self.n_layers):
            two = self._linear(f"conv{i}", h).reshape(e * b, 2 * n, -1)    # row 2u: along, 2u+1: against
            mixed = torch.bmm(both.reshape(e * b, n, 2 * n), two).reshape(e, b, n, -1)
            mixed = torch.nn.functional.layer_norm(mixed, mixed.shape[-1:])
            h = torch.relu(mixed * getattr(self, f"norm{i}_g")[:, None, None] + getattr(self, f"norm{i}_b")[:, None, None])
        z = torch.relu(self._linear("head", h.mean(dim=2)))
        if self.training and self.dropout > 0:
            keep = torch.stack([torch.rand(z.shape[1:], generator=g) >= self.dropout for g in self.generators])
            z = z * keep / (1 - self.dropout)
        return self._linear("out", z)

    def member(self, k: int) -> "_Members":
        """A one-member copy holding member ``k``'s weights."""
        single = _Members.__new__(_Members)
        torch.nn.Module.__init__(single)
        single.dropout, single.generators, single.layers, single.n_layers = self.dropout, [], self.layers, self.n_layers
        for name, p in self.named_parameters():
            single.register_parameter(name, torch.nn.Parameter(p.detach()[k:k + 1].clone()))
        return single


def _uniform(shape: tuple[int, ...], bound: float, g: torch.Generator) -> torch.Tensor:
    return (torch.rand(shape, generator=g) * 2 - 1) * bound


def split_graph_rows(X: np.ndarray, n_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Split rows ``[adjacency | node features]`` into ``(adj (n, N, N), nodes (n, N, F))``."""
    width = X.shape[1]
    n_feat, rest = divmod(width - n_nodes * n_nodes, n_nodes)
    if rest or n_feat < 1:
        raise ValueError(f"a row of a graph with n_nodes={n_nodes} has {n_nodes}*{n_nodes} adjacency "
                         f"entries plus {n_nodes}*F node features (F >= 1); got {width} feature(s)")
    adj = X[:, : n_nodes * n_nodes].reshape(-1, n_nodes, n_nodes)
    return adj, X[:, n_nodes * n_nodes:].reshape(-1, n_nodes, n_feat)


def _graph_tensors(X: np.ndarray, n_nodes: int, dtype=torch.float32) -> tuple[torch.Tensor, torch.Tensor]:
    """``(both, nodes)``: the row-normalised forward and backward adjacency with self-loops,
    halved (the layer averages the two directions) and interleaved, column ``2u`` for
    "hears node u along the edges" and ``2u + 1`` for "against them", ``(n, N, 2N)``; and
    the node features ``(n, N, F)``."""
    adj, nodes = split_graph_rows(X, n_nodes)
    adj = torch.tensor(adj, dtype=dtype)
    eye = torch.eye(n_nodes, dtype=dtype)
    fwd = adj.transpose(1, 2) + eye                    # node v hears its predecessors ...
    bwd = adj + eye                                    # ... and, separately, its successors
    both = torch.stack([fwd / fwd.sum(-1, keepdim=True), bwd / bwd.sum(-1, keepdim=True)], dim=-1) / 2
    both = both.reshape(len(adj), n_nodes, 2 * n_nodes)
    return both, torch.tensor(nodes, dtype=dtype)


class _threads:
    """Run torch with ``n`` intra-op threads inside the block (None: leave as is)."""

    def __init__(self, n: int | None) -> None:
        self.n, self.before = n, None

    def __enter__(self) -> None:
        if self.n is not None:
            self.before = torch.get_num_threads()
            torch.set_num_threads(self.n)

    def __exit__(self, *exc) -> None:
        if self.before is not None:
            torch.set_num_threads(self.before)


class _GCNBase(FitsMany, BaseEstimator):
    """Parameters, training loop and batching shared by the GCN estimators."""

    def __init__(self, n_nodes: int = 8, hidden: int = 32, n_layers: int = 2, head: int = 64,
                 dropout: float = 0.1, epochs: int = 60, batch_size: int = 32, lr: float = 3e-3,
                 weight_decay: float = 1e-3, min_steps: int = 300, random_state=None,
                 n_threads: int | None = 1) -> None:
        self.n_nodes = n_nodes
        self.hidden = hidden
        self.n_layers = n_layers
        self.head = head
        self.dropout = dropout
        self.epochs = epochs
        self.batch_size = batch_size
        self.lr = lr
        self.weight_decay = weight_decay
        self.min_steps = min_steps
        self.random_state = random_state
        self.n_threads = n_threads

    # ----- hooks of the two estimators
    _n_outputs: Callable
    _targets: Callable
    _loss: Callable

    def _check_params(self) -> None:
        for name in ("n_nodes", "hidden", "n_layers", "head", "epochs", "batch_size"):
            check_int(name, getattr(self, name))
        check_int("min_steps", self.min_steps, minimum=0)
        check_int("n_threads", self.n_threads, allow_none=True)
        check_number("dropout", self.dropout, below=1)
        check_number("lr", self.lr, positive=True)
        check_number("weight_decay", self.weight_decay)

    def fit(self, X, y):
        """Train on rows ``X`` (flattened graphs) and targets ``y``; returns ``self``."""
        self._check_params()
        X, y = validate_data(self, X, y, dtype=np.float32, y_numeric=isinstance(self, RegressorMixin))
        both, nodes = _graph_tensors(X, self.n_nodes)
        target = self._targets(y)
        model = _train([self], both, nodes, [np.arange(len(X))], target[None], self._loss, self._n_outputs())
        self._adopt(model, 0)
        return self

    def fit_many(self, X, y, train_sets: Sequence[Sequence[int]], random_states: Sequence[int]) -> list:
        """Fit one copy of this estimator per training set, side by side (see the module
        docstring): copy ``k`` is trained on rows ``train_sets[k]`` of ``X`` with
        ``random_state=random_states[k]``, as ``clone(self).set_params(random_state=
        random_states[k]).fit(X[train_sets[k]], y[train_sets[k]])`` would be, up to rounding.
        ``y`` has one target per row of ``X``, or is a list with one target array per
        training set. All training sets must have the same size (and, for a classifier, the
        same classes). Returns the fitted copies."""
        self._check_params()
        X = validate_data(clone(self), X, dtype=np.float32)
        sets = [np.asarray(s, dtype=np.int64) for s in train_sets]
        if not sets or len(sets) != len(random_states) or len({len(s) for s in sets}) != 1 or len(sets[0]) < 1:
            raise ValueError("give one random state per training set, and training sets of one (non-zero) size")
        for s in sets:
            if s.min() < 0 or s.max() >= len(X):
                raise ValueError(f"training rows must be in 0..{len(X) - 1}")
        if isinstance(y, (list, tuple)):
            ys = [np.asarray(t) for t in y]
            if len(ys) != len(sets) or any(len(t) != len(s) for t, s in zip(ys, sets)):
                raise ValueError("a list y needs one target array per training set, of the same length")
        else:
            y = np.asarray(y)
            if y.ndim != 1 or len(y) != len(X):
                raise ValueError(f"y must have one target per row of X ({len(X)}), got shape {y.shape}")
            ys = [y[s] for s in sets]
        copies = [clone(self).set_params(random_state=r) for r in random_states]
        targets = torch.stack([c._targets(t) for c, t in zip(copies, ys)])
        if len({c._n_outputs() for c in copies}) != 1:
            raise ValueError("every training set of a classifier must contain the same classes")
        both, nodes = _graph_tensors(X, self.n_nodes)
        model = _train(copies, both, nodes, sets, targets, self._loss, copies[0]._n_outputs())
        for k, c in enumerate(copies):
            c.n_features_in_ = X.shape[1]
            c._adopt(model, k)
        return copies

    def _adopt(self, model: _Members, k: int) -> None:
        self.model_ = model.member(k).double().eval()      # predictions in double precision
        self.loss_curve_ = model.loss_curves[k]
        self.n_epochs_ = model.n_epochs

    def _forward(self, X) -> torch.Tensor:
        check_is_fitted(self, "model_")
        X = validate_data(self, X, reset=False, dtype=np.float64)
        both, nodes = _graph_tensors(X, self.n_nodes, dtype=torch.float64)
        with _threads(self.n_threads), torch.no_grad():
            chunks = [self.model_(both[None, i:i + _PREDICT_CHUNK], nodes[None, i:i + _PREDICT_CHUNK])[0]
                      for i in range(0, len(both), _PREDICT_CHUNK)]
        return torch.cat(chunks) if chunks else torch.empty(0, self._n_outputs())


def _seed(random_state) -> int:
    """The seed of a member's torch generator: drawn from ``random_state`` (an int or a
    ``numpy.random.RandomState``), or from fresh entropy when it is ``None`` (scikit-learn
    would draw from numpy's global generator; the package never touches it)."""
    if random_state is None:
        return int(np.random.default_rng().integers(2**31 - 1))
    return int(check_random_state(random_state).randint(2**31 - 1))


def _train(estimators: Sequence[_GCNBase], both: torch.Tensor, nodes: torch.Tensor,
           indices: Sequence[np.ndarray], targets: torch.Tensor, loss_fn, n_outputs: int) -> _Members:
    """Train one member per estimator, member ``k`` on rows ``indices[k]`` with targets
    ``targets[k]``; the hyper-parameters are those of ``estimators[0]``."""
    est = estimators[0]
    n = len(indices[0])
    generators = [torch.Generator().manual_seed(_seed(e.random_state)) for e in estimators]
    index = torch.as_tensor(np.stack(indices), dtype=torch.long)              # (E, n)
    with _threads(est.n_threads):
        model = _Members(generators, nodes.shape[-1], est.hidden, est.n_layers, est.head, est.dropout, n_outputs)
        per_epoch = math.ceil(n / est.batch_size)
        epochs = max(est.epochs, math.ceil(est.min_steps / per_epoch))
        optimiser = torch.optim.Adam(model.parameters(), lr=est.lr, weight_decay=est.weight_decay, foreach=True)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimiser, T_max=epochs * per_epoch)
        curves = np.zeros((len(generators), epochs))
        members = torch.arange(len(generators))[:, None]
        model.train()
        for epoch in range(epochs):
            order = torch.stack([torch.randperm(n, generator=g) for g in generators])   # (E, n)
            for start in range(0, n, est.batch_size):       # the last, short batch included
                pos = order[:, start:start + est.batch_size]
                rows = index[members, pos]                   # (E, B) rows of X
                optimiser.zero_grad()                        # every step
                losses = loss_fn(model(both[rows], nodes[rows]), targets[members, pos])   # (E,)
                losses.sum().backward()                      # each member gets its own gradient
                optimiser.step()
                schedule.step()
                curves[:, epoch] += losses.detach().numpy() * pos.shape[1] / n
    model.loss_curves = [list(c) for c in curves]
    model.n_epochs = epochs
    return model


def _mse(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return ((out[..., 0] - target) ** 2).mean(dim=1)


def _cross_entropy(out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    e, b, c = out.shape
    return torch.nn.functional.cross_entropy(out.reshape(e * b, c), target.reshape(-1),
                                             reduction="none").reshape(e, b).mean(dim=1)


class GCNRegressor(RegressorMixin, _GCNBase):
    """The Neural Predictor as a regressor (Wen et al., 2020).

    Defaults are chosen for NAS-Bench-201 graphs on a CPU: width 32, two directed graph
    convolutions, a 64-unit head with dropout 0.1, Adam (``lr`` 3e-3, weight decay 1e-3),
    cosine schedule, batches of 32 for ``epochs`` (60) epochs but at least ``min_steps``
    (300) optimiser steps, so that a small training set is not under-trained. (The paper,
    on the larger NAS-Bench-101 cells, used three layers of width 144, a 128-unit head,
    batches of 10, 300 epochs and a 30x smaller learning rate.) After ``fit``: ``model_`` (the torch module), ``loss_curve_``
    (mean training loss per epoch, in standardised units), ``n_epochs_``, ``n_features_in_``.
    """

    def _n_outputs(self) -> int:
        return 1

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        y = np.asarray(y, dtype=np.float64)
        if not np.isfinite(y).all():
            raise ValueError("y must be finite (no NaN or inf)")
        self.y_mean_, self.y_scale_ = float(y.mean()), float(y.std()) or 1.0
        return torch.as_tensor((y - self.y_mean_) / self.y_scale_, dtype=torch.float32)

    _loss = staticmethod(_mse)

    def predict(self, X) -> np.ndarray:
        """Predicted targets, one per row of ``X``."""
        return self._forward(X)[:, 0].numpy().astype(np.float64) * self.y_scale_ + self.y_mean_

class GCNClassifier(ClassifierMixin, _GCNBase):
    """The Neural Predictor as a classifier: the same network with one logit per class and
    the cross-entropy loss (the first stage of :class:`TwoStagePredictor`)."""

    def _n_outputs(self) -> int:
        return len(self.classes_)

    def _targets(self, y: np.ndarray) -> torch.Tensor:
        check_classification_targets(y)
        self.classes_, codes = np.unique(y, return_inverse=True)
        return torch.as_tensor(codes, dtype=torch.long)

    _loss = staticmethod(_cross_entropy)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, columns in the order of ``classes_``."""
        return torch.softmax(self._forward(X), dim=1).numpy().astype(np.float64)

    def predict(self, X) -> np.ndarray:
        """The most probable class of each row."""
        proba = self.predict_proba(X)
        return self.classes_[proba.argmax(axis=1)]
