"""Tests of the argument checks the package shares."""

import numpy as np
import pytest

from nascourse._checks import (check_array, check_bool, check_choice, check_fraction, check_int,
                               check_number, check_sequence, check_type)


def test_integers_pass_as_python_ints():
    assert check_int("n", 3) == 3
    value = check_int("n", np.int64(4))
    assert value == 4 and type(value) is int
    assert check_int("seed", 0, minimum=0) == 0
    assert check_int("n", None, allow_none=True) is None


@pytest.mark.parametrize("value, minimum, allow_none, error, message", [
    (0, 1, False, ValueError, "n must be a positive int, got 0"),
    (-1, 0, False, ValueError, "n must be a non-negative int, got -1"),
    (7, 8, False, ValueError, "n must be an int >= 8, got 7"),
    (True, 1, False, TypeError, "n must be a positive int, got bool True"),
    (2.0, 1, False, TypeError, "n must be a positive int, got float 2.0"),
    ("3", 1, True, TypeError, "n must be a positive int or None, got str '3'"),
    (None, 1, False, TypeError, "n must be a positive int, got NoneType None"),
])
def test_bad_values_name_the_argument_and_what_is_valid(value, minimum, allow_none, error, message):
    with pytest.raises(error) as caught:
        check_int("n", value, minimum=minimum, allow_none=allow_none)
    assert str(caught.value) == message


def test_choices():
    assert check_choice("order", 2, (1, 2)) == 2
    with pytest.raises(ValueError, match=r"unknown order 3; valid choices are \[1, 2\]"):
        check_choice("order", 3, (1, 2))
    with pytest.raises(ValueError, match=r"unknown split 'valid'; valid choices are \['train', 'test'\]"):
        check_choice("split", "valid", ("train", "test"))
    with pytest.raises(TypeError, match=r"split must be a str, one of \['train', 'test'\]; got NoneType None"):
        check_choice("split", None, ("train", "test"))


def test_numbers():
    assert check_number("lr", 0.1, positive=True) == 0.1 and check_number("decay", 0) == 0.0
    assert check_number("momentum", np.float32(0.5), below=1) == 0.5
    for value, kwargs, message in [(0, {"positive": True}, "lr must be a positive finite number, got 0"),
                                   (-1e-3, {}, "lr must be a non-negative finite number, got -0.001"),
                                   (float("inf"), {}, "lr must be a non-negative finite number, got inf"),
                                   (1.0, {"below": 1}, "lr must be a non-negative finite number below 1, got 1.0")]:
        with pytest.raises(ValueError) as caught:
            check_number("lr", value, **kwargs)
        assert str(caught.value) == message
    with pytest.raises(TypeError, match="lr must be a non-negative finite number, got str '0.1'"):
        check_number("lr", "0.1")


def test_int_bounds():
    assert check_int("k", 5, minimum=0, maximum=5) == 5
    with pytest.raises(ValueError, match="k must be an int from 0 to 5, got 6"):
        check_int("k", 6, minimum=0, maximum=5)
    with pytest.raises(ValueError, match="k must be an int <= 5, got 6"):
        check_int("k", 6, minimum=None, maximum=5)
    assert check_int("k", -7, minimum=None) == -7
    with pytest.raises(TypeError, match="k must be an int, got bool np.True_"):
        check_int("k", np.bool_(True), minimum=None)


def test_bools():
    assert check_bool("flag", True) is True and check_bool("flag", np.bool_(False)) is False
    for value in (0, 1, None, "yes"):
        with pytest.raises(TypeError, match="flag must be True or False"):
            check_bool("flag", value)


def test_number_bounds_and_fractions():
    assert check_number("x", -2.5, minimum=None) == -2.5
    assert check_number("x", None, allow_none=True) is None
    with pytest.raises(ValueError, match=r"x must be a finite number >= 1 <= 2, got 3"):
        check_number("x", 3, minimum=1, maximum=2)
    assert check_fraction("p", 1) == 1.0
    with pytest.raises(ValueError, match=r"p must be a number in \(0, 1\], got 0"):
        check_fraction("p", 0, allow_zero=False)
    with pytest.raises(TypeError, match=r"p must be a number in \[0, 1\]"):
        check_fraction("p", "0.5")


def test_types_sequences_and_arrays():
    assert check_type("net", 3, int) == 3
    with pytest.raises(TypeError, match="net must be a torch.nn.Module, got str 'x'"):
        check_type("net", "x", object.__class__, "a torch.nn.Module")
    with pytest.raises(TypeError, match="net must be a int or float, got str 'x'"):
        check_type("net", "x", (int, float))
    assert check_sequence("cells", ("a", "b"), str) == ["a", "b"]
    with pytest.raises(TypeError, match="cells must be a sequence of str, got str 'ab'"):
        check_sequence("cells", "ab", str)
    with pytest.raises(TypeError, match=r"cells\[1\] must be a str, got int 2"):
        check_sequence("cells", ["a", 2], str)
    with pytest.raises(ValueError, match="cells must hold at least 1 items, got 0"):
        check_sequence("cells", [], str, min_length=1)
    X = check_array("X", [[1, 2], [3, 4]], ndim=2, min_rows=2)
    assert X.dtype == np.float64 and X.shape == (2, 2)
    with pytest.raises(TypeError, match="X must be a numeric array"):
        check_array("X", [["a", "b"]])
    with pytest.raises(ValueError, match=r"X must be a 2-D array, got shape \(2,\)"):
        check_array("X", [1, 2], ndim=2)
    with pytest.raises(ValueError, match="X must hold finite numbers only"):
        check_array("X", [1, np.nan])
    with pytest.raises(ValueError, match="X must have at least 3 rows, got 2"):
        check_array("X", [1, 2], min_rows=3)
