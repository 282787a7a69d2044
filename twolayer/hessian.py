"""Exact Hessian of the population loss (Gaussian inputs; sphere: times 1/d).

With u = w/|w|, v^ = v/|v|, phi = angle(w, v) and e = (v^ - cos phi u), e' = (u - cos phi v^):

    d2K/dw2   = |v| / (2 pi |w|) [ e e^T / sin phi + sin phi (I - u u^T) ]
    d2K/dw dv = 1/(2 pi) [ (pi - phi) I + e e'^T / sin phi + sin phi u v^T ]
    K(w, w) = |w|^2 / 2,   so  d2/dw2 of 1/2 a^2 K(w, w) = a^2 I / 2.

R's blocks, over theta = (a, W) (W only for a frozen output layer):

    d2R/da_i da_l = c^2 K(w_i, w_l)
    d2R/da_i dw_l = c^2 a_l grad_1 K(w_l, w_i)                                   (l != i)
    d2R/da_i dw_i = c^2 sum_{j!=i} a_j grad_1 K(w_i, w_j) + c^2 a_i w_i - c sum_t b_t grad_1 K(w_i, v_t)
    d2R/dw_i dw_l = c^2 a_i a_l d2K/dw dv (w_i, w_l)                             (l != i)
    d2R/dw_i dw_i = c^2 a_i sum_{j!=i} a_j d2K/dw2 (w_i, w_j) + c^2 a_i^2 I / 2 - c a_i sum_t b_t d2K/dw2 (w_i, v_t)

Terms with sin phi = 0 in a denominator vanish in the limit (e = 0) and are set to 0; a
zero-norm neuron has zero curvature terms (sigma'(0) = 0).
"""

from __future__ import annotations

import numpy as np

from ._resources import check_memory
from .model import Student, Teacher, check_pair
from .reference import arccos_kernel

_SIN_EPS = 1e-12


def _unit(W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(W, axis=1)
    U = np.divide(W, n[:, None], out=np.zeros_like(W), where=n[:, None] > 0)
    return U, n


def kernel_grad(w: np.ndarray, V: np.ndarray) -> np.ndarray:
    """grad_w K(w, v_j) for every row v_j of V, shape (len(V), d)."""
    u, nw = _unit(w[None, :])
    U, nv = _unit(V)
    if nw[0] == 0:
        return np.zeros_like(V)
    cos = np.clip(U @ u[0], -1.0, 1.0)
    phi = np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    return ((np.pi - phi)[:, None] * V + (nv * sin)[:, None] * u[0]) / (2 * np.pi)


def kernel_hessians(w: np.ndarray, V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(d2K/dw2, d2K/dw dv) for w against every row of V: two arrays (len(V), d, d)."""
    d = w.size
    u, nw = _unit(w[None, :])
    U, nv = _unit(V)
    u = u[0]
    cos = np.clip(U @ u, -1.0, 1.0)
    phi = np.arccos(cos)
    sin = np.sqrt(1.0 - cos * cos)
    E = U - cos[:, None] * u
    Ep = u - cos[:, None] * U
    inv_sin = np.divide(1.0, sin, out=np.zeros_like(sin), where=sin > _SIN_EPS)
    eye = np.eye(d)
    proj = eye - np.outer(u, u)
    Hww = np.einsum("j,jp,jq->jpq", inv_sin, E, E) + sin[:, None, None] * proj
    scale = np.divide(nv, nw[0], out=np.zeros_like(nv), where=nw[0] > 0)
    Hww *= (scale / (2 * np.pi))[:, None, None]
    Hwv = ((np.pi - phi)[:, None, None] * eye + np.einsum("j,jp,jq->jpq", inv_sin, E, Ep)
           + np.einsum("j,p,jq->jpq", sin, u, U)) / (2 * np.pi)
    alive = (nv > 0) & (nw[0] > 0)
    Hwv[~alive] = 0.0
    return Hww, Hwv


def population_hessian(student: Student, teacher: Teacher) -> np.ndarray:
    """The exact population Hessian d^2 R / d theta^2, of shape (p, p), laid out like
    ``student.theta`` (a then W, or W only with frozen outputs).

    Blocks: d2R/da_i da_i' = c^2 K(w_i, w_i'); the mixed and weight blocks come from the first and
    second derivatives of the arc-cosine kernel (module docstring). Times the input law's moment
    scale.
    """
    check_pair(student, teacher)
    size = student.theta.size
    check_memory(f"population_hessian at m={student.m}, d={student.d} ({size} x {size} matrix and its "
                 "per-neuron blocks)", 3 * 8 * size * size)
    a, W, c = student.a, student.W, student.c
    V, b = teacher.V, teacher.b
    m, d = W.shape
    Haa = c * c * arccos_kernel(W, W, same=True)
    Haw = np.zeros((m, m, d))
    Hww = np.zeros((m, d, m, d))
    for i in range(m):
        others = np.arange(m) != i
        Kgrad = kernel_grad(W[i], W)  # grad_1 K(w_i, w_j), rows j
        Kgrad_t = kernel_grad(W[i], V)
        H2s, Hx = kernel_hessians(W[i], W)
        H2t, _ = kernel_hessians(W[i], V)
        Haw[others, i] = c * c * a[i] * Kgrad[others]  # d2R/da_l dw_i = c^2 a_i grad_1 K(w_i, w_l)
        Haw[i, i] = (c * c * (a[others] @ Kgrad[others]) + c * c * a[i] * W[i]
                     - c * (b @ Kgrad_t))
        Hww[i, :, others, :] = c * c * a[i] * (a[others, None, None] * Hx[others])
        Hww[i, :, i, :] = (c * c * a[i] * np.einsum("j,jpq->pq", a[others], H2s[others])
                           + 0.5 * c * c * a[i] ** 2 * np.eye(d)
                           - c * a[i] * np.einsum("t,tpq->pq", b, H2t))
    Hww = Hww.reshape(m * d, m * d)
    if not student.train_output:
        return teacher.inputs.moment_scale(teacher.d) * Hww
    Haw = Haw.reshape(m, m * d)
    H = np.block([[Haa, Haw], [Haw.T, Hww]])
    return teacher.inputs.moment_scale(teacher.d) * H



#: below this many parameters the full spectrum (LAPACK) is cheaper than Lanczos
_DENSE_EIG_MAX = 400


def sharpness(student: Student, teacher: Teacher, neurons: np.ndarray | None = None) -> float:
    """Sharpness: the largest (algebraic) eigenvalue of the exact population Hessian,

        lambda_max(H(theta)),  H = d2R/dtheta2  (``population_hessian``),

    or of its restriction to the parameters (a_i, w_i) of the neurons i in ``neurons`` (the
    Hessian in those coordinates with every other neuron held fixed).

    Gradient descent with step eta is linearly unstable along the top eigenvector when
    eta > 2 / lambda_max; at a minimum that GD converges to, lambda_max <= 2 / eta.
    Computed by LAPACK for small problems and by Lanczos (``scipy.sparse.linalg.eigsh``)
    above ``_DENSE_EIG_MAX`` parameters.

    Parameters
    ----------
    student : Student
        The point theta = (a, W) (W only with a frozen output layer).
    teacher : Teacher
        Target and input law of the population loss R.
    neurons : array of int or bool of shape (m,), optional
        Restrict to these neurons' parameters (default: all).

    Returns
    -------
    float
        lambda_max(H(theta)) (of the restriction, if ``neurons`` is given).

    Examples
    --------
    >>> import twolayer as tl
    >>> teacher = tl.Teacher.orthonormal(2, 4)
    >>> s = tl.Student.init(8, 4, scale=1.0, seed=0)
    >>> eta_c = 2 / tl.sharpness(s, teacher)   # GD at the initialisation is stable for eta < eta_c
    """
    H = population_hessian(student, teacher)
    if neurons is not None:
        chosen = np.zeros(student.m, dtype=bool)
        try:
            chosen[np.asarray(neurons)] = True
        except IndexError:
            raise ValueError(f"neurons must index the student's {student.m} neurons") from None
        if not chosen.any():
            raise ValueError("neurons must select at least one neuron")
        keep = np.repeat(chosen, student.d)
        keep = np.concatenate([chosen, keep]) if student.train_output else keep
        H = H[np.ix_(keep, keep)]
    if H.shape[0] <= _DENSE_EIG_MAX:
        return float(np.linalg.eigvalsh(H)[-1])
    from scipy.sparse.linalg import eigsh
    # a fixed generic start vector: ARPACK's default is random (results would differ in the last
    # digits), and a structured one (all ones) can be orthogonal to the top eigenvector
    start = np.random.default_rng(0).standard_normal(H.shape[0])
    return float(eigsh(H, k=1, which="LA", return_eigenvectors=False, tol=1e-10, v0=start)[0])
