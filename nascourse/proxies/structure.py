"""Data-free proxies of the network's weights and size (chapter 05): synflow, l2_norm,
params and flops.

None of them looks at the images: synflow uses an all-ones input, the others only the
weights or the shapes. params and flops are the baselines every proxy should beat.
"""

from __future__ import annotations

import math

from nascourse.proxies.passes import Passes, ProxyError
from nascourse.proxies.registry import TableUnit, per_million, proxy


def log_or_zero(value: float) -> float:
    """The natural logarithm of a synflow value, and 0 for a synflow of 0 (no path carries
    signal, so there is no logarithm; 0 is what NAS-Bench-Suite-Zero's table holds)."""
    return math.log(value) if value > 0 else 0.0


@proxy("synflow", needs=("synflow",), paper="tanaka2020synflow", family="weights", uses_images=False,
       table=TableUnit("natural log", log_or_zero))
def synflow(p: Passes) -> float:
    """Synaptic flow: sum over weights of |w * dR/dw|, R = 1^T (prod_l |W_l|) 1 (Tanaka et
    al., 2020).

    R is the sum of the outputs of the network with every parameter replaced by its
    absolute value, BatchNorm bypassed and an all-ones input of one image, in float64 (the
    values reach 1e50 on NAS-Bench-201). The result is the raw sum; NAS-Bench-Suite-Zero
    stores its natural logarithm (see :func:`nascourse.proxies.table_units`).
    """
    total = sum(t.abs().sum().item() for t in p.synflow.terms)
    if not math.isfinite(total):
        raise ProxyError("synflow overflowed float64 for this network; its weights are too large "
                         "or it is too deep for the raw score")
    return total


@proxy("l2_norm", needs=("weights",), paper="krishnakumar2022nasbenchsuitezero", family="weights",
       uses_images=False)
def l2_norm(p: Passes) -> float:
    """Sum over convolution and linear layers of the Euclidean norm of the weights,
    sum_l ||W_l||_2 (a baseline of NAS-Bench-Suite-Zero)."""
    return sum(w.double().norm().item() for w in p.weights)


@proxy("params", needs=("weights",), paper="krishnakumar2022nasbenchsuitezero", family="weights",
       uses_images=False, table=TableUnit("millions", per_million))
def params(p: Passes) -> float:
    """Number of parameters (all of them, BatchNorm scales and shifts included)."""
    return float(p.num_params)


@proxy("flops", needs=("flops",), paper="krishnakumar2022nasbenchsuitezero", family="weights",
       uses_images=False, table=TableUnit("millions (MFLOPs)", per_million))
def flops(p: Passes) -> float:
    """Operations of one forward pass of one input, counted as torchstat counts them (the
    tool behind NAS-Bench-Suite-Zero's column).

    Convolutions and linear layers count multiply-adds once (no factor 2, linear biases
    ignored), BatchNorm two operations per element, ReLU one, pooling k^2 per output, and
    adaptive pooling (h+1)(w+1) per window, an off-by-one of torchstat kept for equality.
    """
    return float(p.flops)
