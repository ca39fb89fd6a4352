"""conftest.py keeps what nbval executed so that the book build does not execute it again.

A small notebook is run under nbval with the repository's conftest.py, as ``python -m
pytest`` runs the chapters; the notebook written for the book must hold the outputs a
reader sees (printed text, the figure, nothing for a line that ends in ``;``), and a
notebook with a failing cell must be recorded as failed, with nbval's report of the cell.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

REPO_ROOT = Path(__file__).resolve().parent.parent


def run_nbval(folder: Path, *notebooks: str) -> subprocess.CompletedProcess:
    shutil.copy(REPO_ROOT / "conftest.py", folder / "conftest.py")
    env = {**os.environ, "NASCOURSE_EXECUTED_NOTEBOOKS": str(folder / "executed")}
    env.pop("MPLBACKEND", None)
    return subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval-lax",
                           *notebooks], cwd=folder, env=env, capture_output=True, text=True, timeout=300)


def test_the_executed_notebook_holds_what_a_reader_sees(tmp_path):
    nbformat.write(new_notebook(cells=[
        new_markdown_cell("# A page"),
        new_code_cell("print('hello')\n6 * 7"),
        new_code_cell("import matplotlib.pyplot as plt\nfig, ax = plt.subplots()\nax.plot([1, 2])\n"
                      "ax.set_title('t');"),
        new_code_cell("x = 1"),
    ]), tmp_path / "01_page.ipynb")
    nbformat.write(new_notebook(cells=[new_code_cell("print('before')"), new_code_cell("1 / 0"),
                                       new_code_cell("print('after')")]), tmp_path / "02_broken.ipynb")
    result = run_nbval(tmp_path, "01_page.ipynb", "02_broken.ipynb")
    assert result.returncode == 1, result.stdout[-3000:]
    assert "ZeroDivisionError" in result.stdout        # nbval's report names the failing cell's error

    executed = tmp_path / "executed"
    status = json.loads((executed / "status.json").read_text())
    assert status == {"01_page.ipynb": "passed", "02_broken.ipynb": "failed"}
    assert not (executed / "02_broken.ipynb").exists()
    nb = nbformat.read(executed / "01_page.ipynb", as_version=4)
    nbformat.validate(nb)
    printed, figure, quiet = (cell.outputs for cell in nb.cells[1:])
    assert [o["output_type"] for o in printed] == ["stream", "execute_result"]
    assert printed[0]["text"] == "hello\n" and printed[1]["data"]["text/plain"] == "42"
    assert [o["output_type"] for o in figure] == ["display_data"] and "image/png" in figure[0]["data"]
    assert quiet == []
    assert nb.metadata["language_info"]["pygments_lexer"] == "ipython3"
    assert [cell.execution_count for cell in nb.cells[1:]] == [1, 2, 3]
