"""Pytest configuration shared by the unit tests and the notebook run (nbval).

Every chapter must execute within a time budget on a 2-core laptop CPU (3 minutes by
default; set NASCOURSE_CHAPTER_BUDGET in seconds to change it). nbval runs each notebook
cell as one test item, so the time of a chapter is the sum of its items, kernel start-up
included; a chapter over budget fails the run.

Each chapter executes once per test run. nbval runs it first (``testpaths`` lists
``chapters`` before ``tests``) and reports a failing cell with its traceback; this file
keeps the outputs that nbval received and, when every code cell of a chapter passed,
writes the executed notebook to the folder named by the environment variable
``NASCOURSE_EXECUTED_NOTEBOOKS`` (a fresh temporary folder unless it is set), with a
``status.json`` that says which chapters passed and which failed. The book build
(``tests/test_book.py``) then renders those notebooks instead of executing them again;
a chapter that nbval did not run is executed by the build as before.
"""

from __future__ import annotations

import collections
import copy
import json
import os
import tempfile
from pathlib import Path

import pytest

BUDGET = float(os.environ.get("NASCOURSE_CHAPTER_BUDGET", "180"))
EXECUTED_ENV = "NASCOURSE_EXECUTED_NOTEBOOKS"
REPO_ROOT = Path(__file__).resolve().parent
_chapter_seconds: collections.Counter = collections.Counter()
_cells_passed: collections.Counter = collections.Counter()
_status: dict[str, str] = {}


def _execute_as_jupyter_does(self, cell_input, allow_stdin=None):
    """nbval's RunningKernel.execute_cell_input with ``store_history=True``, as Jupyter and
    the book build run cells: IPython reads the history to honour a trailing ``;``, so
    without it a cell ending in ``ax.legend();`` would print ``<matplotlib.legend.Legend at
    ...>`` under nbval and not on the website."""
    return self.kc.execute(cell_input, store_history=True, allow_stdin=allow_stdin, stop_on_error=False)


def pytest_configure(config):
    try:
        from nbval.kernel import RunningKernel
    except ImportError:    # nbval is not installed: no notebooks run
        pass
    else:
        RunningKernel.execute_cell_input = _execute_as_jupyter_does
    # The unit tests draw off screen; the notebook kernels must not inherit that: without
    # MPLBACKEND, ipykernel draws inline, so the outputs kept for the book hold the figures.
    os.environ.pop("MPLBACKEND", None)
    import matplotlib
    matplotlib.use("Agg")
    folder = os.environ.get(EXECUTED_ENV) or tempfile.mkdtemp(prefix="nascourse-executed-")
    os.environ[EXECUTED_ENV] = folder
    Path(folder).mkdir(parents=True, exist_ok=True)


def _notebook(report_or_item) -> str:
    return report_or_item.nodeid.split("::")[0]


def pytest_runtest_logreport(report):
    path = _notebook(report)
    if path.endswith(".ipynb"):
        _chapter_seconds[path] += report.duration
        if report.failed:
            _record(path, "failed")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep the outputs of each notebook cell that nbval ran; write the notebook once all
    its code cells have passed."""
    outcome = yield
    report = outcome.get_result()
    outputs = getattr(item, "test_outputs", None)
    if call.when != "call" or not _notebook(item).endswith(".ipynb") or outputs is None:
        return
    if not report.passed:
        return
    cell, notebook = item.cell, item.parent.nb
    cell.outputs = [copy.deepcopy(dict(out)) for out in outputs]
    for out in cell.outputs:
        if out["output_type"] == "execute_result":
            out.setdefault("metadata", {})
    _cells_passed[_notebook(item)] += 1
    cell.execution_count = _cells_passed[_notebook(item)]
    code_cells = sum(c.cell_type == "code" for c in notebook.cells)
    if _cells_passed[_notebook(item)] == code_cells and _status.get(_notebook(item)) != "failed":
        import nbformat
        from ipykernel.ipkernel import IPythonKernel
        # what a kernel reports and myst-nb reads to choose the code cells' lexer
        notebook.metadata["language_info"] = dict(IPythonKernel.language_info)
        target = Path(os.environ[EXECUTED_ENV]) / Path(_notebook(item)).name
        nbformat.write(nbformat.from_dict(notebook), target)
        _record(_notebook(item), "passed")


def _record(path: str, status: str) -> None:
    """Note in ``status.json`` whether chapter ``path`` executed completely under nbval."""
    _status[str(Path(path).as_posix())] = status
    folder = Path(os.environ[EXECUTED_ENV])
    (folder / "status.json").write_text(json.dumps(_status, indent=1), encoding="utf-8")


def _over_budget():
    return {path: s for path, s in _chapter_seconds.items() if s > BUDGET}


def pytest_terminal_summary(terminalreporter):
    if not _chapter_seconds:
        return
    terminalreporter.section("chapter run times")
    for path, seconds in sorted(_chapter_seconds.items()):
        flag = "  OVER BUDGET" if seconds > BUDGET else ""
        terminalreporter.write_line(f"{seconds:7.1f} s  {path}{flag}")
    for path, seconds in _over_budget().items():
        terminalreporter.write_line(f"FAILED budget: {path} took {seconds:.0f} s, over {BUDGET:.0f} s")


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    if _over_budget() and exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
