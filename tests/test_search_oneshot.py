"""Tests of the one-shot search strategies (nascourse.search.oneshot, chapter 04).

Everything runs on tiny problems: 8x8 images, a supernet with C=2 or 4 and one cell per
stage, a handful of steps.
"""

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch.func import functional_call
from torch.utils.data import DataLoader, TensorDataset

from nascourse.nn import NB201Supernet
from nascourse.search import oneshot
from nascourse.spaces import nb201

pytestmark = pytest.mark.usefixtures("one_torch_thread")


# A new one-shot method is one class registered in one line, as a contributor would add it:
# DARTS with a fixed softmax temperature (here 4: flatter mixing weights than DARTS's).
class TemperedDARTS(oneshot.OneShotMethod):
    def forward(self, net, x, tau, generator):
        return net(x, weights=F.softmax(net.alpha / 4.0, dim=-1))


@pytest.fixture
def toy_method(scratch_registries):
    """TemperedDARTS registered for one test (the registry forgets it afterwards)."""
    scratch_registries(oneshot.METHODS)
    oneshot.METHODS.register("toy_tempered")(TemperedDARTS)


@pytest.fixture(scope="module")
def data():
    return oneshot.search_data(n_images=48, image_size=8, batch_size=8, seed=0)


def tiny(method="darts", **kwargs):
    settings = {"epochs": 2, "C": 2, "N": 1, "progress": False, "device": "cpu"}
    settings.update(kwargs)
    return settings


# ----- data ------------------------------------------------------------------------------------
def test_search_data_splits_in_two_disjoint_halves():
    data = oneshot.search_data(n_images=40, image_size=8, batch_size=8, seed=3)
    train, valid = data.train.dataset, data.valid.dataset
    assert len(train) == len(valid) == 20
    assert not set(train.indices) & set(valid.indices)
    x, _ = next(iter(data.train))
    assert x.shape == (8, 3, 8, 8)


def test_augmented_runs_are_seeded_and_resume_exactly(data, tmp_path):
    # A batch transform with its own generator (random crops and flips) is reseeded with the
    # run and saved in the checkpoint, like the loaders' shuffling.
    from nascourse.image_data import RandomCropFlip

    train = DataLoader(data.train.dataset, batch_size=8, shuffle=True, generator=torch.Generator(),
                       collate_fn=RandomCropFlip(seed=123, pad=1))
    augmented = oneshot.SearchData(train, data.valid)
    path = tmp_path / "augmented.pt"
    straight = oneshot.run_search("darts", augmented, **tiny(epochs=3))
    assert np.array_equal(oneshot.run_search("darts", augmented, **tiny(epochs=3)).trajectory, straight.trajectory)
    oneshot.run_search("darts", augmented, checkpoint=path, stop_after=1, **tiny(epochs=3))
    train.collate_fn.generator.manual_seed(999)          # whatever state it is left in
    resumed = oneshot.run_search("darts", augmented, checkpoint=path, **tiny(epochs=3))
    assert np.array_equal(resumed.trajectory, straight.trajectory)


@pytest.mark.parametrize("kwargs, error, match", [
    ({"dataset": "mnist"}, ValueError, "valid choices"),
    ({"n_images": 1}, ValueError, "n_images"),
    ({"n_images": 5000}, ValueError, "n_images"),
    ({"batch_size": 0}, ValueError, "batch_size"),
    ({"image_size": 2.5}, TypeError, "image_size"),
    ({"dataset": "cifar10", "image_size": 16}, ValueError, "only available"),
])
def test_search_data_rejects_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        oneshot.search_data(**kwargs)


# ----- the second-order gradient -------------------------------------------------------------------
def exact_unrolled_grad(net, xt, yt, xv, yv, xi):
    """d/d alpha of L_val(w - xi * grad_w L_train(w, alpha), alpha), by double backprop."""
    names = [n for n, _ in net.named_parameters() if n != "alpha"]
    params = dict(net.named_parameters())
    alpha = net.alpha.detach().clone().requires_grad_()
    weights = {n: params[n] for n in names}
    train_loss = F.cross_entropy(functional_call(net, {**weights, "alpha": alpha}, (xt,)), yt)
    grads = torch.autograd.grad(train_loss, list(weights.values()), create_graph=True, allow_unused=True)
    stepped = {n: w if g is None else w - xi * g for (n, w), g in zip(weights.items(), grads)}
    valid_loss = F.cross_entropy(functional_call(net, {**stepped, "alpha": alpha}, (xv,)), yv)
    return torch.autograd.grad(valid_loss, alpha)[0]


def test_second_order_gradient_matches_double_backprop():
    torch.manual_seed(0)
    net = NB201Supernet(C=2, N=1).double()
    with torch.no_grad():
        net.alpha.normal_(0, 0.5)
    xt, xv = torch.randn(8, 3, 8, 8, dtype=torch.float64), torch.randn(8, 3, 8, 8, dtype=torch.float64)
    yt, yv = torch.randint(0, 10, (8,)), torch.randint(0, 10, (8,))
    before = [w.detach().clone() for w in net.weight_parameters()]
    xi = 0.05
    # in float64 and with a small step the central difference crosses no ReLU kink
    approx, _ = oneshot.second_order_arch_grad(net, xt, yt, xv, yv, xi=xi, epsilon=1e-5)
    exact = exact_unrolled_grad(net, xt, yt, xv, yv, xi)
    assert all(torch.equal(a, b) for a, b in zip(before, net.weight_parameters())), "weights restored"
    first_order = exact_unrolled_grad(net, xt, yt, xv, yv, 0.0)
    # the correction term is real (not negligible), and the approximation gets it right
    assert (exact - first_order).norm() > 1e-3 * exact.norm()
    assert torch.allclose(approx, exact, rtol=1e-4, atol=1e-7)


def test_second_order_with_zero_step_is_first_order():
    torch.manual_seed(0)
    net = NB201Supernet(C=2, N=1).double()
    x, y = torch.randn(4, 3, 8, 8, dtype=torch.float64), torch.randint(0, 10, (4,))
    grad, loss = oneshot.second_order_arch_grad(net, x, y, x, y, xi=0.0)
    expected = torch.autograd.grad(F.cross_entropy(net(x), y), net.alpha)[0]
    assert torch.allclose(grad, expected) and loss == pytest.approx(F.cross_entropy(net(x), y).item())


# ----- runs ------------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, order", [("darts", 1), ("darts", 2), ("gdas", 1), ("rsws", 1)])
def test_runs_are_seeded_and_record_their_history(data, method, order):
    a = oneshot.run_search(method, data, order=order, **tiny())
    b = oneshot.run_search(method, data, order=order, **tiny())
    steps = len(data.train)
    assert a.steps_per_epoch == steps and a.trajectory.shape == (2 * steps + 1, 6, 5)
    assert np.array_equal(a.trajectory, b.trajectory)
    assert a.frame()["train_loss"].tolist() == b.frame()["train_loss"].tolist()
    assert a.complete and len(a.history) == 2 and isinstance(a.cell, nb201.Cell)
    moved = np.abs(a.trajectory[-1] - 0.2).max()
    assert (moved > 1e-3) if method != "rsws" else (moved < 1e-2)
    if method != "rsws":
        assert "valid_loss" in a.history[0]
    if method == "gdas":
        assert [r["tau"] for r in a.history] == [10.0, 0.1]


def test_a_registered_toy_method_runs_a_search(data, toy_method):
    assert "toy_tempered" in oneshot.METHODS and oneshot.METHODS["toy_tempered"] is TemperedDARTS
    toy = oneshot.run_search("toy_tempered", data, **tiny())
    darts = oneshot.run_search("darts", data, **tiny())
    assert toy.method == "toy_tempered" and toy.complete and "valid_loss" in toy.history[0]
    assert "tau" not in toy.history[0]             # no temperature annealing: not recorded
    assert np.abs(toy.trajectory[-1] - 0.2).max() > 1e-4      # alpha was trained
    assert not np.array_equal(toy.trajectory, darts.trajectory)
    with pytest.raises(ValueError, match="DARTS option"):   # second_order is False by default
        oneshot.run_search("toy_tempered", data, order=2, **tiny())
    with pytest.raises(NotImplementedError):
        oneshot.OneShotMethod().forward(toy.supernet, None, 1.0, None)


def test_settings_are_checked_frozen_and_what_the_run_records(data):
    settings = oneshot.SearchSettings("gdas", epochs=3, seed=np.int64(2), w_lr=1)
    assert settings.seed == 2 and type(settings.seed) is int and type(settings.w_lr) is float
    with pytest.raises(AttributeError):
        settings.epochs = 5
    assert [settings.temperature(e) for e in range(3)] == pytest.approx([10.0, 5.05, 0.1])
    assert settings.learning_rate(0) == 1.0 and settings.learning_rate(3) == pytest.approx(0.001)
    result = oneshot.search(oneshot.SearchSettings("darts", epochs=2, C=2), data, device="cpu", progress=False)
    assert result.settings == oneshot.SearchSettings("darts", epochs=2, C=2).as_dict()
    same = oneshot.run_search("darts", data, **tiny())
    assert np.array_equal(result.trajectory, same.trajectory)
    with pytest.raises(TypeError, match="settings must be a SearchSettings"):
        oneshot.search({"method": "darts"}, data)
    with pytest.raises(ValueError, match="w_lr_min"):
        oneshot.SearchSettings("darts", w_lr=0.01, w_lr_min=0.1)


def test_runs_leave_the_global_generator_as_it_was(data):
    net = NB201Supernet(C=2, N=1)
    torch.manual_seed(123)
    state = torch.get_rng_state()
    oneshot.run_search("darts", data, **tiny(epochs=1))
    oneshot.perturbation_selection(net, data, tune_steps=1, eval_batches=1, device="cpu", progress=False)
    assert torch.equal(torch.get_rng_state(), state)


def test_checkpoint_round_trip(tmp_path):
    state = {"w": torch.arange(6.0).view(2, 3), "history": [{"epoch": 1, "loss": 2.5}], "name": "darts",
             "rng": torch.Generator().manual_seed(4).get_state()}
    path = tmp_path / "sub" / "run.pt"
    oneshot.save_checkpoint(state, path)
    back = oneshot.load_checkpoint(path)
    assert torch.equal(back["w"], state["w"]) and back["history"] == state["history"]
    assert back["name"] == "darts" and torch.equal(back["rng"], state["rng"])
    assert not (tmp_path / "sub" / "run.pt.tmp").exists()
    with pytest.raises(FileNotFoundError):
        oneshot.load_checkpoint(tmp_path / "missing.pt")


def test_checkpoint_refuses_arbitrary_objects(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"object": np.random.default_rng(0)}, path)
    with pytest.raises(Exception, match="[Ww]eights only"):
        oneshot.load_checkpoint(path)


@pytest.mark.parametrize("method", ["darts", "gdas"])
def test_stopped_run_resumes_to_the_same_result(data, tmp_path, method):
    path = tmp_path / f"{method}.pt"
    straight = oneshot.run_search(method, data, **tiny(epochs=3))
    part = oneshot.run_search(method, data, checkpoint=path, stop_after=1, **tiny(epochs=3))
    assert not part.complete and len(part.history) == 1 and path.is_file()
    resumed = oneshot.run_search(method, data, checkpoint=path, **tiny(epochs=3))
    assert resumed.complete
    assert np.array_equal(resumed.trajectory, straight.trajectory)
    assert torch.equal(resumed.supernet.alpha, straight.supernet.alpha)
    assert [r["train_loss"] for r in resumed.history] == [r["train_loss"] for r in straight.history]
    again = oneshot.run_search(method, data, checkpoint=path, **tiny(epochs=3))   # finished: no training
    assert np.array_equal(again.trajectory, straight.trajectory)
    with pytest.raises(ValueError, match="another run"):
        oneshot.run_search(method, data, checkpoint=path, **tiny(epochs=3, a_lr=0.5))


@pytest.mark.parametrize("kwargs, error, match", [
    ({"method": "enas"}, ValueError, r"unknown one-shot method 'enas'; valid names are \['darts', 'gdas', 'rsws'"),
    ({"method": 3}, TypeError, "one-shot method name must be a str"),
    ({"order": 3}, ValueError, r"valid choices are \[1, 2\]"),
    ({"method": "gdas", "order": 2}, ValueError, "DARTS option"),
    ({"epochs": 0}, ValueError, "epochs"),
    ({"epochs": 1.5}, TypeError, "epochs"),
    ({"a_lr": -1.0}, ValueError, "a_lr"),
    ({"w_lr": "fast"}, TypeError, "w_lr"),
    ({"w_momentum": 1.0}, ValueError, "w_momentum"),
    ({"tau_min": 20.0}, ValueError, "tau_min"),
    ({"seed": -1}, ValueError, "seed"),
    ({"device": 3}, TypeError, "device"),
    ({"stop_after": 0}, ValueError, "stop_after"),
    ({"data": [1, 2]}, TypeError, "DataLoaders"),
])
def test_bad_arguments_give_clear_errors(data, kwargs, error, match):
    arguments = {"method": "darts", "data": data, **tiny()}
    arguments.update(kwargs)
    with pytest.raises(error, match=match):
        oneshot.run_search(**arguments)


def test_empty_loader_is_an_error():
    empty = DataLoader(TensorDataset(torch.zeros(0, 3, 8, 8), torch.zeros(0, dtype=torch.long)))
    with pytest.raises(ValueError, match="at least one batch"):
        oneshot.darts((empty, empty), **tiny())


# ----- GDAS and memory ------------------------------------------------------------------------------
def test_gumbel_path_is_one_hot_with_soft_gradients():
    alpha = torch.randn(6, 5, requires_grad=True)
    weights, path = oneshot.gumbel_path(alpha, tau=1.0, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(weights.detach(), F.one_hot(torch.tensor(path), 5).float())
    (weights * torch.arange(5.0)).sum().backward()
    assert alpha.grad.abs().sum() > 0
    again = oneshot.gumbel_path(alpha, 1.0, torch.Generator().manual_seed(0))[1]
    assert again == path
    cold = [oneshot.gumbel_path(alpha, 1e-3, torch.Generator().manual_seed(s))[1] for s in range(3)]
    assert all(len(p) == 6 for p in cold)


def test_step_memory_counts_saved_activations():
    layer = torch.nn.Linear(100, 50)
    x = torch.randn(32, 100)
    memory = oneshot.step_memory(lambda: torch.relu(layer(x)).sum().backward(), "cpu",
                                 exclude=layer.parameters())
    # x (saved by the linear layer) and the ReLU output, 4 bytes per float
    assert memory == 4 * (32 * 100 + 32 * 50)


def test_gdas_step_needs_less_memory_than_darts():
    torch.manual_seed(0)
    net = NB201Supernet(C=4, N=1)
    x, y = torch.randn(8, 3, 8, 8), torch.randint(0, 10, (8,))
    darts = oneshot.training_step_memory(net, x, y, "darts", device="cpu")
    gdas = oneshot.training_step_memory(net, x, y, "gdas", device="cpu")
    assert 0 < gdas < darts / 2
    assert all(p.grad is None for p in net.parameters())
    with pytest.raises(ValueError, match="valid names"):
        oneshot.training_step_memory(net, x, y, "enas", device="cpu")


# ----- ranking and selection ----------------------------------------------------------------------------
def test_random_weight_sharing_ranks_distinct_cells(data):
    result, ranking = oneshot.random_weight_sharing(data, n_candidates=5, max_batches=1, **tiny(epochs=1))
    assert len(ranking) == 5 and ranking.index.is_unique
    assert ranking["oneshot_acc"].is_monotonic_decreasing
    assert set(ranking.columns) == {"arch_str", "oneshot_loss", "oneshot_acc"}
    assert result.method == "rsws"


def test_perturbation_selection_decides_every_edge_and_leaves_the_supernet(data):
    torch.manual_seed(0)
    net = NB201Supernet(C=2, N=1)
    before = {k: v.clone() for k, v in net.state_dict().items()}
    result = oneshot.perturbation_selection(net, data, tune_steps=1, eval_batches=1, device="cpu",
                                            progress=False)
    assert isinstance(result.cell, nb201.Cell)
    assert sorted(result.table.index) == list(range(6))
    assert list(result.table.columns) == ["supernet", *nb201.OPS, "chosen"]
    assert tuple(result.table.sort_index()["chosen"]) == result.cell.ops
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())
    with pytest.raises(TypeError, match="NB201Supernet"):
        oneshot.perturbation_selection("net", data)
    with pytest.raises(ValueError, match="tune_steps"):
        oneshot.perturbation_selection(net, data, tune_steps=-1)


def test_selection_and_ranking_do_not_depend_on_the_loaders_state(data):
    torch.manual_seed(0)
    net = NB201Supernet(C=2, N=1)
    first = oneshot.perturbation_selection(net, data, tune_steps=1, eval_batches=2, device="cpu", progress=False)
    next(iter(data.valid)), next(iter(data.train))        # move the loaders' generators on
    second = oneshot.perturbation_selection(net, data, tune_steps=1, eval_batches=2, device="cpu", progress=False)
    assert first.cell == second.cell and first.table.equals(second.table)
    a = oneshot.random_weight_sharing(data, n_candidates=4, max_batches=1, **tiny(epochs=1))[1]
    next(iter(data.valid))
    b = oneshot.random_weight_sharing(data, n_candidates=4, max_batches=1, **tiny(epochs=1))[1]
    assert a.equals(b)
