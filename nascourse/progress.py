"""Progress bars for the package's long loops (training runs, one-shot searches).

:func:`progress_bar` is a :mod:`tqdm` bar: a widget in a notebook when ``ipywidgets`` is
installed (as on Colab), plain text otherwise, so a notebook without ``ipywidgets`` shows
no warning about it.
"""

from __future__ import annotations

from typing import Any

try:  # widget progress bars in notebooks need ipywidgets; plain text bars otherwise
    import ipywidgets  # noqa: F401
    from tqdm.auto import tqdm as _tqdm
except ImportError:
    from tqdm.std import tqdm as _tqdm


def progress_bar(*args: Any, **kwargs: Any) -> Any:
    """A tqdm progress bar (same arguments as ``tqdm.tqdm``: an iterable, or ``total=``,
    ``desc=``, ``unit=``, ``disable=`` ...)."""
    return _tqdm(*args, **kwargs)
