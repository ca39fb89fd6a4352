"""One-shot architecture search on the NAS-Bench-201 supernet (chapter 04).

Four strategies share one supernet (:class:`nascourse.nn.supernet.NB201Supernet`) and one
training loop:

- :func:`random_weight_sharing` (Li & Talwalkar): train the weights on one uniformly
  random cell per step, then rank sampled cells by their accuracy with the shared weights;
- :func:`darts` (Liu et al.): alternate an architecture step on the validation half of
  the data and a weight step on the training half, first order (``order=1``) or with the
  finite-difference second-order approximation (``order=2``);
- :func:`gdas` (Dong & Yang): the same alternation, but every step runs a single path
  drawn with the straight-through Gumbel-softmax, its temperature annealed over the run;
- :func:`perturbation_selection` (Wang et al. 2021): pick each edge's operation by how much
  removing it from a trained supernet hurts, instead of by the largest ``alpha``.

Everything runs on the device given (the GPU by default when torch sees one). Long runs
show progress bars, save a checkpoint after every epoch (written to a temporary file and
renamed, read back with ``torch.load(weights_only=True)``) and resume from it.
:func:`search_data` splits the training images in two halves for the bilevel problem, and
:func:`step_memory` measures the memory of one training step on a CPU or a GPU.
"""

from __future__ import annotations

import copy
import math
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader, Subset

from nascourse import datasets
from nascourse._checks import check_choice, check_int, check_number
from nascourse.nn.supernet import NUM_EDGES, NUM_OPS, NB201Supernet, discretise, evaluate_cell
from nascourse.spaces.nb201 import OPS, Cell, random_cell
from nascourse.devices import as_device
from nascourse.progress import progress_bar
from nascourse.train import evaluate, loader_generators, reseed_loader

#: The one-shot methods that train a supernet with :func:`run_search`.
METHODS: tuple[str, ...] = ("darts", "gdas", "rsws")
#: Data sets :func:`search_data` understands (both CIFAR-10, hence ten classes).
DATASETS: tuple[str, ...] = ("cifar10-subset", "cifar10")
NUM_CLASSES = 10

#: The search settings of DARTS on NAS-Bench-201 (Dong & Yang 2020, after Liu et al. 2019):
#: 50 epochs of the C=16, N=5 supernet on the 25,000 + 25,000 split of CIFAR-10, batch 64,
#: SGD with learning rate 0.025 annealed to 0.001 by a cosine, Adam 3e-4 for ``alpha``.
PAPER_SETTINGS: dict[str, Any] = {
    "epochs": 50, "C": 16, "N": 5, "w_lr": 0.025, "w_lr_min": 0.001, "w_momentum": 0.9,
    "w_weight_decay": 3e-4, "grad_clip": 5.0, "a_lr": 3e-4, "a_weight_decay": 1e-3,
}
#: The chapter's laptop settings: a narrow, shallow supernet (C=8, N=1) and 10 epochs.
#: With two orders of magnitude fewer steps than the paper, ``alpha`` gets a learning rate
#: a hundred times larger (with 0.01, thirty epochs ended with the skip connection far
#: ahead for some seeds and not at all for others). Use them with :data:`LAPTOP_DATA`.
LAPTOP_SETTINGS: dict[str, Any] = {**PAPER_SETTINGS, "epochs": 10, "C": 8, "N": 1, "a_lr": 0.03}
#: The chapter's data: 1,000 of the shipped CIFAR-10 training images (500 for the weights,
#: 500 for the architecture) at 16x16 pixels, in batches of 32.
LAPTOP_DATA: dict[str, Any] = {"dataset": "cifar10-subset", "n_images": 1000, "image_size": 16, "batch_size": 32}
#: The data of the paper settings: full CIFAR-10 (25,000 + 25,000 images) in batches of 64.
PAPER_DATA: dict[str, Any] = {"dataset": "cifar10", "batch_size": 64}


# ----- data ---------------------------------------------------------------------------------
class SearchData(NamedTuple):
    """The bilevel split: ``train`` fits the weights, ``valid`` the architecture."""

    train: DataLoader
    valid: DataLoader


def search_data(dataset: str = "cifar10-subset", n_images: int | None = None, image_size: int | None = None,
                batch_size: int = 64, seed: int = 0, root: str | Path = "data",
                download: bool = False) -> SearchData:
    """Split the training images of ``dataset`` into two equal, shuffled halves.

    ``'cifar10-subset'`` are the 3,000 shipped training images, ``'cifar10'`` the 50,000 of
    full CIFAR-10 on disk under ``root`` (fetched first with ``download=True``), split
    25,000 + 25,000 as in DARTS. ``n_images`` keeps only that many images (seeded draw)
    before halving; ``image_size`` downsamples the shipped images (anti-aliased), which
    makes a CPU run several times faster. Both loaders shuffle with generators seeded from
    ``seed``, so a run sees the same batches every time.
    """
    check_choice("dataset", dataset, DATASETS)
    batch_size = check_int("batch_size", batch_size)
    n_images = check_int("n_images", n_images, allow_none=True)
    image_size = check_int("image_size", image_size, allow_none=True)
    full = datasets.get_dataset(dataset, "train", root, download, image_size)
    total = len(full)
    n_images = total if n_images is None else n_images
    if not 2 <= n_images <= total:
        raise ValueError(f"n_images must be between 2 and {total} (the training images of {dataset!r}), "
                         f"got {n_images}")
    order = np.random.default_rng(seed).permutation(total)[:n_images]
    half = n_images // 2
    loaders = []
    for offset, part in enumerate((order[:half], order[half:2 * half])):
        loaders.append(DataLoader(Subset(full, part.tolist()), batch_size=batch_size, shuffle=True,
                                  generator=torch.Generator().manual_seed(seed + offset)))
    return SearchData(*loaders)


def _check_data(data: Any) -> tuple[DataLoader, DataLoader]:
    if not (isinstance(data, tuple) and len(data) >= 2 and all(isinstance(d, DataLoader) for d in data[:2])):
        raise TypeError("data must be a (train, valid) pair of DataLoaders such as search_data() returns, "
                        f"got {type(data).__name__}")
    if len(data[0]) == 0 or len(data[1]) == 0:
        raise ValueError("both loaders of data must yield at least one batch")
    return data[0], data[1]


# ----- results ------------------------------------------------------------------------------
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


# ----- one step of each method ----------------------------------------------------------------
def gumbel_path(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> tuple[torch.Tensor, list[int]]:
    """One GDAS draw: straight-through Gumbel-softmax weights (one-hot values, gradients of
    ``softmax((alpha + g) / tau)``) and the chosen operation of every edge."""
    uniform = torch.rand(alpha.shape, generator=generator).clamp_(1e-10, 1 - 1e-10).to(alpha.device)
    probs = F.softmax((alpha - torch.log(-torch.log(uniform))) / tau, dim=-1)
    index = probs.argmax(dim=-1)
    hard = F.one_hot(index, alpha.shape[-1]).to(probs.dtype)
    return hard - probs.detach() + probs, index.tolist()


def _forward(net: NB201Supernet, method: str, x: torch.Tensor, tau: float,
             generator: torch.Generator) -> torch.Tensor:
    if method == "darts":
        return net(x)
    if method == "gdas":
        weights, path = gumbel_path(net.alpha, tau, generator)
        return net(x, weights=weights, cell=path)
    return net(x, cell=torch.randint(NUM_OPS, (NUM_EDGES,), generator=generator).tolist())


def _grads(loss: torch.Tensor, params: Sequence[torch.Tensor], **kwargs) -> list[torch.Tensor]:
    grads = torch.autograd.grad(loss, params, allow_unused=True, **kwargs)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def second_order_arch_grad(net: NB201Supernet, x_train: torch.Tensor, y_train: torch.Tensor,
                           x_valid: torch.Tensor, y_valid: torch.Tensor, xi: float,
                           epsilon: float = 0.01) -> tuple[torch.Tensor, float]:
    """The DARTS second-order gradient of the validation loss with respect to ``alpha``.

    With one virtual step ``w' = w - xi * grad_w L_train(w, alpha)``, the gradient of
    ``L_val(w', alpha)`` is ``grad_alpha L_val(w', alpha) - xi * H v``, where
    ``v = grad_w' L_val(w', alpha)`` and ``H v`` (a mixed second derivative of
    ``L_train``) is approximated by central differences at ``w +- r v`` with
    ``r = epsilon / ||v||`` (Liu et al. 2019, eq. 7-8). The weights are restored on
    return. Returns the gradient and the validation loss at ``w'``.
    """
    xi = check_number("xi", xi)
    epsilon = check_number("epsilon", epsilon, positive=True)
    weights, alpha = net.weight_parameters(), net.alpha
    saved = [w.detach().clone() for w in weights]
    g_train = _grads(F.cross_entropy(net(x_train), y_train), weights)
    try:
        with torch.no_grad():
            for w, g in zip(weights, g_train):
                w.sub_(xi * g)
        valid_loss = F.cross_entropy(net(x_valid), y_valid)
        d_alpha, *v = _grads(valid_loss, [alpha, *weights])
        r = epsilon / torch.sqrt(sum((g * g).sum() for g in v)).clamp_min(1e-12)
        mixed = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, g in zip(weights, saved, v):
                    w.copy_(w0 + sign * r * g)
            mixed.append(_grads(F.cross_entropy(net(x_train), y_train), [alpha])[0])
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, saved):
                w.copy_(w0)
    return d_alpha - xi * (mixed[0] - mixed[1]) / (2 * r), valid_loss.item()


# ----- memory -----------------------------------------------------------------------------------
def step_memory(step: Callable[[], Any], device: torch.device | str | None = None,
                exclude: Iterable[torch.Tensor] = ()) -> int:
    """Bytes one training step needs beyond what is allocated before it.

    On a GPU: the peak of ``torch.cuda.max_memory_allocated`` during ``step()``. On a CPU
    (no allocator statistics): the bytes of the distinct tensors autograd saves for the
    backward pass, which is what grows with the number of operations a step runs; tensors
    in ``exclude`` (pass the parameters) are not counted, since they exist anyway.
    """
    device = as_device(device)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        before = torch.cuda.memory_allocated(device)
        step()
        torch.cuda.synchronize(device)
        return int(torch.cuda.max_memory_allocated(device) - before)
    skip = {t.untyped_storage().data_ptr() for t in exclude}
    seen: dict[int, int] = {}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        if storage.data_ptr() not in skip:
            seen[storage.data_ptr()] = max(seen.get(storage.data_ptr(), 0), storage.nbytes())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        step()
    return int(sum(seen.values()))


def training_step_memory(net: NB201Supernet, x: torch.Tensor, y: torch.Tensor, method: str = "darts",
                         device: torch.device | str | None = None, tau: float = 1.0, seed: int = 0) -> int:
    """:func:`step_memory` of one forward and backward pass of ``method``'s training step on
    the batch ``(x, y)``: every operation for DARTS, one sampled path for GDAS and RSWS."""
    check_choice("method", method, METHODS)
    device = as_device(device)
    net.to(device)
    x, y = x.to(device), y.to(device)
    generator = torch.Generator().manual_seed(seed)

    def step() -> None:
        F.cross_entropy(_forward(net, method, x, tau, generator), y).backward()

    memory = step_memory(step, device, exclude=net.parameters())
    net.zero_grad(set_to_none=True)
    return memory


# ----- checkpoints ----------------------------------------------------------------------------
def save_checkpoint(state: dict[str, Any], path: str | Path) -> None:
    """Write ``state`` (tensors, numbers, strings, lists and dicts only) to ``path`` safely:
    to a temporary file first, renamed over ``path`` once complete."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    torch.save(state, tmp)
    os.replace(tmp, path)


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``: no code runs)."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}")
    return torch.load(path, map_location="cpu", weights_only=True)


def _in_order(loader: DataLoader) -> DataLoader:
    """The same data set and batch size, unshuffled: the same batches on every pass."""
    return DataLoader(loader.dataset, batch_size=loader.batch_size, shuffle=False)


# ----- the search loop ------------------------------------------------------------------------------
def _settings(method: str, epochs: int, C: int, N: int, order: int, seed: int, w_lr: float, w_lr_min: float,
              w_momentum: float, w_weight_decay: float, grad_clip: float, a_lr: float, a_weight_decay: float,
              tau_max: float, tau_min: float) -> dict[str, Any]:
    settings = {"method": check_choice("method", method, METHODS), "epochs": check_int("epochs", epochs),
                "C": check_int("C", C), "N": check_int("N", N),
                "order": check_choice("order", order, (1, 2)), "seed": check_int("seed", seed, minimum=0)}
    for name, value in (("w_lr", w_lr), ("a_lr", a_lr), ("tau_max", tau_max), ("tau_min", tau_min)):
        settings[name] = check_number(name, value, positive=True)
    for name, value in (("w_lr_min", w_lr_min), ("w_weight_decay", w_weight_decay),
                        ("grad_clip", grad_clip), ("a_weight_decay", a_weight_decay)):
        settings[name] = check_number(name, value)
    settings["w_momentum"] = check_number("w_momentum", w_momentum, below=1)
    if settings["w_lr_min"] > settings["w_lr"]:
        raise ValueError(f"w_lr_min={w_lr_min} must not exceed w_lr={w_lr}")
    if settings["tau_min"] > settings["tau_max"]:
        raise ValueError(f"tau_min={tau_min} must not exceed tau_max={tau_max}")
    if order == 2 and method != "darts":
        raise ValueError(f"order=2 (the unrolled gradient) is a DARTS option; {method!r} takes order=1")
    return settings


def _cosine(settings: dict[str, Any], epoch: int) -> float:
    lo, hi = settings["w_lr_min"], settings["w_lr"]
    return lo + 0.5 * (hi - lo) * (1 + math.cos(math.pi * epoch / settings["epochs"]))


def _temperature(settings: dict[str, Any], epoch: int) -> float:
    done = epoch / max(settings["epochs"] - 1, 1)
    return (1 - done) * settings["tau_max"] + done * settings["tau_min"]


def run_search(method: str, data: tuple[DataLoader, DataLoader], epochs: int = 10, C: int = 8, N: int = 1,
               order: int = 1, seed: int = 0, device: torch.device | str | None = None,
               w_lr: float = 0.025, w_lr_min: float = 0.001, w_momentum: float = 0.9,
               w_weight_decay: float = 3e-4, grad_clip: float = 5.0, a_lr: float = 0.01,
               a_weight_decay: float = 1e-3, tau_max: float = 10.0, tau_min: float = 0.1,
               checkpoint: str | Path | None = None, stop_after: int | None = None,
               progress: bool = True) -> SearchResult:
    """Train an NB201 supernet with one-shot ``method`` ('darts', 'gdas' or 'rsws').

    Each step takes a batch of ``data.train`` and one of ``data.valid``. DARTS and GDAS
    first update ``alpha`` on the validation batch (Adam, ``a_lr``, betas (0.5, 0.999)),
    then the weights on the training batch (SGD with momentum, learning rate annealed from
    ``w_lr`` to ``w_lr_min`` by a cosine over the epochs, gradient norm clipped to
    ``grad_clip``); RSWS only trains the weights, on one random cell per step. GDAS anneals
    its temperature linearly from ``tau_max`` to ``tau_min``.

    With ``checkpoint``, the state is saved there after every epoch, and a run that finds a
    checkpoint of the same method and settings resumes from it (a different one is an
    error). ``stop_after`` stops after that many epochs in this call.
    """
    settings = _settings(method, epochs, C, N, order, seed, w_lr, w_lr_min, w_momentum, w_weight_decay,
                         grad_clip, a_lr, a_weight_decay, tau_max, tau_min)
    train_loader, valid_loader = _check_data(data)
    stop_after = check_int("stop_after", stop_after, allow_none=True)
    device = as_device(device)
    torch.manual_seed(seed)
    net = NB201Supernet(C, N, NUM_CLASSES).to(device)
    w_opt = torch.optim.SGD(net.weight_parameters(), lr=w_lr, momentum=w_momentum, weight_decay=w_weight_decay)
    a_opt = torch.optim.Adam(net.arch_parameters(), lr=a_lr, betas=(0.5, 0.999), weight_decay=a_weight_decay)
    sampler = torch.Generator().manual_seed(seed)
    loaders = [train_loader, valid_loader]
    for offset, loader in enumerate(loaders):
        reseed_loader(loader, seed + offset)
    steps = min(len(train_loader), len(valid_loader))
    history: list[dict[str, float]] = []
    trajectory = [net.mixing_weights().detach().cpu()]
    if checkpoint is not None and Path(checkpoint).is_file():
        state = load_checkpoint(checkpoint)
        if state["settings"] != settings or state["steps_per_epoch"] != steps:
            diff = {k: (state["settings"].get(k), v) for k, v in settings.items() if state["settings"].get(k) != v}
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
    last = epochs if stop_after is None else min(epochs, first + stop_after)
    bar = progress_bar(total=(last - first) * steps, desc=method, unit="step", disable=not progress)
    for epoch in range(first, last):
        start = time.perf_counter()
        lr, tau = _cosine(settings, epoch), _temperature(settings, epoch)
        for group in w_opt.param_groups:
            group["lr"] = lr
        net.train()
        sums = {"train_loss": 0.0, "train_acc": 0.0, "valid_loss": 0.0, "valid_acc": 0.0}
        for (xt, yt), (xv, yv) in zip(*loaders):
            xt, yt, xv, yv = xt.to(device), yt.to(device), xv.to(device), yv.to(device)
            if method != "rsws":
                a_opt.zero_grad(set_to_none=True)
                if order == 2:
                    net.alpha.grad, valid_loss = second_order_arch_grad(net, xt, yt, xv, yv, xi=lr)
                    sums["valid_loss"] += valid_loss
                else:
                    logits = _forward(net, method, xv, tau, sampler)
                    loss = F.cross_entropy(logits, yv)
                    net.alpha.grad = _grads(loss, [net.alpha])[0]
                    sums["valid_loss"] += loss.item()
                    sums["valid_acc"] += (logits.argmax(1) == yv).float().mean().item()
                a_opt.step()
            w_opt.zero_grad(set_to_none=True)
            logits = _forward(net, method, xt, tau, sampler)
            loss = F.cross_entropy(logits, yt)
            loss.backward()
            net.alpha.grad = None
            if grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(net.weight_parameters(), grad_clip)
            w_opt.step()
            sums["train_loss"] += loss.item()
            sums["train_acc"] += (logits.argmax(1) == yt).float().mean().item()
            trajectory.append(net.mixing_weights().detach().cpu())
            bar.update()
        record = {"epoch": epoch + 1, "lr": lr}
        if method == "gdas":
            record["tau"] = tau
        record.update({k: v / steps for k, v in sums.items()
                       if method != "rsws" or k.startswith("train")})
        if order == 2:
            record.pop("valid_acc")
        record["time"] = time.perf_counter() - start
        history.append(record)
        bar.set_postfix({k: f"{v:.3f}" for k, v in record.items() if k.endswith(("loss", "acc"))})
        if checkpoint is not None:
            save_checkpoint({"settings": settings, "steps_per_epoch": steps, "supernet": net.state_dict(),
                             "w_opt": w_opt.state_dict(), "a_opt": a_opt.state_dict(),
                             "sampler": sampler.get_state(),
                             "loaders": [[g.get_state() for g in loader_generators(d)] for d in loaders],
                             "history": history, "trajectory": trajectory}, checkpoint)
    bar.close()
    return SearchResult(method, net, history, torch.stack(trajectory).numpy(), steps, epochs, settings)


def darts(data: tuple[DataLoader, DataLoader], epochs: int = 10, order: int = 1, **kwargs: Any) -> SearchResult:
    """DARTS (Liu et al. 2019): ``order=1`` ignores how the weights respond to ``alpha``;
    ``order=2`` uses the one-step unrolled gradient (:func:`second_order_arch_grad`).
    Other arguments as :func:`run_search`."""
    return run_search("darts", data, epochs, order=order, **kwargs)


def gdas(data: tuple[DataLoader, DataLoader], epochs: int = 10, **kwargs: Any) -> SearchResult:
    """GDAS (Dong & Yang 2019): one Gumbel-sampled path per step, temperature annealed from
    ``tau_max`` to ``tau_min``. Other arguments as :func:`run_search`."""
    return run_search("gdas", data, epochs, **kwargs)


# ----- ranking cells with shared weights --------------------------------------------------------------
def rank_cells(net: NB201Supernet, cells: Iterable[Cell | str], loader: DataLoader,
               device: torch.device | str | None = None, max_batches: int | None = None) -> pd.DataFrame:
    """One-shot scores of ``cells``: their validation loss and accuracy (in %) with the shared
    weights of ``net``, one row per cell indexed by benchmark index, best first."""
    rows = []
    for cell in cells:
        cell = Cell.from_str(cell) if isinstance(cell, str) else cell
        loss, acc = evaluate_cell(net, cell, loader, device, max_batches)
        rows.append({"index": cell.index, "arch_str": cell.to_str(), "oneshot_loss": loss,
                     "oneshot_acc": 100 * acc})
    if not rows:
        raise ValueError("cells is empty: give at least one cell to rank")
    return pd.DataFrame(rows).set_index("index").sort_values("oneshot_acc", ascending=False, kind="stable")


def random_weight_sharing(data: tuple[DataLoader, DataLoader], epochs: int = 10, n_candidates: int = 30,
                          max_batches: int | None = None, **kwargs: Any) -> tuple[SearchResult, pd.DataFrame]:
    """Random search with weight sharing (Li & Talwalkar 2020): train the supernet on one
    random cell per step, then rank ``n_candidates`` random cells (seeded, distinct) by
    their accuracy with the shared weights on ``data.valid`` (unshuffled, so that with
    ``max_batches`` every cell sees the same images). Returns the run and the
    ranking (:func:`rank_cells`); the ranking's first row is the chosen cell."""
    n_candidates = check_int("n_candidates", n_candidates)
    result = run_search("rsws", data, epochs, **kwargs)
    rng = np.random.default_rng(kwargs.get("seed", 0))
    cells: dict[Cell, None] = {}
    while len(cells) < n_candidates:
        cells[random_cell(rng)] = None
    ranking = rank_cells(result.supernet, cells, _in_order(data[1]), kwargs.get("device"), max_batches)
    return result, ranking


# ----- perturbation-based selection ------------------------------------------------------------------
@dataclass
class PerturbationResult:
    """The cell chosen edge by edge, and ``table``: the validation accuracy (%) of the
    supernet with each operation removed, one row per edge in the order they were decided."""

    cell: Cell
    table: pd.DataFrame


def perturbation_selection(net: NB201Supernet, data: tuple[DataLoader, DataLoader], tune_steps: int = 5,
                           eval_batches: int = 4, tune_lr: float = 0.01, seed: int = 0,
                           device: torch.device | str | None = None, progress: bool = True) -> PerturbationResult:
    """Perturbation-based architecture selection (Wang et al. 2021) on a trained supernet.

    Visit the edges in a random order. On each, remove every operation in turn (set its
    mixing weight to zero) and measure the supernet's validation accuracy on the first
    ``eval_batches`` batches of ``data.valid`` (unshuffled: the same images every time);
    keep the operation whose removal hurts most (ties: the larger loss), fix the edge to
    it, and train the weights for ``tune_steps`` steps (SGD, ``tune_lr``, batches of
    ``data.train`` drawn with ``seed``) before the next edge. ``net`` is not changed, and
    the same arguments give the same result.
    """
    if not isinstance(net, NB201Supernet):
        raise TypeError(f"net must be an NB201Supernet, got {type(net).__name__}")
    train_loader, valid_loader = _check_data(data)
    tune_steps = check_int("tune_steps", tune_steps, minimum=0)
    tune_lr = check_number("tune_lr", tune_lr, positive=True)
    seed = check_int("seed", seed, minimum=0)
    eval_batches = check_int("eval_batches", eval_batches)
    device = as_device(device)
    net = copy.deepcopy(net).to(device)
    weights = net.mixing_weights().detach().clone()
    batches = [(x.to(device), y.to(device)) for _, (x, y) in zip(range(eval_batches), _in_order(valid_loader))]
    tune_loader = DataLoader(train_loader.dataset, batch_size=train_loader.batch_size, shuffle=True,
                             generator=torch.Generator().manual_seed(seed))

    def score(w: torch.Tensor) -> tuple[float, float]:
        loss, acc = evaluate(net, batches, device, weights=w)
        return 100 * acc, loss

    torch.manual_seed(seed)
    opt = torch.optim.SGD(net.weight_parameters(), lr=tune_lr, momentum=0.9)
    order = np.random.default_rng(seed).permutation(NUM_EDGES).tolist()
    rows, choice = [], [0] * NUM_EDGES
    for e in progress_bar(order, desc="perturbation", disable=not progress):
        row: dict[str, Any] = {"edge": e, "supernet": score(weights)[0]}
        results = {}
        for o, op in enumerate(OPS):
            removed = weights.clone()
            removed[e, o] = 0.0
            results[op] = score(removed)
            row[op] = results[op][0]
        best = min(OPS, key=lambda op: (results[op][0], -results[op][1]))
        choice[e] = OPS.index(best)
        row["chosen"] = best
        rows.append(row)
        weights[e] = F.one_hot(torch.tensor(choice[e]), NUM_OPS).to(weights)
        net.train()
        for _, (x, y) in zip(range(tune_steps), tune_loader):
            opt.zero_grad(set_to_none=True)
            F.cross_entropy(net(x.to(device), weights=weights), y.to(device)).backward()
            opt.step()
    return PerturbationResult(Cell(tuple(OPS[i] for i in choice)), pd.DataFrame(rows).set_index("edge"))
