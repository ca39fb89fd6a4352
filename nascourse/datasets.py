"""Old name of :mod:`nascourse.image_data` (the image data sets and their loaders).

Kept so that ``from nascourse import datasets`` and ``datasets.get_loaders(...)`` keep
working; new code imports :mod:`nascourse.image_data`. The old name is the same module
object, so its caches and any monkeypatching are shared.
"""

import sys

from nascourse import image_data

sys.modules[__name__] = image_data   # old name of nascourse.image_data
