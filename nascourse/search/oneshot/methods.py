"""The one-shot methods, looked up by name in :data:`METHODS`.

A method says how one training step of the supernet runs: which operations the forward
pass mixes or samples (:meth:`OneShotMethod.forward`), whether ``alpha`` gets an
architecture step on the validation batch before each weight step (``trains_alpha``),
whether the one-step unrolled gradient applies (``second_order``) and whether it samples
with an annealed temperature (``uses_temperature``). The search loop
(:func:`nascourse.search.oneshot.loop.run_search`) does the rest. A new method is one
class and one line::

    @METHODS.register("uniform")
    class Uniform(OneShotMethod):
        trains_alpha = False
        def forward(self, net, x, tau, generator):
            return net(x, weights=torch.full_like(net.alpha, 1 / NUM_OPS))
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn.functional as F

from nascourse._checks import check_number
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
