"""Old name of :mod:`nascourse.benchmarks` (the shipped benchmark tables).

Kept so that ``from nascourse import bench`` and ``bench.load_nb201(...)`` keep working;
new code imports :mod:`nascourse.benchmarks`. The old name is the same module object, so
its caches and any monkeypatching are shared.
"""

import sys

from nascourse import benchmarks

sys.modules[__name__] = benchmarks   # old name of nascourse.benchmarks
