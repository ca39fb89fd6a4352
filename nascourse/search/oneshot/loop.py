"""The one-shot search loop: train an NB201 supernet with one method of
:data:`~nascourse.search.oneshot.methods.METHODS`, checkpointing every epoch."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from nascourse._checks import check_bool, check_int, check_type
from nascourse.devices import as_device
from nascourse.nn.supernet import NUM_EDGES, NUM_OPS, NB201Supernet, discretise
from nascourse.progress import progress_bar
from nascourse.rng import torch_seeded
from nascourse.search.oneshot.checkpoints import load_checkpoint, save_checkpoint
from nascourse.search.oneshot.data import NUM_CLASSES, check_search_data
from nascourse.search.oneshot.methods import gradients, second_order_arch_grad
from nascourse.search.oneshot.settings import SearchSettings
from nascourse.spaces.nb201 import OPS, Cell
from nascourse.train import loader_generators, reseed_loader


@dataclass
class SearchResult:
    """What a one-shot run leaves behind.

    ``history`` has one record per finished epoch (losses, accuracies, learning rate,
    temperature for GDAS, seconds); ``trajectory`` the mixing weights ``softmax(alpha)``
    before the first step and after every step, shape ``(steps + 1, 6, 5)``, so that
    ``trajectory[k * steps_per_epoch]`` are the weights after epoch ``k``. The validation
    loss is that of the architecture steps (for second-order DARTS, after the virtual
    step); random sampling has no architecture steps and records none. ``complete``
    is False when the run stopped early (``stop_after``) and can be resumed.
    ``settings`` are :meth:`SearchSettings.as_dict` of the run.
    """

    method: str
    supernet: NB201Supernet
    history: list[dict[str, float]]
    trajectory: np.ndarray
    steps_per_epoch: int
    epochs: int
    settings: dict[str, Any] = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        return len(self.history) == self.epochs

    @property
    def cell(self) -> Cell:
        """The derived cell: the strongest operation of every edge (argmax of ``alpha``)."""
        return discretise(self.supernet.alpha)

    def frame(self) -> pd.DataFrame:
        """``history`` as a table, one row per epoch."""
        return pd.DataFrame(self.history).set_index("epoch")

    def edge_weights(self) -> pd.DataFrame:
        """The trajectory as a long table: step, epoch (fractional), edge, op, weight."""
        steps, edges, ops = np.meshgrid(np.arange(len(self.trajectory)), np.arange(NUM_EDGES),
                                        np.arange(NUM_OPS), indexing="ij")
        return pd.DataFrame({"step": steps.ravel(), "epoch": steps.ravel() / self.steps_per_epoch,
                             "edge": edges.ravel(), "op": np.asarray(OPS)[ops.ravel()],
                             "weight": self.trajectory.ravel()})


def run_search(method: str, data: tuple[DataLoader, DataLoader], epochs: int = 10, C: int = 8, N: int = 1,
               order: Literal[1, 2] = 1, seed: int = 0, device: torch.device | str | None = None,
               w_lr: float = 0.025, w_lr_min: float = 0.001, w_momentum: float = 0.9,
               w_weight_decay: float = 3e-4, grad_clip: float = 5.0, a_lr: float = 0.01,
               a_weight_decay: float = 1e-3, tau_max: float = 10.0, tau_min: float = 0.1,
               checkpoint: str | Path | None = None, stop_after: int | None = None,
               progress: bool = True, options: Mapping[str, Any] | None = None) -> SearchResult:
    """Train an NB201 supernet with one-shot ``method`` (a name in :data:`METHODS`:
    'darts', 'gdas', 'rsws', or one you registered).

    Each step takes a batch of ``data.train`` and one of ``data.valid``. DARTS and GDAS
    first update ``alpha`` on the validation batch (Adam, ``a_lr``, betas (0.5, 0.999)),
    then the weights on the training batch (SGD with momentum, learning rate annealed from
    ``w_lr`` to ``w_lr_min`` by a cosine over the epochs, gradient norm clipped to
    ``grad_clip``); RSWS only trains the weights, on one random cell per step. GDAS anneals
    its temperature linearly from ``tau_max`` to ``tau_min``. ``options`` are the method's
    own (e.g. ``{"latency_weight": 0.001, "target": "pixel3"}`` for ``'darts_latency'``,
    whose architecture loss adds the expected latency on that device). The settings are
    checked by :class:`SearchSettings`; :func:`search` runs them.

    With ``checkpoint``, the state is saved there after every epoch, and a run that finds a
    checkpoint of the same method and settings resumes from it (a different one is an
    error). ``stop_after`` stops after that many epochs in this call.
    """
    settings = SearchSettings(method=method, epochs=epochs, C=C, N=N, order=order, seed=seed, w_lr=w_lr,
                              w_lr_min=w_lr_min, w_momentum=w_momentum, w_weight_decay=w_weight_decay,
                              grad_clip=grad_clip, a_lr=a_lr, a_weight_decay=a_weight_decay,
                              tau_max=tau_max, tau_min=tau_min, options={} if options is None else options)
    return search(settings, data, device=device, checkpoint=checkpoint, stop_after=stop_after, progress=progress)


def search(settings: SearchSettings, data: tuple[DataLoader, DataLoader], *,
           device: torch.device | str | None = None, checkpoint: str | Path | None = None,
           stop_after: int | None = None, progress: bool = True) -> SearchResult:
    """The search loop of :func:`run_search`, given its :class:`SearchSettings`."""
    check_type("settings", settings, SearchSettings)
    train_loader, valid_loader = check_search_data(data)
    stop_after = check_int("stop_after", stop_after, allow_none=True)
    progress = check_bool("progress", progress)
    device = as_device(device)
    s, method = settings, settings.build_method()
    # the supernet's initial weights come from the seed; torch's global generators are left
    # as they were found (nothing else in a run draws from them)
    with torch_seeded(s.seed, device):
        net = NB201Supernet(s.C, s.N, NUM_CLASSES).to(device)
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=s.w_lr, momentum=s.w_momentum,
                            weight_decay=s.w_weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=s.a_lr, betas=(0.5, 0.999), weight_decay=s.a_weight_decay)
    sampler = torch.Generator().manual_seed(s.seed)
    loaders = [train_loader, valid_loader]
    for offset, loader in enumerate(loaders):
        reseed_loader(loader, s.seed + offset)
    steps = min(len(train_loader), len(valid_loader))
    history: list[dict[str, float]] = []
    trajectory = [net.mixing_weights().detach().cpu()]
    if checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        if state["settings"] != s.as_dict() or state["steps_per_epoch"] != steps:
            diff = {k: (state["settings"].get(k), v) for k, v in s.as_dict().items()
                    if state["settings"].get(k) != v}
            raise ValueError(f"the checkpoint {checkpoint} belongs to another run (saved vs asked: {diff}, "
                             f"steps per epoch {state['steps_per_epoch']} vs {steps}); delete it or pass "
                             "another path")
        net.load_state_dict(state["supernet"])
        w_opt.load_state_dict(state["w_opt"])
        a_opt.load_state_dict(state["a_opt"])
        sampler.set_state(state["sampler"])
        for loader, states in zip(loaders, state["loaders"]):
            for generator, rng in zip(loader_generators(loader), states):
                generator.set_state(rng)
        history, trajectory = list(state["history"]), list(state["trajectory"])

    first = len(history)
    last = s.epochs if stop_after is None else min(s.epochs, first + stop_after)
    bar = progress_bar(total=(last - first) * steps, desc=s.method, unit="step", disable=not progress)
    for epoch in range(first, last):
        start = time.perf_counter()
        lr, tau = s.learning_rate(epoch), s.temperature(epoch)
        for group in w_opt.param_groups:
            group["lr"] = lr
        net.train()
        sums = {"train_loss": 0.0, "train_acc": 0.0, "valid_loss": 0.0, "valid_acc": 0.0}
        for (xt, yt), (xv, yv) in zip(*loaders):
            xt, yt, xv, yv = xt.to(device), yt.to(device), xv.to(device), yv.to(device)
            if method.trains_alpha:
                a_opt.zero_grad(set_to_none=True)
                penalty = method.arch_penalty(net)
                if s.order == 2:
                    net.alpha.grad, valid_loss = second_order_arch_grad(net, xt, yt, xv, yv, xi=lr)
                    sums["valid_loss"] += valid_loss
                else:
                    logits = method.forward(net, xv, tau, sampler)
                    loss = F.cross_entropy(logits, yv)
                    net.alpha.grad = gradients(loss if penalty is None else loss + penalty, [net.alpha])[0]
                    sums["valid_loss"] += loss.item()
                    sums["valid_acc"] += (logits.argmax(1) == yv).float().mean().item()
                if penalty is not None:
                    if s.order == 2:
                        net.alpha.grad = net.alpha.grad + gradients(penalty, [net.alpha])[0]
                    sums["arch_penalty"] = sums.get("arch_penalty", 0.0) + penalty.item()
                a_opt.step()
            w_opt.zero_grad(set_to_none=True)
            logits = method.forward(net, xt, tau, sampler)
            loss = F.cross_entropy(logits, yt)
            loss.backward()
            net.alpha.grad = None
            if s.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.weight_parameters(), s.grad_clip)
            w_opt.step()
            sums["train_loss"] += loss.item()
            sums["train_acc"] += (logits.argmax(1) == yt).float().mean().item()
            trajectory.append(net.mixing_weights().detach().cpu())
            bar.update()
        record = {"epoch": epoch + 1, "lr": lr}
        if method.uses_temperature:
            record["tau"] = tau
        record.update({k: v / steps for k, v in sums.items() if method.trains_alpha or k.startswith("train")})
        if s.order == 2:
            record.pop("valid_acc")
        record["time"] = time.perf_counter() - start
        history.append(record)
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.endswith(("loss", "acc"))})
        if checkpoint is not None:
            save_checkpoint({"settings": s.as_dict(), "steps_per_epoch": steps, "supernet": net.state_dict(),
                             "w_opt": w_opt.state_dict(), "a_opt": a_opt.state_dict(),
                             "sampler": sampler.get_state(),
                             "loaders": [[g.get_state() for g in loader_generators(d)] for d in loaders],
                             "history": history, "trajectory": trajectory}, checkpoint)
    bar.close()
    return SearchResult(s.method, net, history, torch.stack(trajectory).numpy(), steps, s.epochs, s.as_dict())


def darts(data: tuple[DataLoader, DataLoader], epochs: int = 10, order: Literal[1, 2] = 1,
          **kwargs: Any) -> SearchResult:
    """DARTS (Liu et al. 2019): ``order=1`` ignores how the weights respond to ``alpha``;
    ``order=2`` uses the one-step unrolled gradient (:func:`second_order_arch_grad`).
    Other arguments as :func:`run_search`."""
    return run_search("darts", data, epochs, order=order, **kwargs)


def gdas(data: tuple[DataLoader, DataLoader], epochs: int = 10, **kwargs: Any) -> SearchResult:
    """GDAS (Dong & Yang 2019): one Gumbel-sampled path per step, temperature annealed from
    ``tau_max`` to ``tau_min``. Other arguments as :func:`run_search`."""
    return run_search("gdas", data, epochs, **kwargs)
