"""What an installation gives a reader: every third-party module that the package or a
chapter imports is declared by the package (a core dependency, or the ``course`` extra that
the chapters' Colab set-up cell installs), and requirements.txt pins every declared one, so
Colab, Binder and a laptop install the same set."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))

#: Import names whose distribution is named differently.
DISTRIBUTION = {"sklearn": "scikit-learn", "distributed": "dask", "skfuzzy": "scikit-fuzzy"}
#: Imported only inside a function that says what to install when it is missing, for an
#: option no chapter uses (torchvision: the full CIFAR-10 on disk; ipywidgets: widget
#: progress bars, plain text without it), or installed with a declared distribution.
OPTIONAL = {"torchvision", "ipywidgets"}
NOTEBOOK = {"IPython"}     # claims.say renders Markdown in a notebook, which brings IPython
BUNDLED = {"joblib", "threadpoolctl", "cycler"}        # scikit-learn's and matplotlib's own
NOT_DECLARED = {"torch"}   # requirements.txt pins it; Colab has its own build (pyproject says why)


def requirement_name(spec: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", spec.strip(), maxsplit=1)[0].lower()


def declared() -> set[str]:
    project = PYPROJECT["project"]
    specs = list(project["dependencies"]) + list(project["optional-dependencies"]["course"])
    return {requirement_name(spec) for spec in specs}


def imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "nascourse"}


def package_imports() -> set[str]:
    return set().union(*(imported_modules(path.read_text(encoding="utf-8"))
                         for path in (ROOT / "nascourse").rglob("*.py")))


def chapter_imports() -> set[str]:
    names = set()
    for path in sorted((ROOT / "chapters").glob("[0-9]*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.cell_type == "code":
                lines = [re.sub(r"^(\s*)[%!].*", r"\1pass", line) for line in cell.source.splitlines()]
                names |= imported_modules("\n".join(lines))   # a magic becomes a no-op
    return names


@pytest.mark.parametrize("where, modules", [("package", package_imports), ("chapters", chapter_imports)])
def test_every_imported_module_is_declared(where, modules):
    needed = {DISTRIBUTION.get(name, name).lower() for name in modules() - OPTIONAL - NOTEBOOK - BUNDLED - NOT_DECLARED}
    missing = needed - declared()
    assert not missing, f"the {where} import {sorted(missing)}, which pyproject.toml does not declare"


def test_requirements_pin_every_declared_distribution():
    lines = (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines()
    pinned = {requirement_name(line) for line in lines if line.strip() and not line.lstrip().startswith(("#", "-"))}
    missing = declared() - pinned
    assert not missing, f"requirements.txt does not list {sorted(missing)}"


def test_the_colab_setup_cell_installs_the_course_extra():
    for path in sorted((ROOT / "chapters").glob("[0-9]*.ipynb")):
        setup = [cell for cell in nbformat.read(path, as_version=4).cells
                 if "setup-cell" in cell.metadata.get("tags", [])]
        assert len(setup) == 1 and '"nascourse[course] @ git+' in setup[0].source, path.name


def test_the_scanner_sees_an_undeclared_import():
    assert imported_modules("import numpy as np\nfrom made_up_lib.sub import x\nimport os") == {"numpy",
                                                                                                "made_up_lib"}
    assert "made_up_lib" not in declared()
