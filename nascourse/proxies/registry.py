"""The registry of zero-cost proxies (chapter 05): a decorator that records, for each proxy,
the function that computes it, the shared passes it reads, and the paper it comes from.

A proxy is a small function ``f(passes) -> float`` of a :class:`~nascourse.proxies.passes.Passes`
object, which runs the forward and backward passes that several proxies share. Adding one
takes the function and one decorator line::

    @proxy("my_proxy", needs=("gradients",), paper="key2024", family="gradient", uses_labels=True)
    def my_proxy(p: Passes) -> float:          # its docstring's first line: the summary
        return sum(g.abs().sum().item() for g in p.main.grads)

The decorator adds a :class:`Proxy` record to :data:`REGISTRY` (a
:class:`nascourse.registry.Registry`); :func:`nascourse.proxies.score` looks names up
there, asks for the union of the passes they need (:data:`PASSES`), and calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, NamedTuple

from nascourse._checks import check_bool, check_type
from nascourse.proxies.passes import PASSES, check_needs
from nascourse.registry import Registry


class TableUnit(NamedTuple):
    """How NAS-Bench-Suite-Zero's table stores a proxy that it does not store as computed."""

    unit: str                           # e.g. "millions"
    convert: Callable[[float], float]   # our value -> the table's


def per_million(value: float) -> float:
    """``value`` in millions."""
    return value / 1e6


@dataclass(frozen=True)
class Proxy:
    """One registered proxy: its function and what the chapter's table says about it."""

    name: str
    compute: Callable[..., float]
    needs: frozenset[str]
    paper: str            # BibTeX key in chapters/references.bib
    uses_images: bool     # does the value depend on the pixels of the batch?
    uses_labels: bool     # does it depend on the targets?
    family: str
    table: TableUnit | None = None   # None: the table stores the value as computed

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (self.compute.__doc__ or "").strip().splitlines()[0]


#: Proxy name -> :class:`Proxy`, filled by the :func:`proxy` decorator.
REGISTRY: Registry[Proxy] = Registry("proxy")


def proxy(name: str, *, needs: tuple[str, ...], paper: str, family: str, uses_images: bool = True,
          uses_labels: bool = False, table: TableUnit | None = None
          ) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register the decorated function as proxy ``name`` (a duplicate name is an error);
    ``needs`` names the passes it reads, from :data:`PASSES`; ``table`` says how
    NAS-Bench-Suite-Zero stores it, when not as computed."""
    check_type("a proxy name", name, str)
    check_type("paper", paper, str, "a BibTeX key (str)")
    check_type("family", family, str)
    check_type("table", table, (TableUnit, type(None)), "a TableUnit or None")
    record = dict(needs=check_needs(needs), paper=paper, family=family,
                  uses_images=check_bool("uses_images", uses_images),
                  uses_labels=check_bool("uses_labels", uses_labels), table=table)

    def register(fn: Callable[..., float]) -> Callable[..., float]:
        REGISTRY.add(name, Proxy(name=name, compute=fn, **record))
        return fn

    return register


def get(name: str) -> Proxy:
    """The registered proxy ``name``; a ValueError listing the valid names otherwise."""
    return REGISTRY.get(name)


__all__ = ["PASSES", "REGISTRY", "Proxy", "TableUnit", "get", "per_million", "proxy"]
