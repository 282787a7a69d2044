"""Numba kernels for the population loss and its gradient (reference: ``twolayer.reference``).

Rows of the student are processed in blocks of ``ROW_BLOCK``: one BLAS product gives the
block's dot products with every student and teacher neuron, one vectorised pass turns
them into pi - phi, sin phi and K, and a second BLAS product gives the gradient. No m x m
array is formed; blocks run in parallel (``prange``) with BLAS held to one thread by the
caller (``twolayer._blas``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .acos import acos
from .common import ordered_sum, row_norms

ROW_BLOCK = 64
_INV_TWO_PI = 1.0 / (2.0 * np.pi)
_FASTMATH = {"contract", "reassoc"}


@njit(cache=True, fastmath=_FASTMATH)
def _angle_pass(P, ni, norms, weights, diag):
    """Turn a row of dot products P[j] = w_i.u_j into weights_j (pi - phi_ij) in place.

    Returns (sum_j weights_j K_ij, sum_j weights_j |u_j| sin phi_ij). ``diag`` is the index
    of u_j = w_i itself (phi = 0 exactly) or -1.
    """
    inv_ni = 1.0 / ni
    acc_k = 0.0
    acc_sin = 0.0
    for j in range(P.shape[0]):
        s = P[j]
        nj = norms[j]
        cos = s * inv_ni / nj if nj > 0.0 else 0.0
        cos = min(1.0, max(-1.0, cos))
        if j == diag:
            cos = 1.0
        theta = np.pi - acos(cos)
        sin = np.sqrt(1.0 - cos * cos)
        k = (ni * nj * sin + theta * s) * _INV_TWO_PI
        acc_k += weights[j] * k
        acc_sin += weights[j] * nj * sin
        P[j] = weights[j] * theta
    return acc_k, acc_sin


@njit(cache=True)
def population_rows(a, W, nw, V, b, nv, c, lo, hi, need_grad, ga, gW):
    """Rows lo..hi of dR/da and dR/dW (Gaussian inputs); returns their share of R
    without the teacher-teacher constant."""
    Wb = W[lo:hi]
    Ps = Wb @ W.T
    Pt = Wb @ V.T
    c2 = c * c
    rows = hi - lo
    radial = np.zeros(rows)
    loss = 0.0
    for r in range(rows):
        i = lo + r
        ni = nw[i]
        if ni == 0.0:
            Ps[r, :] = 0.0
            Pt[r, :] = 0.0
            ga[i] = 0.0
            continue
        ks, ss = _angle_pass(Ps[r], ni, nw, a, i)
        kt, st = _angle_pass(Pt[r], ni, nv, b, -1)
        ga[i] = c2 * ks - c * kt
        loss += a[i] * (0.5 * c2 * ks - c * kt)
        radial[r] = (c2 * ss - c * st) / ni
    if need_grad:
        G = c2 * (Ps @ W) - c * (Pt @ V)
        for r in range(rows):
            i = lo + r
            for q in range(W.shape[1]):
                gW[i, q] = a[i] * (G[r, q] + radial[r] * W[i, q]) * _INV_TWO_PI
    return loss


@njit(cache=True)
def teacher_energy(V, b, nv):
    """1/2 sum_{j,j'} b_j b_j' K(v_j, v_j'): the student terms of R for the teacher itself
    (against a zero-weight copy of the teacher)."""
    k = V.shape[0]
    ga = np.empty(k)
    gW = np.empty((k, V.shape[1]))
    return population_rows(b, V, nv, V, np.zeros(k), nv, 1.0, 0, k, False, ga, gW)


@njit(cache=True)
def population_loss_and_grad(a, W, V, b, c, scale):
    """``population_terms`` with the gradient: the one entry every caller (the loss API and the
    GD loop) uses, so numba compiles the parallel kernel once (a literal ``True`` from jitted
    code and a Python ``bool`` are two specialisations, ~5 s of compilation each)."""
    return population_terms(a, W, V, b, c, scale, True)


@njit(cache=True, parallel=True)
def population_terms(a, W, V, b, c, scale, need_grad):
    """(R, dR/da, dR/dW) with row blocks in parallel; ``scale`` = 1 or 1/d (sphere)."""
    m, d = W.shape
    nw = row_norms(W)
    nv = row_norms(V)
    ga = np.zeros(m)
    gW = np.zeros((m, d))
    nblocks = (m + ROW_BLOCK - 1) // ROW_BLOCK
    partial = np.zeros(nblocks)
    for blk in prange(nblocks):
        lo = blk * ROW_BLOCK
        hi = min(m, lo + ROW_BLOCK)
        partial[blk] = population_rows(a, W, nw, V, b, nv, c, lo, hi, need_grad, ga, gW)
    loss = ordered_sum(partial) + teacher_energy(V, b, nv)
    return scale * loss, scale * ga, scale * gW


@njit(cache=True)
def _upper_rows(a, W, nw, V, b, nv, c, lo, hi):
    """Share of R (without the teacher constant) of rows lo..hi, counting each student pair
    i < j once and doubling it: c^2 (a_i^2 |w_i|^2 / 4 + sum_{j>i} a_i a_j K_ij) - c sum_t a_i b_t K_it."""
    Ps = W[lo:hi] @ W[lo:].T
    Pt = W[lo:hi] @ V.T
    loss = 0.0
    for r in range(hi - lo):
        i = lo + r
        ni = nw[i]
        if ni == 0.0:
            continue
        ks, _ = _angle_pass(Ps[r, r + 1:], ni, nw[i + 1:], a[i + 1:], -1)
        kt, _ = _angle_pass(Pt[r], ni, nv, b, -1)
        loss += a[i] * (c * c * (0.25 * a[i] * ni * ni + ks) - c * kt)
    return loss


@njit(cache=True, parallel=True)
def population_loss(a, W, V, b, c, scale):
    """R alone, from the pairs i <= j only (half the arccos work of ``population_terms``).
    Row blocks are visited as 0, last, 1, last-1, ... so the two halves of the triangle balance."""
    m = W.shape[0]
    nw = row_norms(W)
    nv = row_norms(V)
    nblocks = (m + ROW_BLOCK - 1) // ROW_BLOCK
    partial = np.zeros(nblocks)
    for q in prange(nblocks):
        blk = q // 2 if q % 2 == 0 else nblocks - 1 - q // 2
        lo = blk * ROW_BLOCK
        partial[blk] = _upper_rows(a, W, nw, V, b, nv, c, lo, min(m, lo + ROW_BLOCK))
    return scale * (ordered_sum(partial) + teacher_energy(V, b, nv))


@njit(cache=True)
def population_terms_serial(a, W, V, b, c, scale, need_grad, ga, gW):
    """Serial variant writing into ga, gW (used per replica and for small m); returns R."""
    m = W.shape[0]
    nw = row_norms(W)
    nv = row_norms(V)
    loss = 0.0
    for lo in range(0, m, ROW_BLOCK):
        loss += population_rows(a, W, nw, V, b, nv, c, lo, min(m, lo + ROW_BLOCK),
                                need_grad, ga, gW)
    loss += teacher_energy(V, b, nv)
    ga *= scale
    gW *= scale
    return scale * loss
