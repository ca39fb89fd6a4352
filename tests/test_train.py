"""Tests of the training loop on a tiny NAS-Bench-201 network and a few hundred digits."""

import math

import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

from nascourse import image_data, train
from nascourse.nn import nb201_network

CELL = "|nor_conv_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|skip_connect~0|nor_conv_3x3~1|avg_pool_3x3~2|"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def loaders():
    """300 training and 100 validation digits at 16x16 (the network accepts any size)."""
    x, y = image_data.load_digits("train", size=16)
    shuffled = DataLoader(TensorDataset(x[:300], y[:300]), batch_size=20, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
    return shuffled, DataLoader(TensorDataset(x[300:400], y[300:400]), batch_size=50)


def _tiny_net(seed=0):
    torch.manual_seed(seed)
    return nb201_network(CELL, C=4, N=1)


def _run(loader, **kwargs):
    net = _tiny_net()
    history = train.train(net, loader, epochs=3, lr=0.05, progress=False, **kwargs)
    return net, history


def _without_time(history):
    return [{k: v for k, v in record.items() if k != "time"} for record in history]


def test_training_learns_the_digits(loaders):
    train_loader, valid_loader = loaders
    net, history = _run(train_loader, valid_loader=valid_loader)
    assert [h["epoch"] for h in history] == [1, 2, 3]
    assert history[-1]["train_loss"] < 0.8 * history[0]["train_loss"]
    assert set(history[0]) == {"epoch", "lr", "train_loss", "train_acc", "valid_loss", "valid_acc", "time"}
    loss, acc = train.evaluate(net, train_loader)
    assert acc > 0.5  # chance is 0.1
    assert history[-1]["valid_acc"] > 0.3


def test_same_seed_same_history(loaders):
    train_loader, _ = loaders
    net_a, a = _run(train_loader, seed=1)
    net_b, b = _run(train_loader, seed=1)
    assert _without_time(a) == _without_time(b)
    assert all(torch.equal(p, q) for p, q in zip(net_a.parameters(), net_b.parameters()))
    _, c = _run(train_loader, seed=2)
    assert c[0]["train_loss"] != a[0]["train_loss"]


def test_package_loaders_train_reproducibly():
    def run():
        loaders = image_data.cifar10_loaders(batch_size=20, n_train=40, n_valid=0, seed=3, augment=True)
        return _without_time(train.train(_tiny_net(), loaders.train, 1, progress=False, seed=3))

    assert run() == run()


def test_cosine_schedule_and_adam(loaders):
    train_loader, _ = loaders
    _, cosine = _run(train_loader)
    assert cosine[0]["lr"] == 0.05 and cosine[0]["lr"] > cosine[1]["lr"] > cosine[2]["lr"] > 0
    _, flat = _run(train_loader, cosine=False)
    assert {h["lr"] for h in flat} == {0.05}
    net = _tiny_net()
    history = train.train(net, train_loader, 1, lr=1e-3, optimizer="adam", progress=False)
    assert history[0]["train_loss"] > 0


def test_evaluate_restores_mode_and_returns_fractions(loaders):
    _, valid_loader = loaders
    net = _tiny_net()
    net.train()
    loss, acc = train.evaluate(net, valid_loader)
    assert net.training and 0 <= acc <= 1 and loss > 0
    net.eval()
    train.evaluate(net, valid_loader, device="cpu")
    assert not net.training


def test_evaluate_counts_the_first_batches_and_passes_forward_arguments(loaders):
    _, valid_loader = loaders                    # two batches of 50
    net = _tiny_net()
    x, y = next(iter(valid_loader))
    with torch.no_grad():
        logits = net.eval()(x)
    first = (torch.nn.functional.cross_entropy(logits, y).item(), (logits.argmax(1) == y).float().mean().item())
    assert train.evaluate(net, valid_loader, max_batches=1) == pytest.approx(first, rel=1e-6)
    assert train.evaluate(net, valid_loader, max_batches=5) == train.evaluate(net, valid_loader)
    assert train.evaluate(net, [(x, y)]) == pytest.approx(first, rel=1e-6)   # any iterable of batches

    class Scaled(torch.nn.Module):
        def forward(self, inputs, scale=1.0):
            return scale * net(inputs)

    assert train.evaluate(Scaled(), [(x, y)]) == pytest.approx(first, rel=1e-6)
    # scale 0: all ten class scores are 0, so the loss is ln 10 and every prediction is class 0
    assert train.evaluate(Scaled(), [(x, y)], scale=0.0) == pytest.approx((math.log(10), (y == 0).float().mean().item()))
    for bad in (0, -1):
        with pytest.raises(ValueError, match="max_batches"):
            train.evaluate(net, valid_loader, max_batches=bad)
    for bad in (1.5, True, "2"):
        with pytest.raises(TypeError, match="max_batches"):
            train.evaluate(net, valid_loader, max_batches=bad)


def test_progress_bar_can_be_shown(loaders, capsys):
    train.train(_tiny_net(), loaders[1], 1, progress=True)
    assert "training" in capsys.readouterr().err


def test_devices():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert train.default_device().type == expected
    assert train.try_gpu(10_000).type == "cpu"


@pytest.mark.parametrize("kwargs, error, match", [
    ({"epochs": 0}, ValueError, "epochs"),
    ({"epochs": 1.5}, TypeError, "epochs"),
    ({"lr": 0}, ValueError, "lr"),
    ({"lr": -0.1}, ValueError, "lr"),
    ({"lr": "fast"}, TypeError, "lr"),
    ({"optimizer": "rmsprop"}, ValueError, r"rmsprop.*\['sgd', 'adam'\]"),
    ({"momentum": 1.0}, ValueError, "momentum"),
    ({"weight_decay": -1e-4}, ValueError, "weight_decay"),
])
def test_bad_arguments(loaders, kwargs, error, match):
    arguments = {"epochs": 1, **kwargs}
    with pytest.raises(error, match=match):
        train.train(_tiny_net(), loaders[0], progress=False, **arguments)


def test_net_must_be_a_module(loaders):
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train.train(lambda x: x, loaders[0], 1)


def test_as_device():
    assert train.as_device(None) == train.default_device()
    assert train.as_device("cpu") == torch.device("cpu") == train.as_device(torch.device("cpu"))
    with pytest.raises(TypeError, match="device must be"):
        train.as_device(0.5)


def test_device_helpers_keep_their_old_names():
    from nascourse import devices
    assert train.as_device is devices.as_device and train.default_device is devices.default_device
    assert train.try_gpu is devices.try_gpu
    with pytest.raises(ValueError, match="i must be a non-negative int"):
        devices.try_gpu(-1)


def test_reseed_loader_repeats_the_batches():
    data = TensorDataset(torch.arange(20.0), torch.arange(20))
    loader = DataLoader(data, batch_size=5, shuffle=True, generator=torch.Generator())
    assert train.loader_generators(loader) == [loader.generator]
    train.reseed_loader(loader, 3)
    first = [y.tolist() for _, y in loader]
    train.reseed_loader(loader, 3)
    assert [y.tolist() for _, y in loader] == first
    train.reseed_loader(loader, 4)
    assert [y.tolist() for _, y in loader] != first
    assert train.loader_generators(DataLoader(data)) == []
    with pytest.raises(ValueError, match="seed"):
        train.reseed_loader(loader, -1)


def test_a_seeded_run_leaves_the_global_generator_as_it_was(loaders):
    net = _tiny_net()
    torch.manual_seed(123)
    state = torch.get_rng_state()
    train.train(net, loaders[1], 1, seed=4, progress=False)   # seeds torch in a fork of its generators
    assert torch.equal(torch.get_rng_state(), state)


# ------------------------------------------------------------ one run, epoch by epoch

def _frozen_train(net, train_loader, epochs, lr=0.1, valid_loader=None, optimizer="sgd", momentum=0.9,
                  weight_decay=5e-4, cosine=True, seed=0):
    """train.train as it was before train.train_epochs existed (frozen here, on the CPU
    and without the progress bar): train.train must go on giving exactly these records
    and weights."""
    from nascourse.rng import torch_seeded

    with torch_seeded(seed):
        if seed is not None:
            train.reseed_loader(train_loader, seed)
        if optimizer == "sgd":
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                                  nesterov=momentum > 0)
        else:
            opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
        steps = epochs * len(train_loader)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if cosine else None
        history = []
        for epoch in range(1, epochs + 1):
            lr_now = opt.param_groups[0]["lr"]
            net.train()
            loss_sum, correct, count = 0.0, 0, 0
            for x, y in train_loader:
                logits = net(x)
                loss = torch.nn.functional.cross_entropy(logits, y)
                opt.zero_grad()
                loss.backward()
                opt.step()
                if schedule is not None:
                    schedule.step()
                loss_sum += loss.item() * len(y)
                correct += (logits.argmax(1) == y).sum().item()
                count += len(y)
            record = {"epoch": epoch, "lr": lr_now, "train_loss": loss_sum / count, "train_acc": correct / count}
            if valid_loader is not None:
                record["valid_loss"], record["valid_acc"] = train.evaluate(net, valid_loader)
            history.append(record)
    return history


def _state(net):
    return [t.clone() for t in net.state_dict().values()]


def _same_state(a, b):
    return len(a) == len(b) and all(torch.equal(p, q) for p, q in zip(a, b))


@pytest.fixture(scope="module")
def small_loaders():
    """120 training digits in batches of 20 (shuffled by a generator the run reseeds), 40
    validation digits, and 40 augmented CIFAR-10 images (a batch transform with its own
    generator): a few batches, so that every variant below runs in a blink."""
    x, y = image_data.load_digits("train", size=8)
    shuffled = DataLoader(TensorDataset(x[:120], y[:120]), batch_size=20, shuffle=True,
                          generator=torch.Generator().manual_seed(0))
    valid = DataLoader(TensorDataset(x[120:160], y[120:160]), batch_size=20)
    augmented = image_data.cifar10_loaders(batch_size=20, n_train=40, n_valid=0, seed=3, augment=True).train
    return shuffled, valid, augmented


@pytest.mark.parametrize("kwargs", [
    {},
    {"seed": 5, "valid": True},
    {"seed": None, "valid": True},
    {"cosine": False, "momentum": 0.0, "weight_decay": 0.0},
    {"optimizer": "adam", "lr": 1e-3, "seed": 2},
    {"augmented": True, "seed": 3},
])
def test_train_gives_exactly_what_the_old_loop_gave(small_loaders, kwargs):
    kwargs = dict(kwargs)
    shuffled, valid, augmented = small_loaders
    loader = augmented if kwargs.pop("augmented", False) else shuffled
    valid_loader = valid if kwargs.pop("valid", False) else None
    runs = []
    for run in (_frozen_train, train.train):
        torch.manual_seed(11)                 # the network, and an unseeded run's draws
        train.reseed_loader(loader, 1)        # the batches of an unseeded run
        net = nb201_network(CELL, C=4, N=1)
        extra = {} if run is _frozen_train else {"progress": False}
        history = run(net, loader, 3, valid_loader=valid_loader, **kwargs, **extra)
        runs.append((_without_time(history), _state(net), torch.get_rng_state(),
                     [g.get_state() for g in train.loader_generators(loader)]))
    (old, old_net, old_rng, old_loader), (new, new_net, new_rng, new_loader) = runs
    assert new == old                         # the same floats, to the last bit
    assert _same_state(new_net, old_net)
    assert torch.equal(new_rng, old_rng)      # unseeded runs move the global generator on alike
    assert all(torch.equal(a, b) for a, b in zip(new_loader, old_loader)) and len(new_loader) == len(old_loader)


def test_train_epochs_is_one_run_whatever_the_caller_does_between_epochs(small_loaders):
    shuffled, valid, augmented = small_loaders
    for loader, seed in ((shuffled, 4), (augmented, 3)):
        torch.manual_seed(11)
        reference_net = nb201_network(CELL, C=4, N=1)
        reference = train.train(reference_net, loader, 3, valid_loader=valid, seed=seed, progress=False)

        def caller_step(other_net):
            """What the caller does between two epochs: it draws, changes the thread count,
            evaluates a network (a loader without a generator of its own draws its base seed
            from torch's global generator), and draws a batch from the run's loader."""
            drawn = torch.rand(2)
            torch.set_num_threads(2)
            train.evaluate(other_net, valid)
            next(iter(loader))
            torch.set_num_threads(threads)
            return drawn

        threads, other = torch.get_num_threads(), _tiny_net()
        torch.manual_seed(123)                # the caller's stream if no training happened
        caller_alone = [caller_step(other) for _ in range(3)]
        torch.manual_seed(11)
        net = nb201_network(CELL, C=4, N=1)
        torch.manual_seed(123)
        records, caller = [], []
        for record in train.train_epochs(net, loader, 3, valid_loader=valid, seed=seed, progress=False):
            records.append(record)
            caller.append(caller_step(net))
        assert _without_time(records) == _without_time(reference)
        assert _same_state(_state(net), _state(reference_net))
        assert torch.equal(torch.cat(caller), torch.cat(caller_alone))

        # ... and even reseeds torch between epochs: the run does not notice
        torch.manual_seed(11)
        net = nb201_network(CELL, C=4, N=1)
        reseeded = []
        for record in train.train_epochs(net, loader, 3, valid_loader=valid, seed=seed, progress=False):
            reseeded.append(record)
            torch.manual_seed(123)
            torch.rand(3)
        assert _without_time(reseeded) == _without_time(reference)
        assert _same_state(_state(net), _state(reference_net))


def test_train_epochs_checks_at_the_call_and_closes_its_bar_when_stopped_early(small_loaders, monkeypatch):
    shuffled = small_loaders[0]
    with pytest.raises(ValueError, match="epochs"):
        train.train_epochs(_tiny_net(), shuffled, 0)           # no next() needed
    with pytest.raises(TypeError, match="torch.nn.Module"):
        train.train_epochs(lambda x: x, shuffled, 1)

    bars = []

    class Bar:
        def __init__(self, **kwargs):
            self.kwargs, self.updates, self.closed = kwargs, 0, False
            bars.append(self)

        def update(self):
            self.updates += 1

        def set_postfix(self, postfix):
            self.postfix = postfix

        def close(self):
            self.closed = True

    monkeypatch.setattr(train, "progress_bar", Bar)
    net = _tiny_net()
    before = torch.get_rng_state()
    epochs = train.train_epochs(net, shuffled, 5, seed=1)
    first = next(epochs)
    assert first["epoch"] == 1 and len(bars) == 1 and not bars[0].closed
    assert bars[0].kwargs["total"] == 5 * len(shuffled) and bars[0].updates == len(shuffled)
    epochs.close()                                            # the caller stops after one epoch
    assert bars[0].closed and bars[0].updates == len(shuffled)
    assert torch.equal(torch.get_rng_state(), before)
    train.train(_tiny_net(), shuffled, 1, seed=1)
    assert bars[1].closed and "train_loss" in bars[1].postfix
