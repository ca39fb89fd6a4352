"""The passes that zero-cost proxies share (chapter 05), computed once per network and batch.

Most proxies read the same few quantities: the gradient of the loss with respect to the
weights, the activations of the ReLUs, the Jacobian of the outputs with respect to the
inputs. :class:`Passes` computes each of them at most once, and everything that needs the
real batch in train mode comes from *one* forward pass followed by at most three backward
passes through its graph. Every pass runs on a private copy of the network, so the
caller's weights, buffers (BatchNorm statistics), train/eval mode and hooks are exactly as
they were; no hook is ever registered on the caller's modules, and no random number is
drawn from the global generators.

The most expensive of these passes is grasp's Hessian-gradient product, a backward pass
through a backward pass. When it is needed, the shared pass runs in the default memory
layout and with stride-1 average pooling computed as matrix products
(:class:`WindowSumAvgPool2d`): on a CPU both make that double backward several times
cheaper. Neither changes a value beyond float32 rounding, but rounding is all it takes for
the other proxies of the shared pass to move slightly depending on whether grasp is scored
in the same call (:func:`nascourse.proxies.score` says by how much).

The pass names are defined here once (:data:`PASSES`); a proxy declares the ones it reads
(its ``needs``), and each pass returns a small typed result (:class:`MainPass`,
:class:`SynflowPass`, :class:`ZenPass`).
"""

from __future__ import annotations

import copy
import math
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable, NamedTuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from nascourse._checks import check_int, check_sequence, check_type
from nascourse.nn.ops import count_parameters

#: Layers whose weights the per-weight proxies score (as in the pruning literature).
PRUNABLE = (nn.modules.conv._ConvNd, nn.Linear)
#: Normalisation layers: bypassed by synflow, measured by zen.
NORMS = (nn.modules.batchnorm._BatchNorm,)
#: Global pooling layers: zen reads the feature map that enters the last of them.
GLOBAL_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
#: The passes read from the one forward pass on the real batch and the backward passes it
#: feeds (:attr:`Passes.main`).
MAIN_PASS: frozenset[str] = frozenset({"gradients", "hessian", "fisher", "jacobian", "relu_codes"})
#: The passes that run on their own: each is the cached property of :class:`Passes` that
#: bears its name ("flops" reads the shared pass instead when that runs anyway).
OWN_PASSES: tuple[str, ...] = ("synflow", "zen", "flops", "weights")
#: Every pass a proxy can ask for in its ``needs``.
PASSES: tuple[str, ...] = (*sorted(MAIN_PASS), *OWN_PASSES)
_HOOK_DICTS = ("_forward_hooks", "_forward_hooks_with_kwargs", "_forward_hooks_always_called",
               "_forward_pre_hooks", "_forward_pre_hooks_with_kwargs", "_backward_hooks",
               "_backward_pre_hooks")
#: The tensor types that hold class labels.
LABEL_DTYPES = (torch.int64, torch.int32, torch.int16, torch.uint8, torch.int8)


class ProxyError(ValueError):
    """A proxy cannot give a finite value for this network and batch (the message says why)."""


def private_copy(net: nn.Module) -> nn.Module:
    """A deep copy of ``net`` without the caller's hooks (the original is not touched)."""
    memo: dict[int, object] = {}
    for module in net.modules():   # hand deepcopy fresh, empty hook tables
        for attr in _HOOK_DICTS:
            table = module.__dict__.get(attr)
            if table is not None:
                memo[id(table)] = type(table)() if isinstance(table, OrderedDict) else {}
    try:
        return copy.deepcopy(net, memo)
    except Exception as err:  # e.g. a module holding an open file
        raise TypeError(f"proxies work on a private copy of the network, and this network "
                        f"cannot be deep-copied: {err}") from err


def use_window_sums(net: nn.Module, on: bool = True) -> nn.Module:
    """Switch every stride-1 :class:`torch.nn.AvgPool2d` of ``net`` (a private copy) to
    :class:`WindowSumAvgPool2d` (``on``) or back; returns ``net``."""
    for module in net.modules():
        if on and WindowSumAvgPool2d.can_replace(module):
            module.__class__ = WindowSumAvgPool2d    # a subclass with the same state
        elif not on and type(module) is WindowSumAvgPool2d:
            module.__class__ = nn.AvgPool2d
    return net


class WindowSumAvgPool2d(nn.AvgPool2d):
    """:class:`torch.nn.AvgPool2d` at stride 1, computed by two matrix products.

    Along each axis, a 0/1 band matrix sums every window of the zero-padded input, so the
    window sums are ``R @ x @ C``; the divisor is the window size or, with
    ``count_include_pad=False``, the number of real pixels in each window (the same sums
    over an image of ones, ``outer(R 1, 1 C)``). The values equal ``AvgPool2d``'s up to
    floating-point rounding; the gain is in differentiation: the backward pass of a matrix
    product is a matrix product, so the double backward that grasp's Hessian-gradient
    product needs is several times cheaper than through the CPU pooling kernels (and
    cheaper than through the depthwise convolution of
    :class:`nascourse.nn.supernet.BoxAverage`, the faster form for one backward pass). The shared
    pass on the real batch uses it (:func:`use_window_sums`); as a subclass, it still
    passes every ``isinstance`` check (the operation count among them). A product costs a
    multiply-add per pixel of the side for every output, so above :attr:`MAX_SIDE` pixels
    (large images) the layer falls back to the pooling kernel.
    """

    #: The largest image height or width computed by matrix products.
    MAX_SIDE = 64

    @staticmethod
    def can_replace(module: nn.Module) -> bool:
        """Whether ``module`` is an ``AvgPool2d`` this class computes exactly (stride 1, no
        divisor override)."""
        return (type(module) is nn.AvgPool2d and module.divisor_override is None
                and _pair(module.stride) == (1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if max(x.shape[-2:]) > self.MAX_SIDE:
            return super().forward(x)
        (kh, kw), (ph, pw) = _pair(self.kernel_size), _pair(self.padding)
        rows = _window_matrix(x.shape[-2], kh, ph, x).T      # (H_out, H)
        cols = _window_matrix(x.shape[-1], kw, pw, x)        # (W, W_out)
        total = rows @ x @ cols
        if self.count_include_pad or (ph, pw) == (0, 0):
            return total / (kh * kw)
        return total / torch.outer(rows.sum(1), cols.sum(0))


def _pair(value) -> tuple[int, int]:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _window_matrix(size: int, kernel: int, pad: int, like: torch.Tensor) -> torch.Tensor:
    """The (size, out) 0/1 matrix whose column j marks the inputs of window j (stride 1,
    ``pad`` zeros on each side): ``x @ M`` sums every window along the last axis."""
    out = size + 2 * pad - kernel + 1
    i = torch.arange(size, device=like.device)[:, None]
    start = torch.arange(out, device=like.device)[None, :] - pad
    return ((i >= start) & (i < start + kernel)).to(like.dtype)


def prunable_layers(net: nn.Module) -> list[nn.Module]:
    """The convolution and linear layers of ``net``, in module order."""
    return [m for m in net.modules() if isinstance(m, PRUNABLE)]


def _scorable_layers(net: nn.Module) -> list[nn.Module]:
    layers = prunable_layers(net)
    if not layers:
        raise ProxyError("this proxy scores the weights of convolution and linear layers, and the "
                         "network has none")
    return layers


def _device_dtype(net: nn.Module) -> tuple[torch.device, torch.dtype]:
    for tensor in net.parameters():
        return tensor.device, tensor.dtype
    raise ValueError("the network has no parameters; zero-cost proxies score weights")


def check_needs(needs: Iterable[str]) -> frozenset[str]:
    """``needs`` (a collection of pass names from :data:`PASSES`) as a frozenset: a
    TypeError for anything but a collection of strings, a ValueError naming unknown passes."""
    check_type("needs", needs, (tuple, list, set, frozenset), "a collection of pass names")
    names = frozenset(check_sequence("needs", sorted(needs, key=str), str, "pass name"))
    unknown = names - set(PASSES)
    if unknown:
        raise ValueError(f"needs holds unknown passes {sorted(unknown)}; valid passes are {list(PASSES)}")
    return names


@dataclass(frozen=True)
class MainPass:
    """What the shared pass on the real batch computed (:attr:`Passes.main`).

    Each optional field is filled only when a requested proxy needs it (the pass name in
    brackets); the weights are those of the pass's private copy, equal to the caller's.
    """

    weights: list[torch.Tensor]                     # prunable weights, detached
    num_outputs: int                                # class scores per image
    flops: int | None = None                        # operations per image ("flops")
    grads: list[torch.Tensor] | None = None         # dL/dW per weight ("gradients", "fisher", "hessian")
    hessian_grad: list[torch.Tensor] | None = None  # H g per weight ("hessian")
    fisher: list[torch.Tensor] | None = None        # channel saliencies per layer ("fisher")
    jacobian: np.ndarray | None = None              # d sum(outputs) / d input, a row per image ("jacobian")
    relu_kernel: np.ndarray | None = None           # the NASWOT kernel, batch x batch ("relu_codes")


class SynflowPass(NamedTuple):
    """What synflow's pass computed (:attr:`Passes.synflow`)."""

    terms: list[torch.Tensor]   # theta * dR/dtheta for every prunable weight
    flops: int | None           # operations of that pass, when nothing else counts them


class ZenPass(NamedTuple):
    """What zen's pass computed (:attr:`Passes.zen`)."""

    gap: float        # mean over images of ||f(x) - f(x + 0.01 eps)||_F
    log_std: float    # sum over BatchNorm layers of the log standard deviation


class Passes:
    """The shared computations for one network and one batch, run lazily, each at most once.

    ``needs`` is the set of pass names (:data:`PASSES`) that the requested proxies read;
    the forward pass on the real batch records everything that any of them needs. ``seed``
    seeds zen's Gaussian weights and inputs.
    """

    def __init__(self, net: nn.Module, inputs: torch.Tensor, targets: torch.Tensor | None,
                 needs: Iterable[str] = MAIN_PASS, seed: int = 0):
        self.net = check_type("net", net, nn.Module, "a torch.nn.Module")
        self.needs = check_needs(needs)
        self.seed = check_int("seed", seed, minimum=0)
        self.device, self.dtype = _device_dtype(net)
        self.inputs = _check_inputs(inputs)
        self.targets = targets
        if self.needs & MAIN_PASS:
            self.targets = _check_targets(targets, len(self.inputs))
            if len(self.inputs) < 2:
                raise ValueError("data-dependent proxies compare images: give a batch of at "
                                 f"least 2 inputs, got {len(self.inputs)}")
        # the shared pass's private copy once it is done with it (see copy_to_reinitialise)
        self._finished_copy: nn.Module | None = None

    def copy_to_reinitialise(self) -> nn.Module:
        """A private copy of the network for a pass that redraws its weights (zen).

        The shared pass on the real batch ends with a private copy that nothing reads any
        more: its weights are still the caller's, but its BatchNorm running statistics
        moved (it ran in train mode) and only the prunable weights require gradients. A
        pass that overwrites every weight it uses and reads no earlier running statistic
        may take that copy and save a deep copy of the network. This method hands it out
        once; any other call (zen first or alone, or a second taker) gets a fresh copy.
        """
        net, self._finished_copy = self._finished_copy, None
        return private_copy(self.net) if net is None else net

    # ------------------------------------------------------------ the caller's weights
    @cached_property
    def weights(self) -> list[torch.Tensor]:
        """The weights of the caller's convolution and linear layers (detached, read only)."""
        return [m.weight.detach() for m in prunable_layers(self.net)]

    @property
    def num_outputs(self) -> int:
        """Number of class scores the network returns."""
        return self.main.num_outputs

    @cached_property
    def num_params(self) -> int:
        return count_parameters(self.net)

    # ------------------------------------------------------------ the shared real-batch pass
    @cached_property
    def main(self) -> MainPass:
        """One train-mode forward pass on the batch, then the backward passes it feeds
        (the fields of :class:`MainPass` that ``needs`` asks for)."""
        net = private_copy(self.net).train()
        layers = _scorable_layers(net)
        weights = [m.weight for m in layers]
        for p in net.parameters():   # gradients only where a proxy reads them
            p.requires_grad_(False)
        for w in weights:
            w.requires_grad_(True)
        x = self.inputs.to(self.device, self.dtype).clone()
        if "hessian" in self.needs:
            # grasp differentiates twice, which on a CPU is several times faster through
            # window sums than through pooling kernels, and in the default memory layout
            # than in channels-last (the layout of the shipped CIFAR-10 batches)
            use_window_sums(net)
            x = x.contiguous()
        if "jacobian" in self.needs:
            x.requires_grad_(True)
        recorder = _Recorder(net, layers, fisher="fisher" in self.needs,
                             relu_codes="relu_codes" in self.needs, flops="flops" in self.needs,
                             batch=len(x))
        try:
            logits = net(x)
        finally:
            recorder.remove()
        _check_logits(logits, len(x))
        targets = self.targets.to(self.device)
        if int(targets.max()) >= logits.shape[1]:
            raise ValueError(f"targets go up to {int(targets.max())} but the network has only "
                             f"{logits.shape[1]} outputs")
        relu_kernel = jacobian = None
        if recorder.kernel is not None:
            if not recorder.relu_seen:
                raise ProxyError("nwot reads the inputs of nn.ReLU modules, and this network has none")
            relu_kernel = recorder.kernel.cpu().numpy()
        want_grads = bool(self.needs & {"gradients", "hessian", "fisher"})
        if "jacobian" in self.needs:
            (jac,) = torch.autograd.grad(logits.sum(), x, retain_graph=want_grads)
            jacobian = jac.detach().flatten(1).double().cpu().numpy()
        loss = (_loss_backward(F.cross_entropy(logits, targets), weights, recorder.acts,
                               hessian="hessian" in self.needs) if want_grads else LossGradients())
        # done with the copy: leave it for copy_to_reinitialise, with torch's pooling
        # kernels back (zen only runs forward, where they are the faster ones)
        self._finished_copy = use_window_sums(net, on=False)
        return MainPass(weights=[w.detach() for w in weights], num_outputs=logits.shape[1],
                        flops=recorder.counter.total // len(x) if recorder.counter else None,
                        grads=loss.grads, hessian_grad=loss.hessian_grad, fisher=loss.fisher,
                        jacobian=jacobian, relu_kernel=relu_kernel)

    # ------------------------------------------------------------ data-independent passes
    @cached_property
    def synflow(self) -> SynflowPass:
        """theta * dR/dtheta for every prunable weight, R = sum of the outputs of the network
        with |theta| in float64, BatchNorm bypassed and an all-ones input (one image); and
        the operation count of that pass, when nothing else counts them."""
        net = private_copy(self.net).double().eval()
        with torch.no_grad():
            for p in net.parameters():
                p.abs_().requires_grad_(False)
        weights = [m.weight.requires_grad_(True) for m in _scorable_layers(net)]
        count = "flops" in self.needs and not self.needs & MAIN_PASS
        counter = _FlopCounter(net) if count else None
        bypass = [m.register_forward_hook(_pass_input_through) for m in net.modules() if isinstance(m, NORMS)]
        try:
            out = net(torch.ones((1, *self.inputs.shape[1:]), dtype=torch.float64, device=self.device))
        finally:
            for h in bypass + (counter.handles if counter else []):
                h.remove()
        check_type("the network's output", out, torch.Tensor, "a tensor")
        grads = torch.autograd.grad(out.sum(), weights, allow_unused=True)
        terms = [(w * g).detach() if g is not None else torch.zeros_like(w) for w, g in zip(weights, grads)]
        return SynflowPass(terms, counter.total if counter else None)

    @cached_property
    def zen(self) -> ZenPass:
        """Zen-NAS's two terms (Lin et al. 2021), measured on a copy with N(0, 1) weights and
        Gaussian inputs, in train mode."""
        gen = torch.Generator().manual_seed(self.seed)
        net = self.copy_to_reinitialise().train()
        with torch.no_grad():
            for m in net.modules():
                if isinstance(m, PRUNABLE):
                    m.weight.copy_(torch.randn(m.weight.shape, generator=gen, dtype=m.weight.dtype))
                    if m.bias is not None:
                        m.bias.zero_()
                elif isinstance(m, NORMS) and m.affine:
                    m.weight.fill_(1.0)
                    m.bias.zero_()
            shape = tuple(self.inputs.shape)
            x = torch.randn(shape, generator=gen, dtype=self.dtype)
            mixed = x + 0.01 * torch.randn(shape, generator=gen, dtype=self.dtype)
            # the same values in the memory layout of the caller's batch: images stored
            # channels-last (as the shipped CIFAR-10 batches are) run several times faster
            # through pooling layers on a CPU than the default layout
            x, mixed = (torch.empty_like(self.inputs, dtype=self.dtype).copy_(t) for t in (x, mixed))
            features, log_std = _zen_forward(net, x.to(self.device), record_std=True)
            features_mixed, _ = _zen_forward(net, mixed.to(self.device), record_std=False)
        gap = (features - features_mixed).flatten(1).norm(dim=1).mean().item()
        return ZenPass(gap, log_std)

    @cached_property
    def flops(self) -> int:
        """Operations of one forward pass of one input, counted by torchstat's rules, read
        from a pass that runs anyway (the shared one, or synflow's) when there is one."""
        if self.needs & MAIN_PASS:
            return self.main.flops
        if "synflow" in self.needs:
            return self.synflow.flops
        net = private_copy(self.net).eval()
        counter = _FlopCounter(net)
        try:
            with torch.no_grad():
                net(torch.zeros((1, *self.inputs.shape[1:]), dtype=self.dtype, device=self.device))
        finally:
            for h in counter.handles:
                h.remove()
        return counter.total


# ---------------------------------------------------------------- checks of the arguments
def _check_inputs(inputs) -> torch.Tensor:
    what = "a float tensor of shape (batch, ...)"
    check_type("inputs", inputs, torch.Tensor, what)
    if not inputs.is_floating_point():
        raise TypeError(f"inputs must be {what}, got a tensor of {inputs.dtype}")
    if inputs.dim() < 2:
        raise ValueError(f"inputs must have a batch dimension, got shape {tuple(inputs.shape)}")
    if len(inputs) == 0:
        raise ValueError("the batch is empty: proxies need at least one input")
    if not torch.isfinite(inputs).all():
        raise ValueError("inputs contain NaN or infinite values")
    return inputs.detach()


def _check_targets(targets, n: int) -> torch.Tensor:
    what = "an integer tensor of class labels"
    check_type("targets", targets, torch.Tensor, what)
    if targets.dtype not in LABEL_DTYPES:
        raise TypeError(f"targets must be {what}, got a tensor of {targets.dtype}")
    if targets.shape != (n,):
        raise ValueError(f"targets must have shape ({n},), one label per input; got {tuple(targets.shape)}")
    if int(targets.min()) < 0:
        raise ValueError(f"targets must be class labels >= 0, got {int(targets.min())}")
    return targets.detach().long()


def _check_logits(logits, n: int) -> None:
    what = f"class scores of shape ({n}, classes)"
    check_type("the network's output", logits, torch.Tensor, f"a tensor of {what}")
    if logits.dim() != 2 or len(logits) != n:
        raise ValueError(f"the network must return {what}, got {tuple(logits.shape)}")


# ---------------------------------------------------------------- pieces of the passes
class _Recorder:
    """Forward hooks on a private copy: outputs of prunable layers (fisher), the NASWOT
    kernel of the binary codes that enter every nn.ReLU (relu_codes), operation counts."""

    def __init__(self, net: nn.Module, layers: list[nn.Module], fisher: bool, relu_codes: bool,
                 flops: bool, batch: int):
        self.acts: list[torch.Tensor] = []
        self.handles = []
        self.kernel = None
        self.relu_seen = False
        self._seen: dict[int, tuple[weakref.ref, torch.Tensor]] = {}
        if fisher:
            self.handles += [m.register_forward_hook(self._keep_output) for m in layers]
        self.counter = _FlopCounter(net) if flops else None
        self.handles += self.counter.handles if flops else []
        if relu_codes:
            self.kernel = torch.zeros(batch, batch, dtype=torch.float64, device=next(net.parameters()).device)
            self.handles += [m.register_forward_pre_hook(self._add_codes) for m in net.modules()
                             if isinstance(m, nn.ReLU)]

    def _keep_output(self, module, args, output):
        self.acts.append(output)

    def _add_codes(self, module, args):
        # Pre-hook: the input before the ReLU runs (safe with inplace=True). Several ReLUs
        # often read the same tensor (a node feeding several convolutions): reuse its term.
        x = args[0]
        self.relu_seen = True
        ref, term = self._seen.get(id(x), (None, None))
        if ref is None or ref() is not x:
            codes = (x.detach() > 0).flatten(1)
            # float32 counts exactly up to 2^24; wider layers count in float64
            codes = codes.float() if codes.shape[1] < 2**23 else codes.double()
            active = codes.sum(1)
            # agreements = x x^T + (1 - x)(1 - x)^T, with one matrix product
            term = (2 * codes @ codes.T - active[:, None] - active[None, :] + codes.shape[1]).double()
            self._seen[id(x)] = (weakref.ref(x), term)
        self.kernel += term

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self._seen.clear()


class LossGradients(NamedTuple):
    """The backward passes of the loss (:func:`_loss_backward`); ``None`` where not asked for."""

    grads: list[torch.Tensor] | None = None          # dL/dW per weight
    fisher: list[torch.Tensor] | None = None         # channel saliencies per recorded layer
    hessian_grad: list[torch.Tensor] | None = None   # H g per weight


def _loss_backward(loss: torch.Tensor, weights: list[torch.Tensor], acts: list[torch.Tensor],
                   hessian: bool) -> LossGradients:
    """Loss gradients of the weights (and of the recorded activations ``acts``, for fisher);
    with ``hessian``, also the Hessian-gradient product H g, by one more backward pass."""
    grads = torch.autograd.grad(loss, weights + acts, create_graph=hessian, allow_unused=True)
    g_w = [g if g is not None else torch.zeros_like(w) for w, g in zip(weights, grads[:len(weights)])]
    fisher = hessian_grad = None
    if acts:
        fisher = [_channel_fisher(a.detach(), g.detach() if g is not None else torch.zeros_like(a))
                  for a, g in zip(acts, grads[len(weights):])]
    if hessian:
        z = sum((g.detach() * g).sum() for g in g_w if g.requires_grad)
        if not isinstance(z, torch.Tensor):
            raise ProxyError("grasp: the loss gradient does not depend on any weight")
        hg = torch.autograd.grad(z, weights, allow_unused=True)
        hessian_grad = [h.detach() if h is not None else torch.zeros_like(w) for w, h in zip(weights, hg)]
    return LossGradients([g.detach() for g in g_w], fisher, hessian_grad)


def _channel_fisher(act: torch.Tensor, grad: torch.Tensor) -> torch.Tensor:
    """Fisher saliency of every channel: 1/(2N) sum_n (sum_spatial a * dL/da)^2."""
    prod = act * grad
    per_image = prod.flatten(2).sum(2) if prod.dim() > 2 else prod
    return per_image.pow(2).mean(0).mul(0.5)


def _pass_input_through(module, args, output):
    """A forward hook that makes a module the identity (synflow bypasses BatchNorm)."""
    return args[0]


class _FlopCounter:
    """Forward hooks adding up :func:`_module_flops` over every call of every module."""

    def __init__(self, net: nn.Module):
        self.total = 0
        self.handles = [m.register_forward_hook(self._count) for m in net.modules()]

    def _count(self, module, args, output):
        self.total += _module_flops(module, args[0], output)


def _zen_forward(net: nn.Module, x: torch.Tensor, record_std: bool) -> tuple[torch.Tensor, float]:
    """Features entering the last global pooling layer (or the output) and, with
    ``record_std``, the sum of log standard deviations that the BatchNorm layers divide by."""
    pools = [m for m in net.modules() if isinstance(m, GLOBAL_POOLS)]
    norms = [m for m in net.modules() if isinstance(m, NORMS)] if record_std else []
    features: list[torch.Tensor] = []
    batch_var: dict[nn.Module, tuple[str, float]] = {}

    def grab(module, args):
        features.append(args[0])

    def norm_var(module, args):
        x = args[0]
        if module.running_var is not None:   # momentum 1: the running variance becomes the batch's
            module.momentum, n = 1.0, x.numel() // x.shape[1]
            batch_var[module] = ("running", (n - 1) / n)     # unbiased -> biased, read after the pass
        else:
            dims = [d for d in range(x.dim()) if d != 1]
            batch_var[module] = ("direct", x.var(dim=dims, unbiased=False).mean().item())

    handles = [pools[-1].register_forward_pre_hook(grab)] if pools else []
    handles += [m.register_forward_pre_hook(norm_var) for m in norms]
    try:
        out = net(x)
    finally:
        for h in handles:
            h.remove()
    log_std = 0.0
    for m in norms:
        kind, value = batch_var[m]
        variance = m.running_var.mean().item() * value if kind == "running" else value
        if not variance > 0:
            raise ProxyError(f"zen: a BatchNorm layer receives a constant input (variance {variance}), "
                             "so its log standard deviation is -inf")
        log_std += 0.5 * math.log(variance)
    return (features[-1] if features else out), log_std


def _module_flops(m: nn.Module, x: torch.Tensor, y) -> int:
    """torchstat's count for one call of a leaf module (the rules NAS-Bench-Suite-Zero used)."""
    if isinstance(m, nn.modules.conv._ConvNd):
        per_output = (m.in_channels // m.groups) * math.prod(m.kernel_size)
        return y.numel() * per_output + (y.numel() if m.bias is not None else 0)
    if isinstance(m, nn.Linear):
        return x.numel() * m.out_features
    if isinstance(m, NORMS):
        return x.numel() * (2 if m.affine else 1)
    if isinstance(m, (nn.ReLU, nn.ReLU6, nn.PReLU, nn.ELU, nn.LeakyReLU)):
        return x.numel()
    if isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
        k = m.kernel_size if isinstance(m.kernel_size, tuple) else (m.kernel_size,) * 2
        return y.numel() * k[0] * k[1]
    if isinstance(m, (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d)):
        # torchstat adds one to each pooling window's height and width (an off-by-one we keep,
        # so that the counts equal the published table)
        (h, w), (oh, ow) = x.shape[-2:], y.shape[-2:]
        rows = [math.ceil((i + 1) * h / oh) - math.floor(i * h / oh) + 1 for i in range(oh)]
        cols = [math.ceil((j + 1) * w / ow) - math.floor(j * w / ow) + 1 for j in range(ow)]
        return x.numel() // (h * w) * sum(rows) * sum(cols)
    return 0

