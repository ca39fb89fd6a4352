"""The shipped data files and their checksums: every loader of the package reads through here.

The benchmark tables are read by :mod:`nascourse.benchmarks`, the images by
:mod:`nascourse.image_data`; this package holds the files they read.

The files in this folder are built from published benchmark tables by
``scripts/build_package_data.py``; ``PROVENANCE.md`` gives each one's source, licence and
citation, and ``SHA256SUMS`` its checksum. :func:`path` returns a file's location after
checking that it is present and intact, so a truncated clone or an edited table fails
loudly instead of giving silently wrong answers.
"""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from nascourse._checks import check_type

DATA_DIR = Path(__file__).resolve().parent
SUMS_FILE = DATA_DIR / "SHA256SUMS"

_FIX = (
    "Restore it with `git checkout -- nascourse/data` (or reinstall the course package); "
    "maintainers rebuild the data with `python scripts/build_package_data.py`."
)


class DataFileError(RuntimeError):
    """A shipped data file is missing or does not match its recorded checksum."""


@cache
def checksums() -> dict[str, str]:
    """Map each shipped file name to its recorded SHA-256 digest."""
    if not SUMS_FILE.exists():
        raise DataFileError(f"The checksum list {SUMS_FILE} is missing. {_FIX}")
    sums = {}
    for line in SUMS_FILE.read_text().splitlines():
        if line.strip():
            digest, name = line.split(maxsplit=1)
            sums[name.strip()] = digest
    return sums


def names() -> list[str]:
    """Names of all shipped data files."""
    return sorted(checksums())


def sha256(file: Path) -> str:
    """SHA-256 hex digest of a file, read in blocks."""
    h = hashlib.sha256()
    with open(file, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


@cache
def _verified(name: str) -> Path:
    file = DATA_DIR / name
    if not file.exists():
        raise DataFileError(f"The data file {file} is missing. {_FIX}")
    digest = sha256(file)
    if digest != checksums()[name]:
        raise DataFileError(
            f"The data file {file} is corrupted: its SHA-256 is {digest}, "
            f"expected {checksums()[name]}. {_FIX}"
        )
    return file


def path(name: str) -> Path:
    """Return the path of shipped file ``name``, verified against its checksum.

    Raises ``ValueError`` for a name that is not shipped and :class:`DataFileError` for a
    file that is missing or corrupted (each message names the file and the remedy).
    """
    check_type("data file name", name, str)
    if name not in checksums():
        raise ValueError(f"unknown data file {name!r}; shipped files are {names()}")
    return _verified(name)
