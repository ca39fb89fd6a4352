"""Where tensors live: the device every function of the course uses unless told otherwise.

The course runs the same code on a GPU when torch sees one and on the CPU otherwise.
:func:`default_device` makes that choice, :func:`try_gpu` asks for one GPU, and
:func:`as_device` turns a ``device`` argument (a :class:`torch.device`, a string such as
``'cpu'`` or ``'cuda:0'``, or ``None`` for the default) into a :class:`torch.device`.
"""

from __future__ import annotations

import torch

from nascourse._checks import check_int, check_type


def try_gpu(i: int = 0) -> torch.device:
    """GPU ``i`` if it exists, otherwise the CPU."""
    i = check_int("i", i, minimum=0)
    if torch.cuda.is_available() and i < torch.cuda.device_count():
        return torch.device(f"cuda:{i}")
    return torch.device("cpu")


def default_device() -> torch.device:
    """The device every function of the course uses unless told otherwise."""
    return try_gpu(0)


def as_device(device: torch.device | str | None) -> torch.device:
    """``device`` as a torch.device; ``None`` means :func:`default_device`."""
    if device is None:
        return default_device()
    check_type("device", device, (str, torch.device), "a torch.device, a str such as 'cpu' or 'cuda', or None")
    return torch.device(device)
