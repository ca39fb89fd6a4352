"""Tests of the zero-cost proxies (nascourse.proxies, chapter 05).

Each proxy is checked against a value derived by hand on a tiny network, the
data-independent ones against the published NAS-Bench-Suite-Zero numbers, and all of them
for purity (the caller's network is untouched), sharing of passes, determinism and clear
errors on bad input.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from nascourse import benchmarks, proxies
from nascourse.proxies import proxy
from nascourse.nn import nb201_network, nb201_num_params
from nascourse.proxies.passes import (PASSES, MainPass, Passes, ProxyError, SynflowPass, WindowSumAvgPool2d,
                                      ZenPass, use_window_sums)
from nascourse.proxies.timing import CostRatio, cost_ratio, cpu_seconds, step_seconds
from nascourse.spaces import nb201

REPO = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.usefixtures("one_torch_thread")
BEST_CELL = "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|"
POOL_CELL = "|avg_pool_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|nor_conv_3x3~0|skip_connect~1|avg_pool_3x3~2|"


def batch(n=8, shape=(3, 8, 8), classes=3, seed=0):
    gen = torch.Generator().manual_seed(seed)
    return torch.randn((n, *shape), generator=gen), torch.arange(n) % classes


def mlp(bias=True, seed=0, width=5):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Flatten(), nn.Linear(6, width, bias=bias), nn.ReLU(), nn.Linear(width, 3, bias=bias))


def small_nb201(cell=BEST_CELL, seed=0):
    torch.manual_seed(seed)
    return nb201_network(nb201.Cell.from_str(cell), C=4, N=1, num_classes=3)


def loss_grads(net, x, y):
    """Weights and loss gradients of the linear layers, computed the plain way."""
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), weights)
    return [w.detach() for w in weights], grads


# ---------------------------------------------------------------- the registry
def test_names_are_the_thirteen_of_nas_bench_suite_zero():
    assert proxies.NAMES == benchmarks.ZC_PROXIES
    assert len(proxies.NAMES) == 13


def test_every_proxy_cites_a_paper_in_the_bibliography():
    bib = (REPO / "chapters" / "references.bib").read_text(encoding="utf-8")
    pending = REPO / "chapters" / "_pending_ch05.bib"
    bib += pending.read_text(encoding="utf-8") if pending.exists() else ""
    for name in proxies.NAMES:
        entry = proxies.get(name)
        assert "{" + entry.paper + "," in bib, (name, entry.paper)
        assert entry.summary and entry.compute.__doc__


def test_the_registry_is_the_package_registry_and_adding_a_proxy_takes_one_line(scratch_registries):
    from nascourse.proxies import registry
    from nascourse.registry import Registry

    assert isinstance(proxies.REGISTRY, Registry) and proxies.REGISTRY is registry.REGISTRY
    assert registry.PASSES is PASSES                     # the pass names are defined once
    # a toy proxy, added the way the registry's docstring says; the registry is restored after
    scratch_registries(proxies.REGISTRY)

    @proxy("toy_sum_of_grads", needs=("gradients",), paper="lee2019snip", family="gradient", uses_labels=True)
    def toy(p: Passes) -> float:
        """Sum of all loss gradients (a test's toy)."""
        return sum(g.sum().item() for g in p.main.grads)

    net, (x, y) = mlp(), batch(6, (6,))
    _, grads = loss_grads(net, x, y)
    assert proxies.get("toy_sum_of_grads").summary == "Sum of all loss gradients (a test's toy)."
    value = proxies.score(net, x, y, names="toy_sum_of_grads")["toy_sum_of_grads"]
    assert value == pytest.approx(sum(g.sum().item() for g in grads), rel=1e-5, abs=1e-7)
    with pytest.raises(ValueError, match="already registered"):
        proxy("toy_sum_of_grads", needs=("gradients",), paper="x", family="gradient")(toy)
    with pytest.raises(ValueError, match=r"unknown passes \['grads'\]"):
        proxy("toy_2", needs=("grads",), paper="x", family="gradient")
    with pytest.raises(TypeError, match="needs"):
        proxy("toy_2", needs="gradients", paper="x", family="gradient")
    with pytest.raises(TypeError, match="uses_labels"):
        proxy("toy_2", needs=("gradients",), paper="x", family="gradient", uses_labels=1)


def test_every_own_pass_is_a_cached_property_of_passes():
    from functools import cached_property

    from nascourse.proxies.passes import MAIN_PASS, OWN_PASSES

    assert set(PASSES) == MAIN_PASS | set(OWN_PASSES) and len(PASSES) == len(set(PASSES))
    assert all(isinstance(getattr(Passes, name), cached_property) for name in OWN_PASSES)
    assert set().union(*(proxies.get(n).needs for n in proxies.NAMES)) == set(PASSES)  # all used


def test_passes_return_typed_results_with_only_what_was_asked():
    net, (x, y) = small_nb201(), batch(6)
    passes = Passes(net, x, y, needs=frozenset({"fisher", "synflow", "zen"}))
    main = passes.main
    assert isinstance(main, MainPass) and main.num_outputs == 3
    assert len(main.fisher) == len(main.weights) == len(main.grads)
    assert main.jacobian is None and main.relu_kernel is None and main.hessian_grad is None
    assert main.flops is None
    assert isinstance(passes.synflow, SynflowPass) and len(passes.synflow.terms) == len(main.weights)
    assert isinstance(passes.zen, ZenPass) and passes.zen.gap > 0
    with pytest.raises(ValueError, match="unknown passes"):
        Passes(net, x, y, needs=frozenset({"hessians"}))
    with pytest.raises(TypeError, match="seed"):
        Passes(net, x, y, seed=0.5)


def test_the_shared_pass_hands_its_finished_copy_to_zen_once():
    net, (x, y) = small_nb201(POOL_CELL), batch(6)
    passes = Passes(net, x, y, needs=frozenset({"hessian"}))
    passes.main                                             # ran with window sums
    finished = passes.copy_to_reinitialise()
    assert finished is not net and not any(type(m) is WindowSumAvgPool2d for m in finished.modules())
    assert all(torch.equal(a, b) for a, b in zip(finished.parameters(), net.parameters()))
    fresh = passes.copy_to_reinitialise()                   # handed out once: now a new copy
    assert fresh is not finished and fresh is not net
    # zen does not depend on whether it reused the shared pass's copy (nwot first) or not
    values = [proxies.score(net, x, y, names)["zen"] for names in (["zen"], ["zen", "nwot"], ["nwot", "zen"])]
    assert values[0] == values[1] == values[2]


@pytest.mark.parametrize("dtype, tolerance", [(torch.float32, 1e-4), (torch.float64, 1e-10)])
def test_scoring_grasp_moves_the_other_proxies_by_rounding_only(dtype, tolerance):
    # With grasp the shared pass runs in the default layout with window-sum pooling, without
    # it in the batch's layout with torch's pooling (see proxies.score): a rounding gap.
    net, (x, y) = small_nb201(POOL_CELL).to(dtype), batch(8)
    x = x.to(dtype).contiguous(memory_format=torch.channels_last)
    gaps = proxies.grasp_gap(net, x, y)
    assert set(gaps) == set(proxies.NAMES) - {"grasp"}
    shared = {"snip", "grad_norm", "plain", "fisher", "jacov", "epe_nas", "nwot"}
    assert all(gaps[n] == 0 for n in set(gaps) - shared)       # the other passes are not touched
    assert max(gaps.values()) < tolerance, gaps
    if dtype is torch.float32:
        assert max(gaps.values()) > 0     # float32: the two forms do round differently


# ---------------------------------------------------------------- values derived by hand
def test_params_and_flops_of_a_known_conv_net():
    net = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False), nn.BatchNorm2d(4), nn.ReLU(),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(4, 2))
    x = torch.randn(2, 3, 8, 8)
    scores = proxies.score(net, x, names=["params", "flops"])
    assert scores["params"] == 3 * 4 * 9 + 2 * 4 + 4 * 2 + 2
    conv, norm, relu = 4 * 8 * 8 * 3 * 9, 2 * 4 * 8 * 8, 4 * 8 * 8
    gap, linear = 4 * (8 + 1) ** 2, 4 * 2   # torchstat's (h+1)(w+1) per window; no bias
    assert scores["flops"] == conv + norm + relu + gap + linear


@pytest.mark.parametrize("index", [0, 1, 6111])
def test_params_and_flops_equal_the_published_values(index):
    zc = benchmarks.load_zc_proxies("cifar10")
    cell = nb201.Cell.from_index(index)
    net = nb201_network(cell)
    table = proxies.table_units(proxies.score(net, torch.zeros(2, 3, 32, 32), names=["params", "flops"]))
    assert table["params"] == nb201_num_params(cell) / 1e6 == pytest.approx(zc.loc[index, "params"], abs=1e-9)
    assert table["flops"] == pytest.approx(zc.loc[index, "flops"], abs=1e-9)


def test_synflow_of_a_two_layer_linear_network_in_closed_form():
    net = mlp(bias=False)
    w1, w2 = net[1].weight.detach().double(), net[3].weight.detach().double()
    flow = (w2.abs() @ w1.abs() @ torch.ones(6, dtype=torch.float64)).sum().item()
    # R is linear in each layer's weights, so each layer's sum of w dR/dw equals R
    assert proxies.score(net, torch.randn(4, 6), names="synflow")["synflow"] == pytest.approx(2 * flow, rel=1e-12)


def test_synflow_bypasses_batchnorm_and_ignores_the_data():
    net = mlp(bias=False)
    with_norm = nn.Sequential(net[0], net[1], nn.BatchNorm1d(5), net[2], net[3])
    x1, x2 = torch.randn(4, 6), 100 * torch.rand(7, 6)
    values = {proxies.score(m, x, names="synflow")["synflow"] for m in (net, with_norm) for x in (x1, x2)}
    assert len(values) == 1


def test_snip_grad_norm_and_plain_by_hand():
    net, (x, y) = mlp(), batch(8, (6,))
    weights, grads = loss_grads(net, x, y)
    scores = proxies.score(net, x, y, names=["snip", "grad_norm", "plain", "l2_norm"])
    assert scores["snip"] == pytest.approx(sum((g * w).abs().sum().item() for w, g in zip(weights, grads)), rel=1e-6)
    assert scores["plain"] == pytest.approx(sum((g * w).sum().item() for w, g in zip(weights, grads)), rel=1e-5)
    assert scores["grad_norm"] == pytest.approx(sum(g.norm().item() for g in grads), rel=1e-6)
    assert scores["l2_norm"] == pytest.approx(sum(w.norm().item() for w in weights), rel=1e-6)


def test_grasp_is_minus_theta_hessian_gradient():
    torch.manual_seed(1)
    net = nn.Sequential(nn.Linear(4, 3, bias=False), nn.Tanh(), nn.Linear(3, 3, bias=False))
    x, y = batch(6, (4,))
    shapes = [m.weight.shape for m in (net[0], net[2])]
    theta = torch.cat([net[0].weight.detach().flatten(), net[2].weight.detach().flatten()]).double()

    def loss(flat):
        w1, w2 = flat[:12].view(shapes[0]), flat[12:].view(shapes[1])
        return F.cross_entropy(torch.tanh(x.double() @ w1.T) @ w2.T, y)

    hessian = torch.autograd.functional.hessian(loss, theta)
    grad = torch.autograd.functional.jacobian(loss, theta)
    expected = -(theta @ hessian @ grad).item()
    assert proxies.score(net, x, y, names="grasp")["grasp"] == pytest.approx(expected, rel=1e-4)


def test_grasp_through_average_pooling_equals_the_plain_double_backward():
    # The shared pass computes stride-1 average pooling by matrix products; grasp must be
    # what a double backward through torch's own pooling layers gives (float64: no rounding).
    net, (x, y) = small_nb201(POOL_CELL).double().train(), batch(8)
    x = x.double()
    weights = [m.weight for m in net.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
    grads = torch.autograd.grad(F.cross_entropy(net(x), y), weights, create_graph=True)
    hg = torch.autograd.grad(sum((g.detach() * g).sum() for g in grads), weights)
    expected = -sum((w * h).sum() for w, h in zip(weights, hg)).item()
    assert any(type(m) is nn.AvgPool2d for m in net.modules())
    assert proxies.score(net, x, y, names="grasp")["grasp"] == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("kernel, padding, include_pad, ceil, shape", [
    (3, 1, False, False, (2, 3, 8, 8)),       # NAS-Bench-201's avg_pool_3x3
    (3, 1, True, False, (2, 3, 7, 5)),
    (5, 2, False, True, (1, 2, 9, 6)),
    ((3, 5), (1, 0), False, False, (2, 2, 6, 7)),
    (2, 0, True, False, (3, 5, 5)),           # an unbatched (C, H, W) input
])
def test_window_sum_pooling_equals_avgpool2d_to_second_order(kernel, padding, include_pad, ceil, shape):
    torch_pool = nn.AvgPool2d(kernel, stride=1, padding=padding, count_include_pad=include_pad, ceil_mode=ceil)
    ours = use_window_sums(nn.Sequential(nn.AvgPool2d(kernel, stride=1, padding=padding,
                                                      count_include_pad=include_pad, ceil_mode=ceil)))[0]
    assert type(ours) is WindowSumAvgPool2d and isinstance(ours, nn.AvgPool2d)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(shape, generator=gen, dtype=torch.float64, requires_grad=True)
    v = torch.randn(torch_pool(x).shape, generator=gen, dtype=torch.float64)

    def derivatives(pool):
        out = pool(x)
        (g,) = torch.autograd.grad((out * out * v).sum(), x, create_graph=True)
        (gg,) = torch.autograd.grad((g * g).sum(), x)
        return out, g, gg

    for a, b in zip(derivatives(ours), derivatives(torch_pool)):
        torch.testing.assert_close(a, b, rtol=1e-12, atol=1e-12)
    if x.dim() == 4:
        last = x.detach().contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(ours(last), torch_pool(last), rtol=1e-12, atol=1e-12)
    large = torch.randn((1, 2, WindowSumAvgPool2d.MAX_SIDE + 1, 5), generator=gen, dtype=torch.float64)
    torch.testing.assert_close(ours(large), torch_pool(large), rtol=1e-12, atol=1e-12)   # the kernel's way


def test_window_sums_replace_only_what_they_compute_exactly():
    net = nn.Sequential(nn.AvgPool2d(3, 1, 1), nn.AvgPool2d(2, stride=2), nn.AvgPool2d(3, 1, 1, divisor_override=4),
                        nn.MaxPool2d(3, 1, 1))
    kinds = [type(m) for m in use_window_sums(net).modules()]
    assert kinds[1:] == [WindowSumAvgPool2d, nn.AvgPool2d, nn.AvgPool2d, nn.MaxPool2d]
    assert type(use_window_sums(net, on=False)[0]) is nn.AvgPool2d


def test_fisher_of_a_single_linear_layer():
    torch.manual_seed(2)
    net = nn.Linear(5, 4)
    x, y = batch(10, (5,), classes=4)
    a = net(x).detach()
    g = (torch.softmax(a, 1) - F.one_hot(y, 4)) / len(x)          # dL/da for the mean cross-entropy
    expected = (0.5 * (a * g).pow(2).mean(0)).sum().item()
    assert proxies.score(net, x, y, names="fisher")["fisher"] == pytest.approx(expected, rel=1e-5)


def test_jacov_when_all_jacobians_are_equal():
    torch.manual_seed(3)
    net = nn.Sequential(nn.Flatten(), nn.Linear(6, 3))   # linear: every image has the same Jacobian
    x, y = batch(5, (6,))
    n, k = 5, 1e-5        # correlation matrix of ones: eigenvalues n (once) and 0 (n - 1 times)
    expected = -(math.log(n + k) + 1 / (n + k)) - (n - 1) * (math.log(k) + 1 / k)
    assert proxies.score(net, x, y, names="jacov")["jacov"] == pytest.approx(expected, rel=1e-6)


def test_jacov_and_epe_nas_from_a_hand_made_jacobian():
    net, (x, y) = mlp(), batch(9, (6,))
    xg = x.clone().requires_grad_(True)
    (jac,) = torch.autograd.grad(net(xg).sum(), xg)
    jac = jac.double().numpy()
    eig = np.clip(np.linalg.eigvalsh(np.corrcoef(jac)), 0, None)
    expected_jacov = -np.sum(np.log(eig + 1e-5) + 1 / (eig + 1e-5))
    labels = y.numpy()
    expected_epe = sum(abs(np.log(np.abs(np.corrcoef(jac[labels == c])) + 1e-5).sum()) for c in range(3))
    scores = proxies.score(net, x, y, names=["jacov", "epe_nas"])
    assert scores["jacov"] == pytest.approx(expected_jacov, rel=1e-5)
    assert scores["epe_nas"] == pytest.approx(expected_epe, rel=1e-5)


def test_nwot_kernel_by_hand():
    net, (x, y) = mlp(width=40), batch(6, (6,))
    codes = (net[1](net[0](x)) > 0).double()               # what enters the only ReLU
    agree = codes @ codes.T + (1 - codes) @ (1 - codes).T
    expected = np.linalg.slogdet(agree.numpy())[1]
    assert proxies.score(net, x, y, names="nwot")["nwot"] == pytest.approx(expected, rel=1e-9)


def test_nwot_counts_inplace_relus_and_shared_inputs():
    net, (x, y) = mlp(width=40), batch(6, (6,))
    twice = nn.Sequential(net[0], net[1], nn.ReLU(inplace=True), net[3])
    codes = (net[1](net[0](x)) > 0).double()
    agree = codes @ codes.T + (1 - codes) @ (1 - codes).T
    assert proxies.score(twice, x, y, names="nwot")["nwot"] == pytest.approx(np.linalg.slogdet(agree.numpy())[1])


def test_zen_uses_only_the_shape_of_the_batch_and_its_seed():
    net = small_nb201()
    x1, x2 = torch.randn(4, 3, 8, 8), torch.rand(4, 3, 8, 8)
    a, b = (proxies.score(net, x, names="zen", seed=0)["zen"] for x in (x1, x2))
    assert a == b
    assert proxies.score(net, x1, names="zen", seed=1)["zen"] != a


def test_the_memory_layout_of_the_batch_changes_no_value():
    # Proxies run in the layout of the caller's batch (channels-last images are faster on a
    # CPU); the values must not depend on it beyond floating-point rounding.
    net, (x, y) = small_nb201(), batch(6, (3, 8, 8))
    plain = proxies.score(net, x.contiguous(), y)
    channels_last = proxies.score(net, x.contiguous(memory_format=torch.channels_last), y)
    assert x.contiguous(memory_format=torch.channels_last).stride() != x.contiguous().stride()
    for name in proxies.NAMES:
        rel = 1e-3 if name in ("grasp", "plain") else 1e-4   # signed sums that nearly cancel
        assert channels_last[name] == pytest.approx(plain[name], rel=rel, abs=1e-6), name


def test_zen_by_hand_on_a_linear_map_with_a_norm():
    torch.manual_seed(4)
    net = nn.Sequential(nn.Linear(3, 4, bias=False), nn.BatchNorm1d(4))
    shape = (6, 3)
    gen = torch.Generator().manual_seed(0)
    w = torch.randn((4, 3), generator=gen)
    x = torch.randn(shape, generator=gen)
    mixed = x + 0.01 * torch.randn(shape, generator=gen)
    h1, h2 = x @ w.T, mixed @ w.T
    norm = lambda h: (h - h.mean(0)) / torch.sqrt(h.var(0, unbiased=False) + 1e-5)  # noqa: E731
    gap = (norm(h1) - norm(h2)).norm(dim=1).mean().item()  # no pooling layer: the output is f
    expected = math.log(gap) + 0.5 * math.log(h1.var(0, unbiased=False).mean().item())
    assert proxies.score(net, torch.zeros(shape), names="zen")["zen"] == pytest.approx(expected, rel=1e-4)


# ---------------------------------------------------------------- the guarantees
def snapshot(net):
    return ({k: v.clone() for k, v in net.state_dict().items()},
            [(type(m), m.training) for m in net.modules()], [p.requires_grad for p in net.parameters()])


@pytest.mark.parametrize("cell", [BEST_CELL, POOL_CELL])
def test_score_never_changes_the_callers_network(cell):
    net = small_nb201(cell)
    net.eval()
    net.cells[0].train()                      # a mixed mode, to be restored exactly
    net.stem[0].weight.requires_grad_(False)
    calls = []
    handle = net.stem.register_forward_hook(lambda *args: calls.append(1))
    state, modes, flags = snapshot(net)
    rng = torch.get_rng_state()
    x, y = batch(8)
    proxies.score(net, x, y)
    after_state, after_modes, after_flags = snapshot(net)
    assert state.keys() == after_state.keys()
    assert all(torch.equal(state[k], after_state[k]) for k in state)   # weights and BN buffers
    assert modes == after_modes and flags == after_flags
    assert all(p.grad is None for p in net.parameters())
    assert calls == [] and len(net.stem._forward_hooks) == 1           # the caller's hook: kept, not run
    assert torch.equal(rng, torch.get_rng_state())                     # no global random draws
    handle.remove()
    assert all(not m._forward_hooks and not m._forward_pre_hooks for m in net.modules())


def test_all_thirteen_are_finite_and_deterministic():
    net, (x, y) = small_nb201(), batch(8)
    first, second = proxies.score(net, x, y), proxies.score(net, x, y)
    assert list(first) == list(proxies.NAMES)
    assert all(isinstance(v, float) and math.isfinite(v) for v in first.values())
    assert first == second


class Counted(nn.Module):
    """An identity that counts how often any copy of it runs."""

    calls = 0

    def forward(self, x):
        type(self).calls += 1
        return x


def test_passes_are_shared():
    net = nn.Sequential(Counted(), small_nb201())
    x, y = batch(8)
    Counted.calls = 0
    proxies.score(net, x, y)
    # one forward on the batch (all gradient, Jacobian, ReLU and flops proxies), one for
    # synflow, two for zen
    assert Counted.calls == 4


def test_score_follows_the_requested_names():
    net, (x, y) = small_nb201(), batch(8)
    scores = proxies.score(net, x, y, names=["synflow", "params", "synflow"])
    assert list(scores) == ["synflow", "params"]
    assert scores == {k: v for k, v in proxies.score(net, x, y).items() if k in scores}


def test_table_units():
    out = proxies.table_units({"params": 1_500_000.0, "flops": 2e6, "synflow": math.e ** 3, "nwot": 1.5})
    assert out == pytest.approx({"params": 1.5, "flops": 2.0, "synflow": 3.0, "nwot": 1.5})
    assert proxies.table_units({"synflow": 0.0})["synflow"] == 0.0
    assert proxies.TABLE_UNITS == {"params": "millions", "flops": "millions (MFLOPs)", "synflow": "natural log"}
    assert proxies.table_units({"val_acc": 91.5}) == {"val_acc": 91.5}       # not a proxy: unchanged


# ---------------------------------------------------------------- errors
def test_unknown_proxy_name():
    net, (x, y) = mlp(), batch(4, (6,))
    with pytest.raises(ValueError, match="unknown proxy 'naswot'.*nwot"):
        proxies.score(net, x, y, names=["naswot"])
    with pytest.raises(ValueError, match="names is empty"):
        proxies.score(net, x, y, names=[])
    with pytest.raises(TypeError):
        proxies.score(net, x, y, names=[3])


def test_empty_and_too_small_batches():
    net = mlp()
    with pytest.raises(ValueError, match="empty"):
        proxies.score(net, torch.zeros(0, 6), torch.zeros(0, dtype=torch.long))
    with pytest.raises(ValueError, match="at least 2"):
        proxies.score(net, torch.zeros(1, 6), torch.zeros(1, dtype=torch.long), names="snip")
    with pytest.raises(TypeError, match="float tensor"):
        proxies.score(net, np.zeros((4, 6)), torch.zeros(4, dtype=torch.long))
    with pytest.raises(ValueError, match="NaN"):
        proxies.score(net, torch.full((4, 6), float("nan")), torch.zeros(4, dtype=torch.long))


def test_mismatched_targets():
    net, (x, y) = mlp(), batch(4, (6,))
    with pytest.raises(ValueError, match=r"shape \(4,\)"):
        proxies.score(net, x, y[:3], names="snip")
    with pytest.raises(ValueError, match="only 3 outputs"):
        proxies.score(net, x, y + 5, names="snip")
    with pytest.raises(TypeError, match="integer tensor"):
        proxies.score(net, x, y.float(), names="snip")
    with pytest.raises(TypeError, match="integer tensor"):
        proxies.score(net, x, None, names="grasp")
    with pytest.raises(ValueError, match=r"class scores of shape \(4, classes\)"):
        proxies.score(nn.Sequential(nn.Flatten(0), nn.Linear(24, 3)), x, y, names="snip")


def test_a_network_that_ignores_its_input_gives_a_clear_error():
    dead = small_nb201("|none~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    x, y = batch(8)
    for name in ("nwot", "jacov", "epe_nas", "zen"):
        with pytest.raises(ProxyError, match=name):
            proxies.score(dead, x, y, names=name)
    assert proxies.score(dead, x, y, names="synflow")["synflow"] == 0.0


def test_a_network_without_parameters_or_relus():
    with pytest.raises(ValueError, match="no parameters"):
        proxies.score(nn.Flatten(), *batch(4, (6,)))
    with pytest.raises(ProxyError, match="nn.ReLU"):
        proxies.score(nn.Sequential(nn.Flatten(), nn.Linear(6, 3)), *batch(4, (6,)), names="nwot")
    with pytest.raises(ProxyError, match="convolution and linear"):
        proxies.score(nn.Sequential(nn.Flatten(), nn.BatchNorm1d(6)), *batch(4, (6,)), names="synflow")


def test_cost_ratio_times_both_ways():
    net, (x, y) = small_nb201(), batch(8)
    shared = cost_ratio(net, x, y, names=["snip", "grad_norm", "plain"], repeats=1)
    assert isinstance(shared, CostRatio)
    assert min(shared.step_cpu, shared.score_cpu, shared.step_wall, shared.score_wall) > 0
    assert shared.ratio_cpu == pytest.approx(shared.score_cpu / shared.step_cpu)
    assert shared.ratio_wall == pytest.approx(shared.score_wall / shared.step_wall)
    with pytest.raises(ValueError, match="repeats"):
        cost_ratio(net, x, y, repeats=0)
    with pytest.raises(TypeError, match="separately"):
        cost_ratio(net, x, y, separately=1)


class Ticking(nn.Module):
    """A network whose every forward pass costs a known amount of CPU time."""

    def __init__(self, seconds):
        super().__init__()
        self.seconds, self.linear = seconds, nn.Linear(6, 3)

    def forward(self, x):
        end = time.process_time() + self.seconds
        while time.process_time() < end:
            pass
        return self.linear(x.flatten(1))


def test_step_seconds_times_one_training_step_of_a_copy():
    net, (x, y) = Ticking(0.05), batch(4, (6,))
    before = net.linear.weight.clone()
    seconds = step_seconds(net, x, y, repeats=3)
    assert 0.05 <= seconds < 0.5                     # one forward pass, not two, plus a backward
    assert torch.equal(net.linear.weight, before) and net.linear.weight.grad is None
    calls = []
    assert cpu_seconds(lambda: calls.append(1), repeats=3, warmup=2) >= 0 and len(calls) == 5
    with pytest.raises(ValueError, match="warmup"):
        cpu_seconds(lambda: None, warmup=-1)
    with pytest.raises(TypeError, match="net"):
        step_seconds("net", x, y)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no GPU")
def test_gpu_gives_the_cpu_values():
    net, (x, y) = small_nb201(), batch(8)
    cpu = proxies.score(net, x, y, names=["synflow", "snip", "nwot", "params", "flops"])
    gpu = proxies.score(net.cuda(), x.cuda(), y.cuda(), names=list(cpu))
    assert gpu == pytest.approx(cpu, rel=1e-3)
