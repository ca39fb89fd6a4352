"""nascourse.predictors.families and scripts/predictor_families.py: the predictor families
of chapter 07 run on shared, seeded splits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, RegressorMixin
from threadpoolctl import threadpool_info

from nascourse.predictors import experiments, families
from nascourse.predictors.families import FAMILIES, BestProxy, Family, compare
from nascourse.registry import Registry
from scripts import predictor_families as script


class _Recorder(RegressorMixin, BaseEstimator):
    """Remembers the training rows it saw (column 0 holds the row's position)."""

    seen: list = []
    blas_threads: list = []

    def __init__(self, tag: str = "") -> None:
        self.tag = tag

    def fit(self, X, y):
        _Recorder.seen.append((self.tag, len(X), tuple(np.asarray(X)[:, 0].astype(int))))
        _Recorder.blas_threads += [i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"]
        self.mean_ = float(np.mean(y))
        return self

    def predict(self, X):
        return np.full(len(X), self.mean_)


@pytest.fixture
def toy(monkeypatch):
    """Two recording families on a toy table whose first column is the row position."""
    n = 60
    rows = np.arange(n, dtype=float)[:, None]
    encodings = {"one-hot": np.hstack([rows, rows ** 2]), "GRAF": np.hstack([rows, -rows])}
    fams = Registry("predictor family")
    fams.add("a", Family("one-hot", "recorder", lambda seed: _Recorder("a")))
    fams.add("b", Family("GRAF", "recorder", lambda seed: _Recorder("b")))
    monkeypatch.setattr(families, "FAMILIES", fams)
    _Recorder.seen = []
    y = np.random.default_rng(0).normal(size=n)
    return encodings, y


def test_every_family_sees_the_same_training_cells(toy):
    encodings, y = toy
    runs = compare(["a", "b"], sizes=(5, 20), seeds=(0, 1, 2), encodings=encodings, y=y)
    assert len(runs) == 2 * 2 * 3 and set(runs["family"]) == {"a", "b"}
    by_tag = {"a": [], "b": []}
    for tag, size, rows in _Recorder.seen:
        by_tag[tag].append((size, rows))
    assert sorted(by_tag["a"]) == sorted(by_tag["b"])          # identical splits
    expected = {(size, tuple(experiments.split(len(y), size, seed)[0])) for size in (5, 20) for seed in (0, 1, 2)}
    assert set(by_tag["a"]) == expected
    small = {seed: set(experiments.split(len(y), 5, seed)[0]) for seed in (0, 1, 2)}
    large = {seed: set(experiments.split(len(y), 20, seed)[0]) for seed in (0, 1, 2)}
    assert all(small[s] <= large[s] for s in small)             # nested sizes
    assert len({rows for _, rows in by_tag["a"] if len(rows) == 5}) == 3  # seeds differ


def test_fits_run_with_one_blas_thread(toy):
    encodings, y = toy
    _Recorder.blas_threads = []
    compare(["a"], sizes=(5,), seeds=(0, 1), encodings=encodings, y=y, n_jobs=2)
    assert _Recorder.blas_threads and set(_Recorder.blas_threads) == {1}


def test_table_orders_families_and_sizes(toy):
    encodings, y = toy
    runs = compare(["b", "a"], sizes=(20, 5), seeds=(0, 1), encodings=encodings, y=y)
    stats = families.table(runs)
    assert list(stats.index) == ["a", "b"]                      # FAMILIES order, not call order
    assert list(stats["mean"].columns) == [5, 20] and stats.notna().all().all()
    with pytest.raises(ValueError, match="metric"):
        families.table(runs, "mse")


def test_best_proxy_picks_the_best_ranking_column():
    rng = np.random.default_rng(1)
    y = rng.normal(size=200)
    X = np.column_stack([rng.normal(size=200), y + 0.3 * rng.normal(size=200), -y, y + 2 * rng.normal(size=200)])
    model = BestProxy().fit(X[:50], y[:50])
    assert model.best_ == 1 and 0.5 < model.tau_ < 1             # -y ranks perfectly, but backwards
    np.testing.assert_array_equal(model.predict(X[50:]), X[50:, 1])
    with pytest.raises(ValueError):
        BestProxy().fit(X[:1], y[:1])
    with pytest.raises(ValueError):
        model.predict(X[:, :2])                                  # wrong number of proxies


def test_real_families_are_reproducible_and_differ_between_seeds():
    cells, y = families.benchmark_cells()
    names = ["one-hot boosting", "best proxy", "GRAF + proxies forest"]
    enc = families.encode([FAMILIES[f].encoding for f in names], cells)
    first = compare(names, sizes=(24,), seeds=(0, 1), encodings=enc, y=y)
    again = compare(names, sizes=(24,), seeds=(0, 1), encodings=enc, y=y)
    pd.testing.assert_frame_equal(first.drop(columns="fit_cpu_s"), again.drop(columns="fit_cpu_s"))
    taus = first.set_index(["family", "seed"])["kendall_tau"]
    assert taus[("GRAF + proxies forest", 0)] != taus[("GRAF + proxies forest", 1)]
    assert (first["kendall_tau"] > 0.2).all() and (first["spearman"] > first["kendall_tau"]).all()
    assert list(first.columns) == ["family", "encoding", "model", "size", "seed", "kendall_tau", "spearman",
                                   "fit_cpu_s"]


def test_encodings_have_the_documented_widths():
    cells, _ = families.benchmark_cells()
    enc = families.encode(list(families.ENCODINGS), cells[:5])
    widths = {name: X.shape for name, X in enc.items()}
    assert widths["one-hot"] == (5, 30) and widths["path"] == (5, 84) and widths["graph"] == (5, 120)
    assert widths["arch2vec"] == (5, 16) and widths["proxies"] == (5, 13)
    assert widths["GRAF + proxies"][1] == widths["GRAF"][1] + 13


@pytest.mark.parametrize("kwargs, error", [
    ({"families": ["no such family"]}, ValueError),
    ({"families": "GRAF forest"}, TypeError),
    ({"families": []}, ValueError),
    ({"families": ["best proxy", "best proxy"]}, ValueError),
    ({"sizes": 32}, TypeError),
    ({"sizes": (True,)}, TypeError),
    ({"sizes": (1,)}, ValueError),
    ({"sizes": (10_000,)}, ValueError),
    ({"seeds": (-1,)}, ValueError),
    ({"seeds": ()}, ValueError),
    ({"dataset": "cifar100"}, ValueError),
    ({"n_jobs": 0}, ValueError),
])
def test_bad_arguments_raise(kwargs, error):
    with pytest.raises(error):
        compare(**{"families": ["best proxy"], "sizes": (8,), "seeds": (0,), **kwargs})


def test_encodings_must_match_the_families():
    y = np.arange(30, dtype=float)
    with pytest.raises(ValueError, match="encodings"):
        compare(["best proxy"], sizes=(8,), seeds=(0,), y=y)
    with pytest.raises(ValueError, match="lacks"):
        compare(["best proxy"], sizes=(8,), seeds=(0,), y=y, encodings={"GRAF": np.zeros((30, 3))})
    with pytest.raises(ValueError):
        Family("no such encoding", "forest", lambda seed: BestProxy())
    with pytest.raises(TypeError):
        Family("GRAF", "forest", "not callable")


def test_script_prints_the_table_on_a_tiny_grid(capsys, tmp_path):
    assert script.main(["--sizes", "16", "24", "--seeds", "2", "--families", "best proxy", "GRAF forest",
                        "--n-jobs", "1", "--csv", str(tmp_path / "runs.csv")]) == 0
    out = capsys.readouterr().out
    assert "Kendall tau" in out and "Spearman rho" in out and "seeds 0..1" in out
    lines = [line for line in out.splitlines() if line.startswith(("best proxy", "GRAF forest"))]
    assert len(lines) == 4 and all(line.count("±") == 2 for line in lines)
    assert "8 fits" in out and max(len(line) for line in out.splitlines()) <= 80
    saved = pd.read_csv(tmp_path / "runs.csv")
    assert len(saved) == 8 and set(saved["size"]) == {16, 24} and set(saved["seed"]) == {0, 1}
