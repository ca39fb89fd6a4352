"""Seeded randomness shared by the whole package: every function that draws random
numbers accepts an int seed or a ``numpy.random.Generator`` (chapter 02 explains why
seeding matters for reproducible NAS experiments)."""

from __future__ import annotations

import numpy as np


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else a new Generator seeded with the int."""
    if isinstance(seed, np.random.Generator):
        return seed
    if isinstance(seed, (int, np.integer)) and not isinstance(seed, bool):
        return np.random.default_rng(int(seed))
    raise TypeError(f"seed must be an int or a numpy.random.Generator, got {type(seed).__name__} {seed!r}")
