"""Zero-cost proxies as an encoding (chapters 06 and 07): the precomputed values shipped
with the package (NAS-Bench-Suite-Zero), looked up for a list of cells.

Chapter 05 computes proxies live with :mod:`nascourse.proxies`; predictors need them for
thousands of cells, so they read the shipped table instead.
"""

from __future__ import annotations

from typing import Sequence

import pandas as pd

from nascourse import benchmarks
from nascourse._checks import check_sequence
from nascourse.features.encodings import op_id_matrix
from nascourse.spaces import nb201


def zcp(cells: Sequence[nb201.Cell], dataset: str = "cifar10",
        proxies: Sequence[str] | None = None) -> pd.DataFrame:
    """The shipped zero-cost proxies of ``cells`` on ``dataset`` ('cifar10' or
    'ImageNet16-120'): one row per cell, indexed by benchmark index, one column per proxy
    (all 13 of :data:`nascourse.benchmarks.ZC_PROXIES` by default).

    Only the 9,445 cells without unreachable operations have proxies; asking for another
    cell raises ``KeyError`` naming it.
    """
    op_id_matrix(cells)                               # type checks with a clear message
    table = benchmarks.load_zc_proxies(dataset)
    names = list(benchmarks.ZC_PROXIES if proxies is None else check_sequence("proxies", proxies, str, "proxy name"))
    unknown = sorted(set(names) - set(benchmarks.ZC_PROXIES))
    if unknown:
        raise ValueError(f"unknown proxies {unknown}; valid: {list(benchmarks.ZC_PROXIES)}")
    index = [c.index for c in cells]
    missing = [i for i in index if i not in table.index]
    if missing:
        raise KeyError(f"no shipped proxies for {len(missing)} cell(s), e.g. cell {missing[0]} "
                       f"({nb201.Cell.from_index(missing[0])}): only the 9,445 cells without "
                       "unreachable operations have them")
    return table.loc[index, names]
