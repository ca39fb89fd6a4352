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


def test_torch_rng_stream_continues_across_blocks_and_leaves_the_caller_s_stream_alone():
    from nascourse.rng import TorchRngStream

    with torch_seeded(7):                      # one uninterrupted block, for reference
        whole = torch.rand(6)
    torch.manual_seed(123)
    caller_alone = torch.rand(4)               # what the caller draws if nothing else runs
    torch.manual_seed(123)
    stream = TorchRngStream(7, "cpu")
    pieces = []
    for k in range(3):
        with stream.active():
            pieces.append(torch.rand(2))
        if k == 0:
            caller = [torch.rand(2)]           # the caller draws between the blocks ...
        elif k == 1:
            caller.append(torch.rand(2))
            torch.manual_seed(99)              # ... and even reseeds
            torch.rand(5)
    assert torch.equal(torch.cat(pieces), whole)
    assert torch.equal(torch.cat(caller), caller_alone)
    # unseeded: the blocks draw from the global generators and move them on
    torch.manual_seed(3)
    expected = torch.rand(3)
    torch.manual_seed(3)
    unseeded = TorchRngStream(None)
    with unseeded.active():
        a = torch.rand(2)
    assert torch.equal(torch.cat([a, torch.rand(1)]), expected)
    with pytest.raises(ValueError, match="seed"):
        TorchRngStream(-1)
    with pytest.raises(TypeError, match="seed"):
        TorchRngStream(1.5)


def test_torch_rng_stream_block_restores_the_caller_s_stream_on_an_error():
    from nascourse.rng import TorchRngStream

    torch.manual_seed(5)
    before = torch.get_rng_state()
    stream = TorchRngStream(1)
    with pytest.raises(RuntimeError, match="boom"):
        with stream.active():
            torch.rand(3)
            raise RuntimeError("boom")
    assert torch.equal(torch.get_rng_state(), before)
    with stream.active():                      # the stream went on from its three draws
        after_error = torch.rand(1)
    with torch_seeded(1):
        assert torch.equal(torch.rand(4)[3:], after_error)
