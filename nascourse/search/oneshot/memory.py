"""How much memory one training step of a one-shot method needs, on a CPU or a GPU."""

from __future__ import annotations

from typing import Any, Callable, Iterable

import torch
import torch.nn.functional as F

from nascourse._checks import check_int, check_number, check_type
from nascourse.devices import as_device
from nascourse.nn.supernet import NB201Supernet
from nascourse.search.oneshot.methods import METHODS


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
    check_type("net", net, NB201Supernet, "an NB201Supernet")
    step_of = METHODS.get(method)()
    tau = check_number("tau", tau, positive=True)
    seed = check_int("seed", seed, minimum=0)
    device = as_device(device)
    net.to(device)
    x, y = x.to(device), y.to(device)
    generator = torch.Generator().manual_seed(seed)

    def step() -> None:
        F.cross_entropy(step_of.forward(net, x, tau, generator), y).backward()

    memory = step_memory(step, device, exclude=net.parameters())
    net.zero_grad(set_to_none=True)
    return memory
