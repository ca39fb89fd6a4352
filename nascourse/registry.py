"""Look-up by name, one way for the whole package.

A :class:`Registry` maps names to things of one kind (proxies, search strategies, one-shot
methods, predictor models, ...). A module creates one and registers each entry in one line,
as a decorator or a call::

    STRATEGIES = Registry("strategy")

    @STRATEGIES.register("random")
    def random_search(objective, budget, seed=0): ...

    STRATEGIES.get("random")        # the function
    STRATEGIES.get("randm")         # ValueError: unknown strategy 'randm'; valid names are [...]
    STRATEGIES.get(3)               # TypeError: a strategy name must be a str ...

A registry reads like a dict (``name in registry``, ``registry[name]``, iteration over the
names in registration order). Old names stay usable as aliases: they resolve, but are not
listed.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from typing import Callable, Generic, TypeVar

from nascourse._checks import check_type

T = TypeVar("T")


class UnknownNameError(KeyError, ValueError):
    """An unknown name: a ValueError for callers, a KeyError for the mapping protocol."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class Registry(Mapping[str, T], Generic[T]):
    """Names -> entries of one ``kind`` (used in error messages, e.g. ``"proxy"``)."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}
        self._aliases: dict[str, str] = {}

    def add(self, name: str, entry: T, aliases: tuple[str, ...] = ()) -> T:
        """Register ``entry`` under ``name`` (and under each alias); a name that is already
        taken is an error."""
        for key in (name, *aliases):
            check_type(f"a {self.kind} name", key, str)
            if not key or key in self._entries or key in self._aliases:
                raise ValueError(f"a {self.kind} named {key!r} is already registered" if key
                                 else f"a {self.kind} name must not be empty")
        self._entries[name] = entry
        for alias in aliases:
            self._aliases[alias] = name
        return entry

    def register(self, name: str, aliases: tuple[str, ...] = ()) -> Callable[[T], T]:
        """Decorator form of :meth:`add`; returns the decorated object unchanged."""
        def decorate(entry: T) -> T:
            self.add(name, entry, aliases)
            return entry
        return decorate

    def canonical(self, name: str) -> str:
        """The registered name that ``name`` (a name or an alias) stands for."""
        check_type(f"a {self.kind} name", name, str, f"a str, one of {list(self._entries)}")
        if name in self._entries:
            return name
        if name in self._aliases:
            return self._aliases[name]
        raise UnknownNameError(f"unknown {self.kind} {name!r}; valid names are {list(self._entries)}")

    def get(self, name: str) -> T:  # type: ignore[override]
        """The entry registered as ``name`` (or an alias of it)."""
        return self._entries[self.canonical(name)]

    def __getitem__(self, name: str) -> T:
        return self.get(name)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and (name in self._entries or name in self._aliases)

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @contextlib.contextmanager
    def scratch(self) -> Iterator["Registry[T]"]:
        """A block in which registrations are temporary: whatever is registered inside it
        is forgotten when it ends (tests and exercises use it to add a toy entry)::

            with STRATEGIES.scratch():
                STRATEGIES.add("toy", toy)
                ...                      # "toy" is found by name here
            # and not here
        """
        entries, aliases = dict(self._entries), dict(self._aliases)
        try:
            yield self
        finally:
            self._entries, self._aliases = entries, aliases

    @property
    def names(self) -> list[str]:
        """The registered names, in registration order (aliases left out)."""
        return list(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {self.names})"
