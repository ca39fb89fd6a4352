"""Search spaces: what an architecture is (chapter 02).

``nb201`` (NAS-Bench-201 cells), ``nb101`` (NAS-Bench-101 cells), ``darts`` (the DARTS
cell space) and ``grammar`` (a small context-free grammar of networks).
"""
