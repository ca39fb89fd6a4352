"""Sphinx additions of the nascourse book (loaded through ``_config.yml``).

- **Figure captions are the figures' alt text.** A chapter captions a figure with a
  markdown paragraph right after the code cell that draws it, opening with
  ``**Figure N.**`` (so the caption reads the same in JupyterLab and on the site). Here the
  images of that cell get the caption as their alt text, unless the cell gave one
  (``mystnb: image: alt:``), and the paragraph gets the class ``nascourse-caption``.
- **Author-year labels in the bibliography.** The text cites author-year ("White et al.,
  2021a"); the bibliography's labels say the same instead of pybtex's alpha labels.
- **A quiet browser console.** sphinx-thebe registers its inline configuration script on
  every read of the sources, and a page that declares ``const THEBE_JS_URL`` twice logs a
  SyntaxError; the theme logs an error when no colour mode is set (we set "auto").
"""

from __future__ import annotations

import re

from docutils import nodes
from pybtex.plugin import register_plugin
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.labels import BaseLabelStyle

CAPTION = re.compile(r"^Figure \d+\.$")


# ----------------------------------------------------------------- captions as alt text


def _caption_text(paragraph: nodes.paragraph) -> str | None:
    first = paragraph.children[0] if paragraph.children else None
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


def quiet_console(app, pagename, templatename, context, doctree) -> None:
    context.setdefault("default_mode", "auto")
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (str(script), tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    if "script_files" in context:
        context["script_files"][:] = unique


def setup(app):
    app.connect("doctree-resolved", captions_to_alt_text)
    # early: the event stops at the first handler that returns a template name
    app.connect("html-page-context", quiet_console, priority=100)
    app.add_css_file("nascourse.css")
    return {"parallel_read_safe": True, "parallel_write_safe": True}
