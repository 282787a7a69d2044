"""Training loops run entirely inside numba (no Python per step).

Each loop performs up to ``losses.size`` updates theta <- theta - lr grad, writes the loss
seen before each update into ``losses`` and returns (updates done, status):
RUNNING (all steps done), CONVERGED (loss <= tol, not updated further) or DIVERGED
(loss non-finite or above ``limit``, not updated further). Parameters are updated in place.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .empirical import empirical_terms, empirical_terms_serial
from .population import population_terms, population_terms_serial

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
        a -= lr * ga
    W -= lr * gW


@njit(cache=True)
def gd_population(a, W, V, b, c, scale, lr, tol, limit, train_a, losses):
    """Full-batch GD on the population loss (the loss kernel runs row blocks in parallel)."""
    for s in range(losses.size):
        loss, ga, gW = population_terms(a, W, V, b, c, scale, True)
        losses[s] = loss
        status = _status(loss, tol, limit)
        if status != RUNNING:
            return s, status
        _descend(a, W, ga, gW, lr, train_a)
    return losses.size, RUNNING


@njit(cache=True)
def gd_population_serial(a, W, V, b, c, scale, lr, tol, limit, train_a, losses):
    """Serial full-batch GD on the population loss (small m, one replica of a batch)."""
    ga = np.zeros(a.size)
    gW = np.zeros(W.shape)
    for s in range(losses.size):
        loss = population_terms_serial(a, W, V, b, c, scale, True, ga, gW)
        losses[s] = loss
        status = _status(loss, tol, limit)
        if status != RUNNING:
            return s, status
        _descend(a, W, ga, gW, lr, train_a)
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
        losses[s] = loss
        status = _status(loss, tol, limit)
        if status != RUNNING:
            return s, status
        _descend(a, W, ga, gW, lr, train_a)
    return losses.size, RUNNING


@njit(cache=True)
def sgd(Xs, ys, a, W, c, lr, limit, train_a, losses):
    """SGD with one step per minibatch (Xs[s], ys[s]); ``losses`` gets the minibatch losses."""
    ga = np.zeros(a.size)
    gW = np.zeros(W.shape)
    for s in range(Xs.shape[0]):
        loss = empirical_terms_serial(Xs[s], ys[s], a, W, c, True, ga, gW)
        losses[s] = loss
        status = _status(loss, -1.0, limit)
        if status != RUNNING:
            return s, status
        _descend(a, W, ga, gW, lr, train_a)
    return Xs.shape[0], RUNNING
