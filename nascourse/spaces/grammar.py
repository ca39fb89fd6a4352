"""A context-free grammar of whole networks (chapter 02, section on hierarchical spaces).

Cell spaces fix the network around a small searched graph. A grammar describes the whole
network instead, level by level, in the spirit of the hierarchical spaces of Liu et al.
(ICLR 2018) and the context-free grammars of Schrodi et al. (NeurIPS 2023). The course's
grammar :data:`PRODUCTIONS` reads::

    NET   -> net(STAGE, STAGE, STAGE)
    STAGE -> stage(BLOCK) | stage(BLOCK, BLOCK)
    BLOCK -> seq(BLOCK, BLOCK) | res(BLOCK) | par(BLOCK, BLOCK) | OP
    OP    -> conv3x3 | conv1x1 | sepconv3x3 | avgpool | identity

``seq`` applies its parts one after the other, ``res`` adds its input to its part's output
and ``par`` sums two parts applied to the same input. Channels and resolution are not part
of the grammar: :func:`build` adds a stem, halves the resolution and doubles the channels
between stages, and ends with global pooling and a linear classifier.

A grammar is a dict from a nonterminal to its alternatives. An alternative is a tuple
``(terminal, NONTERMINAL, ...)`` written ``terminal(...)`` in a string (just ``terminal``
when it has no argument), or a single nonterminal ``(OTHER,)`` (a unit production, which
writes nothing of its own). A derivation is a :class:`Tree`; its depth counts the
expansions on its longest root-to-leaf chain, so ``net(stage(conv3x3), ...)`` has depth
4 (NET, STAGE, BLOCK, OP).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Callable, Iterator, Mapping, Sequence

import networkx as nx
import numpy as np
import torch
from torch import nn

from nascourse._checks import check_bool, check_choice, check_int, check_sequence, check_type
from nascourse.rng import as_generator

#: The course's grammar (see the module docstring).
PRODUCTIONS: dict[str, list[tuple[str, ...]]] = {
    "NET": [("net", "STAGE", "STAGE", "STAGE")],
    "STAGE": [("stage", "BLOCK"), ("stage", "BLOCK", "BLOCK")],
    "BLOCK": [("seq", "BLOCK", "BLOCK"), ("res", "BLOCK"), ("par", "BLOCK", "BLOCK"), ("OP",)],
    "OP": [("conv3x3",), ("conv1x1",), ("sepconv3x3",), ("avgpool",), ("identity",)],
}

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_TOKEN = re.compile(r"\s*(?:([A-Za-z_][A-Za-z0-9_]*)|(\S))")


def _randbelow(rng: np.random.Generator, n: int) -> int:
    """A uniform integer in ``[0, n)`` for any Python int ``n`` (counts overflow int64)."""
    if n < 2**62:
        return int(rng.integers(n))
    bits = n.bit_length()
    while True:
        words = rng.integers(0, 2**32, size=(bits + 31) // 32, dtype=np.uint64)
        value = 0
        for w in words:
            value = (value << 32) | int(w)
        value &= (1 << bits) - 1
        if value < n:
            return value


@dataclass(frozen=True)
class Tree:
    """A derivation: the nonterminal expanded, the terminal written (``None`` for a unit
    production) and one subtree per nonterminal of the chosen alternative."""

    symbol: str
    label: str | None
    children: tuple["Tree", ...] = ()

    @property
    def depth(self) -> int:
        """Expansions on the longest root-to-leaf chain."""
        return 1 + max((c.depth for c in self.children), default=0)

    def leaves(self) -> list[str]:
        """The terminals without arguments (the operations), left to right."""
        if not self.children:
            return [self.label] if self.label is not None else []
        return [leaf for c in self.children for leaf in c.leaves()]

    def __str__(self) -> str:
        if self.label is None:
            return str(self.children[0])
        if not self.children:
            return self.label
        return f"{self.label}({', '.join(str(c) for c in self.children)})"


class Grammar:
    """A context-free grammar of architectures, checked to be unambiguous so that
    derivation trees and strings correspond one to one.

    ``productions`` maps each nonterminal to its alternatives (see the module docstring);
    ``start`` defaults to the first nonterminal.
    """

    def __init__(self, productions: Mapping[str, Sequence[Sequence[str]]], start: str | None = None):
        check_type("productions", productions, Mapping, "a non-empty dict of nonterminal -> alternatives")
        if not productions:
            raise ValueError("productions must be a non-empty dict of nonterminal -> alternatives, got {}")
        nonterminals = list(productions)
        for nt in nonterminals:
            _check_identifier(f"nonterminal {nt!r}", nt)
        rules: dict[str, tuple[tuple[str, ...], ...]] = {}
        for nt, alternatives in productions.items():
            alternatives = check_sequence(f"the alternatives of {nt!r}", alternatives, (tuple, list), "tuple of names")
            if not alternatives:
                raise ValueError(f"nonterminal {nt!r} needs a non-empty list of alternatives, got {alternatives!r}")
            alts = []
            for alt in alternatives:
                alt = tuple(alt)
                if not alt:
                    raise ValueError(f"an alternative of {nt!r} must be a non-empty tuple of names, got {alt!r}")
                for name in alt:
                    _check_identifier(f"{name!r} in alternative {alt!r} of {nt!r}", name)
                if not (len(alt) == 1 and alt[0] in productions):
                    if alt[0] in productions:
                        raise ValueError(
                            f"alternative {alt!r} of {nt!r} must start with a terminal; {alt[0]!r} is a nonterminal"
                        )
                    for name in alt[1:]:
                        if name not in productions:
                            raise ValueError(
                                f"unknown nonterminal {name!r} in alternative {alt!r} of {nt!r}; "
                                f"nonterminals are {nonterminals}"
                            )
                alts.append(alt)
            rules[nt] = tuple(alts)
        self.productions = rules
        if start is None:
            start = nonterminals[0]
        if start not in rules:
            raise ValueError(f"start symbol {start!r} is not a nonterminal; nonterminals are {nonterminals}")
        self.start = start
        # Where a nonterminal is expected, a terminal and its number of arguments must
        # name one alternative (through unit productions if need be): then every string
        # has a single derivation, and counting derivations counts strings.
        self._head_paths: dict[str, dict[tuple[str, int], tuple]] = {}
        for nt in rules:
            paths: dict[tuple[str, int], tuple] = {}
            for head, path in self._collect_heads(nt, ()):
                if head in paths:
                    raise ValueError(
                        f"ambiguous grammar: {head[0]!r} with {head[1]} argument(s) can be derived from {nt!r} "
                        f"in two ways; strings would not name a unique derivation"
                    )
                paths[head] = path
            self._head_paths[nt] = paths
        unproductive = [nt for nt in rules if self.min_depth(nt) is None]
        if unproductive:
            raise ValueError(f"nonterminals {unproductive} derive no finite string (every alternative recurses)")
        self._count = cache(self._count_uncached)

    # ----- structure ---------------------------------------------------------------------
    def is_unit(self, alt: tuple[str, ...]) -> bool:
        """True when ``alt`` is a unit production (a single nonterminal)."""
        return len(alt) == 1 and alt[0] in self.productions

    @property
    def nonterminals(self) -> tuple[str, ...]:
        """The nonterminals, in the order of the productions."""
        return tuple(self.productions)

    @property
    def terminals(self) -> tuple[str, ...]:
        """All terminal names, in order of first appearance."""
        out: dict[str, None] = {}
        for alts in self.productions.values():
            for alt in alts:
                if not self.is_unit(alt):
                    out[alt[0]] = None
        return tuple(out)

    def _collect_heads(self, nt: str, chain: tuple[str, ...]) -> list:
        if nt in chain:
            raise ValueError(f"cycle of unit productions {' -> '.join(chain + (nt,))}; the grammar would be ambiguous")
        heads = []
        for i, alt in enumerate(self.productions[nt]):
            if self.is_unit(alt):
                heads.extend((head, ((nt, i),) + path) for head, path in self._collect_heads(alt[0], chain + (nt,)))
            else:
                heads.append(((alt[0], len(alt) - 1), ((nt, i),)))
        return heads

    def valid_heads(self, symbol: str) -> list[str]:
        """The terminals that may be written where ``symbol`` is expected, as ``name/arity``."""
        self._check_symbol(symbol)
        return [f"{name}/{arity}" if arity else name for name, arity in self._head_paths[symbol]]

    def _check_symbol(self, symbol: str | None) -> str:
        if symbol is None:
            return self.start
        return check_choice("nonterminal", symbol, list(self.productions))

    def min_depth(self, symbol: str | None = None) -> int | None:
        """Depth of the shallowest derivation from ``symbol`` (``None`` if there is none)."""
        symbol = self._check_symbol(symbol)
        best: dict[str, int] = {}
        changed = True
        while changed:
            changed = False
            for nt, alts in self.productions.items():
                for alt in alts:
                    kids = alt if self.is_unit(alt) else alt[1:]
                    if all(k in best for k in kids):
                        d = 1 + max((best[k] for k in kids), default=0)
                        if d < best.get(nt, math.inf):
                            best[nt] = d
                            changed = True
        return best.get(symbol)

    # ----- counting and enumeration ------------------------------------------------------
    def _children(self, alt: tuple[str, ...]) -> tuple[str, ...]:
        return alt if self.is_unit(alt) else alt[1:]

    def _count_uncached(self, symbol: str, depth: int) -> int:
        if depth <= 0:
            return 0
        return sum(math.prod(self._count(c, depth - 1) for c in self._children(alt)) for alt in self.productions[symbol])

    def count(self, max_depth: int, symbol: str | None = None) -> int:
        """The number of strings derivable from ``symbol`` with depth at most ``max_depth``.

        Dynamic programming: ``N(A, d) = sum over alternatives of the product of
        N(child, d - 1)`` with ``N(A, 0) = 0`` and an empty product of 1 for a terminal
        without arguments. The grammar is unambiguous, so trees and strings agree.
        """
        symbol = self._check_symbol(symbol)
        max_depth = check_int("max_depth", max_depth, minimum=0)
        return self._count(symbol, max_depth)

    def enumerate(self, max_depth: int, symbol: str | None = None) -> Iterator[Tree]:
        """Every derivation of depth at most ``max_depth`` (only for small spaces)."""
        symbol = self._check_symbol(symbol)
        max_depth = check_int("max_depth", max_depth, minimum=0)
        yield from self._enumerate(symbol, max_depth)

    def _enumerate(self, symbol: str, depth: int) -> Iterator[Tree]:
        if depth <= 0:
            return
        for alt in self.productions[symbol]:
            kids = self._children(alt)
            label = None if self.is_unit(alt) else alt[0]
            for combo in _product([list(self._enumerate(k, depth - 1)) for k in kids]):
                yield Tree(symbol, label, tuple(combo))

    # ----- sampling --------------------------------------------------------------------------
    def sample(
        self,
        rng: int | np.random.Generator,
        max_depth: int = 6,
        uniform: bool = False,
        symbol: str | None = None,
    ) -> Tree:
        """A random derivation of depth at most ``max_depth``.

        By default each nonterminal picks uniformly among the alternatives that can still
        finish within the remaining depth. With ``uniform=True`` every string of depth at most
        ``max_depth`` is equally likely (alternatives weighted by their counts), which in a
        recursive grammar favours large, deep networks.
        """
        rng = as_generator(rng)
        symbol = self._check_symbol(symbol)
        max_depth = check_int("max_depth", max_depth, minimum=0)
        uniform = check_bool("uniform", uniform)
        if self._count(symbol, max_depth) == 0:
            raise ValueError(
                f"no derivation of {symbol!r} has depth <= {max_depth}; the shallowest has depth {self.min_depth(symbol)}"
            )
        return self._sample(rng, symbol, max_depth, bool(uniform))

    def _sample(self, rng: np.random.Generator, symbol: str, depth: int, uniform: bool) -> Tree:
        alts = self.productions[symbol]
        weights = [math.prod(self._count(c, depth - 1) for c in self._children(a)) for a in alts]
        if uniform:
            r = _randbelow(rng, sum(weights))
            for alt, w in zip(alts, weights):
                if r < w:
                    break
                r -= w
        else:
            feasible = [a for a, w in zip(alts, weights) if w > 0]
            alt = feasible[int(rng.integers(len(feasible)))]
        kids = tuple(self._sample(rng, c, depth - 1, uniform) for c in self._children(alt))
        return Tree(symbol, None if self.is_unit(alt) else alt[0], kids)

    # ----- strings ---------------------------------------------------------------------------
    def to_string(self, tree: Tree) -> str:
        """The bracketed form, e.g. ``net(stage(res(conv3x3)), ...)``; checks ``tree`` first
        (against its own root symbol, so subtrees print too)."""
        check_type("tree", tree, Tree, "a grammar.Tree")
        self.check(tree, tree.symbol)
        return str(tree)

    def check(self, tree: Tree, symbol: str | None = None) -> Tree:
        """Return ``tree`` if it is a derivation of this grammar, else raise ``ValueError``."""
        symbol = self._check_symbol(symbol)
        check_type("tree", tree, Tree, "a grammar.Tree")
        if tree.symbol != symbol:
            raise ValueError(f"expected a derivation of {symbol!r}, got one of {tree.symbol!r}")
        for alt in self.productions[symbol]:
            label = None if self.is_unit(alt) else alt[0]
            kids = self._children(alt)
            if label == tree.label and len(kids) == len(tree.children):
                for kid, child in zip(kids, tree.children):
                    self.check(child, kid)
                return tree
        raise ValueError(
            f"{symbol!r} has no alternative {tree.label!r} with {len(tree.children)} argument(s); "
            f"valid here: {self.valid_heads(symbol)}"
        )

    def parse(self, text: str, symbol: str | None = None) -> Tree:
        """Parse a bracketed string back into a :class:`Tree` (inverse of :meth:`to_string`)."""
        symbol = self._check_symbol(symbol)
        check_type("text", text, str)
        tokens = _tokenize(text)
        node, pos = _parse_syntax(tokens, 0, text)
        if pos != len(tokens):
            tok, at = tokens[pos]
            raise ValueError(f"unexpected {tok!r} at position {at} after a complete expression in {text!r}")
        return self._derive(node, symbol, text)

    def _derive(self, node: tuple, symbol: str, text: str) -> Tree:
        name, at, args = node
        path = self._head_paths[symbol].get((name, len(args)))
        if path is None:
            arities = sorted(a for n, a in self._head_paths[symbol] if n == name)
            if arities:
                raise ValueError(
                    f"{name!r} at position {at} takes {' or '.join(map(str, arities))} argument(s) here, "
                    f"got {len(args)} in {text!r}"
                )
            raise ValueError(
                f"unexpected {name!r} at position {at} in {text!r} where {symbol} is expected; "
                f"valid symbols here are {sorted({n for n, _ in self._head_paths[symbol]})}"
            )
        *units, (nt, i) = path
        alt = self.productions[nt][i]
        tree = Tree(nt, alt[0], tuple(self._derive(arg, kid, text) for arg, kid in zip(args, alt[1:])))
        for unit_nt, _ in reversed(units):
            tree = Tree(unit_nt, None, (tree,))
        return tree


def _check_identifier(name: str, value: str) -> str:
    """``value`` if it is a str that is an identifier (a symbol name of a grammar)."""
    check_type(name, value, str, "an identifier string")
    if not _NAME.match(value):
        raise ValueError(f"{name} is not an identifier string")
    return value


def _product(lists: list[list[Tree]]) -> Iterator[list[Tree]]:
    if not lists:
        yield []
        return
    for head in lists[0]:
        for rest in _product(lists[1:]):
            yield [head, *rest]


def _tokenize(text: str) -> list[tuple[str, int]]:
    tokens = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None:
            break
        if m.group(1) is not None:
            tokens.append((m.group(1), m.start(1)))
        elif m.group(2) is not None:
            if m.group(2) not in "(),":
                raise ValueError(f"unexpected character {m.group(2)!r} at position {m.start(2)} in {text!r}")
            tokens.append((m.group(2), m.start(2)))
        pos = m.end()
    if not tokens:
        raise ValueError("cannot parse an empty string")
    return tokens


def _parse_syntax(tokens: list[tuple[str, int]], pos: int, text: str) -> tuple[tuple, int]:
    """Read ``name`` or ``name(arg, ...)``; return ``(name, position, args)`` and the next index."""
    if pos >= len(tokens):
        raise ValueError(f"unexpected end of {text!r}: a symbol is missing")
    tok, at = tokens[pos]
    if tok in "(),":
        raise ValueError(f"unexpected {tok!r} at position {at} in {text!r}: expected a symbol")
    if pos + 1 < len(tokens) and tokens[pos + 1][0] == "(":
        args = []
        pos += 2
        while True:
            arg, pos = _parse_syntax(tokens, pos, text)
            args.append(arg)
            if pos >= len(tokens):
                raise ValueError(f"unexpected end of {text!r}: missing ')' for {tok!r} at position {at}")
            sep, sep_at = tokens[pos]
            pos += 1
            if sep == ")":
                return (tok, at, tuple(args)), pos
            if sep != ",":
                raise ValueError(f"unexpected {sep!r} at position {sep_at} in {text!r}: expected ',' or ')'")
    return (tok, at, ()), pos + 1


#: The course's grammar, ready to use: ``GRAMMAR.sample(rng)``, ``GRAMMAR.parse(text)``.
GRAMMAR = Grammar(PRODUCTIONS, start="NET")


# ----- from a derivation to a network ----------------------------------------------------------

def _relu_conv_bn(C: int, kernel_size: int) -> nn.Module:
    return nn.Sequential(nn.ReLU(), nn.Conv2d(C, C, kernel_size, padding=kernel_size // 2, bias=False), nn.BatchNorm2d(C))


def _sep_conv(C: int) -> nn.Module:
    return nn.Sequential(
        nn.ReLU(),
        nn.Conv2d(C, C, 3, padding=1, groups=C, bias=False),
        nn.Conv2d(C, C, 1, bias=False),
        nn.BatchNorm2d(C),
    )


#: The operations :func:`build` knows, as constructors from a channel count (stride 1,
#: ``C`` channels in and out).
BUILD_OPS: dict[str, Callable[[int], nn.Module]] = {
    "conv3x3": lambda C: _relu_conv_bn(C, 3),
    "conv1x1": lambda C: _relu_conv_bn(C, 1),
    "sepconv3x3": _sep_conv,
    "avgpool": lambda C: nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False),
    "identity": lambda C: nn.Identity(),
}
#: The combinators :func:`build` knows: ``seq`` and ``stage`` chain their parts, ``res``
#: adds the input to its (chained) parts, ``par`` sums its parts.
BUILD_COMBINATORS: tuple[str, ...] = ("seq", "stage", "res", "par")


class Residual(nn.Module):
    """``x + body(x)``: the ``res`` combinator."""

    def __init__(self, body: nn.Module):
        super().__init__()
        self.body = body

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class Parallel(nn.Module):
    """The sum of branches applied to the same input: the ``par`` combinator."""

    def __init__(self, branches: Sequence[nn.Module]):
        super().__init__()
        self.branches = nn.ModuleList(branches)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out


def _block(tree: Tree, C: int) -> nn.Module:
    if tree.label is None:
        return _block(tree.children[0], C)
    if tree.label in BUILD_OPS:
        if tree.children:
            raise ValueError(f"operation {tree.label!r} takes no argument, got {len(tree.children)}")
        return BUILD_OPS[tree.label](C)
    if tree.label in BUILD_COMBINATORS:
        if not tree.children:
            raise ValueError(f"{tree.label!r} needs at least one argument")
        parts = [_block(c, C) for c in tree.children]
        if tree.label in ("seq", "stage"):
            return nn.Sequential(*parts)
        if tree.label == "res":
            return Residual(parts[0] if len(parts) == 1 else nn.Sequential(*parts))
        return Parallel(parts)
    raise ValueError(
        f"build does not know the terminal {tree.label!r}; it knows the operations {list(BUILD_OPS)}, "
        f"the combinators {list(BUILD_COMBINATORS)} and 'net' at the root"
    )


def build(tree: Tree, in_channels: int = 3, num_classes: int = 10, width: int = 16) -> nn.Module:
    """The network a derivation describes, for image batches ``(N, in_channels, H, W)``.

    A ``net(...)`` root gives one stage per argument; any other root is used as a single
    stage. Stem: 3x3 convolution to ``width`` channels and batch norm. Between stages:
    ReLU, a stride-2 3x3 convolution doubling the channels, batch norm. Head: batch norm,
    ReLU, global average pooling and a linear layer to ``num_classes`` logits.
    """
    check_type("tree", tree, Tree, "a grammar.Tree")
    in_channels, num_classes, width = (check_int(name, value) for name, value in
                                       (("in_channels", in_channels), ("num_classes", num_classes), ("width", width)))
    root = tree
    while root.label is None:
        root = root.children[0]
    stages = list(root.children) if root.label == "net" else [tree]
    C = int(width)
    layers: list[nn.Module] = [nn.Conv2d(in_channels, C, 3, padding=1, bias=False), nn.BatchNorm2d(C)]
    for i, stage in enumerate(stages):
        if i:
            layers += [nn.ReLU(), nn.Conv2d(C, 2 * C, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(2 * C)]
            C *= 2
        layers.append(_block(stage, C))
    layers += [nn.BatchNorm2d(C), nn.ReLU(), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(C, num_classes)]
    return nn.Sequential(*layers)


def to_graph(tree: Tree, collapse_units: bool = True) -> nx.DiGraph:
    """The derivation as a networkx tree for drawing: nodes ``0, 1, ...`` in preorder with
    ``label`` (the terminal, or the nonterminal for a kept unit production), ``symbol`` and
    ``depth`` attributes; edges from parent to child. Unit productions are skipped by default.
    """
    check_type("tree", tree, Tree, "a grammar.Tree")
    g = nx.DiGraph()

    def visit(t: Tree, parent: int | None, depth: int) -> None:
        if collapse_units and t.label is None:
            visit(t.children[0], parent, depth)
            return
        node = g.number_of_nodes()
        g.add_node(node, label=t.label if t.label is not None else t.symbol, symbol=t.symbol, depth=depth)
        if parent is not None:
            g.add_edge(parent, node)
        for c in t.children:
            visit(c, node, depth + 1)

    visit(tree, None, 0)
    return g
