"""Build one chapter as the book shows it, without executing the others.

    python scripts/build_chapter.py chapters/04_one_shot_darts.ipynb [--out /tmp/ch04]

Writes the book's table of contents with the other chapters left out (the landing page,
this chapter and the bibliography remain, numbered as in the book), and runs
``jupyter-book build`` on the repository with it, so the page gets the book's
configuration (bundled MathJax, bibliography, extensions) while only this chapter is
executed. Links to the other chapters are reported as missing; the full build (README)
is the one that must be clean. Prints the path of the built page.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapter", type=Path)
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a new temporary one)")
    args = parser.parse_args(argv)
    chapter = args.chapter.resolve()
    if not chapter.is_file() or chapter.parent != REPO_ROOT / "chapters":
        parser.error(f"{args.chapter} is not a file in {REPO_ROOT / 'chapters'}")
    out = args.out or Path(tempfile.mkdtemp(prefix=f"{chapter.stem}-"))
    out.mkdir(parents=True, exist_ok=True)
    toc = out / "_toc.yml"
    book = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in book["parts"]:
        part["chapters"] = [entry for entry in part["chapters"]
                            if not entry["file"].split("/")[-1][:2].isdigit()
                            or entry["file"].endswith(chapter.stem)]
    toc.write_text(yaml.safe_dump(book, sort_keys=False), encoding="utf-8")
    bindir = Path(sys.executable).parent
    jupyter_book = bindir / "jupyter-book"
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book", "build",
               str(REPO_ROOT), "--toc", str(toc), "--path-output", str(out)]
    result = subprocess.run(command, cwd=REPO_ROOT)
    print(f"page: {out / '_build' / 'html' / 'chapters' / (chapter.stem + '.html')}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main())
