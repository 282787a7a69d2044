"""Exact loss barrier modulo permutation between two condensed minima (docs/theory.md, sec. 2).

Pair position i of A with position i of pi(B). When every active neuron of A meets a
neuron of B on the same ray or an inactive one (and vice versa), the interpolated network
stays on the rays, and with the mismatch

    D_j = c sum_{pairs on ray j} (a_i - a'_i)(r_i - r'_i)        (inactive partner: r' = 0)

the mass on ray j along the path is b_j - t(1 - t) D_j, so (Gaussian inputs; sphere: / d)

    R(t) = 1/2 t^2 (1 - t)^2 D^T G D,   G = (1/2 - 1/(2 pi)) I + 1/(2 pi) 1 1^T,
    barrier = max_t R(t) = D^T G D / 32   at t* = 1/2   (both endpoints have R = 0).

Balanced minima (a_i = r_i) have D_j = c sum (r_i - r'_i)^2 >= 0 and G > 0 entrywise, so the
best such permutation minimises every D_j: a 1-D optimal transport of the radii on each
ray, padded with inactive neurons at r = 0, solved by sorting. Frozen outputs (a = 1) give
D = 0: no barrier at all. When the inactive neurons cannot absorb the difference of the
ray counts, sum_j (n_j - n'_j)^+ - z_B cross-ray pairs are unavoidable; the smallest
neurons of the over-full rays are paired across rays by a least-squares assignment, and the
barrier is then a **numerical step**: the exact population loss along the permuted path
(the arc-cosine kernel, written here independently of the engine) maximised over t by a
grid and a bounded scalar search. Figures label these values "theory + numerical path".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twolayer import Teacher

from .minima import INACTIVE, Minimum, check_orthonormal


@dataclass
class CondensedBarrier:
    """``value`` = sup_t barrier along ``perm``; ``closed_form`` is False when cross-ray pairs
    forced the numerical path maximisation. ``D`` is the mismatch vector (no cross pairs)."""

    value: float
    perm: np.ndarray
    D: np.ndarray | None
    cross_pairs: int
    closed_form: bool


def ray_gram(k: int) -> np.ndarray:
    """G_jl = K(e_j, e_l) = 1/2 on the diagonal and 1/(2 pi) off it."""
    return (0.5 - 0.5 / np.pi) * np.eye(k) + 0.5 / np.pi


def path_loss(D: np.ndarray, t, scale: float = 1.0):
    """R(theta(t)) = 1/2 t^2 (1 - t)^2 D^T G D (times 1/d for sphere inputs)."""
    t = np.asarray(t, dtype=float)
    return scale * 0.5 * (t * (1 - t)) ** 2 * (D @ ray_gram(D.size) @ D)


def _sorted_by_mass(student, idx):
    return idx[np.argsort(student.output_mass[idx], kind="stable")]


def ray_matching(A: Minimum, B: Minimum, k: int) -> tuple[np.ndarray, int]:
    """The permutation described in the module docstring and the number of cross-ray pairs.

    perm[i] = position of B paired with A's neuron i.
    """
    m = A.rays.size
    perm = np.full(m, -1, dtype=np.int64)
    free_A = list(_sorted_by_mass(A.student, np.flatnonzero(A.rays == INACTIVE)))
    free_B = list(_sorted_by_mass(B.student, np.flatnonzero(B.rays == INACTIVE)))
    extra_A, extra_B = [], []
    for j in range(k):
        ia = _sorted_by_mass(A.student, np.flatnonzero(A.rays == j))
        ib = _sorted_by_mass(B.student, np.flatnonzero(B.rays == j))
        # the larger list keeps its largest neurons paired (sorted, largest with largest)
        pairs = min(ia.size, ib.size)
        perm[ia[ia.size - pairs:]] = ib[ib.size - pairs:]
        extra_A.extend(ia[: ia.size - pairs])
        extra_B.extend(ib[: ib.size - pairs])
    # excess ray neurons of A take B's inactive neurons, and vice versa (largest first)
    extra_A.sort(key=lambda i: -_mass(A.student, i))
    extra_B.sort(key=lambda i: -_mass(B.student, i))
    while extra_A and free_B:
        perm[extra_A.pop(0)] = free_B.pop()
    while extra_B and free_A:
        perm[free_A.pop()] = extra_B.pop(0)
    cross = len(extra_A)
    left_A = np.array(extra_A + free_A, dtype=np.int64)
    left_B = np.array(extra_B + free_B, dtype=np.int64)
    if left_A.size:
        from scipy.optimize import linear_sum_assignment  # 0.4 s to import: only when used

        FA = np.column_stack([A.student.a, A.student.W])[left_A]
        FB = np.column_stack([B.student.a, B.student.W])[left_B]
        cost = ((FA[:, None, :] - FB[None, :, :]) ** 2).sum(-1)
        rows, cols = linear_sum_assignment(cost)
        perm[left_A[rows]] = left_B[cols]
    return perm, cross


def _mass(student, i):
    # student.output_mass[i] up to rounding, kept apart so that tied masses (equal splits) stay in the
    # order they have always had: the norm of one row (a dot product) rounds differently from
    # output_mass's row norms for rotated teachers in d >= 8, and that order picks the permutation
    return student.c * abs(student.a[i]) * np.linalg.norm(student.W[i])


def mismatch(A: Minimum, B: Minimum, perm: np.ndarray, k: int) -> np.ndarray:
    """D_j = c sum_{pairs on ray j} (a_i - a'_i)(r_i - r'_i), for a permutation without
    cross-ray pairs."""
    a, r = A.student.a, np.linalg.norm(A.student.W, axis=1)
    a2, r2 = B.student.a[perm], np.linalg.norm(B.student.W, axis=1)[perm]
    ray = np.where(A.rays >= 0, A.rays, B.rays[perm])
    terms = A.student.c * (a - a2) * (r - r2)
    keep = ray >= 0
    return np.bincount(ray[keep], weights=terms[keep], minlength=k)


def condensed_barrier(A: Minimum, B: Minimum, teacher: Teacher) -> CondensedBarrier:
    """Barrier modulo permutation between two condensed minima (module docstring)."""
    check_orthonormal(teacher)
    if A.rays.size != B.rays.size:
        raise ValueError("A and B must have the same width")
    perm, cross = ray_matching(A, B, teacher.k)
    scale = teacher.inputs.moment_scale(teacher.d)
    if cross:
        value = numerical_path_barrier(A.student, B.student, perm, teacher) * scale
        return CondensedBarrier(value, perm, None, cross, False)
    D = mismatch(A, B, perm, teacher.k)
    value = float(path_loss(D, 0.5, scale))
    return CondensedBarrier(value, perm, D, 0, True)


def arccos_kernel(U: np.ndarray, V: np.ndarray) -> np.ndarray:
    """K(u, v) = E[sigma(u.x) sigma(v.x)] = |u||v| (sin phi + (pi - phi) cos phi) / (2 pi),
    x ~ N(0, I_d), for every pair of rows (Cho & Saul 2009)."""
    nu, nv = np.linalg.norm(U, axis=1), np.linalg.norm(V, axis=1)
    norms = np.outer(nu, nv)
    cos = np.clip(np.divide(U @ V.T, norms, out=np.zeros_like(norms), where=norms > 0), -1.0, 1.0)
    phi = np.arccos(cos)
    return norms * (np.sin(phi) + (np.pi - phi) * cos) / (2 * np.pi)


def gaussian_loss(alpha: np.ndarray, U: np.ndarray, teacher: Teacher) -> float:
    """1/2 E[(sum_i alpha_i sigma(u_i.x) - f*(x))^2] for x ~ N(0, I_d), by the arc-cosine kernel."""
    P = np.vstack([U, teacher.V])
    coef = np.concatenate([alpha, -teacher.b])
    return float(0.5 * coef @ arccos_kernel(P, P) @ coef)


def numerical_path_barrier(A, B, perm: np.ndarray, teacher: Teacher, grid: int = 41) -> float:
    """max_t R(t theta_A + (1 - t) pi(theta_B)) - (t R_A + (1 - t) R_B), Gaussian inputs:
    the largest gap on a grid of ``grid`` points, refined by a bounded search around it."""
    from scipy.optimize import minimize_scalar  # 0.4 s to import: only when used

    def loss(t):
        a = t * A.c * A.a + (1 - t) * B.c * B.a[perm]
        return gaussian_loss(a, t * A.W + (1 - t) * B.W[perm], teacher)

    r_A, r_B = loss(1.0), loss(0.0)
    gap = lambda t: loss(t) - t * r_A - (1 - t) * r_B  # noqa: E731
    ts = np.linspace(0.0, 1.0, grid)
    gaps = np.array([gap(t) for t in ts])
    j = int(np.argmax(gaps))
    lo, hi = ts[max(j - 1, 0)], ts[min(j + 1, grid - 1)]
    res = minimize_scalar(lambda t: -gap(t), bounds=(lo, hi), method="bounded", options={"xatol": 1e-6})
    return float(max(gaps[j], -res.fun))
