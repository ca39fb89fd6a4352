"""Tests of the architecture grammar: counting, sampling, strings, networks and graphs."""

import collections

import numpy as np
import pytest
import torch

from nascourse.spaces import grammar
from nascourse.spaces.grammar import GRAMMAR, Grammar, Tree

TINY = Grammar({"S": [("a",), ("b",), ("f", "S", "S")]})
WITH_UNITS = Grammar({
    "S": [("g", "T", "T"), ("T",)],
    "T": [("x",), ("y",), ("h", "S")],
})
NET = "net(stage(conv3x3), stage(res(conv1x1), avgpool), stage(par(sepconv3x3, identity)))"


def test_default_counts_by_hand():
    assert [GRAMMAR.count(d) for d in range(4)] == [0, 0, 0, 0]
    # depth 4: each stage holds one or two plain ops, 5 + 25 = 30 ways
    assert GRAMMAR.count(4) == 30**3
    # depth 5: a block is an op (5) or seq/par of two ops (25 each) or res of one (5): 60
    assert GRAMMAR.count(5) == (60 + 60**2) ** 3
    assert GRAMMAR.count(2, symbol="BLOCK") == 5
    assert GRAMMAR.min_depth() == 4 and GRAMMAR.min_depth("OP") == 1


def test_tiny_counts_by_hand_and_by_enumeration():
    assert [TINY.count(d) for d in range(5)] == [0, 2, 6, 38, 1446]
    for d in range(5):
        strings = [str(t) for t in TINY.enumerate(d)]
        assert len(strings) == len(set(strings)) == TINY.count(d)
    for d in range(6):
        strings = {str(t) for t in WITH_UNITS.enumerate(d)}
        assert len(strings) == WITH_UNITS.count(d)
        assert all(str(WITH_UNITS.parse(s)) == s for s in strings)
    assert WITH_UNITS.count(6) > WITH_UNITS.count(5) == WITH_UNITS.count(4) == 72  # grows every 2 levels


def test_enumeration_respects_depth():
    trees = list(GRAMMAR.enumerate(3, symbol="BLOCK"))
    assert len(trees) == GRAMMAR.count(3, symbol="BLOCK") == 60
    assert max(t.depth for t in trees) == 3


def test_samples_are_valid_seeded_and_within_depth():
    for seed in range(30):
        t = GRAMMAR.sample(seed, max_depth=6)
        assert GRAMMAR.check(t) is t and 4 <= t.depth <= 6
        assert set(t.leaves()) <= {"conv3x3", "conv1x1", "sepconv3x3", "avgpool", "identity"}
    assert GRAMMAR.sample(3, 6) == GRAMMAR.sample(np.random.default_rng(3), 6)
    assert GRAMMAR.sample(3, 4).depth == 4
    assert GRAMMAR.count(7) > 2**64 and GRAMMAR.sample(2, 7, uniform=True).depth <= 7
    with pytest.raises(ValueError, match="shallowest has depth 4"):
        GRAMMAR.sample(0, max_depth=3)
    with pytest.raises(TypeError, match="seed must be an int or a numpy.random.Generator"):
        GRAMMAR.sample("seed")
    with pytest.raises(TypeError, match="max_depth"):
        GRAMMAR.sample(0, max_depth=2.5)
    with pytest.raises(ValueError, match="max_depth"):
        GRAMMAR.count(-1)


def test_uniform_sampling_is_uniform_over_strings():
    rng = np.random.default_rng(0)
    n = 6000
    uniform = collections.Counter(str(TINY.sample(rng, 2, uniform=True)) for _ in range(n))
    assert len(uniform) == 6
    assert all(abs(c / n - 1 / 6) < 0.025 for c in uniform.values())
    # the default picks an alternative uniformly: 'a' a third of the time, f(a, a) a twelfth
    default = collections.Counter(str(TINY.sample(rng, 2)) for _ in range(n))
    assert abs(default["a"] / n - 1 / 3) < 0.025 and abs(default["f(a, a)"] / n - 1 / 12) < 0.02


def test_string_round_trip():
    for seed in range(40):
        t = GRAMMAR.sample(seed, 6)
        s = GRAMMAR.to_string(t)
        assert GRAMMAR.parse(s) == t
    t = GRAMMAR.parse(NET)
    assert GRAMMAR.to_string(t) == NET
    assert GRAMMAR.parse(NET.replace(", ", " ,\n ").replace("(", " ( ")) == t
    block = GRAMMAR.parse("seq(conv3x3, identity)", symbol="BLOCK")
    assert block.symbol == "BLOCK" and block.children[1] == Tree("BLOCK", None, (Tree("OP", "identity"),))


@pytest.mark.parametrize(
    "text, message",
    [
        ("net(stage(conv5x5), stage(identity), stage(identity))", r"'conv5x5'.*valid symbols here are \[.*'conv3x3'"),
        ("net(stage(res(conv3x3, conv1x1)), stage(identity), stage(identity))", "'res'.*takes 1 argument"),
        ("net(stage(identity), stage(identity))", "'net'.*takes 3 argument"),
        ("net(stage(identity), stage(identity), stage(identity)", "missing '\\)'"),
        ("net(stage(identity), stage(identity), stage(identity)) x", "unexpected 'x'"),
        ("net(stage(identity); stage(identity), stage(identity))", "unexpected character ';'"),
        ("net(stage(), stage(identity), stage(identity))", "expected a symbol"),
        ("conv3x3", r"where NET is expected; valid symbols here are \['net'\]"),
        ("   ", "empty"),
    ],
)
def test_bad_strings_name_the_bad_token(text, message):
    with pytest.raises(ValueError, match=message):
        GRAMMAR.parse(text)


def test_parse_and_check_reject_wrong_types_and_trees():
    with pytest.raises(TypeError):
        GRAMMAR.parse(42)
    with pytest.raises(ValueError, match="unknown nonterminal 'LAYER'"):
        GRAMMAR.parse("conv3x3", symbol="LAYER")
    with pytest.raises(ValueError, match="no alternative 'conv9x9'"):
        GRAMMAR.to_string(Tree("OP", "conv9x9"))
    with pytest.raises(ValueError, match="expected a derivation of 'NET'"):
        GRAMMAR.check(Tree("OP", "conv3x3"))
    with pytest.raises(TypeError):
        GRAMMAR.to_string("net")


@pytest.mark.parametrize(
    "productions, message",
    [
        ({"S": [("f", "A"), ("f", "B")], "A": [("a",)], "B": [("b",)]}, "ambiguous"),
        ({"S": [("f", "X")]}, "unknown nonterminal 'X'"),
        ({"S": [("T",)], "T": [("S",)]}, "cycle of unit productions"),
        ({"S": [("f", "S")]}, "derive no finite string"),
        ({"S": []}, "non-empty list"),
        ({"S": [("a b",)]}, "not an identifier"),
        ({"S": [("T", "T")], "T": [("t",)]}, "must start with a terminal"),
    ],
)
def test_bad_grammars(productions, message):
    with pytest.raises(ValueError, match=message):
        Grammar(productions)


def test_grammar_metadata():
    assert GRAMMAR.start == "NET" and GRAMMAR.nonterminals == ("NET", "STAGE", "BLOCK", "OP")
    assert set(GRAMMAR.terminals) == {"net", "stage", "seq", "res", "par", *grammar.BUILD_OPS}
    assert GRAMMAR.valid_heads("STAGE") == ["stage/1", "stage/2"]
    with pytest.raises(ValueError, match="start symbol 'X'"):
        Grammar({"S": [("a",)]}, start="X")
    with pytest.raises(TypeError):
        Grammar([("S", "a")])


def test_sampled_networks_run_and_give_logits():
    x = torch.randn(2, 3, 32, 32)
    sizes = set()
    for seed in range(6):
        net = grammar.build(GRAMMAR.sample(seed, 6), width=4)
        net.eval()
        with torch.no_grad():
            out = net(x)
        assert out.shape == (2, 10) and torch.isfinite(out).all()
        sizes.add(sum(p.numel() for p in net.parameters()))
    assert len(sizes) == 6  # different trees, different networks
    net = grammar.build(GRAMMAR.parse(NET), in_channels=1, num_classes=3, width=8)
    assert net(torch.randn(2, 1, 32, 32)).shape == (2, 3)
    strided = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2)]
    assert len(strided) == 2 and strided[-1].out_channels == 32


def test_a_single_block_builds_as_one_stage():
    net = grammar.build(GRAMMAR.parse("res(conv3x3)", symbol="BLOCK"), width=4)
    assert net(torch.randn(2, 3, 16, 16)).shape == (2, 10)
    assert not any(isinstance(m, torch.nn.Conv2d) and m.stride == (2, 2) for m in net.modules())


def test_combinators_compute_what_they_say():
    x = torch.randn(2, 3, 4, 4)
    assert torch.equal(grammar.Residual(torch.nn.Identity())(x), 2 * x)
    assert torch.equal(grammar.Parallel([torch.nn.Identity(), torch.nn.Identity(), torch.nn.Identity()])(x), 3 * x)


def test_build_rejects_bad_input():
    tree = GRAMMAR.parse(NET)
    with pytest.raises(ValueError, match="width must be a positive int, got 0"):
        grammar.build(tree, width=0)
    with pytest.raises(TypeError, match="num_classes"):
        grammar.build(tree, num_classes=2.0)
    with pytest.raises(TypeError):
        grammar.build(NET)
    odd = Grammar({"S": [("stage", "O")], "O": [("conv7x7",)]})
    with pytest.raises(ValueError, match="'conv7x7'.*operations"):
        grammar.build(odd.parse("stage(conv7x7)"))


def test_to_graph_is_the_tree_without_unit_productions():
    tree = GRAMMAR.parse(NET)
    g = grammar.to_graph(tree)
    # net, 3 stages, res, par, and 6 leaves (conv3x3, conv1x1, avgpool, sepconv3x3, identity)
    labels = [g.nodes[v]["label"] for v in g]
    assert labels[:3] == ["net", "stage", "conv3x3"] and len(labels) == 11
    assert g.number_of_edges() == g.number_of_nodes() - 1
    assert g.nodes[2]["symbol"] == "OP" and g.nodes[2]["depth"] == 2
    full = grammar.to_graph(tree, collapse_units=False)
    assert full.number_of_nodes() == 11 + 5  # one BLOCK -> OP unit node per operation
    with pytest.raises(TypeError):
        grammar.to_graph(NET)
