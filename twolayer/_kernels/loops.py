"""Training loops run entirely inside numba (no Python per step).

Each loop performs up to ``losses.size`` updates theta <- theta - lr grad, writes the loss
seen before each update into ``losses`` and returns (updates done, status):
RUNNING (all steps done), CONVERGED (loss <= tol, not updated further) or DIVERGED
(loss non-finite or above ``limit``, not updated further). Parameters are updated in place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .empirical import empirical_terms, minibatch_terms
from .population import population_loss_and_grad, population_terms_serial

RUNNING, CONVERGED, DIVERGED = 0, 1, 2


@njit(cache=True)
def _status(loss, tol, limit):
    if not np.isfinite(loss) or loss > limit:
        return DIVERGED
    if loss <= tol:
        return CONVERGED
    return RUNNING


@njit(cache=True)
def _descend(a, W, ga, gW, lr, train_a):
    if train_a:
        for i in range(a.size):  # element by element: see the package's note on slice assignment
            a[i] -= lr * ga[i]
    for i in range(W.shape[0]):
        for q in range(W.shape[1]):
            W[i, q] -= lr * gW[i, q]


@njit(cache=True)
def _step(s, loss, a, W, ga, gW, lr, tol, limit, train_a, losses):
    """Record the loss of step s and, unless it stops the run, update (a, W): the status."""
    losses[s] = loss
    status = _status(loss, tol, limit)
    if status == RUNNING:
        _descend(a, W, ga, gW, lr, train_a)
    return status


@njit(cache=True)
def gd_population(a, W, V, b, c, scale, lr, tol, limit, train_a, losses):
    """Full-batch GD on the population loss (the loss kernel runs row blocks in parallel)."""
    for s in range(losses.size):
        loss, ga, gW = population_loss_and_grad(a, W, V, b, c, scale)
        status = _step(s, loss, a, W, ga, gW, lr, tol, limit, train_a, losses)
        if status != RUNNING:
            return s, status
    return losses.size, RUNNING


@njit(cache=True)
def gd_population_serial(a, W, V, b, c, scale, lr, tol, limit, train_a, losses):
    """Serial full-batch GD on the population loss (small m, one replica of a batch)."""
    ga = np.zeros(a.size)
    gW = np.zeros(W.shape)
    for s in range(losses.size):
        loss = population_terms_serial(a, W, V, b, c, scale, True, ga, gW)
        status = _step(s, loss, a, W, ga, gW, lr, tol, limit, train_a, losses)
        if status != RUNNING:
            return s, status
    return losses.size, RUNNING


@njit(cache=True, parallel=True)
def gd_population_replicas(A, Ws, V, b, c, scale, lr, tol, limit, train_a, losses, done, status):
    """R independent replicas (A[r], Ws[r]) of population GD, in parallel over replicas."""
    for r in prange(A.shape[0]):
        done[r], status[r] = gd_population_serial(A[r], Ws[r], V, b, c, scale, lr, tol,
                                                  limit[r], train_a, losses[r])


@njit(cache=True)
def gd_empirical(X, y, a, W, c, lr, tol, limit, train_a, losses):
    """Full-batch GD on the empirical loss over (X, y) (sample chunks in parallel)."""
    for s in range(losses.size):
        loss, ga, gW = empirical_terms(X, y, a, W, c, True)
        status = _step(s, loss, a, W, ga, gW, lr, tol, limit, train_a, losses)
        if status != RUNNING:
            return s, status
    return losses.size, RUNNING


@njit(cache=True)
def sgd(X, y, batches, a, W, c, lr, limit, train_a, losses):
    """SGD with one step per row of ``batches`` (indices into X, y); ``losses`` gets the
    minibatch losses. W is updated through a transposed copy (see ``minibatch_terms``),
    written back at the end."""
    WT = np.ascontiguousarray(W.T)
    ga = np.zeros(a.size)
    gWT = np.zeros(WT.shape)
    count, size = batches.shape
    Xb = np.empty((size, X.shape[1]))
    yb = np.empty(size)
    done, status = count, RUNNING
    for s in range(count):
        for r in range(size):  # element by element: see the package's note on slice assignment
            row = batches[s, r]
            for q in range(X.shape[1]):
                Xb[r, q] = X[row, q]
            yb[r] = y[row]
        loss = minibatch_terms(Xb, yb, a, WT, c, ga, gWT)
        status = _step(s, loss, a, WT, ga, gWT, lr, -1.0, limit, train_a, losses)
        if status != RUNNING:
            done = s
            break
    for i in range(W.shape[0]):
        for q in range(W.shape[1]):
            W[i, q] = WT[q, i]
    return done, status
