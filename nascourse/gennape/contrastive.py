"""Contrastive pre-training of the graph encoder with structural positives (chapter 08,
section on contrastive learning).

SimCLR's NT-Xent loss pulls each sample towards one positive (another view of itself);
SupCon's pulls it towards every sample of its class. GENNAPE has no classes and no views:
it weights every other graph ``l`` of the batch by how similar its structure is to the
anchor ``i``, a weight ``alpha[i, l]`` computed from the Laplacian eigenvalues of the two
computational graphs:

    L = -(1/n) sum_i sum_{l != i} alpha[i, l] log( exp(s(z_i, z_l)/tau) / sum_{r != i} exp(s(z_i, z_r)/tau) )

with ``s`` the cosine similarity of the projected embeddings and ``tau`` a temperature. With
the rows of ``alpha`` summing to one, each anchor's term is the cross-entropy between the
structural neighbourhood ``alpha[i, :]`` and the neighbourhood the embeddings imply, so the
loss is lowest when graphs of similar structure get similar embeddings.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from nascourse._checks import check_int, check_number, check_type
from nascourse.gennape.encoder import GraphEncoder, train_with_head
from nascourse.gennape.graphs import GraphBatch


def structural_similarity(spectra: np.ndarray | torch.Tensor, bandwidth: float | None = None,
                          scale: float = 0.25) -> torch.Tensor:
    """The positive weights ``alpha`` (n x n, zero diagonal, rows summing to one) of graphs
    with Laplacian spectra ``spectra`` (n x k, see
    :func:`nascourse.gennape.graphs.laplacian_spectrum`).

    ``alpha[i, l]`` is proportional to ``exp(-d(i, l) / bandwidth)``, ``d`` the Euclidean
    distance between the spectra; the default bandwidth is ``scale`` (a quarter) times the
    median distance between distinct graphs of the batch. A smaller bandwidth concentrates
    each row on the nearest graphs, a larger one spreads it over the batch.
    """
    s = torch.as_tensor(np.asarray(spectra, dtype=np.float32) if not torch.is_tensor(spectra) else spectra,
                        dtype=torch.float32)
    if s.ndim != 2 or s.shape[0] < 2:
        raise ValueError(f"spectra must be a 2-D array with one row per graph (at least two), got shape {tuple(s.shape)}")
    if not torch.isfinite(s).all():
        raise ValueError("spectra must be finite")
    d = torch.cdist(s, s)
    off = ~torch.eye(len(s), dtype=torch.bool)
    if bandwidth is None:
        median = d[off].median()
        scale = check_number("scale", scale, positive=True)
        bandwidth = scale * float(median) if median > 0 else 1.0
    bandwidth = check_number("bandwidth", bandwidth, positive=True)
    logits = (-d / bandwidth).masked_fill(~off, -torch.inf)
    return torch.softmax(logits, dim=1)


def structural_nt_xent(z: torch.Tensor, alpha: torch.Tensor, temperature: float = 0.1) -> torch.Tensor:
    """The loss of the module docstring for embeddings ``z`` (n x d) and weights ``alpha``."""
    check_type("z", z, torch.Tensor)
    check_type("alpha", alpha, torch.Tensor)
    if z.ndim != 2 or len(z) < 2:
        raise ValueError(f"z must be a 2-D tensor with at least two rows, got shape {tuple(z.shape)}")
    if alpha.shape != (len(z), len(z)):
        raise ValueError(f"alpha must be a {len(z)} x {len(z)} tensor, got shape {tuple(alpha.shape)}")
    if (alpha < 0).any() or alpha.diagonal().abs().max() > 0:
        raise ValueError("alpha must be non-negative with a zero diagonal (a graph is not its own positive)")
    temperature = check_number("temperature", temperature, positive=True)
    z = nn.functional.normalize(z, dim=1)
    eye = torch.eye(len(z), dtype=torch.bool, device=z.device)
    logits = (z @ z.T / temperature).masked_fill(eye, -torch.inf)
    log_p = torch.log_softmax(logits, dim=1).masked_fill(eye, 0.0)
    return -(alpha.to(z.device) * log_p).sum(dim=1).mean()


class ProjectionHead(nn.Sequential):
    """The small MLP between the embedding and the loss (SimCLR's projection head)."""

    def __init__(self, embedding: int, out: int = 32):
        super().__init__(nn.Linear(embedding, embedding), nn.ReLU(), nn.Linear(embedding, out))


def pretrain(encoder: GraphEncoder, batch: GraphBatch, spectra: np.ndarray, epochs: int = 30,
             batch_size: int = 64, lr: float = 3e-3, temperature: float = 0.1, seed: int = 0,
             bandwidth_scale: float = 0.25) -> list[float]:
    """Train ``encoder`` in place with :func:`structural_nt_xent` on the graphs of ``batch``
    (shuffled mini-batches of ``batch_size`` graphs, Adam); returns the mean loss of each epoch.
    ``bandwidth_scale`` sets the bandwidth of the positive weights (the ``scale`` of
    :func:`structural_similarity`)."""
    n = batch.num_graphs
    if len(spectra) != n:
        raise ValueError(f"spectra has {len(spectra)} rows for {n} graphs")
    check_int("batch_size (a loss needs other graphs)", batch_size, minimum=2)
    device = next(encoder.parameters()).device
    spectra = np.asarray(spectra, dtype=np.float32)

    def loss(outputs: torch.Tensor, chunk: np.ndarray) -> torch.Tensor:
        alpha = structural_similarity(spectra[chunk], scale=bandwidth_scale)
        return structural_nt_xent(outputs, alpha.to(device), temperature)

    return train_with_head(encoder, batch, lambda: ProjectionHead(encoder.embedding), loss, epochs, batch_size,
                           lr, seed, min_chunk=2)
