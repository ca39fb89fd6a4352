"""Proxies from the input Jacobian on one mini-batch (chapter 05): jacov and epe_nas.

The Jacobian here is one row per image, J_i = d(sum_k f_k(x_i)) / dx_i, flattened: how the
sum of the class scores moves with each pixel. A network that separates images well gives
them different, weakly correlated Jacobians. Both proxies read the same backward pass,
computed in train mode on the real batch.
"""

from __future__ import annotations

import numpy as np

from nascourse.proxies.passes import Passes, ProxyError
from nascourse.proxies.registry import proxy

#: The small constant k of both papers, which keeps the logarithms finite.
K = 1e-5


def _correlations(jac: np.ndarray, what: str) -> np.ndarray:
    if (jac.std(axis=1) == 0).any():
        raise ProxyError(f"{what}: an image has a constant input Jacobian (the output does not "
                         "depend on it), so the correlation matrix is undefined")
    return np.corrcoef(jac)


@proxy("jacov", needs=("jacobian",), paper="mellor2020jacov", family="jacobian")
def jacov(p: Passes) -> float:
    """Jacobian covariance: -sum_i [log(s_i + k) + 1/(s_i + k)] over the eigenvalues s_i of
    the correlation matrix of the images' Jacobians, k = 1e-5 (Mellor et al., 2020, the
    first version of "Neural architecture search without training").

    The sum is largest (-N for N images) when the correlation matrix is the identity and
    falls quickly as eigenvalues approach zero, i.e. as images get similar Jacobians.
    Eigenvalues come from the symmetric solver and are clipped at 0 against rounding.
    """
    eig = np.clip(np.linalg.eigvalsh(_correlations(p.main.jacobian, "jacov")), 0.0, None)
    return float(-np.sum(np.log(eig + K) + 1.0 / (eig + K)))


@proxy("epe_nas", needs=("jacobian",), paper="lopes2021epenas", family="jacobian", uses_labels=True)
def epe_nas(p: Passes) -> float:
    """EPE-NAS: per-class correlations of the Jacobians (Lopes et al., 2021).

    For each class c present at least twice in the batch, E_c = sum_ij log(|R_c,ij| + k),
    with R_c the correlation matrix of that class's Jacobians and k = 1e-5. With at most
    100 classes the score is sum_c |E_c|; with more, as in the authors' code, E_c is first
    divided by the number of images of class c and the score is
    sum_c sum_c' |E_c - E_c'| / (number of classes).
    """
    jac, labels = p.main.jacobian, p.targets.cpu().numpy()
    classes = [c for c in np.unique(labels) if (labels == c).sum() >= 2]
    if not classes:
        raise ProxyError("epe_nas needs at least two images of one class in the batch")
    n_classes = p.num_outputs
    energy = []
    for c in classes:
        corr = _correlations(jac[labels == c], "epe_nas")
        e = np.sum(np.log(np.abs(corr) + K))
        energy.append(e / len(corr) if n_classes > 100 else e)
    energy = np.array(energy)
    if n_classes <= 100:
        return float(np.abs(energy).sum())
    return float(np.abs(energy[:, None] - energy[None, :]).sum() / len(energy))
