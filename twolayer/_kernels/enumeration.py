"""Numba kernel: a quadratic assignment objective on a grid of t, over every permutation of m.

value_g(pi) = sum_i U[g, i, pi(i)] + sum_{i<j} Q[g, i m + pi(i), j m + pi(j)], and per
permutation the largest value_g(pi) - base[g] over the grid. Permutations in lexicographic
order (Narayana's next permutation); the reference is a loop over ``itertools.permutations``.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def _next_permutation(p):
    """Advance p to the next permutation in lexicographic order; False after the last one."""
    n = p.size
    k = n - 2
    while k >= 0 and p[k] >= p[k + 1]:
        k -= 1
    if k < 0:
        return False
    j = n - 1
    while p[j] <= p[k]:
        j -= 1
    p[k], p[j] = p[j], p[k]
    lo, hi = k + 1, n - 1  # reverse the tail in place
    while lo < hi:
        p[lo], p[hi] = p[hi], p[lo]
        lo += 1
        hi -= 1
    return True


@njit(cache=True)
def grid_maxima(U, Q, base):
    """max_g (value_g(pi) - base[g]) for every permutation pi of range(m), in lexicographic order."""
    G, m, _ = U.shape
    count = 1
    for k in range(2, m + 1):
        count *= k
    out = np.empty(count)
    p = np.arange(m)
    vals = np.empty(G)
    for r in range(count):
        for g in range(G):
            s = 0.0
            for i in range(m):
                s += U[g, i, p[i]]
                row = i * m + p[i]
                for j in range(i + 1, m):
                    s += Q[g, row, j * m + p[j]]
            vals[g] = s - base[g]
        out[r] = vals.max()
        _next_permutation(p)
    return out
