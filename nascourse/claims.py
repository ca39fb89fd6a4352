"""Numbers that a chapter's prose quotes, checked against what its code computed.

A number typed into a sentence goes stale without a sound when the code, the data or the
seed changes. The chapters therefore bind every computed number their markdown quotes in
one of two ways (the README's "Writing a chapter" says when to use which):

- a check cell (tagged ``remove-cell``) states the number *as the prose spells it* and the
  value it stands for::

      claims.close("54.30%", table.loc[all_skip, "test_acc"], tol=0.005)
      claims.above("0.5", share_after_30_epochs)      # the prose says "above 0.5"

  ``tests/test_notebooks_static.py`` reads these literals and fails when a decimal number
  or a percentage in the markdown is neither bound here, nor cited (a published number in
  a paragraph with a ``{cite}`` role), nor listed with a reason under the notebook's
  ``nascourse.unchecked-numbers`` metadata (a setting such as a learning rate);
- a sentence that quotes numbers of this run, which change with the seed, is written by
  :func:`say` in a cell tagged ``remove-input``: on the website it reads as prose, and in
  JupyterLab or Colab the reader sees the short f-string and its rendered output.

A failed claim raises ``AssertionError`` naming the quote and the value, so a book build
stops there. ``scripts/check_seeds.py`` sets ``NASCOURSE_REPORT_CLAIMS=1`` to print the
failures instead and carry on.
"""

from __future__ import annotations

import os
import re
from typing import Any

import numpy as np

from nascourse._checks import check_number, check_type

__all__ = ["above", "below", "between", "close", "parse", "say"]

REPORT_ENV = "NASCOURSE_REPORT_CLAIMS"
FAILED = "CLAIM FAILED"
_NUMBER = re.compile(r"^[-\u2212]?\d{1,3}(,\d{3})*(\.\d+)?%?$|^[-\u2212]?\d+(\.\d+)?%?$")


def parse(quote: str) -> float:
    """The value of a number as prose spells it: ``"54.30%"`` is 54.3, ``"15,625"`` is
    15625, ``"\u22120.04"`` (a typographic minus) is -0.04. The percent sign is dropped, not
    divided out, since the course quotes accuracies in percent."""
    check_type("quote", quote, str, "the number as a string, as the prose spells it")
    text = quote.strip()
    if not _NUMBER.match(text):
        raise ValueError(f"quote {quote!r} is not a number as prose spells it "
                         f"(digits, optional thousands commas, decimals, minus, % sign)")
    return float(text.replace("\u2212", "-").replace(",", "").rstrip("%"))


def _value(value: Any, name: str = "value") -> float:
    try:
        return check_number(name, value, minimum=None)
    except ValueError:
        raise ValueError(f"{name} is {value} (NaN or infinite): there is nothing to compare "
                         f"the prose with") from None


def _values(values: Any) -> np.ndarray:
    try:
        array = np.asarray(values)
        kind = array.dtype.kind
        array = array.astype(float).ravel()
    except (TypeError, ValueError) as error:
        raise TypeError(f"values must be a number or an array of numbers ({error})") from None
    if kind in "bSU":                     # booleans and strings are no numbers to quote
        raise TypeError(f"values must be a number or an array of numbers, got {kind!r} "
                        f"(booleans or text): {values!r}")
    if array.size == 0:
        raise ValueError("values is empty: there is nothing to compare the prose with")
    if np.isnan(array).any():
        raise ValueError("values contain NaN")
    return array


def _verdict(ok: bool, message: str) -> bool:
    if ok:
        return True
    if os.environ.get(REPORT_ENV) == "1":
        print(FAILED, message)
        return False
    raise AssertionError(message)


def close(quote: str, value: Any, tol: float) -> bool:
    """The prose quotes ``value`` as ``quote``, within ``tol`` (in the quote's units).

    ``tol`` is required: say how far the computation may move before the sentence is
    wrong (half the last quoted digit for a deterministic table look-up; more for a
    timing)."""
    number = parse(quote)
    value = _value(value)
    tol = _value(tol, "tol")
    if tol < 0:
        raise ValueError(f"tol must be >= 0, got {tol}")
    return _verdict(abs(value - number) <= tol,
                    f"the prose says {quote}, the code computed {value:.6g} (tolerance {tol:g})")


def above(quote: str, values: Any) -> bool:
    """Every one of ``values`` is above the number the prose quotes ("more than 0.5")."""
    number, array = parse(quote), _values(values)
    return _verdict(bool((array > number).all()),
                    f"the prose says above {quote}, the code computed {_show(array)}")


def below(quote: str, values: Any) -> bool:
    """Every one of ``values`` is below the number the prose quotes ("under 8 steps")."""
    number, array = parse(quote), _values(values)
    return _verdict(bool((array < number).all()),
                    f"the prose says below {quote}, the code computed {_show(array)}")


def between(low: str, high: str, values: Any) -> bool:
    """Every one of ``values`` lies in the closed range the prose quotes ("0.55 to 0.87")."""
    lo, hi, array = parse(low), parse(high), _values(values)
    if lo > hi:
        raise ValueError(f"the range {low} to {high} is empty")
    return _verdict(bool(((array >= lo) & (array <= hi)).all()),
                    f"the prose says between {low} and {high}, the code computed {_show(array)}")


def _show(array: np.ndarray) -> str:
    return f"{array[0]:.6g}" if array.size == 1 else f"{array.size} values in [{array.min():.6g}, {array.max():.6g}]"


def say(template: str, /, **values: Any):
    """A sentence of prose with this run's numbers, for a cell tagged ``remove-input``.

    ``template`` is a :meth:`str.format` template in Markdown; every field must be given.
    Returns an ``IPython.display.Markdown`` object, which the notebook displays as its
    output (numpy scalars print as plain numbers, never as ``np.float64(...)``)."""
    from IPython.display import Markdown

    check_type("template", template, str)
    plain = {key: value.item() if isinstance(value, np.generic) else value
             for key, value in values.items()}
    try:
        text = template.format(**plain)
    except KeyError as error:
        raise ValueError(f"the template uses {error.args[0]!r}, which was not given; "
                         f"given: {sorted(values)}") from None
    return Markdown(text)
