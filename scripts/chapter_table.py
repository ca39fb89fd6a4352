"""The table of chapters on the landing page (chapters/intro.md), from the chapters.

    python scripts/chapter_table.py          # print the table's rows
    python scripts/chapter_table.py --check  # exit 1 if intro.md's table differs

Reading time is the chapter's words (prose and code, not the solutions) at 200 words a
minute, rounded up to 5 minutes; exercises are counted from its ``{exercise}`` blocks;
run time is the chapter's own estimate (the phrase after "**Estimated run time:**", up to
the first comma, semicolon, colon, parenthesis or "on a"), which the chapter measured. What each
chapter teaches is the one column written by hand, in intro.md; this script keeps it.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from pathlib import Path

import nbformat

REPO_ROOT = Path(__file__).resolve().parent.parent
INTRO = REPO_ROOT / "chapters" / "intro.md"
WORDS_PER_MINUTE = 200
HEADER = "| | chapter | what you learn | reading | exercises | run time |"
ROW = re.compile(r"^\| (\d\d) \| \[([^\]]+)\]\(([^)]+)\) \| (.*?) \| .*? \| .*? \| .*? \|$")
SOLUTION = re.compile(r"^(`{3,}|:{3,})\{solution\}.*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)
RUN_TIME = re.compile(r"\*\*Estimated run time:\*\*\s*(.*?)\s*(?:[,;:(.]|\son an?\s)", re.DOTALL)


def reading_minutes(nb: nbformat.NotebookNode) -> int:
    words = sum(len(SOLUTION.sub(" ", cell.source).split()) for cell in nb.cells
                if "remove-cell" not in cell.metadata.get("tags", []))
    return 5 * math.ceil(words / WORDS_PER_MINUTE / 5)


def exercises(nb: nbformat.NotebookNode) -> int:
    return sum(len(re.findall(r"^(`{3,}|:{3,})\{exercise\}", cell.source, re.MULTILINE))
               for cell in nb.cells if cell.cell_type == "markdown")


def run_time(nb: nbformat.NotebookNode) -> str:
    match = RUN_TIME.search(nb.cells[0].source)
    if match is None:
        raise ValueError("the first cell has no '**Estimated run time:**' sentence")
    return " ".join(match.group(1).split())


def rows(intro: str) -> list[str]:
    """The table's rows with the computed columns recomputed from the notebooks."""
    out = []
    for line in intro.splitlines():
        if match := ROW.match(line):
            number, title, target, teaches = match.groups()
            nb = nbformat.read(INTRO.parent / target, as_version=4)
            out.append(f"| {number} | [{title}]({target}) | {teaches} | {reading_minutes(nb)} min "
                       f"| {exercises(nb)} | {run_time(nb)} |")
    return out


def table_lines(intro: str) -> list[str]:
    return [line for line in intro.splitlines() if ROW.match(line)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true")
    parser.add_argument("--write", action="store_true", help="rewrite the rows in intro.md")
    args = parser.parse_args(argv)
    intro = INTRO.read_text(encoding="utf-8")
    new = rows(intro)
    if args.write:
        old = table_lines(intro)
        for before, after in zip(old, new):
            intro = intro.replace(before, after)
        INTRO.write_text(intro, encoding="utf-8")
    elif args.check:
        return int(table_lines(intro) != new)
    else:
        print(HEADER, "| --- | --- | --- | --- | --- | --- |", *new, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
