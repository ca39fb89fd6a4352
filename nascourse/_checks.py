"""Argument checks shared by the package.

Each check raises an error that names the argument, shows the bad value and says what is
valid: :class:`TypeError` for a value of the wrong type (a bool is not a count here,
although Python treats it as an int), :class:`ValueError` for a value of the right type
out of range. Every module checks its arguments through these functions; a test
(``tests/test_checks.py``) fails if a module raises ValueError for a wrong type or
re-implements the integer and boolean checks inline.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Iterable

import numpy as np


def _type_name(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if len(repr(value)) <= 80 else type(value).__name__


def check_int(name: str, value: Any, minimum: int | None = 1, allow_none: bool = False,
              maximum: int | None = None) -> int | None:
    """``value`` as a Python int if it is an integer (numpy integers included) between
    ``minimum`` and ``maximum`` (both inclusive; ``None`` leaves that side open); ``None``
    passes when ``allow_none``."""
    if value is None and allow_none:
        return None
    if maximum is None:
        kind = {1: "a positive int", 0: "a non-negative int", None: "an int"}.get(minimum, f"an int >= {minimum}")
    elif minimum is None:
        kind = f"an int <= {maximum}"
    else:
        kind = f"an int from {minimum} to {maximum}"
    kind += " or None" if allow_none else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be {kind}, got {_type_name(value)}")
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise ValueError(f"{name} must be {kind}, got {value}")
    return int(value)


def check_bool(name: str, value: Any) -> bool:
    """``value`` as a Python bool if it is ``True`` or ``False`` (numpy booleans included);
    ``0``, ``1``, ``None`` and strings are a TypeError."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, got {_type_name(value)}")
    return bool(value)


def check_choice(name: str, value: Any, valid: Iterable) -> Any:
    """``value`` if it is one of ``valid``. When the choices are strings, anything but a
    string is a TypeError; an unknown value is a ValueError that lists the choices."""
    valid = list(valid)
    if all(isinstance(v, str) for v in valid) and not isinstance(value, str):
        raise TypeError(f"{name} must be a str, one of {valid}; got {_type_name(value)}")
    try:
        known = value in valid
    except TypeError:   # e.g. an unhashable or incomparable value
        known = False
    if not known:
        raise ValueError(f"unknown {name} {value!r}; valid choices are {valid}")
    return value


def check_number(name: str, value: Any, positive: bool = False, below: float | None = None, *,
                 minimum: float | None = 0.0, maximum: float | None = None,
                 allow_none: bool = False) -> float | None:
    """``value`` as a float if it is a finite real number that is at least ``minimum``
    (0 by default; ``None`` for no lower bound), above 0 when ``positive``, less than
    ``below`` and at most ``maximum`` when those are given; ``None`` passes when
    ``allow_none``."""
    if value is None and allow_none:
        return None
    if minimum == 0.0 and maximum is None:
        kind = f"a {'positive' if positive else 'non-negative'} finite number"
    else:
        kind = "a positive finite number" if positive else "a finite number"
        if minimum is not None and not (positive and minimum <= 0):
            kind += f" >= {minimum:g}"
    kind += f" below {below}" if below is not None else ""
    kind += f" <= {maximum:g}" if maximum is not None else ""
    kind += " or None" if allow_none else ""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {kind}, got {_type_name(value)}")
    if (not math.isfinite(value) or (minimum is not None and value < minimum) or (positive and value <= 0)
            or (below is not None and value >= below) or (maximum is not None and value > maximum)):
        raise ValueError(f"{name} must be {kind}, got {value}")
    return float(value)


def check_fraction(name: str, value: Any, allow_zero: bool = True, allow_one: bool = True) -> float:
    """``value`` as a float in [0, 1] (the ends excluded unless allowed)."""
    low = "[" if allow_zero else "("
    high = "]" if allow_one else ")"
    kind = f"a number in {low}0, 1{high}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be {kind}, got {_type_name(value)}")
    if (not math.isfinite(value) or value < 0 or value > 1 or (value == 0 and not allow_zero)
            or (value == 1 and not allow_one)):
        raise ValueError(f"{name} must be {kind}, got {value}")
    return float(value)


def check_type(name: str, value: Any, types: type | tuple[type, ...], what: str | None = None) -> Any:
    """``value`` if it is an instance of ``types``; otherwise a TypeError that says what
    was expected (``what``, or the type names)."""
    if not isinstance(value, types):
        if what is None:
            names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
            what = "a " + " or ".join(names)
        raise TypeError(f"{name} must be {what}, got {_type_name(value)}")
    return value


def check_sequence(name: str, values: Any, types: type | tuple[type, ...], what: str | None = None,
                   min_length: int = 0) -> list:
    """``values`` as a list if it is a sequence (not a string) whose elements are all
    instances of ``types``, with at least ``min_length`` of them."""
    if what is None:
        names = [t.__name__ for t in (types if isinstance(types, tuple) else (types,))]
        what = " or ".join(names)
    if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, np.ndarray)):
        raise TypeError(f"{name} must be a sequence of {what}, got {_type_name(values)}")
    values = list(values)
    for k, value in enumerate(values):
        if not isinstance(value, types):
            raise TypeError(f"{name}[{k}] must be a {what}, got {_type_name(value)}")
    if len(values) < min_length:
        raise ValueError(f"{name} must hold at least {min_length} items, got {len(values)}")
    return values


def check_array(name: str, value: Any, ndim: int | tuple[int, ...] | None = None, finite: bool = True,
                min_rows: int = 0) -> np.ndarray:
    """``value`` as a float64 numpy array: a TypeError when it is not numeric, a ValueError
    when it has the wrong number of dimensions, too few rows, or (when ``finite``) NaN or
    infinite entries."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be a numeric array, got {_type_name(value)}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be a numeric array, got {type(value).__name__}") from err
    if ndim is not None:
        dims = (ndim,) if isinstance(ndim, int) else tuple(ndim)
        if array.ndim not in dims:
            expected = " or ".join(f"{d}-D" for d in dims)
            raise ValueError(f"{name} must be a {expected} array, got shape {array.shape}")
    if array.ndim and len(array) < min_rows:
        raise ValueError(f"{name} must have at least {min_rows} rows, got {len(array)}")
    if finite and not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must hold finite numbers only (no NaN or inf)")
    return array
