"""Write the Colab set-up cell into every chapter notebook.

Colab does not have the ``nascourse`` package, so the first code cell of every notebook
installs it there, from the repository, with its ``course`` extra (Dask, SHAP, Optuna,
moocore: what the chapters import beyond the core), and does nothing anywhere else. The repository URL
is kept in one place, ``repository.url`` in ``_config.yml``; this script reads it and
inserts (or rewrites) that cell, tagged ``setup-cell``, as the first code cell of each
notebook. Run it after adding a notebook or changing the URL:

    python scripts/sync_setup_cells.py            # rewrite chapters/*.ipynb in place
    python scripts/sync_setup_cells.py --check    # exit 1 if any notebook is out of date

Notebooks are written with ``nbformat`` (indent 1, sorted keys), the format Jupyter uses,
and only when their content changes. ``tests/test_notebooks_static.py`` checks the result.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG = REPO_ROOT / "_config.yml"
CHAPTERS = REPO_ROOT / "chapters"

SETUP_TAG = "setup-cell"
SETUP_CELL_ID = "nascourse-setup"


def repository_url(config: Path = CONFIG) -> str:
    """The repository URL from ``repository.url`` in the book's ``_config.yml``."""
    settings = yaml.safe_load(config.read_text(encoding="utf-8"))
    url = str(settings["repository"]["url"]).strip()
    return url.removesuffix("/").removesuffix(".git")


def setup_cell_source(url: str) -> str:
    """The source of the set-up cell that installs the package from ``url`` on Colab."""
    return (
        "# Set-up: on Colab, install the course package; elsewhere this does nothing.\n"
        "import sys\n"
        'if "google.colab" in sys.modules:\n'
        f'    %pip install -q "nascourse[course] @ git+{url}"'
    )


def is_setup_cell(cell: nbformat.NotebookNode) -> bool:
    return cell.cell_type == "code" and SETUP_TAG in cell.get("metadata", {}).get("tags", [])


def with_setup_cell(nb: nbformat.NotebookNode, source: str) -> nbformat.NotebookNode:
    """Return ``nb`` with exactly one set-up cell, placed before its first other code cell."""
    cells = [cell for cell in nb.cells if not is_setup_cell(cell)]
    setup = nbformat.v4.new_code_cell(source=source)
    setup.id = SETUP_CELL_ID
    setup.metadata = {"tags": [SETUP_TAG]}
    first_code = next((i for i, cell in enumerate(cells) if cell.cell_type == "code"), len(cells))
    nb.cells = cells[:first_code] + [setup] + cells[first_code:]
    return nb


def sync(path: Path, source: str, check: bool = False) -> bool:
    """Bring the set-up cell of the notebook at ``path`` up to date; True if it changed.

    With ``check``, the file is left as it is and only the answer is given.
    """
    old = path.read_text(encoding="utf-8")
    nb = with_setup_cell(nbformat.reads(old, as_version=4), source)
    new = nbformat.writes(nb)
    new += "" if new.endswith("\n") else "\n"   # as nbformat.write ends the file
    if new == old:
        return False
    if not check:
        path.write_text(new, encoding="utf-8")
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path,
                        help="notebooks to update (default: chapters/*.ipynb)")
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if a notebook is out of date")
    args = parser.parse_args(argv)

    source = setup_cell_source(repository_url())
    notebooks = args.notebooks or sorted(CHAPTERS.glob("*.ipynb"))
    changed = [path for path in notebooks if sync(path, source, check=args.check)]
    for path in changed:
        print(f"{'out of date' if args.check else 'updated'}: {path}")
    if not changed:
        print(f"{len(notebooks)} notebook(s) up to date")
    return 1 if (args.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
