"""Argument checks shared by the package.

Each check raises an error that names the argument, shows the bad value and says what is
valid: :class:`TypeError` for a value of the wrong type (a bool is not a count here,
although Python treats it as an int), :class:`ValueError` for a value of the right type
out of range.
"""

from __future__ import annotations

import math
from typing import Any, Iterable

import numpy as np


def check_int(name: str, value: Any, minimum: int = 1, allow_none: bool = False) -> int | None:
    """``value`` as a Python int if it is an integer (numpy integers included) of at least
    ``minimum``; ``None`` passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    kind = {1: "a positive int", 0: "a non-negative int"}.get(minimum, f"an int >= {minimum}")
    kind += " or None" if allow_none else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be {kind}, got {value}")
    return int(value)


def check_choice(name: str, value: Any, valid: Iterable) -> Any:
    """``value`` if it is one of ``valid``. When the choices are strings, anything but a
    string is a TypeError; an unknown value is a ValueError that lists the choices."""
    valid = list(valid)
    if all(isinstance(v, str) for v in valid) and not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {valid}; got {type(value).__name__} {value!r}")
    if value not in valid:
        raise ValueError(f"unknown {name} {value!r}; valid choices are {valid}")
    return value


def check_number(name: str, value: Any, positive: bool = False, below: float | None = None) -> float:
    """``value`` as a float if it is a finite real number that is at least 0 (above 0 when
    ``positive``) and, when ``below`` is given, less than ``below``."""
    kind = f"a {'positive' if positive else 'non-negative'} finite number"
    kind += f" below {below}" if below is not None else ""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {kind}, got {type(value).__name__} {value!r}")
    if not math.isfinite(value) or value < 0 or (positive and value == 0) or (below is not None and value >= below):
        raise ValueError(f"{name} must be {kind}, got {value}")
    return float(value)
