"""The bibliography's author-year labels are unique (a clash fails the book build with a
"duplicate label" warning only after every chapter has executed; this finds it in a second)."""

from __future__ import annotations

import collections
import sys
from pathlib import Path

from pybtex.database import parse_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "_ext"))
import nascourse_book  # noqa: E402  (the book's extension: the labels the site prints)


def labels(bib: Path) -> dict[str, list[str]]:
    """Map each author-year label to the keys that print it."""
    out = collections.defaultdict(list)
    for key, entry in parse_file(str(bib)).entries.items():
        label = next(nascourse_book.AuthorYearLabels().format_labels([entry]))
        out[label].append(key)
    return out


def test_every_reference_has_its_own_label():
    clashes = {label: keys for label, keys in labels(ROOT / "chapters" / "references.bib").items()
               if len(keys) > 1}
    assert not clashes, (f"references that print the same label: {clashes}; tell them apart "
                         "by year suffixes, e.g. year = {2021a} and {2021b}")


def test_a_clash_is_found(tmp_path):
    bib = tmp_path / "clash.bib"
    bib.write_text("@misc{a2023, author = {Ann Mills and Bo Han and Cy Lu}, title = {X}, year = {2023}}\n"
                   "@misc{b2023, author = {Ann Mills and Di Niu and Ed Wu}, title = {Y}, year = {2023}}\n")
    assert labels(bib)["Mills et al., 2023"] == ["a2023", "b2023"]
