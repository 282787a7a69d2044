"""Numba kernels for the empirical loss L = 1/(2n) sum_s (f(x_s) - y_s)^2 and its gradient
(reference: ``twolayer.reference.empirical_terms``).

Samples are processed in blocks of ``SAMPLE_BLOCK`` rows: Z = X_b W^T (BLAS), one fused
pass forms the residuals r_s = c sum_i a_i sigma(z_si) - y_s, the output-weight gradient and
the masked residuals 1[z_si > 0] r_s in place of Z, and a second BLAS product accumulates
the first-layer gradient. Only a SAMPLE_BLOCK x m tile exists at a time (never n x m).
Blocks are grouped into a fixed number of chunks summed in a fixed order, so results do not
depend on the number of threads.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .common import ordered_sum

SAMPLE_BLOCK = 128
N_CHUNKS = 8
_FASTMATH = {"contract", "reassoc"}


@njit(cache=True, fastmath=_FASTMATH)
def _residuals(Z, y, a, c, need_grad, ga):
    """r_s = c sum_i a_i sigma(Z_si) - y_s; adds sum_s r_s sigma(Z_si) to ga and turns Z
    into 1[Z_si > 0] r_s when ``need_grad``. Returns sum_s r_s^2."""
    rows, m = Z.shape
    sq = 0.0
    for s in range(rows):
        f = 0.0
        for i in range(m):
            z = Z[s, i]
            f += a[i] * (z if z > 0.0 else 0.0)
        r = c * f - y[s]
        sq += r * r
        if need_grad:
            for i in range(m):
                z = Z[s, i]
                pos = z > 0.0
                ga[i] += r * (z if pos else 0.0)
                Z[s, i] = r if pos else 0.0
    return sq


@njit(cache=True)
def empirical_rows(X, y, a, WT, c, lo, hi, need_grad, ga, gW):
    """Add sum_s r_s sigma(z_si) to ga and sum_s 1[z_si>0] r_s x_s to gW for samples lo..hi
    (unscaled); return sum_s r_s^2. The block buffers are allocated once per call."""
    Zbuf = np.empty((SAMPLE_BLOCK, WT.shape[1]))
    G = np.empty(gW.shape)
    sq = 0.0
    for blo in range(lo, hi, SAMPLE_BLOCK):
        bhi = min(hi, blo + SAMPLE_BLOCK)
        Xb = X[blo:bhi]
        Z = Zbuf[: bhi - blo]
        np.dot(Xb, WT, Z)
        sq += _residuals(Z, y[blo:bhi], a, c, need_grad, ga)
        if need_grad:
            np.dot(Z.T, Xb, G)
            gW += G
    return sq


@njit(cache=True)
def _finish(sq, ga, gW, a, c, n, need_grad):
    """Scale the accumulated sums: L = sq/(2n), dL/da = c ga/n, dL/dw_i = c a_i gW_i/n."""
    if need_grad:  # element by element: an in-place array operation compiles a shape error (~3 s)
        scale = c / n
        for i in range(ga.shape[0]):
            ga[i] *= scale
        for i in range(gW.shape[0]):
            row = c * a[i] / n
            for j in range(gW.shape[1]):
                gW[i, j] *= row
    return 0.5 * sq / n


@njit(cache=True, parallel=True)
def empirical_terms(X, y, a, W, c, need_grad):
    """(L, dL/da, dL/dW) with sample chunks in parallel."""
    n = X.shape[0]
    m, d = W.shape
    WT = np.ascontiguousarray(W.T)
    nblocks = (n + SAMPLE_BLOCK - 1) // SAMPLE_BLOCK
    nchunks = min(N_CHUNKS, nblocks)
    per = (nblocks + nchunks - 1) // nchunks
    ga_parts = np.zeros((nchunks, m))
    gW_parts = np.zeros((nchunks, m, d))
    sq_parts = np.zeros(nchunks)
    for ch in prange(nchunks):
        lo = min(n, ch * per * SAMPLE_BLOCK)
        hi = min(n, (ch + 1) * per * SAMPLE_BLOCK)
        sq_parts[ch] = empirical_rows(X, y, a, WT, c, lo, hi, need_grad,
                                      ga_parts[ch], gW_parts[ch])
    ga = np.zeros(m)
    gW = np.zeros((m, d))
    for ch in range(nchunks):
        ga += ga_parts[ch]
        gW += gW_parts[ch]
    loss = _finish(ordered_sum(sq_parts), ga, gW, a, c, n, need_grad)
    return loss, ga, gW


@njit(cache=True, fastmath=_FASTMATH)
def minibatch_terms(X, y, a, WT, c, ga, gWT):
    """(L, dL/da, dL/dW^T) on a small batch with W held transposed (d x m): two BLAS
    products and one fused pass, with no transpose per step. For the minibatch SGD loop."""
    batch = X.shape[0]
    ga[:] = 0.0
    Z = X @ WT
    sq = _residuals(Z, y, a, c, True, ga)
    G = X.T @ Z
    for k in range(gWT.shape[0]):  # element by element: see the package's note on slice assignment
        for i in range(gWT.shape[1]):
            gWT[k, i] = G[k, i]
    ga *= c / batch
    for k in range(gWT.shape[0]):
        for i in range(gWT.shape[1]):
            gWT[k, i] *= c * a[i] / batch
    return 0.5 * sq / batch
