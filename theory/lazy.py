"""The barrier modulo permutation predicted from the initialisation law alone (docs/theory.md, sec. 7).

At two exact minima f_A = f_B = f*, so along theta_t = t theta_A + (1 - t) P theta_B

    R(theta_t) = 1/2 || D_t ||^2,   D_t = f(theta_t) - t f(theta_A) - (1 - t) f(P theta_B),

an identity: the barrier is the interpolation defect D_t, which depends on the weights only. In
the linear (lazy) regime training moves every neuron by a vanishing fraction of its size, so D_t
of the trained pair is, to leading order, D_t of the *initial* pair matched by the same
permutation (weights matching finds it from the weights, which hardly move). The prediction

    B_lazy(m) = E max_t 1/2 || D_t(theta_0, P theta_0') ||^2,   P = weights matching of theta_0, theta_0',

needs only the initialisation scheme: D_t is a bias-free two-layer network of 3m neurons
(outputs c (t a + (1 - t) a'), -c t a, -c (1 - t) a'), whose squared norm is the arc-cosine kernel
closed form (``twolayer.population_loss`` against a teacher with zero output). The expectation
over the pair is a Monte Carlo average (numerical), the max over t a grid search (numerical).

Scaling (heuristic, module tests hold the Monte Carlo to it only loosely): matched neurons differ
by the W_2 matching distance of m points in R^d, ~ m^(-1/d); the defect of a matched pair is
bilinear in the output and input differences; independent signs make the neurons' defects add
incoherently, so for LeCun/PyTorch scalings (a ~ m^(-1/2), matched only through w) B_lazy ~ m^(-2/d)
and for the mean-field scaling (c = 1/m, a ~ 1, matched in R^(d+1)) B_lazy ~ m^(-1 - 4/(d+1)).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

import twolayer as tl
from twolayer.init import Init
from twolayer.random import SeedLike, as_generator, child

#: interpolation times of the grid search for the max over t (numerical)
T_GRID = np.linspace(0.0, 1.0, 11)[1:-1]


class LazyCurve(NamedTuple):
    """Mean and standard error over pairs of the init-pair defect barrier at each width, and the
    pairs' values (``values[j, p]``: pair p at ``widths[j]``), for fits on single pairs."""

    widths: np.ndarray
    mean: np.ndarray
    sem: np.ndarray
    n_pairs: int
    values: np.ndarray


def defect_barrier(A: tl.Student, B: tl.Student, d: int) -> float:
    """max over T_GRID of 1/2 || f(theta_t) - t f(A) - (1 - t) f(B) ||^2 (Gaussian inputs), B already aligned.

    Parameters
    ----------
    A, B : Student
        Two students of the same width and scaling (B permuted onto A).
    d : int
        Input dimension.

    Examples
    --------
    >>> import twolayer as tl
    >>> A = tl.Student.init(4, 3, seed=0)
    >>> defect_barrier(A, A, 3)
    0.0
    """
    zero = tl.Teacher(np.eye(1, d), np.zeros(1))
    best = 0.0
    for t in T_GRID:
        a = np.concatenate([t * A.a + (1 - t) * B.a, -t * A.a, -(1 - t) * B.a])
        W = np.concatenate([t * A.W + (1 - t) * B.W, A.W, B.W])
        net = tl.Student(A.c * a, W)  # standard scaling, the students' c carried by the outputs
        best = max(best, tl.population_loss(net, zero))
    return float(best)


def lazy_curve(init: Init, d: int, widths, n_pairs: int = 50, seed: SeedLike = 0) -> LazyCurve:
    """B_lazy(m) of the module docstring at each width: ``n_pairs`` independent pairs of initial
    students drawn by ``init``, aligned by weights matching, Monte Carlo mean and standard error.

    Parameters
    ----------
    init : Init
        The initialisation scheme.
    d : int
        Input dimension.
    widths : array of int of shape (n,)
        Student widths m.
    n_pairs : int
        Pairs per width.
    seed : SeedLike
        Root of the pairs' streams.

    Returns
    -------
    LazyCurve

    Examples
    --------
    >>> from twolayer.init import LeCunNormal
    >>> c = lazy_curve(LeCunNormal(), 5, [4, 8], n_pairs=3)
    >>> c.mean.shape
    (2,)
    """
    widths = np.asarray(widths, dtype=int)
    root = np.random.SeedSequence(as_generator(seed).integers(2**63))
    means, sems, per_pair = [], [], []
    for j, m in enumerate(widths):
        vals = []
        for p in range(n_pairs):
            s = child(child(root, j), p)
            A = tl.Student.init(int(m), d, init=init, seed=child(s, 0))
            B = tl.Student.init(int(m), d, init=init, seed=child(s, 1))
            B = tl.permute(B, tl.match(A, B, "weights").perms)
            vals.append(defect_barrier(A, B, d))
        vals = np.array(vals)
        per_pair.append(vals)
        means.append(vals.mean())
        sems.append(vals.std(ddof=1) / np.sqrt(n_pairs) if n_pairs > 1 else np.nan)
    return LazyCurve(widths, np.array(means), np.array(sems), n_pairs, np.array(per_pair).reshape(widths.size, n_pairs))
