"""Fixtures shared by the unit tests."""

import pytest
import torch


@pytest.fixture(scope="module")
def one_torch_thread():
    """Tiny networks run faster on one thread than on two threads that wait for each other."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def scratch_registries():
    """``scratch_registries(A, B, ...)`` makes registrations in those registries temporary:
    what the test registers is forgotten when it ends (``Registry.scratch``)."""
    import contextlib

    with contextlib.ExitStack() as stack:
        yield lambda *registries: [stack.enter_context(r.scratch()) for r in registries]
