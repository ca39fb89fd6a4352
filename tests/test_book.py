"""The book as a reader sees it: build the website, open pages in headless Chromium.

The module builds the whole book once (warnings are errors), then
loads the landing page and chapter 01 in Chromium with name resolution switched off, so
nothing can come from the network, and checks that the pages rendered, that MathJax (the
copy bundled in the site) typeset the maths, that the notebook page has its Binder and
Colab launch buttons and its figures, and that no page needs a remote script or style.
Then it reads every page of the book with ``scripts/audit_site.py`` (raw TeX, doubled
words, numpy reprs, alt text, console errors, content too wide), and shows on a page made
here, with one planted example of each defect, that the audit finds each.

Needs Chromium (``apt-get install chromium``). Without it the module is skipped, unless
``NASCOURSE_REQUIRE_BROWSER=1``, when it fails instead (CI sets this). To check an
existing build instead of building again, set ``NASCOURSE_BOOK_HTML`` to its html folder.

Each chapter executes once per test run: when nbval has just executed a chapter in the same
run (``conftest.py`` keeps the executed notebooks), the build renders that notebook instead
of executing it again; a chapter that nbval did not run is executed by the build; a chapter
that failed under nbval fails this module at once, pointing to nbval's report of the cell.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest
import yaml

from scripts import audit_site

REPO_ROOT = Path(__file__).resolve().parent.parent
BUILD_TIMEOUT = 3600          # seconds for the whole book
BROWSER_TIMEOUT = 120         # seconds for one page
PAGES = {"intro": "chapters/intro.html", "chapter01": "chapters/01_nas_intro.html"}
NOTEBOOK = "chapters/01_nas_intro.ipynb"
# Let scripts (MathJax) run to completion before the DOM is dumped or the page shot.
CHROMIUM_FLAGS = [*audit_site.BASE_FLAGS, "--virtual-time-budget=5000"]
REMOTE = re.compile(r"^(https?:)?//", re.IGNORECASE)
# The only remote URL the theme writes into a page: sphinx-thebe fetches thebe from a CDN
# when a reader presses a "live code" button, which this book does not have (thebe is off).
ON_DEMAND_URLS = {"https://unpkg.com/thebe@0.8.2/lib/index.js"}


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def chromium() -> str:
    path = audit_site.find_chromium()
    if path is None:
        message = "Chromium is not installed (apt-get install chromium)"
        if os.environ.get("NASCOURSE_REQUIRE_BROWSER") == "1":
            pytest.fail(message + ", and NASCOURSE_REQUIRE_BROWSER=1")
        pytest.skip(message)
    return path


@pytest.fixture(scope="module")
def site(chromium: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built website (its html folder), built once for the module."""
    if existing := os.environ.get("NASCOURSE_BOOK_HTML"):
        return Path(existing)
    out = tmp_path_factory.mktemp("book")
    source = book_source(out / "source", executed_notebooks())
    bindir = Path(sys.executable).parent
    jupyter_book = bindir / "jupyter-book"
    command = [str(jupyter_book) if jupyter_book.exists() else "jupyter-book",
               "build", str(source), "--path-output", str(out), "-W", "-n", "--keep-going"]
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ.get('PATH', '')}"}
    # The kernels must draw with Jupyter's inline backend, as a reader's would; a backend
    # set for the test session (conftest.py sets Agg for nbval) would leave no figures.
    env.pop("MPLBACKEND", None)
    result = subprocess.run(command, cwd=source, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            timeout=BUILD_TIMEOUT)
    log = out / "build.log"
    log.write_text(result.stdout, encoding="utf-8")
    if result.returncode != 0:
        pytest.fail(f"the book build failed (exit {result.returncode}); full log in {log}\n"
                    + build_log_summary(result.stdout, out / "_build" / "html" / "reports"),
                    pytrace=False)
    return out / "_build" / "html"


def executed_notebooks(folder: str | None = None) -> dict[str, Path]:
    """The chapters that nbval executed completely in this test run: notebook file name ->
    executed copy (see ``conftest.py``). A chapter that failed there fails the caller."""
    folder = folder or os.environ.get("NASCOURSE_EXECUTED_NOTEBOOKS")
    status_file = Path(folder) / "status.json" if folder else None
    if status_file is None or not status_file.is_file():
        return {}
    status = json.loads(status_file.read_text(encoding="utf-8"))
    failed = sorted(path for path, state in status.items() if state != "passed")
    if failed:
        pytest.fail(f"not building the book: {', '.join(failed)} failed under nbval in this run "
                    "(its report above shows the cell and the traceback)", pytrace=False)
    return {Path(path).name: Path(folder) / Path(path).name for path in status}


#: What the book build never reads, left out of the copy it builds from.
NOT_BOOK = shutil.ignore_patterns(".git", ".venv", "venv", "_build", ".pytest_cache", "__pycache__",
                                  "*.egg-info", "node_modules", ".ipynb_checkpoints")


def book_source(target: Path, executed: dict[str, Path]) -> Path:
    """The folder to build: the repository itself when no chapter was executed in this run,
    otherwise a copy of it in ``target`` whose chapters carry the outputs nbval produced and
    are marked for myst-nb not to execute them again (file-level ``execution_mode: off``)."""
    if not executed:
        return REPO_ROOT
    shutil.copytree(REPO_ROOT, target, ignore=NOT_BOOK)
    for name, path in executed.items():
        notebook = nbformat.read(path, as_version=4)
        notebook.metadata.setdefault("mystnb", {})["execution_mode"] = "off"
        nbformat.write(notebook, target / "chapters" / name)
    return target


ANSI_CODE = re.compile(r"\x1b\[[0-9;]*m")
# Lines that every build prints and that never explain a failure.
NOISE = re.compile(r"Kernel is running over TCP without encryption|^(copying images|writing output|"
                   r"reading sources)\.\.\.")


def build_log_summary(log: str, reports: Path | None = None, tail: int = 20) -> str:
    """What explains a failed build: first the traceback that myst-nb saved for each
    notebook that failed to execute (the failing cell and its error), then the log's
    warnings and errors and its last lines, all without colour codes and routine noise."""
    parts = []
    for report in sorted(reports.rglob("*.err.log")) if reports is not None and reports.is_dir() else []:
        text = ANSI_CODE.sub("", report.read_text(encoding="utf-8", errors="replace")).splitlines()
        parts += [f"--- {report.relative_to(reports)} (last 80 lines) ---", *text[-80:]]
    lines = [line for line in ANSI_CODE.sub("", log).splitlines() if not NOISE.search(line)]
    parts += ["--- warnings and errors ---",
              *[line for line in lines if re.search(r"WARNING|ERROR|Error|Traceback", line)][:200]]
    return "\n".join([*parts, f"--- last {tail} lines ---", *lines[-tail:]])


@pytest.fixture(scope="module")
def rendered(site: Path, chromium: str, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """For each page: its built HTML, its DOM after scripts ran, and a screenshot."""
    shots = tmp_path_factory.mktemp("screenshots")
    pages = {}
    for name, relpath in PAGES.items():
        page = site / relpath
        assert page.is_file(), f"{relpath} was not built"
        url = page.resolve().as_uri()
        dom = run_chromium(chromium, ["--dump-dom", url], tmp_path_factory)
        png = shots / f"{name}.png"
        run_chromium(chromium, [f"--screenshot={png}", url], tmp_path_factory)
        print(f"screenshot of {relpath}: {png}")
        pages[name] = {"html": page.read_text(encoding="utf-8"), "dom": dom, "png": png}
    return pages


def run_chromium(chromium: str, args: list[str], tmp_path_factory) -> str:
    profile = tmp_path_factory.mktemp("chromium-profile")
    result = subprocess.run([chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args],
                            stdin=subprocess.DEVNULL, capture_output=True, text=True,
                            timeout=BROWSER_TIMEOUT)
    assert result.returncode == 0, f"Chromium failed: {result.stderr[-3000:]}"
    return result.stdout


# ---------------------------------------------------------------- reading HTML


class Elements(HTMLParser):
    """Collects the tags of a page, with the classes of the elements around each."""

    VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
            "source", "track", "wbr"}

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict, list[str]]] = []   # (tag, attrs, enclosing classes)
        self.scripts: list[tuple[dict, str]] = []            # (attrs, inline text)
        self._open: list[tuple[str, str]] = []
        self._script: dict | None = None
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        attrs = {key: value or "" for key, value in attrs}
        self.tags.append((tag, attrs, [cls for _, cls in self._open]))
        if tag == "script":
            self._script = attrs
            self.scripts.append((attrs, ""))
        if tag not in self.VOID:
            self._open.append((tag, attrs.get("class", "")))

    def handle_endtag(self, tag):
        for i in range(len(self._open) - 1, -1, -1):
            if self._open[i][0] == tag:
                del self._open[i:]
                break
        if tag == "script":
            self._script = None

    def handle_data(self, data):
        if self._script is not None:
            attrs, text = self.scripts[-1]
            self.scripts[-1] = (attrs, text + data)

    def find(self, tag: str) -> list[dict]:
        return [attrs for name, attrs, _ in self.tags if name == tag]


def title_of(html: str) -> str:
    match = re.search(r"<title>(.*?)</title>", html, re.DOTALL)
    return match.group(1).strip() if match else ""


def book_config() -> dict:
    return yaml.safe_load((REPO_ROOT / "_config.yml").read_text(encoding="utf-8"))


# ---------------------------------------------------------------- tests


@pytest.mark.parametrize("name", PAGES)
def test_page_renders(rendered, name):
    dom = rendered[name]["dom"]
    assert book_config()["title"] in title_of(dom)
    assert Elements(dom).find("h1"), "the page has no heading"
    png = rendered[name]["png"]
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", "no screenshot was taken"
    import matplotlib.image
    pixels = matplotlib.image.imread(png)
    assert pixels.std() > 0.05, "the screenshot is (nearly) blank"


@pytest.mark.parametrize("name", PAGES)
def test_maths_typeset_by_bundled_mathjax(site, rendered, name):
    scripts = [attrs["src"] for attrs in Elements(rendered[name]["html"]).find("script")
               if "mathjax" in attrs.get("src", "").lower()]
    assert scripts, "the page does not load MathJax"
    for src in scripts:
        assert not REMOTE.match(src), f"MathJax is loaded from the web: {src}"
        assert "_static/mathjax/" in src
    assert (site / "_static/mathjax/tex-chtml-full.js").is_file()
    assert any((site / "_static/mathjax/output/chtml/fonts/woff-v2").glob("*.woff"))
    dom = rendered[name]["dom"]
    assert "<mjx-container" in dom, "MathJax did not typeset the maths"
    assert "<mjx-merror" not in dom, "MathJax reported a TeX error"


def test_notebook_page_has_launch_buttons(rendered):
    config = book_config()
    repo = config["repository"]["url"].removeprefix("https://github.com/").strip("/")
    branch = config["repository"].get("branch", "main")
    links = {attrs.get("href", "") for attrs in Elements(rendered["chapter01"]["dom"]).find("a")}
    binder = f"https://mybinder.org/v2/gh/{repo}/{branch}?urlpath=lab/tree/{NOTEBOOK}"
    colab = f"https://colab.research.google.com/github/{repo}/blob/{branch}/{NOTEBOOK}"
    assert binder in links, f"no Binder button linking to {binder}"
    assert colab in links, f"no Colab button linking to {colab}"


def test_notebook_page_shows_figures(rendered):
    images = [attrs.get("src", "") for tag, attrs, around in Elements(rendered["chapter01"]["dom"]).tags
              if tag == "img" and any("cell_output" in cls.split() for cls in around)]
    assert any(src.startswith("data:image/png") or "_images/" in src for src in images), (
        "chapter 01 shows no figure from a cell output")


@pytest.mark.parametrize("name", PAGES)
def test_page_needs_no_network(site, rendered, name):
    page = Elements(rendered[name]["html"])
    for attrs in page.find("script"):
        assert not REMOTE.match(attrs.get("src", "")), f"remote script: {attrs['src']}"
    for attrs in page.find("link"):
        rel = attrs.get("rel", "").split()
        if {"stylesheet", "preload", "modulepreload", "icon"} & set(rel):
            assert not REMOTE.match(attrs.get("href", "")), f"remote {rel}: {attrs['href']}"
    for attrs, text in page.scripts:
        for url in re.findall(r"""https?://[^\s"'`)]+""", text):
            if attrs.get("type") == "text/x-thebe-config":
                continue   # settings read only by thebe, which is never loaded (below)
            assert url in ON_DEMAND_URLS, f"inline script refers to {url}"
            assert "thebe-launch-button" not in rendered[name]["html"], (
                "a thebe button would fetch thebe from a CDN")
    for css in (site / "_static").rglob("*.css"):
        text = css.read_text(encoding="utf-8", errors="replace")
        assert not re.search(r"""(url\(\s*['"]?|@import\s+['"])(https?:)?//""", text), (
            f"{css.relative_to(site)} loads something from the web")


def test_build_failure_report_shows_the_failing_cell(tmp_path):
    reports = tmp_path / "reports" / "chapters"
    reports.mkdir(parents=True)
    (reports / "06_predictors.err.log").write_text(
        "assert gcn_fit > fit.max() / 2\n\x1b[31mAssertionError\x1b[39m: fit (CPU s)\n", encoding="utf-8")
    log = ("\x1b[01mcopying images... \x1b[39;49;00m[ 50%] a.png\n"
           "[IPKernelApp] WARNING | Kernel is running over TCP without encryption. All ...\n"
           "\x1b[91mchapters/06_predictors.ipynb: WARNING: Executing notebook failed\x1b[39;49;00m\n"
           "build finished with problems, 2 warnings.\n")
    summary = build_log_summary(log, tmp_path / "reports")
    assert summary.index("AssertionError: fit (CPU s)") < summary.index("Executing notebook failed")
    assert "chapters/06_predictors.err.log" in summary and "assert gcn_fit" in summary
    assert "\x1b" not in summary and "copying images" not in summary and "IPKernelApp" not in summary
    assert summary.endswith("build finished with problems, 2 warnings.")
    assert "reports" not in build_log_summary(log, tmp_path / "missing")


# ---------------------------------------------------------------- the rendered-site audit


def toc_pages() -> list[str]:
    toc = yaml.safe_load((REPO_ROOT / "_toc.yml").read_text(encoding="utf-8"))
    return [f"{toc['root']}.html"] + [f"{entry['file']}.html" for part in toc["parts"]
                                       for entry in part["chapters"]]


@pytest.mark.parametrize("page", toc_pages())
def test_rendered_page_has_no_defects(site, chromium, page):
    assert (site / page).is_file(), f"{page} was not built"
    report = audit_site.audit(site, [page], chromium)
    assert report[page] == [], f"{page}:\n" + "\n".join(report[page])


PIXEL = "data:image/gif;base64,R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"   # a 1x1 image that always loads
PLANTED = """<!DOCTYPE html><html><head><meta charset="utf-8"><title>planted</title>
<style>article { width: 600px; } .scroll { overflow-x: auto; }</style>
<script>const SAME = 1;</script><script>const SAME = 2;</script>
</head><body><article>
<p>The expected improvement is $\\mathrm{EI}(a) = \\sigma$ here.</p>
<p>Try Exercise Exercise 7 next.</p>
<p>As Zoph et al. [Zoph et al., 2018] showed.</p>
<div class="cell_output"><pre>np.float64(46.42)</pre></div>
<img src="%(pixel)s" alt="_images/plot.png"><img src="%(pixel)s">
<div class="scroll"><pre>%(long)s</pre></div>
<table style="width: 900px"><tr><td>a wide table</td></tr></table>
<p>A clean sentence with <code>code code</code> and the word that, that is fine.</p>
<img src="%(pixel)s" alt="Accuracy against parameters for all 15,625 cells.">
<img src="missing.png" alt="A figure whose file is missing.">
</article></body></html>""" % {"pixel": PIXEL, "long": "x" * 300}


def test_audit_finds_each_planted_defect(chromium, tmp_path):
    (tmp_path / "planted.html").write_text(PLANTED, encoding="utf-8")
    found = audit_site.audit(tmp_path, ["planted.html"], chromium)["planted.html"]
    kinds = {
        "raw TeX": [p for p in found if p.startswith("raw TeX")],
        "doubled word": [p for p in found if "doubled word 'Exercise Exercise'" in p],
        "doubled name": [p for p in found if p.startswith("name printed twice 'Zoph et al.")],
        "numpy repr": [p for p in found if p.startswith("numpy repr") and "np.float64(46.42)" in p],
        "alt text": [p for p in found if p.startswith("image without alt text")],
        "console": [p for p in found if p.startswith("console error") and "SAME" in p],
        "missing": [p for p in found if p.startswith("console error: failed to load img")
                    and "missing.png" in p],
        "cut off": [p for p in found if p.startswith("too wide: cut off")],
        "sticks out": [p for p in found if p.startswith("too wide: sticks out") and "table" in p],
    }
    assert {kind: len(hits) for kind, hits in kinds.items()} == {
        "raw TeX": 1, "doubled word": 1, "doubled name": 1, "numpy repr": 1, "alt text": 2,
        "console": 1, "missing": 1, "cut off": 1, "sticks out": 1}, found
    assert len(found) == 10, found   # and nothing else: code, "that, that" and a real alt pass


def test_audit_passes_a_clean_page(chromium, tmp_path):
    (tmp_path / "clean.html").write_text(
        "<!DOCTYPE html><html><head><title>clean</title></head><body><article>"
        "<p>One sentence, with <code>x x</code> in code.</p>"
        f'<img src="{PIXEL}" alt="A scatter plot of accuracy against size."></article></body></html>',
        encoding="utf-8")
    assert audit_site.audit(tmp_path, ["clean.html"], chromium) == {"clean.html": []}


# ---------------------------------------------------------------- one execution per chapter


def test_book_source_reuses_the_chapters_nbval_executed(tmp_path):
    executed = tmp_path / "executed"
    executed.mkdir()
    assert executed_notebooks(str(executed)) == {}             # nbval ran nothing: build executes
    chapter = REPO_ROOT / "chapters" / NOTEBOOK.split("/")[-1]
    nb = nbformat.read(chapter, as_version=4)
    nb.cells[-1].outputs = [nbformat.v4.new_output("stream", name="stdout", text="kept\n")]
    nbformat.write(nb, executed / chapter.name)
    (executed / "status.json").write_text(json.dumps({NOTEBOOK: "passed"}))
    found = executed_notebooks(str(executed))
    assert found == {chapter.name: executed / chapter.name}
    source = book_source(tmp_path / "source", found)
    copied = nbformat.read(source / NOTEBOOK, as_version=4)
    assert copied.metadata["mystnb"]["execution_mode"] == "off"
    assert copied.cells[-1].outputs[0]["text"] == "kept\n"
    others = [p.name for p in (source / "chapters").glob("*.ipynb") if p.name != chapter.name]
    assert others and all("mystnb" not in nbformat.read(source / "chapters" / name, as_version=4).metadata
                          for name in others)
    assert (source / "_config.yml").is_file() and not (source / ".git").exists()
    assert book_source(tmp_path / "unused", {}) == REPO_ROOT


def test_a_chapter_that_failed_under_nbval_stops_the_build_at_once(tmp_path):
    (tmp_path / "status.json").write_text(json.dumps({NOTEBOOK: "failed", "chapters/02_x.ipynb": "passed"}))
    with pytest.raises(pytest.fail.Exception, match="chapters/01_nas_intro.ipynb failed under nbval"):
        executed_notebooks(str(tmp_path))
