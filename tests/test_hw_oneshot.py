"""Hardware-aware one-shot search (issue 15, chapter 09): the architecture-loss hook of the
one-shot loop, the latency-aware DARTS ('darts_latency'), its expected latency and the
sweep script. Tiny problems only: 8x8 images, a C=2 supernet, a few steps."""

import numpy as np
import pytest
import torch

from nascourse.nn.supernet import discretise
from nascourse.search import oneshot
from nascourse.search.multiobjective import DEVICES, device_table, expected_cost, hardware_objective
from nascourse.spaces import nb201
from scripts import hw_oneshot_sweep as script

pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def data():
    return oneshot.search_data(n_images=48, image_size=8, batch_size=8, seed=0)


def tiny(**kwargs):
    settings = {"epochs": 2, "C": 2, "N": 1, "progress": False, "device": "cpu"}
    settings.update(kwargs)
    return settings


def latency(cell, target="pixel3"):
    return float(hardware_objective(target).cost([cell])[0])


# ----- the hook ----------------------------------------------------------------------------
@pytest.mark.parametrize("order", [1, 2])
def test_a_zero_penalty_is_plain_darts_and_a_positive_one_is_not(data, order):
    plain = oneshot.run_search("darts", data, order=order, **tiny())
    zero = oneshot.run_search("darts_latency", data, order=order, options={"latency_weight": 0.0}, **tiny())
    assert np.array_equal(plain.trajectory, zero.trajectory)
    assert [r["valid_loss"] for r in plain.history] == [r["valid_loss"] for r in zero.history]
    assert "arch_penalty" not in plain.history[0] and zero.history[0]["arch_penalty"] == 0.0
    assert plain.settings == oneshot.SearchSettings("darts", epochs=2, C=2, order=order).as_dict()
    assert "options" not in plain.settings          # old checkpoints still match
    penalised = oneshot.run_search("darts_latency", data, order=order, options={"latency_weight": 0.1}, **tiny())
    assert not np.array_equal(plain.trajectory, penalised.trajectory)
    assert penalised.history[-1]["arch_penalty"] > 0
    assert penalised.settings["options"] == {"latency_weight": 0.1}
    settings = oneshot.SearchSettings("darts_latency", options={"latency_weight": 0.1})
    assert hash(settings) == hash(oneshot.SearchSettings("darts_latency", options={"latency_weight": 0.1}))
    assert settings != oneshot.SearchSettings("darts_latency", options={"latency_weight": 0.2})


def test_the_base_method_adds_no_penalty():
    assert oneshot.OneShotMethod().arch_penalty(None) is None
    assert oneshot.METHODS["darts_latency"] is oneshot.LatencyDARTS
    assert issubclass(oneshot.LatencyDARTS, oneshot.DARTS)


# ----- the expected latency -----------------------------------------------------------------
def test_expected_latency_is_differentiable_and_its_gradient_favours_cheap_operations():
    method = oneshot.method_instance("darts_latency", {"target": "pixel3", "latency_weight": 1.0})
    costs = torch.tensor(method.costs)
    alpha = torch.randn(6, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(0), requires_grad=True)
    value = method.expected_latency(alpha)
    (grad,) = torch.autograd.grad(value, alpha)
    p = torch.softmax(alpha.detach(), dim=1)
    # d E / d alpha_eo = p_eo (t_eo - E_e): up for operations above the edge's mean cost
    assert torch.allclose(grad, p * (costs - (p * costs).sum(1, keepdim=True)))
    assert value.item() == pytest.approx(expected_cost(alpha.detach().numpy(), method.costs, method.base))
    # at uniform weights the gradient's sign is the cost's side of the edge's mean
    uniform = torch.zeros(6, 5, dtype=torch.float64, requires_grad=True)
    (g0,) = torch.autograd.grad(method.expected_latency(uniform), uniform)
    assert torch.equal(torch.sign(g0), torch.sign(costs - costs.mean(1, keepdim=True)))
    # gradient descent on alpha lowers the expected latency and moves weight to cheap ops
    step = (alpha - 0.5 * grad).detach()
    assert method.expected_latency(step).item() < value.item()
    cheapest = costs.argmin(1)
    assert (torch.softmax(step, 1)[range(6), cheapest] > p[range(6), cheapest]).all()
    # with alpha far along the gradient, the derived cell is each edge's cheapest operation
    assert discretise(-100 * g0.detach()).op_ids() == tuple(cheapest.tolist())


def test_device_table_is_fitted_on_the_whole_device_and_shared():
    table = device_table("edgegpu")
    assert table is device_table("edgegpu") and (table.costs_["none"] == 0).all()
    objective = hardware_objective("edgegpu")
    frame = objective.table()
    from nascourse.spaces.nb201 import Cell
    cells = [Cell.from_index(i) for i in frame.index[:500]]
    error = np.abs(table.predict(cells) - frame["latency"].to_numpy()[:500])
    assert error.mean() < 0.1 * frame["latency"].mean()


# ----- the search --------------------------------------------------------------------------
@pytest.mark.parametrize("seed", [0, 1])
def test_latency_aware_darts_derives_a_faster_cell_than_plain_darts(data, seed):
    plain = oneshot.run_search("darts", data, seed=seed, **tiny())
    aware = oneshot.run_search("darts_latency", data, seed=seed, options={"latency_weight": 0.1, "target": "pixel3"},
                               **tiny())
    assert latency(aware.cell) < latency(plain.cell)
    method = oneshot.method_instance("darts_latency", {"latency_weight": 0.1})
    assert (method.expected_latency(aware.supernet.alpha).item()
            < method.expected_latency(plain.supernet.alpha).item())


def test_a_stopped_latency_aware_run_resumes_and_checks_its_options(data, tmp_path):
    options = {"latency_weight": 0.05, "target": "edgegpu"}
    path = tmp_path / "lat.pt"
    straight = oneshot.run_search("darts_latency", data, options=options, **tiny(epochs=3))
    oneshot.run_search("darts_latency", data, options=options, checkpoint=path, stop_after=1, **tiny(epochs=3))
    resumed = oneshot.run_search("darts_latency", data, options=options, checkpoint=path, **tiny(epochs=3))
    assert np.array_equal(resumed.trajectory, straight.trajectory)
    with pytest.raises(ValueError, match="another run"):
        oneshot.run_search("darts_latency", data, options={**options, "latency_weight": 0.5}, checkpoint=path,
                           **tiny(epochs=3))


@pytest.mark.parametrize("method, options, error, match", [
    ("darts_latency", {"target": "iphone"}, ValueError, r"unknown target.*'iphone'.*\['edgegpu', 'raspi4'"),
    ("darts_latency", {"target": 3}, TypeError, "target"),
    ("darts_latency", {"latency_weight": -0.1}, ValueError, "latency_weight"),
    ("darts_latency", {"latency_weight": "high"}, TypeError, "latency_weight"),
    ("darts_latency", {"device": "pixel3"}, ValueError, r"unknown option.*\['device'\].*\['latency_weight', 'target'\]"),
    ("darts", {"target": "pixel3"}, ValueError, "takes no options"),
    ("darts_latency", [("target", "pixel3")], TypeError, "options must be a dict"),
])
def test_bad_options_give_clear_errors(data, method, options, error, match):
    with pytest.raises(error, match=match):
        oneshot.SearchSettings(method, options=options)
    with pytest.raises(error, match=match):
        oneshot.run_search(method, data, options=options, **tiny())


def test_device_table_and_expected_cost_reject_bad_input():
    with pytest.raises(ValueError, match=r"unknown device 'iphone'.*" + DEVICES[0]):
        device_table("iphone")
    with pytest.raises(ValueError, match="metric"):
        device_table("pixel3", "energy")
    with pytest.raises(ValueError, match="shape of alpha"):
        expected_cost(torch.zeros(6, 5), np.zeros((6, 4)))


# ----- the script --------------------------------------------------------------------------
def test_sweep_script_runs_on_a_tiny_setting(capsys):
    argv = ["--n-images", "48", "--image-size", "8", "--batch-size", "8", "--epochs", "2", "--C", "2",
            "--lambdas", "0.1", "--target", "pixel3"]
    assert script.main(argv) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line.split() for line in lines if line.split() and line.split()[0] in ("0", "0.1")]
    assert len(rows) == 2 and all(len(row) == 10 for row in rows)     # lambda, 6 ops, 3 numbers
    assert float(rows[1][-2]) < float(rows[0][-2])                    # a lower HW-NAS-Bench latency
    assert "1 of 1 penalised runs" in out
    with pytest.raises(SystemExit):
        script.main(["--lambdas", "0"])


# ----- the sweep in the package --------------------------------------------------------------
def test_latency_penalty_sweep_rows_and_bad_input():
    from nascourse.search.multiobjective import latency_penalty_sweep, short_cell

    runs = latency_penalty_sweep([0.1], "pixel3", seed=0, epochs=2,
                                 data_options={"n_images": 48, "image_size": 8, "batch_size": 8},
                                 settings={"C": 2})
    assert list(runs["lambda"]) == [0.0, 0.1]
    assert list(runs.columns) == ["lambda", "cell", "test_acc", "latency", "table_lat", "seconds"]
    assert runs["latency"].iloc[1] < runs["latency"].iloc[0]
    cell = nb201.Cell(("nor_conv_3x3", "none", "skip_connect", "nor_conv_1x1", "avg_pool_3x3", "none"))
    assert short_cell(cell) == "3 - S 1 P -"
    with pytest.raises(TypeError, match="cell"):
        short_cell("3 - S 1 P -")
    with pytest.raises(ValueError, match="lambda"):
        latency_penalty_sweep([0.0])
    with pytest.raises(ValueError, match="lambdas"):
        latency_penalty_sweep([])
    with pytest.raises(TypeError, match="lambdas"):
        latency_penalty_sweep(["0.1"])
    with pytest.raises(ValueError, match="target"):
        latency_penalty_sweep([0.1], target="iphone")
