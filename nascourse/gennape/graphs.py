"""Computational graphs of any torch network, traced with ``torch.fx`` (chapter 08, first
section).

A cell encoding (an adjacency matrix and a list of operation names) only means something
inside its own search space. A *computational graph* (CG) does not depend on a space: its
nodes are the primitive operations the network actually runs (a convolution, a batch norm,
a ReLU, an addition, a concatenation, ...) with their attributes (kernel size, stride,
channels, feature-map size), and its edges are the data flow. :func:`trace` builds it by
symbolic tracing (``torch.fx``) and one forward pass that records every tensor's shape.

The traced graph is then *simplified* so that what the network computes, not how its
Python code is written, decides the graph: identities and reshapes that change nothing
are contracted, a branch multiplied by zero (NAS-Bench-201's ``none``) is removed with
everything that only feeds it, an addition left with one input is contracted, and
operations that cannot reach the output are dropped.

:func:`node_features` turns the node attributes into the numeric matrix the encoder
reads; :func:`batch_graphs` stacks many graphs into one batch of tensors;
:func:`laplacian_spectrum` gives the eigenvalues the contrastive loss compares;
:func:`graph_flops` counts multiply-accumulates; :func:`draw_graph` draws a small CG.

:func:`trace_darts` is a fast path for the DARTS networks of :mod:`nascourse.nn.darts`
(the NAS-Bench-301 family): it writes down, from the genotype alone, the graph that
:func:`trace` records for ``darts_network(genotype, ...)``, node for node, without building
or running the network, about ten times faster (the tests check the two agree).
"""

from __future__ import annotations

import math
import operator
from dataclasses import dataclass
from functools import lru_cache, partial
from typing import Callable, Sequence

import networkx as nx
import numpy as np
import torch
from torch import fx, nn

from nascourse._checks import check_int, check_number, check_sequence, check_type
from nascourse.registry import Registry

#: The primitive operation types a CG node can have, in the order of the one-hot features.
OP_TYPES: tuple[str, ...] = ("input", "output", "conv", "bn", "relu", "avgpool", "maxpool",
                             "global_avgpool", "linear", "add", "mul", "concat", "slice",
                             "flatten", "other")

_MODULE_TYPES: tuple[tuple[type, str], ...] = (
    (nn.Conv2d, "conv"), (nn.BatchNorm2d, "bn"), (nn.ReLU, "relu"), (nn.AvgPool2d, "avgpool"),
    (nn.MaxPool2d, "maxpool"), (nn.AdaptiveAvgPool2d, "global_avgpool"), (nn.Linear, "linear"),
    (nn.Flatten, "flatten"), (nn.Identity, "identity"), (nn.Dropout, "identity"),
)
_FUNCTION_TYPES: dict = {
    operator.add: "add", operator.iadd: "add", torch.add: "add", operator.mul: "mul", torch.mul: "mul",
    torch.cat: "concat", torch.concat: "concat", operator.getitem: "slice", torch.flatten: "flatten",
    torch.relu: "relu", nn.functional.relu: "relu",
}
_METHOD_TYPES: dict[str, str] = {"add": "add", "add_": "add", "mul": "mul", "mul_": "mul",
                                 "flatten": "flatten", "view": "flatten", "reshape": "flatten",
                                 "relu": "relu", "relu_": "relu"}
#: Node features besides the one-hot type: kernel extent (the kernel size, or
#: ``dilation * (kernel - 1) + 1`` for a dilated convolution), stride > 1, grouped
#: (e.g. depthwise) convolution, log2 of input and output channels, log2 of the output
#: feature-map side.
NUMERIC_FEATURES: tuple[str, ...] = ("kernel", "strided", "grouped", "log_c_in", "log_c_out", "log_hw")


def _as_pair(value) -> int:
    return int(value[0]) if isinstance(value, (tuple, list)) else int(value)


def _module_attrs(module: nn.Module) -> tuple[str, dict]:
    for cls, kind in _MODULE_TYPES:
        if isinstance(module, cls):
            break
    else:
        return "other", {"target": type(module).__name__}
    attrs: dict = {}
    if kind == "conv":
        attrs = {"kernel": _as_pair(module.kernel_size), "stride": _as_pair(module.stride),
                 "groups": int(module.groups)}
        if _as_pair(module.dilation) != 1:
            attrs["dilation"] = _as_pair(module.dilation)
    elif kind in ("avgpool", "maxpool"):
        attrs = {"kernel": _as_pair(module.kernel_size), "stride": _as_pair(module.stride or module.kernel_size)}
    return kind, attrs


def _is_zero_scalar(node: fx.Node) -> bool:
    """True for ``x * 0`` (NAS-Bench-201's ``none`` operation)."""
    return any(isinstance(a, (int, float)) and a == 0 for a in node.args[1:2] + node.args[:1])


def _record_shapes(graph: fx.Graph, module: nn.Module, x: torch.Tensor) -> None:
    """Run ``graph`` (traced from ``module``) on ``x`` and store each tensor's shape in
    ``node.meta["shape"]``; a light interpreter that needs no GraphModule."""
    modules = dict(module.named_modules())
    env: dict[str, object] = {}

    def load(arg):
        return fx.node.map_arg(arg, lambda n: env[n.name])

    for node in graph.nodes:
        if node.op == "placeholder":
            result = x
        elif node.op == "call_module":
            result = modules[node.target](*load(node.args), **load(node.kwargs))
        elif node.op == "call_function":
            result = node.target(*load(node.args), **load(node.kwargs))
        elif node.op == "call_method":
            self_arg, *rest = load(node.args)
            result = getattr(self_arg, node.target)(*rest, **load(node.kwargs))
        elif node.op == "get_attr":
            result = module.get_submodule("") if not node.target else _get_attr(module, node.target)
        else:
            result = load(node.args[0])
        env[node.name] = result
        if isinstance(result, torch.Tensor):
            node.meta["shape"] = tuple(int(s) for s in result.shape)


def _get_attr(module: nn.Module, target: str):
    owner, _, name = target.rpartition(".")
    return getattr(module.get_submodule(owner), name)


def _shape(node: fx.Node) -> tuple[int, ...] | None:
    return node.meta.get("shape")


def _raw_graph(graph: fx.Graph, module: nn.Module) -> nx.DiGraph:
    g = nx.DiGraph()
    modules = dict(module.named_modules())
    for node in graph.nodes:
        attrs: dict = {"name": node.name}
        if node.op == "placeholder":
            kind = "input"
        elif node.op == "output":
            kind = "output"
        elif node.op == "call_module":
            kind, extra = _module_attrs(modules[node.target])
            attrs.update(extra)
        elif node.op == "call_function":
            kind = _FUNCTION_TYPES.get(node.target, "other")
        elif node.op == "call_method":
            kind = _METHOD_TYPES.get(node.target, "other")
        else:
            kind = "constant"
        if kind == "other" and "target" not in attrs:
            attrs["target"] = getattr(node.target, "__name__", str(node.target))
        shape = _shape(node)
        if shape is not None:
            attrs["shape"] = shape
        if kind == "mul" and _is_zero_scalar(node):
            kind = "zero"
        g.add_node(node.name, op=kind, **attrs)
        for source in node.all_input_nodes:
            g.add_edge(source.name, node.name)
    return g


def _contract(g: nx.DiGraph, v: str) -> None:
    """Remove ``v`` and join each of its predecessors to each of its successors."""
    for u in list(g.predecessors(v)):
        for w in list(g.successors(v)):
            g.add_edge(u, w)
    g.remove_node(v)


def _simplify(g: nx.DiGraph, inplace: bool = False) -> nx.DiGraph:
    if not inplace:
        g = g.copy()
    g.remove_nodes_from([v for v, d in g.nodes(data=True) if d["op"] == "constant"])
    inputs = [v for v, d in g.nodes(data=True) if d["op"] == "input"]
    output = next(v for v, d in g.nodes(data=True) if d["op"] == "output")
    # A node is constant (zero) when it multiplies by zero or when all its inputs are zero.
    zero: set[str] = set()
    for v in nx.topological_sort(g):
        preds = list(g.predecessors(v))
        if g.nodes[v]["op"] == "zero" or (preds and v != output and all(u in zero for u in preds)):
            zero.add(v)
    g.remove_nodes_from(zero)
    keep = set(inputs) | {output}
    for v in list(nx.topological_sort(g)):
        d = g.nodes[v]
        same_shape = d["op"] == "flatten" and all(g.nodes[u].get("shape") == d.get("shape") for u in g.predecessors(v))
        if v not in keep and (d["op"] == "identity" or same_shape or (d["op"] in ("add", "concat")
                                                                        and g.in_degree(v) == 1)):
            _contract(g, v)
    live = set(nx.ancestors(g, output)) | {output}
    fed = set().union(*(nx.descendants(g, v) | {v} for v in inputs))
    g.remove_nodes_from([v for v in list(g) if v not in live or v not in fed])
    return g


def _finish(g: nx.DiGraph) -> nx.DiGraph:
    """Relabel nodes 0..n-1 in topological order and fill in channels and sizes."""
    order = list(nx.topological_sort(g))
    out = nx.DiGraph()
    index = {v: i for i, v in enumerate(order)}
    for v in order:
        d = dict(g.nodes[v])
        shape = d.pop("shape", None)
        preds = [g.nodes[u].get("shape") for u in g.predecessors(v)]
        in_shape = next((s for s in preds if s is not None), shape)
        d["c_out"] = int(shape[1]) if shape is not None and len(shape) > 1 else 0
        d["c_in"] = int(in_shape[1]) if in_shape is not None and len(in_shape) > 1 else 0
        d["hw"] = int(shape[-1]) if shape is not None and len(shape) == 4 else 1
        d["hw_in"] = int(in_shape[-1]) if in_shape is not None and len(in_shape) == 4 else 1
        out.add_node(index[v], **d)
    out.add_edges_from((index[u], index[v]) for u, v in g.edges)
    return out


def check_input_shape(input_shape) -> tuple[int, ...]:
    """``input_shape`` as a tuple if it is a non-empty sequence of positive ints such as
    ``(1, 3, 32, 32)``."""
    shape = check_sequence("input_shape", input_shape, (int, np.integer), "positive ints such as (1, 3, 32, 32)",
                           min_length=1)
    return tuple(check_int(f"input_shape[{k}]", s) for k, s in enumerate(shape))


def trace(module: nn.Module, input_shape: Sequence[int] = (1, 3, 32, 32), simplify: bool = True) -> nx.DiGraph:
    """The computational graph of ``module`` for one input of shape ``input_shape``.

    Nodes are numbered ``0..n-1`` in topological order and carry ``op`` (one of
    :data:`OP_TYPES`), ``name`` (the fx node), ``c_in``, ``c_out``, ``hw_in``, ``hw`` (input
    and output channels and feature-map side) and, for convolutions and poolings,
    ``kernel`` and ``stride`` (and ``groups`` for convolutions, ``dilation`` for dilated
    ones). With ``simplify=False`` the
    graph is the fx graph as traced (see the module docstring for what simplifying does).
    The module is traced in evaluation mode and restored to its previous mode.
    """
    check_type("the module to trace", module, nn.Module, "a torch.nn.Module")
    input_shape = check_input_shape(input_shape)
    was_training = module.training
    module.eval()
    try:
        graph = fx.Tracer().trace(module)
        device = next((p.device for p in module.parameters()), torch.device("cpu"))
        with torch.no_grad():
            _record_shapes(graph, module, torch.zeros(tuple(input_shape), device=device))
    finally:
        module.train(was_training)
    g = _raw_graph(graph, module)
    return _finish(_simplify(g) if simplify else g)


class _DartsGraphWriter:
    """Writes the raw graph that :func:`_raw_graph` gives for a traced DARTS network: the
    same nodes (fx's names, types, attributes, shapes) and edges, in the same order."""

    def __init__(self) -> None:
        self.g = nx.DiGraph()
        self.counts: dict[str, int] = {}

    def node(self, name: str, op: str, shape: tuple[int, ...], inputs: Sequence[str], **attrs) -> str:
        self.g.add_node(name, op=op, name=name, **attrs, shape=shape)
        for source in inputs:
            self.g.add_edge(source, name)
        return name

    def function(self, base: str, op: str, shape: tuple[int, ...], inputs: Sequence[str]) -> str:
        """A call_function node, named as fx names them (``add``, ``add_1``, ...)."""
        k = self.counts.get(base, 0)
        self.counts[base] = k + 1
        return self.node(base if k == 0 else f"{base}_{k}", op, shape, inputs)

    def shape(self, name: str) -> tuple[int, ...]:
        return self.g.nodes[name]["shape"]

    def conv(self, name: str, x: str, c_out: int, kernel: int, stride: int = 1, groups: int = 1,
             dilation: int = 1) -> str:
        b, _, h, w = self.shape(x)
        pad = dilation * (kernel - 1) // 2
        side = [(n + 2 * pad - dilation * (kernel - 1) - 1) // stride + 1 for n in (h, w)]
        attrs = {"kernel": kernel, "stride": stride, "groups": groups}
        if dilation != 1:
            attrs["dilation"] = dilation
        return self.node(name, "conv", (b, c_out, *side), [x], **attrs)

    def same(self, name: str, op: str, x: str) -> str:
        return self.node(name, op, self.shape(x), [x])

    def pool(self, name: str, op: str, x: str, stride: int) -> str:
        b, c, h, w = self.shape(x)
        return self.node(name, op, (b, c, (h - 1) // stride + 1, (w - 1) // stride + 1), [x],
                         kernel=3, stride=stride)

    def relu_conv_bn(self, prefix: str, x: str, c_out: int) -> str:
        x = self.same(f"{prefix}_0", "relu", x)
        return self.same(f"{prefix}_2", "bn", self.conv(f"{prefix}_1", x, c_out, 1))

    def factorized_reduce(self, prefix: str, x: str, c_out: int) -> str:
        x = self.same(f"{prefix}_relu", "relu", x)
        a = self.conv(f"{prefix}_conv_1", x, c_out // 2, 1, stride=2)
        b_, c, h, w = self.shape(x)
        shifted = self.function("getitem", "slice", (b_, c, h - 1, w - 1), [x])
        b = self.conv(f"{prefix}_conv_2", shifted, c_out // 2, 1, stride=2)
        joined = self.function("cat", "concat", (*self.shape(a)[:1], c_out, *self.shape(a)[2:]), [a, b])
        return self.same(f"{prefix}_bn", "bn", joined)

    def op(self, prefix: str, name: str, x: str, c: int, stride: int) -> str:
        """The nodes of the DARTS operation ``name`` (see :data:`DARTS_OP_WRITERS`)."""
        return DARTS_OP_WRITERS[name](self, prefix, x, c, stride)

    def cell(self, prefix: str, cell, s0: str, s1: str, c: int, reduction: bool, reduction_prev: bool) -> str:
        from nascourse.spaces import darts

        states = [self.factorized_reduce(f"{prefix}_preprocess0", s0, c) if reduction_prev
                  else self.relu_conv_bn(f"{prefix}_preprocess0", s0, c),
                  self.relu_conv_bn(f"{prefix}_preprocess1", s1, c)]
        k = darts.INPUTS_PER_NODE
        for node in range(cell.num_nodes):
            terms = [self.op(f"{prefix}_ops_{k * node + i}", op, states[src], c,
                             2 if reduction and src < darts.NUM_CELL_INPUTS else 1)
                     for i, (op, src) in enumerate(cell.inputs(node))]
            total = terms[0]
            for term in terms[1:]:
                total = self.function("add", "add", self.shape(total), [total, term])
            states.append(total)
        b, _, h, w = self.shape(states[-1])
        return self.function("cat", "concat", (b, c * cell.num_nodes, h, w), states[darts.NUM_CELL_INPUTS:])


#: How :class:`_DartsGraphWriter` writes each DARTS operation: ``write(writer, prefix, x,
#: channels, stride)`` adds its nodes, named as ``torch.fx`` names those of
#: :mod:`nascourse.nn.darts`, and returns the last one.
DARTS_OP_WRITERS: Registry[Callable[..., str]] = Registry("DARTS operation")


@DARTS_OP_WRITERS.register("max_pool_3x3")
def _write_max_pool(w: _DartsGraphWriter, prefix: str, x: str, c: int, stride: int) -> str:
    return w.pool(prefix, "maxpool", x, stride)


@DARTS_OP_WRITERS.register("avg_pool_3x3")
def _write_avg_pool(w: _DartsGraphWriter, prefix: str, x: str, c: int, stride: int) -> str:
    return w.pool(prefix, "avgpool", x, stride)


@DARTS_OP_WRITERS.register("skip_connect")
def _write_skip(w: _DartsGraphWriter, prefix: str, x: str, c: int, stride: int) -> str:
    return w.same(prefix, "identity", x) if stride == 1 else w.factorized_reduce(prefix, x, c)


def _write_sep_conv(w: _DartsGraphWriter, prefix: str, x: str, c: int, stride: int, kernel: int) -> str:
    x = w.same(f"{prefix}_0", "relu", x)
    x = w.conv(f"{prefix}_2", w.conv(f"{prefix}_1", x, c, kernel, stride, groups=c), c, 1)
    x = w.same(f"{prefix}_4", "relu", w.same(f"{prefix}_3", "bn", x))
    x = w.conv(f"{prefix}_6", w.conv(f"{prefix}_5", x, c, kernel, 1, groups=c), c, 1)
    return w.same(f"{prefix}_7", "bn", x)


def _write_dil_conv(w: _DartsGraphWriter, prefix: str, x: str, c: int, stride: int, kernel: int) -> str:
    x = w.same(f"{prefix}_0", "relu", x)
    x = w.conv(f"{prefix}_2", w.conv(f"{prefix}_1", x, c, kernel, stride, groups=c, dilation=2), c, 1)
    return w.same(f"{prefix}_3", "bn", x)


DARTS_OP_WRITERS.add("sep_conv_3x3", partial(_write_sep_conv, kernel=3))
DARTS_OP_WRITERS.add("sep_conv_5x5", partial(_write_sep_conv, kernel=5))
DARTS_OP_WRITERS.add("dil_conv_3x3", partial(_write_dil_conv, kernel=3))
DARTS_OP_WRITERS.add("dil_conv_5x5", partial(_write_dil_conv, kernel=5))


@lru_cache(maxsize=4096)
def _darts_graph(genotype, C: int, layers: int, num_classes: int, input_shape: tuple[int, ...]) -> nx.DiGraph:
    from nascourse.nn.darts import reduction_layers

    w = _DartsGraphWriter()
    x = w.node("x", "input", input_shape, [])
    stem = w.same("stem_1", "bn", w.conv("stem_0", x, 3 * C, 3))
    s0 = s1 = stem
    c, reduction_prev = C, False
    for i in range(layers):
        reduction = i in reduction_layers(layers)
        c = 2 * c if reduction else c
        cell = genotype.reduce if reduction else genotype.normal
        s0, s1 = s1, w.cell(f"cells_{i}", cell, s0, s1, c, reduction, reduction_prev)
        reduction_prev = reduction
    b, channels = w.shape(s1)[:2]
    pooled = w.node("head_0", "global_avgpool", (b, channels, 1, 1), [s1])
    flat = w.node("head_1", "flatten", (b, channels), [pooled])
    logits = w.node("classifier", "linear", (b, num_classes), [flat])
    w.node("output", "output", (b, num_classes), [logits])
    return _finish(_simplify(w.g, inplace=True))


def trace_darts(genotype, C: int = 16, layers: int = 8, num_classes: int = 10,
                input_shape: Sequence[int] = (1, 3, 32, 32)) -> nx.DiGraph:
    """The computational graph of ``darts_network(genotype, C, layers, num_classes)``, equal
    to what :func:`trace` returns for it (the same nodes, attributes and edges), written
    from the genotype without building the network, about ten times faster (500
    networks of 5 cells in a few seconds on two cores instead of over a minute). ``genotype``: a ``darts.Genotype`` or NASLib's
    compact string (``benchmarks.load_nb301()["genotype"]``). Results are cached; each call
    returns a fresh copy."""
    from nascourse.nn.darts import as_genotype

    genotype = as_genotype(genotype)
    for name, value in (("C", C), ("num_classes", num_classes)):
        check_int(name, value)
    check_int("layers", layers, minimum=3)
    input_shape = check_input_shape(input_shape)
    if len(input_shape) != 4 or input_shape[1] != 3:
        raise ValueError(f"input_shape must be (batch, 3, height, width), got {input_shape!r}")
    return _darts_graph(genotype, C, layers, num_classes, tuple(input_shape)).copy()


def count_ops(g: nx.DiGraph, op: str) -> int:
    """How many nodes of ``g`` have type ``op``."""
    valid = (*OP_TYPES, "identity", "zero")          # the last two only occur unsimplified
    if op not in valid:
        raise ValueError(f"unknown operation type {op!r}; valid types are {list(valid)}")
    return sum(1 for _, d in g.nodes(data=True) if d["op"] == op)


def graph_flops(g: nx.DiGraph) -> float:
    """Multiply-accumulates of the convolutions and linear layers of ``g``, in millions."""
    total = 0
    for _, d in g.nodes(data=True):
        if d["op"] == "conv":
            total += d["kernel"] ** 2 * d["c_in"] // d.get("groups", 1) * d["c_out"] * d["hw"] ** 2
        elif d["op"] == "linear":
            total += d["c_in"] * d["c_out"]
    return total / 1e6


def node_features(g: nx.DiGraph) -> np.ndarray:
    """One row per node: one-hot of the type (:data:`OP_TYPES`) then :data:`NUMERIC_FEATURES`,
    all scaled to about [0, 1]."""
    rows = np.zeros((g.number_of_nodes(), len(OP_TYPES) + len(NUMERIC_FEATURES)), dtype=np.float32)
    for v, d in g.nodes(data=True):
        op = d["op"] if d["op"] in OP_TYPES else "other"
        rows[v, OP_TYPES.index(op)] = 1.0
        extent = d.get("dilation", 1) * (d.get("kernel", 1) - 1) + 1 if "kernel" in d else 0
        rows[v, len(OP_TYPES):] = (extent / 7, float(d.get("stride", 1) > 1),
                                   float(d.get("groups", 1) > 1), math.log2(d["c_in"] + 1) / 10,
                                   math.log2(d["c_out"] + 1) / 10, math.log2(d["hw"]) / 6)
    return rows


@dataclass
class GraphBatch:
    """Many graphs as one disjoint union: node features ``x`` (nodes x features), edges
    ``edge_index`` (2 x edges, source row first), ``graph`` (the graph of each node)."""

    x: torch.Tensor
    edge_index: torch.Tensor
    graph: torch.Tensor
    num_graphs: int

    def to(self, device: torch.device | str) -> "GraphBatch":
        """The same batch on ``device``."""
        return GraphBatch(self.x.to(device), self.edge_index.to(device), self.graph.to(device), self.num_graphs)

    def subset(self, indices: Sequence[int]) -> "GraphBatch":
        """The batch of the graphs at ``indices``, in that order."""
        indices = torch.as_tensor(np.asarray(indices, dtype=np.int64), device=self.x.device)
        if indices.numel() and (indices.min() < 0 or indices.max() >= self.num_graphs):
            raise ValueError(f"graph indices must lie in 0..{self.num_graphs - 1}")
        new_id = torch.full((self.num_graphs,), -1, dtype=torch.long, device=self.x.device)
        new_id[indices] = torch.arange(len(indices), device=self.x.device)
        keep = new_id[self.graph] >= 0
        # nodes in the order of the new graph ids, so that each graph stays contiguous
        nodes = torch.nonzero(keep).squeeze(1)
        nodes = nodes[torch.argsort(new_id[self.graph[nodes]], stable=True)]
        node_map = torch.full((len(self.graph),), -1, dtype=torch.long, device=self.x.device)
        node_map[nodes] = torch.arange(len(nodes), device=self.x.device)
        edges = self.edge_index[:, keep[self.edge_index[0]]]
        return GraphBatch(self.x[nodes], node_map[edges], new_id[self.graph[nodes]], len(indices))


def batch_graphs(graphs: Sequence[nx.DiGraph]) -> GraphBatch:
    """Stack the graphs (numbered ``0..n-1`` as :func:`trace` numbers them) into one batch."""
    graphs = check_sequence("graphs", graphs, nx.DiGraph, "networkx.DiGraph from trace()", min_length=1)
    xs, edges, ids, offset = [], [], [], 0
    for i, g in enumerate(graphs):
        xs.append(node_features(g))
        e = np.array(list(g.edges), dtype=np.int64).reshape(-1, 2).T + offset
        edges.append(e)
        ids.append(np.full(g.number_of_nodes(), i, dtype=np.int64))
        offset += g.number_of_nodes()
    return GraphBatch(torch.from_numpy(np.concatenate(xs)), torch.from_numpy(np.concatenate(edges, axis=1)),
                      torch.from_numpy(np.concatenate(ids)), len(graphs))


def laplacian_spectrum(g: nx.DiGraph, k: int = 32) -> np.ndarray:
    """The ``k`` largest eigenvalues of the Laplacian ``D - A`` of ``g`` taken as undirected,
    in decreasing order, padded with zeros when ``g`` has fewer than ``k`` nodes."""
    k = check_int("k", k)
    index = {v: i for i, v in enumerate(g)}
    a = np.zeros((len(index), len(index)))
    for u, v in g.edges:
        if u != v:
            a[index[u], index[v]] = a[index[v], index[u]] = 1.0
    eigenvalues = np.linalg.eigvalsh(np.diag(a.sum(axis=1)) - a)[::-1]
    out = np.zeros(int(k))
    out[: min(k, len(eigenvalues))] = eigenvalues[:k]
    return out


#: Smallest font size (points) of the node labels, legible at the website's text width.
MIN_FONT = 9
#: Spacing of the layout in inches: between lanes, and between layers (top to bottom).
_LANE, _LAYER = 0.8, 0.42


def node_label(d: dict) -> str:
    """A short label: the type, with kernel and stride for convolutions and poolings
    (``dw`` marks a grouped, e.g. depthwise, convolution and ``dil`` a dilated one)."""
    if d["op"] == "conv":
        kind = "dil" if d.get("dilation", 1) > 1 else "dw" if d.get("groups", 1) > 1 else "conv"
        return f"{kind}{d['kernel']}x{d['kernel']}" + (f"/{d['stride']}" if d["stride"] > 1 else "")
    if d["op"] in ("avgpool", "maxpool"):
        return f"{d['op'][:3]}{d['kernel']}" + (f"/{d['stride']}" if d["stride"] > 1 else "")
    return {"global_avgpool": "gap", "concat": "cat", "output": "out", "input": "in"}.get(d["op"], d["op"])


def layered_layout(g: nx.DiGraph) -> tuple[dict, dict]:
    """Positions (in inches) for drawing ``g`` top to bottom, one layer per longest-path depth.

    An edge that skips layers gets a bend point in every layer it crosses, so that it runs in
    its own lane instead of through the nodes between (the layered drawing of Sugiyama et
    al.). Returns the positions of the nodes and, for every edge, the list of its points."""
    depth: dict = {}
    for v in nx.topological_sort(g):
        depth[v] = 1 + max((depth[u] for u in g.predecessors(v)), default=-1)
    layers: dict[int, list] = {}
    parents: dict = {v: list(g.predecessors(v)) for v in g}
    routes: dict = {}
    for v in g:
        layers.setdefault(depth[v], []).append(v)
    for u, v in g.edges:
        chain, previous = [], u
        for level in range(depth[u] + 1, depth[v]):
            bend = ("bend", u, v, level)
            layers.setdefault(level, []).append(bend)
            parents[bend] = [previous]
            chain.append(bend)
            previous = bend
        routes[(u, v)] = [u, *chain, v]
        parents[v] = [previous if p == u else p for p in parents[v]]
    pos: dict = {}
    for level in sorted(layers):
        # order each layer by the mean lane of its parents, so that chains keep their lanes
        key = {w: np.mean([pos[p][0] for p in parents[w]]) if parents[w] else 0.0
               for w in layers[level]}
        ordered = sorted(layers[level], key=lambda w: (key[w], isinstance(w, tuple), str(w)))
        pos.update({w: ((i - (len(ordered) - 1) / 2) * _LANE, -level * _LAYER)
                    for i, w in enumerate(ordered)})
    points = {edge: [pos[w] for w in route] for edge, route in routes.items()}
    return {v: pos[v] for v in g}, points


def draw_graph(g: nx.DiGraph, ax=None, title: str | None = None, nodes=None,
               fontsize: float = MIN_FONT):
    """Draw a small CG top to bottom: each node a box named by :func:`node_label` and
    coloured by type (:data:`nascourse.viz.OP_COLOURS`), each edge an arrow. ``nodes``: draw only these
    nodes (the subgraph they induce), for instance the first stage of a large network.
    Without ``ax``, the figure is sized to the graph, at most 6.8 inches wide. Returns the
    axes."""
    import matplotlib.pyplot as plt
    from matplotlib.colors import to_rgb

    from nascourse.viz import OP_COLOURS

    check_type("g", g, nx.DiGraph, "a networkx.DiGraph from trace()")
    if nodes is not None:
        nodes = list(nodes)
        missing = [v for v in nodes if v not in g]
        if missing or not nodes:
            raise ValueError(f"nodes must be a non-empty subset of the graph's nodes; "
                             f"not in the graph: {missing[:5]}")
        g = g.subgraph(nodes)
    check_number("fontsize (legible on the page)", fontsize, minimum=MIN_FONT)
    pos, points = layered_layout(g)
    xs = [x for x, _ in pos.values()] + [x for route in points.values() for x, _ in route]
    ys = [y for _, y in pos.values()]
    if ax is None:
        width = min(6.8, max(xs) - min(xs) + 1.4)
        _, ax = plt.subplots(figsize=(width, max(ys) - min(ys) + 1.0))
    for route in points.values():
        (x0, y0), (x1, y1) = route[-2], route[-1]
        ax.plot([x for x, _ in route[:-1]], [y for _, y in route[:-1]], color="0.3",
                lw=1.0, zorder=1, solid_capstyle="round")
        ax.annotate("", xy=(x1, y1), xytext=(x0, y0), zorder=1,
                    arrowprops=dict(arrowstyle="-|>", color="0.3", lw=1.0, shrinkA=0,
                                    shrinkB=fontsize * 0.9, mutation_scale=9))
    for v, (x, y) in pos.items():
        colour = np.array(to_rgb(OP_COLOURS.get(g.nodes[v]["op"], "#ffffff")))
        ax.text(x, y, node_label(g.nodes[v]), ha="center", va="center", fontsize=fontsize,
                zorder=3, bbox=dict(boxstyle="round,pad=0.25", lw=0.6, ec="0.2",
                                    fc=0.55 * colour + 0.45))  # a light tint keeps text legible
    ax.set_xlim(min(xs) - 0.55, max(xs) + 0.55)
    ax.set_ylim(min(ys) - 0.3, max(ys) + 0.3)
    ax.set_aspect("equal")       # the layout is in inches: keep its proportions
    ax.set_title(title or f"{g.number_of_nodes()} nodes, {g.number_of_edges()} edges")
    ax.axis("off")
    return ax
