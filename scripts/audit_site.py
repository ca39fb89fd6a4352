"""Read the built website as a student would and list what is wrong on each page.

    python scripts/audit_site.py _build/html                      # every chapter page
    python scripts/audit_site.py _build/html chapters/04_one_shot_darts.html

Each page is opened in headless Chromium (no network) with a small script added at the
top of its head. The script records browser console errors while the page loads, waits for
MathJax, opens every collapsed solution, and then measures the page. Reported defects:

- **raw TeX**: ``$...$``, ``\\(``, ``\\frac`` and the like in rendered prose (maths that did not
  typeset);
- **doubled words**: "Exercise Exercise 7", "Zoph et al. Zoph et al.";
- **numpy reprs**: ``np.float64(46.42)`` in a cell's output;
- **alt text**: an image in the page's content whose alt text is empty or a file path;
- **console errors**: uncaught exceptions, ``console.error`` messages, resources that fail
  to load;
- **too wide**: content that sticks out of the text column or is cut off and needs a
  horizontal scroll bar (a wide table, a long code line, an overlong equation).

The test of the book (``tests/test_book.py``) runs this on every chapter page of a fresh
build. Exit status 1 when any page has a defect.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

#: Headless Chromium with no network (every host name fails to resolve: whatever a page
#: needs must be in the site); the browser test of the book uses the same flags.
BASE_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--no-first-run", "--disable-sync", "--disable-quic",
    "--hide-scrollbars", "--window-size=1280,1600", "--host-resolver-rules=MAP * ~NOTFOUND",
]
CHROMIUM_FLAGS = [*BASE_FLAGS, "--allow-file-access-from-files", "--virtual-time-budget=30000"]
TIMEOUT = 180   # seconds for one page

# Runs first in the page's head: keeps console errors, then measures once the page is done.
AUDIT_JS = r"""
<script>
(function () {
  const found = {errors: [], blocks: [], outputs: [], images: [], wide: []};
  window.addEventListener('error', e => {
    const el = e.target;
    if (el && el !== window && el.tagName)   // a resource that did not load
      found.errors.push('failed to load ' + el.tagName.toLowerCase() + ' ' + (el.src || el.href || ''));
    else
      found.errors.push(String(e.message || e.type) +
                        (e.filename ? ' (' + e.filename.split('/').pop() + ':' + e.lineno + ')' : ''));
  }, true);
  window.addEventListener('unhandledrejection', e => found.errors.push('unhandled rejection: ' + String(e.reason)));
  const consoleError = console.error;
  console.error = function (...args) { found.errors.push(args.map(String).join(' ')); consoleError.apply(console, args); };
  const SLACK = 8;
  const SKIP = 'script, style, pre, code, kbd, samp, mjx-container, .MathJax, .math, .highlight, .cell_output, .nascourse-audit';
  function ownText(el) {
    let text = '', skipped = false;
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (!node.parentElement.closest(SKIP)) { text += node.textContent; skipped = false; }
      else if (!skipped) { text += ' \u2022 '; skipped = true; }   // code or maths: not words
    }
    return text.replace(/\s+/g, ' ').trim();
  }
  function describe(el) {
    const cls = (el.className && el.className.baseVal === undefined) ? el.className : '';
    return el.tagName.toLowerCase() + (cls ? '.' + cls.trim().split(/\s+/).join('.') : '') +
           ': ' + (el.innerText || el.textContent || '').replace(/\s+/g, ' ').trim().slice(0, 80);
  }
  async function measure() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      try { await MathJax.startup.promise; } catch (e) { found.errors.push('MathJax: ' + e); }
    }
    document.querySelectorAll('details').forEach(d => { d.open = true; });
    document.querySelectorAll('.toggle-hidden').forEach(e => e.classList.remove('toggle-hidden'));
    document.querySelectorAll('.dropdown').forEach(e => e.classList.remove('toggle-hidden'));
    await new Promise(r => setTimeout(r, 500));
    const article = document.querySelector('article') || document.querySelector('main') || document.body;
    article.querySelectorAll('p, li, dt, dd, td, th, h1, h2, h3, h4, h5, h6, caption, figcaption, .admonition-title')
      .forEach(el => { const t = ownText(el); if (t) found.blocks.push(t); });
    article.querySelectorAll('.cell_output').forEach(el => found.outputs.push(el.innerText || el.textContent));
    article.querySelectorAll('img').forEach(img => found.images.push(
      {alt: img.getAttribute('alt'), src: (img.getAttribute('src') || '').slice(0, 80)}));
    const right = article.getBoundingClientRect().right;
    const wide = new Set();
    const clips = el => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(el).overflowX);
    function insideClip(el) {   // inside a box that clips: that box is what gets reported
      for (let p = el.parentElement; p && p !== article; p = p.parentElement) if (clips(p)) return true;
      return false;
    }
    article.querySelectorAll('*').forEach(el => {
      if (el.closest('.nascourse-audit, .bd-sidebar-secondary')) return;
      const box = el.getBoundingClientRect();
      if (box.width === 0 || box.height === 0 || insideClip(el)) return;
      // a few pixels of slack: MathJax's italic glyphs overhang their inline boxes
      // inline maths scrolls inside its line box; it is too wide only if wider than the column
      const inlineMath = el.matches('span.math') && el.scrollWidth <= article.clientWidth;
      if (clips(el) && !inlineMath && el.scrollWidth > el.clientWidth + SLACK) {
        wide.add('cut off or scrolls (' + el.scrollWidth + ' px of content in ' + el.clientWidth + ' px): ' + describe(el));
      } else if (box.right > right + SLACK) {
        const parent = el.parentElement;
        if (!parent || parent.getBoundingClientRect().right <= right + SLACK)   // the outermost
          wide.add('sticks out of the column by ' + Math.round(box.right - right) + ' px: ' + describe(el));
      }
    });
    found.wide = [...wide];
    const pre = document.createElement('pre');
    pre.id = 'nascourse-audit';
    pre.className = 'nascourse-audit';
    pre.style.display = 'none';
    pre.textContent = JSON.stringify(found);
    document.body.appendChild(pre);
  }
  window.addEventListener('load', () => setTimeout(measure, 1500));
})();
</script>
"""

RAW_TEX = re.compile(r"\$[^$\s][^$]*\$|\\[(\[]|\\(frac|mathrm|mathcal|mathbb|text|begin|end|sum|left|right|"
                     r"cdot|alpha|beta|theta|lambda|sigma|mu|le|ge|in|times|hat|bar|operatorname)\b")
DOUBLED = re.compile(r"\b([A-Za-z][A-Za-z'-]+)\s+\1\b", re.IGNORECASE)
# "et al. [Zoph et al., 2018]"-style repeats of a name: a capitalised name said twice in a row
DOUBLED_NAME = re.compile(r"\b([A-Z][a-z]+ et al\.)[,]?\s*[\[(]?\1")
NUMPY_REPR = re.compile(r"\bnp\.(float|int|uint|bool|complex|str)\w*\(")
IMAGE_PATH = re.compile(r"(/|\\|\.(png|jpe?g|svg|gif|webp)$)", re.IGNORECASE)


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser"):
        if path := shutil.which(name):
            return path
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def measure(page: Path, chromium: str) -> dict:
    """What the audit script recorded on ``page`` (a built HTML file)."""
    text = page.read_text(encoding="utf-8")
    head = re.search(r"<head[^>]*>", text, re.IGNORECASE)
    if head is None:
        raise ValueError(f"{page} has no <head>")
    audited = page.with_name(page.stem + ".nascourse-audit.html")
    audited.write_text(text[:head.end()] + AUDIT_JS + text[head.end():], encoding="utf-8")
    try:
        with tempfile.TemporaryDirectory(prefix="chromium-") as profile:
            result = subprocess.run(
                [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom",
                 audited.resolve().as_uri()],
                stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=TIMEOUT)
    finally:
        audited.unlink(missing_ok=True)
    match = re.search(r'<pre id="nascourse-audit"[^>]*>(.*?)</pre>', result.stdout, re.DOTALL)
    if match is None:
        raise RuntimeError(f"the audit of {page} did not finish (Chromium exit {result.returncode}): "
                           f"{result.stderr[-2000:]}")
    return json.loads(html.unescape(match.group(1)))


def defects(found: dict) -> list[str]:
    """The defects in what :func:`measure` recorded, one line each."""
    problems = []
    for block in found["blocks"]:
        if match := RAW_TEX.search(block):
            problems.append(f"raw TeX {match.group(0)!r} in: {block[:120]}")
        for match in DOUBLED.finditer(block):
            problems.append(f"doubled word {match.group(0)!r} in: {block[:120]}")
        for match in DOUBLED_NAME.finditer(block):
            problems.append(f"name printed twice {match.group(0)!r} in: {block[:120]}")
    for output in found["outputs"]:
        if match := NUMPY_REPR.search(output):
            line = next(line for line in output.splitlines() if match.group(0) in line)
            problems.append(f"numpy repr in an output: {line.strip()[:120]}")
    for image in found["images"]:
        alt = (image.get("alt") or "").strip()
        if not alt or IMAGE_PATH.search(alt):
            problems.append(f"image without alt text (alt={alt!r}): {image['src']}")
    problems += [f"console error: {error[:200]}" for error in found["errors"]]
    problems += [f"too wide: {wide}" for wide in found["wide"]]
    return list(dict.fromkeys(problems))


def audit(site: Path, pages: list[str] | None = None, chromium: str | None = None) -> dict[str, list[str]]:
    """The defects of each page, by its path relative to ``site``."""
    chromium = chromium or find_chromium()
    if chromium is None:
        raise RuntimeError("Chromium is not installed (apt-get install chromium)")
    paths = [site / page for page in pages] if pages else sorted((site / "chapters").glob("*.html"))
    return {str(path.relative_to(site)): defects(measure(path, chromium)) for path in paths
            if not path.name.endswith(".nascourse-audit.html")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("site", type=Path, help="the built html folder")
    parser.add_argument("pages", nargs="*", help="pages relative to it (default: chapters/*.html)")
    args = parser.parse_args(argv)
    report = audit(args.site, args.pages or None)
    for page, problems in report.items():
        print(f"{page}: {len(problems)} defect(s)", *[f"  {p}" for p in problems], sep="\n")
    return int(any(report.values()))


if __name__ == "__main__":
    sys.exit(main())
