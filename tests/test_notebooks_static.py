"""Checks of the chapter notebooks as files, without running them.

Every notebook in ``chapters/`` must
- be stored without outputs or execution counts (the book build executes it);
- start its code with the Colab set-up cell that ``scripts/sync_setup_cells.py`` writes;
- have a check cell: a code cell tagged ``remove-cell`` that asserts a key result;
- keep code cells short, at most 25 lines (longer code belongs in the package);
- quote no computed number that nothing checks: every decimal number or percentage in its
  markdown (outside maths and code) is bound by a ``nascourse.claims`` call, cited (its
  paragraph has a ``{cite}`` role: a published number), or listed with a reason under the
  notebook metadata ``nascourse.unchecked-numbers`` (a setting, or arithmetic shown);
- draw in the course style: call ``viz.use_style()``, no ``figsize`` wider than the text
  column (``viz.TEXT_WIDTH``), and figures captioned by a markdown cell right after the
  code cell, opening with ``**Figure N.**``, numbered 1, 2, ... in order; a "Figure N" in
  the text names a caption that exists;
- refer to chapters by links (``[chapter 04](04_one_shot_darts.ipynb)``), to exercises by
  ``{ref}`` alone (the role writes "Exercise N" itself) and to authors by ``{cite:t}``
  (``Zoph et al. {cite}`...``` prints the names twice).

The checker is tested on small notebooks made here, so that it is known to pass a correct
notebook and to fail each kind of bad one.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

from nascourse import viz
from scripts import chapter_table
from scripts import sync_setup_cells as sync

REPO_ROOT = Path(__file__).resolve().parent.parent
MAX_CELL_LINES = 25
CLAIM_FUNCTIONS = {"close", "above", "below", "between"}
EXEMPT_KEY = "unchecked-numbers"
# A decimal number or a percentage as prose spells it (not part of a word or a version).
NUMBER = re.compile(r"(?<![\w.,])[-\u2212]?\d+(?:,\d{3})*(?:\.\d+%?|%)(?![\w]|\.\d)")
CAPTION = re.compile(r"^\*\*Figure (\d+)\.\*\*")
FIGURE_REF = re.compile(r"\bFigures? (\d+)(?:(?:,| and| to|-|\u2013) ?(\d+))*")
FIGSIZE = re.compile(r"figsize\s*=\s*\(\s*([0-9.]+)")


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
    if not any("remove-cell" in tags(cell) and re.search(r"\b(assert|claims\.\w+)\b", cell.source)
               for cell in code):
        problems.append("no check cell (a code cell tagged remove-cell with an assert)")
    problems += number_problems(nb)
    problems += figure_problems(nb)
    problems += reference_problems(nb)
    return problems


# A fence of code (a solution's), not of a directive such as {exercise} or {solution}.
CODE_FENCE = re.compile(r"^(`{3,}|~{3,})(?![`~{])[^\n]*\n.*?^\1[ \t]*$", re.DOTALL | re.MULTILINE)


def paragraphs(markdown: str) -> list[str]:
    """The blocks of a markdown cell, with code fences and display maths taken out first
    (they may hold blank lines themselves)."""
    text = CODE_FENCE.sub(" ", markdown)
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.DOTALL)
    return re.split(r"\n\s*\n", text)


def prose(paragraph: str) -> str:
    """The words of a block from :func:`paragraphs`: no inline maths, code, link targets or
    HTML comments."""
    text = re.sub(r"(?<!\\)\$[^$]*\$", " ", paragraph)
    text = re.sub(r"`[^`]*`", " ", text)
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"<!--.*?-->", " ", text, flags=re.DOTALL)


def canonical(number: str) -> str:
    return number.replace("\u2212", "-").rstrip("%")


def bound_numbers(nb: nbformat.NotebookNode) -> set[str]:
    """The quotes that the notebook's ``claims.close/above/below/between`` calls check."""
    bound = set()
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        try:
            tree = ast.parse(cell.source)
        except SyntaxError:
            continue   # IPython magics; the setup cell has no claims
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                    and node.func.attr in CLAIM_FUNCTIONS):
                bound |= {canonical(arg.value) for arg in node.args
                          if isinstance(arg, ast.Constant) and isinstance(arg.value, str)}
    return bound


def number_problems(nb: nbformat.NotebookNode) -> list[str]:
    bound = bound_numbers(nb)
    exempt = nb.metadata.get("nascourse", {}).get(EXEMPT_KEY, {})
    problems, seen = [], set()
    for number, reason in exempt.items():
        if not isinstance(reason, str) or not reason.strip():
            problems.append(f"unchecked number {number} has no reason")
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        for paragraph in paragraphs(cell.source):
            cited = "{cite" in paragraph
            for number in NUMBER.findall(prose(paragraph)):
                seen.add(number)
                if not cited and canonical(number) not in bound and number not in exempt:
                    problems.append(f"cell {index}: the number {number} is neither checked by a "
                                    f"claims call, nor cited, nor listed under {EXEMPT_KEY}")
    problems += [f"{EXEMPT_KEY} lists {number}, which the prose no longer quotes"
                 for number in exempt if number not in seen]
    return problems


def figure_problems(nb: nbformat.NotebookNode) -> list[str]:
    problems = []
    code = "\n".join(cell.source for cell in nb.cells if cell.cell_type == "code")
    if "use_style()" not in code:
        problems.append("the notebook does not call viz.use_style()")
    for width in FIGSIZE.findall(code):
        if float(width) > viz.TEXT_WIDTH:
            problems.append(f"a figure is {width} in wide, wider than the text column "
                            f"({viz.TEXT_WIDTH} in)")
    captions = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "markdown" and (match := CAPTION.match(cell.source)):
            captions.append(int(match.group(1)))
            if index == 0 or nb.cells[index - 1].cell_type != "code":
                problems.append(f"the caption of Figure {match.group(1)} does not follow a code cell")
    if captions != list(range(1, len(captions) + 1)):
        problems.append(f"figure captions are numbered {captions}, not 1, 2, ... in order")
    uncited = [paragraph for cell in nb.cells if cell.cell_type == "markdown"
               for paragraph in paragraphs(cell.source)
               if "{cite" not in paragraph]   # a cited paper's figures are its own
    for paragraph in uncited:
        for match in FIGURE_REF.finditer(prose(paragraph)):
            for number in re.findall(r"\d+", match.group(0)):
                if int(number) not in captions:
                    problems.append(f"the text refers to Figure {number}, which has no caption")
    return problems


def reference_problems(nb: nbformat.NotebookNode) -> list[str]:
    problems = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        text = CODE_FENCE.sub(" ", cell.source)
        for match in re.finditer(r"(?<!\[)\b[Cc]hapters? 0[1-9]\b", text):
            problems.append(f"cell {index}: '{match.group(0)}' is not a link to the chapter")
        if re.search(r"\b[Ee]xercises? \{(ref|numref)\}", text):
            problems.append(f"cell {index}: 'Exercise {{ref}}' prints the word twice; write the {{ref}} alone")
        if re.search(r"et al\.,? \{cite(:p)?\}", text):
            problems.append(f"cell {index}: 'et al. {{cite}}' prints the names twice; use {{cite:t}}")
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
    nb.cells.append(new_code_cell("from nascourse import viz\nviz.use_style()"))
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
    assert problems == [f"code cell 3 has {MAX_CELL_LINES + 1} lines (at most {MAX_CELL_LINES})"]


def with_markdown(nb, *texts: str, after: int = 2):
    for offset, text in enumerate(texts):
        nb.cells.insert(after + offset, new_markdown_cell(text))
    return nb


def test_checker_finds_numbers_that_nothing_checks():
    text = ("The run printed 0.868 and 54.30% (and 12 cells, v2.13, $0.5$, `0.25`).\n\n"
            "The paper reports 93.85 {cite}`dong2020nasbench201`.")
    nb = with_markdown(make_notebook(), text)
    problems = notebook_problems(nb)
    assert [p.split(": ", 1)[1] for p in problems] == [
        f"the number {n} is neither checked by a claims call, nor cited, nor listed under unchecked-numbers"
        for n in ("0.868", "54.30%")]
    nb.cells[-1].source += "\nfrom nascourse import claims\nclaims.close('0.868', x, tol=1)"
    nb.metadata["nascourse"] = {"unchecked-numbers": {"54.30%": "", "0.1": "a setting"}}
    assert notebook_problems(nb) == ["unchecked number 54.30% has no reason",
                                     "unchecked-numbers lists 0.1, which the prose no longer quotes"]
    nb.metadata["nascourse"] = {"unchecked-numbers": {"54.30%": "the published all-skip accuracy"}}
    assert notebook_problems(nb) == []


def test_checker_reads_numbers_inside_exercises_and_solutions_but_not_their_code():
    text = ("```{exercise} Odds\n:label: ex-odds\nFind n for 50% and 95%.\n```\n\n"
            "````{solution} ex-odds\n:class: dropdown\n```python\nprint(0.25)\n\nprint(0.75)\n```\n"
            "It takes 69 samples, about 0.5 of the time.\n\n$$\np = 0.99\n\n$$\n````")
    problems = notebook_problems(with_markdown(make_notebook(), text))
    assert [p.split("the number ")[1].split(" ")[0] for p in problems] == ["50%", "95%", "0.5"]


def test_checker_finds_figures_off_the_course_style():
    nb = make_notebook(body=("fig, ax = plt.subplots(figsize=(12, 4))",))
    nb.cells[2].source = "import matplotlib"
    nb = with_markdown(nb, "**Figure 2.** A caption.", "See Figure 1 and Figures 2 and 3.", after=4)
    assert notebook_problems(nb) == [
        "the notebook does not call viz.use_style()",
        f"a figure is 12 in wide, wider than the text column ({viz.TEXT_WIDTH} in)",
        "figure captions are numbered [2], not 1, 2, ... in order",
        "the text refers to Figure 1, which has no caption",
        "the text refers to Figure 3, which has no caption"]
    good = with_markdown(make_notebook(body=("fig, ax = plt.subplots(figsize=(6.8, 3))",)),
                         "**Figure 1.** What it shows.", "Figure 1 shows it.", after=4)
    assert notebook_problems(good) == []
    good.cells.insert(4, new_markdown_cell("Text between the figure and its caption."))
    assert notebook_problems(good) == ["the caption of Figure 1 does not follow a code cell"]


def test_checker_finds_references_that_print_twice_or_do_not_link():
    nb = with_markdown(make_notebook(), "As chapter 04 shows, and [chapter 05](05_zero_cost_proxies.ipynb).",
                       "Try Exercise {ref}`ex01-x` after Zoph et al. {cite}`zoph2017nas`.")
    assert notebook_problems(nb) == [
        "cell 2: 'chapter 04' is not a link to the chapter",
        "cell 3: 'Exercise {ref}' prints the word twice; write the {ref} alone",
        "cell 3: 'et al. {cite}' prints the names twice; use {cite:t}"]


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


# ---------------------------------------------------------------- the landing page's table


def test_intro_table_lists_every_chapter_with_what_it_computes():
    intro = chapter_table.INTRO.read_text(encoding="utf-8")
    lines = chapter_table.table_lines(intro)
    assert [chapter_table.ROW.match(line).group(3) for line in lines] == [p.name for p in NOTEBOOKS]
    assert lines == chapter_table.rows(intro), "run: python scripts/chapter_table.py --write"


def test_chapter_table_counts_words_exercises_and_reads_the_run_time():
    nb = new_notebook(cells=[
        new_markdown_cell("# T\n\n**Estimated run time:** about two minutes on a laptop CPU."),
        new_markdown_cell("word " * 1001 + "\n\n```{exercise} A\n:label: e1\nDo it.\n```\n\n"
                          "````{solution} e1\n:class: dropdown\n" + "hidden " * 5000 + "\n````\n"
                          "```{exercise} B\n:label: e2\n```"),
        new_code_cell("x = 1 " * 400, metadata={"tags": ["remove-cell"]})])
    assert chapter_table.run_time(nb) == "about two minutes"
    assert chapter_table.exercises(nb) == 2
    assert chapter_table.reading_minutes(nb) == 10   # ~1,020 words: 5.1 min, up to 10
