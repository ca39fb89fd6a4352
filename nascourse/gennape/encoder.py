"""The graph encoder of GENNAPE: a message-passing network that maps a computational graph
to a fixed-length embedding (chapter 08, section on the encoder).

Each layer updates a node from its own state and from the mean of its predecessors' and,
separately, its successors' states, so the direction of the data flow is kept:

    h_v <- h_v + ReLU(LayerNorm(W_self h_v + W_in mean_{u -> v} h_u + W_out mean_{v -> w} h_w)).

This is the k-GNN ("GraphConv") update that the GENNAPE authors use, with the two
directions separated and a residual connection. The graph embedding averages each layer's
node states over the graph (so that it sees patterns of every radius), concatenates the
averages and maps them linearly to ``embedding`` dimensions. The neighbour means are sparse
matrix products, which are fast on a CPU.
"""

from __future__ import annotations

import math
from typing import Callable

import numpy as np
import torch
from torch import nn

from nascourse._checks import check_array, check_int, check_type
from nascourse.gennape.graphs import NUMERIC_FEATURES, OP_TYPES, GraphBatch
from nascourse.devices import default_device

#: Node features the encoder reads (see :func:`nascourse.gennape.graphs.node_features`).
IN_FEATURES: int = len(OP_TYPES) + len(NUMERIC_FEATURES)


def mean_operator(rows: torch.Tensor, cols: torch.Tensor, n_rows: int, n_cols: int) -> torch.Tensor:
    """The sparse ``n_rows x n_cols`` matrix that averages, for each row ``r``, the columns
    ``c`` of the pairs ``(r, c)``: multiplying it with node states takes group means."""
    count = torch.zeros(n_rows, device=rows.device).index_add_(0, rows, torch.ones(len(rows), device=rows.device))
    values = 1.0 / count.clamp(min=1)[rows]
    return torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (n_rows, n_cols),
                                   check_invariants=False).coalesce()


class DirectedGraphConv(nn.Module):
    """One message-passing layer (see the module docstring)."""

    def __init__(self, hidden: int):
        super().__init__()
        self.self_weight = nn.Linear(hidden, hidden)
        self.in_weight = nn.Linear(hidden, hidden, bias=False)
        self.out_weight = nn.Linear(hidden, hidden, bias=False)
        self.norm = nn.LayerNorm(hidden)

    def forward(self, h: torch.Tensor, from_preds: torch.Tensor, from_succs: torch.Tensor) -> torch.Tensor:
        """``from_preds`` and ``from_succs`` are the sparse mean operators over predecessors
        and successors (see :func:`mean_operator`)."""
        update = (self.self_weight(h) + self.in_weight(torch.sparse.mm(from_preds, h))
                  + self.out_weight(torch.sparse.mm(from_succs, h)))
        return h + torch.relu(self.norm(update))


class GraphEncoder(nn.Module):
    """Computational graph -> embedding: an input layer, ``layers`` message-passing layers of
    width ``hidden``, the mean over each graph's nodes of every layer's states (input layer
    included), and a linear map to ``embedding`` dimensions."""

    def __init__(self, hidden: int = 32, layers: int = 3, embedding: int = 32, in_features: int = IN_FEATURES):
        super().__init__()
        self.hidden = check_int("hidden", hidden)
        self.embedding = check_int("embedding", embedding)
        check_int("layers", layers)
        self.input = nn.Linear(check_int("in_features", in_features), hidden)
        self.layers = nn.ModuleList(DirectedGraphConv(hidden) for _ in range(layers))
        self.readout = nn.Linear((layers + 1) * hidden, embedding)

    def forward(self, batch: GraphBatch) -> torch.Tensor:
        check_type("the batch of GraphEncoder", batch, GraphBatch, "a GraphBatch (from batch_graphs)")
        n = len(batch.x)
        source, target = batch.edge_index
        from_preds = mean_operator(target, source, n, n)
        from_succs = mean_operator(source, target, n, n)
        pool = mean_operator(batch.graph, torch.arange(n, device=batch.x.device), batch.num_graphs, n)
        states = [torch.relu(self.input(batch.x))]
        for layer in self.layers:
            states.append(layer(states[-1], from_preds, from_succs))
        return self.readout(torch.sparse.mm(pool, torch.cat(states, dim=1)))


def torch_generator(seed: int | np.random.Generator) -> torch.Generator:
    """A CPU ``torch.Generator`` seeded with the int ``seed`` (it draws the same numbers as
    torch's global generator after ``torch.manual_seed(seed)``), or with a seed drawn from
    the numpy Generator ``seed``."""
    if isinstance(seed, np.random.Generator):
        seed = int(seed.integers(2 ** 63))
    return torch.Generator().manual_seed(check_int("seed", seed, minimum=0))


def init_parameters(module: nn.Module, generator: torch.Generator) -> nn.Module:
    """Draw the weights of ``module`` from ``generator``, layer by layer in registration
    order, as torch's defaults do: each ``nn.Linear`` Kaiming-uniform weights and biases
    uniform in +-1/sqrt(fan_in); each ``nn.LayerNorm`` ones and zeros. Returns ``module``."""
    with torch.no_grad():
        for layer in module.modules():
            if isinstance(layer, nn.Linear):
                nn.init.kaiming_uniform_(layer.weight, a=math.sqrt(5), generator=generator)
                if layer.bias is not None:
                    bound = 1 / math.sqrt(layer.in_features) if layer.in_features > 0 else 0.0
                    nn.init.uniform_(layer.bias, -bound, bound, generator=generator)
            elif isinstance(layer, nn.LayerNorm):
                layer.reset_parameters()
            elif next(layer.parameters(recurse=False), None) is not None:
                raise TypeError(f"init_parameters draws nn.Linear and nn.LayerNorm weights only, "
                                f"not those of a {type(layer).__name__}")
    return module


def seeded_module(build: Callable[[], nn.Module], seed: int | np.random.Generator,
                  device: torch.device | str | None = None) -> nn.Module:
    """``build()`` with its weights drawn from :func:`torch_generator` ``(seed)`` (the same
    weights as ``torch.manual_seed(seed); build()``, but torch's global generator is never
    touched), on ``device`` (default: :func:`nascourse.devices.default_device`). The module
    is built without weights (on the ``meta`` device), then given them."""
    with torch.device("meta"):
        module = build()
    module = init_parameters(module.to_empty(device="cpu"), torch_generator(seed))
    return module.to(device or default_device())


def make_encoder(seed: int | np.random.Generator, device: torch.device | None = None, **kwargs) -> GraphEncoder:
    """A :class:`GraphEncoder` (``kwargs`` as for it) with weights drawn from ``seed``, on
    ``device`` (default: :func:`nascourse.devices.default_device`)."""
    return seeded_module(lambda: GraphEncoder(**kwargs), seed, device)


@torch.no_grad()
def embed(encoder: GraphEncoder, batch: GraphBatch) -> np.ndarray:
    """The embeddings of every graph of ``batch`` as a numpy array (graphs x embedding)."""
    device = next(encoder.parameters()).device
    was_training = encoder.training
    encoder.eval()
    try:
        return encoder(batch.to(device)).cpu().numpy()
    finally:
        encoder.train(was_training)


def train_regression(encoder: GraphEncoder, batch: GraphBatch, y, epochs: int = 100, batch_size: int = 64,
                     lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Train ``encoder`` in place, with a linear head, to regress the labels ``y`` (one per
    graph of ``batch``, already standardised) by mean squared error: the supervised
    alternative to contrastive pre-training. Returns the mean loss of each epoch."""
    y = check_array("y", y, ndim=1)
    if len(y) != batch.num_graphs:
        raise ValueError(f"y must hold one finite label per graph ({batch.num_graphs}), got {len(y)}")
    target = torch.as_tensor(y.astype(np.float32), device=next(encoder.parameters()).device)

    def loss(outputs: torch.Tensor, chunk: np.ndarray) -> torch.Tensor:
        return nn.functional.mse_loss(outputs.squeeze(1), target[chunk])

    return train_with_head(encoder, batch, lambda: nn.Linear(encoder.embedding, 1), loss, epochs, batch_size,
                           lr, seed)


def train_with_head(encoder: GraphEncoder, batch: GraphBatch, make_head: Callable[[], nn.Module],
                    loss: Callable[[torch.Tensor, np.ndarray], torch.Tensor], epochs: int, batch_size: int,
                    lr: float, seed: int, min_chunk: int = 1) -> list[float]:
    """The training loop of both ways to train an encoder: ``encoder`` (in place) and a new
    head from ``make_head`` (weights drawn from ``seed``, see :func:`seeded_module`), with Adam, on
    mini-batches of ``batch_size`` graphs shuffled by ``seed``. ``loss(outputs, chunk)`` is
    the loss of the head's ``outputs`` for the graphs at positions ``chunk``; a last
    mini-batch smaller than ``min_chunk`` joins the one before. Returns the mean loss of
    each epoch; the encoder is left in eval mode."""
    epochs, batch_size = check_int("epochs", epochs), check_int("batch_size", batch_size)
    device = next(encoder.parameters()).device
    head = seeded_module(make_head, seed, device)
    optimiser = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=lr)
    rng = np.random.default_rng(seed)
    data = batch.to(device)
    history: list[float] = []
    encoder.train()
    for _ in range(epochs):
        losses = []
        for chunk in _chunks(rng.permutation(batch.num_graphs), batch_size, min_chunk):
            value = loss(head(encoder(data.subset(chunk))), chunk)
            optimiser.zero_grad()
            value.backward()
            optimiser.step()
            losses.append(value.item())
        history.append(float(np.mean(losses)))
    encoder.eval()
    return history


def _chunks(order: np.ndarray, size: int, min_chunk: int) -> list[np.ndarray]:
    """Consecutive slices of ``order`` of ``size`` items; a last slice shorter than
    ``min_chunk`` is merged into the one before."""
    chunks = [order[i:i + size] for i in range(0, len(order), size)]
    if len(chunks) > 1 and len(chunks[-1]) < min_chunk:
        chunks[-2] = np.concatenate([chunks[-2], chunks.pop()])
    return chunks
