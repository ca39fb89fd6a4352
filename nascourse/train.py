"""Train and evaluate one classifier (chapter 02 trains a NAS-Bench-201 cell live; chapters
03 and 04 use the same loop as a real, expensive search objective).

:func:`train` is plain minibatch SGD (or Adam) on the cross-entropy with a cosine learning
rate schedule, as NAS-Bench-201 trains its networks, only far shorter. It returns one
record per epoch, which ``pandas.DataFrame(history)`` turns into a table to plot. The same
code runs on a GPU when there is one and on the CPU otherwise (:mod:`nascourse.devices`).
:func:`train_epochs` is the same run as a generator, one epoch at a time (a pruner that reads
every epoch's accuracy drives it). :func:`loader_generators` and :func:`reseed_loader` make a
loader's batches repeatable.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any, Iterable

import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import DataLoader

from nascourse._checks import check_choice, check_int, check_number, check_type
# the device helpers live in nascourse.devices; train.as_device, train.default_device and
# train.try_gpu are their old names, kept for the chapters and modules that use them
from nascourse.devices import as_device, default_device, try_gpu  # noqa: F401
from nascourse.progress import progress_bar
from nascourse.rng import TorchRngStream

OPTIMIZERS: tuple[str, ...] = ("sgd", "adam")


def loader_generators(loader: DataLoader) -> list[torch.Generator]:
    """The random generators a loader owns: its shuffling's and, if it has one, its batch
    transform's (such as :class:`nascourse.image_data.RandomCropFlip`). Seeding them (see
    :func:`reseed_loader`) or saving their states makes the batches of a run repeat."""
    owners = (loader, getattr(loader, "collate_fn", None))
    return [g for g in (getattr(owner, "generator", None) for owner in owners) if isinstance(g, torch.Generator)]


def reseed_loader(loader: DataLoader, seed: int) -> None:
    """Restart the random generators a loader owns (:func:`loader_generators`) from ``seed``."""
    seed = check_int("seed", seed, minimum=0)
    for generator in loader_generators(loader):
        generator.manual_seed(seed)


def evaluate(net: nn.Module, loader: Iterable[tuple[torch.Tensor, torch.Tensor]],
             device: torch.device | str | None = None, max_batches: int | None = None,
             **forward_kwargs: Any) -> tuple[float, float]:
    """Mean cross-entropy and accuracy (a fraction in [0, 1]) of ``net`` on ``loader`` (a
    DataLoader or any iterable of ``(inputs, labels)`` batches), in evaluation mode.

    With ``max_batches``, only the first that many batches count. ``forward_kwargs`` go to
    every call of ``net``: a supernet evaluates one cell with ``cell=...``, or a mixture
    with ``weights=...`` (chapter 04).
    """
    max_batches = check_int("max_batches", max_batches, allow_none=True)
    device = as_device(device)
    was_training = net.training
    net.to(device).eval()
    loss, correct, count = 0.0, 0, 0
    with torch.no_grad():
        for b, (x, y) in enumerate(loader):
            if max_batches is not None and b >= max_batches:
                break
            x, y = x.to(device), y.to(device)
            logits = net(x, **forward_kwargs)
            loss += F.cross_entropy(logits, y, reduction="sum").item()
            correct += (logits.argmax(1) == y).sum().item()
            count += len(y)
    net.train(was_training)
    if count == 0:
        raise ValueError("the loader yielded no examples")
    return loss / count, correct / count


def train_epochs(net: nn.Module, train_loader: DataLoader, epochs: int, lr: float = 0.1,
                 valid_loader: DataLoader | None = None, device: torch.device | str | None = None,
                 optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
                 cosine: bool = True, seed: int | None = 0, progress: bool = True) -> Iterator[dict[str, float]]:
    """Train ``net`` (in place) for ``epochs`` epochs as ONE run, yielding each epoch's
    record as soon as the epoch is done (:func:`train` is ``list(train_epochs(...))``).

    The arguments and the records are those of :func:`train`, and so are the checks (made
    at the call, before the first epoch). The caller may do anything between two epochs
    (evaluate the network, ask a sampler, draw random numbers, reseed torch, change the
    thread count) or stop iterating early: one optimiser and one learning-rate schedule
    (the cosine over all ``epochs``, stepped per batch) carry on from epoch to epoch. With
    an int ``seed`` the run is independent of the caller: its torch random numbers are a
    stream of their own (:class:`nascourse.rng.TorchRngStream`), active only while an
    epoch trains, so the caller finds torch's global generators as it left them, and the
    states of the train loader's own generators (:func:`loader_generators`) are put back
    as the run left them before each epoch. ``seed=None`` leaves the run unseeded: it draws
    from the global generators and the loader as the caller leaves them. Set the thread
    count before each epoch if it matters: it is the caller's. The progress bar counts
    the batches of the whole run and is closed when the run ends or the iteration stops.
    """
    check_type("net", net, nn.Module, "a torch.nn.Module")
    epochs = check_int("epochs", epochs)
    check_number("lr", lr, positive=True)
    check_number("momentum", momentum, below=1)
    check_number("weight_decay", weight_decay)
    check_choice("optimizer", optimizer, OPTIMIZERS)
    seed = check_int("seed", seed, minimum=0, allow_none=True)
    if len(train_loader) == 0:
        raise ValueError("train_loader yields no batches")
    return _run_epochs(net, train_loader, epochs, lr, valid_loader, as_device(device), optimizer, momentum,
                       weight_decay, cosine, seed, progress)


def _run_epochs(net: nn.Module, train_loader: DataLoader, epochs: int, lr: float, valid_loader: DataLoader | None,
                device: torch.device, optimizer: str, momentum: float, weight_decay: float, cosine: bool,
                seed: int | None, progress: bool) -> Iterator[dict[str, float]]:
    """The generator behind :func:`train_epochs` (arguments checked)."""
    stream = TorchRngStream(seed, device)
    generators = loader_generators(train_loader) if seed is not None else []
    with stream.active():
        if seed is not None:
            reseed_loader(train_loader, seed)
        net.to(device)
        if optimizer == "sgd":
            opt = torch.optim.SGD(net.parameters(), lr=lr, momentum=momentum, weight_decay=weight_decay,
                                  nesterov=momentum > 0)
        else:
            opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
        steps = epochs * len(train_loader)
        schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps) if cosine else None
    loader_states = [g.get_state() for g in generators]

    bar = progress_bar(total=steps, desc="training", unit="batch", disable=not progress)
    try:
        for epoch in range(1, epochs + 1):
            with stream.active(), torch.enable_grad():
                for generator, state in zip(generators, loader_states):
                    generator.set_state(state)
                start, lr_now = time.perf_counter(), opt.param_groups[0]["lr"]
                net.train()
                loss_sum, correct, count = 0.0, 0, 0
                for x, y in train_loader:
                    x, y = x.to(device), y.to(device)
                    logits = net(x)
                    loss = F.cross_entropy(logits, y)
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    if schedule is not None:
                        schedule.step()
                    loss_sum += loss.item() * len(y)
                    correct += (logits.argmax(1) == y).sum().item()
                    count += len(y)
                    bar.update()
                record = {"epoch": epoch, "lr": lr_now, "train_loss": loss_sum / count, "train_acc": correct / count}
                if valid_loader is not None:
                    record["valid_loss"], record["valid_acc"] = evaluate(net, valid_loader, device)
                record["time"] = time.perf_counter() - start
                loader_states = [g.get_state() for g in generators]
            bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.endswith(("loss", "acc"))})
            yield record
    finally:
        bar.close()


def train(net: nn.Module, train_loader: DataLoader, epochs: int, lr: float = 0.1,
          valid_loader: DataLoader | None = None, device: torch.device | str | None = None,
          optimizer: str = "sgd", momentum: float = 0.9, weight_decay: float = 5e-4,
          cosine: bool = True, seed: int | None = 0, progress: bool = True) -> list[dict[str, float]]:
    """Train ``net`` (in place) for ``epochs`` epochs and return one record per epoch.

    Each record holds ``epoch``, ``lr``, ``train_loss`` and ``train_acc`` (averaged over the
    epoch's batches, as the network was changing), ``valid_loss`` and ``valid_acc`` when a
    ``valid_loader`` is given, and ``time`` in seconds. ``optimizer`` is 'sgd' (Nesterov
    momentum) or 'adam'; ``cosine`` anneals the learning rate to zero over the run;
    ``seed`` seeds torch's random numbers for the run (in a stream of their own, which
    leaves the global generators as they were found) and restarts the shuffling (and
    augmentation) generators of ``train_loader``, so every run with the same seed sees the
    same batches; build the network after ``torch.manual_seed`` too for the whole run to
    repeat exactly. :func:`train_epochs` is the same run, one epoch at a time.
    """
    return list(train_epochs(net, train_loader, epochs, lr, valid_loader, device, optimizer, momentum,
                             weight_decay, cosine, seed, progress))
