"""Linear assignment: the exact solvers every matching method ends in.

assignment(C, g)          pi minimising sum_i C[i, pi(i)] (scipy's Jonker-Volgenant), within g
                          diagonal blocks when asked (GroupNorm's groups)
distance_assignment(P, Q) pi minimising sum_i |p_i - q_pi(i)|^2, with a nearest-neighbour
                          shortcut that stores no m x m matrix when it is provably optimal
"""

from __future__ import annotations

import numpy as np

from ._blas import single_threaded_blas
from ._kernels import distances as _distances


def squared_distances(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """C_ij = |p_i - q_j|^2 = |p_i|^2 + |q_j|^2 - 2 p_i.q_j (numba kernel, blocked BLAS)."""
    with single_threaded_blas():
        # writable copies: one numba specialisation whether the caller's arrays are read-only or not
        return _distances.squared_distances(np.array(P, dtype=np.float64, order="C"),
                                            np.array(Q, dtype=np.float64, order="C"))


def distance_assignment(P: np.ndarray, Q: np.ndarray) -> np.ndarray:
    """pi minimising sum_i |p_i - q_pi(i)|^2, exactly.

    If the rows' nearest neighbours j*(i) = argmin_j C_ij are all distinct, pi = j* attains
    the lower bound sum_i min_j C_ij of every assignment and is optimal (near-permuted
    networks: no m x m matrix is stored). Otherwise scipy's assignment on the full C.
    """
    P = np.ascontiguousarray(P, dtype=np.float64)
    Q = np.ascontiguousarray(Q, dtype=np.float64)
    with single_threaded_blas():
        near = _distances.nearest(P, Q)
    if np.unique(near).size == P.shape[0] == Q.shape[0]:
        return near
    return assignment(squared_distances(P, Q))


def assignment(cost: np.ndarray, groups: int = 1) -> np.ndarray:
    """pi minimising sum_i cost[i, pi(i)] (scipy's exact linear assignment); with ``groups`` = g,
    over the permutations keeping each index in its group of n / g contiguous indices (one
    assignment per diagonal block)."""
    from scipy.optimize import linear_sum_assignment  # scipy.optimize: 0.4 s to import, only when used

    n = cost.shape[0]
    size = n // groups
    perm = np.empty(n, dtype=np.int64)
    for start in range(0, n, size):
        rows, cols = linear_sum_assignment(cost[start:start + size, start:start + size])
        perm[start + rows] = start + cols
    return perm
