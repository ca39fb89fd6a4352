"""Learning curves of NAS-Bench-201 cells and their extrapolation (chapter 06).

A learning curve here is a cell's validation accuracy after each epoch of one training
run (chapter 06's accuracy against the number of *training cells* is another thing).
The module lives at the top of the package, beside :mod:`nascourse.search`, because it
joins training (:mod:`nascourse.train`), prediction and multi-fidelity search. It holds

- :func:`train_curve` and :func:`train_curves`: curves from real training runs, with the
  settings of a :class:`nascourse.search.training.TrainingObjective`
  (``scripts/train_curves.py`` made the shipped curves with them; the chapter reruns a
  few cells live);
- :func:`load_curves` and :func:`curve_matrix`: the shipped curves
  (``nb201_curves.csv.gz``, checksum verified) as a table and as a cells x epochs matrix;
- :data:`CURVE_MODELS`: parametric curves of Domhan et al. (2015) (``pow3``,
  ``log_power``, ``exp3``), fitted by bounded least squares (:func:`fit_curve`) and
  combined into a weighted ensemble with an uncertainty (:func:`extrapolate`);
- :func:`early_stopping` (Domhan's rule: stop a run whose predicted final value is
  unlikely to beat the best so far) and :func:`successive_halving`, both replayed on
  stored curves and returning the epochs spent and the regret (:class:`StoppingResult`);
- :func:`rank_correlations`: Kendall's tau of the extrapolated and the last-seen values
  against the final ones.

A new curve model is a function ``f(x, *params)`` and one line,
``CURVE_MODELS.add("name", CurveModel("name", f, params, lower, upper, starts, formula))``.
"""

from __future__ import annotations

import functools
import itertools
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from numpy.typing import ArrayLike
from scipy import optimize

from nascourse import data, train
from nascourse._checks import check_array, check_int, check_number, check_sequence, check_type
from nascourse.predictors import metrics
from nascourse.registry import Registry
from nascourse.devices import as_device
from nascourse.nn import nb201_network
from nascourse.rng import as_generator, torch_seeded
from nascourse.search import blackbox
from nascourse.search.training import TrainingObjective
from nascourse.spaces import nb201

#: The shipped curves (made by ``scripts/train_curves.py``).
CURVES_FILE = "nb201_curves.csv.gz"


def train_curve(objective: TrainingObjective, cell: nb201.Cell | str, epochs: int | None = None,
                until: int | None = None) -> dict:
    """Train ``cell`` as ``objective`` would (its data, network size, optimiser, seed and
    threads) for ``epochs`` epochs (default: the objective's), evaluating on the
    objective's validation images after every epoch.

    Returns ``valid_acc`` (a list, in %, one per epoch), ``train_loss`` (a list), the
    final ``test_acc`` (%) and ``cpu_seconds`` (CPU time of this thread). The cosine
    schedule of :func:`nascourse.train.train` spans the ``epochs`` asked for, so a curve
    of 27 epochs is not the first 27 epochs of a longer run. ``until`` stops the run after
    that many epochs: the curve is then the start of the ``epochs``-long run, epoch for
    epoch (:func:`nascourse.train.train_epochs`), and ``test_acc`` is measured where it
    stopped.
    """
    check_type("objective", objective, TrainingObjective)
    cell = nb201.Cell.from_str(cell) if isinstance(cell, str) else cell
    check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell or its string")
    epochs = objective.epochs if epochs is None else check_int("epochs", epochs)
    until = epochs if until is None else check_int("until", until, maximum=epochs)
    loaders = objective.loaders()
    if loaders.valid is None:
        raise ValueError("objective must hold out validation images (n_valid >= 1) to record a curve")
    device = as_device(objective.device)
    threads, cpu = torch.get_num_threads(), time.thread_time()
    try:
        if objective.num_threads is not None:
            torch.set_num_threads(objective.num_threads)
        with torch_seeded(objective.seed, device):
            net = nb201_network(cell, C=objective.C, N=objective.N, num_classes=objective.num_classes)
            run = train.train_epochs(net, loaders.train, epochs=epochs, lr=objective.lr, valid_loader=loaders.valid,
                                     device=device, optimizer=objective.optimizer, seed=objective.seed,
                                     progress=False)
            log = list(itertools.islice(run, until))
            run.close()
            _, test_acc = train.evaluate(net, loaders.test, device)
    finally:
        torch.set_num_threads(threads)
    return {"valid_acc": [100 * r["valid_acc"] for r in log], "train_loss": [r["train_loss"] for r in log],
            "test_acc": 100 * test_acc, "cpu_seconds": time.thread_time() - cpu}


def curve_rows(cell: nb201.Cell, run: dict) -> list[dict]:
    """The rows of a curve table (:func:`load_curves`) for one :func:`train_curve` run,
    rounded as the shipped file stores them."""
    return [{"index": cell.index, "arch_str": cell.to_str(), "epoch": epoch, "valid_acc": round(acc, 2),
             "train_loss": round(loss, 4), "test_acc": round(run["test_acc"], 2),
             "cpu_seconds": round(run["cpu_seconds"], 1)}
            for epoch, (acc, loss) in enumerate(zip(run["valid_acc"], run["train_loss"]), 1)]


def train_curves(cells: Sequence[nb201.Cell | str], objective: TrainingObjective, epochs: int | None = None,
                 until: int | None = None, callback: Callable[[int, nb201.Cell, dict], None] | None = None,
                 stop: Callable[[], bool] | None = None) -> pd.DataFrame:
    """Train each of ``cells`` with :func:`train_curve` (``epochs`` long, stopped after
    ``until`` epochs if given) and return the curves as a table with the columns of
    :func:`load_curves` (one row per cell and epoch).
    ``callback(k, cell, run)`` is called after the ``k``-th cell (from 1), e.g. to print
    progress; before each cell, a ``stop()`` that returns True ends the run early.
    ``scripts/train_curves.py`` made the shipped table this way."""
    cells = [nb201.Cell.from_str(c) if isinstance(c, str) else c
             for c in check_sequence("cells", cells, (nb201.Cell, str), "nb201.Cell or cell string", min_length=1)]
    rows = []
    for k, cell in enumerate(cells, 1):
        if stop is not None and stop():
            break
        run = train_curve(objective, cell, epochs, until)
        rows += curve_rows(cell, run)
        if callback is not None:
            callback(k, cell, run)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------------------
# The shipped curves


def load_curves() -> pd.DataFrame:
    """The shipped learning curves (``nb201_curves.csv.gz``, made by
    ``scripts/train_curves.py``; ``nascourse/data/PROVENANCE.md`` gives the settings), one
    row per cell and epoch: ``index`` (NAS-Bench-201 index), ``arch_str``, ``epoch``
    (from 1), ``valid_acc`` (%), ``train_loss``, and per cell the final ``test_acc`` (%)
    and the ``cpu_seconds`` its run took. The file's checksum is verified first."""
    return _curves().copy()


@functools.cache
def _curves() -> pd.DataFrame:
    return pd.read_csv(data.path(CURVES_FILE))


def curve_matrix(table: pd.DataFrame, column: str = "valid_acc") -> pd.DataFrame:
    """``column`` of a curve table (as :func:`load_curves` returns) as one row per cell
    (indexed by the benchmark index) and one column per epoch."""
    check_type("table", table, pd.DataFrame, "a pandas.DataFrame such as load_curves() returns")
    missing = [c for c in ("index", "epoch", column) if c not in table.columns]
    if missing:
        raise ValueError(f"table lacks the columns {missing}; it has {list(table.columns)}")
    return table.pivot(index="index", columns="epoch", values=column).sort_index(axis=1)


# ---------------------------------------------------------------------------------------
# Parametric curve models (Domhan et al. 2015, table 1), fitted by least squares


@dataclass(frozen=True)
class CurveModel:
    """A parametric learning curve ``y = function(x, *params)`` of the epoch ``x`` (from 1),
    in the units of the data (accuracy in %). ``lower`` and ``upper`` bound each parameter
    so that the curve rises towards an asymptote of at most 100; ``starts(x, y)`` gives
    starting points for the least-squares fit from the data. ``formula`` is LaTeX."""

    name: str
    function: Callable[..., np.ndarray]
    params: tuple[str, ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    starts: Callable[[np.ndarray, np.ndarray], list[tuple[float, ...]]]
    formula: str

    def __call__(self, x: ArrayLike, *theta: float) -> np.ndarray:
        return self.function(np.asarray(x, dtype=float), *theta)


#: The curve models by name (each a :class:`CurveModel`).
CURVE_MODELS: Registry[CurveModel] = Registry("curve model")


def _asymptotes(y: np.ndarray) -> list[float]:
    """Starting guesses for a curve's asymptote: a little and a lot above its last value."""
    last, rise = float(y[-1]), max(float(y[-1] - y[0]), 1.0)
    return [min(99.0, last + 0.5 * rise), min(99.0, last + 2.0 * rise)]


def _pow3(x: np.ndarray, c: float, a: float, alpha: float) -> np.ndarray:
    return c - a * x ** -alpha


def _pow3_starts(x: np.ndarray, y: np.ndarray) -> list[tuple[float, ...]]:
    return [(c, max(c - y[0], 1e-3) * x[0] ** 0.7, 0.7) for c in _asymptotes(y)]


def _log_power(x: np.ndarray, a: float, b: float, c: float) -> np.ndarray:
    return a / (1.0 + (x / np.exp(b)) ** c)


def _log_power_starts(x: np.ndarray, y: np.ndarray) -> list[tuple[float, ...]]:
    return [(a, float(np.log(x[len(x) // 2])), -1.0) for a in _asymptotes(y)]


def _exp3(x: np.ndarray, c: float, a: float, b: float) -> np.ndarray:
    return c - np.exp(b - a * x)


def _exp3_starts(x: np.ndarray, y: np.ndarray) -> list[tuple[float, ...]]:
    return [(c, 0.2, float(np.log(max(c - y[0], 1e-3))) + 0.2 * x[0]) for c in _asymptotes(y)]


CURVE_MODELS.add("pow3", CurveModel("pow3", _pow3, ("c", "a", "alpha"), (0.0, 0.0, 0.0), (100.0, 1e4, 10.0),
                                    _pow3_starts, r"c - a x^{-\alpha}"))
CURVE_MODELS.add("log_power", CurveModel("log_power", _log_power, ("a", "b", "c"), (0.0, -10.0, -10.0),
                                         (100.0, 10.0, 0.0), _log_power_starts, r"\frac{a}{1 + (x / e^{b})^{c}}"),
                 aliases=("log-power",))
CURVE_MODELS.add("exp3", CurveModel("exp3", _exp3, ("c", "a", "b"), (0.0, 0.0, -20.0), (100.0, 10.0, 20.0),
                                    _exp3_starts, r"c - e^{b - a x}"), aliases=("exponential",))


def check_curve(name: str, values: ArrayLike, min_points: int = 1) -> np.ndarray:
    """``values`` as a 1-D float array of finite numbers with at least ``min_points`` of them."""
    values = check_array(name, values, ndim=1)
    if len(values) < min_points:
        raise ValueError(f"{name} must hold at least {min_points} values (epochs), got {len(values)}")
    return values


@dataclass(frozen=True)
class CurveFit:
    """A least-squares fit of a :class:`CurveModel` to ``n`` points: the parameters, their
    covariance (from the Jacobian and the residual variance ``sigma2``), and the sum of
    squared residuals ``sse``."""

    model: CurveModel
    params: np.ndarray
    cov: np.ndarray
    sse: float
    n: int

    @property
    def sigma2(self) -> float:
        """The residual variance, ``sse / (n - p)``."""
        return self.sse / max(self.n - len(self.params), 1)

    @property
    def aic(self) -> float:
        """Akaike's criterion for Gaussian residuals, ``n log(sse / n) + 2 p``."""
        return self.n * np.log(max(self.sse, 1e-12) / self.n) + 2 * len(self.params)

    def predict(self, epochs: ArrayLike) -> tuple[np.ndarray, np.ndarray]:
        """The fitted curve at ``epochs`` and its standard deviation as a prediction of an
        observed value: the delta method (the gradient ``g`` of the curve in the
        parameters, ``g' cov g``) plus the residual variance of one observation."""
        x = np.atleast_1d(np.asarray(epochs, dtype=float))
        mean = self.model(x, *self.params)
        step = 1e-6 * np.maximum(np.abs(self.params), 1e-3)
        grad = np.stack([(self.model(x, *(self.params + step * e)) - mean) / s
                         for e, s in zip(np.eye(len(self.params)), step)], axis=-1)
        var = np.einsum("ni,ij,nj->n", grad, self.cov, grad) + self.sigma2
        return mean, np.sqrt(np.maximum(var, 0.0))


def fit_curve(values: ArrayLike, model: str = "pow3", epochs: ArrayLike | None = None) -> CurveFit:
    """Fit curve model ``model`` (a name in :data:`CURVE_MODELS`) to ``values`` observed
    at ``epochs`` (default 1, 2, ...) by bounded least squares from several starting
    points, keeping the best. Needs one point more than the model has parameters."""
    spec = CURVE_MODELS.get(model)
    y = check_curve("values", values, min_points=len(spec.params) + 1)
    x = np.arange(1.0, len(y) + 1) if epochs is None else check_curve("epochs", epochs)
    if len(x) != len(y):
        raise ValueError(f"epochs and values differ in length: {len(x)} != {len(y)}")
    if np.any(x <= 0):
        raise ValueError("epochs must be positive (the first epoch is 1)")
    lower, upper = np.array(spec.lower), np.array(spec.upper)
    best = None
    for start in spec.starts(x, y):
        start = np.clip(np.asarray(start, dtype=float), lower + 1e-9, upper - 1e-9)
        with np.errstate(all="ignore"):
            result = optimize.least_squares(lambda t: spec.function(x, *t) - y, start, bounds=(lower, upper),
                                            x_scale="jac", ftol=1e-6, xtol=1e-6, max_nfev=100 * len(start))
        if np.all(np.isfinite(result.fun)) and (best is None or result.cost < best.cost):
            best = result
    if best is None:
        raise RuntimeError(f"the {spec.name} fit failed from every starting point")
    sse = 2.0 * best.cost
    sigma2 = sse / max(len(y) - len(best.x), 1)
    return CurveFit(spec, best.x, np.linalg.pinv(best.jac.T @ best.jac) * sigma2, sse, len(y))


@dataclass(frozen=True)
class Extrapolation:
    """The ensemble's prediction at ``epoch``: ``mean`` and ``std`` of a Gaussian
    mixture over the models, with each model's ``weights`` and its :class:`CurveFit`."""

    epoch: int
    mean: float
    std: float
    weights: dict[str, float]
    fits: dict[str, CurveFit]

    def upper(self, z: float = 1.645) -> float:
        """``mean + z std`` (one-sided 95% by default)."""
        return self.mean + z * self.std


#: The models the ensemble uses by default.
DEFAULT_MODELS: tuple[str, ...] = ("pow3", "log_power", "exp3")


def extrapolate(values: ArrayLike, epoch: int, models: Sequence[str] = DEFAULT_MODELS) -> Extrapolation:
    """Predict a curve's value at ``epoch`` from its first ``len(values)`` epochs.

    Each model of ``models`` is fitted by least squares (:func:`fit_curve`); each predicts
    a Gaussian (its fitted value, and a spread from the parameter covariance plus the
    residual noise, :meth:`CurveFit.predict`). The models are combined with Akaike weights
    (``exp(-AIC/2)``, normalised), so a model that fits the observed epochs better counts
    more; the mixture's variance adds the models' disagreement to their own spread.
    Domhan et al. (2015) sample the weights and parameters by MCMC instead; this is the
    cheap, deterministic approximation of the same idea.
    """
    models = check_sequence("models", models, str, min_length=1)
    for name in models:
        CURVE_MODELS.get(name)
    y = check_curve("values", values, min_points=max(len(CURVE_MODELS[m].params) for m in models) + 1)
    epoch = check_int("epoch", epoch)
    fits = {m: fit_curve(y, m) for m in models}
    aic = np.array([f.aic for f in fits.values()])
    w = np.exp(-(aic - aic.min()) / 2)
    w /= w.sum()
    stats = np.array([[float(v[0]) for v in f.predict(epoch)] for f in fits.values()])
    mean = float(w @ stats[:, 0])
    var = float(w @ (stats[:, 1] ** 2 + stats[:, 0] ** 2)) - mean ** 2
    return Extrapolation(epoch, mean, float(np.sqrt(max(var, 0.0))), dict(zip(models, w.tolist())), fits)


# ---------------------------------------------------------------------------------------
# Ranking, early stopping and successive halving on stored curves


def check_matrix(name: str, matrix: ArrayLike | pd.DataFrame) -> np.ndarray:
    """A curve matrix (one row per cell, one column per epoch from 1) as a finite 2-D float
    array with at least two cells and two epochs."""
    array = check_array(name, matrix, ndim=2, min_rows=2)
    if array.shape[1] < 2:
        raise ValueError(f"{name} must hold at least 2 epochs (columns), got {array.shape[1]}")
    return array


def extrapolation_table(matrix: ArrayLike | pd.DataFrame, at_epochs: Sequence[int], target: int | None = None,
                        models: Sequence[str] = DEFAULT_MODELS) -> dict[str, np.ndarray]:
    """For every cell (row of ``matrix``) and every ``k`` of ``at_epochs``, the ensemble's
    prediction (:func:`extrapolate`) of the value at epoch ``target`` (default: the last)
    from the first ``k`` epochs. Returns ``mean`` and ``std``, arrays of shape
    (cells, len(at_epochs)), and ``at_epochs``. Computed once, it serves every ordering
    of the cells in :func:`early_stopping`."""
    y = check_matrix("matrix", matrix)
    target = y.shape[1] if target is None else check_int("target", target, maximum=y.shape[1])
    at = [check_int("at_epochs[...]", k, maximum=target - 1) for k in check_sequence("at_epochs", at_epochs,
                                                                                    (int, np.integer), min_length=1)]
    mean, std = np.empty((len(y), len(at))), np.empty((len(y), len(at)))
    for i, row in enumerate(y):
        for j, k in enumerate(at):
            pred = extrapolate(row[:k], target, models)
            mean[i, j], std[i, j] = pred.mean, pred.std
    return {"mean": mean, "std": std, "at_epochs": np.array(at)}


@dataclass(frozen=True)
class StoppingResult:
    """What a multi-fidelity method spent and found on stored curves: ``epochs`` trained in
    all (a stopped run counts the epochs it had), out of ``full_epochs`` for training
    every cell to the end; the ``chosen`` cell (row), its final value, and the ``regret``
    (best final value of all cells minus the chosen one's); ``stopped`` rows."""

    epochs: int
    full_epochs: int
    chosen: int
    final: float
    regret: float
    stopped: tuple[int, ...]

    @property
    def saved(self) -> float:
        """The fraction of the epochs of full training that were not spent."""
        return 1.0 - self.epochs / self.full_epochs


def _order(n: int, order: Sequence[int] | None, seed: int | np.random.Generator | None) -> list[int]:
    if order is None:
        return list(range(n)) if seed is None else as_generator(seed).permutation(n).tolist()
    order = [check_int("order[...]", i, minimum=0, maximum=n - 1) for i in check_sequence("order", order,
                                                                                         (int, np.integer))]
    if sorted(order) != list(range(n)):
        raise ValueError(f"order must be a permutation of the {n} rows")
    return order


def early_stopping(matrix: ArrayLike | pd.DataFrame, table: dict[str, np.ndarray], z: float = 1.645,
                   order: Sequence[int] | None = None, seed: int | np.random.Generator | None = None
                   ) -> StoppingResult:
    """Domhan et al.'s rule on stored curves: the cells are trained one after another (in
    ``order``, or shuffled by ``seed``, or row order); at each epoch ``k`` of the
    extrapolation ``table`` (:func:`extrapolation_table`) a run stops when its predicted
    final value's upper bound ``mean + z std`` falls below the best final value of the
    runs completed so far. The first run always completes. The cell chosen is the best
    completed run."""
    y = check_matrix("matrix", matrix)
    check_type("table", table, dict, "the dict that extrapolation_table returns")
    mean, std, at = (np.asarray(table[key]) for key in ("mean", "std", "at_epochs"))
    if mean.shape != (len(y), len(at)):
        raise ValueError(f"table holds predictions for {mean.shape[0]} cells, matrix has {len(y)}")
    z = check_number("z", z)
    final, epochs, best, chosen, stopped = y[:, -1], 0, -np.inf, -1, []
    for i in _order(len(y), order, seed):
        halt = np.flatnonzero(mean[i] + z * std[i] < best)
        if halt.size:
            epochs += int(at[halt[0]])
            stopped.append(i)
            continue
        epochs += y.shape[1]
        if final[i] > best:
            best, chosen = final[i], i
    return StoppingResult(epochs, y.size, chosen, float(final[chosen]), float(final.max() - final[chosen]),
                          tuple(stopped))


def successive_halving(matrix: ArrayLike | pd.DataFrame, min_epochs: int, eta: int = 3) -> StoppingResult:
    """Successive halving on stored curves, with the loop of
    :func:`nascourse.search.blackbox.successive_halving`: every cell at ``min_epochs``,
    the best ``1/eta`` on to ``eta`` times as many epochs, and so on up to the last epoch.
    A promoted run resumes where it stopped (it is one stored run), so a cell costs the
    epochs of the last rung it reached."""
    y = check_matrix("matrix", matrix)
    history = blackbox.successive_halving(_StoredCurve(y), len(y), check_int("min_epochs", min_epochs),
                                          y.shape[1], eta, seed=0, archs=list(range(len(y))))
    reached: dict[int, int] = {}
    for ev in history:
        reached[ev.arch] = max(reached.get(ev.arch, 0), int(ev.info["fidelity"]))
    top = max(reached.values())
    chosen = max((a for a in reached if reached[a] == top), key=lambda a: (y[a, top - 1], -a))
    final = y[:, -1]
    return StoppingResult(sum(reached.values()), y.size, chosen, float(final[chosen]),
                          float(final.max() - final[chosen]), tuple(a for a in reached if reached[a] < top))


class _StoredCurve:
    """The objective ``(row, epochs) -> matrix[row, epochs - 1]``."""

    def __init__(self, matrix: np.ndarray):
        self.matrix = matrix

    def __call__(self, row: int, epochs: int) -> float:
        return float(self.matrix[row, int(epochs) - 1])


def rank_correlations(matrix: ArrayLike | pd.DataFrame, k: int, table: dict[str, np.ndarray] | None = None,
                      models: Sequence[str] = DEFAULT_MODELS) -> dict[str, float]:
    """Kendall's tau with the final values (last column) of two rankings from the first
    ``k`` epochs: ``last_seen`` (the value at epoch ``k``) and ``extrapolated`` (the
    ensemble's predicted final value; read from ``table`` when it holds epoch ``k``)."""
    y = check_matrix("matrix", matrix)
    k = check_int("k", k, maximum=y.shape[1] - 1)
    if table is not None and k in list(table["at_epochs"]):
        predicted = np.asarray(table["mean"])[:, list(table["at_epochs"]).index(k)]
    else:
        predicted = np.array([extrapolate(row[:k], y.shape[1], models).mean for row in y])
    return {"last_seen": metrics.kendall_tau(y[:, -1], y[:, k - 1]),
            "extrapolated": metrics.kendall_tau(y[:, -1], predicted)}
