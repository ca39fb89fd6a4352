"""Run chapters with other seeds and report which of their checks fail.

Every chapter draws its random numbers from one ``SEED = 0`` line, and ends its key results
with check cells (tagged ``remove-cell``) that the tests run with that seed. A check, or a
sentence of the prose, that holds for seed 0 alone describes one lucky draw, not the
method. This script rewrites the seed line to each seed asked for, turns every ``assert``
of the check cells into a report (so that one failure does not hide the next), executes
the notebook and lists the assertions that failed and the cells that raised.

    python scripts/check_seeds.py                                 # seeds 1-4, every chapter
    python scripts/check_seeds.py chapters/04_one_shot_darts.ipynb --seeds 1 2   # seeds after the notebooks

Each run takes about as long as the chapter itself; timings printed by a chapter vary, and
its other numbers change with the seed, so read the prose against the failures reported.
Exit status 1 when any check failed or any cell raised.
"""

from __future__ import annotations

import argparse
import ast
import os
import re
import sys
import time
from pathlib import Path

import nbformat
from nbclient import NotebookClient

from nascourse import claims

REPO_ROOT = Path(__file__).resolve().parent.parent
SEED_LINE = re.compile(r"^SEED = \d+", re.MULTILINE)
CHECK_TAG = "remove-cell"
MARK = "CHECK FAILED"


class _ReportAsserts(ast.NodeTransformer):
    """``assert test, msg`` becomes ``if not (test): print(MARK, line, source of test)``."""

    def __init__(self, source: str):
        self.source = source

    def visit_Assert(self, node: ast.Assert) -> ast.stmt:
        text = ast.get_source_segment(self.source, node.test) or ast.unparse(node.test)
        report = ast.parse(f"if not ({ast.unparse(node.test)}):\n"
                           f"    print({MARK!r}, 'line {node.lineno}:', {' '.join(text.split())!r})").body[0]
        return ast.copy_location(report, node)


def report_asserts(source: str) -> str:
    """The cell's code with every assertion turned into a printed report."""
    tree = _ReportAsserts(source).visit(ast.parse(source))
    return ast.unparse(ast.fix_missing_locations(tree))


def with_seed(nb: nbformat.NotebookNode, seed: int) -> nbformat.NotebookNode:
    """A copy of the notebook whose ``SEED = ...`` line says ``seed`` and whose check cells
    report failed assertions instead of raising."""
    nb = nbformat.from_dict(nb)
    hits = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        cell.source, n = SEED_LINE.subn(f"SEED = {seed}", cell.source)
        hits += n
        if CHECK_TAG in cell.metadata.get("tags", []) and "assert" in cell.source:
            cell.source = report_asserts(cell.source)
    if hits != 1:
        raise ValueError(f"expected one 'SEED = <int>' line in the notebook, found {hits}")
    return nb


def failures(nb: nbformat.NotebookNode) -> list[str]:
    """The reported assertions and the errors of an executed notebook, one line each."""
    found = []
    for index, cell in enumerate(nb.cells):
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index} raised {output['ename']}: {output['evalue'][:200]}")
            elif output.get("output_type") == "stream":
                found += [f"cell {index}: {line}" for line in output.get("text", "").splitlines()
                          if line.startswith((MARK, claims.FAILED))]
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        default=sorted((REPO_ROOT / "chapters").glob("[0-9]*.ipynb")))
    parser.add_argument("--seeds", nargs="+", type=int, default=[1, 2, 3, 4])
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    args = parser.parse_args(argv)
    before = os.environ.get(claims.REPORT_ENV)
    os.environ[claims.REPORT_ENV] = "1"   # inherited by the kernels started below
    try:
        failed = _run(args)
    finally:   # leave the caller's environment as it was (the tests call main)
        if before is None:
            del os.environ[claims.REPORT_ENV]
        else:
            os.environ[claims.REPORT_ENV] = before
    return int(failed)


def _run(args: argparse.Namespace) -> bool:
    failed = False
    for path in args.notebooks:
        original = nbformat.read(path, as_version=4)
        for seed in args.seeds:
            nb = with_seed(original, seed)
            start = time.perf_counter()
            NotebookClient(nb, timeout=args.timeout, kernel_name="python3", allow_errors=True,
                           resources={"metadata": {"path": str(path.resolve().parent)}}).execute()
            found = failures(nb)
            failed |= bool(found)
            print(f"{path.name}, seed {seed}: {len(found)} failed, {time.perf_counter() - start:.0f} s",
                  *[f"  {line}" for line in found], sep="\n", flush=True)
    return failed


if __name__ == "__main__":
    sys.exit(main())
