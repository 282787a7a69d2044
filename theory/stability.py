"""Curvature of condensed minima and the learning-rate stability of GD (docs/theory.md, sec. 4).

At a zero-loss point the Hessian of R is the Gauss-Newton matrix E[grad f grad f^T]. For a
neuron on ray j every gradient feature is 1[x_j > 0] times a linear form in x:

    d f / d a_i = c r_i 1[x_j > 0] e_j . x,     d f / d w_i = c a_i 1[x_j > 0] x,

so with M_jl = E[1[x_j > 0] 1[x_l > 0] x x^T] (Gaussian x; M_jj = I/2, and for j != l
M_jl = I/4 + (e_j e_l^T + e_l e_j^T)/(2 pi)) the nonzero spectrum of the Hessian is that of
the kd x kd matrix M^(1/2) S M^(1/2), S = blockdiag_j(S_j),

    S_j = c^2 sum_{i on ray j} (r_i^2 e_j e_j^T + a_i^2 I)   (trained outputs)
    S_j = c^2 n_j I                                           (frozen outputs, a_i = 1).

Balanced minima (c a_i r_i = mass, a_i = r_i) have S_j = c b_j (e_j e_j^T + I) whatever the
number of neurons on the ray and the split of its mass: their lambda_max does not depend on
the sparsity. With frozen outputs lambda_max = c^2 n lambda_max(M) for n neurons per ray:
it grows with the number of neurons on a ray. GD with step eta can only settle where
lambda_max <= 2 / eta. Near a small initialisation the Hessian does not vanish: each neuron's
(a_i, w_i) block tends to a scale-free limit (``curvature_at_zero``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from twolayer import Student, Teacher, sharpness

from .minima import INACTIVE, check_orthonormal


def ray_moments(k: int, d: int) -> np.ndarray:
    """M as a (k, k, d, d) array: M[j, l] = E[1[x_j>0] 1[x_l>0] x x^T] for x ~ N(0, I_d)."""
    M = np.empty((k, k, d, d))
    for j in range(k):
        for l in range(k):
            if j == l:
                M[j, l] = 0.5 * np.eye(d)
            else:
                M[j, l] = 0.25 * np.eye(d)
                M[j, l, j, l] = M[j, l, l, j] = 1.0 / (2 * np.pi)
    return M


def ray_curvature(student: Student, rays: np.ndarray, teacher: Teacher) -> np.ndarray:
    """S = blockdiag(S_j) as a (k, d, d) array for a condensed minimum with the given rays."""
    check_orthonormal(teacher)
    k, d, c = teacher.k, teacher.d, student.c
    S = np.zeros((k, d, d))
    r = np.linalg.norm(student.W, axis=1)
    for i in np.flatnonzero(rays != INACTIVE):
        j = rays[i]
        e = teacher.V[j]
        S[j] += c * c * (r[i] ** 2 * np.outer(e, e) if student.train_output else 0.0)
        S[j] += c * c * student.a[i] ** 2 * np.eye(d)
    return S


def hessian_spectrum(student: Student, rays: np.ndarray, teacher: Teacher) -> np.ndarray:
    """Nonzero spectrum (with zeros padded to kd) of the Hessian at a condensed minimum,
    from the kd x kd matrix M^(1/2) S M^(1/2) (ascending)."""
    return _top_eigenvalue(ray_curvature(student, rays, teacher), teacher.k, teacher.d)


def lambda_max(student: Student, rays: np.ndarray, teacher: Teacher) -> float:
    """Top Hessian eigenvalue at a condensed minimum (Gaussian inputs)."""
    return float(hessian_spectrum(student, rays, teacher)[-1])


def _top_eigenvalue(S_blocks: np.ndarray, k: int, d: int) -> float:
    """lambda_max(M^(1/2) S M^(1/2)) for S = blockdiag(S_blocks)."""
    M = ray_moments(k, d).transpose(0, 2, 1, 3).reshape(k * d, k * d)
    S = np.zeros((k * d, k * d))
    for j, block in enumerate(S_blocks):
        S[j * d:(j + 1) * d, j * d:(j + 1) * d] = block
    vals, vecs = np.linalg.eigh(M)
    root = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    return np.linalg.eigvalsh(root @ S @ root)


def lambda_max_balanced(teacher: Teacher, c: float = 1.0) -> float:
    """lambda_max of every balanced condensed minimum: c lambda_max(M^(1/2) S_b M^(1/2)),
    S_b = blockdiag(b_j (e_j e_j^T + I)), whatever the allocation."""
    check_orthonormal(teacher)
    blocks = np.array([b * (np.outer(v, v) + np.eye(teacher.d)) for v, b in zip(teacher.V, teacher.b)])
    return float(c * _top_eigenvalue(blocks, teacher.k, teacher.d)[-1])


def lambda_max_frozen(n_per_ray, teacher: Teacher, c: float = 1.0) -> float:
    """lambda_max of a frozen-output condensed minimum with n_j neurons on ray j."""
    n = np.asarray(n_per_ray, dtype=float)
    blocks = np.array([c * c * nj * np.eye(teacher.d) for nj in n])
    return float(_top_eigenvalue(blocks, teacher.k, teacher.d)[-1])


def critical_rate(lam: float) -> float:
    """eta_c = 2 / lambda_max: GD cannot converge to a minimum sharper than 2 / eta."""
    return 2.0 / lam


def max_neurons_per_ray_frozen(eta: float, teacher: Teacher, c: float = 1.0) -> int:
    """Largest n such that n neurons on every ray (frozen outputs) is linearly stable at eta."""
    per_neuron = lambda_max_frozen(np.ones(teacher.k), teacher, c)
    return int(np.floor(2.0 / (eta * per_neuron) + 1e-12))


def curvature_at_zero(directions: np.ndarray, ratios: np.ndarray, teacher: Teacher, c: float = 1.0) -> np.ndarray:
    """Top eigenvalue of each neuron's (a_i, w_i) Hessian block at a small init w_i = s u_i,
    a_i = s rho_i, s -> 0 (the blocks decouple; every other entry vanishes with s):

        [[0, g^T], [g, -c rho sum_t b_t d2K/dw2(u, v_t)]],   g = -c sum_t b_t grad_1 K(u, v_t),

    both scale-free (d2K/dw2 ~ 1/|w| meets a_i ~ s). Gaussian inputs."""
    from twolayer.hessian import kernel_grad, kernel_hessians
    d = teacher.d
    out = np.empty(len(directions))
    for i, (u, rho) in enumerate(zip(directions, ratios)):
        block = np.zeros((d + 1, d + 1))
        block[0, 1:] = block[1:, 0] = -c * teacher.b @ kernel_grad(u, teacher.V)
        block[1:, 1:] = -c * rho * np.einsum("t,tpq->pq", teacher.b, kernel_hessians(u, teacher.V)[0])
        out[i] = np.linalg.eigvalsh(block)[-1]
    return out


def lazy_sharpness(student: Student, teacher: Teacher) -> float:
    """lambda_max of the Gauss-Newton matrix G(theta) = E[grad_theta f grad_theta f^T] at the student.

    G is the Hessian of R when the target is the student's own function (zero residual), so
    it is computed exactly as ``sharpness(student, own)`` with the teacher
    own = (V = W, b = c a) under the same input law. In the lazy (NTK) limit a network
    trains as its linearisation at theta_0 and ends at a solution whose Hessian is
    G(theta_0): lambda_lazy = lambda_max(G(theta_0)) is the sharpness of the dense solution
    that small learning rates reach from theta_0.
    """
    own = Teacher(student.W, student.c * student.a, teacher.inputs)
    return sharpness(student, own)


def flattest_minimum_sharpness(student: Student, teacher: Teacher) -> float:
    """The smallest lambda_max over the zero-loss (condensed) minima of a student of this
    width, scaling and output mode (Gaussian inputs, orthonormal teacher):

        trained outputs  c lambda_b  (every balanced minimum; imbalance only sharpens),
        frozen outputs   lambda_max with the m neurons split evenly over the k rays, n_j = m / k
                         (lambda_max grows with n_j, and a frozen neuron leaves a ray only by
                         shrinking onto the kink w_i = 0, which is not a smooth minimum: the
                         prediction considers smooth minima with every neuron on a ray).

    No zero-loss minimum is linearly stable for GD with eta > 2 / (this value).
    """
    if student.train_output:
        return lambda_max_balanced(teacher, student.c)
    return lambda_max_frozen(np.full(teacher.k, student.m / teacher.k), teacher, student.c)


@dataclass(frozen=True)
class LrWindow:
    """The learning-rate window of the sparsity transition, predicted from three sharpnesses.

    Rates are in units of 2 / lambda_init, the linear-stability limit at the initialisation:
    eta_rel = eta lambda_init / 2.

    * ``start = lambda_init / lambda_lazy``: above it the dense (lazy) solution near theta_0 is
      linearly unstable, so GD must leave the neighbourhood of its initialisation.
    * ``catapult = 2 lambda_init / lambda_lazy``: the upper edge eta = 4 / lambda_lazy of the
      catapult phase of the two-layer linear (uv) model (Lewkowycz et al. 2020,
      arXiv:2003.02218); above it that model diverges.
    * ``end = lambda_init / lambda_flat``: above it no zero-loss minimum is linearly stable, so
      GD cannot converge to zero loss at all.

    A transition to a different (sparser, flatter) solution is predicted between ``start`` and
    min(``end``, ``catapult``); it requires lambda_lazy > lambda_flat (``exists``). At a small
    initialisation lambda_lazy -> 0 (G scales like s^2) and no transition is predicted.
    """

    lambda_init: float
    lambda_lazy: float
    lambda_flat: float

    @property
    def start(self) -> float:
        return self.lambda_init / self.lambda_lazy

    @property
    def catapult(self) -> float:
        return 2.0 * self.lambda_init / self.lambda_lazy

    @property
    def end(self) -> float:
        return self.lambda_init / self.lambda_flat

    @property
    def exists(self) -> bool:
        return self.lambda_lazy > self.lambda_flat


def lr_window(student: Student, teacher: Teacher) -> LrWindow:
    """Predicted learning-rate window (``LrWindow``) for GD started at ``student``."""
    return LrWindow(sharpness(student, teacher), lazy_sharpness(student, teacher),
                    flattest_minimum_sharpness(student, teacher))
