"""Proxies from the gradient of the loss on one mini-batch (chapter 05): snip, grad_norm,
plain, grasp and fisher.

All five come from pruning at initialisation, where a saliency is computed for every
weight (or channel) and the least salient are removed; as a zero-cost proxy the saliencies
are summed over the network. They share one forward and one backward pass (grasp adds one
more backward pass through the gradient). Weights are those of the convolution and linear
layers; the loss is the mean cross-entropy of the batch.
"""

from __future__ import annotations

import torch

from nascourse.proxies.passes import Passes
from nascourse.proxies.registry import proxy


@proxy("snip", needs=("gradients",), paper="lee2019snip", family="gradient", uses_labels=True)
def snip(p: Passes) -> float:
    """Connection sensitivity: sum over weights of |dL/dw * w| (Lee et al., 2019).

    SNIP multiplies each weight by a gate c_j = 1 and asks how much the loss changes with
    the gate, |dL/dc_j| = |w_j dL/dw_j| (Sec. 4.1 of the paper, before normalisation);
    the proxy is the sum over all weights.
    """
    main = p.main
    return sum((g * w).abs().sum().item() for w, g in zip(main.weights, main.grads))


@proxy("grad_norm", needs=("gradients",), paper="abdelfattah2021zerocost", family="gradient",
       uses_labels=True)
def grad_norm(p: Passes) -> float:
    """Sum over layers of the Euclidean norm of the loss gradient, sum_l ||dL/dW_l||_2
    (the gradient-norm baseline of Abdelfattah et al., 2021)."""
    return sum(g.norm().item() for g in p.main.grads)


@proxy("plain", needs=("gradients",), paper="abdelfattah2021zerocost", family="gradient",
       uses_labels=True)
def plain(p: Passes) -> float:
    """Sum over weights of dL/dw * w, with its sign (the "plain" baseline of Abdelfattah et
    al., 2021). Removing every weight changes the loss by about -sum(w * dL/dw) to first
    order, so plain is the negative of that change (chapter 05)."""
    main = p.main
    return sum((g * w).sum().item() for w, g in zip(main.weights, main.grads))


@proxy("grasp", needs=("hessian",), paper="wang2020grasp", family="gradient", uses_labels=True)
def grasp(p: Passes) -> float:
    """Gradient signal preservation: sum over weights of -w * (H g) (Wang et al., 2020).

    GraSP scores a weight by how removing it changes the gradient norm, S(-w) = -w ⊙ Hg,
    with H the Hessian of the loss and g its gradient; Hg is a Hessian-vector product, one
    extra backward pass through the gradient. The proxy sums S over all weights.
    """
    main = p.main
    return sum((-w * hg).sum().item() for w, hg in zip(main.weights, main.hessian_grad))


@proxy("fisher", needs=("fisher",), paper="theis2018fisher", family="gradient", uses_labels=True)
def fisher(p: Passes) -> float:
    """Fisher pruning saliency summed over channels (Theis et al., 2018; Turner et al., 2020).

    For channel c of the output a of a convolution or linear layer, the loss increase when
    the channel is removed is approximated by Delta_c = 1/(2N) sum_n (sum_{h,w} a_nchw
    dL/da_nchw)^2 over the N images of the batch. The proxy is the sum over all channels
    of all layers.
    """
    return float(sum(torch.sum(layer).item() for layer in p.main.fisher))
