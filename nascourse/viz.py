"""The course's figure style, drawing cells and plotting curves (chapter 02 draws the
spaces; chapters 03-08 plot results with :func:`plot_with_band`; chapter 04 plots how a
one-shot search moved its mixing weights with :func:`plot_edge_weights`).

Every chapter calls :func:`use_style` once: figures then fit the text column of the
website (:data:`TEXT_WIDTH` inches wide at most, which the static notebook test enforces),
their fonts stay legible at that width, colours come from a colour-blind-safe palette
(:data:`PALETTE`, Okabe and Ito's), and the images are rendered at 150 dpi.

Every function takes an optional matplotlib ``ax`` (six ``axes``, one per edge, for
:func:`plot_edge_weights`) and returns the Axes it drew on; a new figure is made (with
``plt.subplots``) only when none is given. Operations keep one
colour everywhere (:data:`OP_COLOURS`) and one short name (:data:`OP_LABELS`), whichever
space they come from, so that a 3x3 convolution looks the same in every chapter.

The cell drawings lay nodes out left to right by longest path from the input, then route
each edge as a straight line or an arc, choosing for each the bend and label position
that avoid the nodes, the other edges' labels and the curves already drawn.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Sequence

import matplotlib.pyplot as plt
import networkx as nx
import numpy as np
from cycler import cycler
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path

from nascourse._checks import check_fraction, check_sequence, check_type
from nascourse.spaces import darts, grammar, nb101, nb201

#: The colour-blind-safe palette of Okabe and Ito (2008), in the order the figures cycle
#: through it: blue, orange, bluish green, vermillion, reddish purple, sky blue, yellow, black.
PALETTE: tuple[str, ...] = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7",
                            "#56B4E9", "#F0E442", "#000000")

#: Width of the website's text column in inches at the figures' nominal 100 px per inch:
#: a wider figure is shrunk to fit, and its text with it.
TEXT_WIDTH = 6.8

#: The course style that :func:`use_style` applies (matplotlib rcParams).
STYLE: dict[str, object] = {
    "figure.figsize": (TEXT_WIDTH, 4.0),
    "figure.dpi": 150,
    "savefig.dpi": 150,
    "figure.constrained_layout.use": True,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": 10,
    "legend.title_fontsize": 10,
    "axes.prop_cycle": cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "image.cmap": "viridis",
    "lines.linewidth": 1.8,
}


def use_style() -> None:
    """Apply the course's figure style (:data:`STYLE`) to every figure drawn after it."""
    plt.rcParams.update(STYLE)


_CONV3 = PALETTE[0]
_CONV1 = PALETTE[1]
_SKIP = "#7f7f7f"
_AVG = PALETTE[2]
_MAX = PALETTE[4]
_NONE = "#c7c7c7"
_IO = "#e6e6e6"

#: One colour per operation, shared by all spaces (same concept, same colour).
OP_COLOURS: dict[str, str] = {
    # NAS-Bench-201
    "none": _NONE,
    "skip_connect": _SKIP,
    "nor_conv_1x1": _CONV1,
    "nor_conv_3x3": _CONV3,
    "avg_pool_3x3": _AVG,
    # NAS-Bench-101
    "input": _IO,
    "output": _IO,
    "conv3x3-bn-relu": _CONV3,
    "conv1x1-bn-relu": _CONV1,
    "maxpool3x3": _MAX,
    # DARTS
    "max_pool_3x3": _MAX,
    "sep_conv_3x3": PALETTE[5],
    "sep_conv_5x5": PALETTE[6],
    "dil_conv_3x3": PALETTE[3],
    "dil_conv_5x5": "#8c564b",
    "concat": "#b0b0b0",
    # the grammar
    "conv3x3": _CONV3,
    "conv1x1": _CONV1,
    "sepconv3x3": PALETTE[5],
    "avgpool": _AVG,
    "identity": _SKIP,
    # computational graphs (chapter 08): the node types of nascourse.gennape.graphs
    "conv": _CONV3,
    "bn": PALETTE[5],
    "relu": PALETTE[6],
    "maxpool": _MAX,
    "global_avgpool": _AVG,
    "linear": PALETTE[3],
    "add": _SKIP,
    "mul": _SKIP,
    "slice": "#ffffff",
    "flatten": _IO,
    "other": "#ffffff",
}

#: Short readable names for the operations of every space.
OP_LABELS: dict[str, str] = {
    "none": "none",
    "skip_connect": "skip",
    "nor_conv_1x1": "conv1x1",
    "nor_conv_3x3": "conv3x3",
    "avg_pool_3x3": "avg pool",
    "input": "input",
    "output": "output",
    "conv3x3-bn-relu": "conv3x3",
    "conv1x1-bn-relu": "conv1x1",
    "maxpool3x3": "max pool",
    "max_pool_3x3": "max pool",
    "sep_conv_3x3": "sep 3x3",
    "sep_conv_5x5": "sep 5x5",
    "dil_conv_3x3": "dil 3x3",
    "dil_conv_5x5": "dil 5x5",
    "concat": "concat",
    "conv3x3": "conv3x3",
    "conv1x1": "conv1x1",
    "sepconv3x3": "sep 3x3",
    "avgpool": "avg pool",
    "identity": "identity",
}

# Every text of a drawing is set in _FONT points (the course's minimum, never scaled
# below it) and titles in _TITLE_FONT. The layout works in inches: one data unit is one
# inch, so the text sizes below, estimated in inches, are also sizes in data units.
_FONT = 9
_TITLE_FONT = 10
_CHAR_W = 0.62 * _FONT / 72
_LINE_H = 1.45 * _FONT / 72
_PAD = 0.15        # margin around a drawing, inches
_MIN_GAP = 0.08    # the closest two boxes of neighbouring layers may come when squeezed
_TITLE_H = 0.32    # height of a title line, inches
_LEGEND_ROW_H = 1.7 * _FONT / 72


def _get_ax(ax: Axes | None, figsize: tuple[float, float] = (6.0, 3.0)) -> tuple[Axes, bool]:
    """The Axes to draw on and whether it was created here."""
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
        return ax, True
    check_type("ax", ax, Axes, "a matplotlib Axes or None")
    return ax, False


def _drawing_ax(ax: Axes | None) -> tuple[Axes, bool]:
    """The Axes for a drawing and whether it was created here. A figure made here has no
    layout engine: :func:`_finish` sizes it and places its single Axes itself."""
    if ax is None:
        fig = plt.figure(layout="none")
        return fig.add_axes((0.0, 0.0, 1.0, 1.0)), True
    check_type("ax", ax, Axes, "a matplotlib Axes or None")
    return ax, False


def _width_limit(ax: Axes, created: bool) -> float:
    """How wide (inches) the drawing may be: the text column for a figure made here, the
    Axes' current width otherwise."""
    if created:
        return TEXT_WIDTH
    return ax.get_position().width * ax.figure.get_figwidth()


def _text_size(text: str) -> tuple[float, float]:
    shown = text.translate(str.maketrans("", "", "${}_")) if "$" in text else text
    return len(shown) * _CHAR_W + 0.12, _LINE_H + 0.08


# ----- a small DAG drawer --------------------------------------------------------------------

@dataclass
class _Node:
    x: float
    y: float
    text: str
    colour: str
    faded: bool = False

    def box(self) -> tuple[float, float, float, float]:
        w, h = _text_size(self.text)
        w = max(w + 0.1, h + 0.12)
        return self.x - w / 2, self.y - h / 2, self.x + w / 2, self.y + h / 2


@dataclass
class _Edge:
    u: object
    v: object
    colour: str
    label: str | None = None
    dashed: bool = False
    faint: bool = False
    bends: tuple[float, ...] | None = None


@dataclass
class _Plan:
    """Where everything of a DAG drawing goes: curves (start, control, end) and label
    boxes, in inches."""
    nodes: dict
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    labels: dict[int, tuple[np.ndarray, tuple[float, float, float, float]]]
    extent: tuple[float, float, float, float]
    clashes: int


def _bezier(p0: np.ndarray, c: np.ndarray, p1: np.ndarray, t: np.ndarray) -> np.ndarray:
    t = t[:, None]
    return (1 - t) ** 2 * p0 + 2 * (1 - t) * t * c + t**2 * p1


def _inside(points: np.ndarray, box: tuple[float, float, float, float], margin: float = 0.0) -> np.ndarray:
    x0, y0, x1, y1 = box
    return (
        (points[:, 0] > x0 - margin) & (points[:, 0] < x1 + margin)
        & (points[:, 1] > y0 - margin) & (points[:, 1] < y1 + margin)
    )


def _overlap(a: tuple[float, ...], b: tuple[float, ...], margin: float = 0.03) -> bool:
    return a[0] < b[2] + margin and b[0] < a[2] + margin and a[1] < b[3] + margin and b[1] < a[3] + margin


def _tint(colour: str, amount: float = 0.55) -> tuple[float, float, float]:
    """``colour`` mixed with white, so that black text on it stays readable."""
    rgb = np.array(to_rgb(colour))
    return tuple(rgb + (1 - rgb) * amount)


# Where a label may go: a position along its edge (from the middle outwards) and a
# shift up or down by half its height (it then sits beside the line, touching it); on
# the line first.
_LABEL_SPOTS = tuple(
    (t, shift) for shift in (0, 1, -1)
    for t in sorted(np.round(np.linspace(0.12, 0.88, 20), 3), key=lambda t: abs(t - 0.5))
)


def _plan_dag(nodes: dict, edges: Sequence[_Edge], bends: Sequence[float]) -> _Plan:
    """Route every edge (the bend that avoids other nodes), then place every label where
    it meets no node, label or curve; ``clashes`` counts the labels that could not avoid
    a node or another label."""
    boxes = {k: n.box() for k, n in nodes.items()}
    ts = np.linspace(0, 1, 81)
    curves: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for e in edges:
        p0 = np.array([nodes[e.u].x, nodes[e.u].y])
        p1 = np.array([nodes[e.v].x, nodes[e.v].y])
        d = p1 - p0
        normal = np.array([-d[1], d[0]]) / (np.hypot(*d) or 1.0)
        best = None
        for rank, bend in enumerate(e.bends if e.bends is not None else bends):
            c = (p0 + p1) / 2 + 2 * bend * normal
            pts = _bezier(p0, c, p1, ts)
            cost = 0.05 * rank + sum(
                10 * _inside(pts, box, 0.08).sum() for k, box in boxes.items() if k not in (e.u, e.v)
            )
            if best is None or cost < best[0]:
                best = (cost, c)
        curves.append((p0, best[1], p1))
    others = [_bezier(*curve, ts) for curve in curves]
    labels: dict[int, tuple[np.ndarray, tuple[float, float, float, float]]] = {}
    clashes = 0
    for i, e in enumerate(edges):
        if not e.label:
            continue
        w, h = _text_size(e.label)
        best = None
        for rank, (t_lab, shift) in enumerate(_LABEL_SPOTS):
            pos = _bezier(*curves[i], np.array([t_lab]))[0] + np.array([0.0, shift * (h / 2 + 0.02)])
            cand = (pos[0] - w / 2, pos[1] - h / 2, pos[0] + w / 2, pos[1] + h / 2)
            hits = sum(_overlap(cand, b) for b in boxes.values())
            hits += sum(_overlap(cand, b) for _, b in labels.values())
            cost = 0.01 * rank + 8 * hits
            cost += sum(_inside(o, cand, 0.02).any() for j, o in enumerate(others) if j != i)
            if best is None or cost < best[0]:
                best = (cost, cand, pos, hits)
        _, cand, pos, hits = best
        clashes += hits > 0
        labels[i] = (pos, cand)
    everything = list(boxes.values()) + [b for _, b in labels.values()] + [(*o.min(0), *o.max(0)) for o in others]
    arr = np.array(everything)
    extent = (arr[:, 0].min() - _PAD, arr[:, 1].min() - _PAD, arr[:, 2].max() + _PAD, arr[:, 3].max() + _PAD)
    return _Plan(nodes, curves, labels, extent, clashes)


def _squeezed(nodes: dict, factor: float) -> dict:
    """``nodes`` with their horizontal distances multiplied by ``factor``."""
    left = min(n.x for n in nodes.values())
    return {k: _Node(left + (n.x - left) * factor, n.y, n.text, n.colour, n.faded) for k, n in nodes.items()}


def _fit_dag(nodes: dict, edges: Sequence[_Edge], bends: Sequence[float], limit: float,
             must_fit: bool) -> _Plan:
    """Plan the drawing at its natural spacing, and squeeze it horizontally (the layout,
    never the fonts) until it is at most ``limit`` inches wide. The squeeze stops where
    two boxes of neighbouring layers would come closer than ``_MIN_GAP``. Unless the
    drawing ``must_fit``, it stops at the narrowest plan whose labels are still clear
    (the caller's Axes then scales the drawing down, fonts included)."""
    plan = _plan_dag(nodes, edges, bends)
    xs = sorted({round(n.x, 6) for n in nodes.values()})
    if len(xs) < 2:
        return plan
    widest = max(b[2] - b[0] for b in (n.box() for n in nodes.values()))
    step = min(b - a for a, b in zip(xs, xs[1:]))
    floor = min(1.0, (widest + _MIN_GAP) / step)
    factor = 1.0
    clean = plan if plan.clashes == 0 else None
    for _ in range(12):
        width = plan.extent[2] - plan.extent[0]
        if width <= limit + 1e-9 or factor <= floor + 1e-9:
            break
        span = (xs[-1] - xs[0]) * factor
        factor = max(floor, factor * min(0.97, (limit - (width - span)) / span))
        plan = _plan_dag(_squeezed(nodes, factor), edges, bends)
        if plan.clashes == 0:
            clean = plan
    if plan.clashes and clean is not None and not must_fit:
        return clean
    return plan


def _draw_plan(ax: Axes, plan: _Plan, edges: Sequence[_Edge]) -> None:
    nodes = plan.nodes
    boxes = {k: n.box() for k, n in nodes.items()}
    for k, n in nodes.items():
        x0, y0, x1, y1 = boxes[k]
        ax.add_artist(FancyBboxPatch(
            (x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.08",
            facecolor=_tint(n.colour, 0.75 if n.faded else 0.45), edgecolor="#999999" if n.faded else "#444444",
            linewidth=1.0, linestyle="--" if n.faded else "-", zorder=3, gid="node",
        ))
        ax.text(n.x, n.y, n.text, ha="center", va="center", fontsize=_FONT, zorder=4, gid="node-label",
                color="#777777" if n.faded else "black")
    ts = np.linspace(0, 1, 81)
    for e, curve in zip(edges, plan.curves):
        pts = _bezier(*curve, ts)
        keep = ~(_inside(pts, boxes[e.u]) | _inside(pts, boxes[e.v]))
        path_pts = pts[keep] if keep.sum() >= 2 else pts[[0, -1]]
        ax.add_artist(FancyArrowPatch(
            path=Path(path_pts), arrowstyle="-|>", mutation_scale=11, color=e.colour, alpha=0.55 if e.faint else 1.0,
            linewidth=1.1 if e.faint else 1.8, linestyle="--" if e.dashed else "-", zorder=2, gid="edge",
        ))
    for i, (pos, _) in plan.labels.items():
        ax.text(pos[0], pos[1], edges[i].label, ha="center", va="center", fontsize=_FONT, zorder=5,
                gid="edge-label",
                bbox=dict(boxstyle="round,pad=0.15", facecolor="white", edgecolor=edges[i].colour, linewidth=1.0))
    _frame(ax, plan.extent)


def _draw_dag(ax: Axes, created: bool, nodes: dict, edges: Sequence[_Edge], bends: Sequence[float]) -> None:
    """Draw ``nodes`` (id -> _Node) and ``edges``, squeezed to the width available."""
    _draw_plan(ax, _fit_dag(nodes, edges, bends, _width_limit(ax, created), must_fit=created), edges)


def _frame(ax: Axes, extent: tuple[float, float, float, float]) -> None:
    x0, y0, x1, y1 = extent
    ax.set_xlim(x0, x1)
    ax.set_ylim(y0, y1)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _legend_layout(ops: Sequence[str], limit: float) -> tuple[int, float, float]:
    """Columns, width and height (inches) of a legend of ``ops`` that fits ``limit``."""
    entries = [(1.8 + 0.8) * _FONT / 72 + _text_size(OP_LABELS[op])[0] + 0.1 for op in ops]
    ncol = len(entries)
    while ncol > 1 and max(entries) * ncol > limit - 0.1:
        ncol -= 1
    rows = -(-len(entries) // ncol)
    return ncol, max(entries) * ncol + 0.1, rows * _LEGEND_ROW_H + 0.12


def _legend(ax: Axes, ops: Sequence[str], limit: float, dashed: Sequence[str] = ()) -> float:
    """A legend of ``ops`` under the drawing; its height in inches (0 without ops)."""
    if not ops:
        return 0.0
    handles = [
        Line2D([], [], color=OP_COLOURS[op], linewidth=2, linestyle="--" if op in dashed else "-",
               label=OP_LABELS[op])
        for op in ops
    ]
    ncol, _, height = _legend_layout(ops, limit)
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=ncol, frameon=False,
              fontsize=_FONT, handlelength=1.8, borderaxespad=0.2, columnspacing=1.0)
    return height


def _title(ax: Axes, title: str | None, limit: float) -> float:
    """Set the title, wrapped to ``limit`` inches; its height in inches."""
    if title is None:
        return 0.0
    per_line = max(10, int((limit - 0.2) / (0.6 * _TITLE_FONT / 72)))
    text = "\n".join(textwrap.wrap(title, per_line)) or title
    ax.set_title(text, fontsize=_TITLE_FONT)
    return _TITLE_H * (text.count("\n") + 1)


def _finish(ax: Axes, created: bool, title: str | None = None, legend_ops: Sequence[str] = (),
            dashed: Sequence[str] = ()) -> None:
    """Add the title and legend. A figure made here gets the drawing's own size (one data
    unit = one inch, at most :data:`TEXT_WIDTH` wide, room for title and legend). On an
    Axes the caller gave, the text follows the scale of the drawing (up to 1.25 times), so
    that labels keep fitting their boxes: it stays at ``_FONT`` points or more when the
    Axes is as large as the drawing at one inch per unit after squeezing, and shrinks
    below only when the caller's Axes is smaller than that. Under a layout engine (the
    course style's constrained layout) the Axes' size is only known when the figure is
    drawn, so the text stays at ``_FONT``: give such an Axes about one inch per unit."""
    limit = _width_limit(ax, created)
    title_h = _title(ax, title, limit)
    legend_h = _legend(ax, legend_ops, limit, dashed)
    (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
    width, height = x1 - x0, y1 - y0
    fig = ax.figure
    if created:
        legend_w = _legend_layout(legend_ops, limit)[1] if legend_ops else 0.0
        fig_w = min(limit, max(width, legend_w))
        fig_h = height + title_h + legend_h + 0.05
        fig.set_size_inches(fig_w, fig_h)
        ax.set_position((max(0.0, (fig_w - width) / 2) / fig_w, legend_h / fig_h,
                         min(width, fig_w) / fig_w, height / fig_h))
        return
    if fig.get_layout_engine() is not None:
        return   # the engine sizes the Axes only when drawing: the text stays at _FONT
    box = ax.get_position()
    scale = min(box.width * fig.get_figwidth() / width, box.height * fig.get_figheight() / height, 1.25)
    for text in ax.texts:
        if text.get_gid() in ("node-label", "edge-label"):
            text.set_fontsize(text.get_fontsize() * scale)
    for patch in ax.patches:
        if isinstance(patch, FancyArrowPatch):
            patch.set_mutation_scale(patch.get_mutation_scale() * scale)
        patch.set_linewidth(patch.get_linewidth() * max(scale, 0.5))
    for line in ax.lines:
        line.set_linewidth(line.get_linewidth() * max(scale, 0.5))


def _layers(n: int, preds: dict[int, list[int]], last: int | None = None) -> list[int]:
    """Longest-path layer of each node (0 for nodes without predecessors); ``last`` goes
    to the last layer."""
    g = nx.DiGraph()
    g.add_nodes_from(range(n))
    g.add_edges_from((i, j) for j, ps in preds.items() for i in ps)
    if not nx.is_directed_acyclic_graph(g):
        raise ValueError(f"cannot lay out a graph with a cycle: {nx.find_cycle(g)}")
    layer = [0] * n
    for j in nx.topological_sort(g):
        if preds[j]:
            layer[j] = 1 + max(layer[i] for i in preds[j])
    if last is not None:
        layer[last] = max(layer)
    return layer


def _positions(layer: list[int], dx: float, dy: float) -> dict[int, tuple[float, float]]:
    """Layer ``L`` at ``x = L dx``; the nodes of a layer stacked around ``y = 0`` by index."""
    pos = {}
    for L in sorted(set(layer)):
        members = [j for j in range(len(layer)) if layer[j] == L]
        for r, j in enumerate(members):
            pos[j] = (L * dx, (len(members) - 1) / 2 * dy - r * dy)
    return pos


# ----- the public drawings -----------------------------------------------------------------------

def draw_nb201_cell(
    cell: nb201.Cell | str,
    ax: Axes | None = None,
    title: str | None = None,
    show_none: bool = True,
    legend: bool = True,
) -> Axes:
    """Draw a NAS-Bench-201 cell: nodes 0-3 left to right, each edge coloured and labelled
    by its operation; ``none`` edges are faint and dashed (or left out with
    ``show_none=False``), without a label but in the legend."""
    if isinstance(cell, str):
        cell = nb201.Cell.from_str(cell)
    check_type("cell", cell, nb201.Cell, "an nb201.Cell or an NB201 string")
    names = {0: "in", 1: "1", 2: "2", 3: "out"}
    nodes = {j: _Node(1.6 * j, 0.0, names[j], _IO) for j in range(nb201.NUM_NODES)}
    bend = {1: 0.0, 2: 0.5, 3: 0.95}
    edges = [
        _Edge(s, t, OP_COLOURS[op], None if op == "none" else OP_LABELS[op], dashed=op == "none",
              faint=op == "none", bends=(bend[t - s] * (-1 if (s, t) == (1, 3) else 1),))
        for s, t, op in cell.edges()
        if show_none or op != "none"
    ]
    ax, created = _drawing_ax(ax)
    _draw_dag(ax, created, nodes, edges, bends=(0.0, 0.45, -0.45, 0.75, -0.75, 1.05, -1.05))
    present = [op for op in nb201.OPS if op in cell.ops and (show_none or op != "none")] if legend else []
    _finish(ax, created, title, present, dashed=("none",))
    return ax


def draw_nb101_cell(cell: nb101.Cell, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a NAS-Bench-101 cell: nodes are boxes coloured by operation, laid out by
    longest path from the input; nodes that pruning would remove are faded and dashed."""
    check_type("cell", cell, nb101.Cell, "an nb101.Cell")
    g = cell.to_graph()
    n = cell.num_nodes
    preds = {j: list(g.predecessors(j)) for j in range(n)}
    layer = _layers(n, preds, last=n - 1)
    pos = _positions(layer, 1.55, 0.75)
    alive = (nx.descendants(g, 0) | {0}) & (nx.ancestors(g, n - 1) | {n - 1})
    nodes = {
        j: _Node(pos[j][0], pos[j][1], OP_LABELS[cell.ops[j]], OP_COLOURS[cell.ops[j]], faded=j not in alive)
        for j in range(n)
    }
    edges = [_Edge(i, j, "#555555", faint=not (i in alive and j in alive)) for i, j in g.edges]
    ax, created = _drawing_ax(ax)
    _draw_dag(ax, created, nodes, edges, bends=(0.0, 0.3, -0.3, 0.55, -0.55, 0.85, -0.85))
    _finish(ax, created, title)
    return ax


def draw_darts_cell(
    cell: darts.Cell, ax: Axes | None = None, title: str | None = None, legend: bool = True
) -> Axes:
    """Draw a DARTS cell: inputs ``c_{k-2}``, ``c_{k-1}`` on the left, intermediate nodes
    by longest path, the concatenating output ``c_{k}`` on the right; operation edges are
    coloured and labelled, the concatenation edges thin and grey."""
    check_type("cell", cell, darts.Cell, "one darts.Cell (for a Genotype, pass genotype.normal or genotype.reduce)")
    k = darts.NUM_CELL_INPUTS
    n = k + cell.num_nodes + 1
    preds: dict[int, list[int]] = {j: [] for j in range(n)}
    for node in range(cell.num_nodes):
        preds[k + node] = [src for _, src in cell.inputs(node)]
    preds[n - 1] = list(range(k, n - 1))
    layer = _layers(n, preds, last=n - 1)
    pos = _positions(layer, 2.2, 1.15)
    names = {j: f"${darts.node_name(j)}$" if j < k else darts.node_name(j) for j in range(n - 1)}
    names[n - 1] = f"${darts.CELL_OUTPUT}$"
    nodes = {
        j: _Node(pos[j][0], pos[j][1], names[j], "#cfe3f7" if k <= j < n - 1 else _IO) for j in range(n)
    }
    edges = [
        _Edge(src, k + node, OP_COLOURS[op], OP_LABELS[op]) for node in range(cell.num_nodes)
        for op, src in cell.inputs(node)
    ]
    edges += [_Edge(j, n - 1, OP_COLOURS["concat"], faint=True) for j in range(k, n - 1)]
    ax, created = _drawing_ax(ax)
    _draw_dag(ax, created, nodes, edges, bends=(0.0, 0.3, -0.3, 0.55, -0.55, 0.8, -0.8, 1.1, -1.1))
    present = [op for op in darts.OPS if any(op == o for o, _ in cell.edges)] if legend else []
    _finish(ax, created, title, present)
    return ax


def _tree_layout(g: nx.DiGraph, children: dict, across: bool) -> tuple[dict, dict]:
    """Positions of a derivation tree: top-down (leaves side by side, spaced by their
    labels) or, with ``across``, left to right (one row per leaf, one column per depth,
    each column as wide as its widest label)."""
    texts = {v: OP_LABELS.get(d["label"], d["label"]) for v, d in g.nodes(data=True)}
    depth = {v: d["depth"] for v, d in g.nodes(data=True)}
    along: dict[int, float] = {}
    cursor = [0.0]

    def place(v: int) -> None:
        if not children[v]:
            size = _LINE_H + 0.18 if across else _text_size(texts[v])[0] + 0.15
            along[v] = cursor[0] + size / 2
            cursor[0] += size
            return
        for c in children[v]:
            place(c)
        along[v] = (along[children[v][0]] + along[children[v][-1]]) / 2

    place(0)
    if not across:
        return {v: (along[v], -depth[v] * 0.75) for v in g}, texts
    widths = {}
    for v in g:
        widths[depth[v]] = max(widths.get(depth[v], 0.0), _text_size(texts[v])[0] + 0.1)
    column, x = {}, 0.0
    for d in sorted(widths):
        column[d] = x + widths[d] / 2
        x += widths[d] + 0.25
    return {v: (column[depth[v]], -along[v]) for v in g}, texts


def draw_grammar_tree(tree: grammar.Tree, ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a derivation top-down: combinators in white boxes, operations in their colour,
    leaves spaced by the width of their labels (unit productions are skipped). A tree too
    wide for the space available is drawn left to right instead, one row per leaf."""
    check_type("tree", tree, grammar.Tree, "a grammar.Tree")
    g = grammar.to_graph(tree)
    children = {v: list(g.successors(v)) for v in g}
    ax, created = _drawing_ax(ax)
    limit = _width_limit(ax, created)
    for across in (False, True):
        pos, texts = _tree_layout(g, children, across)
        nodes = {}
        for v, data in g.nodes(data=True):
            label = data["label"]
            colour = OP_COLOURS[label] if label in OP_COLOURS and not children[v] else "white"
            nodes[v] = _Node(*pos[v], texts[v], colour)
        boxes = {v: nodes[v].box() for v in nodes}
        arr = np.array(list(boxes.values()))
        if arr[:, 2].max() - arr[:, 0].min() + 2 * _PAD <= limit:
            break
    for u, v in g.edges:
        if across:
            xs, ys = [boxes[u][2], boxes[v][0]], [nodes[u].y, nodes[v].y]
        else:
            xs, ys = [nodes[u].x, nodes[v].x], [boxes[u][1], boxes[v][3]]
        ax.add_artist(Line2D(xs, ys, color="#666666", linewidth=1.0, zorder=1, gid="edge"))
    for v, nd in nodes.items():
        x0, y0, x1, y1 = boxes[v]
        ax.add_artist(FancyBboxPatch((x0, y0), x1 - x0, y1 - y0, boxstyle="round,pad=0,rounding_size=0.06",
                                    facecolor=_tint(nd.colour, 0.45), edgecolor="#444444", linewidth=0.9, zorder=3,
                                    gid="node"))
        ax.text(nd.x, nd.y, nd.text, ha="center", va="center", fontsize=_FONT, zorder=4, gid="node-label")
    _frame(ax, (arr[:, 0].min() - _PAD, arr[:, 1].min() - _PAD, arr[:, 2].max() + _PAD, arr[:, 3].max() + _PAD))
    _finish(ax, created, title)
    return ax


def plot_with_band(
    x: Sequence[float],
    mean: Sequence[float],
    low: Sequence[float],
    high: Sequence[float],
    ax: Axes | None = None,
    label: str | None = None,
    color: str | None = None,
    alpha: float = 0.2,
) -> Axes:
    """Plot ``mean`` against ``x`` with a shaded band from ``low`` to ``high`` (e.g. a
    confidence interval over seeds); the band takes the line's colour."""
    arrays = {}
    for name, values in (("x", x), ("mean", mean), ("low", low), ("high", high)):
        arr = np.asarray(values, dtype=float)
        if arr.ndim != 1:
            raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
        arrays[name] = arr
    lengths = {name: len(arr) for name, arr in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise ValueError(f"x, mean, low and high must have the same length, got {lengths}")
    if np.any(arrays["low"] > arrays["high"]):
        bad = int(np.flatnonzero(arrays["low"] > arrays["high"])[0])
        raise ValueError(f"low must not exceed high; at position {bad} low={arrays['low'][bad]} > high={arrays['high'][bad]}")
    alpha = check_fraction("alpha", alpha)
    ax, _ = _get_ax(ax, (5.5, 3.5))
    (line,) = ax.plot(arrays["x"], arrays["mean"], label=label, color=color)
    ax.fill_between(arrays["x"], arrays["low"], arrays["high"], color=line.get_color(), alpha=alpha, linewidth=0)
    if label is not None:
        ax.legend(frameon=False)
    return ax


def plot_edge_weights(result, title: str | None = None, axes: Sequence[Axes] | None = None) -> np.ndarray:
    """Plot how a one-shot run's mixing weights ``softmax(alpha)`` moved: one panel per edge
    of the NAS-Bench-201 cell, one line per operation (in :data:`OP_COLOURS`, labelled with
    :data:`OP_LABELS`) against the epoch, and a dotted line at the uniform weight 1/5.

    ``result`` is a :class:`nascourse.search.oneshot.SearchResult` (its
    :meth:`~nascourse.search.oneshot.SearchResult.edge_weights` table is plotted). The six
    panels are a new 3 x 2 figure one text column wide, or the six ``axes`` given (in edge
    order); the figure gets one shared legend below the panels and ``title`` above them.
    Returns the six Axes.
    """
    from nascourse.search.oneshot import SearchResult   # lazy: it needs torch

    check_type("result", result, SearchResult, "a one-shot SearchResult")
    check_type("title", title, (str, type(None)), "a str or None")
    if axes is None:
        _, axes = plt.subplots(3, 2, figsize=(TEXT_WIDTH, 6.4), sharex=True, sharey=True)
    axes = np.asarray(axes, dtype=object)
    flat = check_sequence("axes", list(axes.flat), Axes, "matplotlib Axes")
    if len(flat) != len(nb201.EDGES):
        raise ValueError(f"axes must hold one Axes per edge ({len(nb201.EDGES)}), got {len(flat)}")
    weights = result.edge_weights().pivot(index="epoch", columns=["edge", "op"], values="weight")
    for e, ax in enumerate(flat):
        for op in nb201.OPS:
            ax.plot(weights.index, weights[(e, op)], color=OP_COLOURS[op], label=OP_LABELS[op])
        ax.axhline(1 / len(nb201.OPS), color="k", lw=0.8, ls=":")
        source, target = nb201.EDGES[e]
        ax.set_title(f"edge {source} → {target}", fontsize=10)
        spec = ax.get_subplotspec()
        if spec is None or spec.is_last_row():
            ax.set_xlabel("epoch")
        if spec is None or spec.is_first_col():
            ax.set_ylabel("softmax(α)")
    fig = flat[0].figure
    fig.legend(*flat[0].get_legend_handles_labels(), loc="outside lower center", ncols=len(nb201.OPS))
    if title is not None:
        fig.suptitle(title, fontsize=12)
    return axes
