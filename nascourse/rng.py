"""Seeded randomness shared by the whole package: every function that draws random
numbers accepts an int seed or a ``numpy.random.Generator`` (chapter 02 explains why
seeding matters for reproducible NAS experiments)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import numpy as np

from nascourse._checks import check_int, check_type


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else a new Generator seeded with the int
    (a non-negative int; a bool is a TypeError)."""
    check_type("seed", seed, (int, np.integer, np.random.Generator), "an int or a numpy.random.Generator")
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, minimum=0))


def derived_generator(seed: int, stream: int) -> np.random.Generator:
    """A generator for one purpose (``stream``) of run ``seed``, independent of the one
    that ``as_generator(seed)`` gives the run itself (e.g. the pool a warm start draws
    from, beside the search's own draws)."""
    return np.random.default_rng([check_int("seed", seed, minimum=0), check_int("stream", stream)])


@contextlib.contextmanager
def torch_seeded(seed: int | None, device=None) -> Iterator[None]:
    """A block whose draws from torch's global generators start from ``seed`` (weight
    initialisation, dropout), and after which those generators are as they were before:
    the package seeds torch this way only. ``seed=None`` leaves the block unseeded. On a
    CUDA ``device`` its generator is seeded and restored too."""
    import torch

    seed = check_int("seed", seed, minimum=0, allow_none=True)
    cuda = device is not None and torch.device(device).type == "cuda"
    with torch.random.fork_rng(devices=[torch.device(device)] if cuda else [], enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield


class TorchRngStream:
    """The random stream of torch's global generators for one computation that runs in
    pieces, such as a generator function suspended between the items it yields, while the
    caller draws from the same global generators in between.

    ``with stream.active():`` makes torch's global generators (the CPU one, and a CUDA
    ``device``'s when one is given) continue the stream where the last block left it, and
    on leaving saves the stream and gives the caller back the generators as they were on
    entering. So the blocks together draw exactly what one uninterrupted block started
    from ``torch.manual_seed(seed)`` would draw (what :func:`torch_seeded` gives), whatever
    the caller does between them, and the caller's own stream is the same as if the blocks
    had never run. With ``seed=None`` the stream is unseeded: the blocks draw from the
    global generators as the caller leaves them (and move them on), as ``torch_seeded(None)``
    does."""

    def __init__(self, seed: int | None, device=None):
        import torch

        self.seed = check_int("seed", seed, minimum=0, allow_none=True)
        cuda = device is not None and torch.device(device).type == "cuda"
        self.devices = [torch.device(device)] if cuda else []
        self.state = None
        if self.seed is not None:
            with torch_seeded(self.seed, device):
                self.state = self._get()

    def _get(self) -> tuple:
        import torch

        return torch.get_rng_state(), [torch.cuda.get_rng_state(d) for d in self.devices]

    def _set(self, state: tuple) -> None:
        import torch

        cpu, cuda = state
        torch.set_rng_state(cpu)
        for d, s in zip(self.devices, cuda):
            torch.cuda.set_rng_state(s, d)

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """A block that draws the stream's next random numbers (see the class)."""
        if self.state is None:
            yield
            return
        caller = self._get()
        self._set(self.state)
        try:
            yield
        finally:
            self.state = self._get()
            self._set(caller)
