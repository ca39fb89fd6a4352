"""The registry helper: one way to look things up by name in the whole package."""

import pytest

from nascourse.registry import Registry, UnknownNameError


def test_register_get_and_list():
    things = Registry("widget")

    @things.register("round", aliases=("circle",))
    def round_widget():
        return "o"

    things.add("square", lambda: "[]")
    assert things.get("round") is round_widget and things["circle"] is round_widget
    assert things.names == ["round", "square"] and list(things) == ["round", "square"] and len(things) == 2
    assert "circle" in things and "round" in things and "oval" not in things and 3 not in things
    assert things.canonical("circle") == "round"
    assert dict(things)["square"]() == "[]"


def test_unknown_names_and_wrong_types_are_clear_errors():
    things = Registry("widget")
    things.add("round", 1)
    with pytest.raises(ValueError, match=r"unknown widget 'oval'; valid names are \['round'\]"):
        things.get("oval")
    with pytest.raises(KeyError):          # the mapping protocol
        things["oval"]
    with pytest.raises(TypeError, match=r"a widget name must be a str, one of \['round'\], got int 3"):
        things.get(3)
    assert str(UnknownNameError("plain message")) == "plain message"


def test_a_name_is_registered_once():
    things = Registry("widget")
    things.add("round", 1, aliases=("circle",))
    for name in ("round", "circle"):
        with pytest.raises(ValueError, match="already registered"):
            things.add(name, 2)
    with pytest.raises(ValueError, match="must not be empty"):
        things.add("", 2)
    with pytest.raises(TypeError, match="a widget name must be a str"):
        things.add(None, 2)
    assert things.names == ["round"]


def test_scratch_forgets_what_was_registered_inside_it():
    things = Registry("widget")
    things.add("round", 1)
    with things.scratch() as same:
        assert same is things
        things.add("square", 2, aliases=("box",))
        assert things.names == ["round", "square"] and things["box"] == 2
    assert things.names == ["round"] and "box" not in things
    with pytest.raises(RuntimeError):
        with things.scratch():
            things.add("oval", 3)
            raise RuntimeError("the block fails")
    assert "oval" not in things
