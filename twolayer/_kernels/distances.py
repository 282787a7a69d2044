"""Numba kernel for squared Euclidean cost matrices (reference: ``reference.squared_distances``).

C_ij = |p_i|^2 + |q_j|^2 - 2 p_i.q_j, one BLAS product per block of rows and one fused pass;
OpenBLAS runs the whole skinny product m x d x n at a fraction of its block speed here.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .common import row_norms

ROW_BLOCK = 128


@njit(cache=True)
def _block_distances(P, QT, sp, sq, lo, hi):
    G = P[lo:hi] @ QT
    for r in range(hi - lo):
        for j in range(G.shape[1]):
            G[r, j] = max(sp[lo + r] + sq[j] - 2.0 * G[r, j], 0.0)
    return G


@njit(cache=True, parallel=True)
def squared_distances(P, Q):
    """The full m x n matrix C."""
    m, n = P.shape[0], Q.shape[0]
    sp = row_norms(P) ** 2
    sq = row_norms(Q) ** 2
    QT = np.ascontiguousarray(Q.T)
    out = np.empty((m, n))
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        lo = blk * ROW_BLOCK
        hi = min(m, lo + ROW_BLOCK)
        block = _block_distances(P, QT, sp, sq, lo, hi)
        for r in range(hi - lo):  # element by element: see the package's note on slice assignment
            for j in range(n):
                out[lo + r, j] = block[r, j]
    return out


@njit(cache=True, parallel=True)
def nearest(P, Q):
    """argmin_j C_ij for every row i, without storing C."""
    m = P.shape[0]
    sp = row_norms(P) ** 2
    sq = row_norms(Q) ** 2
    QT = np.ascontiguousarray(Q.T)
    out = np.empty(m, dtype=np.int64)
    for blk in prange((m + ROW_BLOCK - 1) // ROW_BLOCK):
        lo = blk * ROW_BLOCK
        hi = min(m, lo + ROW_BLOCK)
        C = _block_distances(P, QT, sp, sq, lo, hi)
        for r in range(hi - lo):
            out[lo + r] = np.argmin(C[r])
    return out
