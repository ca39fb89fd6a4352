"""scripts/check_seeds.py: chapters run with other seeds, failed checks reported, not raised."""

from __future__ import annotations

import contextlib
import io
import os

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from scripts import check_seeds



def run(source: str) -> str:
    """Execute code, return what it printed."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(source, {})
    return out.getvalue()


def test_failed_assertions_are_reported_and_the_rest_runs():
    source = "x = 3\nassert x > 1\nassert x < 2, 'too big'\nfor k in range(2):\n    assert k == 0\ny = x + 1"
    printed = run(check_seeds.report_asserts(source)).splitlines()
    assert printed == ["CHECK FAILED line 3: x < 2", "CHECK FAILED line 5: k == 0"]


def test_seed_line_is_rewritten_and_only_check_cells_soften():
    check = new_code_cell("assert SEED == 0", metadata={"tags": ["remove-cell"]})
    plain = new_code_cell("assert True")
    nb = new_notebook(cells=[new_code_cell("import math\nSEED = 0   # the seed"), plain, check])
    seeded = check_seeds.with_seed(nb, 7)
    assert seeded.cells[0].source == "import math\nSEED = 7   # the seed"
    assert seeded.cells[1].source == "assert True" and "print" in seeded.cells[2].source
    assert nb.cells[0].source.endswith("SEED = 0   # the seed") and nb.cells[2].source == "assert SEED == 0"
    with pytest.raises(ValueError, match="found 0"):
        check_seeds.with_seed(new_notebook(cells=[plain]), 1)


def test_main_runs_each_seed_and_fails_when_a_check_does(tmp_path, capsys):
    path = tmp_path / "01_demo.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("SEED = 0\nvalue = SEED * 10"),
        new_code_cell("assert value < 15\nassert value >= 0", metadata={"tags": ["remove-cell"]})]), path)
    assert check_seeds.main([str(path), "--seeds", "0", "1"]) == 0
    assert check_seeds.main([str(path), "--seeds", "2"]) == 1
    printed = capsys.readouterr().out
    assert "01_demo.ipynb, seed 1: 0 failed" in printed
    assert "01_demo.ipynb, seed 2: 1 failed" in printed and "CHECK FAILED line 1: value < 15" in printed


def test_main_reports_a_failed_claim_and_runs_on(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("NASCOURSE_REPORT_CLAIMS", raising=False)
    path = tmp_path / "02_demo.ipynb"
    nbformat.write(new_notebook(cells=[
        new_code_cell("SEED = 0\nvalue = 0.5 + SEED"),
        new_code_cell("from nascourse import claims\nclaims.close('0.5', value, tol=0.01)\n"
                      "claims.above('0.1', value)\nprint('after the claims')",
                      metadata={"tags": ["remove-cell"]})]), path)
    assert check_seeds.main([str(path), "--seeds", "0"]) == 0
    assert check_seeds.main([str(path), "--seeds", "1"]) == 1
    printed = capsys.readouterr().out
    assert "02_demo.ipynb, seed 1: 1 failed" in printed
    assert "CLAIM FAILED the prose says 0.5, the code computed 1.5 (tolerance 0.01)" in printed
    assert "NASCOURSE_REPORT_CLAIMS" not in os.environ, "main must leave the environment as it was"
