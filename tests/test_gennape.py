"""Tests of nascourse.gennape: tracing every network family, drawing a graph legibly, the
contrastive loss on a hand-made batch, fuzzy c-means against scikit-fuzzy, the label
transform, the encoder, the ensemble, and bad input."""

import math

import matplotlib
import networkx as nx
import numpy as np
import pytest
import skfuzzy
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from torch import nn

from nascourse.gennape import (FlopsTransform, FuzzyCMeans, GennapeRegressor, GraphEncoder, batch_graphs,
                               count_ops, draw_graph, embed, graph_flops, laplacian_spectrum, make_encoder,
                               memberships, node_features, pretrain, structural_nt_xent, structural_similarity,
                               trace, train_regression)
from nascourse.gennape.encoder import seeded_module
from nascourse.gennape.graphs import MIN_FONT, OP_TYPES, layered_layout
from nascourse.nn import nb201_network
from nascourse.nn.nb101 import nb101_network
from nascourse.spaces import grammar, nb101, nb201

BEST = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
NB101_CELL = nb101.Cell([[0, 1, 1, 0, 1], [0, 0, 0, 1, 0], [0, 0, 0, 0, 1], [0, 0, 0, 0, 1], [0, 0, 0, 0, 0]],
                        ["input", "conv1x1-bn-relu", "maxpool3x3", "conv3x3-bn-relu", "output"])


def n_convs(module: nn.Module) -> int:
    return sum(isinstance(m, nn.Conv2d) for m in module.modules())


def ops_of(g: nx.DiGraph) -> list[str]:
    return [d["op"] for _, d in g.nodes(data=True)]


# ----------------------------------------------------------------- tracing


def test_trace_nb201(one_torch_thread):
    net = nb201_network(nb201.Cell.from_str(BEST), C=8, N=1)
    g = trace(net)
    assert nx.is_directed_acyclic_graph(g) and sorted(g) == list(range(g.number_of_nodes()))
    assert count_ops(g, "conv") == n_convs(net) == 1 + 3 * 5 + 2 * 3   # stem, 3 cells, 2 reductions
    assert ops_of(g)[0] == "input" and ops_of(g)[-1] == "output"
    assert "identity" not in ops_of(g) and "zero" not in ops_of(g)
    assert count_ops(g, "avgpool") == 2                 # the two reduction shortcuts
    stem = g.nodes[1]
    assert (stem["op"], stem["kernel"], stem["c_in"], stem["c_out"], stem["hw"]) == ("conv", 3, 3, 8, 32)
    strided = [d for _, d in g.nodes(data=True) if d["op"] == "conv" and d["stride"] == 2]
    assert sorted(d["hw"] for d in strided) == [8, 16]


def test_trace_nb201_removes_what_multiplies_by_zero(one_torch_thread):
    # node 2 reaches the output only through 'none': its 3x3 convolution computes nothing used
    cell = nb201.Cell.from_str("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    net = nb201_network(cell, C=8, N=1)
    g = trace(net)
    raw = trace(net, simplify=False)
    assert count_ops(raw, "conv") == n_convs(net) and "zero" in ops_of(raw)
    assert count_ops(g, "conv") == n_convs(net) - 3      # one dead 3x3 convolution per cell
    cell_kernels = [d["kernel"] for _, d in g.nodes(data=True) if d["op"] == "conv" and d["c_in"] == d["c_out"]
                    and d["stride"] == 1 and d["kernel"] == 3]
    assert len(cell_kernels) == 2                         # only the reduction blocks' conv_b are 3x3


def test_trace_nb101(one_torch_thread):
    net = nb101_network(NB101_CELL, C=8, cells_per_stack=1)
    g = trace(net)
    assert count_ops(g, "conv") == n_convs(net)
    assert count_ops(g, "maxpool") == 3 + 2               # one per cell, two between stacks
    assert count_ops(g, "concat") == 3                    # the output of each cell
    assert nx.is_directed_acyclic_graph(g)


def test_trace_grammar_network(one_torch_thread):
    tree = grammar.GRAMMAR.parse("net(stage(res(sepconv3x3)), stage(par(conv3x3, avgpool)), stage(identity))")
    net = grammar.build(tree, width=8)
    g = trace(net)
    assert count_ops(g, "conv") == n_convs(net) == 1 + 2 + 1 + 2
    grouped = [d for _, d in g.nodes(data=True) if d["op"] == "conv" and d["groups"] > 1]
    assert len(grouped) == 1 and grouped[0]["groups"] == 8


def test_trace_keeps_module_mode_and_features():
    net = nb201_network(nb201.Cell.from_str(BEST), C=8, N=1).train()
    g = trace(net)
    assert net.training
    x = node_features(g)
    assert x.shape == (g.number_of_nodes(), len(OP_TYPES) + 6)
    assert np.allclose(x[:, :len(OP_TYPES)].sum(axis=1), 1.0) and np.isfinite(x).all()
    assert graph_flops(g) > 0


def test_layered_layout_routes_every_edge_through_every_layer_it_crosses(one_torch_thread):
    g = trace(nb201_network(nb201.Cell.from_str(BEST), C=8, N=1))
    pos, routes = layered_layout(g)
    assert set(pos) == set(g) and set(routes) == set(g.edges)
    layer = {v: round(-y / 0.42) for v, (_, y) in pos.items()}
    nodes_at = {xy for xy in pos.values()}
    for (u, v), route in routes.items():
        assert route[0] == pos[u] and route[-1] == pos[v]
        assert len(route) == layer[v] - layer[u] + 1   # one point per layer, none skipped
        assert not nodes_at & set(route[1:-1])         # bends never sit on a node
    points = list(pos.values()) + [xy for route in routes.values() for xy in route[1:-1]]
    for y in {y for _, y in points}:   # nodes and bends of a layer keep a lane apart
        xs = sorted({x for x, yy in points if yy == y})
        assert all(b - a >= 0.8 - 1e-9 for a, b in zip(xs, xs[1:]))


def test_draw_graph_names_every_node_legibly(one_torch_thread):
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    g = trace(nb201_network(nb201.Cell.from_str(BEST), C=8, N=1))
    ax = draw_graph(g)
    labels = [t for t in ax.texts if t.get_text()]
    assert len(labels) == g.number_of_nodes()
    assert min(t.get_fontsize() for t in labels) >= MIN_FONT
    assert ax.figure.get_size_inches()[0] <= 6.8
    first = [v for v, d in g.nodes(data=True) if d["hw"] == 32]
    ax = draw_graph(g, nodes=first, title="first stage")
    assert len([t for t in ax.texts if t.get_text()]) == len(first) < g.number_of_nodes()
    assert ax.get_title() == "first stage"
    with pytest.raises(ValueError, match="subset"):
        draw_graph(g, nodes=[10_000])
    with pytest.raises(ValueError, match="fontsize"):
        draw_graph(g, fontsize=5)
    with pytest.raises(TypeError, match="DiGraph"):
        draw_graph(nx.Graph())
    plt.close("all")


def test_batch_and_subset():
    graphs = [trace(nb201_network(nb201.Cell.from_index(i), C=8, N=1)) for i in (0, 100, 5000)]
    batch = batch_graphs(graphs)
    assert batch.num_graphs == 3 and len(batch.x) == sum(g.number_of_nodes() for g in graphs)
    sub = batch.subset([2, 0])
    again = batch_graphs([graphs[2], graphs[0]])
    assert torch.equal(sub.x, again.x)
    assert sorted(map(tuple, sub.edge_index.T.tolist())) == sorted(map(tuple, again.edge_index.T.tolist()))
    assert torch.equal(sub.graph, again.graph)


def test_laplacian_spectrum_of_a_path():
    g = nx.DiGraph([(0, 1), (1, 2)])
    assert np.allclose(laplacian_spectrum(g, k=4), [3, 1, 0, 0])


# ----------------------------------------------------------------- the contrastive loss


def test_loss_on_a_hand_made_batch():
    z = torch.tensor([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    alpha = torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.5], [0.0, 1.0, 0.0]])
    tau = 0.5
    # anchor 0: sims to 1 and 2 are 0 and -1; anchor 1: 0 and 0; anchor 2: -1 and 0
    log_p = lambda own, other: own / tau - math.log(math.exp(own / tau) + math.exp(other / tau))
    expected = -(log_p(0, -1) + 0.5 * log_p(0, 0) + 0.5 * log_p(0, 0) + log_p(0, -1)) / 3
    assert structural_nt_xent(z, alpha, tau).item() == pytest.approx(expected, rel=1e-6)
    # scaling the embeddings changes nothing (cosine similarity)
    assert structural_nt_xent(3 * z, alpha, tau).item() == pytest.approx(expected, rel=1e-6)


def test_loss_prefers_embeddings_that_follow_the_structure():
    alpha = torch.tensor([[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0]])
    aligned = torch.tensor([[1.0, 0.0], [1.0, 0.1], [-1.0, 0.0], [-1.0, 0.1]])
    crossed = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.1], [-1.0, 0.1]])
    assert structural_nt_xent(aligned, alpha) < structural_nt_xent(crossed, alpha)


def test_structural_similarity():
    spectra = np.array([[3.0, 1.0], [3.0, 1.1], [6.0, 2.0]])
    alpha = structural_similarity(spectra)
    assert torch.allclose(alpha.sum(dim=1), torch.ones(3)) and torch.all(alpha.diagonal() == 0)
    assert alpha[0, 1] > alpha[0, 2] and alpha[2, 1] > alpha[2, 0]


def test_pretraining_lowers_the_loss(one_torch_thread):
    cells = [nb201.Cell.from_index(i) for i in range(0, 15625, 1500)]
    cells += [nb101.random_cell(s) for s in range(10)]
    graphs = [trace(nb201_network(c, C=8, N=1)) if isinstance(c, nb201.Cell) else
              trace(nb101_network(c, C=8, cells_per_stack=1)) for c in cells]
    batch = batch_graphs(graphs)
    spectra = np.array([laplacian_spectrum(g) for g in graphs])
    encoder = make_encoder(0, hidden=16, embedding=8)
    history = pretrain(encoder, batch, spectra, epochs=15, batch_size=32, seed=0)
    assert history[-1] < history[0]
    z = embed(encoder, batch)
    assert z.shape == (len(graphs), 8) and np.isfinite(z).all()
    twin = make_encoder(0, hidden=16, embedding=8)
    assert pretrain(twin, batch, spectra, epochs=15, batch_size=32, seed=0) == history


def test_supervised_training_fits_the_labels(one_torch_thread):
    graphs = [trace(nb201_network(nb201.Cell.from_index(i), C=8, N=1)) for i in range(0, 15625, 600)]
    batch = batch_graphs(graphs)
    y = np.array([n_convs(nb201_network(nb201.Cell.from_index(i), C=8, N=1)) for i in range(0, 15625, 600)], float)
    y = (y - y.mean()) / y.std()           # a label the graph shows directly: the number of convolutions
    encoder = make_encoder(0, hidden=16, embedding=8)
    history = train_regression(encoder, batch, y, epochs=60, batch_size=9, seed=0)
    assert len(history) == 60 and np.mean(history[-5:]) < 0.5 * history[0] and not encoder.training
    twin = make_encoder(0, hidden=16, embedding=8)
    assert train_regression(twin, batch, y, epochs=60, batch_size=9, seed=0) == history
    with pytest.raises(ValueError, match="one finite label per graph"):
        train_regression(twin, batch, y[:-1])
    with pytest.raises(TypeError, match="epochs"):
        train_regression(twin, batch, y, epochs=2.5)


# ----------------------------------------------------------------- fuzzy c-means


def test_fuzzy_cmeans_matches_scikit_fuzzy():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(c, 0.6, size=(40, 3)) for c in (-2.0, 0.0, 2.5)])
    init = rng.random((len(X), 3))
    ours = FuzzyCMeans(3, m=2.0, tol=1e-6, max_iter=200, init=init).fit(X)
    centers, u, _, _, jm, p, _ = skfuzzy.cluster.cmeans(X.T, 3, 2.0, error=1e-6, maxiter=200, init=init.T)
    assert ours.n_iter_ == p
    np.testing.assert_allclose(ours.cluster_centers_, centers, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.memberships_, u.T, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.objective_, jm, rtol=1e-9)
    new = rng.normal(0, 2, size=(10, 3))
    theirs, *_ = skfuzzy.cluster.cmeans_predict(new.T, centers, 2.0, error=1e-6, maxiter=1, init=None)
    np.testing.assert_allclose(ours.predict_proba(new), memberships(new, centers), rtol=1e-12)
    assert np.allclose(ours.predict_proba(new).sum(axis=1), 1.0)
    assert theirs.shape == (3, 10)


def test_fuzzy_cmeans_is_seeded_and_monotone():
    X = np.random.default_rng(1).normal(size=(60, 2))
    a = FuzzyCMeans(4, random_state=3).fit(X)
    b = FuzzyCMeans(4, random_state=3).fit(X)
    assert np.array_equal(a.memberships_, b.memberships_)
    assert np.all(np.diff(a.objective_) <= 1e-9)
    assert np.allclose(a.memberships_.sum(axis=1), 1.0)


# ----------------------------------------------------------------- label transform and ensemble


def test_label_transform_round_trip():
    acc = np.array([90.0, 92.5, 85.0, 93.7])
    flops = np.array([10.0, 80.0, 0.0, 200.0])
    t = FlopsTransform().fit(acc, flops=flops)
    y = t.transform(acc, flops=flops)
    assert y.shape == acc.shape and t.mean_.shape == t.std_.shape == (1,) and t.n_features_in_ == 1
    assert y.mean() == pytest.approx(0.0, abs=1e-12) and y.std() == pytest.approx(1.0)
    np.testing.assert_allclose(t.inverse_transform(y, flops=flops), acc, rtol=1e-12)
    ratio = acc / (np.log10(flops + 1) + 1)
    np.testing.assert_allclose(y, (ratio - ratio.mean()) / ratio.std())
    # a column (as TransformedTargetRegressor hands it) gives the same labels, as a column
    np.testing.assert_array_equal(t.transform(acc[:, None], flops=flops), y[:, None])
    # two columns are standardised separately
    both = FlopsTransform().fit(np.column_stack([acc, 2 * acc + 1]), flops=flops)
    np.testing.assert_allclose(both.transform(np.column_stack([acc, 2 * acc + 1]), flops=flops)[:, 0], y)
    plain = FlopsTransform(use_flops=False).fit(acc)
    np.testing.assert_allclose(plain.inverse_transform(plain.transform(acc)), acc)


def test_regressor_fits_and_is_seeded():
    rng = np.random.default_rng(0)
    Z = rng.normal(size=(80, 5))
    flops = 10 ** (1.5 + 0.3 * Z[:, 1])           # the embedding knows the size, as a CG's does
    acc = 90 + Z[:, 0] + 0.1 * rng.normal(size=80)
    a = GennapeRegressor(n_clusters=3, epochs=200, random_state=0).fit(Z, acc, flops=flops)
    b = clone(a).fit(Z, acc, flops=flops)
    pred = a.predict(Z, flops=flops)
    assert np.array_equal(pred, b.predict(Z, flops=flops))
    assert np.corrcoef(pred, acc)[0, 1] > 0.9 and a.score(Z, acc, flops=flops) > 0.8
    assert np.allclose(a.fcm_.predict_proba((Z - a.scaler_mean_) / a.scaler_std_).sum(axis=1), 1.0)
    single = GennapeRegressor(n_clusters=1, epochs=50).fit(Z, acc, flops=flops)
    assert single.fcm_ is None and len(single.model_.heads) == 1
    before = single.predict(Z, flops=flops)
    single.fine_tune(Z[:20], acc[:20], flops=flops[:20])
    assert not np.array_equal(single.predict(Z, flops=flops), before)
    with pytest.raises(ValueError, match="pass flops"):
        a.predict(Z)
    with pytest.raises(ValueError, match="X has 4 features, but GennapeRegressor is expecting 5"):
        a.predict(Z[:, :4], flops=flops)


def test_gennape_never_touches_the_global_generators(one_torch_thread):
    """Weights come from explicit generators: the same as seeding torch's global generator
    and building the module (so results did not change), but the global state is left as
    it was, and the same seed gives the same model whatever that state."""
    torch.manual_seed(7)
    reference = nn.Sequential(nn.Linear(5, 4), nn.LayerNorm(4), nn.Linear(4, 1))
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()
    ours = seeded_module(lambda: nn.Sequential(nn.Linear(5, 4), nn.LayerNorm(4), nn.Linear(4, 1)), 7, "cpu")
    for p, q in zip(reference.parameters(), ours.parameters(), strict=True):
        assert torch.equal(p, q)
    rng = np.random.default_rng(0)
    Z, acc, flops = rng.normal(size=(30, 4)), 90 + rng.normal(size=30), rng.uniform(1, 100, size=30)
    first = GennapeRegressor(n_clusters=2, epochs=20).fit(Z, acc, flops=flops).predict(Z, flops=flops)
    encoder = make_encoder(3, hidden=8, embedding=4)
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert np.array_equal(np.random.get_state()[1], numpy_state[1])
    torch.manual_seed(123)
    np.random.seed(123)
    np.testing.assert_array_equal(GennapeRegressor(n_clusters=2, epochs=20).fit(Z, acc, flops=flops)
                                  .predict(Z, flops=flops), first)
    for p, q in zip(encoder.parameters(), make_encoder(3, hidden=8, embedding=4).parameters()):
        assert torch.equal(p, q)


def test_estimators_raise_not_fitted():
    X = np.ones((4, 2))
    with pytest.raises(NotFittedError):
        FuzzyCMeans(2).predict_proba(X)
    with pytest.raises(NotFittedError):
        FlopsTransform().transform([90.0], flops=[1.0])
    with pytest.raises(NotFittedError):
        FlopsTransform().inverse_transform([0.0], flops=[1.0])
    for method in ("predict", "predict_labels"):
        with pytest.raises(NotFittedError):
            getattr(GennapeRegressor(), method)(X)
    with pytest.raises(NotFittedError):
        GennapeRegressor().fine_tune(X, np.arange(4.0), flops=np.ones(4))


# ----------------------------------------------------------------- bad input


def test_bad_input():
    net = nb201_network(nb201.Cell.from_str(BEST), C=8, N=1)
    with pytest.raises(TypeError, match="torch.nn.Module"):
        trace("not a network")
    with pytest.raises(ValueError, match=r"input_shape\[2\] must be a positive int"):
        trace(net, input_shape=(1, 3, 0, 32))
    with pytest.raises(TypeError, match=r"input_shape\[0\] must be a positive int"):
        trace(net, input_shape=(True, 3, 32, 32))
    with pytest.raises(TypeError, match="input_shape"):
        trace(net, input_shape="1x3x32x32")
    with pytest.raises(ValueError, match="unknown operation type 'pool'"):
        count_ops(trace(net), "pool")
    with pytest.raises(TypeError, match="sequence of networkx.DiGraph"):
        batch_graphs(trace(net))
    with pytest.raises(ValueError, match="zero diagonal"):
        structural_nt_xent(torch.ones(3, 2), torch.ones(3, 3))
    with pytest.raises(ValueError, match="temperature"):
        structural_nt_xent(torch.ones(3, 2), torch.zeros(3, 3), temperature=0)
    with pytest.raises(ValueError, match="one row per graph"):
        structural_similarity(np.ones(4))
    with pytest.raises(ValueError, match="n_clusters=6 needs at least 6 points, got 5 samples"):
        FuzzyCMeans(6).fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match="fuzziness m"):
        FuzzyCMeans(2, m=1.0).fit(np.random.default_rng(0).normal(size=(5, 2)))
    with pytest.raises(TypeError, match="fuzziness m"):
        FuzzyCMeans(2, m="2").fit(np.random.default_rng(0).normal(size=(5, 2)))
    with pytest.raises(TypeError, match="n_clusters must be a positive int"):
        FuzzyCMeans(2.0).fit(np.ones((5, 2)))
    with pytest.raises(ValueError, match="init must be a non-negative 5 x 2 array"):
        FuzzyCMeans(2, init=np.ones((5, 3))).fit(np.random.default_rng(0).normal(size=(5, 2)))
    with pytest.raises(TypeError, match="fuzziness m"):
        memberships(np.ones((3, 2)), np.ones((2, 2)), m=None)
    with pytest.raises(ValueError, match="X has 2 features but the centres have 3"):
        memberships(np.ones((3, 2)), np.ones((2, 3)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        FuzzyCMeans(2).fit([[0.0, np.nan], [1.0, 1.0]])
    with pytest.raises(ValueError, match="FLOPs must be >= 0"):
        FlopsTransform().fit([90.0, 91.0], flops=[-1.0, 5.0])
    with pytest.raises(ValueError, match="pass flops"):
        FlopsTransform().fit([90.0, 91.0])
    with pytest.raises(ValueError, match="got 1 FLOPs values for 2 networks"):
        FlopsTransform().fit([90.0, 91.0], flops=[5.0])
    with pytest.raises(TypeError, match="flops must be a numeric array"):
        FlopsTransform().fit([90.0, 91.0], flops=["a", "b"])
    with pytest.raises(ValueError, match="labels that differ"):
        FlopsTransform(use_flops=False).fit([90.0, 90.0])
    with pytest.raises(TypeError, match="use_flops"):      # checked by fit, as scikit-learn asks
        FlopsTransform(use_flops="yes").fit([90.0, 91.0])
    with pytest.raises(TypeError):                        # the FLOPs are a keyword argument
        FlopsTransform().fit([90.0, 91.0], flops=[5.0, 6.0]).transform([90.0], [5.0])
    with pytest.raises(TypeError, match="GraphBatch"):
        GraphEncoder()(torch.zeros(3, 21))
    with pytest.raises(ValueError, match="hidden must be a positive int"):
        GraphEncoder(hidden=0)


# ----------------------------------------------------------------- the chapter's experiment


def tiny_family(name: str, indices, C: int = 4) -> "experiment.Family":
    """NAS-Bench-201 cells traced at a tiny size, with their accuracy and published FLOPs."""
    from nascourse import benchmarks, features
    zc = benchmarks.load_zc_proxies("cifar10")
    cells = [nb201.Cell.from_index(int(i)) for i in indices]
    graphs = [trace(nb201_network(c, C=C, N=1)) for c in cells]
    return experiment.Family(name, cells, graphs, benchmarks.load_nb201("cifar10").loc[indices, "test_acc"].to_numpy(),
                             zc.loc[indices, "flops"].to_numpy(), features.graf(cells).to_numpy())


from nascourse.gennape import experiment  # noqa: E402


def test_nb201_flops_extends_the_published_ones():
    from nascourse import benchmarks
    flops = experiment.nb201_flops()
    zc = benchmarks.load_zc_proxies("cifar10")
    assert len(flops) == 15_625 and flops.index.equals(benchmarks.load_nb201("cifar10").index)
    np.testing.assert_allclose(flops.loc[zc.index], zc["flops"], atol=1e-6)
    # a cell with unreachable operations costs what its operations cost: here as much as
    # the cell with the same operations where every one reaches the output
    dead = nb201.Cell.from_str("|nor_conv_1x1~0|+|nor_conv_3x3~0|none~1|+|skip_connect~0|nor_conv_1x1~1|none~2|")
    live = nb201.Cell.from_str("|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_3x3~2|")
    assert dead.has_unreachable_ops() and not live.has_unreachable_ops()
    assert flops.loc[dead.index] == pytest.approx(flops.loc[live.index])
    assert flops.loc[live.index] > flops.loc[nb201.Cell.from_str(
        "|nor_conv_1x1~0|+|none~0|nor_conv_1x1~1|+|skip_connect~0|none~1|nor_conv_1x1~2|").index]


def test_flops_correlations_cover_every_family():
    table = experiment.flops_correlations()
    assert {"NAS-Bench-101", "TransNAS-Bench-101 micro", "NAS-Bench-301"} <= set(table["family"])
    assert (table["family"].str.startswith("NAS-Bench-201")).sum() == 4
    assert table["rho"].between(0.3, 0.9).all()      # size matters in every family, nowhere near 0


def test_every_darts_operation_has_a_graph_writer():
    from nascourse.gennape.graphs import DARTS_OP_WRITERS
    from nascourse.spaces import darts
    assert set(DARTS_OP_WRITERS) == set(darts.OPS)
    with pytest.raises(ValueError, match="unknown DARTS operation 'conv_7x7'"):
        DARTS_OP_WRITERS["conv_7x7"]


def test_darts_features_by_hand():
    from nascourse.spaces import darts
    cell = darts.Cell((("sep_conv_3x3", 0), ("skip_connect", 1), ("dil_conv_5x5", 2), ("max_pool_3x3", 0),
                       ("sep_conv_3x3", 3), ("sep_conv_3x3", 1), ("avg_pool_3x3", 4), ("skip_connect", 0)))
    plain = darts.Cell((("skip_connect", 0), ("skip_connect", 1)) * 4)
    table = experiment.darts_features([darts.Genotype(cell, plain)])
    row = table.iloc[0]
    assert table.shape == (1, 30)
    assert row["normal sep_conv_3x3"] == 3 and row["normal skip_connect"] == 2 and row["reduce skip_connect"] == 8
    assert row["normal convs from c_{k-2}"] == 1 and row["normal convs from c_{k-1}"] == 1
    assert row["normal chained nodes"] == 3 and row["reduce chained nodes"] == 0
    assert [row[f"normal depth of node {k}"] for k in range(4)] == [1, 2, 3, 4] and row["normal depth"] == 4
    assert row["reduce depth"] == 1
    with pytest.raises(TypeError, match="Genotype"):
        experiment.darts_features([cell])


def test_transfer_and_variants_on_tiny_families(one_torch_thread):
    zc_index = __import__("nascourse").benchmarks.load_zc_proxies("cifar10").index
    source = tiny_family("source", zc_index[:12].to_numpy())
    target = tiny_family("target", zc_index[20:36].to_numpy())
    more = tiny_family("more", zc_index[40:48].to_numpy())
    rows = experiment.transfer_seed(source, target, 0, n_finetune=6, epochs=2,
                                    methods=("GENNAPE", "FLOPs alone", "GRAF random forest"))
    assert [r["method"] for r in rows] == ["GENNAPE", "FLOPs alone", "GRAF random forest"]
    assert all(-1 <= r["fine-tuned"] <= 1 for r in rows) and np.isnan(rows[2]["zero-shot"])
    assert rows[1]["zero-shot"] == rows[1]["fine-tuned"]
    variant = experiment.Variant("tiny", hidden=8, layers=2, epochs=2, temperature=0.5, extra=("more",))
    a = experiment.variant_seed(source, target, 0, variant, {"more": more}, n_finetune=6)
    b = experiment.variant_seed(source, target, 0, variant, {"more": more}, n_finetune=6)
    assert a == b and a["variant"] == "tiny" and -1 <= a["zero-shot"] <= 1
    # the unlabelled graphs change the encoder, hence the result
    c = experiment.variant_seed(source, target, 0, experiment.Variant("tiny", hidden=8, layers=2, epochs=2,
                                                                      temperature=0.5), n_finetune=6)
    assert c["final loss"] != a["final loss"]
    with pytest.raises(ValueError, match="unlabelled family"):
        experiment.variant_seed(source, target, 0, variant, {}, n_finetune=6)
    with pytest.raises(ValueError, match="method"):
        experiment.transfer_seed(source, target, 0, n_finetune=6, methods=("GENNAPE", "magic"))
    with pytest.raises(ValueError, match="n_finetune"):
        experiment.transfer_seed(source, target, 0, n_finetune=20)
    with pytest.raises(ValueError, match="n must be an int"):
        experiment.nb201_family(9_445, seed=0, exclude=target)
    assert set(experiment.VARIANTS) >= {"as in the chapter", "+ both"}
    assert all(experiment.VARIANTS[name].name == name for name in experiment.VARIANTS)
    assert experiment.METHODS == tuple(experiment.TRANSFER_METHODS)


def test_a_new_transfer_method_is_one_function_and_one_line(one_torch_thread, scratch_registries):
    scratch_registries(experiment.TRANSFER_METHODS, experiment.VARIANTS)    # restored after the test
    zc_index = __import__("nascourse").benchmarks.load_zc_proxies("cifar10").index
    source = tiny_family("source", zc_index[:12].to_numpy())
    target = tiny_family("target", zc_index[20:36].to_numpy())

    @experiment.TRANSFER_METHODS.register("node count")
    def node_count(run):                  # rank by the size of the computational graph
        return run.rho(np.array([target.graphs[i].number_of_nodes() for i in run.test])), np.nan

    rows = experiment.transfer_seed(source, target, 0, n_finetune=6, methods=("node count", "FLOPs alone"))
    assert rows[0]["method"] == "node count" and -1 <= rows[0]["zero-shot"] <= 1 and np.isnan(rows[0]["fine-tuned"])
    added = experiment.add_variant("tiny test variant", hidden=8)
    assert experiment.VARIANTS["tiny test variant"] is added and added.hidden == 8


def test_variant_script_on_a_tiny_setting(one_torch_thread, capsys):
    from scripts import gennape_variants
    assert gennape_variants.main(["--seeds", "1", "--nb201", "12", "--nb301", "10", "--unlabelled", "4",
                                  "--finetune", "4", "--variants", "as in the chapter",
                                  "+ unlabelled target-space graphs"]) == 0
    out = capsys.readouterr().out
    assert "NAS-Bench-201 (Spearman's rho, 1 seeds" in out and "NAS-Bench-301" in out
    assert "+ unlabelled target-space graphs" in out
    with pytest.raises(ValueError, match="unknown variant 'no such variant'"):
        gennape_variants.run(1, 12, 10, 4, ["no such variant"], n_finetune=4)
