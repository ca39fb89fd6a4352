"""Tests of viz.plot_edge_weights: what a one-shot run's edge-weight figure draws."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from nascourse import viz  # noqa: E402
from nascourse.nn import NB201Supernet  # noqa: E402
from nascourse.search.oneshot import SearchResult  # noqa: E402
from nascourse.spaces import nb201  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def result():
    """Two epochs of four steps with made-up mixing weights (each row sums to one)."""
    logits = np.random.default_rng(0).normal(size=(9, 6, 5))
    trajectory = (np.exp(logits) / np.exp(logits).sum(axis=2, keepdims=True)).astype(np.float32)
    torch.manual_seed(0)
    return SearchResult("darts", NB201Supernet(C=2, N=1), [], trajectory, steps_per_epoch=4, epochs=2)


def curves(ax):
    return [line for line in ax.lines if line.get_linestyle() == "-"]


def test_every_edge_shows_every_operation_against_the_epoch(result):
    axes = viz.plot_edge_weights(result, "a title")
    assert axes.shape == (3, 2) and plt.gcf().get_suptitle() == "a title"
    for e, ax in enumerate(axes.flat):
        assert ax.get_title() == "edge {} → {}".format(*nb201.EDGES[e])
        lines = curves(ax)
        assert [line.get_label() for line in lines] == [viz.OP_LABELS[op] for op in nb201.OPS]
        assert [to_hex(line.get_color()) for line in lines] == [to_hex(viz.OP_COLOURS[op]) for op in nb201.OPS]
        for o, line in enumerate(lines):
            assert np.allclose(line.get_xdata(), np.arange(9) / 4)
            assert np.array_equal(line.get_ydata(), result.trajectory[:, e, o])
        uniform = [line for line in ax.lines if line.get_linestyle() == ":"]
        assert len(uniform) == 1 and uniform[0].get_ydata()[0] == pytest.approx(0.2)
    assert [ax.get_xlabel() for ax in axes.flat] == ["", "", "", "", "epoch", "epoch"]
    assert [ax.get_ylabel() for ax in axes.flat] == ["softmax(α)", ""] * 3
    legend = plt.gcf().legends[0]
    assert [t.get_text() for t in legend.get_texts()] == [viz.OP_LABELS[op] for op in nb201.OPS]
    assert plt.gcf().get_figwidth() <= viz.TEXT_WIDTH


def test_given_axes_are_used_and_bad_arguments_rejected(result):
    fig, given = plt.subplots(2, 3)
    figures = plt.get_fignums()
    axes = viz.plot_edge_weights(result, axes=given)
    assert plt.get_fignums() == figures and axes.shape == (2, 3) and fig.get_suptitle() == ""
    assert all(len(curves(ax)) == 5 for ax in given.flat)
    with pytest.raises(TypeError, match="result must be a one-shot SearchResult"):
        viz.plot_edge_weights(result.trajectory)
    with pytest.raises(ValueError, match="one Axes per edge"):
        viz.plot_edge_weights(result, axes=plt.subplots(2, 2)[1])
    with pytest.raises(TypeError, match="axes"):
        viz.plot_edge_weights(result, axes=["not an Axes"] * 6)
