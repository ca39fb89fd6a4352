"""nascourse: the companion package of the course on neural architecture search.

Each subpackage belongs to the chapters that explain it: ``spaces`` (chapter 02),
``benchmarks`` (the benchmark tables, every chapter), ``image_data`` (image data sets and
loaders, chapters 02, 04, 05), ``data`` (the shipped files and their checksums, read by
both), ``nn`` and ``train`` (chapters 02 and 04), ``search`` (03, 04), ``proxies`` (05),
``features`` and ``predictors`` (06, 07) and ``gennape`` (08). The old module names
``bench`` and ``datasets`` remain as aliases of ``benchmarks`` and ``image_data``.
"""

__version__ = "0.1.0"
