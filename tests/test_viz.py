"""Tests of the drawing helpers: what is drawn (edges, labels, nodes), that labels do not
overlap, and that no pyplot figure is created when an Axes is given."""

import itertools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from matplotlib.axes import Axes  # noqa: E402
from matplotlib.collections import PolyCollection  # noqa: E402

from nascourse import benchmarks, viz  # noqa: E402
from nascourse.spaces import darts, grammar, nb101, nb201  # noqa: E402

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
SPARSE = "|avg_pool_3x3~0|+|skip_connect~0|none~1|+|nor_conv_1x1~0|avg_pool_3x3~1|none~2|"


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def edges(ax):
    return [p for p in ax.patches if p.get_gid() == "edge"] + [ln for ln in ax.lines if ln.get_gid() == "edge"]


def texts(ax, gid):
    return [t.get_text() for t in ax.texts if t.get_gid() == gid]


def nodes(ax):
    return [p for p in ax.patches if p.get_gid() == "node"]


def label_boxes(ax, renderer):
    """The boxes a reader sees around the edge labels (the label's frame, not only its
    text), in pixels."""
    boxes = []
    for t in ax.texts:
        if t.get_gid() == "edge-label":
            frame = t.get_bbox_patch()
            boxes.append(frame.get_window_extent(renderer) if frame is not None else t.get_window_extent(renderer))
    return boxes


def assert_no_overlaps(ax, draw=True):
    """No edge label's box overlaps another label's box, a node name or a node, and every
    node name fits its box."""
    if draw:
        ax.figure.set_dpi(50)
        ax.figure.canvas.draw()
    renderer = ax.figure.canvas.get_renderer()
    labels = label_boxes(ax, renderer)
    names = [t.get_window_extent(renderer) for t in ax.texts if t.get_gid() == "node-label"]
    boxes = [p.get_window_extent(renderer) for p in nodes(ax)]
    for a, b in itertools.combinations(labels + names, 2):
        assert not a.overlaps(b), (a, b)
    for a in labels:
        assert not any(a.overlaps(b) for b in boxes), a
    for name, box in zip(names, boxes):
        assert box.x0 <= name.x0 + 1 and name.x1 <= box.x1 + 1  # the node name fits its box


def assert_fits_the_page(ax):
    """A drawing made without an Axes: at most the text column wide, as saved with a tight
    bounding box (as Jupyter does), and no text smaller than 9 points."""
    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert fig.get_figwidth() <= viz.TEXT_WIDTH + 1e-6
    assert fig.get_tightbbox(renderer).width <= viz.TEXT_WIDTH + 0.02
    legend = ax.get_legend()
    shown = list(ax.texts) + [ax.title] + (list(legend.get_texts()) if legend else [])
    assert min(t.get_fontsize() for t in shown if t.get_text()) >= 9


@pytest.fixture
def course_style():
    """The chapters' settings (viz.use_style), for this test only."""
    with plt.rc_context(viz.STYLE):
        yield


def test_colours_and_labels_cover_every_op():
    for op in nb201.OPS + nb101.OPS + darts.SUPERNET_OPS + tuple(grammar.BUILD_OPS):
        assert op in viz.OP_COLOURS and op in viz.OP_LABELS
    assert viz.OP_COLOURS["nor_conv_3x3"] == viz.OP_COLOURS["conv3x3-bn-relu"] == viz.OP_COLOURS["conv3x3"]
    assert viz.OP_LABELS["skip_connect"] == "skip" and viz.OP_LABELS["avg_pool_3x3"] == "avg pool"
    assert len({viz.OP_COLOURS[op] for op in nb201.OPS}) == 5
    assert len({viz.OP_COLOURS[op] for op in darts.OPS}) == 7


def test_nb201_cell():
    ax = viz.draw_nb201_cell(nb201.Cell.from_str(BEST), title="best")
    assert isinstance(ax, Axes) and ax.get_title() == "best"
    assert len(edges(ax)) == 6 and len(nodes(ax)) == 4
    assert sorted(texts(ax, "edge-label")) == ["conv3x3"] * 5 + ["skip"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["skip", "conv3x3"]
    assert_no_overlaps(ax)


def test_nb201_none_edges_are_faint_or_omitted():
    ax = viz.draw_nb201_cell(SPARSE)
    arrows = edges(ax)
    assert len(arrows) == 6
    dashed = [a for a in arrows if a.get_linestyle() == "--"]
    assert len(dashed) == 2 and all(a.get_edgecolor()[:3] == matplotlib.colors.to_rgb(viz.OP_COLOURS["none"])
                                    for a in dashed)
    assert sorted(texts(ax, "edge-label")) == ["avg pool", "avg pool", "conv1x1", "skip"]
    assert "none" in [t.get_text() for t in ax.get_legend().get_texts()]
    ax = viz.draw_nb201_cell(SPARSE, show_none=False, legend=False)
    assert len(edges(ax)) == 4 and ax.get_legend() is None
    assert_no_overlaps(ax)


def test_every_drawing_of_nb201_cells_is_clean():
    for cell in itertools.islice(nb201.enumerate_cells(), 0, None, 3001):
        assert_no_overlaps(viz.draw_nb201_cell(cell))


def test_nb101_cells():
    table = benchmarks.load_nb101_sample()
    for i in range(6):
        cell = nb101.Cell.from_matrix(table["matrix"][i], table["ops"][i])
        ax = viz.draw_nb101_cell(cell, title=f"row {i}")
        assert len(edges(ax)) == cell.num_edges and len(nodes(ax)) == cell.num_nodes
        names = texts(ax, "node-label")
        assert names[0] == "input" and names[-1] == "output"
        faded = [p for p in nodes(ax) if p.get_linestyle() == "--"]
        assert len(faded) == cell.num_nodes - cell.pruned().num_nodes
        assert_no_overlaps(ax)


def test_darts_cells():
    ax = viz.draw_darts_cell(darts.DARTS_V2.normal, title="normal")
    assert len(edges(ax)) == 8 + 4 and len(nodes(ax)) == 7
    assert sorted(texts(ax, "edge-label")) == ["dil 3x3", "sep 3x3", "sep 3x3", "sep 3x3", "sep 3x3", "sep 3x3",
                                               "skip", "skip"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["skip", "sep 3x3", "dil 3x3"]
    assert_no_overlaps(ax)
    for seed in range(4):
        assert_no_overlaps(viz.draw_darts_cell(darts.random_cell(seed)))
    with pytest.raises(TypeError, match="genotype.normal"):
        viz.draw_darts_cell(darts.DARTS_V2)


def test_grammar_tree():
    tree = grammar.GRAMMAR.sample(2, 6)
    g = grammar.to_graph(tree)
    ax = viz.draw_grammar_tree(tree)
    assert len(nodes(ax)) == g.number_of_nodes()
    assert len(edges(ax)) == g.number_of_nodes() - 1
    assert texts(ax, "node-label")[0] == "net"
    assert_no_overlaps(ax)


def test_drawing_on_a_given_axes_makes_no_new_figure():
    fig, axes = plt.subplots(1, 4, figsize=(16, 3))
    before = plt.get_fignums()
    returned = [
        viz.draw_nb201_cell(BEST, ax=axes[0]),
        viz.draw_nb101_cell(nb101.random_cell(0), ax=axes[1]),
        viz.draw_darts_cell(darts.DARTS_V2.reduce, ax=axes[2]),
        viz.draw_grammar_tree(grammar.GRAMMAR.sample(0, 5), ax=axes[3]),
    ]
    assert returned == list(axes) and plt.get_fignums() == before
    fig.set_dpi(50)
    fig.canvas.draw()
    for ax in axes:
        assert_no_overlaps(ax, draw=False)


def test_the_overlap_check_sees_label_frames_touch():
    """The check fails on two edge labels whose frames overlap although their texts do not."""
    fig, ax = plt.subplots(figsize=(3, 2))
    ax.set(xlim=(0, 3), ylim=(0, 2))
    frame = dict(boxstyle="round,pad=0.6", facecolor="white")
    ax.text(1.0, 1.0, "sep 3x3", fontsize=9, gid="edge-label", bbox=frame)
    ax.text(1.0, 1.27, "skip", fontsize=9, gid="edge-label", bbox=frame)
    fig.canvas.draw()
    texts_ = [t.get_window_extent() for t in ax.texts]
    assert not texts_[0].overlaps(texts_[1])           # the texts alone do not touch
    with pytest.raises(AssertionError):
        assert_no_overlaps(ax)


def test_darts_drawings_at_the_chapters_size(course_style):
    """As chapter 02 draws them (course style, a figure made by viz, 150 dpi): labels keep
    clear of each other and of the nodes, and the drawing fits the text column."""
    genotypes = [darts.DARTS_V2] + [darts.random_genotype(seed) for seed in range(8)]
    for genotype in genotypes:
        for cell in (genotype.normal, genotype.reduce):
            ax = viz.draw_darts_cell(cell, title="random normal cell")
            assert_fits_the_page(ax)
            ax.figure.canvas.draw()              # at the figure's own 150 dpi
            assert_no_overlaps(ax, draw=False)
            plt.close(ax.figure)


def test_no_drawing_is_wider_than_the_text_column(course_style):
    """Drawings that are wider than the column at one inch per unit are squeezed (layout,
    not fonts) or, for a derivation tree, turned on their side."""
    chain = nb101.Cell.from_matrix(np.eye(7, k=1, dtype=int),
                                   ["input"] + ["maxpool3x3"] * 5 + ["output"])
    tree = max((grammar.GRAMMAR.sample(seed, 8) for seed in range(20)), key=lambda t: len(t.leaves()))
    drawings = [
        viz.draw_nb201_cell(BEST, title="a title long enough to need wrapping " * 3),
        viz.draw_nb101_cell(chain, title="seven layers"),
        viz.draw_darts_cell(darts.random_cell(1)),
        viz.draw_grammar_tree(tree, title="a large derivation"),
    ]
    natural = 8 * viz._CHAR_W * len(tree.leaves())  # its leaves side by side, at least
    assert natural > viz.TEXT_WIDTH
    for ax in drawings:
        assert_fits_the_page(ax)
        assert_no_overlaps(ax)


def test_bad_inputs():
    with pytest.raises(TypeError):
        viz.draw_nb201_cell((0, 1, 2, 3, 4, 0))
    with pytest.raises(ValueError, match="malformed"):
        viz.draw_nb201_cell("|conv~0|")
    with pytest.raises(TypeError):
        viz.draw_nb101_cell(nb201.Cell.from_str(BEST))
    with pytest.raises(TypeError):
        viz.draw_grammar_tree("net(stage(conv3x3))")
    with pytest.raises(TypeError, match="matplotlib Axes"):
        viz.draw_nb201_cell(BEST, ax="left")
    cyclic = nb101.Cell.from_matrix([[0, 1, 0], [0, 0, 1], [0, 1, 0]], ["input", "maxpool3x3", "output"])
    with pytest.raises(ValueError, match="cycle"):
        viz.draw_nb101_cell(cyclic)


def test_plot_with_band():
    x = np.arange(10)
    mean = np.sqrt(x)
    ax = viz.plot_with_band(x, mean, mean - 0.2, mean + 0.2, label="random search")
    assert len(ax.lines) == 1 and np.allclose(ax.lines[0].get_ydata(), mean)
    bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
    assert len(bands) == 1
    assert bands[0].get_facecolor()[0][:3] == pytest.approx(matplotlib.colors.to_rgb(ax.lines[0].get_color()))
    same = viz.plot_with_band(x, mean / 2, mean / 2 - 0.1, mean / 2 + 0.1, ax=ax, label="evolution", color="red")
    assert same is ax and len(ax.lines) == 2
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["random search", "evolution"]
    with pytest.raises(ValueError, match="same length"):
        viz.plot_with_band(x, mean[:-1], mean, mean)
    with pytest.raises(ValueError, match="low must not exceed high; at position 0"):
        viz.plot_with_band(x, mean, mean + 1, mean)
    with pytest.raises(ValueError, match="one-dimensional"):
        viz.plot_with_band(np.ones((2, 2)), mean, mean, mean)
    with pytest.raises(ValueError, match="alpha"):
        viz.plot_with_band(x, mean, mean, mean, alpha=2)
