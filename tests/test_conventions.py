"""One convention for each kind of thing: checks that read the package's source.

- Argument checks go through ``nascourse/_checks.py``: no module raises ValueError for a
  wrong type, re-implements the int or bool checks (``isinstance(x, bool)``) or writes an
  ``if not isinstance(...): raise TypeError(...)`` of its own.
- No module imports another module's private names (``from nascourse.x import _y``).
- Nothing seeds a global generator (``torch.manual_seed``, ``np.random.seed``,
  ``random.seed``) outside ``torch.random.fork_rng()``, which restores the global state.

Each rule is shown to find a planted example, so that the checks can fail.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "nascourse"
ALLOWED = {"_checks.py"}          # where the checks themselves live
GLOBAL_SEEDS = {("torch", "manual_seed"), ("np", "random.seed"), ("numpy", "random.seed"), ("random", "seed")}


def _calls_isinstance(node: ast.AST) -> bool:
    return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "isinstance"
               for n in ast.walk(node))


def _raised(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Raise) and stmt.exc is not None:
        exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
        return getattr(exc, "id", getattr(exc, "attr", None))
    return None


def _is_bool_type(node: ast.AST) -> bool:
    return (isinstance(node, ast.Name) and node.id == "bool") or (
        isinstance(node, ast.Attribute) and node.attr == "bool_")


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return node.id if isinstance(node, ast.Name) else ""


def _inside_fork_rng(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.With) and any("fork_rng" in _dotted(item.context_expr.func)
                                               for item in node.items if isinstance(item.context_expr, ast.Call)):
            return True
    return False


def violations(source: str) -> list[tuple[int, str]]:
    """The places in ``source`` that break the package's conventions, as (line, rule)."""
    tree = ast.parse(source)
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _calls_isinstance(node.test):
            for stmt in node.body:
                if _raised(stmt) == "ValueError":
                    found.append((node.lineno, "ValueError for a wrong type (a TypeError, via _checks)"))
            if len(node.body) == 1 and _raised(node.body[0]) == "TypeError":
                found.append((node.lineno, "inline type check (use _checks.check_type or check_sequence)"))
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "isinstance"
              and len(node.args) == 2):
            types = node.args[1].elts if isinstance(node.args[1], ast.Tuple) else [node.args[1]]
            if any(_is_bool_type(t) for t in types):
                found.append((node.lineno, "inline int/bool check (use _checks.check_int or check_bool)"))
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("nascourse"):
            private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
            if private:
                found.append((node.lineno, f"private import of {private} from {node.module}"))
        elif isinstance(node, ast.Call):
            name = _dotted(node.func)
            if any(name == f"{mod}.{fn}" for mod, fn in GLOBAL_SEEDS) and not _inside_fork_rng(node, parents):
                found.append((node.lineno, f"global seeding with {name} (pass a generator)"))
    return found


def package_files() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name not in ALLOWED)


@pytest.mark.parametrize("path", package_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_module_follows_the_conventions(path):
    found = violations(path.read_text(encoding="utf-8"))
    assert not found, "\n".join(f"{path.relative_to(PACKAGE.parent)}:{line}: {rule}" for line, rule in found)


PLANTED = '''
import numpy as np
import torch
from nascourse.search.base import _record

def f(n, flag, net):
    if not isinstance(n, int):
        raise ValueError(f"n must be an int, got {n!r}")
    if isinstance(flag, bool) or flag < 0:
        pass
    if not isinstance(net, torch.nn.Module):
        raise TypeError("net must be a Module")
    torch.manual_seed(0)
    np.random.seed(0)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(1)          # allowed: the global state is restored
'''


def test_each_rule_finds_its_planted_example():
    rules = [rule.split(" (")[0] for _, rule in violations(PLANTED)]
    assert sorted(rules) == sorted([
        "private import of ['_record'] from nascourse.search.base",
        "ValueError for a wrong type", "inline int/bool check", "inline type check",
        "global seeding with torch.manual_seed", "global seeding with np.random.seed"])
    assert violations("from nascourse._checks import check_int\ncheck_int('n', 3)\n") == []


# ---------------------------------------------------------------- one estimator contract

TESTS = Path(__file__).resolve().parent


def package_estimators() -> dict[str, type]:
    """Every class of the package that has a ``fit`` method, by qualified name."""
    import importlib
    import inspect
    import pkgutil

    import nascourse

    found = {}
    for info in pkgutil.walk_packages(nascourse.__path__, "nascourse."):
        if info.name.split(".")[-1] in ("bench", "datasets"):     # alias modules of the old names
            continue
        module = importlib.import_module(info.name)
        for name, cls in inspect.getmembers(module, inspect.isclass):
            if cls.__module__ == info.name and not name.startswith("_") and callable(getattr(cls, "fit", None)):
                found[f"{info.name}.{name}"] = cls
    return found


def test_every_estimator_follows_scikit_learns_contract_and_is_checked():
    """Each class with ``fit`` subclasses BaseEstimator and appears in a test module that runs
    scikit-learn's estimator checks on it (``parametrize_with_checks`` or ``check_estimator``)."""
    from sklearn.base import BaseEstimator

    checked = [p.read_text(encoding="utf-8") for p in TESTS.glob("test_*.py")]
    checked = [text for text in checked if "parametrize_with_checks" in text or "check_estimator(" in text]
    estimators = package_estimators()
    assert len(estimators) >= 8
    problems = [f"{name} does not subclass sklearn.base.BaseEstimator"
                for name, cls in estimators.items() if not issubclass(cls, BaseEstimator)]
    problems += [f"{name} is not run through scikit-learn's estimator checks in tests/"
                 for name, cls in estimators.items()
                 if not any(re.search(rf"\b{cls.__name__}\(", text) for text in checked)]
    assert not problems, "\n".join(problems)
