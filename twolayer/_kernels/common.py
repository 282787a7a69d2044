"""Small serial helpers shared by the kernels."""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True)
def ordered_sum(x):
    """Left-to-right sum (a parallel region's ``x.sum()`` may reorder with the thread count)."""
    s = 0.0
    for v in x:
        s += v
    return s


@njit(cache=True, fastmath={"contract", "reassoc"})
def row_norms(W):
    """|w_i| for every row."""
    m, d = W.shape
    out = np.empty(m)
    for i in range(m):
        s = 0.0
        for j in range(d):
            s += W[i, j] * W[i, j]
        out[i] = np.sqrt(s)
    return out
