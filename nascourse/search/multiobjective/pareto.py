r"""Pareto dominance, fronts, non-dominated sorting, crowding distance and the
hypervolume indicator (chapter 09).

Every function takes a matrix ``Y`` of objective values, one row per point (an
architecture) and one column per objective, and ``maximize``: one bool per column (or one
bool for all columns) saying whether that objective is maximised (accuracy) or minimised
(latency, energy). Internally every column is turned into one to *minimise* by negating
the maximised ones, so the definitions below are written for minimisation.

**Dominance.** A point :math:`a` *dominates* :math:`b` (:math:`a \prec b`) when it is no
worse in every objective and strictly better in at least one:

.. math:: a \prec b \iff \forall k:\ a_k \le b_k \ \text{ and } \ \exists k:\ a_k < b_k .

Two equal points do not dominate each other. The *Pareto front* of a set is the subset
of points that no other point of the set dominates.

**Hypervolume.** For a reference point :math:`r` that every point strictly dominates
(:math:`a_k < r_k` for all :math:`k`), the hypervolume of a set :math:`A` is the volume
of the region dominated by :math:`A` and bounded by :math:`r`:

.. math:: \mathrm{HV}(A; r) = \lambda\Big(\bigcup_{a \in A} [a_1, r_1] \times \dots
          \times [a_m, r_m]\Big),

with :math:`\lambda` the Lebesgue measure (an area for two objectives). It grows when a
point is added that no point of :math:`A` weakly dominates, and it is maximal only for
sets that contain the whole front, which is why it scores a whole front with one number.
The *contribution* of a point is what the hypervolume loses when that point is removed.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from nascourse._checks import check_array, check_bool, check_sequence

__all__ = ["crowding_distance", "dominates", "front_staircase", "hypervolume", "hypervolume_contributions",
           "non_dominated_sort", "pareto_front", "to_minimisation"]


def _check_maximize(maximize: bool | Sequence[bool], n_objectives: int) -> np.ndarray:
    """``maximize`` as a bool array with one entry per objective."""
    if isinstance(maximize, str) or not isinstance(maximize, (Sequence, np.ndarray)):
        return np.full(n_objectives, check_bool("maximize", maximize))
    flags = check_sequence("maximize", maximize, (bool, np.bool_),
                           what="bool (one per objective), or one bool for all objectives")
    if len(flags) != n_objectives:
        raise ValueError(f"maximize must hold one bool per objective ({n_objectives}), "
                         f"got {len(flags)}: {flags}")
    return np.array(flags, dtype=bool)


def _check_points(name: str, Y, min_rows: int = 0) -> np.ndarray:
    Y = check_array(name, Y, ndim=2, min_rows=min_rows)
    if Y.shape[1] < 1:
        raise ValueError(f"{name} must have at least one objective column, got shape {Y.shape}")
    return Y


def to_minimisation(Y, maximize: bool | Sequence[bool]) -> np.ndarray:
    """A copy of ``Y`` (2-D, finite) with the maximised columns negated, so that every
    column is to be minimised."""
    Y = _check_points("Y", Y)
    return np.where(_check_maximize(maximize, Y.shape[1]), -Y, Y)


def dominates(a, b, maximize: bool | Sequence[bool] = False) -> bool:
    """Whether point ``a`` dominates point ``b``: no worse in every objective and strictly
    better in at least one (equal points do not dominate each other)."""
    a = check_array("a", a, ndim=1)
    b = check_array("b", b, ndim=1)
    if a.shape != b.shape:
        raise ValueError(f"a and b must have the same number of objectives, got {a.shape} and {b.shape}")
    a, b = to_minimisation(a[None], maximize)[0], to_minimisation(b[None], maximize)[0]
    return bool(np.all(a <= b) and np.any(a < b))


def _front_of_unique(U: np.ndarray) -> np.ndarray:
    """Non-dominated mask of distinct rows ``U`` sorted lexicographically (minimisation).

    In lexicographic order a dominator always comes before the point it dominates, and
    a point dominated by a dominated point is also dominated by a front point, so each
    row is compared with the front found so far only. Two objectives need one sweep: a
    row is dominated exactly when an earlier row has a second value no larger than its
    own, i.e. when the running minimum of the second column reaches it (O(n log n) with
    the sort). More objectives: O(n * |front| * m) comparisons, vectorised per row.
    """
    n, m = U.shape
    if m == 1:
        return np.arange(n) == 0
    if m == 2:
        previous_min = np.concatenate([[np.inf], np.minimum.accumulate(U[:, 1])[:-1]])
        return U[:, 1] < previous_min
    keep = np.zeros(n, dtype=bool)
    front = np.empty((0, m))
    for i, row in enumerate(U):
        if not np.any(np.all(front <= row, axis=1)):  # distinct rows: <= everywhere means dominates
            keep[i] = True
            front = np.vstack([front, row])
    return keep


def pareto_front(Y, maximize: bool | Sequence[bool] = False, keep_duplicates: bool = True) -> np.ndarray:
    """Boolean mask of the rows of ``Y`` that no other row dominates.

    ``Y`` has one row per point and one column per objective (any number of them);
    ``maximize`` is one bool per column (or one for all). Ties are handled by the
    definition of dominance: points equal in one objective are compared on the others.
    Duplicates of a non-dominated point do not dominate each other, so with
    ``keep_duplicates=True`` (the default) every copy is on the front, as
    ``moocore.is_nondominated(..., keep_weakly=True)`` returns; with ``False`` only the
    first copy (lowest row index) is kept, as moocore does by default.

    Cost: O(n log n) for two objectives (a sort and one sweep), O(n * f * m) for m > 2
    with f the size of the front.
    """
    keep_duplicates = check_bool("keep_duplicates", keep_duplicates)
    Z = to_minimisation(Y, maximize)
    if len(Z) == 0:
        return np.zeros(0, dtype=bool)
    U, first, inverse = np.unique(Z, axis=0, return_index=True, return_inverse=True)
    on_front = _front_of_unique(U)
    mask = on_front[inverse.reshape(-1)]
    if not keep_duplicates:
        firsts = np.zeros(len(Z), dtype=bool)
        firsts[first] = True
        mask &= firsts
    return mask


def non_dominated_sort(Y, maximize: bool | Sequence[bool] = False) -> np.ndarray:
    """Pareto rank of every row (NSGA-II's non-dominated sorting, Deb et al. 2002).

    Rank 0 is the Pareto front of all rows (NSGA-II's :math:`F_1`), rank 1 the front of
    what remains once rank 0 is removed, and so on. Duplicates share a rank (as in
    ``moocore.pareto_rank``). Peels one front at a time with :func:`pareto_front`.
    """
    Z = to_minimisation(Y, maximize)
    ranks = np.full(len(Z), -1, dtype=np.int64)
    remaining = np.arange(len(Z))
    rank = 0
    while len(remaining):
        mask = pareto_front(Z[remaining], False)
        ranks[remaining[mask]] = rank
        remaining = remaining[~mask]
        rank += 1
    return ranks


def crowding_distance(Y) -> np.ndarray:
    r"""NSGA-II's crowding distance of each row of ``Y`` (the points of one front).

    For each objective :math:`k`, sort the points by it; the two extreme points get an
    infinite distance and every other point :math:`i` adds the normalised side of the
    cuboid formed by its two neighbours,

    .. math:: d_i \mathrel{+}= \frac{y_{(i+1),k} - y_{(i-1),k}}{\max_j y_{j,k} - \min_j y_{j,k}},

    (an objective on which all points are equal adds nothing). Larger is less crowded.
    The direction of the objectives does not matter. Ties are sorted stably (by row).
    """
    Y = _check_points("Y", Y)
    n, m = Y.shape
    distance = np.zeros(n)
    if n <= 2:
        return np.full(n, np.inf)
    for k in range(m):
        order = np.argsort(Y[:, k], kind="stable")
        values = Y[order, k]
        span = values[-1] - values[0]
        distance[order[[0, -1]]] = np.inf
        if span > 0:
            distance[order[1:-1]] += (values[2:] - values[:-2]) / span
    return distance


def _hv_minimise(Z: np.ndarray, ref: np.ndarray) -> float:
    """Hypervolume of points ``Z`` (minimisation, all strictly below ``ref``).

    One objective: the length ``ref - min``. Two: sort the front by the first objective
    and sum the rectangles (O(n log n)). More: slice along the last objective (the
    hypervolume-by-slicing-objectives method): between consecutive values of the last
    objective, the points at or below the slice form an (m-1)-dimensional set whose
    hypervolume times the slice thickness is that slab's volume. O(n^2 log n) for
    three objectives; exponential in m beyond.
    """
    if len(Z) == 0:
        return 0.0
    m = Z.shape[1]
    if m == 1:
        return float(ref[0] - Z[:, 0].min())
    U = np.unique(Z, axis=0)
    F = U[_front_of_unique(U)]  # sorted by the first objective; the second then decreases
    if m == 2:
        widths = np.diff(np.append(F[:, 0], ref[0]))
        return float(np.sum(widths * (ref[1] - F[:, 1])))
    F = F[np.argsort(F[:, -1], kind="stable")]
    bounds = np.append(F[:, -1], ref[-1])
    volume = 0.0
    for i in range(len(F)):
        thickness = bounds[i + 1] - bounds[i]
        if thickness > 0:
            volume += thickness * _hv_minimise(F[: i + 1, :-1], ref[:-1])
    return volume


def _hv_inputs(points, reference, maximize, ignore_outside: bool) -> tuple[np.ndarray, np.ndarray]:
    ignore_outside = check_bool("ignore_outside", ignore_outside)
    P = _check_points("points", points)
    r = check_array("reference", reference, ndim=1)
    if r.shape[0] != P.shape[1]:
        raise ValueError(f"reference must have one value per objective ({P.shape[1]} columns of points), "
                         f"got {r.shape[0]}")
    flags = _check_maximize(maximize, P.shape[1])
    Z, rz = np.where(flags, -P, P), np.where(flags, -r, r)
    inside = np.all(Z < rz, axis=1)
    if not ignore_outside and not inside.all():
        i = int(np.flatnonzero(~inside)[0])
        raise ValueError(
            f"points[{i}] = {P[i].tolist()} does not strictly dominate the reference point {r.tolist()} "
            f"(maximize={flags.tolist()}): every point must be strictly better than the reference in every "
            f"objective ({int((~inside).sum())} of {len(P)} are not); choose a worse reference point, "
            "or pass ignore_outside=True to leave such points out")
    return Z, rz


def hypervolume(points, reference, maximize: bool | Sequence[bool] = False,
                ignore_outside: bool = False) -> float:
    """The hypervolume of ``points`` (one row per point) with respect to ``reference``.

    Exact for any number of objectives: O(n log n) for two, by slicing for three and
    more (fast for the fronts of a search, slow for hundreds of points in four or more
    objectives). Dominated and duplicate points are allowed and add nothing. Every point
    must strictly dominate the reference point (be better in every objective), otherwise
    a ValueError names the first one that does not; ``ignore_outside=True`` leaves such
    points out instead (they add no volume), as ``moocore.hypervolume`` does silently.
    An empty set has hypervolume 0.
    """
    Z, rz = _hv_inputs(points, reference, maximize, ignore_outside)
    return _hv_minimise(Z[np.all(Z < rz, axis=1)], rz)


def hypervolume_contributions(points, reference, maximize: bool | Sequence[bool] = False,
                              ignore_outside: bool = False) -> np.ndarray:
    """The exclusive hypervolume contribution of each point: ``HV(all) - HV(all but it)``.

    The set is the whole of ``points``: when a front point is removed, the points it
    dominated fill part of the region it leaves, so its contribution is what *nobody
    else* covers (``moocore.hv_contributions(..., ignore_dominated=False)``; moocore's
    default drops dominated points first). Dominated and duplicated points contribute 0
    (removing one copy leaves the other). Arguments as for :func:`hypervolume`;
    computed by removal, one hypervolume per point on the front.
    """
    Z, rz = _hv_inputs(points, reference, maximize, ignore_outside)
    inside = np.all(Z < rz, axis=1)
    out = np.zeros(len(Z))
    idx = np.flatnonzero(inside)
    if len(idx) == 0:
        return out
    W = Z[idx]
    total = _hv_minimise(W, rz)
    unique_front = pareto_front(W, False, keep_duplicates=False)
    counts = {}
    for row in map(tuple, W):
        counts[row] = counts.get(row, 0) + 1
    for j in np.flatnonzero(unique_front):
        if counts[tuple(W[j])] > 1:
            continue
        out[idx[j]] = total - _hv_minimise(np.delete(W, j, axis=0), rz)
    return out


def front_staircase(points, maximize: bool | Sequence[bool] = False,
                    reference=None) -> tuple[np.ndarray, np.ndarray]:
    """The boundary of the region that two-objective ``points`` dominate, as ``(x, y)``
    coordinates for ``ax.plot(x, y)``: the front's points joined by horizontal and
    vertical steps, in the points' own units and directions. With ``reference``, the
    path starts and ends on the reference point's lines, so it encloses exactly the area
    :func:`hypervolume` measures."""
    P = _check_points("points", points)
    if P.shape[1] != 2:
        raise ValueError(f"points must have two objective columns for a staircase, got shape {P.shape}")
    flags = _check_maximize(maximize, 2)
    sign = np.where(flags, -1.0, 1.0)
    if reference is not None:
        Z, rz = _hv_inputs(P, reference, flags, False)
    else:
        Z, rz = P * sign, None
    U = np.unique(Z, axis=0)
    F = U[_front_of_unique(U)]  # first objective increasing, second decreasing
    x = np.repeat(F[:, 0], 2)[1:]
    y = np.repeat(F[:, 1], 2)[:-1]
    if rz is not None:
        x = np.concatenate([[F[0, 0]], x, [rz[0]]])
        y = np.concatenate([[rz[1]], y, [F[-1, 1]]])
    return x * sign[0], y * sign[1]
