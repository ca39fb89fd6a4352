"""nascourse.claims: numbers quoted in prose, checked against the computation."""

from __future__ import annotations

import numpy as np
import pytest

from nascourse import claims


@pytest.mark.parametrize("quote, value", [
    ("54.30%", 54.3), ("0.868", 0.868), ("15,625", 15625.0), ("\u22120.043", -0.043),
    ("-2", -2.0), ("7", 7.0), ("1,024.5", 1024.5),
])
def test_parse_reads_numbers_as_prose_spells_them(quote, value):
    assert claims.parse(quote) == value


@pytest.mark.parametrize("quote", ["", "about 5", "1.2.3", "5e3", "12,34", "%", "0.5 %x"])
def test_parse_rejects_what_is_not_a_number(quote):
    with pytest.raises(ValueError, match="not a number"):
        claims.parse(quote)


def test_parse_wants_the_quote_as_a_string():
    with pytest.raises(TypeError, match="as a string"):
        claims.parse(0.5)


def test_close_passes_within_the_tolerance_and_names_quote_and_value_when_not():
    assert claims.close("54.30%", np.float64(54.2951), tol=0.005)
    with pytest.raises(AssertionError, match=r"the prose says 54.30%, the code computed 54.4"):
        claims.close("54.30%", 54.4, tol=0.005)
    with pytest.raises(ValueError, match="tol must be >= 0"):
        claims.close("1", 1, tol=-1)
    with pytest.raises(ValueError, match="NaN"):
        claims.close("1", float("nan"), tol=1)
    with pytest.raises(ValueError, match="infinite"):
        claims.close("1", float("inf"), tol=1)
    with pytest.raises(TypeError, match="array of numbers"):
        claims.above("0.5", np.True_)
    with pytest.raises(TypeError, match="array of numbers"):
        claims.below("1", ["0.5"])
    assert claims.below("1", np.asarray(0.5)) and claims.above("0.5", [np.float32(0.6), 1])
    with pytest.raises(TypeError, match="value must be a finite number"):
        claims.close("1", "1", tol=1)
    with pytest.raises(TypeError, match="value must be a finite number"):
        claims.close("1", True, tol=1)


def test_bounds_hold_for_every_value():
    assert claims.above("0.5", [0.51, 0.9]) and claims.below("8", np.array([[7.9, 1.0]]))
    assert claims.between("0.55", "0.87", [0.55, 0.87, 0.6])
    with pytest.raises(AssertionError, match=r"above 0.5, the code computed 2 values in \[0.5, 0.9\]"):
        claims.above("0.5", [0.5, 0.9])
    with pytest.raises(AssertionError, match="below 8"):
        claims.below("8", 8.4)
    with pytest.raises(AssertionError, match="between 0.55 and 0.87"):
        claims.between("0.55", "0.87", [0.6, 0.88])
    with pytest.raises(ValueError, match="empty"):
        claims.between("2", "1", [1.5])
    with pytest.raises(ValueError, match="empty"):
        claims.above("1", [])
    with pytest.raises(TypeError, match="array of numbers"):
        claims.above("1", ["a"])


def test_failures_are_printed_instead_when_reporting(monkeypatch, capsys):
    monkeypatch.setenv(claims.REPORT_ENV, "1")
    assert claims.close("1.0", 2.0, tol=0.1) is False
    assert claims.above("3", 2) is False
    printed = capsys.readouterr().out.splitlines()
    assert printed == [f"{claims.FAILED} the prose says 1.0, the code computed 2 (tolerance 0.1)",
                       f"{claims.FAILED} the prose says above 3, the code computed 2"]


def test_say_fills_the_template_with_plain_numbers():
    text = claims.say("tau is {tau:.2f} over {n} cells ({raw})", tau=np.float64(0.8312),
                      n=np.int64(30), raw=np.float64(0.5)).data
    assert text == "tau is 0.83 over 30 cells (0.5)"
    with pytest.raises(ValueError, match="'n', which was not given"):
        claims.say("{n} cells", m=1)
    with pytest.raises(TypeError, match="template must be a str"):
        claims.say(3)
