"""Checks of the chapter notebooks as files, without running them.

Every notebook in ``chapters/`` must
- be stored without outputs or execution counts (the book build executes it);
- start its code with the Colab set-up cell that ``scripts/sync_setup_cells.py`` writes;
- have a check cell: a code cell tagged ``remove-cell`` that asserts a key result;
- keep code cells short, at most 25 lines (longer code belongs in the package).

The checker is tested on small notebooks made here, so that it is known to pass a correct
notebook and to fail each kind of bad one.
"""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_CELL_LINES = 25


def _load_sync_script():
    path = REPO_ROOT / "scripts" / "sync_setup_cells.py"
    spec = importlib.util.spec_from_file_location("sync_setup_cells", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


sync = _load_sync_script()
SETUP_SOURCE = sync.setup_cell_source(sync.repository_url())


def tags(cell) -> list[str]:
    return cell.get("metadata", {}).get("tags", [])


def notebook_problems(nb: nbformat.NotebookNode, setup_source: str = SETUP_SOURCE) -> list[str]:
    """Everything wrong with ``nb`` by the rules above; empty for a correct notebook."""
    problems = []
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    for number, cell in enumerate(code, start=1):
        if cell.get("outputs"):
            problems.append(f"code cell {number} has stored outputs")
        if cell.get("execution_count") is not None:
            problems.append(f"code cell {number} has an execution count")
        lines = len(cell.source.rstrip().splitlines())
        if lines > MAX_CELL_LINES:
            problems.append(f"code cell {number} has {lines} lines (at most {MAX_CELL_LINES})")
    if not code or code[0].source != setup_source or sync.SETUP_TAG not in tags(code[0]):
        problems.append("the first code cell is not the current set-up cell "
                        "(run: python scripts/sync_setup_cells.py)")
    if sum(sync.SETUP_TAG in tags(cell) for cell in code) > 1:
        problems.append(f"more than one cell is tagged {sync.SETUP_TAG}")
    if not any("remove-cell" in tags(cell) and re.search(r"\bassert\b", cell.source)
               for cell in code):
        problems.append("no check cell (a code cell tagged remove-cell with an assert)")
    return problems


# ---------------------------------------------------------------- the real notebooks

NOTEBOOKS = sorted((REPO_ROOT / "chapters").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[path.name for path in NOTEBOOKS])
def test_chapter_notebook(path):
    nb = nbformat.read(path, as_version=4)
    assert notebook_problems(nb) == []


# ---------------------------------------------------------------- the checker itself


def make_notebook(*, setup: str | None = SETUP_SOURCE, body: tuple[str, ...] = ("x = 1",),
                  check: str = "assert x == 1", check_tags: tuple[str, ...] = ("remove-cell",)):
    nb = new_notebook()
    nb.cells.append(new_markdown_cell("# A chapter\n\nSome text."))
    if setup is not None:
        cell = new_code_cell(setup)
        cell.metadata["tags"] = [sync.SETUP_TAG]
        nb.cells.append(cell)
    nb.cells.extend(new_code_cell(source) for source in body)
    last = new_code_cell(check)
    last.metadata["tags"] = list(check_tags)
    nb.cells.append(last)
    return nb


def test_checker_passes_a_correct_notebook():
    assert notebook_problems(make_notebook()) == []
    assert notebook_problems(make_notebook(body=("\n".join(["y = 0"] * MAX_CELL_LINES),))) == []


def test_checker_finds_stored_outputs():
    nb = make_notebook()
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", name="stdout", text="1\n")]
    nb.cells[2].execution_count = 3
    problems = notebook_problems(nb)
    assert any("stored outputs" in p for p in problems)
    assert any("execution count" in p for p in problems)


@pytest.mark.parametrize("setup", [None, "import sys",
                                   SETUP_SOURCE.replace("nascourse/nascourse", "someone/fork")])
def test_checker_finds_a_missing_or_stale_setup_cell(setup):
    assert any("set-up cell" in p for p in notebook_problems(make_notebook(setup=setup)))


def test_checker_finds_a_setup_cell_that_is_not_first():
    nb = make_notebook()
    nb.cells[1], nb.cells[2] = nb.cells[2], nb.cells[1]
    assert any("set-up cell" in p for p in notebook_problems(nb))


@pytest.mark.parametrize("check, check_tags", [
    ("assert x == 1", ()),                       # not tagged
    ("assert x == 1", ("hide-input",)),          # tagged, but not removed
    ("print(x)", ("remove-cell",)),              # removed, but asserts nothing
])
def test_checker_finds_a_missing_check_cell(check, check_tags):
    problems = notebook_problems(make_notebook(check=check, check_tags=check_tags))
    assert any("no check cell" in p for p in problems)


def test_checker_finds_a_long_cell():
    long_cell = "\n".join(f"y{i} = {i}" for i in range(MAX_CELL_LINES + 1))
    problems = notebook_problems(make_notebook(body=(long_cell,)))
    assert problems == [f"code cell 2 has {MAX_CELL_LINES + 1} lines (at most {MAX_CELL_LINES})"]


# ---------------------------------------------------------------- the set-up script


def test_setup_cell_installs_from_the_configured_repository():
    assert sync.repository_url() == "https://github.com/nascourse/nascourse"
    assert f'git+{sync.repository_url()}"' in SETUP_SOURCE
    assert SETUP_SOURCE.splitlines()[0].startswith("# Set-up: on Colab")


def test_setup_cell_is_valid_ipython():
    from IPython.core.inputtransformer2 import TransformerManager
    python = TransformerManager().transform_cell(SETUP_SOURCE)
    compile(python, "<setup cell>", "exec")
    assert "run_line_magic('pip'" in python


def test_sync_inserts_rewrites_and_is_idempotent(tmp_path):
    stale = make_notebook(setup=SETUP_SOURCE.replace("nascourse/nascourse", "old/place"))
    stale.cells.insert(3, stale.cells.pop(1))          # and in the wrong place
    missing = make_notebook(setup=None)
    for name, nb in {"stale.ipynb": stale, "missing.ipynb": missing}.items():
        path = tmp_path / name
        nbformat.write(nb, path)
        before = path.read_text(encoding="utf-8")
        assert sync.sync(path, SETUP_SOURCE, check=True) is True
        assert path.read_text(encoding="utf-8") == before, "--check must not change the file"
        assert sync.sync(path, SETUP_SOURCE) is True
        assert sync.sync(path, SETUP_SOURCE) is False, "a second run must change nothing"
        fixed = nbformat.read(path, as_version=4)
        assert notebook_problems(fixed) == []
        assert fixed.cells[0].cell_type == "markdown", "the title stays first"
        text = path.read_text(encoding="utf-8")
        assert text == nbformat.writes(fixed) + "\n" and text.startswith('{\n "cells": [\n')
