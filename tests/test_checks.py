"""Tests of the argument checks the package shares."""

import numpy as np
import pytest

from nascourse._checks import check_choice, check_int, check_number


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
