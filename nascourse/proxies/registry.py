"""The registry of zero-cost proxies (chapter 05): a decorator that records, for each proxy,
the function that computes it, the shared passes it reads, and the paper it comes from.

A proxy is a small function ``f(passes) -> float`` of a :class:`~nascourse.proxies.passes.Passes`
object, which runs the forward and backward passes that several proxies share. The
decorator :func:`proxy` adds it to :data:`REGISTRY`; :func:`nascourse.proxies.score` looks
names up there, asks for the union of the passes they need, and calls them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

#: The passes a proxy can ask for (see :class:`nascourse.proxies.passes.Passes`).
PASSES: tuple[str, ...] = ("gradients", "hessian", "fisher", "jacobian", "relu_codes",
                           "synflow", "zen", "flops", "weights")


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

    @property
    def summary(self) -> str:
        """The first line of the function's docstring."""
        return (self.compute.__doc__ or "").strip().splitlines()[0]


#: Proxy name -> :class:`Proxy`, filled by the :func:`proxy` decorator.
REGISTRY: dict[str, Proxy] = {}


def proxy(name: str, *, needs: tuple[str, ...], paper: str, family: str, uses_images: bool = True,
          uses_labels: bool = False) -> Callable[[Callable[..., float]], Callable[..., float]]:
    """Register the decorated function as proxy ``name`` (a duplicate name is an error)."""
    unknown = set(needs) - set(PASSES)
    if unknown:
        raise ValueError(f"proxy {name!r} needs unknown passes {sorted(unknown)}; valid: {list(PASSES)}")

    def register(fn: Callable[..., float]) -> Callable[..., float]:
        if name in REGISTRY:
            raise KeyError(f"a proxy named {name!r} is already registered")
        REGISTRY[name] = Proxy(name, fn, frozenset(needs), paper, uses_images, uses_labels, family)
        return fn

    return register


def get(name: str) -> Proxy:
    """The registered proxy ``name``; a ValueError listing the valid names otherwise."""
    if not isinstance(name, str):
        raise TypeError(f"a proxy name must be a str, got {type(name).__name__} {name!r}")
    if name not in REGISTRY:
        raise ValueError(f"unknown proxy {name!r}; valid names are {sorted(REGISTRY)}")
    return REGISTRY[name]
