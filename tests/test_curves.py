"""nascourse.curves and scripts/train_curves.py: learning curves of NAS-Bench-201 cells,
their parametric extrapolation, early stopping and successive halving on stored curves."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

from nascourse import curves, data
from nascourse.search.training import TrainingObjective
from scripts import train_curves as script

EPOCHS = np.arange(1.0, 28.0)
TRUE_PARAMS = {"pow3": (80.0, 50.0, 0.7), "log_power": (85.0, 1.0, -1.2), "exp3": (82.0, 0.2, 4.0)}


def test_registry_holds_the_three_models_with_their_old_spellings():
    assert curves.CURVE_MODELS.names == ["pow3", "log_power", "exp3"]
    assert curves.CURVE_MODELS["exponential"] is curves.CURVE_MODELS["exp3"]
    assert curves.CURVE_MODELS["log-power"] is curves.CURVE_MODELS["log_power"]
    assert set(TRUE_PARAMS) == set(curves.CURVE_MODELS)


@pytest.mark.parametrize("name", sorted(TRUE_PARAMS))
def test_each_model_recovers_the_parameters_of_its_own_curve(name):
    model, theta = curves.CURVE_MODELS[name], np.array(TRUE_PARAMS[name])
    y = model(EPOCHS, *theta)
    fit = curves.fit_curve(y, name)
    np.testing.assert_allclose(fit.params, theta, rtol=1e-4)
    assert fit.sse < 1e-8
    noisy = y + np.random.default_rng(0).normal(0, 0.2, len(y))
    fit = curves.fit_curve(noisy, name)
    se = np.sqrt(np.diag(fit.cov))
    assert np.all(np.abs(fit.params - theta) < 4 * se + 1e-9), (fit.params, se)
    np.testing.assert_allclose(fit.params, theta, rtol=0.05)


@pytest.mark.parametrize("name", sorted(TRUE_PARAMS))
def test_a_fit_to_the_first_third_predicts_the_last_epoch(name):
    y = curves.CURVE_MODELS[name](EPOCHS, *TRUE_PARAMS[name])
    noisy = y + np.random.default_rng(1).normal(0, 0.2, len(y))
    pred = curves.extrapolate(noisy[:9], 27)
    assert abs(pred.mean - y[-1]) < 1.5
    assert abs(pred.mean - y[-1]) < 3 * pred.std
    assert pred.weights[name] == max(pred.weights.values())
    assert abs(sum(pred.weights.values()) - 1) < 1e-12
    # the bound widens when the curve is cut shorter
    assert curves.extrapolate(noisy[:5], 27).std > curves.extrapolate(noisy[:15], 27).std


def test_prediction_spread_includes_the_observation_noise():
    y = curves.CURVE_MODELS["pow3"](EPOCHS, *TRUE_PARAMS["pow3"])
    fit = curves.fit_curve(y + np.random.default_rng(2).normal(0, 0.5, len(y)), "pow3")
    mean, std = fit.predict([1, 27])
    assert mean.shape == std.shape == (2,)
    assert np.all(std >= np.sqrt(fit.sigma2))


def _table(mean, std, at):
    return {"mean": np.array(mean, float), "std": np.array(std, float), "at_epochs": np.array(at)}


def test_early_stopping_counts_epochs_on_a_hand_built_case():
    # four cells of 10 epochs; finals 50, 40, 70, 75; predictions at epochs 2 and 5
    matrix = np.array([np.linspace(10, f, 10) for f in (50, 40, 70, 75)])
    table = _table([[55, 55], [40, 40], [60, 60], [80, 60]], np.ones((4, 2)), [2, 5])
    res = curves.early_stopping(matrix, table, z=2.0, order=[0, 1, 2, 3])
    # cell 0 runs to the end (nothing to beat); cell 1 (upper 42 < 50) stops at 2;
    # cell 2 (upper 62 >= 50) completes and becomes best (70); cell 3 stops at 5 (62 < 70)
    assert res.epochs == 10 + 2 + 10 + 5 and res.full_epochs == 40
    assert res.stopped == (1, 3) and res.chosen == 2
    assert res.final == 70 and res.regret == 5
    assert res.saved == pytest.approx(1 - 27 / 40)
    # a wider bound (z large) stops nothing: full cost, no regret
    never = curves.early_stopping(matrix, table, z=100.0, order=[0, 1, 2, 3])
    assert (never.epochs, never.regret, never.stopped) == (40, 0.0, ())
    # the order matters: the best cell first stops everything else at their first check
    first = curves.early_stopping(matrix, _table(matrix[:, [1, 4]], np.zeros((4, 2)), [2, 5]), order=[3, 2, 1, 0])
    assert first.epochs == 10 + 2 + 2 + 2 and first.chosen == 3 and first.regret == 0


def test_early_stopping_shuffles_by_seed():
    rng = np.random.default_rng(0)
    matrix = np.cumsum(rng.uniform(0, 3, (12, 9)), axis=1)
    table = _table(matrix[:, [2]] * 3, np.ones((12, 1)), [3])
    a, b = curves.early_stopping(matrix, table, seed=1), curves.early_stopping(matrix, table, seed=1)
    assert a == b
    runs = {curves.early_stopping(matrix, table, seed=s).epochs for s in range(10)}
    assert len(runs) > 1


def test_successive_halving_counts_epochs_on_a_hand_built_case():
    # nine cells, nine epochs, rungs 1, 3, 9 (eta 3): value = start + slope * epoch
    start = np.array([9, 8, 7, 6, 5, 4, 3, 2, 1], float)
    slope = np.array([0, 0.1, 0.2, 1, 1, 1, 3, 3, 3], float)
    matrix = start[:, None] + slope[:, None] * np.arange(1, 10)
    res = curves.successive_halving(matrix, min_epochs=1, eta=3)
    # epoch 1: 9, 8.1, 7.2, 7, 6, 5, 6, 5, 4 -> rows 0, 1, 2 go on to 3 epochs;
    # epoch 3: 9, 8.3, 7.6 -> row 0 to 9 epochs; final 9, but row 8 ends at 28
    assert res.epochs == 6 * 1 + 2 * 3 + 1 * 9 and res.full_epochs == 81
    assert res.chosen == 0 and res.final == 9
    assert res.regret == pytest.approx(matrix[:, -1].max() - 9)
    assert sorted(res.stopped) == [1, 2, 3, 4, 5, 6, 7, 8]
    # curves that never cross: successive halving keeps the best (rows 6-8 tie)
    res = curves.successive_halving(slope[:, None] * np.arange(1, 10), 1)
    assert res.chosen in (6, 7, 8) and res.regret == 0


def test_rank_correlations_of_parallel_curves_are_perfect():
    matrix = np.array([f - 30 * np.exp(-0.3 * EPOCHS) for f in (60, 70, 80, 90)])
    taus = curves.rank_correlations(matrix, 9)
    assert taus == {"last_seen": pytest.approx(1.0), "extrapolated": pytest.approx(1.0)}
    # crossing curves: the late bloomer ranks last at epoch 9 but first at the end
    crossing = np.vstack([matrix, 95 - 90 * EPOCHS ** -0.3])
    taus = curves.rank_correlations(crossing, 9)
    assert taus["last_seen"] < 1.0


def test_extrapolation_table_has_one_prediction_per_cell_and_epoch():
    matrix = np.array([curves.CURVE_MODELS["exp3"](EPOCHS[:12], c, 0.3, 4.0) for c in (60, 70, 80)])
    table = curves.extrapolation_table(matrix, [4, 6])
    assert table["mean"].shape == table["std"].shape == (3, 2)
    np.testing.assert_allclose(table["mean"][:, 1], matrix[:, -1], atol=0.5)
    taus = curves.rank_correlations(matrix, 6, table)
    assert taus["extrapolated"] == pytest.approx(1.0)


@pytest.mark.parametrize("values, error, match", [
    ([], ValueError, r"values must hold at least 4 values"),
    ([1.0, 2.0, np.nan, 4.0, 5.0], ValueError, r"values must hold finite numbers"),
    ([1.0, np.inf, 3.0, 4.0, 5.0], ValueError, r"values must hold finite numbers"),
    ("12345", TypeError, r"values must be a numeric array"),
    ([[1.0, 2.0], [3.0, 4.0]], ValueError, r"values must be a 1-D array"),
])
def test_bad_curves_are_clear_errors(values, error, match):
    with pytest.raises(error, match=match):
        curves.fit_curve(values)
    with pytest.raises(error, match=match):
        curves.extrapolate(values, 27)


def test_unknown_model_names_the_valid_ones():
    y = list(range(1, 10))
    valid = r"valid names are \['pow3', 'log_power', 'exp3'\]"
    with pytest.raises(ValueError, match=r"unknown curve model 'pow4'; " + valid):
        curves.fit_curve(y, "pow4")
    with pytest.raises(ValueError, match=r"unknown curve model 'weibull'"):
        curves.extrapolate(y, 27, models=["pow3", "weibull"])
    with pytest.raises(TypeError, match=r"curve model name must be a str"):
        curves.fit_curve(y, 3)
    with pytest.raises(ValueError, match=r"models must hold at least 1"):
        curves.extrapolate(y, 27, models=[])


def test_other_bad_arguments():
    matrix = np.arange(20.0).reshape(4, 5)
    with pytest.raises(ValueError, match=r"target must be an int from 1 to 5"):
        curves.extrapolation_table(matrix, [4], target=6)
    with pytest.raises(ValueError, match=r"at_epochs\[...\] must be an int from 1 to 4"):
        curves.extrapolation_table(matrix, [5])
    with pytest.raises(ValueError, match=r"matrix must hold at least 2 epochs"):
        curves.successive_halving(matrix[:, :1], 1)
    with pytest.raises(ValueError, match=r"order must be a permutation of the 4 rows"):
        curves.early_stopping(matrix, _table(np.zeros((4, 1)), np.ones((4, 1)), [2]), order=[0, 0, 1, 2])
    with pytest.raises(ValueError, match=r"table holds predictions for 3 cells, matrix has 4"):
        curves.early_stopping(matrix, _table(np.zeros((3, 1)), np.ones((3, 1)), [2]))
    with pytest.raises(ValueError, match=r"epochs and values differ in length"):
        curves.fit_curve(np.arange(1.0, 6.0), epochs=[1, 2, 3])
    with pytest.raises(ValueError, match=r"lacks the columns \['epoch'\]"):
        curves.curve_matrix(pd.DataFrame({"index": [1], "valid_acc": [2.0]}))


def test_shipped_curves_load_with_their_checksum():
    table = curves.load_curves()
    matrix = curves.curve_matrix(table)
    assert matrix.shape == (48, 20) and np.isfinite(matrix.to_numpy()).all()
    assert table["valid_acc"].between(0, 100).all() and table["index"].nunique() == 48
    # every curve rises, and the training loss falls
    assert (matrix[20] - matrix[1] > 5).all()
    loss = curves.curve_matrix(table, "train_loss")
    assert loss.shape == (48, 20) and (loss[20] < loss[1]).all()
    # one row per cell and epoch, the cells of the script's strata (seed 0)
    assert sorted(matrix.index) == sorted(c.index for c in script.stratified_cells(48, seed=0))


@pytest.fixture
def corrupted_curves(tmp_path, monkeypatch):
    """A copy of the shipped curve file with one byte flipped, seen through nascourse.data."""
    raw = bytearray((data.DATA_DIR / curves.CURVES_FILE).read_bytes())
    raw[200] ^= 0xFF
    (tmp_path / curves.CURVES_FILE).write_bytes(bytes(raw))
    (tmp_path / "SHA256SUMS").write_text(data.SUMS_FILE.read_text())
    monkeypatch.setattr(data, "DATA_DIR", tmp_path)
    monkeypatch.setattr(data, "SUMS_FILE", tmp_path / "SHA256SUMS")
    for cached in (data.checksums, data._verified, curves._curves):
        cached.cache_clear()
    yield
    for cached in (data.checksums, data._verified, curves._curves):
        cached.cache_clear()


def test_a_corrupted_curve_file_is_refused(corrupted_curves):
    with pytest.raises(data.DataFileError, match=r"nb201_curves\.csv\.gz is corrupted"):
        curves.load_curves()


def test_stratified_cells_span_the_accuracy_range():
    from nascourse import benchmarks

    cells = script.stratified_cells(12, seed=0)
    acc = benchmarks.load_nb201("cifar10")["val_acc"].loc[[c.index for c in cells]].to_numpy()
    assert len({c.index for c in cells}) == 12 and np.all(np.diff(acc) >= 0)
    assert acc[0] < 82 and acc[-1] > 89  # the bottom and the top of the space
    assert [c.index for c in script.stratified_cells(12, seed=0)] == [c.index for c in cells]


def test_script_trains_a_tiny_setting_into_a_folder(tmp_path, one_torch_thread, capsys):
    sums = data.SUMS_FILE.read_text()
    out = tmp_path / "curves.csv.gz"
    assert script.main(["--cells", "2", "--epochs", "2", "--dataset", "digits", "--image-size", "8",
                        "--channels", "4", "--out", str(out)]) == 0
    table = pd.read_csv(out)
    assert list(table.columns) == ["index", "arch_str", "epoch", "valid_acc", "train_loss", "test_acc",
                                   "cpu_seconds"]
    assert len(table) == 4 and table["epoch"].tolist() == [1, 2, 1, 2]
    assert table["valid_acc"].between(0, 100).all() and (table["train_loss"] > 0).all()
    assert "2 cells x 2 epochs" in capsys.readouterr().out
    assert data.SUMS_FILE.read_text() == sums  # a file outside nascourse/data is not recorded
    with gzip.open(out) as f:
        assert f.read(5) == b"index"


def test_train_curves_is_the_live_run_of_the_script(one_torch_thread):
    objective = TrainingObjective("digits", epochs=2, C=4, N=1)
    table = curves.train_curves(["|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|"
                                 "nor_conv_3x3~2|"], objective)
    assert table["epoch"].tolist() == [1, 2]
    run = curves.train_curve(objective, table["arch_str"][0])
    assert [round(v, 2) for v in run["valid_acc"]] == table["valid_acc"].tolist()  # seeded: the same curve
    assert run["test_acc"] == pytest.approx(table["test_acc"][0], abs=0.01)


def test_a_curve_stopped_early_is_the_start_of_the_long_run(one_torch_thread):
    objective = TrainingObjective("digits", epochs=3, C=4, N=1, image_size=8)
    cell = "|nor_conv_3x3~0|+|skip_connect~0|nor_conv_3x3~1|+|skip_connect~0|none~1|nor_conv_3x3~2|"
    full = curves.train_curve(objective, cell)
    start = curves.train_curve(objective, cell, until=2)
    assert start["valid_acc"] == full["valid_acc"][:2]           # bit for bit: one run, stopped
    assert start["train_loss"] == full["train_loss"][:2]
    short = curves.train_curve(objective, cell, epochs=2)          # a 2-epoch schedule is another run
    assert short["train_loss"][1] != full["train_loss"][1]
    table = curves.train_curves([cell], objective, until=1)
    assert table["epoch"].tolist() == [1]
    with pytest.raises(ValueError, match="until"):
        curves.train_curve(objective, cell, until=4)
    with pytest.raises(TypeError, match="until"):
        curves.train_curve(objective, cell, until=1.5)
