"""Pytest configuration shared by the unit tests and the notebook run (nbval).

Every chapter must execute within a time budget on a 2-core laptop CPU (3 minutes by
default; set NASCOURSE_CHAPTER_BUDGET in seconds to change it). nbval runs each notebook
cell as one test item, so the time of a chapter is the sum of its items, kernel start-up
included; a chapter over budget fails the run.
"""

from __future__ import annotations

import collections
import os

import pytest

BUDGET = float(os.environ.get("NASCOURSE_CHAPTER_BUDGET", "180"))
_chapter_seconds: collections.Counter = collections.Counter()


def pytest_configure(config):
    os.environ.setdefault("MPLBACKEND", "Agg")


def pytest_runtest_logreport(report):
    path = report.nodeid.split("::")[0]
    if path.endswith(".ipynb"):
        _chapter_seconds[path] += report.duration


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
