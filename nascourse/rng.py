"""Seeded randomness shared by the whole package: every function that draws random
numbers accepts an int seed or a ``numpy.random.Generator`` (chapter 02 explains why
seeding matters for reproducible NAS experiments)."""

from __future__ import annotations

import numpy as np

from nascourse._checks import check_int, check_type


def as_generator(seed: int | np.random.Generator) -> np.random.Generator:
    """Return ``seed`` if it is a Generator, else a new Generator seeded with the int
    (a non-negative int; a bool is a TypeError)."""
    check_type("seed", seed, (int, np.integer, np.random.Generator), "an int or a numpy.random.Generator")
    if isinstance(seed, np.random.Generator):
        return seed
    return np.random.default_rng(check_int("seed", seed, minimum=0))
