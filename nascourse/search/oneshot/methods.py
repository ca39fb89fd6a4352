"""The one-shot methods, looked up by name in :data:`METHODS`.

A method says how one training step of the supernet runs: which operations the forward
pass mixes or samples (:meth:`OneShotMethod.forward`), whether ``alpha`` gets an
architecture step on the validation batch before each weight step (``trains_alpha``),
whether the one-step unrolled gradient applies (``second_order``) and whether it samples
with an annealed temperature (``uses_temperature``), and what, besides the cross-entropy
of the validation batch, the architecture loss holds (:meth:`OneShotMethod.arch_penalty`,
nothing by default). The search loop (:func:`nascourse.search.oneshot.loop.run_search`)
does the rest. A method's options (``run_search(..., options={...})``) are the keyword
arguments of its class. A new method is one class and one line::

    @METHODS.register("uniform")
    class Uniform(OneShotMethod):
        trains_alpha = False
        def forward(self, net, x, tau, generator):
            return net(x, weights=torch.full_like(net.alpha, 1 / NUM_OPS))
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from typing import Any, Sequence

import torch
import torch.nn.functional as F

from nascourse._checks import check_choice, check_number, check_type
from nascourse.nn.supernet import NUM_EDGES, NUM_OPS, NB201Supernet
from nascourse.registry import Registry


class OneShotMethod:
    """How a one-shot method trains the supernet; subclass it and register the subclass in
    :data:`METHODS`. The class attributes describe the method to the search loop."""

    #: an architecture step (Adam on ``alpha``, validation batch) before every weight step
    trains_alpha: bool = True
    #: ``order=2`` (the finite-difference unrolled gradient, :func:`second_order_arch_grad`) applies
    second_order: bool = False
    #: the forward pass samples with a temperature, annealed over the run and recorded as ``tau``
    uses_temperature: bool = False

    def forward(self, net: NB201Supernet, x: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
        """The supernet's logits on ``x`` in one step of the method (``tau``: the epoch's
        temperature; ``generator``: the run's sampler, for methods that draw paths)."""
        raise NotImplementedError

    def arch_penalty(self, net: NB201Supernet) -> torch.Tensor | None:
        """A term added to the architecture loss (the validation cross-entropy), a
        differentiable function of ``net.alpha``; ``None`` (the default) for none. The
        loop adds its gradient to that of the cross-entropy, in both orders, and records
        its mean over the epoch as ``arch_penalty``."""
        return None


#: The one-shot methods that train a supernet with :func:`~nascourse.search.oneshot.loop.run_search`.
METHODS: Registry[type[OneShotMethod]] = Registry("one-shot method")


@METHODS.register("darts")
class DARTS(OneShotMethod):
    """DARTS (Liu et al. 2019): every edge mixes all operations with ``softmax(alpha)``."""

    second_order = True

    def forward(self, net: NB201Supernet, x: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
        return net(x)


@METHODS.register("gdas")
class GDAS(OneShotMethod):
    """GDAS (Dong & Yang 2019): one path per step, drawn with the straight-through
    Gumbel-softmax (:func:`gumbel_path`)."""

    uses_temperature = True

    def forward(self, net: NB201Supernet, x: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
        weights, path = gumbel_path(net.alpha, tau, generator)
        return net(x, weights=weights, cell=path)


@METHODS.register("rsws")
class RandomWeightSharing(OneShotMethod):
    """Random search with weight sharing (Li & Talwalkar 2020): the weights train on one
    uniformly random cell per step; ``alpha`` is not trained."""

    trains_alpha = False

    def forward(self, net: NB201Supernet, x: torch.Tensor, tau: float, generator: torch.Generator) -> torch.Tensor:
        return net(x, cell=torch.randint(NUM_OPS, (NUM_EDGES,), generator=generator).tolist())


@METHODS.register("darts_latency")
class LatencyDARTS(DARTS):
    r"""DARTS with a latency penalty (hardware-aware, as FBNet and ProxylessNAS): the
    architecture loss is the validation cross-entropy plus ``latency_weight`` times the
    expected latency of the cell on the HW-NAS-Bench device ``target``,

    .. math:: \mathcal{L}_\alpha = \mathrm{CE} + \lambda\,\Big(b + \sum_e \sum_o
              \mathrm{softmax}(\alpha_e)_o\, t_{e,o}\Big),

    with the device's additive lookup table :math:`t` (milliseconds, ``none`` costing 0;
    :func:`~nascourse.search.multiobjective.latency.device_table`, the CIFAR-10 network).
    ``latency_weight`` (:math:`\lambda`, per millisecond) 0 is plain DARTS. With chapter
    04's settings on pixel3, a few thousandths trade little accuracy for latency, while a
    hundredth or more drives most edges to ``none`` (``scripts/hw_oneshot_sweep.py``)."""

    def __init__(self, latency_weight: float = 0.001, target: str = "pixel3"):
        from nascourse.search.multiobjective.hardware import DEVICES
        from nascourse.search.multiobjective.latency import device_table

        self.latency_weight = check_number("latency_weight", latency_weight)
        self.target = check_choice("target (the HW-NAS-Bench device)", target, DEVICES)
        table = device_table(self.target, "latency", "cifar10")
        self.base = table.base_
        #: the device's lookup table, edges by operations (ms), and its base cost
        self.costs = table.costs_.to_numpy().copy()

    def expected_latency(self, alpha: torch.Tensor) -> torch.Tensor:
        """The expected table latency (ms) of a cell drawn from ``softmax(alpha)``."""
        from nascourse.search.multiobjective.latency import expected_cost

        return expected_cost(alpha, self.costs, self.base)

    def arch_penalty(self, net: NB201Supernet) -> torch.Tensor:
        return self.latency_weight * self.expected_latency(net.alpha)


def method_instance(name: str, options: Mapping[str, Any] | None = None) -> OneShotMethod:
    """The method registered as ``name``, built with its ``options`` (keyword arguments of
    its class, checked there); an option the class does not take is a ValueError that
    lists those it takes."""
    cls = METHODS[name]
    options = dict(check_type("options", {} if options is None else options, Mapping, "a dict of method options"))
    accepted = [p for p in inspect.signature(cls).parameters if p not in ("self", "args", "kwargs")]
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for the one-shot method {name!r}; "
                         f"it takes {accepted if accepted else 'no options'}")
    return cls(**options)


def gumbel_path(alpha: torch.Tensor, tau: float, generator: torch.Generator) -> tuple[torch.Tensor, list[int]]:
    """One GDAS draw: straight-through Gumbel-softmax weights (one-hot values, gradients of
    ``softmax((alpha + g) / tau)``) and the chosen operation of every edge."""
    uniform = torch.rand(alpha.shape, generator=generator).clamp_(1e-10, 1 - 1e-10).to(alpha.device)
    probs = F.softmax((alpha - torch.log(-torch.log(uniform))) / tau, dim=-1)
    index = probs.argmax(dim=-1)
    hard = F.one_hot(index, alpha.shape[-1]).to(probs.dtype)
    return hard - probs.detach() + probs, index.tolist()


def gradients(loss: torch.Tensor, params: Sequence[torch.Tensor], **kwargs) -> list[torch.Tensor]:
    """The gradients of ``loss`` with respect to ``params`` (keyword arguments go to
    ``torch.autograd.grad``), zeros for the parameters the loss does not use."""
    grads = torch.autograd.grad(loss, params, allow_unused=True, **kwargs)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, grads)]


def second_order_arch_grad(net: NB201Supernet, x_train: torch.Tensor, y_train: torch.Tensor,
                           x_valid: torch.Tensor, y_valid: torch.Tensor, xi: float,
                           epsilon: float = 0.01) -> tuple[torch.Tensor, float]:
    """The DARTS second-order gradient of the validation loss with respect to ``alpha``.

    With one virtual step ``w' = w - xi * grad_w L_train(w, alpha)``, the gradient of
    ``L_val(w', alpha)`` is ``grad_alpha L_val(w', alpha) - xi * H v``, where
    ``v = grad_w' L_val(w', alpha)`` and ``H v`` (a mixed second derivative of
    ``L_train``) is approximated by central differences at ``w +- r v`` with
    ``r = epsilon / ||v||`` (Liu et al. 2019, eq. 7-8). The weights are restored on
    return. Returns the gradient and the validation loss at ``w'``.
    """
    xi = check_number("xi", xi)
    epsilon = check_number("epsilon", epsilon, positive=True)
    weights, alpha = net.weight_parameters(), net.alpha
    saved = [w.detach().clone() for w in weights]
    g_train = gradients(F.cross_entropy(net(x_train), y_train), weights)
    try:
        with torch.no_grad():
            for w, g in zip(weights, g_train):
                w.sub_(xi * g)
        valid_loss = F.cross_entropy(net(x_valid), y_valid)
        d_alpha, *v = gradients(valid_loss, [alpha, *weights])
        r = epsilon / torch.sqrt(sum((g * g).sum() for g in v)).clamp_min(1e-12)
        mixed = []
        for sign in (1.0, -1.0):
            with torch.no_grad():
                for w, w0, g in zip(weights, saved, v):
                    w.copy_(w0 + sign * r * g)
            mixed.append(gradients(F.cross_entropy(net(x_train), y_train), [alpha])[0])
    finally:
        with torch.no_grad():
            for w, w0 in zip(weights, saved):
                w.copy_(w0)
    return d_alpha - xi * (mixed[0] - mixed[1]) / (2 * r), valid_loss.item()
