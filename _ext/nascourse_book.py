"""Sphinx additions of the nascourse book (loaded through ``_config.yml``).

- **Figure captions are the figures' alt text.** A chapter captions a figure with a
  markdown paragraph right after the code cell that draws it, opening with
  ``**Figure N.**`` (so the caption reads the same in JupyterLab and on the site). Here the
  images of that cell get the caption as their alt text, unless the cell gave one
  (``mystnb: image: alt:``), and the paragraph gets the class ``nascourse-caption``.
- **Author-year labels in the bibliography.** The text cites author-year ("White et al.,
  2021a"); the bibliography's labels say the same instead of pybtex's alpha labels.
- **A quiet browser console.** The theme writes sphinx-thebe's inline configuration script
  into every page twice, and a page that declares ``const THEBE_JS_URL`` twice logs a
  SyntaxError: repeated script lines are dropped from the written pages. The theme also
  logs an error when no colour mode is set (we set "auto").
- **Code that fits.** ``static/nascourse.css`` sets code cells and outputs in 13 px type,
  so that an 80-character line fits the text column.
"""

from __future__ import annotations

import re
from pathlib import Path

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

CAPTION = re.compile(r"^Figure \d+\.$")


# ----------------------------------------------------------------- captions as alt text


def _caption_text(paragraph: nodes.paragraph) -> str | None:
    children = [child for child in paragraph.children
                if not (isinstance(child, nodes.Text) and not child.astext().strip())]
    first = children[0] if children else None
    if not isinstance(first, nodes.strong) or not CAPTION.match(first.astext().strip()):
        return None
    return " ".join(paragraph.astext().split())


def captions_to_alt_text(app, doctree: nodes.document, docname: str) -> None:
    for paragraph in list(doctree.findall(nodes.paragraph)):
        text = _caption_text(paragraph)
        parent = paragraph.parent
        if text is None or parent is None:
            continue
        paragraph["classes"].append("nascourse-caption")
        index = parent.index(paragraph)
        if index == 0:
            continue
        cell = parent[index - 1]
        for image in cell.findall(nodes.image):
            alt = image.get("alt", "")
            if not alt or alt == image.get("uri") or "/" in alt:
                image["alt"] = text


# ----------------------------------------------------------------- author-year labels


def _names(entry) -> str:
    persons = entry.persons.get("author") or entry.persons.get("editor") or []
    last = [" ".join(person.last_names).replace("{", "").replace("}", "") for person in persons]
    if not last:
        return entry.fields.get("organization", entry.key)
    if len(last) == 1:
        return last[0]
    if len(last) == 2:
        return f"{last[0]} and {last[1]}"
    return f"{last[0]} et al."


class AuthorYearLabels(BaseLabelStyle):
    """Labels such as "White et al., 2021a", as the text cites them."""

    def format_labels(self, sorted_entries):
        for entry in sorted_entries:
            yield f"{_names(entry)}, {entry.fields.get('year', 'n.d.')}"


class AuthorYearStyle(UnsrtStyle):
    default_label_style = AuthorYearLabels
    default_sorting_style = "author_year_title"


register_plugin("pybtex.style.formatting", "nascourse_author_year", AuthorYearStyle)


# ----------------------------------------------------------------- scripts once


def default_mode(app, pagename, templatename, context, doctree) -> None:
    context.setdefault("default_mode", "auto")


SCRIPT_LINE = re.compile(r"^\s*<script\b.*</script>\s*$")


def scripts_once(app, exception) -> None:
    """Drop a repeated script line from every written page's head (themes add some of
    their scripts again while the page is rendered, after any handler could remove them)."""
    if exception is not None or app.builder.format != "html":
        return
    for page in Path(app.outdir).rglob("*.html"):
        text = page.read_text(encoding="utf-8")
        head_end = text.find("</head>")
        if head_end < 0:
            continue
        seen, kept = set(), []
        for line in text[:head_end].split("\n"):
            if SCRIPT_LINE.match(line):
                if line.strip() in seen:
                    continue
                seen.add(line.strip())
            kept.append(line)
        head = "\n".join(kept)
        if len(head) != head_end:
            page.write_text(head + text[head_end:], encoding="utf-8")


def setup(app):
    app.connect("doctree-resolved", captions_to_alt_text)
    # early: the event stops at the first handler that returns a template name
    app.connect("html-page-context", default_mode, priority=100)
    app.connect("build-finished", scripts_once)
    app.add_css_file("nascourse.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
