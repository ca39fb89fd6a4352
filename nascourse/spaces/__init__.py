"""Search spaces: what an architecture is (chapter 02).

``nb201`` (NAS-Bench-201 cells), ``nb101`` (NAS-Bench-101 cells), ``darts`` (the DARTS
cell space) and ``grammar`` (a small context-free grammar of networks).

The cell classes of ``nb201``, ``nb101`` and ``darts`` share one convention:
``cell.canonical()`` returns a cell of the same class in canonical form (hashable, so it
keys a dict; the same for every cell that the space treats as computing the same
function; ``canonical()`` of it is itself), and ``cell.canonical_str()`` a string key for
the same classes.
"""
