"""Zero-cost proxies: score an untrained network from one mini-batch (chapter 05).

Thirteen proxies, one small documented function each, registered by name::

    from nascourse import proxies
    proxies.NAMES                                    # all of them
    proxies.score(net, images, labels)               # {name: float}, all by default
    proxies.score(net, images, labels, ["synflow", "nwot"])

:func:`score` never changes ``net`` (weights, BatchNorm statistics, train/eval mode and
hooks are as before: every pass runs on a private copy), returns finite floats or raises
:class:`ProxyError`, and computes each shared pass once: all thirteen cost one forward pass
on the batch, three backward passes through it, and a few cheap extra passes
(``scripts/bench_proxies.py`` measures the ratio). The families live in
:mod:`~nascourse.proxies.gradient`, :mod:`~nascourse.proxies.jacobian`,
:mod:`~nascourse.proxies.activation` and :mod:`~nascourse.proxies.structure`; the shared
passes in :mod:`~nascourse.proxies.passes`; the registry in :mod:`~nascourse.proxies.registry`.
"""

from __future__ import annotations

import math
from typing import Iterable

import torch
from torch import nn

from nascourse.proxies import activation, gradient, jacobian, structure  # noqa: F401  (registers)
from nascourse.proxies.passes import Passes, ProxyError
from nascourse.proxies.registry import REGISTRY, Proxy, get, proxy

#: Every implemented proxy, in alphabetical order (the order of NAS-Bench-Suite-Zero's table).
NAMES: tuple[str, ...] = tuple(sorted(REGISTRY))

#: How NAS-Bench-Suite-Zero stores a value we compute: params and flops in millions,
#: synflow as its natural logarithm; the other proxies as they are. (Read from the
#: registry: each proxy's ``table`` field.)
TABLE_UNITS: dict[str, str] = {p.name: p.table.unit for p in REGISTRY.values() if p.table}


def _names(names: str | Iterable[str] | None) -> list[str]:
    if names is None:
        return list(NAMES)
    names = [names] if isinstance(names, str) else list(names)
    if not names:
        raise ValueError(f"names is empty; give proxy names from {list(NAMES)} or None for all")
    for name in names:
        get(name)                  # a clear error for an unknown name
    return list(dict.fromkeys(names))


def score(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None = None,
          names: str | Iterable[str] | None = None, seed: int = 0) -> dict[str, float]:
    """The zero-cost proxies ``names`` (default: all) of ``net`` on one batch.

    ``inputs`` is a float tensor ``(batch, ...)`` and ``targets`` the integer class labels,
    one per input (needed by the proxies that use a loss or the labels). Shared passes are
    computed once. ``seed`` seeds zen's Gaussian draws (from a private generator). Raises
    ValueError or TypeError for bad arguments and :class:`ProxyError` when a proxy has no
    finite value for this network (say, nwot on a network whose output ignores its input).

    **Scoring grasp moves the other values by float32 rounding.** When grasp is among
    ``names``, the shared pass on the batch runs in the default memory layout with
    stride-1 average pooling computed as window sums, which makes grasp's double backward
    several times cheaper on a CPU; without grasp, it runs in the batch's own layout with
    torch's pooling kernels. Both give the same values up to rounding, so the proxies read
    from that pass (snip, grad_norm, plain, fisher, jacov, epe_nas, nwot) can differ
    slightly between a call with grasp and one without; :func:`grasp_gap` measures it. On
    a small NAS-Bench-201 network the relative gap stays below 1e-4 in float32 and 1e-10
    in float64 (``tests/test_proxies.py`` asserts both). It grows with the network: on the
    chapter's networks (C=16, N=5, 64 channels-last CIFAR-10 images) it was between 8e-4
    and 6e-3 on four cells, largest for epe_nas (logarithms of small correlations) and
    plain (a signed sum that nearly cancels); ``python scripts/bench_proxies.py
    --grasp-gap`` prints it cell by cell. Compare values scored with the same ``names``.
    """
    names = _names(names)
    needs = frozenset().union(*(REGISTRY[n].needs for n in names))
    passes = Passes(net, inputs, targets, needs, seed=seed)
    out = {}
    for name in names:
        value = float(REGISTRY[name].compute(passes))
        if not math.isfinite(value):
            raise ProxyError(f"proxy {name!r} is not finite ({value}) for this network and batch")
        out[name] = value
    return out


def grasp_gap(net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor,
              names: Iterable[str] | None = None, seed: int = 0) -> dict[str, float]:
    """For each proxy of ``names`` (default: all but grasp), the relative difference
    |a - b| / max(|a|, |b|) between its value scored without grasp (a) and with grasp in
    the same call (b): the rounding that the grasp-specific form of the shared pass
    introduces (see :func:`score`); 0 when the two are equal."""
    names = [n for n in _names(names) if n != "grasp"]
    alone = score(net, inputs, targets, names, seed=seed)
    with_grasp = score(net, inputs, targets, [*names, "grasp"], seed=seed)
    gaps = {}
    for name in names:
        a, b = alone[name], with_grasp[name]
        gaps[name] = abs(a - b) / max(abs(a), abs(b)) if a != b else 0.0
    return gaps


def table_units(scores: dict[str, float]) -> dict[str, float]:
    """``scores`` converted to the units of NAS-Bench-Suite-Zero's tables (:data:`TABLE_UNITS`);
    other entries (proxies stored as computed, or other names) are copied unchanged.

    A synflow of 0 (no path carries signal) has no logarithm; it maps to 0, which is what
    the table holds for such a cell.
    """
    out = dict(scores)
    for name, value in out.items():
        table = REGISTRY[name].table if name in REGISTRY else None
        if table is not None:
            out[name] = table.convert(value)
    return out


__all__ = ["NAMES", "REGISTRY", "TABLE_UNITS", "Passes", "Proxy", "ProxyError", "get", "grasp_gap",
           "proxy", "score", "table_units"]
