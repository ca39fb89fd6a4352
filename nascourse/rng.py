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
