"""A search objective that really trains (chapter 03): build the NAS-Bench-201 network of
a cell, train it with :func:`nascourse.train.train` on the shipped CIFAR-10 images or the
digits, and score it by validation accuracy; the test accuracy is reported beside it, as
in the benchmark's protocol.

:class:`TrainingObjective` is small and picklable, so it can be shipped to worker
processes (a process pool, a Dask or Ray cluster). Each process loads and splits the data
once and keeps it; the number of epochs can be passed per call, which makes the objective
usable as a multi-fidelity one (successive halving, Hyperband).
"""

from __future__ import annotations

import functools
import time

import torch

from nascourse import image_data, train
from nascourse._checks import check_choice, check_int, check_number, check_type
from nascourse.devices import as_device
from nascourse.nn import count_parameters, nb201_network
from nascourse.rng import torch_seeded
from nascourse.spaces import nb201

DATASETS: tuple[str, ...] = ("digits", "cifar10-subset")


@functools.lru_cache(maxsize=8)
def _loaders(dataset: str, image_size: int | None, n_train: int | None, n_valid: int | None,
             batch_size: int, seed: int) -> image_data.Loaders:
    """The seeded loaders of :func:`nascourse.image_data.get_loaders`, made once per process;
    the digits at their native 8x8 pixels unless ``image_size`` says otherwise."""
    if dataset == "digits" and image_size is None:
        image_size = 8
    return image_data.get_loaders(dataset, batch_size, n_train, n_valid, seed, image_size=image_size)


class TrainingObjective:
    """Score a NAS-Bench-201 cell by training its network: the validation accuracy (in %)
    after ``epochs`` epochs is the score, with the test accuracy and more in the result.

    ``dataset`` is ``'digits'`` (1,397 training images, 400 test; by default at their
    native 8x8 pixels, so a run takes a fraction of a second) or ``'cifar10-subset'`` (the
    3,000 + 1,000 shipped CIFAR-10 images at 32x32). ``n_valid`` training images (default:
    a quarter) are held out for validation and at most ``n_train`` of the rest are trained
    on. The network has ``C`` channels and ``N`` cells per stage. Every run starts from the
    same seed, so a cell always gets the same score (common random numbers for all cells).
    ``num_threads`` fixes torch's CPU threads during the run (then restores them);
    ``device`` defaults to :func:`nascourse.devices.default_device`.

    Call it as ``objective(cell)`` or, for multi-fidelity methods, ``objective(cell, epochs)``.
    """

    def __init__(self, dataset: str = "digits", epochs: int = 1, C: int = 8, N: int = 1,
                 n_train: int | None = None, n_valid: int | None = None, batch_size: int = 64,
                 lr: float = 0.1, optimizer: str = "sgd", image_size: int | None = None, seed: int = 0,
                 device: str | None = None, num_threads: int | None = 1):
        check_choice("dataset", dataset, DATASETS)
        self.dataset = dataset
        self.epochs, self.C, self.N = (check_int(k, v) for k, v in (("epochs", epochs), ("C", C), ("N", N)))
        self.n_train = check_int("n_train", n_train, allow_none=True)
        self.n_valid = check_int("n_valid", n_valid, allow_none=True)
        self.batch_size = check_int("batch_size", batch_size)
        self.image_size = check_int("image_size", image_size, allow_none=True)
        self.num_threads = check_int("num_threads", num_threads, allow_none=True)
        self.lr = check_number("lr", lr, positive=True)
        check_choice("optimizer", optimizer, train.OPTIMIZERS)
        self.optimizer, self.seed, self.device = optimizer, check_int("seed", seed, minimum=0), device

    @property
    def num_classes(self) -> int:
        return 10

    def loaders(self) -> image_data.Loaders:
        """The (cached) training, validation and test loaders of this objective."""
        return _loaders(self.dataset, self.image_size, self.n_train, self.n_valid, self.batch_size, self.seed)

    def warm_up(self) -> int:
        """Load the data into this process's cache and do torch's one-off initialisation
        (its first optimiser imports the compiler stack, seconds of CPU): run it on every
        worker before timing anything. Returns the number of training images."""
        torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        return len(self.loaders().train.dataset)

    def __call__(self, cell: nb201.Cell | str, epochs: int | float | None = None) -> dict:
        cell = nb201.Cell.from_str(cell) if isinstance(cell, str) else cell
        check_type("cell", cell, nb201.Cell, "a nascourse.spaces.nb201.Cell or its string")
        if isinstance(epochs, float) and epochs.is_integer():
            epochs = int(epochs)  # fidelities computed as eta**-s * max come out as floats
        epochs = self.epochs if epochs is None else check_int("epochs", epochs)
        device = as_device(self.device)
        threads = torch.get_num_threads()
        cpu = time.thread_time()
        try:
            if self.num_threads is not None:
                torch.set_num_threads(self.num_threads)
            loaders = self.loaders()
            # seeded runs that leave torch's global generators as they found them
            with torch_seeded(self.seed, device):
                net = nb201_network(cell, C=self.C, N=self.N, num_classes=self.num_classes)
                log = train.train(net, loaders.train, epochs=epochs, lr=self.lr, optimizer=self.optimizer,
                                  device=device, seed=self.seed, progress=False)
                _, valid_acc = train.evaluate(net, loaders.valid, device)
                _, test_acc = train.evaluate(net, loaders.test, device)
        finally:
            torch.set_num_threads(threads)
        return {"score": 100 * valid_acc, "test_acc": 100 * test_acc, "train_loss": log[-1]["train_loss"],
                "epochs": epochs, "params": count_parameters(net), "cpu_seconds": time.thread_time() - cpu}

    def __repr__(self) -> str:
        return (f"TrainingObjective(dataset={self.dataset!r}, epochs={self.epochs}, C={self.C}, N={self.N}, "
                f"n_train={self.n_train}, n_valid={self.n_valid}, image_size={self.image_size}, seed={self.seed})")
