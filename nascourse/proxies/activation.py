"""Proxies from the activations of an untrained network (chapter 05): nwot and zen.

nwot reads the binary on/off pattern of every ReLU on the real batch; zen feeds Gaussian
noise to a copy with Gaussian weights and measures how strongly a small perturbation of
the input is amplified, corrected by the scale of the BatchNorm statistics.
"""

from __future__ import annotations

import math

import numpy as np

from nascourse.proxies.passes import Passes, ProxyError
from nascourse.proxies.registry import proxy


@proxy("nwot", needs=("relu_codes",), paper="mellor2021naswot", family="activation")
def nwot(p: Passes) -> float:
    """NASWOT: log |K_H|, the log-determinant of the kernel of binary ReLU codes (Mellor et
    al., 2021).

    Every nn.ReLU maps image i to a binary code c_i (which units are active). K_H(i, j) =
    N_A - d_H(c_i, c_j) counts the units on which two images agree (N_A units, d_H the
    Hamming distance), summed over all ReLUs, computed in train mode as in the paper. A
    network that gives different images different codes has a kernel far from singular.
    """
    sign, logdet = np.linalg.slogdet(p.main.relu_kernel)
    if sign <= 0:
        raise ProxyError("nwot: the ReLU code kernel is singular (two images share all their "
                         "activation patterns, e.g. a network whose output ignores its input)")
    return float(logdet)


@proxy("zen", needs=("zen",), paper="lin2021zennas", family="activation", uses_images=False)
def zen(p: Passes) -> float:
    """Zen-score: log E||f(x) - f(x + 0.01 eps)||_F + sum_i log sigma_i (Lin et al., 2021).

    On a copy with N(0, 1) weights (BatchNorm scale 1, shift 0) in train mode, f is the
    feature map entering the last global pooling layer (the output, if there is none), x
    and eps are Gaussian with the batch's shape, and sigma_i is the square root of the
    mean batch variance that BatchNorm layer i divides by. Only the shape of the batch is
    used, and the draws come from a generator seeded with ``seed``. (The authors' code,
    and NAS-Bench-Suite-Zero, use the sum of absolute differences instead of the
    Frobenius norm, and BatchNorm running variances after two passes instead of the
    batch variances.)
    """
    gap, log_std = p.zen
    if not gap > 0:
        raise ProxyError("zen: the perturbed and unperturbed features are identical")
    return math.log(gap) + log_std
