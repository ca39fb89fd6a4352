"""nascourse.rng: seeded generators, and the one way the package seeds torch."""

import numpy as np
import pytest
import torch

from nascourse.rng import as_generator, torch_seeded


def test_as_generator():
    assert as_generator(3).integers(1000) == np.random.default_rng(3).integers(1000)
    rng = np.random.default_rng(0)
    assert as_generator(rng) is rng
    with pytest.raises(TypeError):
        as_generator(True)


def test_torch_seeded_repeats_draws_and_restores_the_global_generator():
    torch.manual_seed(123)
    before = torch.random.get_rng_state()
    with torch_seeded(5):
        a = torch.rand(3)
    with torch_seeded(5, "cpu"):
        b = torch.rand(3)
    assert torch.equal(a, b)
    assert torch.equal(torch.random.get_rng_state(), before)      # left as it was found
    with torch_seeded(None):                                       # unseeded: draws move on
        c = torch.rand(3)
    assert not torch.equal(torch.random.get_rng_state(), before) and not torch.equal(c, a)
    with pytest.raises(ValueError, match="seed"):
        with torch_seeded(-1):
            pass


def test_derived_generators_are_reproducible_and_independent_of_the_run_s_own():
    from nascourse.rng import derived_generator

    first = derived_generator(3, 1).integers(1_000_000, size=5)
    assert np.array_equal(first, derived_generator(3, 1).integers(1_000_000, size=5))
    assert not np.array_equal(first, derived_generator(3, 2).integers(1_000_000, size=5))
    assert not np.array_equal(first, as_generator(3).integers(1_000_000, size=5))
    with pytest.raises(ValueError, match="seed"):
        derived_generator(-1, 1)
