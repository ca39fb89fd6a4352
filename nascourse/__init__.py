"""nascourse: the companion package of the course on neural architecture search.

Each subpackage belongs to the chapters that explain it: ``spaces`` (chapter 02),
``bench`` and ``data`` (every chapter), ``nn`` and ``train`` (chapters 02 and 04),
``search`` (03, 04), ``proxies`` (05), ``features`` and ``predictors`` (06, 07) and
``gennape`` (08).
"""

__version__ = "0.1.0"
