"""The certified optimum: the exact minimum of a student pair's barrier over all permutations.

Every matching method is a heuristic for min_pi B(theta_A, pi(theta_B)). For small widths the
minimum is found exactly. Along theta(t) = t theta_A + (1 - t) pi(theta_B) the network has
neurons n_ip(t) = t w_i + (1 - t) w'_p and output weights alpha_ip(t) = c (t a_i + (1 - t) a'_p)
with p = pi(i), so its population loss is a quadratic assignment objective,

    R_pi(t) = sum_i U_t[i, pi(i)] + sum_{i<j} Q_t[(i, pi(i)), (j, pi(j))] + const,
    U_t[i, p] = s_d (alpha_ip^2 |n_ip|^2 / 4 - alpha_ip sum_k b_k K(n_ip, v_k)),
    Q_t[(i, p), (j, q)] = s_d alpha_ip alpha_jq K(n_ip, n_jq),   const = s_d b^T K(V, V) b / 2,

with K the arc-cosine kernel and s_d the input law's moment scale. A numba kernel evaluates
R_pi on a grid of t for all m! permutations (``_kernels.enumeration``).

* ``midpoint``: B = R_pi(1/2) - (R_A + R_B)/2 is exact on the one-point grid; its minimum is exact.
* ``sup`` and ``endpoints_mean``: the grid maximum g(pi) is a lower bound of the barrier b(pi)
  (the barrier refines the grid maximum upwards, ``twolayer.barriers``). With pi_0 the permutation
  of least g and U = b(pi_0), every pi with g(pi) > U has b(pi) >= g(pi) > U >= min b: the
  minimum is the least b over the candidates g(pi) <= U, each measured with ``barrier``.

References
----------
S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836 (weight
matching as a heuristic for the barrier-minimising permutation).
E. M. Loiola et al. A survey for the quadratic assignment problem. EJOR 176 (2007).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._kernels.enumeration import grid_maxima
from .barriers import BarrierKind, barrier
from .losses import population_loss
from .model import Student
from .objective import Population
from .path_barrier import grid as path_grid
from .permutation import check_compatible, permute
from .reference import arccos_kernel
from .repair import Repair, check_repair
from .validation import check_enum

#: the widest pair enumerated (10! = 3.6 million permutations: seconds; 11!: a minute and 0.3 GB)
MAX_ENUMERATION_WIDTH = 10


@dataclass
class Certificate:
    """The exact minimum of a barrier over all permutations of a student pair.

    Attributes
    ----------
    perm : array of shape (m,)
        A minimising permutation (``permute(B, perm)`` aligned with A).
    value : float
        min_pi B(theta_A, pi(theta_B)) for the barrier ``kind``.
    kind : BarrierKind
    permutations : int
        m!, all of them evaluated.
    candidates : int
        Permutations whose grid maximum did not exclude them, measured exactly (1 for midpoint).
    """

    perm: np.ndarray
    value: float
    kind: BarrierKind
    permutations: int
    candidates: int


def path_terms(A: Student, B: Student, teacher, ts: np.ndarray, repair: bool = False
               ) -> tuple[np.ndarray, np.ndarray, float]:
    """U of shape (g, m, m), Q of shape (g, m^2, m^2) and const (module docstring) on the grid ts;
    with ``repair`` each neuron n_ip(t) scaled to norm t |w_i| + (1 - t) |w'_p| (the exact REPAIR
    of ``twolayer.repair``, a function of the pair (i, p) too)."""
    m, d = A.m, A.d
    scale = teacher.inputs.moment_scale(d)
    U = np.empty((len(ts), m, m))
    Q = np.empty((len(ts), m * m, m * m))
    norms_A, norms_B = np.linalg.norm(A.W, axis=1), np.linalg.norm(B.W, axis=1)
    for g, t in enumerate(ts):
        N = (t * A.W[:, None, :] + (1 - t) * B.W[None, :, :]).reshape(m * m, d)
        if repair:
            goal = (t * norms_A[:, None] + (1 - t) * norms_B[None, :]).ravel()
            now = np.linalg.norm(N, axis=1)
            N = N * np.divide(goal, now, out=np.ones_like(now), where=now > 0)[:, None]
        alpha = (A.c * (t * A.a[:, None] + (1 - t) * B.a[None, :])).ravel()
        U[g] = (scale * (0.25 * alpha**2 * (N * N).sum(1) - alpha * (arccos_kernel(N, teacher.V) @ teacher.b))
                ).reshape(m, m)
        Q[g] = scale * np.outer(alpha, alpha) * arccos_kernel(N, N)
    const = 0.5 * scale * teacher.b @ arccos_kernel(teacher.V, teacher.V) @ teacher.b
    return U, Q, float(const)


def unrank(rank: int, m: int) -> np.ndarray:
    """The permutation of range(m) at position ``rank`` of the lexicographic order."""
    items, perm = list(range(m)), []
    for k in range(m - 1, -1, -1):
        i, rank = divmod(rank, math.factorial(k))
        perm.append(items.pop(i))
    return np.array(perm, dtype=np.int64)


def certified_barrier(A: Student, B: Student, objective: Population, kind: BarrierKind | str = "sup",
                      ts=None, repair: Repair | str = Repair.NONE) -> Certificate:
    """The exact minimum over all m! permutations pi of the barrier between A and pi(B).

    .. math::

        B^* = \\min_{\\pi \\in S_m} \\max_t \\, [R(t\\theta_A + (1-t)\\pi(\\theta_B))
              - (t R(\\theta_A) + (1-t) R(\\theta_B))]

    (or the midpoint / endpoints-mean gap), by enumeration of the quadratic assignment
    objective (module docstring) and an exact check of every permutation the grid does not exclude.

    Parameters
    ----------
    A, B : Student
        Students of one structure, width m <= ``MAX_ENUMERATION_WIDTH``.
    objective : Population
        The exact population loss (its teacher and input law).
    kind : BarrierKind or {"sup", "midpoint", "endpoints_mean"}
    ts : array, optional
        The grid of ``barrier`` (default 25 points).
    repair : Repair or {"none", "repair", "rescale"}
        The minimum of the repaired barrier (``twolayer.repair``, exact for students).

    Returns
    -------
    Certificate

    Examples
    --------
    >>> import twolayer as tl
    >>> T = tl.Teacher.orthonormal(2, 3)
    >>> A, B = tl.Student.init(5, 3, seed=0), tl.Student.init(5, 3, seed=1)
    >>> cert = certified_barrier(A, B, tl.Population(T), "midpoint")
    >>> weights = tl.barrier_modulo_permutation(A, B, tl.Population(T), kind="midpoint")
    >>> cert.permutations, bool(cert.value <= weights.value)
    (120, True)

    References
    ----------
    S. K. Ainsworth, J. Hayase, S. Srinivasa. Git Re-Basin. ICLR 2023. arXiv:2209.04836.
    """
    if not isinstance(objective, Population):
        raise ValueError(f"objective must be a Population objective (the exact loss); got {type(objective).__name__}")
    objective.check(A)  # a Student: the exact loss is the population objective's
    objective.check(B)
    check_compatible(A, B)
    if A.m > MAX_ENUMERATION_WIDTH:
        raise ValueError(f"A.m must be <= {MAX_ENUMERATION_WIDTH} to enumerate all m! permutations; got {A.m}")
    kind = check_enum("kind", kind, BarrierKind)
    repair = check_repair(repair)
    grid = np.array([0.5]) if kind is BarrierKind.MIDPOINT else path_grid(ts)
    teacher = objective.teacher
    loss_A, loss_B = population_loss(A, teacher), population_loss(B, teacher)
    U, Q, const = path_terms(A, B, teacher, grid, repair is not Repair.NONE)
    maxima = grid_maxima(U, Q, kind.baseline(grid, loss_A, loss_B) - const)
    order = np.argsort(maxima, kind="stable")
    best = unrank(int(order[0]), A.m)
    if kind is BarrierKind.MIDPOINT:
        return Certificate(best, float(maxima[order[0]]), kind, maxima.size, 1)
    upper = barrier(A, permute(B, best), objective, grid, kind, repair=repair).value
    # rounding: the kernel's sums and barrier's loss differ by ~1e-15 of the loss scale
    slack = 1e-12 * max(loss_A, loss_B, abs(const), 1e-300)
    candidates = order[maxima[order] <= upper + slack]
    values = [barrier(A, permute(B, unrank(int(r), A.m)), objective, grid, kind, repair=repair).value
              for r in candidates]
    i = int(np.argmin(values))
    return Certificate(unrank(int(candidates[i]), A.m), float(values[i]), kind, maxima.size, len(candidates))
